"""The store on PostgreSQL + PostGIS: what differs from the GeoPackage.

The store's behaviour is tested on both backends in ``test_store.py`` and
``test_submissions.py``; here is what only a database server has: points that QGIS
sees, triggers in the database, one schema per region, a writer killed inside a
submission or an approval, failures of the server, and two processes (two dashboards)
sharing one store.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import psycopg
import pytest
from geopandas.testing import assert_geodataframe_equal
from killed_writer import killed_at_the_end, start_writer

from geoapp import datasource, settings
from geoapp.datasource import EmbeddedSource, StoreSource
from geoapp.paths import ROOT
from geoapp.store import Store, StoreError
from geoapp.store.postgis import pg_failure

PASSWORD = "postgis password 1"
BAISHAN = "220600"
# name -> (role, area): the ``accounts`` and ``users`` fixtures (conftest.py)
ACCOUNTS = {
    "bs_steward": ("steward", BAISHAN),
    "prov_reviewer": ("reviewer", "220000"),
    "prov_steward": ("steward", ""),
}


@pytest.fixture
def url(jilin_store_at):
    """A fresh database holding the Jilin demo store."""
    return jilin_store_at("postgis")


@pytest.fixture
def store(url):
    opened = Store.open(url)
    yield opened
    opened.close()


def sql(url: str, query: str, params: tuple = ()) -> list[tuple]:
    """Rows of one query, as a QGIS or psql user of the database would run it."""
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("SET search_path TO geoapp_220000, public")
        cur = con.execute(query, params or None)
        return cur.fetchall() if cur.description else []


def baishan_rows(store: Store, keep: int) -> pd.DataFrame:
    current = store.facilities()
    return current[current["adcode"].str.startswith("2206")].iloc[:keep]


# --- what a PostGIS user sees -----------------------------------------------------------------


def test_facilities_are_postgis_points_that_qgis_lists(store, url, users, review_off):
    assert store.backend == "postgis" and store.path is None
    layers = sql(
        url,
        "SELECT f_table_name, type, srid FROM public.geometry_columns "
        "WHERE f_table_schema = 'geoapp_220000' ORDER BY f_table_name",
    )
    assert layers == [
        ("current_facilities", "POINT", 4326),
        ("facilities", "POINT", 4326),
        ("submission_facilities", "POINT", 4326),
    ]
    first = store.facilities().iloc[0]
    x, y = sql(url, "SELECT ST_X(geom), ST_Y(geom) FROM current_facilities ORDER BY fid LIMIT 1")[0]
    assert (x, y) == (first["lon"], first["lat"])
    indexes = {
        r[0] for r in sql(url, "SELECT indexdef FROM pg_indexes WHERE tablename = 'facilities'")
    }
    assert any("USING gist (geom)" in i for i in indexes)
    # A facility without coordinates has no point (NULL), as in the GeoPackage.
    frame = pd.DataFrame(baishan_rows(store, 3).drop(columns="geometry"))
    frame.loc[frame.index[1], ["lon", "lat"]] = np.nan
    store.submit(
        "facilities", frame, user=users["bs_steward"], period="2026Q1", confirm_closures=True
    )
    assert sql(url, "SELECT COUNT(*) FROM current_facilities WHERE geom IS NULL") == [(1,)]
    assert store.facilities()["geometry"].isna().sum() == 1


def test_rows_are_append_only_in_the_database(url):
    for statement in (
        "UPDATE facilities SET name = 'x'",
        "DELETE FROM versions",
        "DELETE FROM audit",
        "TRUNCATE decisions",
        "UPDATE geoapp_meta SET value = '210000' WHERE key = 'region'",
    ):
        with pytest.raises(psycopg.Error, match="append-only"):
            sql(url, statement)
    assert sql(url, "SELECT COUNT(*) FROM facilities") == [(478,)]


def test_each_region_has_its_own_schema_in_one_database(store, url):
    jiangjin = Store.open(url, region="500116", seed=EmbeddedSource("500116"))
    schemas = sql(
        url, "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'geoapp%' ORDER BY nspname"
    )
    assert schemas == [("geoapp_220000",), ("geoapp_500116",)]
    assert set(jiangjin.facilities()["adcode"]) <= {"500116"}
    assert len(store.facilities()) == 478  # Jilin's store is untouched
    assert jiangjin.location.endswith("(schema geoapp_500116)")
    jiangjin.close()


def test_the_store_setting_takes_a_postgresql_url(url, monkeypatch):
    with_password = url.replace("postgres@", "postgres:s3cret@")
    monkeypatch.setenv("GEOAPP_STORE", with_password)
    assert with_password == settings.STORE_PATH  # kept as text, its // intact
    assert settings.store_path("500116") == with_password  # one database, a schema each
    source = datasource.default_source()
    assert isinstance(source, StoreSource)
    assert source.store.backend == "postgis" and len(source.facilities()) == 478
    assert "s3cret" not in source.store.location and "s3cret" not in repr(source.store)
    assert any(line.startswith("store: postgresql://") for line in source.describe())
    source.store.close()


# --- a killed writer ------------------------------------------------------------------------

_KILLED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from geoapp import auth
    from geoapp.store import Store, review, submissions

    url, accounts, marker, stage, sid = sys.argv[1:6]
    store = Store.open(url)

    def pause():  # inside the transaction: rows sent, nothing committed
        Path(marker).write_text(stage)
        time.sleep(600)

    if stage == "submit":
        real = submissions.facility_records

        def records(frame, submission_id):
            for i, row in enumerate(real(frame, submission_id)):
                if i == 30:
                    pause()
                yield row

        submissions.facility_records = records
        user = auth.verify("bs_steward", {password!r}, path=accounts)
        rows = store.facilities()
        rows = rows[rows["adcode"].str.startswith("2206")]
        store.submit("facilities", rows, user=user, period="2026Q1")
    else:
        real = review.ReviewMixin._write_area_dates

        def dates(self, *args, **kwargs):  # after the new version's rows are in
            real(self, *args, **kwargs)
            pause()

        review.ReviewMixin._write_area_dates = dates
        user = auth.verify("prov_reviewer", {password!r}, path=accounts)
        store.review(int(sid), user=user, approve=True)
    """
)


