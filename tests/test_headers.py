"""Header families, columns read by their values, and the header notes (issue 11, part 1).

Every register here is a real file (CSV in UTF-8, and the same rows as an ``.xlsx``
written with openpyxl) read through :func:`geoapp.ingest.read_facilities` on the embedded
Jilin region. The expected county of each row is worked out by hand from GB/T 2260:
长白县 is 长白朝鲜族自治县 220623 in 白山市 (220600), 前郭县 is 前郭尔罗斯蒙古族自治县 220721
in 松原市, 公主岭市 220184 in 长春市 (since 2020), 延吉市 222401 in 延边朝鲜族自治州 and
梅河口市 220581 in 通化市.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from geoapp.admin import AdminRegistry
from geoapp.datasource import default_source
from geoapp.ingest import FACILITY_USEFUL, missing_fields, read_facilities
from geoapp.ingest.fields import region_units
from geoapp.ingest.headings import HeaderNote, closest_field, family_field

# name, type as written, prefecture as written, county as written -> adcode, prefecture
FACILITIES = [
    ("长白县阳光家园", "阳光家园", "白山市", "长白县", "220623", "白山市"),
    ("前郭县创业孵化基地", "孵化基地", "松原市", "前郭县", "220721", "松原市"),
    ("公主岭市盲人按摩中心", "盲人按摩", "长春市", "公主岭市", "220184", "长春市"),
    ("延吉市美丽工坊", "美丽工坊", "延边州", "延吉市", "222401", "延边朝鲜族自治州"),
    ("梅河口市就业帮扶基地", "帮扶基地", "通化市", "梅河口市", "220581", "通化市"),
]
ADCODES = [f[4] for f in FACILITIES]
PREFECTURES = [f[5] for f in FACILITIES]
ADDRESS = "新华街12号"  # names no county: a row can only land by its county column


# ------------------------------------------------------------------ fixtures and files


@pytest.fixture(scope="module")
def counties():
    return default_source().counties()


@pytest.fixture(scope="module")
def registry(counties) -> AdminRegistry:
    return AdminRegistry.default(counties=counties)


@pytest.fixture(scope="module")
def points(counties) -> dict[str, tuple[float, float]]:
    """A WGS84 point well inside each county of FACILITIES (its representative point)."""
    out = {}
    for adcode in ADCODES:
        p = counties.loc[counties["adcode"] == adcode, "geometry"].iloc[0].representative_point()
        out[adcode] = (round(p.x, 6), round(p.y, 6))
    return out


def write(path: Path, rows: list[list]) -> Path:
    """The rows as a real CSV (UTF-8) or ``.xlsx`` file, by the path's suffix."""
    if path.suffix == ".xlsx":
        wb = openpyxl.Workbook()
        for row in rows:
            wb.active.append(row)
        wb.save(path)
    else:
        buffer = io.StringIO(newline="")
        csv.writer(buffer).writerows([["" if v is None else v for v in row] for row in rows])
        path.write_bytes(buffer.getvalue().encode("utf-8"))
    return path


def read(tmp_path: Path, fmt: str, rows: list[list], counties, registry, name: str = "register"):
    path = write(tmp_path / f"{name}.{fmt}", rows)
    return read_facilities(path, counties=counties, registry=registry)


def landed(result) -> list[str]:
    """The adcode each data row landed in ('' where it was not kept), in row order."""
    return result.report["adcode"].tolist()


# ------------------------------------------------------------------ the families

