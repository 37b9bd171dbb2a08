"""Area-scoped submissions, review up the hierarchy, per-area dates and reporting status.

The store-level rules of ``../shared/REPORTING.md``: who may submit and review what,
that a submission replaces only its area, that pending data never reach the current
data, and the reporting status of a hand-made region worked out by hand. Every test of
a store runs on both backends (``backend``: a GeoPackage file and PostgreSQL + PostGIS).
"""

from __future__ import annotations

import io
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import openpyxl
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from store_rows import counts_of

from geoapp import auth, cli
from geoapp.analysis import reports
from geoapp.datasource import EmbeddedSource
from geoapp.paths import ROOT
from geoapp.store import Store, StoreError
from geoapp.store.areas import AreaError, AreaTree, Period
from geoapp.store.errors import ConfirmationNeeded
from geoapp.store.status import date_groups, reporting_rates, reporting_status

PASSWORD = "area password 12"
JILIN, BAISHAN, CHANGBAI, HUNJIANG = "220000", "220600", "220623", "220602"
CHANGCHUN, NANGUAN = "220100", "220102"
PREFECTURES = ("220100", "220200", "220300", "220400", "220500", "220600", "220700", "220800")
PREFECTURES += ("222400",)

# name -> (role, area): the ``accounts`` and ``users`` fixtures (conftest.py)
ACCOUNTS = {
    "prov_steward": ("steward", ""),
    "bs_steward": ("steward", BAISHAN),
    "cb_steward": ("steward", CHANGBAI),
    "prov_reviewer": ("reviewer", JILIN),
    "bs_reviewer": ("reviewer", BAISHAN),
    "cb_reviewer": ("reviewer", CHANGBAI),
    "viewer": ("viewer", ""),
    **{f"steward_{p}": ("steward", p) for p in PREFECTURES},
}


@pytest.fixture
def store(backend, jilin_store_at):
    """A fresh copy of the Jilin demo store, on each backend."""
    opened = Store.open(jilin_store_at(backend))
    yield opened
    opened.close()


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    columns = [c for c in frame.columns if c != "geometry"]
    return pd.DataFrame(frame[columns]).sort_values("facility_id").reset_index(drop=True)


# --- areas and periods -----------------------------------------------------------------------


def test_the_area_tree_of_jilin_knows_levels_units_and_reviewers(store):
    tree = store.area_tree()
    assert (tree.level(JILIN), tree.level(BAISHAN), tree.level(CHANGBAI)) == (
        "region",
        "prefecture",
        "county",
    )
    assert tree.units(BAISHAN) == ["220602", "220605", "220621", "220622", "220623", "220681"]
    assert len(tree.units(JILIN)) == 60
    assert tree.name(CHANGBAI) == "长白朝鲜族自治县"
    assert (tree.reviewer_area(CHANGBAI), tree.reviewer_area(BAISHAN)) == (BAISHAN, JILIN)
    assert tree.reviewer_area(JILIN) == JILIN  # no higher level: the region reviews itself
    with pytest.raises(AreaError, match=r"area '210100' is not in region 220000 吉林省"):
        tree.check("210100")


@pytest.mark.parametrize(
    ("text", "as_of", "due"),
    [("2026Q1", "2026-03-31", "2026-04-15"), (" 2025q4 ", "2025-12-31", "2026-01-15")],
)
def test_a_period_is_a_quarter_with_its_last_day_and_due_date(text, as_of, due):
    period = Period.parse(text)
    assert (period.as_of, period.due(15)) == (as_of, due)


@pytest.mark.parametrize("bad", ["2026Q5", "2026-03", "Q1 2026", "", None])
def test_a_period_that_is_not_a_quarter_is_refused(bad):
    with pytest.raises(AreaError, match="is not a quarter; write it as 2026Q1"):
        Period.parse(bad)


# --- who may submit and review ---------------------------------------------------------------

