"""The data page through AppTest: sign-in, upload with real files, preview, accept, the
refusals; the datum hint; the progress page's history.

The upload is driven as a browser would: AppTest's ``file_uploader(...).set_value(
(name, bytes, mime))`` (Streamlit >= 1.50) hands the page the bytes of the committed
fixtures in ``tests/fixtures/uploads/`` (made by ``make_fixtures.py`` there). Every test
here runs against its own empty store, so that the versions it writes do not change the
numbers the other page tests expect.
"""

from __future__ import annotations

import io
import json
import os
import re

import numpy as np
import openpyxl
import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from geoapp import auth, coords, datasource, settings
from geoapp.analysis import preview
from geoapp.ingest import datum_hint
from geoapp.paths import ROOT
from pages import cache, signin

# Versions and uploads, not review: a submission is approved when it is accepted.
pytestmark = pytest.mark.usefixtures("review_off")

ENTRY = str(ROOT / "streamlit_app.py")
FIXTURES = ROOT / "tests" / "fixtures" / "uploads"
PASSWORD = "steward-password-1"
MIME = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}
CRASH = {"zh": "页面出错", "en": "Something went wrong"}


# --- a fresh store and accounts for every test ----------------------------------------------


@pytest.fixture(autouse=True)
def own_store(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOAPP_STORE", str(tmp_path / "geoapp.gpkg"))
    monkeypatch.setenv("GEOAPP_ACCOUNTS", str(tmp_path / "accounts.toml"))
    _clear_caches()
    auth.add_user("wang", PASSWORD, role="steward")
    auth.add_user("li", PASSWORD, role="viewer")
    yield tmp_path
    _clear_caches()


def _clear_caches() -> None:
    import streamlit as st

    cache._source.clear()  # the StoreSource holds the store path it opened first
    st.cache_data.clear()


def store():
    return datasource.default_source().store


def open_page(page: str = "data", **params: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=240)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}.py")
    return at.run()


def assert_ok(at: AppTest, lang: str = "zh") -> None:
    assert not at.exception, at.exception
    assert not any(CRASH[lang] in e.value for e in at.error)


def sign_in(at: AppTest, name: str = "wang", password: str = PASSWORD) -> AppTest:
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(password)
    return at.button(key="signin_submit").click().run()


def upload(at: AppTest, name: str, data: bytes | None = None) -> AppTest:
    content = (FIXTURES / name).read_bytes() if data is None else data
    at.file_uploader[0].set_value((name, content, MIME[name.rsplit(".", 1)[-1]]))
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def keys(at: AppTest) -> set[str]:
    """The user keys of every widget on the page."""
    found = set()
    for kind in (
        "button",
        "selectbox",
        "checkbox",
        "text_input",
        "file_uploader",
        "multiselect",
        "radio",
        "download_button",
    ):
        found |= {e.key for e in at.get(kind) if getattr(e, "key", None)}
    return found


#: A column that only that table of the data page has (AppTest does not give tables keys).
TABLES = {
    "data_versions": "写入人",
    "data_report": "详细说明",
    "data_by_county": "本次上传",
    "data_gap_changes": "之后现有数",
    "data_audit": "操作",
    "data_cmp_gaps": "之后现有数",
}


def table(at: AppTest, key: str, column: str | None = None) -> pd.DataFrame:
    marker = column or TABLES[key]
    found = [d.value for d in at.dataframe if marker in d.value.columns]
    if not found:
        raise KeyError(f"no table {key} (with a column {marker!r})")
    return found[-1] if key == "data_cmp_gaps" else found[0]


def has_table(at: AppTest, key: str) -> bool:
    return any(TABLES[key] in d.value.columns for d in at.dataframe)


# --- without sign-in: nothing that edits ------------------------------------------------------


def test_without_sign_in_the_page_has_no_upload_rollback_or_audit():
    at = open_page()
    assert_ok(at)
    assert [t.value for t in at.title] == ["数据管理"]
    assert not at.file_uploader
    assert not at.tabs
    assert not {"data_rb_submit", "data_rb_version", "data_accept"} & keys(at)
    assert not has_table(at, "data_audit")
    assert any("数据管理员" in i.value for i in at.info)
    versions = table(at, "data_versions")
    assert versions["版本"].tolist() == [1, 1] and versions["当前"].tolist() == ["✔", "✔"]
    # The sidebar offers the sign-in form.
    assert at.text_input(key="signin_name").label == "用户名"