# field -> heading; the area columns in each family a Chinese office writes.
AREA_FAMILIES = {
    "所属, full-width brackets": (
        "机构名称",
        "机构类别",
        "所属市（州）",
        "所属县（市、区）",
        "详细地址",
    ),
    "half-width brackets": ("名称", "类别", "市(州)", "县(市、区)", "地址"),
    "所在, no brackets": ("单位名称", "类型", "所在市州", "所在县市区", "机构地址"),
    "城市, 区（县、市）": ("基地名称", "机构类型", "城市", "区（县、市）", "所在地"),
    "名称 suffix, 地市, 区县": ("名称", "类别", "地市名称", "区县名称", "地址"),
    "归属 / 隶属": ("名称", "类型", "归属地区", "隶属县区", "地址"),
    "州市, 县级": ("名称", "类型", "州市", "县级", "地址"),
    "separators 、 and ，": ("名称", "类型", "市，州", "县、市、区", "地址"),
    "名 suffix, 县(市)": ("机构名", "类型", "所属地区名", "县(市)", "地址"),
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("family", list(AREA_FAMILIES))
def test_area_families_are_found_and_every_row_lands_in_its_county(
    tmp_path, counties, registry, family, fmt
) -> None:
    headings = AREA_FAMILIES[family]
    rows = [list(headings)] + [[n, t, c, k, ADDRESS] for n, t, c, k, *_ in FACILITIES]
    result = read(tmp_path, fmt, rows, counties, registry)
    assert result.column_map == dict(
        zip(("name", "type", "city", "county", "address"), headings, strict=True)
    )
    assert landed(result) == ADCODES
    assert result.facilities["prefecture"].tolist() == PREFECTURES
    assert result.rejected == 0


# lon / lat headings, or one column and the order of its pair.
COORDINATE_FAMILIES = {
    "经度（E）/ 纬度（N）": ("经度（E）", "纬度（N）"),
    "东经 / 北纬": ("东经", "北纬"),
    "X坐标 / Y坐标": ("X坐标", "Y坐标"),
    "lng / lat": ("lng", "lat"),
    "经纬度 as lon,lat": ("经纬度", "lon,lat"),
    "坐标 as lat,lon": ("坐标", "lat,lon"),
    "坐标（经度，纬度）with a full-width comma": ("坐标（经度，纬度）", "lon，lat"),
}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("family", list(COORDINATE_FAMILIES))
def test_coordinate_families_put_every_row_on_the_map(
    tmp_path, counties, registry, points, family, fmt
) -> None:
    first, second = COORDINATE_FAMILIES[family]
    one_column = second in ("lon,lat", "lat,lon", "lon，lat")
    header = ["名称", "类型", "县区", first] + ([] if one_column else [second])
    rows = [header]
    for name, ftype, _, county, adcode, _ in FACILITIES:
        lon, lat = points[adcode]
        if second == "lat,lon":
            position = [f"{lat},{lon}"]
        elif one_column:
            position = [second.replace("lon", str(lon)).replace("lat", str(lat))]
        else:
            position = [lon, lat]
        rows.append([name, ftype, county, *position])
    result = read(tmp_path, fmt, rows, counties, registry)
    assert ("coords" if one_column else "lon") in result.column_map
    assert result.column_map["county"] == "县区"
    assert landed(result) == ADCODES
    placed = result.facilities.set_index("adcode")
    for adcode in ADCODES:
        assert placed.loc[adcode, "lon"] == pytest.approx(points[adcode][0], abs=1e-6)
        assert placed.loc[adcode, "lat"] == pytest.approx(points[adcode][1], abs=1e-6)
    # "43.8,125.3" in one column is an office's convention, not a swap to flag
    assert set(result.report["status"]) == {"accepted"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_mixed_families_in_one_register(tmp_path, counties, registry, points, fmt) -> None:
    headings = ["单位名称", "机构类型", "所在地区", "县（市）", "所在地", "东经", "北纬"]
    rows = [headings]
    for i, (name, ftype, city, county, adcode, _) in enumerate(FACILITIES):
        lon, lat = points[adcode] if i % 2 == 0 else (None, None)
        rows.append([name, ftype, city, county, ADDRESS, lon, lat])
    result = read(tmp_path, fmt, rows, counties, registry)
    fields = ("name", "type", "city", "county", "address", "lon", "lat")
    assert result.column_map == dict(zip(fields, headings, strict=True))
    assert landed(result) == ADCODES
    assert result.facilities.geometry.notna().tolist() == [True, False, True, False, True]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_register_of_the_issue(tmp_path, counties, registry, points, fmt) -> None:
    """序号, 机构名称, 机构类别, 所属市（州）, 所属县（市、区）, 详细地址, 经度, 纬度; rows 2
    and 4 without coordinates land by their county column, not by their address."""
    header = [
        "序号",
        "机构名称",
        "机构类别",
        "所属市（州）",
        "所属县（市、区）",
        "详细地址",
        "经度",
        "纬度",
    ]
    rows = [header]
    for i, (name, ftype, city, county, adcode, _) in enumerate(FACILITIES, start=1):
        lon, lat = points[adcode] if i % 2 else (None, None)
        rows.append([i, name, ftype, city, county, f"{county}{ADDRESS}", lon, lat])
    result = read(tmp_path, fmt, rows, counties, registry)
    assert result.column_map == {
        "name": "机构名称",
        "type": "机构类别",
        "city": "所属市（州）",
        "county": "所属县（市、区）",
        "address": "详细地址",
        "lon": "经度",
        "lat": "纬度",
    }
    assert result.ignored_columns == ("序号",)
    assert landed(result) == ADCODES
    # rows placed by their county column are accepted, with a note, not by their address
    assert set(result.report["status"]) == {"accepted"}
    assert "按所填县区计入" in result.report["note"].tolist()[1]
    assert HeaderNote("header.note.unused", {"heading": "序号"}) in result.header_notes
    assert (
        HeaderNote(
            "header.note.family",
            {"heading": "所属县（市、区）", "field": "county", "stem": "县市区"},
        )
        in result.header_notes
    )
    assert missing_fields(result.column_map, FACILITY_USEFUL) == []


def test_a_header_that_is_not_a_field_stays_unused(tmp_path, counties, registry) -> None:
    header = ["序号", "名称", "类型", "所属县区", "联系电话", "负责人", "所属单位", "备注"]
    rows = [
        header,
        [1, "长白县阳光家园", "阳光家园", "长白县", "0439-8221234", "王芳", "县残联", "无"],
    ]
    result = read(tmp_path, "xlsx", rows, counties, registry)
    assert result.column_map == {
        "name": "名称",
        "type": "类型",
        "county": "所属县区",
        "note": "备注",
    }
    assert result.ignored_columns == ("序号", "联系电话", "负责人", "所属单位")
    assert landed(result) == ["220623"]


# ------------------------------------------------------------------ the family rules


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("所属县（市、区）", ("county", "县市区")),
        ("区（县、市）", ("county", "区县市")),
        ("县(市)", ("county", "县市")),
        ("县级", ("county", "县级")),
        ("所属市（州）", ("city", "市州")),
        ("所在地区", ("city", "地区")),
        ("城市", ("city", "城市")),
        ("州市", ("city", "州市")),
        ("孵化基地名称", ("name", "孵化基地")),
        ("名称", ("name", "名称")),
        ("基地类型", ("type", "基地")),
        ("详细地址", ("address", "详细")),
        ("所在地址", ("address", "地址")),
        ("经度（E）", ("lon", "经度e")),
        ("东经", ("lon", "东经")),
        ("X坐标", ("lon", "x")),
        ("纬度（N）", ("lat", "纬度n")),
        ("北纬", ("lat", "北纬")),
        ("Y坐标", ("lat", "y")),
        ("经纬度", ("coords", "经纬度")),
        ("序号", None),
        ("联系电话", None),
        ("负责人", None),
        ("备注", None),
        ("所属单位", None),  # the organisation a facility belongs to, not its name
        ("所在地", None),  # an address by its synonym, not by a family
        ("区域单位", None),
        ("邮箱地址", None),
        ("残疾类别", None),
        ("姓名", None),
    ],
)
def test_family_rules(heading, expected) -> None:
    assert family_field(heading) == expected


