"""Tests for geoapp.analysis.profile: neighbours, geodesic distances and the county sheet.

The toy region is three unit squares in a row, in two prefectures of a fictitious
province 990000 (the same layout as tests/test_coverage.py):

    990100 甲市: 990102 东区 (district)          box(0, 0, 1, 1), 500 unemployed
                 990121 乙县 (county)            box(1, 0, 2, 1), 300 unemployed
    990200 丙市: 990281 丁市 (county-level city) box(2, 0, 3, 1), 400 unemployed

Worked out by hand:
- 乙县 (the middle square) borders both others; 东区 and 丁市 only 乙县.
- A shared edge runs from latitude 0° to 1° along a meridian: the meridian arc of the
  first degree from the equator on WGS84, 110.574 km.
- A square 990301 put on top of 乙县, box(1, 1, 2, 2), shares an edge with 乙县 but only
  a corner point with 东区 and with 丁市: it is 乙县's neighbour, not theirs.
- Two points 1° of latitude apart at 43.5°-44.5°N are 111.1 km apart (the meridian
  degree there: 111132.954 - 559.822·cos 88° + ... ≈ 111 113 m); 1° of longitude on the
  equator is 111.320 km.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geoapp import datasource, regions
from geoapp.analysis.coverage import compute_gaps
from geoapp.analysis.profile import RULE_COLUMNS, county_profile, distances_km, neighbours
from geoapp.facilities import FACILITY_TYPES
from geoapp.policy import load_policy

SQUARES = {
    # adcode: (name, prefecture adcode, prefecture, unit_kind, x of the square, unemployed, pop)
    "990102": ("东区", "990100", "甲市", "district", 0, 500, 50_000),
    "990121": ("乙县", "990100", "甲市", "county", 1, 300, 30_000),
    "990281": ("丁市", "990200", "丙市", "county_level_city", 2, 400, 40_000),
}

TOY_POLICY = """\
key = "toy"
title = "测试方案"
document = "测试〔2025〕1号"
issuer = "测试办公室"
period = { start = 2025, end = 2027 }
region = { adcode = "990000", name = "测试省" }
seed = "toy.txt"

[[rules]]
id = "aux-county"
facility_type = "auxiliary_institution"
level = "county"
unit_kinds = ["county", "autonomous_county", "county_level_city"]
broad_reading_adds = ["district"]
comparison = "at_least"
value = 1
strength = "mandatory"
clause = "1"
quote = "各县（市）至少建立1个"

[[rules]]
id = "inc-prefecture"
facility_type = "incubation_base"
level = "prefecture"
comparison = "at_least"
value = 1
strength = "mandatory"
clause = "2"
quote = "各市至少1个"

