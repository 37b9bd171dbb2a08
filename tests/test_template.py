"""The register templates: the workbook itself, a filled one imported, the command, the page.

The round trips fill the real workbook with openpyxl, using the values of its own
drop-down lists, and import it with the readers: a template filled as it asks must
import without a flagged or rejected row, every row in the county worked out by hand
(county seats 14-28 km inside their county, or the county chosen from the list).
"""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
import shapely
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1 import app_test as app_test_module

from geoapp import auth, cli, coords, regions
from geoapp.i18n import t
from geoapp.ingest import COUNT_FIELDS, FACILITY_FIELDS, read_facilities, read_unemployed
from geoapp.ingest.fields import COUNT_REQUIRED, FACILITY_REQUIRED, find_header
from geoapp.ingest.tables import read_table
from geoapp.ingest.template import KINDS, TEMPLATE_FIELDS, template_bytes, template_workbook
from geoapp.ingest.values import parse_datum
from geoapp.paths import ROOT

GENERATED = date(2025, 10, 8)
TYPES_ZH = [
    "残疾人创业孵化基地",
    "农村残疾人就业帮扶基地",
    "盲人按摩机构",
    "残疾人辅助性就业机构",
    "职业院校 / 特殊教育学校",
    "美丽工坊",
]
PREFECTURES = ["长春市", "吉林市", "四平市", "辽源市", "通化市", "白山市", "松原市", "白城市"]
PREFECTURES += ["延边朝鲜族自治州"]


@pytest.fixture(scope="module")
def counties():
    return regions.read_layer("220000", "counties")


def build(kind: str, counties, lang: str = "zh") -> bytes:
    return template_bytes(
        kind,
        counties=counties,
        region_name="吉林省",
        region_adcode="220000",
        lang=lang,
        generated=GENERATED,
    )