# ------------------------------------------------------------------ columns read by their values


def test_a_county_column_is_found_by_its_values(tmp_path, counties, registry) -> None:
    rows = [["名称", "类型", "区域单位", "负责人"]]
    rows += [[n, t, k, "王芳"] for n, t, _, k, *_ in FACILITIES]
    result = read(tmp_path, "csv", rows, counties, registry)
    assert result.column_map["county"] == "区域单位"
    assert "city" not in result.column_map
    assert landed(result) == ADCODES
    note = HeaderNote(
        "header.note.values", {"heading": "区域单位", "field": "county", "share": 100, "n": 5}
    )
    assert note in result.header_notes
    assert note.text("zh") == (
        "「区域单位」→ 县（市、区）（按列中的值识别：前 5 个非空值中 100% 是本区域的该级行政区）"
    )
    assert note.text("en").startswith("“区域单位” → County (read from its values: 100% of")
    assert f"表头：{note.text('zh')}" in result.summary().splitlines()


def test_a_prefecture_column_is_found_by_its_values(tmp_path, counties, registry) -> None:
    rows = [["名称", "类型", "上级", "县区"]]
    rows += [[n, t, c, k] for n, t, c, k, *_ in FACILITIES]
    result = read(tmp_path, "xlsx", rows, counties, registry)
    assert result.column_map["city"] == "上级"
    assert landed(result) == ADCODES


