"""The siting page through AppTest (Chinese and English) and ``--demand`` of the CLI.

Expected values from the embedded demo data: 白山市 (220600) has 6 county-level units;
its one mandatory gap is 长白朝鲜族自治县 (220623) without an auxiliary institution.
With a prefecture filter the suggestion runs on that prefecture (pages/siting.py), so
the first site of k = 2 at 30 km closes 长白's gap.
"""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from geoapp import cli, i18n, ingest
from geoapp.datasource import EmbeddedSource
from geoapp.paths import ROOT

ENTRY = str(ROOT / "streamlit_app.py")
CRASH = {"zh": "页面出错", "en": "Something went wrong"}
LABELS = {
    "zh": {
        "title": "选址建议",
        "county": "县（市、区）",
        "order": "顺序",
        "gap": "补齐的缺口",
        "error": "无法计算选址",
    },
    "en": {
        "title": "Where should the next facilities go?",
        "county": "County",
        "order": "Order",
        "gap": "Closes gap",
        "error": "Cannot suggest sites",
    },
}


def run(**params: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=180)
    for key, value in params.items():
        at.query_params[key] = value
    at.switch_page("pages/siting.py")
    return at.run()


def assert_ok(at: AppTest, lang: str) -> None:
    assert not at.exception, at.exception
    assert not any(CRASH[lang] in e.value for e in at.error)


def frames(at: AppTest) -> list[pd.DataFrame]:
    return [d.value for d in at.dataframe]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_siting_page_baishan_access_and_suggested_sites(lang):
    labels = LABELS[lang]
    at = run(lang=lang) if lang == "en" else run()
    assert_ok(at, lang)
    assert [t.value for t in at.title] == [labels["title"]]
    at.sidebar.selectbox(key="filter_prefecture").set_value("220600").run()
    assert_ok(at, lang)
    access_table = frames(at)[-1]
    assert len(access_table) == 6
    assert "长白朝鲜族自治县" in set(access_table[labels["county"]])

    at.selectbox(key="siting_type").set_value("auxiliary_institution")
    at.number_input(key="siting_k").set_value(2)
    at.number_input(key="siting_radius").set_value(30.0)
    at.button(key="siting_run").click().run()
    assert_ok(at, lang)
    sites = frames(at)[0]
    assert sites[labels["order"]].tolist() == [1, 2]
    first = sites.iloc[0]
    assert first[labels["county"]] == "长白朝鲜族自治县"
    assert "220623" in first[labels["gap"]]
    assert [m.value for m in at.metric][-1] == "1 / 1"
    assert len(at.get("plotly_chart")) == 1
    assert len(at.get("download_button")) == 3


def test_siting_page_too_small_radius_is_an_error_message():
    at = run(lang="en")
    at.sidebar.selectbox(key="filter_prefecture").set_value("220600").run()
    at.selectbox(key="siting_candidates").set_value("seats")
    at.number_input(key="siting_radius").set_value(0.1)
    at.button(key="siting_run").click().run()
    assert_ok(at, "en")
    assert any("Cannot suggest sites" in e.value and "too small" in e.value for e in at.error)


def test_siting_page_runs_on_the_whole_region_without_filter():
    at = run(lang="en")
    at.number_input(key="siting_k").set_value(2)
    at.button(key="siting_run").click().run()
    assert_ok(at, "en")
    sites = frames(at)[0]
    assert set(sites[i18n.t("col.adcode", "en")]) == {
        "220822",
        "220623",
    }  # 通榆县, 长白县: both gaps closed


# --- --demand PATH ------------------------------------------------------------------------


def _demand_xlsx(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["白山市乡镇需求点"])
    ws.append(["地名", "未就业残疾人数", "经度", "纬度", "坐标系"])
    ws.append(["长白镇", 120, 128.2005, 41.4203, "WGS84"])  # row 3: 长白县
    ws.append(["马鹿沟镇", 80, 128.0480, 41.5410, None])  # row 4
    ws.append(["浑江某村", 60, 126.4200, 41.9400, None])  # row 5: 浑江区
    ws.append(["坏坐标", 10, "abc", 41.9, None])  # row 6: rejected
    ws.append(["区外", 10, 116.4, 39.9, None])  # row 7: Beijing, rejected
    ws.append(["无人数", None, 126.5, 41.9, None])  # row 8: rejected
    ws.append(["合计", 280, None, None, None])  # row 9: skipped
    wb.save(path)
    return path


def test_read_demand_xlsx_rows_report_and_points(tmp_path):
    counties = EmbeddedSource().counties()
    imp = ingest.read_demand(_demand_xlsx(tmp_path / "d.xlsx"), counties=counties)
    assert imp.header_row == 2
    assert (imp.accepted, imp.rejected, imp.skipped) == (3, 3, 1)
    report = imp.report.set_index("row")
    assert report.loc[6, "status"] == "rejected" and "无法读作" in report.loc[6, "reasons"]
    assert "坐标在本区域外" in report.loc[7, "reasons"]
    assert report.loc[8, "codes"] == "no_count"
    assert report.loc[9, "status"] == "skipped"
    demand = imp.demand
    assert demand.crs.to_epsg() == 4326
    assert demand["adcode"].tolist()[:2] == ["220623", "220623"]
    assert demand["demand"].sum() == 260


def test_cli_access_and_site_with_demand_file(tmp_path, capsysbinary):
    path = _demand_xlsx(tmp_path / "towns.xlsx")
    assert (
        cli.main(
            ["access", "--type", "auxiliary_institution", "--city", "白山市", "--demand", str(path)]
        )
        == 0
    )
    out = capsysbinary.readouterr()
    table = pd.read_csv(io.BytesIO(out.out), encoding="utf-8-sig", dtype={"adcode": str})
    changbai = table.set_index("adcode").loc["220623"]
    assert changbai["people"] == 200
    err = out.err.decode()
    assert "第 6 行：拒绝" in err and "导入" in err

    assert (
        cli.main(
            [
                "site",
                "--type",
                "auxiliary_institution",
                "--k",
                "2",
                "--radius-km",
                "30",
                "--candidates",
                "seats",
                "--demand",
                str(path),
                "--lang",
                "en",
            ]
        )
        == 0
    )
    out = capsysbinary.readouterr()
    sites = pd.read_csv(
        io.BytesIO(out.out), encoding="utf-8-sig", dtype={"adcode": str}, keep_default_na=False
    )
    optimal = sites[sites["method"] == "optimal"]
    assert "220623" in set(optimal.loc[optimal["step"] == "gap", "adcode"])
    assert "imported points" in out.err.decode()


def test_cli_demand_unusable_file_exits_2(tmp_path, capsysbinary):
    bad = tmp_path / "bad.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["随便", "什么"])
    wb.active.append(["a", "b"])
    wb.save(bad)
    assert (
        cli.main(
            [
                "site",
                "--type",
                "auxiliary_institution",
                "--k",
                "1",
                "--radius-km",
                "30",
                "--demand",
                str(bad),
            ]
        )
        == 2
    )
    assert "找不到需求点表的表头" in capsysbinary.readouterr().err.decode()
    assert cli.main(["access", "--demand", str(tmp_path / "missing.csv")]) == 2
    csv = tmp_path / "all_bad.csv"
    csv.write_text("name,demand,lon,lat\nx,5,116.4,39.9\n", encoding="utf-8")
    assert cli.main(["access", "--demand", str(csv)]) == 2
    assert "no usable demand point" in capsysbinary.readouterr().err.decode()