SUBMIT_CASES = [
    ("prov_steward", JILIN, True),
    ("prov_steward", BAISHAN, True),
    ("prov_steward", CHANGBAI, True),
    ("bs_steward", BAISHAN, True),
    ("bs_steward", CHANGBAI, True),
    ("bs_steward", JILIN, False),
    ("bs_steward", CHANGCHUN, False),
    ("bs_steward", NANGUAN, False),
    ("cb_steward", CHANGBAI, True),
    ("cb_steward", HUNJIANG, False),
    ("cb_steward", BAISHAN, False),
    ("cb_steward", JILIN, False),
    ("prov_reviewer", BAISHAN, False),
    ("bs_reviewer", CHANGBAI, False),
    ("viewer", CHANGBAI, False),
]


@pytest.mark.parametrize(("who", "area", "allowed"), SUBMIT_CASES)
def test_a_steward_submits_only_for_their_area_or_inside_it(store, users, who, area, allowed):
    rows = counts_of(store, area)
    if allowed:
        sub = store.submit("unemployed", rows, user=users[who], area=area, period="2026Q1")
        assert (sub.status, sub.area, sub.rows) == ("pending", area, len(rows))
    else:
        with pytest.raises(PermissionError):
            store.submit("unemployed", rows, user=users[who], area=area, period="2026Q1")
        assert store.submissions().empty


def test_a_stewards_default_area_is_their_own(store, users):
    sub = store.submit(
        "unemployed", counts_of(store, CHANGBAI), user=users["cb_steward"], period="2026Q1"
    )
    assert (sub.area, sub.area_name) == (CHANGBAI, "长白朝鲜族自治县")


REVIEW_CASES = [
    ("prov_reviewer", JILIN, True),
    ("prov_reviewer", BAISHAN, True),
    ("prov_reviewer", CHANGBAI, True),
    ("bs_reviewer", CHANGBAI, True),
    ("bs_reviewer", BAISHAN, False),  # a prefecture's own submission goes up to the province
    ("bs_reviewer", NANGUAN, False),
    ("bs_reviewer", JILIN, False),
    ("cb_reviewer", CHANGBAI, False),
    ("prov_steward", CHANGBAI, False),
    ("viewer", CHANGBAI, False),
]


@pytest.mark.parametrize(("who", "area", "allowed"), REVIEW_CASES)
@pytest.mark.parametrize("approve", [True, False])
def test_a_reviewer_reviews_only_areas_below_theirs(store, users, who, area, allowed, approve):
    sub = store.submit(
        "unemployed", counts_of(store, area, plus=1), user=users["prov_steward"], area=area,
        period="2026Q1",
    )  # fmt: skip
    review = {"user": users[who], "approve": approve, "reason": "" if approve else "数字不对"}
    if allowed:
        store.review(sub.submission_id, **review)
        status = store.submissions()["status"].iloc[-1]
        assert status == ("approved" if approve else "returned")
    else:
        with pytest.raises(PermissionError):
            store.review(sub.submission_id, **review)
        assert store.submissions()["status"].iloc[-1] == "pending"


def test_an_account_moved_to_another_area_must_sign_in_again(store, accounts, users):
    auth.add_user(
        "bs_steward", PASSWORD, role="steward", area=CHANGCHUN, path=accounts, replace=True
    )
    try:
        with pytest.raises(PermissionError, match="now works for area 220100"):
            store.submit(
                "unemployed", counts_of(store, BAISHAN), user=users["bs_steward"], period="2026Q1"
            )
    finally:
        auth.add_user(
            "bs_steward", PASSWORD, role="steward", area=BAISHAN, path=accounts, replace=True
        )
        users["bs_steward"] = auth.verify("bs_steward", PASSWORD, path=accounts)


# --- what a submission changes ---------------------------------------------------------------


