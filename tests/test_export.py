"""Exports for planners, read back from real files: CSV, Excel, GeoJSON, GeoPackage."""

from __future__ import annotations

import json
import random
import re
from datetime import datetime
from io import BytesIO
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box

from geoapp import export
from geoapp.csvtext import starts_with_ascii
from geoapp.i18n import t

BOM = b"\xef\xbb\xbf"
HYPERLINK = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def gaps() -> pd.DataFrame:
    """Three gap rows: a district, an autonomous county, and a prefecture (no county)."""
    return pd.DataFrame(
        {
            "adcode": ["220623", "220400", "220104"],
            "city": ["白山市", "辽源市", "长春市"],
            "county": ["长白朝鲜族自治县", "", "朝阳区"],
            "unit_kind": ["autonomous_county", "", "district"],
            "facility_type": ["auxiliary_institution", "incubation_base", "incubation_base"],
            "rule_id": ["jl2025-aux-county", "jl2025-inc-pref", "jl2025-inc-county"],
            "level": ["county", "prefecture", "county"],
            "strength": ["mandatory", "mandatory", "aspirational"],
            "comparison": ["at_least", "at_least", "at_least"],
            "required": [1, 1, 1],
            "actual": [0, 0, 0],
            "shortfall": [1, 1, 1],
            "met": [False, False, False],
            "unemployed_disabled": [1520, 4310, 812],
            "rank": [1, 2, 3],
            "clause": ["二(二)4", "二(二)3", "二(二)3"],
        }
    )


@pytest.fixture
def hostile() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "adcode": ["220104", "220105", "220106", "220112"],
            "note": [HYPERLINK, "+1", "-cmd", "@SUM(A1)"],
            "other": ["\tx", "\rx", "a-b=c", "朝阳区"],
            "number": [-5, 3, 0, -1],
        }
    )


@pytest.fixture
def meta() -> dict[str, str]:
    return export.gap_meta(
        "zh",
        policy_key="jilin_2025_2027",
        policy_title="吉林省促进残疾人就业三年行动实施方案（2025—2027年）",
        policy_doc_no="吉政办发〔2025〕16号",
        reading="字面解读：“各县（市）”不含市辖区",
        as_of="2025-06-30",
        demo=True,
        sources=["facilities_demo.csv", "unemployed_demo.csv"],
        row_count=3,
        generated_at=datetime(2025, 7, 1, 9, 30),
    )


def xlsx_options(lang: str, meta: dict[str, str]) -> dict:
    return {
        "headers": export.gap_headers(lang),
        "meta": meta,
        "sheet_name": t("sheet.gaps", lang),
        "meta_sheet_name": t("sheet.about", lang),
    }


@pytest.fixture
def gap_layer(gaps) -> gpd.GeoDataFrame:
    squares = [
        box(127.9, 41.3, 128.3, 41.7),
        box(125.0, 42.8, 125.6, 43.2),
        box(125.23456789, 43.81234567, 125.31234567, 43.90987654),
    ]
    return gpd.GeoDataFrame(gaps, geometry=squares, crs=4326)


# --- labels -----------------------------------------------------------------------------


def test_gap_headers_in_chinese_and_english():
    assert list(export.gap_headers("zh").values()) == [
        "行政区划代码",
        "市（州）",
        "县（市、区）",
        "类别",
        "设施类型",
        "规则编号",
        "层级",
        "约束力",
        "比较方式",
        "要求数",
        "现有数",
        "缺口",
        "是否达标",
        "未就业残疾人数",
        "优先序",
        "政策条款",
        "市（州）代码",
        "政策",
        "解读口径",
    ]
    english = export.gap_headers("en")
    assert english["shortfall"] == "Shortfall"
    assert english["adcode"] == "Code"
    assert list(english) == list(export.GAP_COLUMNS)


def test_gap_value_labels_cover_every_coded_value_of_the_fixture(gaps):
    for lang in ("zh", "en"):
        labels = export.gap_value_labels(lang)
        for column in ("facility_type", "level", "strength", "comparison"):
            assert set(gaps[column]) <= set(labels[column]), (lang, column)
    zh = export.gap_value_labels("zh")
    assert zh["strength"]["mandatory"] == "约束性（应/至少）"
    assert zh["unit_kind"]["autonomous_county"] == "自治县"
    assert zh["met"] == {True: "是", False: "否"}


