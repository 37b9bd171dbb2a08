"""The pages of area-scoped reporting: a county steward submits, the prefecture's
reviewer approves, and the leaders' pages change only then; the reporting status page."""

from __future__ import annotations

import io

import pytest
from streamlit.testing.v1 import AppTest

from geoapp import auth, datasource
from geoapp.paths import ROOT
from geoapp.store.areas import Period
from pages import cache

ENTRY = str(ROOT / "streamlit_app.py")
PASSWORD = "area-password-12"
CRASH = "页面出错"
REGISTER = (
    "机构名称,机构类别,经度,纬度\n"
    "长白测试辅助性就业机构,辅助性就业机构,128.2,41.42\n"
    "长春测试工坊,美丽工坊,125.33,43.87\n"
).encode()


@pytest.fixture(autouse=True)
def own_store(tmp_path, monkeypatch):
    import streamlit as st

    monkeypatch.setenv("GEOAPP_STORE", str(tmp_path / "geoapp.gpkg"))
    monkeypatch.setenv("GEOAPP_ACCOUNTS", str(tmp_path / "accounts.toml"))
    cache._source.clear()
    st.cache_data.clear()
    auth.add_user("cb", PASSWORD, role="steward", area="220623")
    auth.add_user("bs_rev", PASSWORD, role="reviewer", area="220600")
    yield tmp_path
    cache._source.clear()
    st.cache_data.clear()


def open_page(page: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=240)
    at.switch_page(f"pages/{page}.py")
    return at.run()


def sign_in(at: AppTest, name: str) -> AppTest:
    at.text_input(key="signin_name").input(name)
    at.text_input(key="signin_password").input(PASSWORD)
    return at.button(key="signin_submit").click().run()


