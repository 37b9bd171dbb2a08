"""Tests for geoapp.ingest: facility registers and unemployed-disabled count tables.

Every test reads a real file written to disk (CSV in UTF-8 with BOM or GBK, XLSX with
title rows and merged header cells) and checks, row by row, the status, the reason and
the Excel row number a data steward would look up. Positions are built from the real
Jilin county polygons, so each expected county can be checked on the map.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyproj
import pytest

from geoapp import coords
from geoapp.admin import AdminRegistry
from geoapp.datasource import FACILITY_COLUMNS, default_source
from geoapp.ingest import (
    CountImport,
    FacilityImport,
    RegisterError,
    parse_coordinate,
    parse_datum,
    read_facilities,
    read_unemployed,
)

GEOD = pyproj.Geod(ellps="WGS84")
HEADER_ZH = ["名称", "类型", "市（州）", "县（市、区）", "地址", "经度", "纬度", "坐标系"]
FIELDS = ["name", "type", "city", "county", "address", "lon", "lat", "datum"]


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def counties():
    return default_source().counties()


@pytest.fixture(scope="module")
def registry(counties) -> AdminRegistry:
    return AdminRegistry.default(counties=counties)


def inside(counties, adcode: str) -> tuple[float, float]:
    """A WGS84 point well inside a county (its representative point)."""
    geom = counties.loc[counties["adcode"] == adcode, "geometry"].iloc[0]
    p = geom.representative_point()
    return round(p.x, 6), round(p.y, 6)


def moved(point: tuple[float, float], azimuth: float, metres: float) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(point[0], point[1], azimuth, metres)
    return float(lon), float(lat)


def dms(value: float, *, chinese: bool = False) -> tuple[str, float]:
    """Degrees-minutes-seconds text of a value, and the exact value that text means."""
    deg = int(value)
    minutes_full = (value - deg) * 60
    minutes = int(minutes_full)
    seconds = round((minutes_full - minutes) * 60, 2)
    text = f"{deg}度{minutes}分{seconds}秒" if chinese else f"{deg}°{minutes}'{seconds}\""
    return text, deg + minutes / 60 + seconds / 3600


def dm(value: float) -> tuple[str, float]:
    """Degrees and decimal minutes (43°53.2'), and the exact value."""
    deg = int(value)
    minutes = round((value - deg) * 60, 4)
    return f"{deg}°{minutes}'", deg + minutes / 60


@pytest.fixture(scope="module")
def cases(counties) -> dict[str, dict]:
    """The register's data rows, in order: key -> field values plus expectations."""
    nanguan = inside(counties, "220102")
    chaoyang = inside(counties, "220104")
    erdao = inside(counties, "220105")
    changbai = inside(counties, "220623")
    far = moved(nanguan, 0, 300)
    near = moved(nanguan, 90, 35)
    lon_dms, lon_dms_value = dms(chaoyang[0])
    lat_dms, lat_dms_value = dms(chaoyang[1], chinese=True)
    lat_dm, lat_dm_value = dm(erdao[1])
    gcj_target = moved(erdao, 45, 500)
    bd_target = moved(erdao, 225, 500)
    gcj = [float(v) for v in coords.wgs84_to_gcj02(*gcj_target)]
    bd = [float(v) for v in coords.wgs84_to_bd09(*bd_target)]
    hub = "南关区残疾人创业孵化基地"
    school = "南关区特殊教育学校"
    rows = {
        "ok": {
            "name": hub,
            "type": "孵化基地",
            "city": "长春市",
            "county": "南关区",
            "lon": nanguan[0],
            "lat": nanguan[1],
        },
        "dup35": {
            "name": hub,
            "type": "创业孵化基地",
            "city": "长春市",
            "county": "南关区",
            "lon": near[0],
            "lat": near[1],
        },
        "far300": {
            "name": f" {hub} ",
            "type": "incubation_base",
            "city": "长春市",
            "county": "南关区",
            "lon": far[0],
            "lat": far[1],
        },
        "blank": {},
        "swapped": {
            "name": "朝阳区阳光家园",
            "type": "阳光家园",
            "city": "长春市",
            "county": "朝阳区",
            "lon": chaoyang[1],
            "lat": chaoyang[0],
        },
        "dms": {
            "name": "朝阳区盲人按摩店",
            "type": "盲人按摩",
            "city": "长春市",
            "county": "朝阳区",
            "lon": lon_dms,
            "lat": lat_dms,
            "expect": (lon_dms_value, lat_dms_value),
        },
        "dm": {
            "name": "二道区盲人按摩店",
            "type": "盲人按摩",
            "city": "长春市",
            "county": "二道区",
            "lon": erdao[0],
            "lat": lat_dm,
            "expect": (erdao[0], lat_dm_value),
        },
        "outside": {"name": "北京美丽工坊", "type": "美丽工坊", "lon": 116.397, "lat": 39.909},
        "unknown_type": {
            "name": "南关区就业基地",
            "type": "就业基地",
            "city": "长春市",
            "county": "南关区",
            "lon": nanguan[0] + 0.01,
            "lat": nanguan[1],
        },
        "unknown_county": {
            "name": "南官区美丽工坊",
            "type": "美丽工坊",
            "city": "长春市",
            "county": "南官区",
        },
        "zone_no_coords": {
            "name": "经开区辅助性就业机构",
            "type": "辅助性就业机构",
            "city": "长春市",
            "county": "经开区",
        },
        "zone_coords": {
            "name": "经开区阳光家园",
            "type": "残疾人辅助性就业机构",
            "city": "长春市",
            "county": "长春经开区",
            "lon": erdao[0],
            "lat": erdao[1],
        },
        "mismatch": {
            "name": "南关区就业帮扶基地",
            "type": "就业（扶贫）基地",
            "city": "长春市",
            "county": "南关区",
            "lon": chaoyang[0] + 0.002,
            "lat": chaoyang[1],
        },
        "address": {
            "name": "人民大街美丽工坊",
            "type": "美丽工坊",
            "address": "吉林省长春市朝阳区人民大街100号",
        },
        "gcj": {
            "name": "二道区电商孵化基地",
            "type": "电商孵化基地",
            "city": "长春市",
            "county": "二道区",
            "lon": gcj[0],
            "lat": gcj[1],
            "datum": "高德",
            "expect": gcj_target,
        },
        "bd": {
            "name": "二道区网络创业孵化基地",
            "type": "网络创业孵化基地",
            "city": "长春市",
            "county": "二道区",
            "lon": bd[0],
            "lat": bd[1],
            "datum": "BD-09",
            "expect": bd_target,
        },
        "short_form": {
            "name": "长白县美丽工坊",
            "type": "巾帼美丽工坊",
            "city": "白山市",
            "county": "长白县",
            "lon": changbai[0],
            "lat": changbai[1],
            "datum": "WGS84",
        },
        "county_only": {
            "name": school,
            "type": "特殊教育学校",
            "city": "长春市",
            "county": "南关区",
        },
        "dup_no_coords": {"name": school, "type": "特教学校", "city": "长春市", "county": "南关区"},
        "no_type": {"name": "无类型机构", "city": "长春市", "county": "南关区"},
        "bad_coords": {
            "name": "坐标错误工坊",
            "type": "美丽工坊",
            "city": "长春市",
            "county": "南关区",
            "lon": "abc",
            "lat": 43.8,
        },
    }
    return rows


def row_values(case: dict) -> list:
    return [case.get(f) for f in FIELDS]


def write_xlsx(path: Path, rows: list[list], merges: list[str] = (), sheet: str = "Sheet1") -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    for cells in merges:
        ws.merge_cells(cells)
    wb.save(path)
    return path


def write_csv(path: Path, rows: list[list], encoding: str) -> Path:
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows([["" if v is None else v for v in row] for row in rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


XLSX_FIRST_DATA_ROW = 5  # two title rows, a header on rows 3-4


@pytest.fixture(scope="module")
def register_xlsx(tmp_path_factory, cases) -> Path:
    """Title rows, then a two-row header: 坐标 merged over 经度/纬度, the other headings
    merged vertically over both rows; the city merged down over the first three rows."""
    top = [
        "序号",
        "名称",
        "类型",
        "市（州）",
        "县（市、区）",
        "地址",
        "坐标",
        None,
        "坐标系",
        "备注",
    ]
    sub = [None] * 6 + ["经度", "纬度", None, None]
    body = []
    for i, case in enumerate(cases.values(), start=1):
        values = row_values(case)
        body.append([i, *values, None] if case else [None] * 10)
    body[1][3] = body[2][3] = None  # under the vertical merge D5:D7
    rows = [
        ["2025年第三季度残疾人就业服务机构登记表"],
        ["填报单位：吉林省残疾人联合会", None, None, None, None, None, None, None, "单位：个"],
        top,
        sub,
        *body,
    ]
    merges = ["A1:J1", "G3:H3", "D5:D7"] + [f"{c}3:{c}4" for c in "ABCDEFIJ"]
    return write_xlsx(tmp_path_factory.mktemp("xlsx") / "登记表.xlsx", rows, merges, sheet="机构")


@pytest.fixture(scope="module")
def xlsx_import(register_xlsx, counties, registry) -> FacilityImport:
    return read_facilities(register_xlsx, counties=counties, registry=registry, lang="en")


@pytest.fixture(scope="module", params=["utf-8-sig", "gbk"])
def csv_import(request, tmp_path_factory, cases, counties, registry) -> FacilityImport:
    rows = [HEADER_ZH, *(row_values(c) for c in cases.values())]
    path = write_csv(
        tmp_path_factory.mktemp("csv") / f"register-{request.param}.csv", rows, request.param
    )
    return read_facilities(path, counties=counties, registry=registry, lang="en")


def line(result: FacilityImport, cases: dict, key: str, first_row: int) -> pd.Series:
    """The report line of a case, found by its Excel row number."""
    row = first_row + list(cases).index(key)
    found = result.report[result.report["row"] == row]
    assert len(found) == 1, f"no report line for row {row}"
    return found.iloc[0]


def facility(result: FacilityImport, name: str) -> pd.Series:
    found = result.facilities[result.facilities["name"] == name]
    assert len(found) == 1, f"{name} imported {len(found)} times"
    return found.iloc[0]


# ------------------------------------------------------------------ reading files


def test_xlsx_header_below_titles_with_merged_cells(xlsx_import: FacilityImport) -> None:
    assert xlsx_import.sheet == "机构"
    assert xlsx_import.encoding is None
    assert xlsx_import.header_row == 3
    assert xlsx_import.header_rows == (3, 4)
    assert xlsx_import.column_map["lon"] == "坐标/经度"
    assert xlsx_import.column_map["lat"] == "坐标/纬度"
    assert xlsx_import.column_map["city"] == "市（州）"
    assert xlsx_import.column_map["note"] == "备注"
    assert "序号" in xlsx_import.ignored_columns


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_csv_encoding_is_detected(tmp_path, cases, counties, registry, encoding) -> None:
    rows = [HEADER_ZH, row_values(cases["ok"])]
    path = write_csv(tmp_path / "r.csv", rows, encoding)
    result = read_facilities(path, counties=counties, registry=registry, lang="en")
    assert result.encoding == {"utf-8-sig": "utf-8-sig", "gbk": "gb18030"}[encoding]
    assert result.header_row == 1
    assert result.report["row"].tolist() == [2]
    assert facility(result, "南关区残疾人创业孵化基地")["adcode"] == "220102"


def test_csv_and_xlsx_reach_the_same_verdicts(xlsx_import, csv_import, cases) -> None:
    columns = ["status", "codes", "adcode", "facility_type"]
    a = xlsx_import.report[columns].reset_index(drop=True)
    b = csv_import.report[columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    assert csv_import.report["row"].tolist() == [2 + i for i in range(len(cases))]


def test_english_headers_in_any_case_and_width(tmp_path, cases, counties, registry) -> None:
    header = ["ＮＡＭＥ", " Type ", "City", "District", "Address", "Longitude", "LAT", "Datum"]
    rows = [header, row_values(cases["ok"]), row_values(cases["gcj"])]
    result = read_facilities(
        write_csv(tmp_path / "en.csv", rows, "utf-8"), counties=counties, registry=registry
    )
    assert set(result.column_map) == set(FIELDS)
    assert result.column_map["county"] == "District"
    assert result.accepted == 2


def test_column_override_maps_an_unknown_heading(tmp_path, cases, counties, registry) -> None:
    rows = [["机构全称", *HEADER_ZH[1:]], row_values(cases["ok"])]
    path = write_xlsx(tmp_path / "override.xlsx", rows)
    with pytest.raises(RegisterError, match="override.xlsx"):
        read_facilities(path, counties=counties, registry=registry, lang="en")
    result = read_facilities(
        path, counties=counties, registry=registry, columns={"name": "机构全称"}
    )
    assert result.column_map["name"] == "机构全称"
    assert result.facilities["name"].tolist() == ["南关区残疾人创业孵化基地"]


def test_bytes_and_file_objects_are_read(tmp_path, cases, counties, registry) -> None:
    path = write_xlsx(tmp_path / "up.xlsx", [HEADER_ZH, row_values(cases["ok"])])
    from_bytes = read_facilities(path.read_bytes(), counties=counties, registry=registry, lang="en")
    with open(path, "rb") as f:
        from_file = read_facilities(f, counties=counties, registry=registry, lang="en")
    assert from_bytes.accepted == from_file.accepted == 1
    assert from_file.source == "up.xlsx"


def test_named_sheet(tmp_path, cases, counties, registry) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["本表说明"])
    ws = wb.create_sheet("数据")
    for row in [HEADER_ZH, row_values(cases["ok"])]:
        ws.append(row)
    path = tmp_path / "two.xlsx"
    wb.save(path)
    assert read_facilities(path, counties=counties, registry=registry, sheet="数据").accepted == 1
    with pytest.raises(RegisterError, match="no sheet '汇总'.*数据"):
        read_facilities(path, counties=counties, registry=registry, sheet="汇总")


def test_no_header_names_the_file_and_what_is_accepted(tmp_path, counties, registry) -> None:
    path = write_csv(tmp_path / "季度数据.csv", [["甲", "乙"], ["1", "2"]], "utf-8")
    with pytest.raises(RegisterError) as info:
        read_facilities(path, counties=counties, registry=registry, lang="en")
    text = str(info.value)
    assert "季度数据.csv" in text
    assert "no header row" in text
    assert "名称" in text and "经度" in text


def test_header_without_location_columns_is_refused(tmp_path, counties, registry) -> None:
    path = write_csv(tmp_path / "partial.csv", [["名称", "类型", "电话"], ["a", "b", "c"]], "utf-8")
    with pytest.raises(RegisterError, match=r"partial\.csv.*row 1 has 名称→name, 类型→type"):
        read_facilities(path, counties=counties, registry=registry, lang="en")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "97-2003"),
        ("data.json", b"{}", "unsupported file type '.json'"),
        ("empty.csv", b"", "empty"),
        ("broken.xlsx", b"PK\x03\x04 not really a zip", "cannot be read as an Excel workbook"),
        ("fake.xlsx", b"name,type\n", "not an Excel .xlsx workbook"),
    ],
)
def test_unusable_files(tmp_path, counties, registry, name, content, message) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(RegisterError, match=message) as info:
        read_facilities(path, counties=counties, registry=registry, lang="en")
    assert name in str(info.value)


