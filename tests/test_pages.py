"""Every page through Streamlit's AppTest, in Chinese and English."""

from __future__ import annotations

import re

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


# --- the overview's gap rule, basemaps and map component --------------------------------


def _map_args(at: AppTest) -> dict:
    """The arguments the page hands to the st_folium component."""
    import json

    (component,) = at.get("component_instance")
    return json.loads(component.proto.json_args)


def test_overview_map_reruns_only_on_a_click_and_changes_in_place():
    at = run()
    args = _map_args(at)
    assert args["returned_objects"] == ["last_object_clicked_tooltip"]
    script = args["script"]
    assert "cdn" not in " ".join(args["js_links"] + args["css_links"])
    at.sidebar.selectbox(key="filter_prefecture").set_value("220600").run()
    after = _map_args(at)
    # the filter travels in the small feature group; the map itself is not rebuilt
    assert after["script"] == script
    assert 'features("prefectures", ["220600"])' in after["feature_group"]


def test_gap_rule_lists_the_policy_county_and_prefecture_rules():
    at = run()
    box = at.selectbox(key="gap_rule")
    assert box.options[0] == "不标出"
    assert any("各县（市）至少建立1个残疾人辅助性就业机构" in o for o in box.options)
    assert not any("80个左右" in o for o in box.options)  # province targets are not map rules
    assert "所选规则缺口" not in at.dataframe[0].value.columns


def test_gap_rule_marks_the_failing_counties_on_map_and_table():
    at = run(prefecture="220600")
    at.selectbox(key="gap_rule").set_value("aux-county").run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("县（市、区）")
    assert table.loc["长白朝鲜族自治县", "所选规则缺口"] == "缺 1"
    assert table.loc["抚松县", "所选规则缺口"] == "达标"
    assert table.loc["浑江区", "所选规则缺口"] == "不适用"  # a district, literal reading
    group = _map_args(at)["feature_group"]
    assert re.search(r'features\("counties", \[[^\]]*"220623"', group)
    assert "geoapp-gap" in group
    assert at.query_params["gap_rule"] in ("aux-county", ["aux-county"])


def test_gap_rule_in_english_and_at_prefecture_level():
    at = run(lang="en", prefecture="220400", gap_rule="inc-prefecture")
    assert not at.exception
    column = at.dataframe[0].value["Gap (chosen rule)"]
    assert set(column) == {"prefecture short 1"}  # 辽源市 has no incubation base
    assert 'features("prefectures", ["220400"' in _map_args(at)["feature_group"]


@pytest.mark.parametrize("basemap", ["osm", "amap"])
def test_basemaps_keep_the_page_working_and_say_they_need_internet(basemap):
    at = run()
    at.selectbox(key="basemap").set_value(basemap).run()
    assert not at.exception and not at.error
    captions = " ".join(c.value for c in at.caption)
    assert "来自互联网" in captions
    script = _map_args(at)["script"]
    assert "L.tileLayer" in script
    if basemap == "amap":
        assert "GCJ-02" in captions
        assert (
            '"type":"Topology"' in script
            and '"transform"' not in script.split("_data = ", 1)[1][:200]
        )


def test_tianditu_asks_for_a_key_before_loading_tiles():
    at = run()
    at.selectbox(key="basemap").set_value("tianditu").run()
    assert any("天地图密钥" in i.value for i in at.info)
    assert "L.tileLayer" not in _map_args(at)["script"]
    at.text_input(key="tianditu_key").input("0123456789abcdef0123456789abcdef").run()
    assert not at.info
    assert "tk=0123456789abcdef0123456789abcdef" in _map_args(at)["script"]


def test_a_click_on_a_county_opens_its_profile_or_selects_it():
    at = run(lang="en")
    # what the map's on_change callback leaves after a click on 长白朝鲜族自治县
    at.session_state["_overview_clicked_county"] = "220623"
    at.run()
    assert at.query_params["county"] in ("220623", ["220623"])
    assert at.query_params["prefecture"] in ("220600", ["220600"])
    assert at.query_params["lang"] in ("en", ["en"])  # the rest of the link is kept
    if (ROOT / "pages" / "profile.py").is_file():
        assert [t.value for t in at.title] != ["Employment resources for disabled people"]
    else:
        assert at.dataframe[0].value["County"].tolist() == ["长白朝鲜族自治县"]


def test_gap_rule_labels_are_distinct_and_another_regions_policy_disables_it():
    at = run(policy="jilin-2022-2024")
    options = at.selectbox(key="gap_rule").options
    assert len(options) == len(set(options))  # the same quote at two levels stays apart
    at = run(gap_rule="aux-county")
    at.sidebar.selectbox(key="filter_policy").set_value("jiangjin-2022-2024").run()
    assert not at.exception and not at.error
    assert any("江津区" in i.value for i in at.info)
    box = at.selectbox(key="gap_rule")
    assert box.disabled and box.options == ["不标出"]
    assert "所选规则缺口" not in at.dataframe[0].value.columns


def test_a_link_with_only_a_county_selects_its_prefecture_too():
    at = run(county="220623")
    assert at.sidebar.selectbox(key="filter_prefecture").value == "220600"
    assert at.sidebar.selectbox(key="filter_county").value == "220623"
    assert at.dataframe[0].value["县（市、区）"].tolist() == ["长白朝鲜族自治县"]