@pytest.mark.parametrize("stage", ["submit", "approve"])
def test_a_writer_killed_mid_submission_or_approval_leaves_the_previous_state(
    store, url, users, accounts, tmp_path, stage
):
    before = store.facilities()
    sid = 0
    if stage == "approve":
        sid = store.submit(
            "facilities", baishan_rows(store, 5), user=users["bs_steward"], period="2026Q1",
            confirm_closures=True,
        ).submission_id  # fmt: skip
    marker = tmp_path / "inside"
    script = _KILLED.format(root=str(ROOT), password=PASSWORD)
    proc = start_writer(script, url, accounts, marker, stage, sid)
    with killed_at_the_end(proc, marker):
        started = time.monotonic()  # a reader meanwhile: the previous state, at once
        assert_geodataframe_equal(Store.open(url).facilities(), before)
        assert time.monotonic() - started < 5.0

    assert store.integrity_check() == "ok"
    assert store.versions("facilities")["version_id"].tolist() == [1]
    assert_geodataframe_equal(store.facilities(), before)
    assert sql(url, "SELECT COUNT(*) FROM facilities WHERE version_id <> 1") == [(0,)]
    assert sql(url, "SELECT COUNT(*) FROM area_dates") == [(0,)]
    if stage == "submit":
        assert store.submissions().empty
        assert sql(url, "SELECT COUNT(*) FROM submission_facilities") == [(0,)]
    else:
        assert store.submissions()["status"].tolist() == ["pending"]
        # The server released the dead writer's lock: the approval goes through now.
        assert store.review(sid, user=users["prov_reviewer"], approve=True) == 2


# --- failures of the server -------------------------------------------------------------------


def test_server_failures_are_store_errors_that_say_what_to_do(pg_server, url):
    seed = EmbeddedSource()
    socket_dir = pg_server.socket_dir
    cases = [
        (f"postgresql://postgres:s3cret@127.0.0.1:{_closed_port()}/geoapp", "server running"),
        (pg_server.url("no_such_db").replace("postgres@", "postgres:s3cret@"), "createdb"),
        (f"postgresql://nobody@/postgres?host={socket_dir}&port={pg_server.port}", "user name"),
    ]
    for location, says in cases:
        with pytest.raises(StoreError, match="cannot connect to the store") as caught:
            Store.open(location, seed=seed)
        assert says in str(caught.value) and "s3cret" not in str(caught.value)
    with pytest.raises(StoreError, match="not a usable PostgreSQL URL"):
        Store.open("postgresql://host/geoapp?schema=jilin", seed=seed)
    full = pg_failure(
        "postgresql://h/db (schema geoapp_220000)",
        psycopg.errors.DiskFull("could not extend file: No space left on device"),
        "write to the store",
        write=True,
    )
    assert str(full) == (
        "postgresql://h/db (schema geoapp_220000): cannot write to the store: could not "
        "extend file: No space left on device; the database server's disk is full; ask its "
        "administrator to free space, then try again; nothing was written; the previous "
        "data are unchanged"
    )
    sql(url, "CREATE SCHEMA geoapp_210000; CREATE TABLE geoapp_210000.roads (id int)")
    with pytest.raises(StoreError, match="not a geoapp store"):
        Store.open(url, region="210000", seed=seed)


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_connection_the_server_closed_is_replaced_unseen(store, url):
    assert len(store.facilities()) == 478  # leaves a connection kept for reuse
    ended = sql(
        url,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    assert ended and all(ok for (ok,) in ended)
    assert len(store.facilities()) == 478


# --- two dashboards on one store ------------------------------------------------------------

_OTHER_DASHBOARD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    from geoapp import auth
    from geoapp.datasource import StoreSource

    url, accounts = sys.argv[1:3]
    store = StoreSource(path=url).store
    rows = store.facilities()
    rows = rows[rows["adcode"].str.startswith("2206")].iloc[:5]
    steward = auth.verify("bs_steward", {password!r}, path=accounts)
    sub = store.submit("facilities", rows, user=steward, period="2026Q1", confirm_closures=True)
    reviewer = auth.verify("prov_reviewer", {password!r}, path=accounts)
    print(store.review(sub.submission_id, user=reviewer, approve=True))
    """
)


def test_an_approval_in_one_process_is_seen_by_another_at_once(url, accounts):
    """Two dashboard processes on one store: the leader's map in the first changes on
    the next read after the second approves a submission (no restart, no cache)."""
    leader = StoreSource(path=url)
    before = leader.facilities()
    assert leader.store.current_version("facilities") == 1
    script = _OTHER_DASHBOARD.format(root=str(ROOT), password=PASSWORD)
    done = subprocess.run(
        [sys.executable, "-c", script, url, str(accounts)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "2"
    assert leader.store.current_version("facilities") == 2
    after = leader.facilities()
    baishan = before["adcode"].str.startswith("2206")
    assert len(after) == len(before) - int(baishan.sum()) + 5 == 478 - 29
    assert leader.store.area_dates("facilities").set_index("adcode").loc["220623", "period"] == (
        "2026Q1"
    )
    leader.store.close()
