"""Every page through Streamlit's AppTest, in Chinese and English."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from geoapp.paths import ROOT

ENTRY = str(ROOT / "streamlit_app.py")


def run(**params: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=90)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_overview_in_chinese_shows_jilin_and_the_demo_warning():
    at = run()
    assert not at.exception
    assert [t.value for t in at.title] == ["残疾人就业资源地图"]
    assert any("演示数据" in w.value for w in at.warning)
    assert metrics(at)["县级单位"] == "60"
    table = at.dataframe[0].value
    assert len(table) == 60
    assert "县（市、区）" in table.columns


def test_overview_in_english():
    at = run(lang="en")
    assert not at.exception
    assert [t.value for t in at.title] == ["Employment resources for disabled people"]
    assert any("Demo data" in w.value for w in at.warning)
    assert metrics(at)["County-level units"] == "60"
    assert "County" in at.dataframe[0].value.columns


def test_prefecture_filter_narrows_the_table_and_goes_into_the_url():
    at = run()
    at.sidebar.selectbox(key="filter_prefecture").set_value("220400").run()
    table = at.dataframe[0].value
    assert sorted(table["县（市、区）"]) == sorted(["龙山区", "西安区", "东丰县", "东辽县"])
    assert metrics(at)["县级单位"] == "4"
    assert at.query_params["prefecture"] in ("220400", ["220400"])


def test_a_link_with_a_county_opens_that_county():
    at = run(prefecture="220600", county="220623")
    table = at.dataframe[0].value
    assert table["县（市、区）"].tolist() == ["长白朝鲜族自治县"]
    # The demo's deliberate mandatory gap: no auxiliary institution here.
    assert table["残疾人辅助性就业机构"].tolist() == [0]


@pytest.mark.parametrize("bad", ["999999", "<script>"])
def test_a_bad_filter_in_the_url_falls_back_to_all(bad):
    at = run(prefecture=bad)
    assert not at.exception
    assert len(at.dataframe[0].value) == 60