[[rules]]
id = "rural-county"
facility_type = "rural_help_base"
level = "county"
unit_kinds = ["district", "county", "autonomous_county", "county_level_city"]
comparison = "at_least"
value = 1
strength = "aspirational"
clause = "3"
quote = "各县（市、区）力争1个"
"""


@pytest.fixture
def counties() -> gpd.GeoDataFrame:
    rows = [
        {
            "adcode": code,
            "name": name,
            "prefecture_adcode": pcode,
            "prefecture": pref,
            "unit_kind": kind,
            "area_km2": 12_300.0,
            "geometry": box(x, 0, x + 1, 1),
        }
        for code, (name, pcode, pref, kind, x, _, _) in SQUARES.items()
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


@pytest.fixture
def unemployed() -> pd.DataFrame:
    return pd.DataFrame(
        {"adcode": list(SQUARES), "unemployed_disabled": [v[5] for v in SQUARES.values()]}
    )


@pytest.fixture
def population() -> pd.DataFrame:
    return pd.DataFrame({"adcode": list(SQUARES), "pop2020": [v[6] for v in SQUARES.values()]})


@pytest.fixture
def facilities() -> gpd.GeoDataFrame:
    # 乙县: a massage shop at its seat (1.5, 0.5) and a rural help base 0.5° east of it,
    # on its border with 丁市. 甲市's only incubation base is in 东区; 丁市 has an
    # auxiliary institution.
    rows = [
        ("F1", "乙县帮扶基地", "rural_help_base", "990121", Point(2.0, 0.5)),
        ("F2", "乙县按摩店", "massage_institution", "990121", Point(1.5, 0.5)),
        ("F3", "东区孵化基地", "incubation_base", "990102", Point(0.5, 0.5)),
        ("F4", "丁市辅助性就业机构", "auxiliary_institution", "990281", Point(2.5, 0.5)),
    ]
    return gpd.GeoDataFrame(
        [
            {
                "facility_id": i,
                "name": n,
                "facility_type": t,
                "subtype": "",
                "address": "",
                "adcode": a,
                "geometry": g,
            }
            for i, n, t, a, g in rows
        ],
        geometry="geometry",
        crs="EPSG:4326",
    )


@pytest.fixture
def seats(counties) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"adcode": counties["adcode"], "source": "centre"},
        geometry=[Point(v[4] + 0.5, 0.5) for v in SQUARES.values()],
        crs="EPSG:4326",
    )


@pytest.fixture
def toy_policy(tmp_path):
    path = tmp_path / "toy.toml"
    path.write_text(TOY_POLICY, encoding="utf-8")
    return load_policy(path)


def profile_of(adcode, reading, *, counties, facilities, unemployed, population, seats, policy):
    result = compute_gaps(
        policy, counties=counties, facilities=facilities, unemployed=unemployed, reading=reading
    )
    return county_profile(
        adcode,
        counties=counties,
        facilities=facilities,
        unemployed=unemployed,
        population=population,
        gap_result=result,
        seats=seats,
    )


# --- neighbours ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("adcode", "expected"),
    [("990121", ["990102", "990281"]), ("990102", ["990121"]), ("990281", ["990121"])],
)
def test_neighbours_of_squares_in_a_row(counties, adcode, expected):
    assert sorted(neighbours(adcode, counties)["adcode"]) == expected


def test_shared_border_is_the_first_meridian_degree(counties):
    near = neighbours("990121", counties)
    assert near["shared_border_km"].to_numpy() == pytest.approx([110.574, 110.574], abs=0.01)
    assert {"name", "prefecture", "unit_kind"} <= set(near.columns)
    assert "geometry" not in near.columns


def test_a_corner_contact_is_not_a_neighbour(counties):
    top = gpd.GeoDataFrame(
        {
            "adcode": ["990301"],
            "name": ["上县"],
            "prefecture_adcode": ["990300"],
            "prefecture": ["戊市"],
            "unit_kind": ["county"],
            "area_km2": [1.0],
        },
        geometry=[box(1, 1, 2, 2)],
        crs="EPSG:4326",
    )
    region = pd.concat([counties, top], ignore_index=True)
    assert sorted(neighbours("990121", region)["adcode"]) == ["990102", "990281", "990301"]
    assert neighbours("990102", region)["adcode"].tolist() == ["990121"]
    assert neighbours("990301", region)["adcode"].tolist() == ["990121"]


def test_an_overlapping_sliver_still_counts(counties):
    # 丁市 drawn 0.01° too far west: it overlaps 乙县 instead of touching it.
    shifted = counties.copy()
    shifted.loc[2, "geometry"] = box(1.99, 0, 3, 1)
    assert sorted(neighbours("990121", shifted)["adcode"]) == ["990102", "990281"]


def test_neighbours_leaves_the_input_alone_and_refuses_unknown_codes(counties):
    before = counties.copy()
    neighbours("990121", counties)
    assert counties.equals(before)
    with pytest.raises(ValueError, match="999999"):
        neighbours("999999", counties)


# --- distances ----------------------------------------------------------------------------


def test_distances_are_geodesic_km():
    points = gpd.GeoSeries([Point(126, 43.5), Point(126, 44.5), Point(1, 0)], crs=4326)
    km = distances_km(points, Point(126, 43.5))
    assert km[0] == 0
    assert km[1] == pytest.approx(111.1, abs=0.05)
    assert distances_km(gpd.GeoSeries([Point(1, 0)], crs=4326), Point(0, 0))[0] == pytest.approx(
        111.320, abs=0.001
    )


def test_distances_convert_a_projected_crs_and_accept_no_points():
    utm = gpd.GeoSeries([Point(126, 44.5)], crs=4326).to_crs(32652)
    assert distances_km(utm, Point(126, 43.5))[0] == pytest.approx(111.1, abs=0.05)
    assert len(distances_km(gpd.GeoSeries([], crs=4326), Point(0, 0))) == 0


# --- the profile ---------------------------------------------------------------------------


@pytest.fixture
def inputs(counties, facilities, unemployed, population, seats, toy_policy):
    return {
        "counties": counties,
        "facilities": facilities,
        "unemployed": unemployed,
        "population": population,
        "seats": seats,
        "policy": toy_policy,
    }


def test_profile_facts_counts_and_distances(inputs):
    p = profile_of("990121", "literal", **inputs)
    assert (p.name, p.prefecture, p.unit_kind) == ("乙县", "甲市", "county")
    assert (p.pop2020, p.unemployed_disabled, p.area_km2) == (30_000, 300, 12_300.0)
    counts = dict(zip(p.facility_counts["facility_type"], p.facility_counts["count"], strict=False))
    assert list(counts) == list(FACILITY_TYPES)
    assert counts["rural_help_base"] == 1 and counts["massage_institution"] == 1
    assert counts["auxiliary_institution"] == 0
    # Seat at (1.5, 0.5): the massage shop is there, the help base 0.5° of longitude east.
    assert p.facilities["facility_id"].tolist() == ["F2", "F1"]
    assert p.facilities["distance_km"].tolist() == [0.0, pytest.approx(55.7, abs=0.05)]


def test_a_facility_without_coordinates_is_listed_last_with_no_distance(inputs):
    """A facility placed by its declared county or address has no point: the profile
    lists it after the others with no distance (the page crashed on it)."""
    extra = inputs["facilities"].iloc[[0]].assign(facility_id="F0", name="无坐标工坊")
    extra = extra.set_geometry(gpd.GeoSeries([None], index=extra.index, crs="EPSG:4326"))
    facilities = pd.concat([inputs["facilities"], extra], ignore_index=True)
    p = profile_of("990121", "literal", **{**inputs, "facilities": facilities})
    assert p.facilities["facility_id"].tolist() == ["F2", "F1", "F0"]
    assert p.facilities["distance_km"].iloc[:2].tolist() == [0.0, pytest.approx(55.7, abs=0.05)]
    assert np.isnan(p.facilities["distance_km"].iloc[2])


def test_profile_rules_with_the_prefecture_rule(inputs):
    p = profile_of("990121", "literal", **inputs)
    assert list(p.rules.columns) == list(RULE_COLUMNS)
    rules = p.rules.set_index("rule_id")
    # 乙县 has no auxiliary institution: a mandatory shortfall of 1.
    assert rules.loc["aux-county", ["status", "strength", "shortfall", "clause"]].tolist() == [
        "shortfall",
        "mandatory",
        1,
        "1",
    ]
    # 甲市's incubation base (in 东区) meets the prefecture rule for 乙县 too.
    assert rules.loc["inc-prefecture", ["unit", "status", "actual"]].tolist() == [
        "prefecture",
        "met",
        1,
    ]
    assert rules.loc["rural-county", "status"] == "met"
    assert p.rules["status"].iloc[0] == "shortfall"  # shortfalls first
    assert p.mandatory_shortfalls["rule_id"].tolist() == ["aux-county"]


def test_the_reading_brings_a_district_into_the_aux_rule(inputs):
    literal = profile_of("990102", "literal", **inputs).rules.set_index("rule_id")
    broad = profile_of("990102", "broad", **inputs).rules.set_index("rule_id")
    assert literal.loc["aux-county", "status"] == "not_in_scope"
    assert pd.isna(literal.loc["aux-county", "shortfall"])
    assert broad.loc["aux-county", ["status", "shortfall"]].tolist() == ["shortfall", 1]


def test_neighbour_situation(inputs):
    p = profile_of("990121", "literal", **inputs)
    near = p.neighbours.set_index("adcode")
    assert sorted(near.index) == ["990102", "990281"]
    # 东区: rural help base missing (aspirational); aux rule not for districts (literal).
    assert near.loc["990102", ["gaps", "mandatory_gaps"]].tolist() == [1, 0]
    assert near.loc["990102", "gap_types"] == ("rural_help_base",)
    assert near.loc["990102", "incubation_base"] == 1
    # 丁市 has its aux institution but no rural help base.
    assert near.loc[
        "990281", ["auxiliary_institution", "total", "unemployed_disabled"]
    ].tolist() == [1, 1, 400]
    assert near.loc["990281", "gap_types"] == ("rural_help_base",)
    # The county itself, to set beside them: its aux institution is missing (mandatory).
    own = p.situation.set_index("adcode")
    assert own.index.tolist() == ["990121"]
    assert own.loc["990121", ["gaps", "mandatory_gaps", "total"]].tolist() == [1, 1, 2]
    assert own.loc["990121", "gap_types"] == ("auxiliary_institution",)


def test_unknown_county(inputs):
    with pytest.raises(ValueError, match="999999"):
        profile_of("999999", "literal", **inputs)


# --- on the embedded Jilin data -------------------------------------------------------------


@pytest.fixture(scope="module")
def jilin():
    src = datasource.default_source()
    counties = src.counties()
    return {
        "counties": counties,
        "facilities": src.facilities(),
        "unemployed": src.unemployed(),
        "population": src.population(),
        "seats": regions.county_seats(counties),
        "policy": load_policy("jilin-2025-2027"),
    }


def test_changbai_borders_linjiang_and_fusong(jilin):
    # Within Jilin, 长白朝鲜族自治县 borders only 临江市 and 抚松县 (the rest is the Yalu,
    # i.e. the DPRK border, outside the region); 临江市's border with it is the longer.
    near = neighbours("220623", jilin["counties"])
    assert near["name"].tolist() == ["临江市", "抚松县"]
    assert (near["shared_border_km"] > 30).all()


def test_jilin_corner_contacts_are_not_neighbours(jilin):
    # 九台区 and 榆树市 meet at a single point on the embedded boundaries.
    assert "220182" not in set(neighbours("220113", jilin["counties"])["adcode"])


def test_changbai_profile(jilin):
    p = profile_of("220623", "literal", **jilin)
    assert (p.name, p.prefecture, p.unit_kind) == (
        "长白朝鲜族自治县",
        "白山市",
        "autonomous_county",
    )
    assert p.pop2020 == 58_266
    counts = dict(zip(p.facility_counts["facility_type"], p.facility_counts["count"], strict=False))
    assert counts["auxiliary_institution"] == 0
    assert p.mandatory_shortfalls["rule_id"].tolist() == ["aux-county"]
    assert len(p.facilities) == sum(counts.values()) == 2
    assert p.facilities["distance_km"].is_monotonic_increasing
    assert (p.facilities["distance_km"] > 0).all() and (p.facilities["distance_km"] < 100).all()
    assert np.isfinite(p.facilities["distance_km"]).all()
