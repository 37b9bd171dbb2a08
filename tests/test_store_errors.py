"""Store failures on real files, and imports of several registers that are all or nothing.

Tests run as root, which ignores file modes, so a read-only store is made the way SQLite
itself marks one: a file-format write version above 2 in the header (byte 18), or a
connection with ``PRAGMA query_only``. A full disk is a connection whose
``max_page_count`` is the file's current size. Both raise SQLite's own SQLITE_READONLY
and SQLITE_FULL.
"""

from __future__ import annotations

import io
import random
import sqlite3

import numpy as np
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal

from geoapp import auth, cli
from geoapp.datasource import EmbeddedSource
from geoapp.paths import ROOT
from geoapp.store import Store, StoreError, UploadError
from geoapp.store import submissions as store_submissions

# Versions and uploads, not review: a submission is approved when it is accepted.
pytestmark = pytest.mark.usefixtures("review_off")

PASSWORD = "steward password 1"
FIXTURES = ROOT / "tests" / "fixtures" / "uploads"
AS_OF = "2025-12-31"


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def accounts(tmp_path_factory):
    path = tmp_path_factory.mktemp("accounts") / "accounts.toml"
    auth.add_user("steward1", PASSWORD, role="steward", path=path)
    return path


@pytest.fixture(scope="module")
def steward(accounts):
    return auth.verify("steward1", PASSWORD, path=accounts)


@pytest.fixture(scope="module")
def counties():
    return EmbeddedSource().counties()


@pytest.fixture
def store(tmp_path):
    return Store.open(tmp_path / "store.gpkg", seed=EmbeddedSource())


def facilities_frame(n: int) -> pd.DataFrame:
    """``n`` valid facilities in 南关区, enough rows to need new pages in the file."""
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "facility_id": [f"F-{i}" for i in range(n)],
            "name": [f"设施{i}" for i in range(n)],
            "facility_type": "massage_institution",
            "subtype": "",
            "prefecture": "长春市",
            "county": "南关区",
            "adcode": "220102",
            "address": "地址" * 20,
            "lon": rng.uniform(125.2, 125.4, n),
            "lat": rng.uniform(43.8, 43.9, n),
            "datum": "wgs84",
            "is_demo": False,
            "note": "",
        }
    )


def add(store, user, n: int = 2000) -> int:
    return store.add_facilities(
        facilities_frame(n),
        as_of=AS_OF,
        user=user,
        file_name="big.xlsx",
        file_bytes=b"big",
        accepted=n,
        flagged=0,
        rejected=0,
    )


def snapshot(store) -> tuple:
    """What must survive a failed write: every version, the pointers and the current rows."""
    return store.versions(), store.facilities(), store.unemployed()


def assert_unchanged(store, before) -> None:
    versions, facilities, unemployed = before
    pd.testing.assert_frame_equal(store.versions(), versions)
    assert_geodataframe_equal(store.facilities(), facilities)
    pd.testing.assert_frame_equal(store.unemployed(), unemployed)
    assert store.integrity_check() == "ok"


