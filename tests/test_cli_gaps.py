"""``geoapp gaps`` and ``geoapp progress``: the command-line contract."""

from __future__ import annotations

import io

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

from geoapp import cli

CONTRACT = [
    "adcode",
    "city",
    "county",
    "unit_kind",
    "facility_type",
    "rule_id",
    "strength",
    "required",
    "actual",
    "shortfall",
    "unemployed_disabled",
    "rank",
]


def run_csv(capsysbinary, *args: str) -> pd.DataFrame:
    assert cli.main(["gaps", *args]) == 0
    out = capsysbinary.readouterr().out
    assert out.startswith(b"\xef\xbb\xbf")
    return pd.read_csv(
        io.BytesIO(out), encoding="utf-8-sig", dtype={"adcode": str}, keep_default_na=False
    )


def test_default_gap_list_has_the_contract_columns_and_demo_gaps(capsysbinary):
    gaps = run_csv(capsysbinary)
    assert set(CONTRACT) <= set(gaps.columns)
    assert (gaps["shortfall"] > 0).all()
    top = gaps.head(3)
    assert top["adcode"].tolist() == ["220400", "220822", "220623"]  # 辽源市, 通榆县, 长白县
    assert top["strength"].tolist() == ["mandatory"] * 3
    assert top.loc[0, "county"] == "" and top.loc[0, "unit_kind"] == "prefecture"
    assert top["rank"].tolist() == [1, 2, 3]
    assert set(gaps["reading"]) == {"literal"}
    assert "district" not in set(gaps.loc[gaps["rule_id"] == "aux-county", "unit_kind"])


def test_include_districts_switches_the_reading(capsysbinary):
    gaps = run_csv(capsysbinary, "--include-districts")
    assert set(gaps["reading"]) == {"broad"}
    assert "district" in set(gaps.loc[gaps["rule_id"] == "aux-county", "unit_kind"])


def test_all_and_city_filter(capsysbinary):
    rows = run_csv(capsysbinary, "--all", "--city", "辽源")
    assert set(rows["city"]) == {"辽源市"}
    assert (rows["shortfall"] == 0).any()  # --all keeps met rules too
    assert set(rows.loc[rows["county"] != "", "county"]) <= {"龙山区", "西安区", "东丰县", "东辽县"}


def test_county_filter_by_short_name(capsysbinary):
    rows = run_csv(capsysbinary, "--county", "长白县")
    assert set(rows["adcode"]) == {"220623"}
    assert "auxiliary_institution" in set(rows["facility_type"])


def test_xlsx_output_is_a_real_workbook(tmp_path):
    out = tmp_path / "gaps.xlsx"
    assert cli.main(["gaps", "--format", "xlsx", "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["缺口清单", "说明"]
    ws = wb["缺口清单"]
    assert ws.freeze_panes == "A2"
    assert ws["A1"].value == "行政区划代码" and ws["A2"].value == "220400"
    about = {r[0].value: r[1].value for r in wb["说明"].iter_rows()}
    assert any("字面解读" in str(v) for v in about.values())
    assert any("演示数据" in str(v) for v in about.values())


def test_geojson_output_has_polygons(tmp_path):
    out = tmp_path / "gaps.geojson"
    assert cli.main(["gaps", "--format", "geojson", "--out", str(out)]) == 0
    frame = gpd.read_file(out)
    assert frame.crs.to_epsg() == 4326
    assert frame.geometry.notna().all()
    assert "220623" in set(frame["adcode"].astype(str))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--policy", "no-such-policy"], "available policies"),
        (["--facilities", "/nonexistent/register.xlsx"], "register.xlsx"),
        (["--county", "不存在县"], "不存在县"),
        (["--city", "北京"], "北京"),
    ],
)
def test_unusable_input_is_exit_2_with_a_message(capsys, args, message):
    assert cli.main(["gaps", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("geoapp: error:")
    assert message in err


def test_progress_text_shows_actual_against_target(capsys):
    assert cli.main(["progress"]) == 0
    out = capsys.readouterr().out
    assert "盲人按摩机构: 262 / ≥400 (66%)" in out
    assert "暂无数据" in out  # people targets have no data yet
    assert "演示数据" in out


def test_progress_csv(capsysbinary):
    assert cli.main(["progress", "--format", "csv"]) == 0
    table = pd.read_csv(io.BytesIO(capsysbinary.readouterr().out), encoding="utf-8-sig")
    massage = table.set_index("rule_id").filter(like="massage", axis=0).iloc[0]
    assert (massage["actual"], massage["target"]) == (262, 400)


# --- with a real register ---------------------------------------------------------------


@pytest.fixture
def register(tmp_path):
    """A small XLSX register: two good rows, one outside Jilin, one unknown type."""
    path = tmp_path / "登记表.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2025年第三季度残疾人就业服务机构登记表"])
    ws.append(["名称", "类型", "市州", "县区", "经度", "纬度"])
    ws.append(["通榆县阳光家园", "辅助性就业机构", "白城市", "通榆县", 123.088, 44.813])
    ws.append(["长白县残疾人之家", "残疾人辅助性就业机构", "白山市", "长白县", 128.200, 41.420])
    ws.append(["北京某机构", "盲人按摩", "北京市", "朝阳区", 116.48, 39.95])
    ws.append(["某基地", "不知道", "长春市", "朝阳区", 125.30, 43.86])
    wb.save(path)
    return path