def test_a_baishan_submission_leaves_the_other_eight_prefectures_exactly_as_they_were(store, users):
    """The overwrite regression: 7 rows for a few counties once emptied the province."""
    before = store.facilities()
    baishan = before[before["adcode"].str.startswith("2206")]
    others_before = before[~before["adcode"].str.startswith("2206")]
    kept = baishan.iloc[:5]  # the steward lists 5 of Baishan's 34 facilities
    sub = store.submit(
        "facilities",
        kept,
        user=users["bs_steward"],
        period="2026Q1",
        confirm_closures=len(baishan) - 5,
    )
    assert (len(baishan), sub.rows, len(sub.closes)) == (34, 5, 29)
    assert store.facilities().equals(before)  # pending: leaders see nothing yet
    version = store.review(sub.submission_id, user=users["prov_reviewer"], approve=True)
    after = store.facilities()
    assert (version, len(after)) == (2, 478 - 29)
    others_after = after[~after["adcode"].str.startswith("2206")]
    assert_frame_equal(by_id(others_after), by_id(others_before))
    assert_frame_equal(by_id(after[after["adcode"].str.startswith("2206")]), by_id(kept))


def test_closing_facilities_needs_their_number_confirmed(store, users):
    baishan = counts_of(store, BAISHAN).iloc[:4]  # two of six counties left out
    submit = {"user": users["bs_steward"], "period": "2026Q1"}
    with pytest.raises(ConfirmationNeeded, match="closes 2 of 白山市's current rows") as caught:
        store.submit("unemployed", baishan, **submit)
    assert caught.value.count == 2
    assert sorted(caught.value.closes["adcode"]) == ["220623", "220681"]
    with pytest.raises(ConfirmationNeeded, match=r"\(confirmed 1\)"):
        store.submit("unemployed", baishan, confirm_closures=1, **submit)
    assert store.submissions().empty  # nothing stored by a refused submission
    sub = store.submit("unemployed", baishan, confirm_closures=2, **submit)
    assert len(sub.closes) == 2


def test_rows_placed_outside_the_area_are_not_taken_and_named_with_their_row(
    store, users, tmp_path
):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["机构名称", "机构类别", "经度", "纬度"])
    sheet.append(["长白测试工坊", "美丽工坊", 128.2, 41.42])  # 长白县, row 2
    sheet.append(["长春测试工坊", "美丽工坊", 125.33, 43.87])  # 长春市区, row 3
    path = tmp_path / "两县.xlsx"
    book.save(path)
    result = store.upload(
        path.read_bytes(), file_name=path.name, dataset="facilities", period="2026Q1",
        as_of="2026-03-31", user=users["cb_steward"], counties=EmbeddedSource().counties(),
        confirm_closures=True,
    )  # fmt: skip
    sub = result.submission
    assert (sub.rows, result.pending) == (1, True)
    outside = sub.outside.iloc[0]
    assert (int(outside["row"]), outside["name"], outside["prefecture"]) == (
        3,
        "长春测试工坊",
        "长春市",
    )
    assert outside["adcode"].startswith("2201")
    logged = store.submissions().iloc[0]
    assert (logged["accepted"], logged["rejected"]) == (1, 1)


def test_a_county_after_a_prefecture_changes_only_that_county(store, users):
    review = {"user": users["prov_reviewer"], "approve": True}
    pref = store.submit(
        "unemployed", counts_of(store, BAISHAN, plus=10), user=users["bs_steward"], period="2026Q1"
    )
    store.review(pref.submission_id, **review)
    county = store.submit(
        "unemployed", counts_of(store, CHANGBAI, plus=5), user=users["cb_steward"], period="2026Q2"
    )
    store.review(county.submission_id, user=users["bs_reviewer"], approve=True)
    demo = EmbeddedSource().unemployed().set_index("adcode")["unemployed_disabled"]
    now = store.unemployed().set_index("adcode")["unemployed_disabled"]
    assert now[CHANGBAI] == demo[CHANGBAI] + 15
    assert now[HUNJIANG] == demo[HUNJIANG] + 10
    assert now[NANGUAN] == demo[NANGUAN]
    dates = store.area_dates("unemployed").set_index("adcode")["period"]
    assert (dates[CHANGBAI], dates[HUNJIANG], dates[NANGUAN]) == ("2026Q2", "2026Q1", "2025Q3")
    groups = date_groups(store.area_dates("unemployed"), store.area_tree())
    # 白山's other units one by one (长白 differs from them); the 54 units of the other
    # prefectures share 2025Q3: said once, as the rest
    assert groups[:2] == [("长白朝鲜族自治县", "2026Q2"), ("浑江区", "2026Q1")]
    assert {period for _, period in groups[1:-1]} == {"2026Q1"} and len(groups) == 7
    assert groups[-1] == ("", "2025Q3")
    text = reports.area_periods_text(groups, "zh")
    assert text.startswith("长白朝鲜族自治县 2026Q2，浑江区 2026Q1，") and text.endswith(
        "，其余 2025Q3"
    )
    assert reports.area_periods_text(groups, "en").endswith(", all others 2025Q3")