def open_book(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def lists_of(book: openpyxl.Workbook) -> dict[str, list[str]]:
    """The hidden sheet's lists, by heading."""
    sheet = book.worksheets[2]
    return {
        column[0].value: [c.value for c in column[1:] if c.value is not None]
        for column in sheet.iter_cols()
    }


def validations(sheet) -> dict[str, tuple]:
    """Column letter -> (type, formula1, formula2, error style) of its validation."""
    out = {}
    for dv in sheet.data_validations.dataValidation:
        ref = str(dv.sqref)
        out[ref.split("2:")[0]] = (dv.type, dv.formula1, dv.formula2, dv.errorStyle, ref)
    return out


# --- the workbook ------------------------------------------------------------------------


def test_facility_register_sheet(counties):
    book = open_book(build("facilities", counties))
    assert book.sheetnames == ["登记表", "填写说明", "选项"]
    assert [s.sheet_state for s in book.worksheets] == ["visible", "visible", "hidden"]
    sheet = book["登记表"]
    header = [c.value for c in sheet[1]]
    assert header == [
        "编号",
        "名称",
        "类型",
        "子类型",
        "市（州）",
        "县（市、区）",
        "地址",
        "经度",
        "纬度",
        "坐标系",
        "备注",
    ]
    assert sheet.max_row == 1  # no data row: nothing for the reader to skip
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:K2001"
    assert all(c.font.bold for c in sheet[1])
    # required columns (名称, 类型; 县 or 经纬度) have the orange heading
    orange = [c.value for c in sheet[1] if c.fill.start_color.rgb == "00FCE4D6"]
    assert orange == ["名称", "类型", "县（市、区）", "经度", "纬度"]
    # widths count CJK double: 前郭尔罗斯蒙古族自治县 is 11 characters, 22 columns, +2
    assert sheet.column_dimensions["F"].width == 24
    assert sheet.column_dimensions["H"].number_format == "0.000000"


def test_facility_validations_and_their_lists(counties):
    book = open_book(build("facilities", counties))
    found = validations(book["登记表"])
    assert found == {
        "C": ("list", "'选项'!$A$2:$A$7", None, "stop", "C2:C2001"),
        "E": ("list", "'选项'!$B$2:$B$10", None, "warning", "E2:E2001"),
        "F": ("list", "'选项'!$C$2:$C$61", None, "warning", "F2:F2001"),
        # Jilin spans 121.64-131.31 E, 40.86-46.30 N: 0.05 more, rounded outwards
        "H": ("decimal", "121.5", "131.4", None, "H2:H2001"),
        "I": ("decimal", "40.8", "46.4", None, "I2:I2001"),
        "J": ("list", "'选项'!$D$2:$D$5", None, "stop", "J2:J2001"),
    }
    lists = lists_of(book)
    assert lists["类型"] == TYPES_ZH
    assert lists["市（州）"] == PREFECTURES
    county_list = lists["县（市、区）"]
    assert len(county_list) == 60
    assert county_list[:3] == ["南关区", "宽城区", "朝阳区"] and county_list[-1] == "安图县"
    assert "长白朝鲜族自治县" in county_list and "公主岭市" in county_list
    assert lists["坐标系"] == [
        "WGS84（GPS）",
        "GCJ-02（高德、腾讯）",
        "BD-09（百度）",
        "CGCS2000（天地图）",
    ]
    # 60 names joined are over the 255 characters Excel allows inside a validation
    assert len(",".join(county_list)) > 255


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_datum_choice_is_read_as_its_datum(counties, lang):
    lists = lists_of(open_book(build("facilities", counties, lang)))
    datums = lists[t("field.datum", lang)]
    assert [parse_datum(d) for d in datums] == ["wgs84", "gcj02", "bd09", "cgcs2000"]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("kind", KINDS)
def test_the_reader_recognises_every_heading(counties, kind, lang):
    table = read_table(build(kind, counties, lang), sheet=None)
    fields, required = (
        (FACILITY_FIELDS, FACILITY_REQUIRED)
        if kind == "facilities"
        else (COUNT_FIELDS, COUNT_REQUIRED)
    )
    header = find_header(table, fields, None, required=required, what=kind)
    assert header.columns == {f: i for i, f in enumerate(TEMPLATE_FIELDS[kind])}
    assert header.rows == (0,)


def test_english_template(counties):
    book = open_book(build("facilities", counties, "en"))
    assert book.sheetnames == ["Register", "Instructions", "Lists"]
    header = [c.value for c in book["Register"][1]]
    assert header[:3] == ["ID", "Name", "Type"] and header[4:6] == ["Prefecture", "County"]
    found = validations(book["Register"])
    assert found["C"][1] == "'Lists'!$A$2:$A$7"
    assert lists_of(book)["Type"][0] == "Entrepreneurship incubation base"
    assert lists_of(book)["Datum"][1] == "GCJ-02 (Amap, Tencent)"  # a comma: only by range


def test_instructions_sheet(counties):
    sheet = open_book(build("facilities", counties))["填写说明"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0][0] == "设施登记表模板 · 填写说明"
    assert rows[1][:2] == ["地区", "吉林省（220000）"]
    assert rows[2][:2] == ["生成日期", "2025-10-08"]
    assert rows[4] == ["列", "是否必填", "说明", "示例"]
    by_column = {r[0]: r for r in rows[5:16]}
    assert list(by_column) == [t(f"field.{f}") for f in TEMPLATE_FIELDS["facilities"]]
    assert by_column["名称"][1] == "必填" and by_column["备注"][1] == "选填"
    assert by_column["县（市、区）"][1] == "县（市、区）与经纬度至少填一项"
    # the example row: the first county, 长春市南关区, a WGS84 point inside it
    assert by_column["市（州）"][3] == "长春市" and by_column["县（市、区）"][3] == "南关区"
    assert by_column["类型"][3] == "残疾人创业孵化基地"
    assert by_column["坐标系"][3] == "WGS84（GPS）"
    nanguan = counties.set_index("adcode").geometry["220102"]
    assert nanguan.contains(shapely.Point(by_column["经度"][3], by_column["纬度"][3]))
    text = "\n".join(str(v) for r in rows[16:] for v in r if v)
    assert "WGS84（GPS）、GCJ-02（高德、腾讯）、BD-09（百度）、CGCS2000（天地图）" in text
    assert "CGCS2000（天地图、国家2000）" in text and "必填" in text and "不在地图上显示" in text


def test_unemployed_template_lists_every_county(counties):
    book = open_book(build("unemployed", counties))
    sheet = book["登记表"]
    rows = [[c.value for c in r] for r in sheet.iter_rows()]
    assert rows[0] == ["行政区划代码", "市（州）", "县（市、区）", "未就业残疾人数"]
    assert len(rows) == 61
    assert rows[1] == ["220102", "长春市", "南关区", None]
    assert ["220184", "长春市", "公主岭市", None] in rows
    assert rows[-1] == ["222426", "延边朝鲜族自治州", "安图县", None]
    assert sheet["A2"].data_type == "s" and sheet["A2"].number_format == "@"
    found = validations(sheet)
    assert found["D"] == ("whole", "0", None, None, "D2:D2001")
    assert found["C"][1] == "'选项'!$B$2:$B$61"
    help_rows = [[c.value for c in r] for r in book["填写说明"].iter_rows()]
    assert help_rows[0][0] == "未就业残疾人数模板 · 填写说明"
    assert help_rows[8][:2] == ["未就业残疾人数", "必填"]


def test_bad_arguments_are_named(counties):
    with pytest.raises(ValueError, match="unknown template 'people'"):
        template_workbook("people", counties=counties, region_name="吉林省", region_adcode="220000")
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        template_workbook(
            "facilities", counties=counties, region_name="吉林省", region_adcode="220000", lang="fr"
        )
    with pytest.raises(ValueError, match="missing \\['prefecture'\\]"):
        template_workbook(
            "facilities",
            counties=counties.drop(columns="prefecture"),
            region_name="吉林省",
            region_adcode="220000",
        )


# --- filled and imported -----------------------------------------------------------------

# County seats (WGS84), each 14-28 km inside its county.
DUNHUA = (128.232, 43.373)  # 敦化市 222403
TONGYU = (123.088, 44.813)  # 通榆县 220822
NONGAN = (125.18, 44.43)  # 农安县 220122
WANGQING = (129.77, 43.31)  # 汪清县 222424
YUSHU = (126.53, 44.84)  # 榆树市 220182


def _gcj(point):
    lon, lat = coords.wgs84_to_gcj02(*point)
    return round(float(lon), 6), round(float(lat), 6)


def _bd(point):
    lon, lat = coords.wgs84_to_bd09(*point)
    return round(float(lon), 6), round(float(lat), 6)


def facility_rows(lists: dict[str, list[str]], lang: str) -> list[tuple[dict, str]]:
    """Rows as a steward fills them (values from the drop-downs), with the adcode expected."""
    types = lists[t("field.type", lang)]
    datums = dict(zip(coords.DATUMS, lists[t("field.datum", lang)], strict=True))
    cities, county_list = lists[t("field.city", lang)], lists[t("field.county", lang)]
    rows = [
        # coordinates and datum, with city and county
        ({"name": "敦化市残疾人创业孵化基地", "type": types[0], "city": "延边朝鲜族自治州",
          "county": "敦化市", "lon": DUNHUA[0], "lat": DUNHUA[1], "datum": datums["wgs84"]},
         "222403"),
        ({"name": "通榆县阳光家园", "type": types[3], "city": "白城市", "county": "通榆县",
          "lon": _gcj(TONGYU)[0], "lat": _gcj(TONGYU)[1], "datum": datums["gcj02"]}, "220822"),
        # coordinates and datum, a city but no county; no city or county at all
        ({"name": "农安县盲人按摩中心", "type": types[2], "city": "长春市",
          "lon": _bd(NONGAN)[0], "lat": _bd(NONGAN)[1], "datum": datums["bd09"]}, "220122"),
        ({"name": "汪清县就业帮扶基地", "type": types[1], "lon": WANGQING[0],
          "lat": WANGQING[1], "datum": datums["cgcs2000"]}, "222424"),
        # coordinates without a datum: read as WGS84
        ({"name": "榆树市美丽工坊", "type": types[5], "city": "长春市", "county": "榆树市",
          "lon": YUSHU[0], "lat": YUSHU[1], "facility_id": "JL-0005"}, "220182"),
        # only the county (and mostly the city)
        ({"name": "长白县残疾人之家", "type": types[3], "city": "白山市",
          "county": "长白朝鲜族自治县", "address": "长白镇新华街 12 号"}, "220623"),
        ({"name": "前郭县就业帮扶基地", "type": types[1], "city": "松原市",
          "county": "前郭尔罗斯蒙古族自治县", "subtype": "就业（扶贫）基地"}, "220721"),
        ({"name": "公主岭市创业孵化基地", "type": types[0], "city": "长春市",
          "county": "公主岭市"}, "220184"),
        ({"name": "吉林市特殊教育学校", "type": types[4], "city": "吉林市", "county": "船营区"},
         "220204"),
        ({"name": "梨树县盲人按摩店", "type": types[2], "county": "梨树县", "note": "示范"},
         "220322"),
        ({"name": "安图县美丽工坊", "type": types[5], "city": "延边朝鲜族自治州",
          "county": "安图县"}, "222426"),
    ]  # fmt: skip
    for row, _ in rows:
        assert row.get("city", cities[0]) in cities
        assert row.get("county", county_list[0]) in county_list
    return rows


def fill(data: bytes, kind: str, rows: list[dict]) -> bytes:
    """Write ``rows`` (field -> value) under the header of the template's first sheet."""
    book = open_book(data)
    sheet = book.worksheets[0]
    column = {f: i + 1 for i, f in enumerate(TEMPLATE_FIELDS[kind])}
    for r, row in enumerate(rows, start=2):
        for field, value in row.items():
            sheet.cell(row=r, column=column[field], value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_filled_facility_template_imports_every_row_in_its_county(counties, lang):
    blank = build("facilities", counties, lang)
    rows = facility_rows(lists_of(open_book(blank)), lang)
    imported = read_facilities(fill(blank, "facilities", [r for r, _ in rows]), counties=counties)
    report = imported.report.set_index("row")
    assert list(report.index) == list(range(2, 13))
    assert (imported.accepted, imported.flagged, imported.rejected, imported.skipped) == (
        11,
        0,
        0,
        0,
    )
    # a row placed by its county alone is accepted; its note says it is not on the map
    with_point = [r["name"] for r, _ in rows if "lon" in r]
    county_only = report[~report["name"].isin(with_point)]
    assert len(county_only) == 6
    assert county_only["note"].str.contains("不在地图上显示" if lang == "zh" else "").all()
    placed = dict(zip(imported.facilities["name"], imported.facilities["adcode"], strict=True))
    assert placed == {row["name"]: adcode for row, adcode in rows}
    types = dict(
        zip(imported.facilities["name"], imported.facilities["facility_type"], strict=True)
    )
    assert types["吉林市特殊教育学校"] == "vocational_school"
    assert types["通榆县阳光家园"] == "auxiliary_institution"
    on_map = imported.facilities.dropna(subset=["lon"])
    assert sorted(on_map["name"]) == sorted(with_point)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_template_filled_with_coordinates_imports_without_a_flag(counties, lang):
    blank = build("facilities", counties, lang)
    rows = [(r, a) for r, a in facility_rows(lists_of(open_book(blank)), lang) if "lon" in r]
    imported = read_facilities(fill(blank, "facilities", [r for r, _ in rows]), counties=counties)
    assert (imported.accepted, imported.flagged, imported.rejected) == (5, 0, 0)
    placed = dict(zip(imported.facilities["name"], imported.facilities["adcode"], strict=True))
    assert placed == {row["name"]: adcode for row, adcode in rows}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_filled_unemployed_template_imports_every_county(counties, lang):
    blank = build("unemployed", counties, lang)
    sheet = open_book(blank).worksheets[0]
    codes = [sheet.cell(row=r, column=1).value for r in range(2, sheet.max_row + 1)]
    # the count of each county is the last three digits of its code: 220102 -> 102
    filled = fill(blank, "unemployed", [{"count": int(code[-3:])} for code in codes])
    imported = read_unemployed(filled, counties=counties)
    assert (imported.accepted, imported.flagged, imported.rejected, imported.skipped) == (
        60,
        0,
        0,
        0,
    )
    counts = imported.counts.set_index("adcode")["unemployed_disabled"]
    assert counts["220102"] == 102 and counts["220184"] == 184 and counts["222426"] == 426
    assert len(counts) == 60 and not imported.missing_units


# --- the command -------------------------------------------------------------------------


def test_command_writes_the_template(tmp_path, capsys):
    out = tmp_path / "facilities.xlsx"
    assert cli.main(["template", "facilities", "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["登记表", "填写说明", "选项"]
    assert book["填写说明"]["B2"].value == "吉林省（220000）"
    assert f"wrote {out}" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["facilities.xlsx"]  # nothing left beside


def test_command_in_english_for_the_counts(tmp_path):
    out = tmp_path / "counts.xlsx"
    assert (
        cli.main(
            ["template", "unemployed", "--region", "220000", "--lang", "en", "--out", str(out)]
        )
        == 0
    )
    sheet = openpyxl.load_workbook(out).worksheets[0]
    assert [c.value for c in sheet[1]] == ["Adcode", "Prefecture", "County", "Unemployed disabled"]
    assert sheet.max_row == 61


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ["--region", "999999", "--lang", "en"],
            "--region: '999999' is not a built region; built: ",
        ),
        (["--region", "吉林"], "--region：“吉林”不是已建好的地区；已建好的地区："),
    ],
)
def test_command_refuses_an_unknown_region(tmp_path, capsys, args, says):
    out = tmp_path / "t.xlsx"
    assert cli.main(["template", "unemployed", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not out.exists()


def test_command_refuses_a_missing_folder(tmp_path, capsys):
    out = tmp_path / "no" / "t.xlsx"
    assert cli.main(["template", "facilities", "--out", str(out)]) == 2
    assert f"文件夹 {out.parent} 不存在" in capsys.readouterr().err and not out.parent.exists()
    assert cli.main(["template", "facilities", "--lang", "en", "--out", str(out)]) == 2
    assert f"the folder {out.parent} does not exist" in capsys.readouterr().err


def test_command_kinds_are_the_template_kinds():
    from geoapp.cli import template as command

    assert command.KINDS == KINDS


# --- the data page -----------------------------------------------------------------------

PASSWORD = "steward-password-1"


@pytest.fixture
def steward_page(tmp_path, monkeypatch):
    """The data page on an empty store, a data steward signed in, downloads recorded."""
    import streamlit as st

    from pages import cache

    monkeypatch.setenv("GEOAPP_STORE", str(tmp_path / "geoapp.gpkg"))
    monkeypatch.setenv("GEOAPP_ACCOUNTS", str(tmp_path / "accounts.toml"))
    cache._source.clear()
    st.cache_data.clear()
    auth.add_user("wang", PASSWORD, role="steward")
    made: list[MediaFileManager] = []

    class Recording(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(app_test_module, "MediaFileManager", Recording)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=240)
    at.switch_page("pages/data.py")
    at.run()
    at.text_input(key="signin_name").input("wang")
    at.text_input(key="signin_password").input(PASSWORD)
    yield at.button(key="signin_submit").click().run(), made
    cache._source.clear()
    st.cache_data.clear()


def test_the_data_page_offers_both_templates(steward_page):
    at, media = steward_page
    assert not at.exception
    buttons = at.get("download_button")
    kinds = [k for b in buttons for k in KINDS if b.proto.id.endswith(f"data_template_{k}")]
    assert kinds == list(KINDS) and len(buttons) == 2
    button = buttons[1]
    assert button.label == "下载未就业残疾人数模板（Excel）"
    proto = button.proto
    url = proto.url or media[-1].execute_deferred(proto.deferred_file_id)
    data = media[-1]._storage.get_file(url.rsplit("/", 1)[-1]).content
    sheet = openpyxl.load_workbook(io.BytesIO(data))["登记表"]
    assert sheet["A2"].value == "220102" and sheet.max_row == 61
