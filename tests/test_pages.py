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
    assert box.options[:2] == ["约束性缺口（全部约束性规则）", "倡导性缺口（全部倡导性规则）"]
    assert box.options[-1] == "不标出"
    assert any("各县（市）至少建立1个残疾人辅助性就业机构" in o for o in box.options)
    assert not any("80个左右" in o for o in box.options)  # province targets are not map rules
    box.set_value("none").run()
    assert "所选规则缺口" not in at.dataframe[0].value.columns
    assert not _headline(at)
    assert at.query_params["gap_rule"] in ("none", ["none"])
    group = _map_args(at)["feature_group"]
    assert 'features("counties", [])' in group and 'features("prefectures", [])' in group


# --- what the overview marks on arrival: every mandatory gap -----------------------------
# The demo data's gap result (jilin-2025-2027, literal reading) has three mandatory gap
# rows: 辽源市 (220400) has no incubation base (a prefecture rule), and 通榆县 (220822)
# and 长白朝鲜族自治县 (220623) have no auxiliary institution (a county rule).


def _headline(at: AppTest) -> list[str]:
    """The text of the one-line summary above the map (markup stripped)."""
    return [
        re.sub(r"<[^>]+>", "", m.value) for m in at.markdown if 'class="geoapp-headline"' in m.value
    ]


def test_overview_marks_every_mandatory_gap_on_arrival():
    at = run()
    assert not at.exception
    assert at.selectbox(key="gap_rule").value == "mandatory"
    assert "gap_rule" not in at.query_params  # the default needs nothing in the URL
    assert _headline(at) == [
        "吉林省：2 个县级单位、1 个市（州）未达到约束性要求，"
        "缺 2 个残疾人辅助性就业机构、1 个残疾人创业孵化基地"
    ]
    group = _map_args(at)["feature_group"]
    assert 'features("counties", ["220623", "220822"])' in group  # hatched
    assert 'features("prefectures", ["220400"])' in group  # dotted
    assert '"className": "geoapp-gap"' in group
    assert '"className": "geoapp-gap-prefecture"' in group
    legend = " ".join(m.value for m in at.markdown)
    assert "斜线：2 个县级单位未达标" in legend and "圆点：1 个市（州）未达标" in legend
    table = at.dataframe[0].value.set_index("县（市、区）")
    assert table.loc["长白朝鲜族自治县", "所选规则缺口"] == "缺 1 个残疾人辅助性就业机构"
    assert table.loc["龙山区", "所选规则缺口"] == "所属市（州）缺 1 个残疾人创业孵化基地"
    assert table.loc["抚松县", "所选规则缺口"] == "无缺口"


def test_overview_headline_in_english_and_for_a_filtered_view():
    at = run(lang="en")
    assert _headline(at)[0].endswith(
        ": 2 county-level units and 1 prefecture below the mandatory rules; "
        "missing 2 × Auxiliary employment institution, 1 × Entrepreneurship incubation base"
    )
    # 白山市: only 长白朝鲜族自治县; 辽源市: only its own prefecture rule.
    assert _headline(run(prefecture="220600")) == [
        "白山市：1 个县级单位未达到约束性要求，缺 1 个残疾人辅助性就业机构"
    ]
    assert _headline(run(prefecture="220400")) == [
        "辽源市：1 个市（州）未达到约束性要求，缺 1 个残疾人创业孵化基地"
    ]
    assert _headline(run(prefecture="220600", county="220621")) == [
        "抚松县：所有单位均达到约束性要求"
    ]


def test_overview_switches_to_the_aspirational_gaps():
    at = run()
    at.selectbox(key="gap_rule").set_value("aspirational").run()
    assert not at.exception
    # 24 aspirational gap rows: 16 counties without an incubation base (inc-county) and
    # 8 counties or cities without a rural help base (rural-county); 东丰县 and 辉南县
    # lack both, so 22 units.
    assert _headline(at) == [
        "吉林省：22 个县级单位未达到倡导性要求，"
        "缺 16 个残疾人创业孵化基地、8 个农村残疾人就业帮扶基地"
    ]
    assert at.query_params["gap_rule"] in ("aspirational", ["aspirational"])
    table = at.dataframe[0].value.set_index("县（市、区）")
    assert (
        table.loc["东丰县", "所选规则缺口"]
        == "缺 1 个残疾人创业孵化基地、缺 1 个农村残疾人就业帮扶基地"
    )


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