def test_a_viewer_cannot_edit_either():
    at = sign_in(open_page(), "li")
    assert_ok(at)
    assert any("查看者" in c.value for c in at.sidebar.caption)
    assert not at.file_uploader
    assert not {"data_rb_submit"} & keys(at)
    assert not has_table(at, "data_audit")


def test_a_wrong_password_signs_nobody_in():
    at = sign_in(open_page(), "wang", "not-the-password")
    assert any("不正确" in e.value for e in at.error)
    assert not at.file_uploader
    assert signin.USER_KEY not in at.session_state


def test_the_store_refuses_the_editing_paths_without_a_steward(own_store):
    s = store()
    data = (FIXTURES / "facilities_good.xlsx").read_bytes()
    with pytest.raises(PermissionError):
        s.upload(
            data,
            file_name="x.xlsx",
            dataset="facilities",
            as_of="2025-12-31",
            user=None,
            counties=datasource.default_source().counties(),
        )
    with pytest.raises(PermissionError):
        s.rollback("facilities", 1, user=auth.User("wang", "steward"))  # forged: not verified
    with pytest.raises(PermissionError):
        s.audit(user=auth.verify("li", PASSWORD))
    assert s.current_version("facilities") == 1


def test_viewing_behind_sign_in_shows_only_the_form(monkeypatch):
    monkeypatch.setattr(settings, "VIEW_REQUIRES_SIGNIN", True, raising=False)
    at = open_page("overview")
    assert_ok(at)
    assert not at.metric and not at.dataframe
    assert [t.value for t in at.title] == ["残疾人就业资源地图"]
    assert any("需要登录" in i.value for i in at.info)
    at = sign_in(at, "li")
    assert_ok(at)
    assert metrics(at)["县级单位"] == "60"


# --- the upload flow ---------------------------------------------------------------------------


def test_good_register_preview_accept_and_the_overview_changes():
    before = metrics(open_page("overview"))["就业服务设施"]
    assert before == "478"

    at = sign_in(open_page())
    assert_ok(at)
    assert [t.label for t in at.tabs] == [
        "上传登记表",
        "报送与审核",
        "版本与回滚",
        "审计日志",
        "版本比较",
        "单个设施",
    ]
    at = upload(at, "facilities_good.xlsx")
    assert_ok(at)
    shown = metrics(at)
    assert (shown["接受"], shown["已标记"], shown["拒绝"], shown["跳过"]) == ("480", "0", "0", "0")
    assert shown["当前版本合计"] == "478" and shown["本次上传合计"] == "480"
    report = table(at, "data_report")
    assert len(report) == 480 and set(report["状态"]) == {"接受"}
    assert report["Excel 行号"].iloc[0] == 2
    # The two new facilities: 长白's auxiliary institution closes the mandatory gap.
    by_county = table(at, "data_by_county").set_index("县（市、区）")
    assert by_county.loc["长白朝鲜族自治县", ["当前版本", "本次上传", "变化"]].tolist() == [2, 3, 1]
    gaps = table(at, "data_gap_changes")
    closed = gaps[gaps["变化"] == "补上"]
    assert ("长白朝鲜族自治县", "残疾人辅助性就业机构") in set(
        zip(closed["县（市、区）"], closed["设施类型"], strict=False)
    )
    # Mapping detected from the Chinese headers, editable.
    name_key = next(k for k in keys(at) if k.startswith("data_map_") and k.endswith("_name"))
    assert at.selectbox(key=name_key).value == "名称"
    assert not at.get("download_button")  # nothing to fix

    at.button(key="data_accept").click().run()
    assert_ok(at)
    assert any("第 2 版" in s.value for s in at.success)
    assert store().current_version("facilities") == 2
    assert store().version_info("facilities")["source_file"] == "facilities_good.xlsx"
    assert not at.file_uploader[0].value  # emptied for the next file

    overview = open_page("overview")
    assert metrics(overview)["就业服务设施"] == "480"
    gaps_page = open_page("gaps")
    assert {m.label: m.value for m in gaps_page.metric}["约束性缺口"] == "2"  # was 3

    # Versions, audit and rollback.
    versions = table(at, "data_versions")
    assert versions.loc[versions["数据集"] == "设施登记表", "版本"].tolist() == [1, 2]
    audit = table(at, "data_audit")
    assert audit["操作"].iloc[0] == "上传" and audit["文件"].iloc[0] == "facilities_good.xlsx"
    at.selectbox(key="data_rb_version").set_value(1).run()
    assert at.button(key="data_rb_submit").disabled  # not until confirmed
    at.checkbox(key="data_rb_confirm").check().run()
    at.button(key="data_rb_submit").click().run()
    assert_ok(at)
    assert store().current_version("facilities") == 1
    assert metrics(open_page("overview"))["就业服务设施"] == "478"
    assert table(at, "data_audit")["操作"].iloc[0] == "回滚"