def test_value_labels_match_the_policy_vocabulary():
    policy = pytest.importorskip("geoapp.policy")
    for lang in ("zh", "en"):
        labels = export.gap_value_labels(lang)
        assert set(labels["level"]) == set(policy.LEVELS)
        assert set(labels["comparison"]) == set(policy.COMPARISONS)
        assert set(labels["strength"]) == set(policy.STRENGTHS)


def test_gap_meta_stamps_shanghai_time_and_demo_status(meta):
    assert meta["生成时间"] == "2025-07-01 09:30:00+08:00"
    assert meta["数据性质"] == "演示数据，非真实登记"
    assert meta["行数"] == "3"
    now = export.gap_meta(
        "en",
        policy_key="k",
        policy_title="T",
        policy_doc_no="N",
        reading="R",
        as_of="2025-06-30",
        demo=False,
        sources=[],
        row_count=0,
    )
    assert now["Generated at"].endswith("+08:00")
    assert now["Data status"] == "Registered data"


# --- neutralising -----------------------------------------------------------------------


@pytest.mark.parametrize("text", [HYPERLINK, "+1", "-cmd", "@SUM(A1)", "\tx", "\rx"])
def test_neutralise_prefixes_formula_triggers(text):
    out = export.neutralise(pd.DataFrame({"a": [text]}))
    assert out.loc[0, "a"] == "'" + text


def test_neutralise_keeps_numbers_safe_text_and_input(hostile):
    before = hostile.copy()
    out = export.neutralise(hostile)
    assert out["number"].tolist() == [-5, 3, 0, -1]
    assert out["number"].dtype == hostile["number"].dtype
    assert out["other"].tolist()[2:] == ["a-b=c", "朝阳区"]
    pd.testing.assert_frame_equal(hostile, before)


def test_neutralise_string_and_categorical_columns_and_missing_values():
    frame = pd.DataFrame(
        {
            "s": pd.array(["=1", None], dtype="string"),
            "c": pd.Categorical(["-x", "y"]),
            "o": pd.Series(["+z", None], dtype=object),
        }
    )
    out = export.neutralise(frame)
    assert out.loc[0, "s"] == "'=1"
    assert pd.isna(out.loc[1, "s"])
    assert list(out["c"]) == ["'-x", "y"]
    assert out.loc[0, "o"] == "'+z"
    assert out.loc[1, "o"] is None


def test_formula_mask_of_arrow_text_reads_first_bytes_as_startswith_does():
    """The Arrow text path reads each string's first byte off the buffers; it must agree
    with ``str.startswith`` on random texts, sliced frames, missing values and several
    chunks (a column built by concatenation)."""
    rng = random.Random(7)
    alphabet = ["=", "+", "-", "@", "\t", "\r", "\n", "a", "长", " ", "'", "é", "\u3000", "😀"]
    triggers = tuple(export.FORMULA_TRIGGERS)
    for _ in range(300):
        texts = [
            None if rng.random() < 0.1 else "".join(rng.choices(alphabet, k=rng.randint(0, 4)))
            for _ in range(rng.randint(0, 40))
        ]
        series = pd.Series(texts, dtype="str")
        if rng.random() < 0.3:
            series = pd.concat([series, series.iloc[::-1]], ignore_index=True)  # chunks
        if rng.random() < 0.5 and len(series) > 3:
            series = series.iloc[rng.randint(1, 3) :]  # an offset into the buffers
        want = [isinstance(t, str) and t.startswith(triggers) for t in series.tolist()]
        assert starts_with_ascii(series, triggers).tolist() == want


# --- CSV --------------------------------------------------------------------------------


def test_csv_has_bom_and_round_trips_chinese(tmp_path, gaps):
    path = tmp_path / "gaps.csv"
    export.to_csv(gaps, path, headers=export.gap_headers("zh"))
    assert path.read_bytes().startswith(BOM)
    back = pd.read_csv(
        path, encoding="utf-8-sig", dtype={"行政区划代码": str}, keep_default_na=False
    )
    assert list(back.columns) == [export.gap_headers("zh")[c] for c in gaps.columns]
    assert back["县（市、区）"].tolist() == ["长白朝鲜族自治县", "", "朝阳区"]
    assert back["行政区划代码"].tolist() == ["220623", "220400", "220104"]
    assert back["未就业残疾人数"].tolist() == [1520, 4310, 812]