def test_register_with_bad_rows_still_gives_the_gap_list(tmp_path, register, capsys):
    out = tmp_path / "gaps.csv"
    assert cli.main(["gaps", "--facilities", str(register), "--out", str(out), "--all"]) == 0
    gaps = pd.read_csv(out, encoding="utf-8-sig", dtype={"adcode": str}, keep_default_na=False)
    aux = gaps[(gaps["rule_id"] == "aux-county")].set_index("adcode")
    # The register's two institutions close the demo's two mandatory gaps...
    assert aux.loc["220822", "actual"] == 1 and aux.loc["220623", "actual"] == 1
    # ...and every other county now has none (the register replaces the embedded data).
    assert aux.loc["220183", "actual"] == 0
    report = pd.read_csv(tmp_path / "gaps.facilities-import-report.csv", encoding="utf-8-sig")
    assert list(report.columns[:4]) == ["Excel 行号", "状态", "原因", "详细说明"]
    rejected = report[report["状态"] == "拒绝"].set_index("Excel 行号")
    assert sorted(rejected.index) == [5, 6]  # Excel rows: the Beijing one and the unknown type
    assert rejected.loc[6, "原因"] == "类型无法识别"
    assert rejected.loc[6, "详细说明"].startswith("无法识别的设施类型“不知道”")
    err = capsys.readouterr().err
    assert "拒绝 2" in err and "rejected" not in err


def test_the_import_report_follows_lang(tmp_path, register, capsys):
    out = tmp_path / "gaps.csv"
    assert cli.main(["gaps", "--facilities", str(register), "--out", str(out), "--lang", "en"]) == 0
    report = pd.read_csv(tmp_path / "gaps.facilities-import-report.csv", encoding="utf-8-sig")
    assert list(report.columns[:4]) == ["Excel row", "Status", "Reason", "Details"]
    rejected = report[report["Status"] == "rejected"].set_index("Excel row")
    assert rejected.loc[6, "Details"].startswith("unknown facility type '不知道'")
    err = capsys.readouterr().err
    assert "2 rejected" in err and "拒绝" not in err


def test_strict_turns_a_rejected_row_into_exit_2(tmp_path, register, capsys):
    assert (
        cli.main(
            ["gaps", "--facilities", str(register), "--strict", "--out", str(tmp_path / "g.csv")]
        )
        == 2
    )
    assert "2 row(s) rejected" in capsys.readouterr().err


def test_register_without_a_header_is_exit_2(tmp_path, capsys):
    path = tmp_path / "nothing.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    assert cli.main(["gaps", "--facilities", str(path)]) == 2
    assert "nothing.csv" in capsys.readouterr().err