def test_comparing_two_versions():
    s = store()
    s.upload(
        (FIXTURES / "facilities_good.xlsx").read_bytes(),
        file_name="good.xlsx",
        dataset="facilities",
        as_of="2025-12-31",
        user=auth.verify("wang", PASSWORD),
        counties=datasource.default_source().counties(),
    )
    at = open_page()  # comparison is reading: open to everyone
    assert_ok(at)
    assert (at.selectbox(key="data_cmp_a").value, at.selectbox(key="data_cmp_b").value) == (1, 2)
    shown = metrics(at)
    assert (shown["新增"], shown["删除"]) == ("2", "0")
    gaps = table(at, "data_cmp_gaps")
    assert "长白朝鲜族自治县" in set(gaps["县（市、区）"])


@pytest.fixture
def media(monkeypatch):
    made: list[MediaFileManager] = []

    class Recording(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(app_test_module, "MediaFileManager", Recording)
    return made


def test_messy_register_lists_rows_by_excel_row_and_downloads_them_with_reasons(media):
    at = upload(sign_in(open_page()), "facilities_messy.xlsx")
    assert_ok(at)
    shown = metrics(at)
    assert (shown["接受"], shown["已标记"], shown["拒绝"], shown["跳过"]) == ("2", "2", "5", "1")
    report = table(at, "data_report").set_index("Excel 行号")
    assert report.loc[5, "状态"] == "拒绝" and report.loc[5, "原因"] == "缺名称"
    assert report.loc[6, "原因"] == "类型无法识别"
    assert report.loc[8, "原因"] == "坐标在区域外"
    assert report.loc[9, "原因"] == "重复" and "第 4 行" in report.loc[9, "详细说明"]
    assert report.loc[11, "状态"] == "已标记" and report.loc[11, "原因"] == "经纬度颠倒"
    # Filter by status.
    at.multiselect(key="data_status_filter").set_value(["rejected"]).run()
    assert table(at, "data_report")["Excel 行号"].tolist() == [5, 6, 7, 8, 9]

    button = at.get("download_button")[0]
    assert "7" in button.label
    manager = media[-1]
    url = manager._storage.get_file  # noqa: F841 - the deferred file is made on click
    data = _downloaded(manager, button)
    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["待修正行"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    header = rows[0]
    assert header[:4] == ["Excel 行号", "状态", "原因", "详细说明"]
    by_row = {r[0]: r for r in rows[1:]}
    assert sorted(by_row) == [5, 6, 7, 8, 9, 10, 11]  # row 13, placed by its county, is fine
    assert by_row[6][1] == "拒绝" and by_row[6][2] == "类型无法识别"
    assert by_row[6][3].startswith("无法识别的设施类型")
    assert "说明" in book.sheetnames
    about = dict(book["说明"].iter_rows(values_only=True))
    assert about["数据"] == "设施登记表" and about["用法"].startswith("按“原因”修正")

    # 1 accepted + 3 flagged can still become a version, once the steward confirms that
    # the facilities the register no longer lists are closed (a province-wide register).
    closes = [w.value for w in at.warning if "本次报送将关闭 吉林省（220000） 的" in w.value]
    assert closes and at.button(key="data_accept").disabled
    at.checkbox(key="data_closes_confirm").check().run()
    at.button(key="data_accept").click().run()
    assert store().current_version("facilities") == 2
    assert len(store().facilities()) == 4


def _downloaded(manager: MediaFileManager, button) -> bytes:
    proto = button.proto
    if proto.url:
        url = proto.url
    else:
        url = manager.execute_deferred(proto.deferred_file_id)
    return manager._storage.get_file(url.rsplit("/", 1)[-1]).content


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("zip_bomb.xlsx", "可能是压缩炸弹"),
        ("really_a_zip.csv", "扩展名是 .csv，但内容不是文本"),
        ("external_link.xlsx", "工作簿链接了其他工作簿"),
        ("oversized.csv", "超过上传上限 50.0 KB"),
    ],
)
def test_hostile_files_are_refused_plainly_and_make_no_version(monkeypatch, name, says):
    monkeypatch.setattr(settings, "MAX_UPLOAD_BYTES", 50_000, raising=False)
    at = upload(sign_in(open_page()), name)
    assert_ok(at)
    # the file's name and the reason are markdown-escaped (ui.plain): compare what shows
    errors = [re.sub(r"\\(.)", r"\1", e.value) for e in at.error]
    assert any(says in e and "文件被拒绝" in e for e in errors), errors
    assert not at.metric and "data_accept" not in keys(at)
    assert store().current_version("facilities") == 1
    audit = store().audit(user=auth.verify("wang", PASSWORD))
    assert audit["action"].tolist() == ["init", "init", "rejected_upload"]  # recorded once
    at.run()
    assert len(store().audit(user=auth.verify("wang", PASSWORD))) == 3