def test_missing_file(tmp_path, counties, registry) -> None:
    with pytest.raises(RegisterError, match="nowhere.csv: no such file"):
        read_facilities(tmp_path / "nowhere.csv", counties=counties, registry=registry, lang="en")


def test_unknown_default_datum_is_refused(tmp_path, counties) -> None:
    with pytest.raises(ValueError, match="default_datum 'utm'.*gcj02"):
        read_facilities(tmp_path / "x.csv", counties=counties, default_datum="utm")


# ------------------------------------------------------------------ row verdicts

EXPECTED = {
    # key: (status, code, text in the reasons, adcode)
    "ok": ("accepted", "", "", "220102"),
    "far300": ("accepted", "", "", "220102"),
    "blank": ("skipped", "blank_row", "blank row", ""),
    "swapped": ("flagged", "swapped", "lon and lat swapped", "220104"),
    "dms": ("flagged", "dms", "coordinates given as degrees-minutes text", "220104"),
    "dm": ("flagged", "dms", "degrees-minutes", "220105"),
    "outside": (
        "rejected",
        "outside_region",
        "coordinates outside the region: 116.397000, 39.909000",
        "",
    ),
    "unknown_type": (
        "rejected",
        "unknown_type",
        "unknown facility type '就业基地'; accepted: Entrepreneurship incubation base",
        "",
    ),
    "unknown_county": (
        "rejected",
        "county_unresolved",
        "'南官区'; closest: 长春市南关区 (220102)",
        "",
    ),
    "zone_no_coords": (
        "rejected",
        "county_unresolved",
        "development zone and not a legal county-level unit: coordinates are needed",
        "",
    ),
    "zone_coords": ("accepted", "", "", "220105"),
    "mismatch": (
        "flagged",
        "county_mismatch",
        "declared 南关区 but coordinates fall in 长春市朝阳区",
        "220104",
    ),
    "address": ("flagged", "no_coordinates", "placed in 长春市朝阳区 by its address", "220104"),
    "gcj": ("accepted", "", "", "220105"),
    "bd": ("accepted", "", "", "220105"),
    "short_form": ("accepted", "", "", "220623"),
    "county_only": ("accepted", "", "", "220102"),
    "no_type": ("rejected", "no_type", "no facility type", ""),
    "bad_coords": ("rejected", "bad_coordinates", "lon 'abc'", ""),
}