def test_an_approval_applies_to_the_data_current_then(store, users):
    """Another area changed between submission and approval: both changes stand."""
    baishan = store.submit(
        "unemployed", counts_of(store, BAISHAN, plus=1), user=users["bs_steward"], period="2026Q1"
    )
    changchun = store.submit(
        "unemployed",
        counts_of(store, CHANGCHUN, plus=2),
        user=users["steward_220100"],
        period="2026Q1",
    )
    store.review(changchun.submission_id, user=users["prov_reviewer"], approve=True)
    store.review(baishan.submission_id, user=users["prov_reviewer"], approve=True)
    demo = EmbeddedSource().unemployed().set_index("adcode")["unemployed_disabled"]
    now = store.unemployed().set_index("adcode")["unemployed_disabled"]
    assert (now[HUNJIANG] - demo[HUNJIANG], now[NANGUAN] - demo[NANGUAN]) == (1, 2)
    assert now["220802"] == demo["220802"]


def test_a_new_submission_supersedes_a_pending_one_and_a_return_carries_its_reason(store, users):
    first = store.submit(
        "unemployed", counts_of(store, CHANGBAI), user=users["cb_steward"], period="2026Q1"
    )
    second = store.submit(
        "unemployed", counts_of(store, CHANGBAI, plus=3), user=users["cb_steward"], period="2026Q1"
    )
    with pytest.raises(StoreError, match=f"submission {first.submission_id} is superseded"):
        store.review(first.submission_id, user=users["bs_reviewer"], approve=True)
    with pytest.raises(StoreError, match="needs a reason"):
        store.review(second.submission_id, user=users["bs_reviewer"], approve=False)
    store.review(
        second.submission_id, user=users["bs_reviewer"], approve=False, reason="请核对长白镇人数"
    )
    listed = store.submissions().set_index("submission_id")
    assert listed.loc[first.submission_id, "status"] == "superseded"
    assert (
        listed.loc[second.submission_id, "status"],
        listed.loc[second.submission_id, "reason"],
    ) == (
        "returned",
        "请核对长白镇人数",
    )
    assert store.current_version("unemployed") == 1  # nothing approved
    audit = store.audit(user=users["prov_steward"])
    assert audit["action"].tolist()[-3:] == ["submit", "submit", "return"]
    assert audit["note"].iloc[-1] == "请核对长白镇人数"


def test_only_a_steward_of_the_whole_region_rolls_back(store, users, review_off):
    sub = store.submit(
        "unemployed", counts_of(store, CHANGBAI, plus=1), user=users["cb_steward"], period="2026Q1"
    )
    assert sub.version_id == 2
    for who in ("cb_steward", "bs_steward"):  # a version is the whole region's data
        with pytest.raises(PermissionError, match="only a steward of the whole region"):
            store.rollback("unemployed", 1, user=users[who])
    store.rollback("unemployed", 1, user=users["prov_steward"])
    assert store.current_version("unemployed") == 1


def test_pending_rows_are_seen_by_stewards_and_reviewers_of_the_area_only(store, users):
    sub = store.submit(
        "unemployed", counts_of(store, CHANGBAI, plus=4), user=users["cb_steward"], period="2026Q1"
    )
    rows = store.submission_rows(sub.submission_id, user=users["bs_reviewer"])
    assert rows["adcode"].tolist() == [CHANGBAI]
    with pytest.raises(PermissionError):
        store.submission_rows(sub.submission_id, user=users["steward_220100"])
    with pytest.raises(PermissionError):
        store.submission_rows(sub.submission_id, user=users["viewer"])