def assert_ok(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not any(CRASH in e.value for e in at.error), [e.value for e in at.error]


def facilities_metric() -> str:
    at = open_page("overview")
    assert_ok(at)
    return {m.label: m.value for m in at.metric}["就业服务设施"]


def test_a_county_submits_the_prefecture_approves_and_only_then_the_map_changes():
    assert facilities_metric() == "478"
    at = sign_in(open_page("data"), "cb")
    assert_ok(at)
    assert at.selectbox(key="data_area").value == "220623"  # the steward's own county
    at.file_uploader[0].set_value(("长白.csv", REGISTER, "text/csv"))
    at.run()
    assert_ok(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "1 行位于报送区域 长白朝鲜族自治县（220623） 之外" in warnings
    assert "本次报送将关闭 长白朝鲜族自治县（220623） 的 2 个设施" in warnings
    assert at.button(key="data_accept").disabled  # closures not yet confirmed
    at.checkbox(key="data_closes_confirm").check().run()
    at.button(key="data_accept").click().run()
    assert_ok(at)
    assert any(
        "已报送第 1 号" in s.value and "等待 白山市（220600）" in s.value for s in at.success
    )
    assert facilities_metric() == "478"  # pending: the leaders' map is unchanged

    rev = sign_in(open_page("data"), "bs_rev")
    assert_ok(rev)
    assert rev.tabs[0].label == "报送与审核"
    assert rev.selectbox(key="data_review_pick").value == 1
    rev.button(key="data_review_approve").click().run()
    assert_ok(rev)
    assert any("第 1 号已审核通过" in s.value for s in rev.success)
    assert facilities_metric() == "477"  # 2 closed, 1 added in 长白; nothing else moved
    current = datasource.default_source().store.facilities()
    assert sorted(current.loc[current["adcode"] == "220623", "name"]) == ["长白测试辅助性就业机构"]


def test_a_returned_submission_shows_its_reason_to_the_steward():
    store = datasource.default_source().store
    steward = auth.verify("cb", PASSWORD)
    counts = store.unemployed()
    sub = store.submit(
        "unemployed", counts[counts["adcode"] == "220623"], user=steward, period="2026Q1"
    )
    store.review(sub.submission_id, user=auth.verify("bs_rev", PASSWORD), approve=False,
                 reason="请附上乡镇分解表")  # fmt: skip
    at = sign_in(open_page("data"), "cb")
    assert_ok(at)
    assert any("被退回，理由：请附上乡镇分解表" in w.value for w in at.warning)


def test_the_reporting_status_page_shows_map_table_rates_and_a_workbook():
    store = datasource.default_source().store
    steward = auth.verify("cb", PASSWORD)
    store.submit("facilities", store.facilities().query("adcode == '220623'"), user=steward,
                 period="2026Q3")  # fmt: skip
    at = open_page("reporting")
    assert_ok(at)
    at.selectbox(key="reporting_period").set_value(Period(2026, 3)).run()
    assert_ok(at)
    assert "2026Q3 报送情况：0 / 60 个县级单位已通过" in " ".join(m.value for m in at.markdown)
    metrics = {m.label: m.value for m in at.metric}
    assert (metrics["待审核"], metrics["未报送"]) == ("1", "59")
    units = next(d.value for d in at.dataframe if "报送情况" in d.value.columns)
    row = units.set_index("区划代码").loc["220623"]
    assert (row["报送情况"], row["报送区域"]) == ("待审核", "220623")
    rates = next(d.value for d in at.dataframe if "通过率" in d.value.columns)
    assert rates["区域"].tolist()[-1] == "吉林省" and len(rates) == 10
    # The workbook's content is tested through the core and the CLI (test_submissions).
    assert [b.proto.label for b in at.get("download_button")] == ["下载报送情况（Excel）"]


def test_a_steward_closes_one_facility_from_the_form():
    at = sign_in(open_page("data"), "cb")
    assert_ok(at)
    at.radio(key="edit_action").set_value("close").run()
    assert set(at.selectbox(key="edit_facility").options) == {
        "长白朝鲜族自治县瑞丰养殖专业合作社农村残疾人就业帮扶基地（长白朝鲜族自治县）",
        "长白朝鲜族自治县宏福盲人保健按摩店（长白朝鲜族自治县）",
    }  # only the facilities of the steward's own county
    at.selectbox(key="edit_facility").set_value("DEMO-MAS-0204")
    at.text_input(key="edit_reason").input("停业")
    at.button(key="edit_submit").click().run()
    assert_ok(at)
    assert any("已报送第 1 号（长白朝鲜族自治县（220623）" in s.value for s in at.success)
    sub = datasource.default_source().store.submissions().iloc[0]
    assert (sub["row_count"], sub["closes"], sub["status"]) == (1, 1, "pending")
    assert "reason=停业" in sub["note"]


def test_areas_reporting_different_quarters_are_named_on_pages_and_in_the_workbook(
    monkeypatch,
):
    import openpyxl

    from geoapp.analysis import reports

    monkeypatch.setenv("GEOAPP_REVIEW", "off")
    source = datasource.default_source()
    store = source.store
    current = store.facilities()
    store.submit("facilities", current[current["adcode"] == "220623"],
                 user=auth.verify("cb", PASSWORD), period="2026Q1")  # fmt: skip
    info = source.info()
    # the 59 other units share 2025Q3: said once, as the rest
    assert info.area_periods == (("长白朝鲜族自治县", "2026Q1"), ("", "2025Q3"))
    at = open_page("gaps")
    assert_ok(at)
    captions = " ".join(c.value for c in at.caption)
    assert "各地报送期不同：长白朝鲜族自治县 2026Q1，" in captions
    data = reports.gap_list_file(reports.build_gap_list(source), "xlsx", source=source)
    book = openpyxl.load_workbook(io.BytesIO(data))
    about = {r[0]: r[1] for r in book["说明"].iter_rows(values_only=True)}
    assert about["各地数据期"] == "长白朝鲜族自治县 2026Q1，其余 2025Q3"