def mark_read_only(path) -> None:
    """Set the header's write version to 3: SQLite then refuses every write (even root's)."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # every page in the main file
    con.close()
    data = bytearray(path.read_bytes())
    assert data[18] == 2  # WAL
    data[18] = 3
    path.write_bytes(bytes(data))


def with_pragma(monkeypatch, store, pragma: str) -> None:
    """Every connection of ``store`` runs ``pragma`` (a function of the connection) first."""

    def connect():
        con = Store._connect(store)
        con.execute(pragma(con))
        return con

    monkeypatch.setattr(store, "_connect", connect)


def full_disk(con) -> str:
    return f"PRAGMA max_page_count={con.execute('PRAGMA page_count').fetchone()[0]}"


# --- writes that fail -----------------------------------------------------------------------------


def test_a_full_disk_is_reported_as_such_and_the_previous_data_stay(store, steward, monkeypatch):
    before = snapshot(store)
    with_pragma(monkeypatch, store, full_disk)
    with pytest.raises(StoreError) as caught:
        add(store, steward)
    message = str(caught.value)
    # SQLite rolled back by itself: the failed ROLLBACK after it no longer hides the cause.
    assert str(store.path) in message and "database or disk is full" in message
    assert "cannot rollback" not in message and "previous data are unchanged" in message
    assert caught.value.__cause__.sqlite_errorname == "SQLITE_FULL"
    monkeypatch.undo()
    monkeypatch.setenv("GEOAPP_REVIEW", "off")  # undo() took review_off's setting too
    assert_unchanged(store, before)
    assert add(store, steward) == 2  # the store still works once there is room


@pytest.mark.parametrize("how", ["write version in the header", "query_only connection"])
def test_a_read_only_store_reads_and_refuses_writes_naming_the_file(
    store, steward, counties, monkeypatch, how
):
    add(store, steward, 10)  # version 2, so that there is a version to roll back to
    before = snapshot(store)
    if how == "write version in the header":
        mark_read_only(store.path)
        store = Store.open(store.path)  # opening only reads
    else:
        with_pragma(monkeypatch, store, lambda con: "PRAGMA query_only=ON")
    assert_unchanged(store, before)
    good = (FIXTURES / "unemployed_good.csv").read_bytes()
    attempts = {
        "add": lambda: add(store, steward, 10),
        "upload": lambda: store.upload(
            good,
            file_name="u.csv",
            dataset="unemployed",
            as_of=AS_OF,
            user=steward,
            counties=counties,
        ),
        "rollback": lambda: store.rollback("facilities", 1, user=steward),
    }
    for name, attempt in attempts.items():
        with pytest.raises(StoreError, match="attempt to write a readonly database") as caught:
            attempt()
        assert str(store.path) in str(caught.value), name
        assert "read-only" in str(caught.value), name
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError), name
    assert_unchanged(store, before)


def test_a_store_locked_by_another_writer_says_so(store, steward, monkeypatch):
    with_pragma(monkeypatch, store, lambda con: "PRAGMA busy_timeout=100")
    other = sqlite3.connect(store.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="database is locked.*another program is writing"):
            add(store, steward, 10)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.current_version("facilities") == 1


def test_a_failed_rollback_never_hides_the_original_error(store):
    with (
        pytest.raises(RuntimeError, match="the original error"),
        store._transaction(write=True) as con,
    ):
        con.execute("ROLLBACK")  # as SQLite does by itself after SQLITE_FULL
        raise RuntimeError("the original error")


# --- files that are no store ----------------------------------------------------------------------


def test_a_file_of_random_bytes_is_refused_naming_the_file(tmp_path):
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(random.Random(7).randbytes(64 * 1024))
    with pytest.raises(StoreError, match="file is not a database") as caught:
        Store.open(junk)
    assert str(junk) in str(caught.value) and "not a geoapp store" in str(caught.value)
    assert isinstance(caught.value.__cause__, sqlite3.DatabaseError)
    assert junk.read_bytes() == random.Random(7).randbytes(64 * 1024)  # left as it was


def test_a_store_overwritten_with_random_bytes_fails_every_read_naming_the_file(store):
    store.path.write_bytes(random.Random(7).randbytes(64 * 1024))
    for read in (
        store.versions,
        store.facilities,
        store.integrity_check,
        lambda: store.current_version("facilities"),
    ):
        with pytest.raises(StoreError, match="file is not a database") as caught:
            read()
        assert str(store.path) in str(caught.value)
        assert caught.value.__cause__.sqlite_errorname == "SQLITE_NOTADB"


def test_a_store_with_damaged_pages_fails_reads_naming_the_file(store):
    data = bytearray(store.path.read_bytes())
    page = int.from_bytes(data[16:18], "big")
    rng = random.Random(3)
    data[2 * page :] = rng.randbytes(len(data) - 2 * page)  # the header and schema survive
    store.path.write_bytes(bytes(data))
    for read in (store.facilities, store.versions, store.integrity_check):
        with pytest.raises(StoreError, match="malformed; the file is damaged") as caught:
            read()
        assert str(store.path) in str(caught.value)
        assert caught.value.__cause__.sqlite_errorname == "SQLITE_CORRUPT"


# --- imports of several files: all or nothing -----------------------------------------------------


def uploads(facilities: bytes, unemployed: bytes) -> dict[str, tuple[str, bytes]]:
    return {"facilities": ("good.xlsx", facilities), "unemployed": ("second.csv", unemployed)}


GOOD_FACILITIES = (FIXTURES / "facilities_good.xlsx").read_bytes()
GOOD_UNEMPLOYED = (FIXTURES / "unemployed_good.csv").read_bytes()
#: A counts file every row of which is rejected (no such county, no whole number).
NO_VALID_ROW = "行政区划代码,县（市、区）,未就业残疾人数\n990101,无此县,很多\n".encode()


def test_two_good_files_make_both_versions(store, steward, counties):
    results = store.upload_many(
        uploads(GOOD_FACILITIES, GOOD_UNEMPLOYED), as_of=AS_OF, user=steward, counties=counties
    )
    assert [(d, r.version_id) for d, r in results.items()] == [("facilities", 2), ("unemployed", 2)]
    assert store.current_version("facilities") == store.current_version("unemployed") == 2
    assert len(store.unemployed()) == 60


def test_a_refused_second_file_stores_neither_and_both_refusals_are_logged(
    store, steward, counties
):
    before = snapshot(store)
    garbage = random.Random(1).randbytes(4096)
    with pytest.raises(UploadError, match="second.csv.*nothing was stored"):
        store.upload_many(
            uploads(GOOD_FACILITIES, garbage), as_of=AS_OF, user=steward, counties=counties
        )
    assert_unchanged(store, before)
    events = store.audit(user=steward).tail(2)
    assert events["action"].tolist() == ["rejected_upload"] * 2
    assert events["file_name"].tolist() == ["good.xlsx", "second.csv"]
    assert "not stored: second.csv was refused" in events["note"].iloc[0]
    assert events["accepted"].iloc[0] > 0  # the good file was read: its counts are logged


def test_a_second_file_without_valid_rows_stores_neither(store, steward, counties):
    before = snapshot(store)
    results = store.upload_many(
        uploads(GOOD_FACILITIES, NO_VALID_ROW), as_of=AS_OF, user=steward, counties=counties
    )
    assert [r.version_id for r in results.values()] == [None, None]
    assert "second.csv has no valid row" in results["facilities"].withheld
    assert "No facilities version was made" in results["facilities"].summary()
    assert "No valid row" in results["unemployed"].summary()
    assert_unchanged(store, before)
    events = store.audit(user=steward).tail(2)
    assert events["action"].tolist() == ["rejected_upload"] * 2
    assert events["note"].iloc[1].startswith("no valid row")


def test_a_write_failing_on_the_second_version_leaves_no_first_version(
    store, steward, counties, monkeypatch
):
    before = snapshot(store)
    real = store_submissions.unemployed_records

    def records(frame, version_id):
        rows = list(real(frame, version_id))
        yield from rows[:10]
        yield (version_id, None, *rows[10][2:])  # adcode NULL: SQLite refuses the row

    monkeypatch.setattr(store_submissions, "unemployed_records", records)
    with pytest.raises(
        StoreError, match="NOT NULL constraint failed: submission_unemployed.adcode"
    ):
        store.upload_many(
            uploads(GOOD_FACILITIES, GOOD_UNEMPLOYED), as_of=AS_OF, user=steward, counties=counties
        )
    assert_unchanged(store, before)  # the facilities version went with it


# --- the command line -----------------------------------------------------------------------------


@pytest.fixture
def run(accounts, monkeypatch, capsys, tmp_path):
    """``geoapp store ...`` on ``tmp_path/cli.gpkg`` as steward1: (exit code, stdout, stderr)."""
    monkeypatch.setenv("GEOAPP_ACCOUNTS", str(accounts))

    def run(*argv: str, sign_in: bool = True):
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        extra = ["--user", "steward1", "--password-stdin"] if sign_in else []
        code = cli.main(
            ["store", *argv, *extra, "--lang", "en", "--store", str(tmp_path / "cli.gpkg")]
        )
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def cli_versions(tmp_path) -> list[int]:
    versions = Store.open(tmp_path / "cli.gpkg").versions()
    return [int((versions["dataset"] == d).sum()) for d in ("facilities", "unemployed")]


@pytest.mark.parametrize(
    ("second", "message"),
    [
        (random.Random(2).randbytes(4096), "holds binary data"),
        ("完全,无关\n1,2\n".encode(), "header"),
        (NO_VALID_ROW, "no valid row"),
    ],
    ids=["binary", "no header", "no valid row"],
)
def test_cli_import_with_a_garbage_second_file_stores_nothing(run, tmp_path, second, message):
    good, garbage = tmp_path / "good.xlsx", tmp_path / "garbage.csv"
    good.write_bytes(GOOD_FACILITIES)
    garbage.write_bytes(second)
    assert run("info", sign_in=False)[0] == 0  # creates the store
    code, out, err = run(
        "import", "--facilities", str(good), "--unemployed", str(garbage), "--as-of", AS_OF
    )
    assert code == 2 and "Traceback" not in err
    assert "garbage.csv" in err and message in err
    assert cli_versions(tmp_path) == [1, 1]
    code, out, _ = run("audit")
    assert code == 0 and out.count("refused upload") == 2


def test_cli_import_of_two_good_files(run, tmp_path):
    good, counts = tmp_path / "good.xlsx", tmp_path / "counts.csv"
    good.write_bytes(GOOD_FACILITIES)
    counts.write_bytes(GOOD_UNEMPLOYED)
    code, out, err = run(
        "import", "--facilities", str(good), "--unemployed", str(counts), "--as-of", AS_OF
    )
    assert code == 0, err
    assert "Facility register version 2" in out
    assert "Unemployed disabled people version 2" in out
    assert cli_versions(tmp_path) == [2, 2]


def test_cli_reports_a_read_only_store_without_a_traceback(run, tmp_path):
    good, counts = tmp_path / "good.xlsx", tmp_path / "counts.csv"
    good.write_bytes(GOOD_FACILITIES)
    counts.write_bytes(GOOD_UNEMPLOYED)
    assert run("import", "--facilities", str(good), "--as-of", AS_OF)[0] == 0  # version 2
    mark_read_only(tmp_path / "cli.gpkg")
    for argv in (
        ("import", "--unemployed", str(counts), "--as-of", AS_OF),
        ("rollback", "facilities", "1"),
    ):
        code, _, err = run(*argv)
        assert code == 2 and "Traceback" not in err, argv
        assert err.startswith("geoapp: error: ") and "cli.gpkg" in err, argv
        assert "attempt to write a readonly database" in err, argv
    code, out, _ = run("info", sign_in=False)  # reading still works, nothing changed
    assert code == 0 and "integrity: ok" in out
    assert cli_versions(tmp_path) == [2, 1]


def test_cli_reports_a_corrupt_store_without_a_traceback(run, tmp_path):
    (tmp_path / "cli.gpkg").write_bytes(random.Random(5).randbytes(8192))
    for argv, sign_in in ((("info",), False), (("versions",), False), (("audit",), True)):
        code, out, err = run(*argv, sign_in=sign_in)
        assert code == 2 and "Traceback" not in err and out == "", argv
        assert "cli.gpkg" in err and "file is not a database" in err, argv