@pytest.mark.parametrize("key", list(EXPECTED))
def test_each_row_is_reported_with_its_excel_row(xlsx_import, cases, key) -> None:
    status, code, text, adcode = EXPECTED[key]
    got = line(xlsx_import, cases, key, XLSX_FIRST_DATA_ROW)
    assert got["status"] == status, got["reasons"]
    assert code in got["codes"].split(";") if code else got["codes"] == ""
    assert text in got["reasons"]
    assert got["adcode"] == adcode


def test_duplicate_within_200_m_names_the_first_row(xlsx_import, cases) -> None:
    first = XLSX_FIRST_DATA_ROW + list(cases).index("ok")
    got = line(xlsx_import, cases, "dup35", XLSX_FIRST_DATA_ROW)
    assert got["status"] == "rejected"
    assert got["reasons"] == f"duplicate of row {first} (same name, 35 m apart)"
    # 300 m away is another facility of the same name, not a duplicate
    assert line(xlsx_import, cases, "far300", XLSX_FIRST_DATA_ROW)["status"] == "accepted"


def test_a_row_placed_by_its_county_is_accepted_with_a_note(xlsx_import, cases) -> None:
    got = line(xlsx_import, cases, "county_only", XLSX_FIRST_DATA_ROW)
    assert got["status"] == "accepted" and got["codes"] == ""
    assert got["note"] == (
        "no coordinates; placed in 长春市南关区 by its declared county "
        "(counted there, not on the map)"
    )