def test_four_of_five_is_enough_three_of_five_is_not(counties, registry) -> None:
    share = region_units(registry, province="220000", counties=set(counties["adcode"]))
    assert share(["长白县", "前郭县", "公主岭", "九台市", "王芳"], "county") == (0.8, 5)
    found, n = share(["长白县", "前郭县", "公主岭", "王芳", "李明"], "county")
    assert n == 5 and found < 0.8
    # 通化县 is a county of Jilin, 海淀区 is not (Beijing); 白山市 is a prefecture.
    assert share(["白山市", "延边州", "通化市"], "prefecture") == (1.0, 3)
    assert share(["海淀区", "白山市", "序号"], "county")[0] == 0.0


# ------------------------------------------------------------------ notes for unused headings


def test_an_unknown_heading_gets_the_closest_field(tmp_path, counties, registry) -> None:
    rows = [["机构全称", "名称", "类型", "县区", "联系电话"]]
    rows += [["长白县残疾人之家", "长白县阳光家园", "阳光家园", "长白县", "0439-8221234"]]
    result = read(tmp_path, "xlsx", rows, counties, registry)
    notes = result.header_notes
    closest = HeaderNote("header.note.closest", {"heading": "机构全称", "field": "name"})
    assert notes[0] == closest
    assert (
        closest.text("zh") == "「机构全称」未使用；最接近的字段：名称（如确是该字段，请手动指定）"
    )
    assert closest.text("en").startswith("“机构全称” not used; closest field: Name")
    assert f"表头：{closest.text('zh')}" in result.summary().splitlines()
    assert notes[-1] == HeaderNote("header.note.unused", {"heading": "联系电话"})
    assert notes[1] == HeaderNote("header.note.synonym", {"heading": "名称", "field": "name"})


def test_closest_field_and_the_warning_list() -> None:
    fields = {"name": ("名称", "机构名称"), "address": ("地址", "详细地址")}
    assert closest_field("机构全称", fields) == "name"
    assert closest_field("序号", fields) is None
    assert missing_fields({"name": "名称", "lon": "经度"}, FACILITY_USEFUL) == [
        "type",
        "county",
        "city",
        "address",
        "coords",
    ]


# ------------------------------------------------------------------ the data page's mapping panel


@pytest.fixture
def data_page(tmp_path, monkeypatch):
    """The data page, signed in as a steward, over a store of its own."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from geoapp import auth
    from geoapp.paths import ROOT
    from pages import cache

    monkeypatch.setenv("GEOAPP_STORE", str(tmp_path / "geoapp.gpkg"))
    monkeypatch.setenv("GEOAPP_ACCOUNTS", str(tmp_path / "accounts.toml"))
    cache._source.clear()
    st.cache_data.clear()
    auth.add_user("wang", "steward-password-1", role="steward")
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=240)
    at.switch_page("pages/data.py")
    at.run()
    at.text_input(key="signin_name").input("wang")
    at.text_input(key="signin_password").input("steward-password-1")
    yield at.button(key="signin_submit").click().run()
    cache._source.clear()
    st.cache_data.clear()


def mapping_panel(at, rows: list[list]):
    """Upload the rows as a CSV; the mapping expander and the warnings shown in it."""
    buffer = io.StringIO(newline="")
    csv.writer(buffer).writerows(rows)
    at.file_uploader[0].set_value(("登记表.csv", buffer.getvalue().encode(), "text/csv"))
    at.run()
    assert not at.exception, at.exception
    panel = next(e for e in at.expander if e.label.startswith("列对应"))
    return panel, [w.value for w in panel.warning]


def test_the_mapping_panel_opens_with_a_warning_for_missing_fields(data_page) -> None:
    rows = [["名称", "类型", "所属县（市、区）"]]
    rows += [[n, t, k] for n, t, _, k, *_ in FACILITIES]
    panel, warnings = mapping_panel(data_page, rows)
    assert panel.proto.expanded
    assert len(warnings) == 1
    assert "市（州）、地址、经纬度（一列）" in warnings[0]
    notes = "\n".join(c.value for c in panel.caption)
    assert "所属县（市、区）" in notes and "县市区" in notes


def test_the_mapping_panel_stays_closed_when_every_field_is_found(data_page, points) -> None:
    rows = [
        ["机构名称", "机构类别", "所属市（州）", "所属县（市、区）", "详细地址", "经度", "纬度"]
    ]
    for name, ftype, city, county, adcode, _ in FACILITIES:
        rows.append([name, ftype, city, county, ADDRESS, *points[adcode]])
    panel, warnings = mapping_panel(data_page, rows)
    assert not panel.proto.expanded
    assert warnings == []
