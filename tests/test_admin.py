"""Tests for geoapp.admin: register spellings -> current administrative units."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geoapp.admin import (
    ETHNIC_GROUPS,
    AdminLookupError,
    AdminRegistry,
    AmbiguousUnit,
    Resolution,
    UndecidableUnit,
    UnknownUnit,
    normalise_name,
    short_forms,
)
from geoapp.paths import reference_path

# Hand-made county polygons: unit squares (lon_min, lat_min) with real adcodes, so that
# every point answer can be checked by eye.
SQUARES = {
    "220104": ("朝阳区", "长春市", "220100", 125, 43),
    "220105": ("二道区", "长春市", "220100", 126, 43),
    "220102": ("南关区", "长春市", "220100", 127, 43),
    "220202": ("昌邑区", "吉林市", "220200", 126, 44),
    "220702": ("宁江区", "松原市", "220700", 124, 45),
    "220802": ("洮北区", "白城市", "220800", 122, 45),
    "220602": ("浑江区", "白山市", "220600", 126, 41),
    "220621": ("抚松县", "白山市", "220600", 127, 42),
    "220623": ("长白朝鲜族自治县", "白山市", "220600", 128, 41),
    "222426": ("安图县", "延边朝鲜族自治州", "222400", 128, 42),
    "110105": ("朝阳区", "北京市", "110100", 116, 39),
}


def centre(adcode: str) -> tuple[float, float]:
    """The middle of a hand-made square."""
    *_, x, y = SQUARES[adcode]
    return (x + 0.5, y + 0.5)


# Which square each development zone's test point falls in.
ZONE_POINT_COUNTY = {
    "220171": "220105",  # 长春经济技术开发区
    "220172": "220102",  # 长春净月高新技术产业开发区
    "220173": "220104",  # 长春高新技术产业开发区
    "220174": "220104",  # 长春汽车经济技术开发区
    "220271": "220202",  # 吉林经济开发区
    "220272": "220202",  # 吉林高新技术产业开发区
    "220273": "220202",  # 吉林中国新加坡食品区
    "220771": "220702",  # 松原经济技术开发区
    "220871": "220802",  # 吉林白城经济开发区
}

ZONES = pd.read_csv(reference_path("development_zones.csv"), dtype=str)
CHANGES = pd.read_csv(reference_path("admin_code_changes.csv"), dtype=str)
ALIASES = pd.read_csv(reference_path("admin_aliases.csv"), dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    rows = [
        {
            "adcode": code,
            "name": name,
            "prefecture": pref,
            "prefecture_adcode": pref_code,
            "geometry": box(x, y, x + 1, y + 1),
        }
        for code, (name, pref, pref_code, x, y) in SQUARES.items()
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


@pytest.fixture(scope="module")
def reg(counties: gpd.GeoDataFrame) -> AdminRegistry:
    return AdminRegistry.default(counties=counties)


@pytest.fixture(scope="module")
def reg_no_polygons() -> AdminRegistry:
    return AdminRegistry.default()


# ------------------------------------------------------------------ basics


def test_exact_name_and_code(reg: AdminRegistry) -> None:
    r = reg.resolve("公主岭市")
    assert r == Resolution("220184", "公主岭市", "220100", "长春市", "吉林省", "exact", "")
    assert reg.resolve("220104").via == "code"
    assert reg.resolve(220104).adcode == "220104"
    assert reg.resolve(220104.0).adcode == "220104"  # what Excel gives


def test_resolution_is_frozen(reg: AdminRegistry) -> None:
    r = reg.resolve("公主岭市")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.adcode = "000000"  # type: ignore[misc]


def test_errors_share_a_base() -> None:
    for cls in (UnknownUnit, AmbiguousUnit, UndecidableUnit):
        assert issubclass(cls, AdminLookupError)
        assert issubclass(cls, ValueError)


# ------------------------------------------------------------------ short forms


@pytest.mark.parametrize(
    ("given", "adcode", "via"),
    [
        ("长白县", "220623", "short_form"),
        ("长白", "220623", "short_form"),
        ("前郭县", "220721", "alias"),
        ("前郭", "220721", "alias"),
        ("前郭尔罗斯县", "220721", "short_form"),
        ("伊通县", "220323", "short_form"),
        ("伊通", "220323", "short_form"),
        ("公主岭", "220184", "short_form"),
        ("长白朝鲜族自治县", "220623", "exact"),
    ],
)
def test_county_short_forms(reg: AdminRegistry, given: str, adcode: str, via: str) -> None:
    r = reg.resolve(given)
    assert (r.adcode, r.via) == (adcode, via)


@pytest.mark.parametrize("given", ["延边州", "延边", "延边朝鲜族自治州", "222400"])
def test_yanbian_as_prefecture(reg: AdminRegistry, given: str) -> None:
    assert reg.resolve(given, level="prefecture").adcode == "222400"
    assert reg.resolve("延吉市", prefecture=given).adcode == "222401"


def test_short_form_rules() -> None:
    assert short_forms("长白朝鲜族自治县") == ["长白县", "长白"]
    assert short_forms("伊通满族自治县") == ["伊通县", "伊通"]
    assert short_forms("延边朝鲜族自治州") == ["延边州", "延边"]
    assert "前郭尔罗斯县" in short_forms("前郭尔罗斯蒙古族自治县")
    assert short_forms("海西蒙古族藏族自治州") == ["海西州", "海西"]
    assert short_forms("博尔塔拉蒙古自治州") == ["博尔塔拉州", "博尔塔拉"]
    assert short_forms("朝阳区") == ["朝阳"]
    assert short_forms("赵县") == []  # one character would be left
    assert short_forms("西藏自治区") == ["西藏"]


def test_short_form_that_is_also_a_prefecture_is_ambiguous(reg: AdminRegistry) -> None:
    with pytest.raises(AmbiguousUnit) as info:
        reg.resolve("通化")
    assert "吉林省通化市 (220500)" in info.value.candidates
    assert "通化市通化县 (220521)" in info.value.candidates
    assert reg.resolve("通化县").adcode == "220521"


def test_prefecture_name_at_county_level_says_so(reg: AdminRegistry) -> None:
    with pytest.raises(UnknownUnit, match="prefecture-level unit 吉林省长春市 \\(220100\\)"):
        reg.resolve("长春")


# ------------------------------------------------------------------ normalisation


@pytest.mark.parametrize(
    "given",
    [
        "　长 春 市 朝阳区",
        "长春市朝阳区",
        "吉林省长春市朝阳区",
        " 长春 朝阳区\u3000",
        "２２０１０４",
        " 220104 ",
        "220104000000",
    ],
)
def test_whitespace_full_width_and_prefixes(reg: AdminRegistry, given: str) -> None:
    assert reg.resolve(given).adcode == "220104"


def test_full_width_and_spaces_in_context(reg: AdminRegistry) -> None:
    assert reg.resolve("\u3000朝阳 区", prefecture="长 春").adcode == "220104"
    assert reg.resolve("前郭　县").adcode == "220721"
    assert reg.resolve("２２０３８１").adcode == "220184"
    assert normalise_name("　ＡＢ　c\u200bd ") == "ABcd"


# ------------------------------------------------------------------ old names and codes


@pytest.mark.parametrize("row", CHANGES.to_dict("records"), ids=lambda r: r["old_code"])
def test_old_codes(reg: AdminRegistry, row: dict[str, str]) -> None:
    r = reg.resolve(row["old_code"])
    assert r.adcode == row["new_code"]
    assert r.name == row["new_name"]
    if row["old_code"] == row["new_code"]:  # renamed in place (八道江区 -> 浑江区)
        assert r.via == "code"
    else:
        assert r.via == "old_code"
    assert row["old_name"] in r.note
    assert row["year"] in r.note


@pytest.mark.parametrize("row", CHANGES.to_dict("records"), ids=lambda r: r["old_name"])
def test_old_names_in_old_prefecture(reg: AdminRegistry, row: dict[str, str]) -> None:
    r = reg.resolve(row["old_name"], prefecture=row["old_prefecture"])
    assert (r.adcode, r.via) == (row["new_code"], "old_name")
    assert r.prefecture == row["new_prefecture"]
    assert reg.resolve(row["old_name"]).adcode == row["new_code"]


def test_gongzhuling_note(reg: AdminRegistry) -> None:
    r = reg.resolve("220381")
    assert r.note == "220381 公主岭市 (四平市) became 220184 公主岭市 (长春市) in 2020"
    assert reg.resolve("公主岭", prefecture="四平").adcode == "220184"
    assert reg.resolve("220381", prefecture="四平市").adcode == "220184"


# ------------------------------------------------------------------ development zones


@pytest.mark.parametrize("row", ZONES.to_dict("records"), ids=lambda r: r["code"])
def test_zone_without_point_is_undecidable(reg: AdminRegistry, row: dict[str, str]) -> None:
    for given in (row["code"], row["name"]):
        with pytest.raises(UndecidableUnit) as info:
            reg.resolve(given)
        message = str(info.value)
        assert repr(given) in message
        assert "not a legal county" in message
        assert "coordinates" in message
        assert info.value.candidates == (f"{row['prefecture']}{row['name']} ({row['code']})",)


@pytest.mark.parametrize("row", ZONES.to_dict("records"), ids=lambda r: r["code"])
def test_zone_with_point_lands_in_its_square(reg: AdminRegistry, row: dict[str, str]) -> None:
    expected = ZONE_POINT_COUNTY[row["code"]]
    point = centre(expected)
    for given in (row["code"], row["name"]):
        r = reg.resolve(given, point=point)
        assert (r.adcode, r.via) == (expected, "dev_zone_point")
        assert row["name"] in r.note
    assert reg.resolve(row["name"], point=Point(point)).adcode == expected


ZONE_ALIASES = ALIASES[ALIASES["kind"] == "dev_zone"].to_dict("records")


@pytest.mark.parametrize("row", ZONE_ALIASES, ids=lambda r: f"{r['alias']}-{r['adcode']}")
def test_zone_aliases(reg: AdminRegistry, row: dict[str, str]) -> None:
    expected = ZONE_POINT_COUNTY[row["adcode"]]
    prefecture = row["prefecture_adcode"] or None
    with pytest.raises(UndecidableUnit, match="coordinates"):
        reg.resolve(row["alias"], prefecture=prefecture)
    r = reg.resolve(row["alias"], prefecture=prefecture, point=centre(expected))
    assert (r.adcode, r.via) == (expected, "dev_zone_point")


@pytest.mark.parametrize(
    ("given", "prefecture", "adcode"),
    [
        ("长春经开区", None, "220105"),
        ("经开区", "长春市", "220105"),
        ("经开区", "长春", "220105"),
        ("净月区", None, "220102"),
        ("净月开发区", None, "220102"),
        ("净月高新区", None, "220102"),
        ("长春高新区", None, "220104"),
        ("高新区", "长春", "220104"),
        ("汽开区", None, "220104"),
        ("长春汽开区", None, "220104"),
        ("吉林经开区", None, "220202"),
        ("吉林高新区", None, "220202"),
        ("高新区", "吉林市", "220202"),
        ("中新食品区", None, "220202"),
        ("松原经开区", None, "220702"),
        ("白城经开区", None, "220802"),
    ],
)
def test_named_zone_aliases(
    reg: AdminRegistry, given: str, prefecture: str | None, adcode: str
) -> None:
    with pytest.raises(UndecidableUnit, match="coordinates"):
        reg.resolve(given, prefecture=prefecture)
    r = reg.resolve(given, prefecture=prefecture, point=centre(adcode))
    assert (r.adcode, r.via) == (adcode, "dev_zone_point")


def test_local_alias_needs_prefecture(reg: AdminRegistry) -> None:
    with pytest.raises(AmbiguousUnit) as info:
        reg.resolve("高新区")
    assert "长春市长春高新技术产业开发区 (220173)" in info.value.candidates
    assert "吉林市吉林高新技术产业开发区 (220272)" in info.value.candidates
    assert "give the prefecture" in str(info.value)
    # a point decides between the two prefectures' zones
    assert reg.resolve("高新区", point=centre("220202")).adcode == "220202"
    assert reg.resolve("高新区", point=centre("220104")).adcode == "220104"
    # a local alias is nothing in another prefecture
    with pytest.raises(UnknownUnit):
        reg.resolve("经开区", prefecture="四平市")


def test_zone_point_outside_its_prefecture(reg: AdminRegistry) -> None:
    with pytest.raises(UndecidableUnit) as info:
        reg.resolve("长春经开区", point=centre("220202"))
    message = str(info.value)
    assert "吉林市昌邑区 (220202)" in message
    assert "outside 长春市" in message
    with pytest.raises(UndecidableUnit, match="北京市朝阳区 \\(110105\\)"):
        reg.resolve("220172", point=centre("110105"))


def test_zone_point_problems(reg: AdminRegistry, reg_no_polygons: AdminRegistry) -> None:
    with pytest.raises(UndecidableUnit, match="no county polygon"):
        reg.resolve("汽开区", point=(100.5, 30.5))
    with pytest.raises(UndecidableUnit, match="boundary"):
        reg.resolve("汽开区", point=(126.0, 43.5))  # edge of 220104 and 220105
    with pytest.raises(UndecidableUnit, match="swapped"):
        reg.resolve("汽开区", point=(43.5, 125.5))
    with pytest.raises(UndecidableUnit, match="no county polygons"):
        reg_no_polygons.resolve("汽开区", point=centre("220104"))


@pytest.mark.parametrize("given", ["长白山保护开发区", "长白山管委会"])
def test_changbaishan_is_placed_by_coordinates(reg: AdminRegistry, given: str) -> None:
    with pytest.raises(UndecidableUnit, match="not a legal county"):
        reg.resolve(given)
    for county in ("220621", "220623", "222426"):
        r = reg.resolve(given, point=centre(county))
        assert (r.adcode, r.via) == (county, "dev_zone_point")
    with pytest.raises(UndecidableUnit, match="白山市浑江区"):
        reg.resolve(given, point=centre("220602"))  # 白山市, but not one of the three


def test_point_ignored_for_legal_counties(reg: AdminRegistry) -> None:
    assert reg.resolve("南关区", point=centre("220104")).adcode == "220102"


def test_locate_is_vectorised(reg: AdminRegistry) -> None:
    lon = [125.5, 126.5, 126.0, 100.0, np.nan]
    lat = [43.5, 44.5, 43.5, 30.0, 43.0]
    assert reg.locate(lon, lat).tolist() == ["220104", "220202", None, None, None]


# ------------------------------------------------------------------ ambiguity and scope


def test_chaoyang_ambiguous_without_prefecture(reg: AdminRegistry) -> None:
    with pytest.raises(AmbiguousUnit) as info:
        reg.resolve("朝阳区")
    assert set(info.value.candidates) == {"北京市朝阳区 (110105)", "长春市朝阳区 (220104)"}
    assert "北京市朝阳区 (110105)" in str(info.value)
    assert "长春市朝阳区 (220104)" in str(info.value)
    assert info.value.given == "朝阳区"


@pytest.mark.parametrize(
    ("prefecture", "adcode"),
    [
        ("长春", "220104"),
        ("长春市", "220104"),
        ("220100", "220104"),
        ("北京", "110105"),
        ("北京市", "110105"),
    ],
)
def test_chaoyang_with_prefecture(reg: AdminRegistry, prefecture: str, adcode: str) -> None:
    assert reg.resolve("朝阳区", prefecture=prefecture).adcode == adcode


def test_province_context(reg: AdminRegistry) -> None:
    assert reg.resolve("朝阳区", province="吉林省").adcode == "220104"
    assert reg.resolve("朝阳区", province="北京").adcode == "110105"
    assert reg.resolve("铁西区", province="吉林").adcode == "220302"
    with pytest.raises(AmbiguousUnit) as info:
        reg.resolve("铁西区")
    assert len(info.value.candidates) == 3
    with pytest.raises(AmbiguousUnit) as info:
        reg.resolve("铁西区", province="辽宁省")
    assert set(info.value.candidates) == {"沈阳市铁西区 (210106)", "鞍山市铁西区 (210303)"}


def test_outside_context_is_unknown(reg: AdminRegistry) -> None:
    with pytest.raises(UnknownUnit, match="in 四平市") as info:
        reg.resolve("朝阳区", prefecture="四平市")
    assert "长春市朝阳区 (220104)" in info.value.candidates


# ------------------------------------------------------------------ unknown


def test_unknown_lists_close_candidates(reg: AdminRegistry) -> None:
    with pytest.raises(UnknownUnit) as info:
        reg.resolve("朝阳去")
    message = str(info.value)
    assert "'朝阳去'" in message
    assert "长春市朝阳区 (220104)" in message
    assert "北京市朝阳区 (110105)" in message
    assert 1 <= len(info.value.candidates) <= 5
    assert info.value.given == "朝阳去"
    with pytest.raises(UnknownUnit) as info:
        reg.resolve("朝阳去", prefecture="长春")
    assert info.value.candidates[0] == "长春市朝阳区 (220104)"
    assert "北京市朝阳区 (110105)" not in info.value.candidates


def test_unknown_and_blank(reg: AdminRegistry) -> None:
    with pytest.raises(UnknownUnit, match="'火星区'"):
        reg.resolve("火星区")
    with pytest.raises(UnknownUnit, match="no name given"):
        reg.resolve("  ")
    with pytest.raises(UnknownUnit, match="'999999'"):
        reg.resolve("999999")
    with pytest.raises(UnknownUnit, match="'火星'"):
        reg.resolve("朝阳区", prefecture="火星")


# ------------------------------------------------------------------ aliases table


def test_alias_table_rows(reg: AdminRegistry) -> None:
    assert {"前郭县", "前郭"} <= set(ALIASES.loc[ALIASES["adcode"] == "220721", "alias"])
    for row in ALIASES.to_dict("records"):
        if row["kind"] == "county":
            assert reg.resolve(row["alias"]).adcode == row["adcode"]
        elif not row["prefecture_adcode"]:
            with pytest.raises(UndecidableUnit):
                reg.resolve(row["alias"])


# ------------------------------------------------------------------ tables


def test_resolve_many_keeps_every_row(reg: AdminRegistry) -> None:
    frame = pd.DataFrame(
        {
            "county": [
                "朝阳区",
                "朝阳区",
                "朝阳去",
                None,
                "长春经开区",
                "长春经开区",
                "２２０３８１",
                "长白县",
                "朝阳区",
            ],
            "city": ["长春", None, None, "长春", "长春市", "长春市", None, None, "北京"],
            "lon": [np.nan, np.nan, np.nan, np.nan, 126.5, np.nan, np.nan, np.nan, np.nan],
            "lat": [np.nan, np.nan, np.nan, np.nan, 43.5, np.nan, np.nan, np.nan, np.nan],
        },
        index=[10, 20, 30, 40, 50, 60, 70, 80, 10],  # duplicated on purpose
    )
    before = frame.copy()
    out = reg.resolve_many(
        frame, name_col="county", prefecture_col="city", lon_col="lon", lat_col="lat"
    )
    pd.testing.assert_frame_equal(frame, before)
    assert out.index.equals(frame.index)
    assert out["adcode"].tolist()[:1] == ["220104"]
    assert out["adcode"].iloc[4] == "220105"
    assert out["via"].iloc[4] == "dev_zone_point"
    assert out["adcode"].iloc[6] == "220184"
    assert out["via"].iloc[6] == "old_code"
    assert out["adcode"].iloc[7] == "220623"
    assert out["adcode"].iloc[8] == "110105"
    failed = [1, 2, 3, 5]
    assert out["adcode"].iloc[failed].isna().all()
    assert out["error"].iloc[[0, 4, 6, 7, 8]].isna().all()
    assert out["error_type"].iloc[failed].tolist() == [
        "AmbiguousUnit",
        "UnknownUnit",
        "UnknownUnit",
        "UndecidableUnit",
    ]
    assert "长春市朝阳区 (220104)" in out["error"].iloc[1]
    assert "'朝阳去'" in out["error"].iloc[2]
    assert "coordinates" in out["error"].iloc[5]


def test_resolve_many_bad_call_raises(reg: AdminRegistry) -> None:
    frame = pd.DataFrame({"county": ["朝阳区"]})
    with pytest.raises(ValueError, match="nosuch"):
        reg.resolve_many(frame, name_col="nosuch")
    with pytest.raises(UnknownUnit):
        reg.resolve_many(frame, name_col="county", province="火星省")


def test_registry_does_not_mutate_inputs(counties: gpd.GeoDataFrame) -> None:
    divisions = pd.read_csv(reference_path("admin_divisions.csv"), dtype=str)
    before = divisions.copy()
    squares_before = counties.copy()
    AdminRegistry(divisions, counties=counties)
    pd.testing.assert_frame_equal(divisions, before)
    pd.testing.assert_frame_equal(counties, squares_before)


def test_counties_must_be_current_units() -> None:
    bad = gpd.GeoDataFrame({"adcode": ["220381"], "geometry": [box(0, 0, 1, 1)]}, crs="EPSG:4326")
    with pytest.raises(ValueError, match="220381"):
        AdminRegistry.default(counties=bad)


def test_ethnic_list_has_56_groups() -> None:
    assert len(ETHNIC_GROUPS) == 56
    assert len(set(ETHNIC_GROUPS)) == 56


def test_every_jilin_county_resolves_in_province(reg: AdminRegistry) -> None:
    divisions = pd.read_csv(reference_path("admin_divisions.csv"), dtype=str)
    jilin = divisions[(divisions["level"] == "county") & (divisions["province"] == "吉林省")]
    assert len(jilin) == 60
    for code, name in zip(jilin["adcode"], jilin["name"], strict=True):
        assert reg.resolve(name, province="吉林省").adcode == code
        assert reg.resolve(code).adcode == code