def test_duplicate_without_coordinates_in_the_same_county(xlsx_import, cases) -> None:
    first = XLSX_FIRST_DATA_ROW + list(cases).index("county_only")
    got = line(xlsx_import, cases, "dup_no_coords", XLSX_FIRST_DATA_ROW)
    assert got["status"] == "rejected"
    assert got["reasons"].startswith(
        f"duplicate of row {first} (same name and type in the same county"
    )


def test_counts_and_report_cover_every_row(xlsx_import, cases) -> None:
    r = xlsx_import
    assert len(r.report) == len(cases)
    assert r.report["row"].tolist() == list(
        range(XLSX_FIRST_DATA_ROW, XLSX_FIRST_DATA_ROW + len(cases))
    )
    assert r.accepted + r.flagged + r.rejected + r.skipped == len(cases)
    assert (r.accepted, r.flagged, r.rejected, r.skipped) == (7, 5, 8, 1)
    assert len(r.facilities) == r.accepted + r.flagged


def test_gcj02_and_bd09_rows_land_on_the_wgs84_point(xlsx_import, cases) -> None:
    for key in ("gcj", "bd"):
        got = facility(xlsx_import, cases[key]["name"])
        lon, lat = cases[key]["expect"]
        _, _, metres = GEOD.inv(got["lon"], got["lat"], lon, lat)
        assert metres < 0.5, key
        assert got["datum"] == {"gcj": "gcj02", "bd": "bd09"}[key]
        assert got.geometry.x == pytest.approx(got["lon"])