def test_no_valid_row_makes_no_version():
    at = upload(sign_in(open_page()), "facilities_no_valid_rows.xlsx")
    assert_ok(at)
    assert metrics(at)["拒绝"] == "3"
    assert any("没有可用的行" in e.value for e in at.error)
    assert at.button(key="data_accept").disabled
    assert store().current_version("facilities") == 1


def test_an_unknown_heading_is_mapped_by_hand():
    at = upload(sign_in(open_page()), "facilities_custom_headers.xlsx")
    assert_ok(at)
    assert any("无法读取为登记表" in e.value for e in at.error)
    name = at.selectbox(key=next(k for k in keys(at) if k.endswith("_facilities_name")))
    assert "机构全称" in name.options
    name.set_value("机构全称").run()
    assert_ok(at)
    assert metrics(at)["接受"] == "2"
    assert table(at, "data_report")["名称"].iloc[0].startswith("长白")


def test_a_messy_register_in_english_gives_english_reasons_and_fix_list(media):
    at = upload(sign_in(open_page(lang="en")), "facilities_messy.xlsx")
    assert_ok(at, "en")
    report = table(at, "data_report", "Details").set_index("Excel row")
    assert report.loc[5, "Status"] == "rejected" and report.loc[5, "Reason"] == "no name"
    assert report.loc[6, "Details"].startswith("unknown facility type")
    assert "duplicate of row 4" in report.loc[9, "Details"]
    book = openpyxl.load_workbook(io.BytesIO(_downloaded(media[-1], at.get("download_button")[0])))
    assert book.sheetnames == ["Rows to fix", "About"]
    rows = list(book["Rows to fix"].iter_rows(values_only=True))
    assert rows[0][:4] == ("Excel row", "Status", "Reason", "Details")
    assert not any("拒绝" in str(v) or "原因" in str(v) for r in rows for v in r)


def test_unemployed_counts_upload_in_english():
    at = upload(sign_in(open_page(lang="en")), "unemployed_good.csv")
    at.radio(key="data_dataset").set_value("unemployed").run()
    assert_ok(at, "en")
    assert next(t.label for t in at.tabs) == "Upload a register"
    shown = metrics(at)
    assert shown["accepted"] == "60"
    changes = table(at, "data_by_county", "Upload")
    assert changes.iloc[0][["County", "Change"]].tolist() == ["长白朝鲜族自治县", 40]
    at.button(key="data_accept").click().run()
    assert_ok(at, "en")
    assert any("Version 2 written" in s.value for s in at.success)
    assert store().current_version("unemployed") == 2