def test_csv_without_headers_keeps_column_names_and_labels_values(gaps):
    data = export.to_bytes("csv", gaps, value_labels=export.gap_value_labels("zh"))
    back = pd.read_csv(BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(back.columns) == list(gaps.columns)
    mandatory, aspirational = "约束性（应/至少）", "倡导性（力争/积极/普遍）"
    assert back["strength"].tolist() == [mandatory, mandatory, aspirational]
    assert back["met"].tolist() == ["否", "否", "否"]
    assert back["unit_kind"].tolist() == ["自治县", "", "市辖区"]


def test_csv_neutralises_injection_but_not_numbers(tmp_path, hostile):
    path = tmp_path / "hostile.csv"
    export.to_csv(hostile, path)
    back = pd.read_csv(path, encoding="utf-8-sig", dtype={"adcode": str})
    assert back["note"].tolist() == ["'" + HYPERLINK, "'+1", "'-cmd", "'@SUM(A1)"]
    assert back["other"].tolist() == ["'\tx", "'\rx", "a-b=c", "朝阳区"]
    assert b'"\'\rx"' in path.read_bytes()  # the bare CR is quoted, not a row break
    assert back["number"].tolist() == [-5, 3, 0, -1]
    assert hostile.loc[0, "note"] == HYPERLINK  # the caller's frame is untouched


def test_duplicate_header_labels_are_refused(gaps):
    with pytest.raises(ValueError, match="市（州）"):
        export.to_bytes(
            "csv",
            gaps.assign(prefecture=gaps["city"]),
            headers={"city": "市（州）", "prefecture": "市（州）"},
        )


# --- Excel ------------------------------------------------------------------------------


@pytest.fixture
def workbook(tmp_path, gaps, meta) -> openpyxl.Workbook:
    path = tmp_path / "gaps.xlsx"
    export.to_xlsx(
        gaps, path, **xlsx_options("zh", meta), value_labels=export.gap_value_labels("zh")
    )
    return openpyxl.load_workbook(path)


def test_xlsx_sheets_header_freeze_and_filter(workbook):
    assert workbook.sheetnames == ["缺口清单", "说明"]
    ws = workbook["缺口清单"]
    assert [c.value for c in ws[1]] == [
        export.gap_headers("zh")[c] for c in export.GAP_COLUMNS[:16]
    ]
    assert all(c.font.bold for c in ws[1])
    assert ws["A1"].fill.fgColor.rgb.endswith("DDEBF7")
    assert ws.freeze_panes == "A2"
    assert ws.max_row == 4
    assert ws.max_column == 16
    assert ws.auto_filter.ref == "A1:P4"


def test_xlsx_keeps_adcode_text_and_integers_int(workbook):
    ws = workbook["缺口清单"]
    header = [c.value for c in ws[1]]
    column = {
        name: [row[i] for row in ws.iter_rows(min_row=2, values_only=True)]
        for i, name in enumerate(header)
    }
    assert column["行政区划代码"] == ["220623", "220400", "220104"]
    assert all(
        cell.data_type == "s" and cell.number_format == "@"
        for (cell,) in ws.iter_rows(min_row=2, max_col=1)
    )
    for name in ("要求数", "现有数", "缺口", "未就业残疾人数", "优先序"):
        assert all(type(v) is int for v in column[name]), name
    assert column["未就业残疾人数"] == [1520, 4310, 812]
    assert column["县（市、区）"] == ["长白朝鲜族自治县", None, "朝阳区"]
    assert column["约束力"][0] == "约束性（应/至少）"
    assert column["是否达标"] == ["否", "否", "否"]
    assert column["设施类型"][0] == "残疾人辅助性就业机构"


def test_xlsx_numeric_adcode_and_whole_floats(tmp_path, gaps, meta):
    frame = gaps.assign(adcode=gaps["adcode"].astype(int), actual=[0.0, None, 2.0])
    path = tmp_path / "numeric.xlsx"
    export.to_xlsx(frame, path, **xlsx_options("zh", meta))
    ws = openpyxl.load_workbook(path).active
    assert [ws.cell(r, 1).value for r in (2, 3, 4)] == ["220623", "220400", "220104"]
    assert [ws.cell(r, 11).value for r in (2, 3, 4)] == [0, None, 2]
    assert type(ws.cell(4, 11).value) is int


def test_xlsx_widths_bounded_and_wider_for_longer_cjk(tmp_path, meta):
    frame = pd.DataFrame(
        {
            "a": ["x"],
            "ascii8": ["abcdefgh"],
            "cjk8": ["长白朝鲜族自治县"],
            "huge": ["很长的说明" * 40],
        }
    )
    path = tmp_path / "widths.xlsx"
    export.to_xlsx(frame, path, headers=None, meta=meta, sheet_name="t", meta_sheet_name="m")
    ws = openpyxl.load_workbook(path)["t"]
    width = {
        ws.cell(1, i).value: ws.column_dimensions[ws.cell(1, i).column_letter].width
        for i in range(1, 5)
    }
    assert width["a"] == export.MIN_WIDTH
    assert width["huge"] == export.MAX_WIDTH
    assert width["cjk8"] > width["ascii8"]
    assert width["cjk8"] == 18  # 8 characters of width 2, plus 2
    assert all(export.MIN_WIDTH <= w <= export.MAX_WIDTH for w in width.values())


def test_xlsx_about_sheet_states_policy_reading_date_and_demo(workbook, meta):
    about = workbook["说明"]
    rows = dict(about.iter_rows(values_only=True))
    assert list(rows) == list(meta)
    assert rows["政策"] == "吉林省促进残疾人就业三年行动实施方案（2025—2027年）"
    assert rows["文号"] == "吉政办发〔2025〕16号"
    assert rows["解读口径"] == "字面解读：“各县（市）”不含市辖区"
    assert rows["数据日期"] == "2025-06-30"
    assert rows["数据性质"] == "演示数据，非真实登记"
    assert rows["数据来源文件"] == "facilities_demo.csv; unemployed_demo.csv"
    assert rows["行数"] == "3"
    assert "约束性缺口在前" in rows["排序方式"]


def test_xlsx_in_english(gaps):
    meta = export.gap_meta(
        "en",
        policy_key="k",
        policy_title="Jilin 2025-2027",
        policy_doc_no="N",
        reading="literal",
        as_of="2025-06-30",
        demo=True,
        sources=["a.csv"],
        row_count=3,
    )
    data = export.to_bytes(
        "xlsx", gaps, **xlsx_options("en", meta), value_labels=export.gap_value_labels("en")
    )
    wb = openpyxl.load_workbook(BytesIO(data))
    assert wb.sheetnames == ["Gaps", "About"]
    assert wb["Gaps"]["A1"].value == "Code"
    assert wb["Gaps"]["H2"].value == "Mandatory (应/至少)"
    assert dict(wb["About"].iter_rows(values_only=True))["Data status"] == (
        "Demo data, not real registers"
    )


def test_xlsx_neutralises_injection_but_not_numbers(tmp_path, hostile, meta):
    path = tmp_path / "hostile.xlsx"
    export.to_xlsx(hostile, path, headers=None, meta=meta, sheet_name="t", meta_sheet_name="m")
    ws = openpyxl.load_workbook(path)["t"]
    notes = [ws.cell(r, 2) for r in range(2, 6)]
    assert [c.value for c in notes] == ["'" + HYPERLINK, "'+1", "'-cmd", "'@SUM(A1)"]
    assert all(c.data_type == "s" for c in notes)  # text, not a formula
    # XML reads a raw carriage return back as a line feed; the quote is what matters
    others = [ws.cell(r, 3).value for r in range(2, 6)]
    assert others == ["'\tx", "'\nx", "a-b=c", "朝阳区"]
    assert [ws.cell(r, 4).value for r in range(2, 6)] == [-5, 3, 0, -1]


def test_xlsx_refuses_bad_sheet_names(gaps, meta):
    with pytest.raises(ValueError, match="31"):
        export.to_bytes(
            "xlsx", gaps, headers=None, meta=meta, sheet_name="a/b", meta_sheet_name="m"
        )
    with pytest.raises(ValueError, match="differ"):
        export.to_bytes("xlsx", gaps, headers=None, meta=meta, sheet_name="m", meta_sheet_name="m")


# --- geographic layers ------------------------------------------------------------------


def test_geojson_is_rfc7946_and_keeps_attributes(tmp_path, gap_layer):
    path = tmp_path / "gaps.geojson"
    export.to_geojson(gap_layer.to_crs(3857), path)  # reprojected back to 4326
    raw = path.read_bytes()
    doc = json.loads(raw.decode("utf-8"))
    assert "crs" not in doc
    assert "朝阳区".encode() in raw  # UTF-8, not \u escapes
    decimals = re.findall(rb"-?\d+\.(\d+)", raw.split(b'"features"', 1)[1])
    assert decimals
    assert max(len(d) for d in decimals) <= 6
    back = gpd.read_file(path)
    assert back.crs.to_epsg() == 4326
    attributes = back.drop(columns="geometry")
    pd.testing.assert_frame_equal(attributes, gap_layer.drop(columns="geometry"), check_dtype=False)
    assert back.geometry.iloc[2].bounds == pytest.approx(
        (125.234568, 43.812346, 125.312346, 43.909877), abs=1e-6
    )


def test_geojson_does_not_neutralise(gap_layer):
    layer = gap_layer.assign(clause=["=A1", "-x", "+1"])
    back = gpd.read_file(BytesIO(export.to_bytes("geojson", layer)))
    assert back["clause"].tolist() == ["=A1", "-x", "+1"]


def test_gpkg_to_bytesio_is_readable(tmp_path, gap_layer):
    buffer = BytesIO()
    export.to_gpkg(gap_layer, buffer, layer="gaps")
    path = tmp_path / "download.gpkg"
    path.write_bytes(buffer.getvalue())
    assert [name for name, _ in pyogrio.list_layers(path)] == ["gaps"]
    back = gpd.read_file(path, layer="gaps")
    assert back.crs.to_epsg() == 4326
    assert back["county"].tolist() == ["长白朝鲜族自治县", "", "朝阳区"]
    assert back["adcode"].tolist() == ["220623", "220400", "220104"]
    assert back["unemployed_disabled"].tolist() == [1520, 4310, 812]


def test_layers_need_a_crs(gap_layer):
    with pytest.raises(ValueError, match="no CRS"):
        export.to_bytes("geojson", gap_layer.set_crs(None, allow_override=True))


# --- bytes and atomic writes ------------------------------------------------------------


@pytest.mark.parametrize("fmt", export.FORMATS)
def test_to_bytes_matches_the_file_writer(tmp_path, fmt, gaps, gap_layer, meta):
    options = {
        "csv": {},
        "xlsx": xlsx_options("zh", meta),
        "geojson": {},
        "gpkg": {"layer": "gaps"},
    }[fmt]
    frame = gap_layer if fmt in ("geojson", "gpkg") else gaps
    data = export.to_bytes(fmt, frame, **options)
    path = tmp_path / f"out.{fmt}"
    path.write_bytes(data)
    if fmt == "csv":
        back = pd.read_csv(path, encoding="utf-8-sig", dtype={"adcode": str})
    elif fmt == "xlsx":
        back = pd.read_excel(
            path, sheet_name="缺口清单", dtype={"行政区划代码": str}, engine="openpyxl"
        )
        back = back.rename(columns={v: k for k, v in export.gap_headers("zh").items()})
    else:
        back = gpd.read_file(path)
    assert back["adcode"].tolist() == ["220623", "220400", "220104"]
    assert fmt in export.MEDIA_TYPES


def test_to_bytes_rejects_unknown_format(gaps):
    with pytest.raises(ValueError, match=r"'pdf'.*csv"):
        export.to_bytes("pdf", gaps)


def test_path_parent_must_exist(tmp_path, gaps):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        export.to_csv(gaps, tmp_path / "missing" / "gaps.csv")


def _fail_after_writing_some():
    def broken(*args, **kwargs):
        target = args[1] if len(args) > 1 else kwargs.get("path") or kwargs.get("filename")
        if hasattr(target, "write"):
            target.write(b"PK\x03\x04 half a file")
        else:
            Path(target).write_bytes(b"half a file")
        raise OSError("disk full")

    return broken


@pytest.mark.parametrize(
    ("fmt", "target", "name"),
    [
        ("csv", pd.DataFrame, "to_csv"),
        ("xlsx", openpyxl.Workbook, "save"),
        ("gpkg", pyogrio, "write_dataframe"),
    ],
)
def test_failed_write_keeps_previous_file_and_leaves_no_temp(
    tmp_path, monkeypatch, fmt, target, name, gaps, gap_layer, meta
):
    options = {"csv": {}, "xlsx": xlsx_options("zh", meta), "gpkg": {"layer": "gaps"}}[fmt]
    frame = gap_layer if fmt == "gpkg" else gaps
    writer = export.WRITERS[fmt]
    path = tmp_path / f"gaps.{fmt}"
    writer(frame, path, **options)
    before = path.read_bytes()

    monkeypatch.setattr(target, name, _fail_after_writing_some())
    with pytest.raises(OSError, match="disk full"):
        writer(frame.iloc[:1], path, **options)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]

    fresh = tmp_path / f"new.{fmt}"
    with pytest.raises(OSError, match="disk full"):
        writer(frame, fresh, **options)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