def test_dms_text_is_converted_exactly(xlsx_import, cases) -> None:
    for key in ("dms", "dm"):
        got = facility(xlsx_import, cases[key]["name"])
        assert (got["lon"], got["lat"]) == pytest.approx(cases[key]["expect"], abs=1e-9)


def test_swapped_pair_is_put_back(xlsx_import, cases) -> None:
    got = facility(xlsx_import, "朝阳区阳光家园")
    assert (got["lon"], got["lat"]) == (cases["swapped"]["lat"], cases["swapped"]["lon"])
    assert got["facility_type"] == "auxiliary_institution"


def test_dev_zone_with_coordinates_lands_in_the_legal_district(xlsx_import) -> None:
    got = facility(xlsx_import, "经开区阳光家园")
    assert (got["adcode"], got["county"], got["prefecture"]) == ("220105", "二道区", "长春市")
    assert "长春经济技术开发区" in got["note"] and "二道区" in got["note"]


def test_mismatch_is_kept_where_the_coordinates_are(xlsx_import) -> None:
    got = facility(xlsx_import, "南关区就业帮扶基地")
    assert (got["adcode"], got["county"]) == ("220104", "朝阳区")
    assert got["facility_type"] == "rural_help_base"
    assert "declared 南关区" in got["note"]


def test_rows_without_coordinates_have_no_point(xlsx_import) -> None:
    got = facility(xlsx_import, "人民大街美丽工坊")
    assert got["adcode"] == "220104"
    assert np.isnan(got["lon"]) and np.isnan(got["lat"])
    assert got.geometry is None
    assert got["datum"] == ""


def test_facilities_follow_the_datasource_schema(xlsx_import) -> None:
    f = xlsx_import.facilities
    assert list(f.columns) == [*FACILITY_COLUMNS, "geometry"]
    assert f.crs.to_epsg() == 4326
    assert not f["is_demo"].any()
    assert f["facility_id"].is_unique
    assert set(f["facility_type"]) <= {
        "incubation_base",
        "rural_help_base",
        "massage_institution",
        "auxiliary_institution",
        "vocational_school",
        "beautiful_workshop",
    }
    # ids come from name, type and county, so the next quarter's register gives the same
    # ones; a second facility of that name in that county (300 m away) gets a suffix
    ids = f.set_index("name")["facility_id"]
    assert ids.str.match(r"^F[0-9a-f]{11}(-2)?$").all()
    assert (
        ids["南关区残疾人创业孵化基地"]
        == ids["南关区残疾人创业孵化基地"].iloc[0] + np.array(["", "-2"])
    ).all()