def test_english_labels_of_the_locked_page():
    at = open_page(lang="en")
    assert_ok(at, "en")
    assert [t.value for t in at.title] == ["Data management"]
    assert any("data steward" in i.value for i in at.info)
    assert "Version" in table(at, "data_versions", "Written by").columns


# --- the datum hint ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def near_borders():
    """Real Jilin county polygons and points 150 m inside their borders, where a datum
    shift of about 500 m (GCJ-02) or 1 km (BD-09) takes many of them out."""
    counties = datasource.EmbeddedSource().counties()
    metric = counties.to_crs(3857)
    rows = []
    for adcode, shape in zip(metric["adcode"], metric.geometry.buffer(-150), strict=True):
        ring = (
            shape.exterior
            if shape.geom_type == "Polygon"
            else max(shape.geoms, key=lambda g: g.area).exterior
        )
        for k in range(8):
            rows.append((adcode, ring.interpolate(k / 8, normalized=True)))
    import geopandas as gpd

    points = gpd.GeoSeries([p for _, p in rows], crs=3857).to_crs(4326)
    frame = pd.DataFrame(
        {"lon": points.x, "lat": points.y, "declared_adcode": [a for a, _ in rows]}
    )
    return counties, frame


@pytest.mark.parametrize("datum", ["wgs84", "gcj02", "bd09"])
def test_guess_datum_finds_the_datum_points_were_written_in(near_borders, datum):
    counties, truth = near_borders
    lon, lat = coords.convert(
        truth["lon"].to_numpy(), truth["lat"].to_numpy(), src="wgs84", dst=datum
    )
    guess = datum_hint.guess_datum(truth.assign(lon=lon, lat=lat), counties)
    assert guess.datum == datum and guess.decisive
    assert guess.points == len(truth) == 480
    assert guess.share[datum] > 0.97
    others = [d for d in datum_hint.CANDIDATES if d != datum]
    assert all(guess.share[d] < guess.share[datum] - 0.05 for d in others)
    assert np.isnan(guess.offset_m[datum]) or guess.offset_m[datum] < 100
    assert f"{guess.share[datum]:.0%}" in guess.evidence("en")


def test_guess_datum_without_usable_rows():
    counties = datasource.EmbeddedSource().counties()
    frame = pd.DataFrame(
        {"lon": ["abc", None], "lat": [43.0, None], "declared_adcode": ["220102", ""]}
    )
    assert datum_hint.guess_datum(frame, counties).datum is None


def test_datum_hint_on_the_page_for_gcj02_coordinates():
    counties = datasource.EmbeddedSource().counties()
    good = pd.read_excel(FIXTURES / "facilities_good.xlsx", dtype=str, engine="openpyxl")
    metric = counties.set_index("adcode").to_crs(3857)
    # Move every facility next to its county's border, then write it in GCJ-02.
    import geopandas as gpd

    points = []
    for i, code in enumerate(datasource.EmbeddedSource().facilities()["adcode"]):
        ring = metric.geometry[code].buffer(-150)
        ring = (
            ring if ring.geom_type == "Polygon" else max(ring.geoms, key=lambda g: g.area)
        ).exterior
        points.append(ring.interpolate((i % 17) / 17, normalized=True))
    wgs = gpd.GeoSeries(points, crs=3857).to_crs(4326)
    lon, lat = coords.wgs84_to_gcj02(wgs.x.to_numpy(), wgs.y.to_numpy())
    rows = good.iloc[: len(points)].assign(经度=lon, 纬度=lat)
    buffer = io.BytesIO()
    rows.to_excel(buffer, index=False)
    at = upload(sign_in(open_page()), "gcj.xlsx", buffer.getvalue())
    assert_ok(at)
    hint = [w.value for w in at.warning if "GCJ-02" in w.value]
    assert hint and "建议把坐标系改为 GCJ-02" in hint[0]
    datum = at.selectbox(key=next(k for k in keys(at) if k.startswith("data_datum_")))
    datum.set_value("gcj02").run()
    assert_ok(at)
    assert not [w for w in at.warning if "建议" in w.value]


# --- preview helpers -----------------------------------------------------------------------------


