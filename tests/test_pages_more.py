"""The gaps, progress and profile pages through Streamlit's AppTest, in Chinese and English.

Expected values come from the embedded demo data (see tests/test_cli_gaps.py): Jilin has
3 mandatory gaps under the literal reading; 白山市's one is 长白朝鲜族自治县 (220623),
which has no auxiliary institution; there are 262 blind massage institutions against a
target of at least 400.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import openpyxl
import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from geoapp import cli
from geoapp.analysis import reports
from geoapp.datasource import default_source
from geoapp.paths import ROOT

ENTRY = str(ROOT / "streamlit_app.py")
CRASH = {"zh": "页面出错", "en": "Something went wrong"}


def run(page: str, **params: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}.py")
    return at.run()


def assert_ok(at: AppTest, lang: str = "zh") -> None:
    assert not at.exception
    assert not any(CRASH[lang] in e.value for e in at.error)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


# --- coverage gaps --------------------------------------------------------------------------


def test_gaps_in_chinese():
    at = run("gaps")
    assert_ok(at)
    assert [t.value for t in at.title] == ["覆盖缺口清单"]
    assert any("演示数据" in w.value for w in at.warning)
    assert metrics(at) == {
        "约束性缺口": "3",
        "倡导性缺口": "24",
        "约束性缺口涉及的未就业残疾人": "4,273",
    }
    caption = at.caption[0].value
    assert "吉政办发〔2025〕16号" in caption and "字面解读" in caption and "2025-09-30" in caption
    table = at.dataframe[0].value
    assert table["优先序"].tolist()[:3] == [1, 2, 3]
    assert table["市（州）"].tolist()[:3] == ["辽源市", "白城市", "白山市"]
    assert set(table["约束力"].head(3)) == {"约束性"}


def test_gaps_for_baishan_list_changbai_missing_aux_mandatory():
    at = run("gaps")
    at.sidebar.selectbox(key="filter_prefecture").set_value("220600").run()
    assert_ok(at)
    table = at.dataframe[0].value
    assert set(table["市（州）"]) == {"白山市"}
    top = table.iloc[0]
    assert (top["县（市、区）"], top["设施类型"], top["约束力"], top["缺口"]) == (
        "长白朝鲜族自治县",
        "残疾人辅助性就业机构",
        "约束性",
        1,
    )
    assert metrics(at)["约束性缺口"] == "1"
    assert metrics(at)["约束性缺口涉及的未就业残疾人"] == "150"
    assert "范围：白山市" in at.caption[0].value


def test_gaps_in_english():
    at = run("gaps", lang="en", prefecture="220600")
    assert_ok(at, "en")
    assert [t.value for t in at.title] == ["Coverage gaps"]
    assert any("Demo data" in w.value for w in at.warning)
    assert "literal reading" in at.caption[0].value
    table = at.dataframe[0].value
    row = table.iloc[0]
    assert (row["County"], row["Facility type"], row["Strength"]) == (
        "长白朝鲜族自治县",
        "Auxiliary employment institution",
        "Mandatory",
    )
    assert metrics(at)["Mandatory gaps"] == "1"


def test_show_all_rows_adds_the_met_rules():
    at = run("gaps", prefecture="220600")
    gaps_only = at.dataframe[0].value
    at.toggle(key="gaps_all").set_value(True).run()
    assert_ok(at)
    every = at.dataframe[0].value
    assert len(every) > len(gaps_only)
    assert set(every["是否达标"]) == {"是", "否"}
    assert (every["缺口"] == 0).any()


def test_reading_switch_brings_districts_into_the_aux_rule():
    def aux_kinds(at: AppTest) -> set[str]:
        table = at.dataframe[0].value
        return set(table.loc[table["设施类型"] == "残疾人辅助性就业机构", "类别"])

    at = run("gaps")
    at.toggle(key="gaps_all").set_value(True).run()
    assert "市辖区" not in aux_kinds(at)
    at.sidebar.radio(key="filter_reading").set_value("broad").run()
    assert_ok(at)
    assert "市辖区" in aux_kinds(at)
    assert "宽泛解读" in at.caption[0].value
    assert at.query_params["reading"] in ("broad", ["broad"])


@pytest.mark.parametrize(
    ("lang", "labels"),
    [
        ("zh", ["Excel（.xlsx）", "CSV", "GeoJSON（地图）"]),
        ("en", ["Excel (.xlsx)", "CSV", "GeoJSON (map)"]),
    ],
)
def test_three_download_buttons(lang, labels):
    at = run("gaps", lang=lang)
    buttons = at.get("download_button")
    assert [b.label for b in buttons] == labels
    assert [b.proto.id.rsplit("-", 1)[-1] for b in buttons] == [
        "gaps_download_xlsx",
        "gaps_download_csv",
        "gaps_download_geojson",
    ]


# --- the downloads are the CLI's files ----------------------------------------------------------


@pytest.fixture
def media(monkeypatch) -> Iterator[list[MediaFileManager]]:
    """The media file managers AppTest creates, so that a download can be clicked."""
    made: list[MediaFileManager] = []

    class Recording(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(app_test_module, "MediaFileManager", Recording)
    yield made


def downloaded(at: AppTest, manager: MediaFileManager, fmt: str) -> bytes:
    """What the browser receives when the download button for ``fmt`` is clicked."""
    button = next(
        b for b in at.get("download_button") if b.proto.id.endswith(f"gaps_download_{fmt}")
    )
    url = manager.execute_deferred(button.proto.deferred_file_id)
    return manager._storage.get_file(url.rsplit("/", 1)[-1]).content


def cli_bytes(capsysbinary, tmp_path, *args: str) -> bytes:
    out = tmp_path / "cli.out"
    assert cli.main(["gaps", *args, "--out", str(out)]) == 0
    capsysbinary.readouterr()
    return out.read_bytes()


def test_page_csv_download_is_byte_identical_to_the_cli(media, capsysbinary, tmp_path):
    at = run("gaps", prefecture="220600")
    assert_ok(at)
    page = downloaded(at, media[-1], "csv")
    assert page == cli_bytes(capsysbinary, tmp_path, "--city", "白山市")
    frame = pd.read_csv(io.BytesIO(page), encoding="utf-8-sig", dtype={"adcode": str})
    assert frame.loc[0, ["adcode", "rule_id", "strength"]].tolist() == [
        "220623",
        "aux-county",
        "mandatory",
    ]


def test_page_geojson_download_with_all_rows_and_broad_reading_is_the_cli_file(
    media, capsysbinary, tmp_path
):
    at = run("gaps", prefecture="220600", reading="broad")
    at.toggle(key="gaps_all").set_value(True).run()
    page = downloaded(at, media[-1], "geojson")
    assert page == cli_bytes(
        capsysbinary,
        tmp_path,
        "--city",
        "220600",
        "--include-districts",
        "--all",
        "--format",
        "geojson",
    )


def sheets(data: bytes) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {
        ws.title: [tuple(c.value for c in row) for row in ws.iter_rows()] for ws in book.worksheets
    }


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_xlsx_download_equals_the_cli_but_for_the_time(media, capsysbinary, tmp_path, lang):
    at = run("gaps", prefecture="220600", lang=lang)
    page = sheets(downloaded(at, media[-1], "xlsx"))
    cli_file = sheets(
        cli_bytes(capsysbinary, tmp_path, "--city", "白山市", "--format", "xlsx", "--lang", lang)
    )
    assert (
        list(page)
        == list(cli_file)
        == (["缺口清单", "说明"] if lang == "zh" else ["Gaps", "About"])
    )
    gaps_sheet, about_sheet = list(page)
    assert page[gaps_sheet] == cli_file[gaps_sheet]
    generated = "生成时间" if lang == "zh" else "Generated at"
    strip = lambda rows: [r for r in rows if r[0] != generated]  # noqa: E731
    assert strip(page[about_sheet]) == strip(cli_file[about_sheet])
    assert len(strip(page[about_sheet])) == len(page[about_sheet]) - 1


def test_core_gap_list_matches_the_cli_for_a_county(capsysbinary, tmp_path):
    # The same without Streamlit: one county, by its short name on the command line.
    gaps = reports.build_gap_list(default_source(), county="220623")
    data = reports.gap_list_file(gaps, "csv", source=default_source())
    assert data == cli_bytes(capsysbinary, tmp_path, "--county", "长白县")


# --- targets and progress -------------------------------------------------------------------------


def test_progress_in_chinese_shows_262_of_400_massage_institutions():
    at = run("progress")
    assert_ok(at)
    assert [t.value for t in at.title] == ["目标与进度"]
    assert any("演示数据" in w.value for w in at.warning)
    targets = charts(at)[0]["data"][0]
    by_label = dict(zip(targets["y"], targets["text"], strict=False))
    assert by_label["盲人按摩机构"] == "262 / ≥400（66%）"
    assert by_label["残疾人创业孵化基地"] == "55 / ≈80（69%）"
    # The table alternative carries the same numbers.
    table = at.dataframe[0].value.set_index("设施类型")
    assert table.loc["盲人按摩机构", ["现有数", "目标值"]].tolist() == [262, 400]
    assert table.loc["盲人按摩机构", "是否达标"] == "否"


def test_progress_people_targets_have_no_data_yet():
    at = run("progress")
    people = at.table[0].value
    assert "新增城乡残疾人就业" in set(people["人数目标"])
    assert set(people["现有数"]) == {"暂无数据"}
    at = run("progress", lang="en")
    assert_ok(at, "en")
    people = at.table[0].value
    assert "New jobs for disabled people (urban and rural)" in set(people["People targets"])
    assert set(people["Actual"]) == {"no data yet"}
    assert set(people["Unit"]) <= {"people", "person-times"}


def test_progress_per_prefecture_charts_and_tables():
    at = run("progress")
    facilities_chart, per_facility_chart = charts(at)[1:3]
    # One trace per facility type (with its colour and pattern), then the written totals.
    traces = facilities_chart["data"]
    assert len(traces) == 7
    assert len({t["marker"]["pattern"]["shape"] for t in traces[:6]}) == 6
    assert dict(zip(traces[6]["y"], traces[6]["text"], strict=False))["长春市"].strip() == "145"
    ratio = per_facility_chart["data"][0]
    assert ratio["y"][0] == "辽源市"  # most unemployed disabled per facility first
    by_pref = at.dataframe[1].value.set_index("市（州）")
    assert by_pref.loc["长春市", "合计"] == 145
    assert by_pref.loc["白山市", "盲人按摩机构"] == 14
    per = at.dataframe[2].value
    assert per["市（州）"].iloc[0] == "辽源市"


def test_progress_highlights_the_chosen_prefecture_in_english():
    at = run("progress", lang="en")
    at.sidebar.selectbox(key="filter_prefecture").set_value("220600").run()
    assert_ok(at, "en")
    for chart in charts(at)[1:3]:
        assert "▶ 白山市" in chart["data"][0]["y"]
    assert any("▶ marks the chosen prefecture: 白山市" in c.value for c in at.caption)
    targets = charts(at)[0]["data"][0]
    assert (
        dict(zip(targets["y"], targets["text"], strict=False))["Blind massage institution"]
        == "262 / ≥400 (66%)"
    )


# --- county profile --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_profile_of_changbai(lang):
    at = run("profile", county="220623", lang=lang)
    assert_ok(at, lang)
    zh = lang == "zh"
    assert [t.value for t in at.title] == ["一县一表" if zh else "County profile"]
    assert at.header[0].value.startswith("长白朝鲜族自治县")
    facts = metrics(at)
    assert facts["行政区划代码" if zh else "Code"] == "220623"
    assert facts["常住人口（2020）" if zh else "Population (2020)"] == "58,266"
    assert (
        facts["未就业残疾人（演示估算）" if zh else "Unemployed disabled (demo estimate)"] == "150"
    )

    counts, rules, near, neighbours = (t.value for t in at.table)
    aux = "残疾人辅助性就业机构" if zh else "Auxiliary employment institution"
    assert counts[aux].tolist() == [0]
    # The mandatory shortfall, in words and in the table.
    assert any(aux in e.value for e in at.error)
    rule = rules[rules["规则编号" if zh else "Rule"] == "aux-county"].iloc[0]
    assert rule["状态" if zh else "Status"] == ("✘ 未达标" if zh else "✘ shortfall")
    assert rule["约束力" if zh else "Strength"].startswith("约束性" if zh else "Mandatory")
    assert rule["缺口" if zh else "Shortfall"] == 1
    # Its prefecture's rule is listed too.
    assert "inc-prefecture" in set(rules["规则编号" if zh else "Rule"])
    # Its facilities with their distance to the county seat, nearest first.
    distance = near["距县城（公里）" if zh else "To the county seat (km)"].tolist()
    assert distance == [17.4, 45.0]
    assert near["名称" if zh else "Name"].str.startswith("长白朝鲜族自治县").all()
    # Neighbours side by side with the county itself.
    assert list(neighbours.columns) == ["▶ 长白朝鲜族自治县", "临江市", "抚松县"]
    assert any("A4" in m.value for m in at.markdown)


def test_profile_reading_switch_for_a_district():
    at = run("profile", county="220102")  # 南关区, a district
    status = lambda: at.table[1].value.set_index("规则编号").loc["aux-county", "状态"]  # noqa: E731
    assert status() == "— 本解读下不适用"
    at.sidebar.radio(key="filter_reading").set_value("broad").run()
    assert_ok(at)
    assert status() in {"✔ 达标", "✘ 未达标"}


def test_profile_without_a_county_asks_for_one():
    at = run("profile", prefecture="220600")
    assert_ok(at)
    choose = at.selectbox(key="profile_county")
    assert choose.value is None
    assert "220623" in choose.options or any("长白朝鲜族自治县" in o for o in choose.options)
    assert not at.table
    choose.set_value("220623").run()
    assert_ok(at)
    assert at.header[0].value.startswith("长白朝鲜族自治县")


def test_profile_follows_the_sidebar_county():
    at = run("profile")
    at.sidebar.selectbox(key="filter_prefecture").set_value("220600").run()
    at.sidebar.selectbox(key="filter_county").set_value("220621").run()
    assert_ok(at)
    assert at.header[0].value.startswith("抚松县")
    assert at.query_params["county"] in ("220621", ["220621"])


# --- a policy of another region -----------------------------------------------------------------


@pytest.mark.parametrize("page", ["gaps", "progress", "profile"])
def test_a_policy_for_another_region_is_explained_not_crashed(page):
    at = run(page, policy="jiangjin-2022-2024", county="220623")
    assert_ok(at)
    assert any("江津区" in w.value and "吉林省" in w.value for w in at.warning)
    assert not at.dataframe or page == "progress"  # the per-prefecture tables need no policy


@pytest.mark.parametrize(("lang", "words"), [("zh", "暂时无法读取数据"), ("en", "cannot be read")])
def test_a_database_server_that_is_down_gets_its_own_message(monkeypatch, caplog, lang, words):
    """A PostgreSQL store nobody answers on: the page says so in its language, no
    traceback, the server's own words in the log."""
    import streamlit as st

    from geoapp import launcher

    port = launcher.free_port()  # free: nothing listens there
    monkeypatch.setenv("GEOAPP_STORE", f"postgresql://geoapp@127.0.0.1:{port}/geoapp")
    st.cache_resource.clear()
    st.cache_data.clear()
    try:
        at = run("overview", lang=lang)
        assert not at.exception
        (error,) = [e.value for e in at.error]
        assert words in error and CRASH[lang] not in error
        assert f"127.0.0.1:{port}" not in error  # where the server is: the log's business
        assert any("the store failed" in r.getMessage() for r in caplog.records)
    finally:
        st.cache_resource.clear()  # no source of the unreachable server for later tests
        st.cache_data.clear()