def test_summary_is_in_one_language(xlsx_import) -> None:
    text = xlsx_import.summary()  # read with lang="en"
    assert "登记表.xlsx" in text
    assert "7 accepted, 5 flagged, 8 rejected, 1 skipped" in text
    assert "header row 3–4" in text
    assert "接受" not in text
    zh = xlsx_import.summary("zh")
    assert "接受 7，标记 5，拒绝 8，跳过 1" in zh
    assert "表头第 3–4 行" in zh
    assert "accepted" not in zh


def test_report_keeps_the_original_values(xlsx_import, cases) -> None:
    got = line(xlsx_import, cases, "dms", XLSX_FIRST_DATA_ROW)
    assert got["lon"] == cases["dms"]["lon"]
    assert got["lat"] == cases["dms"]["lat"]
    assert got["type"] == "盲人按摩"
    got = line(xlsx_import, cases, "dup35", XLSX_FIRST_DATA_ROW)
    assert got["city"] == "长春市"  # from the merged cell D5:D7


# ------------------------------------------------------------------ structure of sheets


def test_heading_continuation_and_formula_rows(tmp_path, counties, registry, cases) -> None:
    ok = row_values(cases["ok"])
    rows = [
        HEADER_ZH,  # row 1
        ["一、长春市"],  # row 2: merged across the table
        [*ok[:4], "长春市南关区东岭南街", *ok[5:]],  # row 3
        [None, None, None, None, "1888号院内"],  # row 4: the address wrapped
        [None] * 8,  # row 5
        ["二道区美丽工坊", "美丽工坊", "长春市", "二道区", None, "=1+1", 43.8],  # row 6
    ]
    path = write_xlsx(tmp_path / "structure.xlsx", rows, merges=["A2:H2"])
    r = read_facilities(path, counties=counties, registry=registry, lang="en")
    report = r.report.set_index("row")
    assert report.loc[2, "status"] == "skipped" and "heading row" in report.loc[2, "reasons"]
    assert report.loc[3, "status"] == "flagged"
    assert "address continued on row 4" in report.loc[3, "reasons"]
    assert report.loc[4, "status"] == "skipped"
    assert report.loc[4, "reasons"].startswith("continuation of row 3")
    assert report.loc[5, "reasons"] == "blank row"
    assert "formula_no_value" in report.loc[6, "codes"]
    assert "cell F6" in report.loc[6, "reasons"]
    assert facility(r, ok[0])["address"] == "长春市南关区东岭南街1888号院内"
    assert report.loc[3, "address"] == "长春市南关区东岭南街1888号院内"
    assert report.loc[[5, 6], "address"].tolist() == ["", ""]  # blank, not "nan"


def test_trailing_empty_rows_are_not_rows(tmp_path, counties, registry, cases) -> None:
    rows = [HEADER_ZH, row_values(cases["ok"]), [None] * 8, [None] * 8]
    r = read_facilities(
        write_csv(tmp_path / "t.csv", rows, "utf-8"), counties=counties, registry=registry
    )
    assert r.report["row"].tolist() == [2]


def test_single_coordinate_column(tmp_path, counties, registry, cases) -> None:
    ok = cases["ok"]
    rows = [["名称", "类型", "经纬度"], [ok["name"], ok["type"], f"{ok['lon']}，{ok['lat']}"]]
    r = read_facilities(
        write_csv(tmp_path / "pair.csv", rows, "utf-8"), counties=counties, registry=registry
    )
    got = facility(r, ok["name"])
    assert (got["lon"], got["lat"], got["adcode"]) == (ok["lon"], ok["lat"], "220102")


def test_same_name_other_type_nearby_is_flagged_not_rejected(
    tmp_path, counties, registry, cases
) -> None:
    ok = row_values(cases["ok"])
    other = [ok[0], "阳光家园", *ok[2:]]
    r = read_facilities(
        write_csv(tmp_path / "two.csv", [HEADER_ZH, ok, other], "utf-8"),
        counties=counties,
        registry=registry,
    )
    assert r.report["status"].tolist() == ["accepted", "flagged"]
    assert "与第 2 行（残疾人创业孵化基地）同名，相距 0 米" in r.report["reasons"].iloc[1]


def test_default_datum_applies_to_rows_without_one(tmp_path, counties, registry, cases) -> None:
    target = inside(counties, "220102")
    gcj = [float(v) for v in coords.wgs84_to_gcj02(*target)]
    rows = [HEADER_ZH, ["孵化基地甲", "孵化基地", None, None, None, *gcj, None]]
    path = write_csv(tmp_path / "gcj.csv", rows, "utf-8")
    r = read_facilities(path, counties=counties, registry=registry, default_datum="gcj02")
    got = facility(r, "孵化基地甲")
    assert GEOD.inv(got["lon"], got["lat"], *target)[2] < 0.5
    assert got["datum"] == "gcj02"