def test_county_changes_and_last_quarter_end():
    from datetime import date

    counties = pd.DataFrame({"adcode": ["1", "2"], "prefecture": ["P", "P"], "name": ["a", "b"]})
    before = pd.DataFrame({"adcode": ["1", "1", "2"]})
    after = pd.DataFrame({"adcode": ["1", "2", "2", "2"]})
    out = preview.county_changes(counties, before=before, after=after)
    assert out[["adcode", "before", "after", "change"]].values.tolist() == [
        ["2", 1, 3, 2],
        ["1", 2, 1, -1],
    ]
    assert preview.last_quarter_end(date(2025, 7, 1)) == date(2025, 6, 30)


# --- history on the progress page ----------------------------------------------------------------


def charts(at: AppTest) -> dict[str, dict]:
    return {c.proto.id.rsplit("-", 1)[-1]: json.loads(c.proto.spec) for c in at.get("plotly_chart")}


def test_progress_history_with_one_version_explains_itself():
    at = open_page("progress")
    assert_ok(at)
    assert any("只有一个版本" in c.value for c in at.caption)
    chart = charts(at)["progress_history"]
    actual = [t for t in chart["data"] if t.get("legendgroup") == "actual"]
    assert len(actual) == 6 and all(len(t["x"]) == 1 for t in actual)


def test_progress_history_grows_with_each_upload_and_follows_the_prefecture():
    s = store()
    steward = auth.verify("wang", PASSWORD)
    s.upload(
        (FIXTURES / "facilities_good.xlsx").read_bytes(),
        file_name="good.xlsx",
        dataset="facilities",
        as_of="2025-12-31",
        user=steward,
        counties=datasource.default_source().counties(),
    )
    at = open_page("progress", lang="en", prefecture="220600")
    assert_ok(at, "en")
    found = charts(at)
    province = found["progress_history"]
    aux = next(
        t
        for t in province["data"]
        if t.get("legendgroup") == "actual"
        and t["name"] == "Actual"
        and "Auxiliary" in t.get("meta", "")
    )
    assert aux["x"] == ["2025-09-30", "2025-12-31"]
    assert aux["y"][1] == aux["y"][0] + 1
    targets = [t for t in province["data"] if t.get("legendgroup") == "target"]
    assert targets  # the province targets are drawn
    baishan = found["progress_history_prefecture"]
    assert all(t.get("legendgroup") != "target" for t in baishan["data"])
    aux_bs = next(t for t in baishan["data"] if "Auxiliary" in t.get("meta", ""))
    assert aux_bs["y"] == [aux_bs["y"][0], aux_bs["y"][0] + 1]
    table = next(d.value for d in at.dataframe if "As of" in d.value.columns)
    assert set(table["As of"]) == {"2025-09-30", "2025-12-31"}


def test_fixtures_are_committed_and_the_script_is_there():
    for name in (
        "facilities_good.xlsx",
        "facilities_messy.xlsx",
        "zip_bomb.xlsx",
        "really_a_zip.csv",
        "external_link.xlsx",
        "oversized.csv",
        "facilities_no_valid_rows.xlsx",
        "facilities_custom_headers.xlsx",
        "unemployed_good.csv",
        "make_fixtures.py",
    ):
        assert (FIXTURES / name).is_file(), name
    assert os.path.getsize(FIXTURES / "oversized.csv") > 50_000


def test_formula_names_leave_the_fix_list_neutralised(media):
    """A name that is a spreadsheet formula is text in every workbook the page offers."""
    names = ['=HYPERLINK("http://127.0.0.1/x","点我")', "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)"]
    lines = ["名称,类型,市（州）,县（市、区）,经度,纬度"]
    # an unknown type: every row is rejected and goes into the fix list
    lines += [
        f'"{n.replace(chr(34), chr(34) * 2)}",不存在的类型,长春市,南关区,125.38,43.56'
        for n in names
    ]
    data = ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")
    at = upload(sign_in(open_page()), "formulas.csv", data)
    assert_ok(at)
    button = at.get("download_button")[0]
    book = openpyxl.load_workbook(io.BytesIO(_downloaded(media[-1], button)))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    column = header.index("名称") + 1
    shown = [sheet.cell(row=r, column=column).value for r in range(2, sheet.max_row + 1)]
    assert shown == ["'" + n for n in names]
    assert all(
        sheet.cell(row=r, column=column).data_type == "s" for r in range(2, sheet.max_row + 1)
    )