def test_with_review_off_a_submission_is_current_at_once(store, users, review_off):
    sub = store.submit(
        "unemployed", counts_of(store, CHANGBAI, plus=7), user=users["cb_steward"], period="2026Q1"
    )
    assert (sub.status, sub.version_id, store.current_version("unemployed")) == ("approved", 2, 2)
    assert store.audit(user=users["prov_steward"])["action"].iloc[-1] == "upload"


# --- reporting status on a hand-made region --------------------------------------------------


@pytest.fixture
def toy_tree():
    units = pd.DataFrame(
        {
            "adcode": ["990101", "990102", "990103", "990201", "990202", "990203"],
            "name": ["A1", "A2", "A3", "B1", "B2", "B3"],
            "prefecture_adcode": ["990100"] * 3 + ["990200"] * 3,
            "prefecture": ["A"] * 3 + ["B"] * 3,
        }
    )
    return AreaTree("990000", "Toy", units)


def test_reporting_status_of_two_prefectures_worked_out_by_hand(toy_tree):
    subs = pd.DataFrame(
        [
            (1, "990100", "2026Q1", "2026-04-10T08:00:00Z", "approved"),  # A: all three on time
            (2, "990201", "2026Q1", "2026-04-12T08:00:00Z", "pending"),
            (3, "990202", "2026Q1", "2026-04-13T08:00:00Z", "returned"),
            (4, "990202", "2026Q1", "2026-04-20T08:00:00Z", "approved"),  # after the due date
            (5, "990203", "2026Q1", "2026-04-14T08:00:00Z", "superseded"),
            (6, "990101", "2026Q1", "2026-04-30T08:00:00Z", "pending"),  # A1 stays approved
            (7, "990203", "2025Q4", "2026-01-05T08:00:00Z", "approved"),  # another quarter
        ],
        columns=["submission_id", "area", "period", "submitted_at", "status"],
    )
    status = reporting_status(toy_tree, subs, "2026Q1", due="2026-04-15")
    assert status.set_index("name")["state"].to_dict() == {
        "A1": "approved_on_time",
        "A2": "approved_on_time",
        "A3": "approved_on_time",
        "B1": "pending",
        "B2": "approved_late",
        "B3": "not_submitted",
    }
    assert status["submission_id"].tolist()[:4] == [1, 1, 1, 2]
    rates = reporting_rates(status, toy_tree).set_index("area")
    assert rates.loc["990100", ["expected", "approved", "on_time", "rate"]].tolist() == [
        3,
        3,
        3,
        1.0,
    ]
    b = rates.loc["990200"]
    assert (b["approved"], b["on_time"], b["pending"], b["not_submitted"]) == (1, 0, 1, 1)
    region = rates.loc["990000"]
    assert (region["expected"], region["approved"], region["on_time"]) == (6, 4, 3)
    assert (round(region["rate"], 3), region["on_time_rate"]) == (0.667, 0.5)


def test_reporting_status_from_the_store(store, users):
    sub = store.submit(
        "unemployed", counts_of(store, BAISHAN), user=users["bs_steward"], period="2026Q1"
    )
    store.submit(
        "unemployed", counts_of(store, CHANGBAI), user=users["cb_steward"], period="2026Q1"
    )
    store.review(sub.submission_id, user=users["prov_reviewer"], approve=True)
    status = store.reporting_status("2026Q1", dataset="unemployed").set_index("adcode")["state"]
    # Submitted today (2026-12 in this run's clock or later): after the 2026-04-15 due date.
    assert status[CHANGBAI] == "approved_late"  # Baishan's approval covers it; better than pending
    assert (status == "approved_late").sum() == 6 and (status == "not_submitted").sum() == 54


# --- an older store --------------------------------------------------------------------------