def test_input_frames_are_not_modified(tmp_path, counties, registry, cases) -> None:
    before = counties.copy()
    read_facilities(
        write_csv(tmp_path / "m.csv", [HEADER_ZH, row_values(cases["ok"])], "utf-8"),
        counties=counties,
    )
    pd.testing.assert_frame_equal(counties, before)


# ------------------------------------------------------------------ values


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("125.3", 125.3, "number"),
        ("１２５．３", 125.3, "number"),
        ("125.3°", 125.3, "number"),
        ("E125.3", 125.3, "number"),
        ("125°19'12.5\"", 125 + 19 / 60 + 12.5 / 3600, "dms"),
        ("125° 19′ 12.5″", 125 + 19 / 60 + 12.5 / 3600, "dms"),
        ("125度19分12.5秒", 125 + 19 / 60 + 12.5 / 3600, "dms"),
        ("东经125度19分", 125 + 19 / 60, "dms"),
        ("43°53.2'", 43 + 53.2 / 60, "dms"),
        ("43°53.2'N", 43 + 53.2 / 60, "dms"),
        ("43°53'S", -(43 + 53 / 60), "dms"),
    ],
)
def test_parse_coordinate(text, value, kind) -> None:
    got, got_kind = parse_coordinate(text)
    assert got == pytest.approx(value, abs=1e-12)
    assert got_kind == kind


@pytest.mark.parametrize("text", ["abc", "125°61'", "125°19'75\"", "12,5", "125.5°30'", "E125N"])
def test_parse_coordinate_refuses(text) -> None:
    value, kind = parse_coordinate(text)
    assert kind == "bad" and np.isnan(value)