def test_a_schema_1_store_is_upgraded_in_place_and_keeps_its_audit(tmp_path):
    path = tmp_path / "old.gpkg"
    shutil.copy(ROOT / "tests/fixtures/store_v1_500116.gpkg", path)
    store = Store.open(path, region="500116")
    con = sqlite3.connect(path)
    assert con.execute("SELECT value FROM geoapp_meta WHERE key='schema_version'").fetchone() == (
        "2",
    )
    assert [r[0] for r in con.execute("SELECT action FROM audit ORDER BY event_id")] == [
        "init",
        "init",
    ]
    con.close()
    assert store.submissions().empty
    dates = store.area_dates("facilities")
    assert dates["adcode"].tolist() == ["500116"]
    assert dates["period"].iloc[0] == str(Period.of_date(dates["as_of"].iloc[0]))


# --- several offices at once -----------------------------------------------------------------

_SUBMITTER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, {root!r})
    import pandas as pd
    from geoapp import auth
    from geoapp.store import Store

    path, accounts, start, prefecture = sys.argv[1:5]
    user = auth.verify("steward_" + prefecture, {password!r}, path=accounts)
    store = Store.open(path)
    current = store.facilities()
    mine = current[current["adcode"].isin(store.area_tree().units(prefecture))]
    new = mine.iloc[:2].assign(facility_id=lambda f: f["facility_id"] + "-NEW",
                               name=lambda f: f["name"] + "（新）")
    rows = pd.concat([mine.iloc[1:], new], ignore_index=True)  # one closed, two added
    while not Path(start).exists():
        time.sleep(0.01)
    sub = store.submit("facilities", rows, user=user, period="2026Q1", confirm_closures=1)
    print(sub.version_id)
    """
)


def test_nine_prefectures_submitting_at_once_all_land_and_readers_never_see_half(
    backend, jilin_store_at, tmp_path, accounts, monkeypatch
):
    monkeypatch.setenv("GEOAPP_REVIEW", "off")
    path = jilin_store_at(backend)
    start = tmp_path / "start"
    script = _SUBMITTER.format(root=str(ROOT), password=PASSWORD)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path), str(accounts), str(start), p],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in PREFECTURES
    ]
    store = Store.open(path)
    before = store.facilities()
    seen, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            seen.append(store.facilities())

    reader = threading.Thread(target=read)
    reader.start()
    time.sleep(8)  # the nine processes import geoapp and read the store first
    started = time.monotonic()
    start.touch()
    outputs = [proc.communicate(timeout=300) for proc in procs]
    wall = time.monotonic() - started
    stop.set()
    reader.join()
    assert [proc.returncode for proc in procs] == [0] * 9, [err[-500:] for _, err in outputs]
    assert sorted(int(out) for out, _ in outputs) == list(range(2, 11))
    after = store.facilities()
    assert len(after) == len(before) + 9
    assert after["facility_id"].str.endswith("-NEW").sum() == 18
    for frame in seen:  # every read is whole submissions: per prefecture, +1 or nothing
        pref = frame["adcode"].str[:4]
        grown = frame.groupby(pref).size() - before.groupby(before["adcode"].str[:4]).size()
        assert set(grown.fillna(0)) <= {0, 1}
        new = frame["facility_id"].str.endswith("-NEW").groupby(pref).sum()
        assert (new.to_numpy() == 2 * grown.to_numpy()).all()
    store.close()
    print(f"nine concurrent submissions ({backend}): {wall:.1f} s wall, {len(seen)} reads")


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def run(accounts, jilin_store_at, monkeypatch, capsys):
    """``geoapp store ...`` on a copy of the Jilin store as ``who``: (code, out, err)."""
    monkeypatch.setenv("GEOAPP_ACCOUNTS", str(accounts))
    path = jilin_store_at("gpkg")

    def run(*argv: str, who: str | None = None):
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        extra = ["--user", who, "--password-stdin"] if who else []
        code = cli.main(["store", *argv, *extra, "--store", str(path)])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_the_command_line_submits_reviews_and_reports_status(run, tmp_path):
    register = tmp_path / "长白.csv"
    register.write_text(
        "机构名称,机构类别,经度,纬度\n长白测试工坊,美丽工坊,128.2,41.42\n长春测试工坊,美丽工坊,125.33,43.87\n",
        encoding="utf-8",
    )
    submit = ("submit", "--facilities", str(register), "--period", "2026Q1")
    code, out, err = run(*submit, who="cb_steward")
    assert code == 2 and "本次报送将关闭 长白朝鲜族自治县 的 2 条当前数据" in err
    assert "--confirm-closures 2" in err and "Traceback" not in err
    code, out, err = run(*submit, "--confirm-closures", "2", who="cb_steward")
    assert code == 0, err
    assert "已报送第 1 号：长白朝鲜族自治县（220623）2026Q1" in out
    assert "等待 白山市（220600）的审核员审核" in out
    assert "第 3 行（长春测试工坊）位于 南关区（长春市），不在报送区域 长白朝鲜族自治县 内" in err
    code, _, err = run("review", "approve", "1", who="cb_steward")
    assert code == 2 and "cb_steward 是数据管理员；只有审核员才能审核通过报送" in err
    code, out, _ = run("review", "approve", "1", who="bs_reviewer")
    assert (code, out.strip()) == (0, "第 1 号已审核通过：设施登记表第 2 版为当前版本。")
    code, out, _ = run("submissions", "--lang", "en")
    assert code == 0 and "approved" in out and "220623 长白朝鲜族自治县" in out
    code, _, err = run(
        "submit", "--facilities", str(register), "--period", "2026Q2", who="cb_steward"
    )
    assert code == 0, err
    code, out, _ = run("submissions", "--lang", "en")  # one decided, one waiting: no reviewer yet
    assert code == 0 and "approved" in out and "NaN" not in out and "None" not in out
    book_path = tmp_path / "status.xlsx"
    code, out, _ = run("status", "--period", "2026Q1", "--out", str(book_path))
    assert code == 0
    assert "1 / 60 个县级单位已通过（2%）" in out
    book = openpyxl.load_workbook(book_path)
    sheet = book["报送情况"]
    assert [c.value for c in sheet[1]][:4] == ["区划代码", "县级单位", "所属市（州）", "报送情况"]
    assert (sheet.freeze_panes, sheet.auto_filter.ref) == ("A2", "A1:G61")
    states = [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert states.count("已通过（逾期）") == 1 and states.count("未报送") == 59
    about = {r[0]: r[1] for r in book["说明"].iter_rows(values_only=True)}
    assert (about["报送期"], about["截止日期"]) == ("2026Q1", "2026-04-15")
    assert "白山市：1 / 6（17%）" in about["各市（州）通过情况"]


def test_the_command_line_refuses_bad_areas_and_periods_without_a_traceback(run, tmp_path):
    register = tmp_path / "r.csv"
    register.write_text("机构名称,机构类别,经度,纬度\n甲,美丽工坊,128.2,41.42\n", encoding="utf-8")
    for argv, says in [
        (("--period", "2026Q7"), "报送期“2026Q7”不是季度"),
        (("--period", "2026Q1", "--area", "210100"), "区域 210100 不在 吉林省（220000）内"),
        (("--period", "2026Q1", "--area", "220100"), "不能为 长春市（220100）报送"),
    ]:
        code, _, err = run("submit", "--facilities", str(register), *argv, who="bs_steward")
        assert code == 2 and says in err and "Traceback" not in err


def test_the_command_line_edits_one_facility(run):
    code, out, err = run(
        "edit", "close", "--id", "DEMO-MAS-0204", "--closed-on", "2026-02-01",
        "--reason", "停业", "--period", "2026Q1", who="cb_steward",
    )  # fmt: skip
    assert code == 0, err
    assert "已报送第 1 号：长白朝鲜族自治县（220623）2026Q1，设施登记表 1 行。" in out
    code, _, err = run("edit", "rename", "--id", "NOPE", "--name", "x", "--period", "2026Q1",
                       who="cb_steward")  # fmt: skip
    assert code == 2 and "当前没有编号为“NOPE”的设施" in err and "Traceback" not in err