@pytest.mark.parametrize(
    ("text", "datum"),
    [
        ("WGS84", "wgs84"),
        ("wgs-84", "wgs84"),
        ("GPS", "wgs84"),
        ("高德", "gcj02"),
        ("火星坐标", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("百度地图", "bd09"),
        ("bd09", "bd09"),
        ("国家2000", "cgcs2000"),
        ("CGCS2000", "cgcs2000"),
        ("EPSG:4490", "cgcs2000"),
        ("墨卡托", None),
        ("高德/百度", None),
    ],
)
def test_parse_datum(text, datum) -> None:
    assert parse_datum(text) == datum


# ------------------------------------------------------------------ unemployed counts


@pytest.fixture(scope="module")
def count_import(tmp_path_factory, counties, registry) -> CountImport:
    rows = [
        ["2025年各县（市、区）未就业残疾人数"],  # 1
        ["行政区划代码", "市（州）", "县（市、区）", "未就业残疾人数"],  # 2
        ["220102", "长春市", "南关区", "1608"],  # 3 by adcode
        ["", "长春市", "朝阳区", "2,000"],  # 4 by name
        ["220103", "", "", "1234人"],  # 5 by adcode alone
        ["", "长春市", "朝阳区", "5"],  # 6 duplicate of 4
        ["220105", "", "二道区", "-3"],  # 7 negative
        ["220106", "", "绿园区", "abc"],  # 8 not a number
        ["220112", "", "双阳区", "12.5"],  # 9 not whole
        ["", "", "", ""],  # 10 blank
        ["", "长春市", "长春经开区", "40"],  # 11 dev zone: no legal county
        ["", "长春市", "南官区", "7"],  # 12 unknown
        ["220381", "四平市", "公主岭市", "900"],  # 13 old code: now 220184
        ["", "", "长春市", "5000"],  # 14 subtotal
        ["合计", "", "", "9999"],  # 15 total
    ]
    path = write_csv(tmp_path_factory.mktemp("counts") / "未就业.csv", rows, "gbk")
    return read_unemployed(path, counties=counties, registry=registry, lang="en")


@pytest.mark.parametrize(
    ("row", "status", "text"),
    [
        (3, "accepted", ""),
        (4, "accepted", ""),
        (5, "accepted", ""),
        (6, "rejected", "duplicate of row 4 (same county 长春市朝阳区)"),
        (7, "rejected", "count -3 is negative"),
        (8, "rejected", "count 'abc' is not a number"),
        (9, "rejected", "count 12.5 is not a whole number"),
        (10, "skipped", "blank row"),
        (11, "rejected", "development zone"),
        (12, "rejected", "closest: 长春市南关区 (220102)"),
        (13, "accepted", ""),
        (14, "skipped", "subtotal row"),
        (15, "skipped", "total row"),
    ],
)
def test_count_rows(count_import, row, status, text) -> None:
    got = count_import.report.set_index("row").loc[row]
    assert got["status"] == status, got["reasons"]
    assert text in got["reasons"]


def test_counts_by_name_and_code(count_import) -> None:
    counts = count_import.counts.set_index("adcode")["unemployed_disabled"].to_dict()
    assert counts == {"220102": 1608, "220104": 2000, "220103": 1234, "220184": 900}
    assert count_import.encoding == "gb18030"
    assert count_import.header_row == 2
    assert list(count_import.counts.columns) == [
        "adcode",
        "prefecture",
        "county",
        "unemployed_disabled",
        "is_demo",
        "method",
    ]


def test_missing_units_are_listed_not_errors(count_import, counties) -> None:
    missing = set(count_import.missing_units)
    assert len(missing) == len(counties) - 4
    assert "220105" in missing  # its row was rejected
    assert "220102" not in missing
    assert "长春市二道区 (220105)" in count_import.missing_labels
    assert "56 county-level units of the region are not in the table" in count_import.summary()


def test_counts_from_xlsx_with_english_headers(tmp_path, counties, registry) -> None:
    rows = [
        ["Unemployed disabled people, 2025"],
        ["adcode", "County", "unemployed_disabled"],
        [220102, "南关区", 10],
        [220104.0, None, 12.0],
        [None, "延吉市", 3],
    ]
    r = read_unemployed(
        write_xlsx(tmp_path / "c.xlsx", rows), counties=counties, registry=registry, lang="en"
    )
    assert r.counts.set_index("adcode")["unemployed_disabled"].to_dict() == {
        "220102": 10,
        "220104": 12,
        "222401": 3,
    }
    assert r.header_row == 2


def test_code_and_name_disagreeing_is_flagged(tmp_path, counties, registry) -> None:
    rows = [["代码", "名称", "人数"], ["220102", "朝阳区", "3"]]
    r = read_unemployed(
        write_csv(tmp_path / "d.csv", rows, "utf-8"), counties=counties, registry=registry
    )
    assert r.report["status"].tolist() == ["flagged"]
    assert (
        r.report["reasons"][0]
        == "代码 220102 是长春市南关区，但名称“朝阳区”是长春市朝阳区；以代码为准"
    )
    assert r.counts["adcode"].tolist() == ["220102"]


def test_count_table_without_count_column(tmp_path, counties, registry) -> None:
    path = write_csv(tmp_path / "nocount.csv", [["县区", "备注"], ["南关区", "x"]], "utf-8")
    with pytest.raises(RegisterError, match=r"nocount\.csv.*needs count"):
        read_unemployed(path, counties=counties, registry=registry, lang="en")


# ------------------------------------------------------------------ more inputs


def test_excel_unicode_text_and_bare_bytes(tmp_path, cases, counties, registry) -> None:
    lines = [
        "\t".join(HEADER_ZH),
        "\t".join("" if v is None else str(v) for v in row_values(cases["ok"])),
    ]
    path = tmp_path / "unicode.txt"
    path.write_bytes("\r\n".join(lines).encode("utf-16"))  # Excel's "Unicode text"
    r = read_facilities(path, counties=counties, registry=registry, lang="en")
    assert (r.encoding, r.accepted) == ("utf-16", 1)
    raw = "\n".join(lines).replace("\t", ",").encode("gbk")
    r = read_facilities(raw, counties=counties, registry=registry, lang="en")
    assert (r.source, r.encoding, r.accepted) == ("<uploaded data>", "gb18030", 1)


def test_unknown_datum_and_ambiguous_type(tmp_path, cases, counties, registry) -> None:
    ok = cases["ok"]
    rows = [
        HEADER_ZH,
        ["甲", "孵化基地", None, None, None, ok["lon"], ok["lat"], "墨卡托"],
        ["乙", "阳光家园盲人按摩", None, None, None, ok["lon"], ok["lat"], None],
        ["丙", "美丽工坊", None, "南关区", None, None, None, "墨卡托"],  # no point: datum moot
    ]
    r = read_facilities(
        write_csv(tmp_path / "v.csv", rows, "utf-8"), counties=counties, registry=registry
    )
    reasons = r.report.set_index("row")["reasons"]
    assert reasons[2] == (
        "无法识别的坐标系“墨卡托”；可填：WGS84（GPS）、GCJ-02（高德、腾讯）、BD-09（百度）、"
        "CGCS2000（天地图）"
    )
    assert "可归入多个类型（残疾人辅助性就业机构、盲人按摩机构）" in reasons[3]
    assert r.report.set_index("row").loc[4, "status"] == "accepted"  # placed by its county
