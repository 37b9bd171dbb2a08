"""Tests for geoapp.analysis.coverage: gap arithmetic on a hand-made region, then on the Jilin data.

The toy region is three unit squares in two prefectures of a fictitious province 990000:

    990100 甲市: 990102 东区 (district)          box(0, 0, 1, 1), 500 unemployed
                 990121 乙县 (county)            box(1, 0, 2, 1), 300 unemployed
    990200 丙市: 990281 丁市 (county-level city) box(2, 0, 3, 1), 400 unemployed

and the toy policy below; every expected number is worked out by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from shapely.geometry import Point, box

from geoapp.analysis.coverage import (
    ABOUT_THRESHOLD,
    PROGRESS_COLUMNS,
    TABLE_COLUMNS,
    assign_counties,
    compute_gaps,
    filter_units,
)
from geoapp.policy import DEFAULT_POLICY, load_policy

SQUARES = {
    # adcode: (name, prefecture adcode, prefecture, unit_kind, x of the square, unemployed)
    "990102": ("东区", "990100", "甲市", "district", 0, 500),
    "990121": ("乙县", "990100", "甲市", "county", 1, 300),
    "990281": ("丁市", "990200", "丙市", "county_level_city", 2, 400),
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
value = 2
strength = "mandatory"
clause = "2"
quote = "各市至少2个"

[[rules]]
id = "rural-county"
facility_type = "rural_help_base"
level = "county"
unit_kinds = ["district", "county", "autonomous_county", "county_level_city"]
comparison = "at_least"
value = 2
strength = "aspirational"
clause = "3"
quote = "各县（市、区）力争2个"

[[rules]]
id = "massage-county"
facility_type = "massage_institution"
level = "county"
unit_kinds = ["district", "county", "autonomous_county", "county_level_city"]
comparison = "about"
value = 10
strength = "target"
clause = "4"
quote = "各县（市、区）10个左右"

[[rules]]
id = "massage-province"
facility_type = "massage_institution"
level = "province"
comparison = "about"
value = 20
strength = "target"
clause = "5"
quote = "全省20个左右"

[[people_targets]]
id = "jobs-new"
label = "新增就业"
comparison = "at_least"
value = 100
clause = "6"
quote = "新增就业100人以上"
"""


def centre(adcode: str) -> Point:
    return Point(SQUARES[adcode][4] + 0.5, 0.5)


@pytest.fixture
def counties() -> gpd.GeoDataFrame:
    rows = [
        {
            "adcode": code,
            "name": name,
            "prefecture_adcode": pcode,
            "prefecture": pref,
            "unit_kind": kind,
            "geometry": box(x, 0, x + 1, 1),
        }
        for code, (name, pcode, pref, kind, x, _) in SQUARES.items()
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


@pytest.fixture
def unemployed() -> pd.DataFrame:
    return pd.DataFrame(
        {"adcode": list(SQUARES), "unemployed_disabled": [v[5] for v in SQUARES.values()]}
    )


# Facilities per county and type (all points at the square's centre).
PLACED = {
    "990102": {"incubation_base": 1, "rural_help_base": 2, "massage_institution": 9},
    "990121": {"incubation_base": 1, "massage_institution": 8},
    "990281": {"auxiliary_institution": 1, "rural_help_base": 1, "massage_institution": 10},
}


@pytest.fixture
def facilities() -> gpd.GeoDataFrame:
    rows = [
        {"facility_type": ftype, "adcode": code, "geometry": centre(code)}
        for code, per_type in PLACED.items()
        for ftype, n in per_type.items()
        for _ in range(n)
    ]
    # Three auxiliary institutions that must not count: no code, a blank code, a code
    # outside the region (with points outside every square).
    rows += [
        {"facility_type": "auxiliary_institution", "adcode": None, "geometry": Point(9, 9)},
        {"facility_type": "auxiliary_institution", "adcode": "", "geometry": Point(9, 8)},
        {"facility_type": "auxiliary_institution", "adcode": "110101", "geometry": Point(9, 7)},
    ]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


@pytest.fixture
def policy(tmp_path: Path):
    path = tmp_path / "toy.toml"
    path.write_text(TOY_POLICY, encoding="utf-8")
    return load_policy(path)


def gaps(policy, counties, facilities, unemployed, **kw):
    return compute_gaps(
        policy, counties=counties, facilities=facilities, unemployed=unemployed, **kw
    )


def row(table: pd.DataFrame, rule_id: str, adcode: str) -> dict:
    hit = table[(table["rule_id"] == rule_id) & (table["adcode"] == adcode)]
    assert len(hit) == 1, f"expected one row for {rule_id} {adcode}, got {len(hit)}"
    return hit.iloc[0].to_dict()


# --- assign_counties -----------------------------------------------------------------------


def test_assign_counties_inside_outside_and_on_borders(counties):
    points = gpd.GeoDataFrame(
        {"facility_id": list("abcdefg")},
        geometry=[
            centre("990102"),
            centre("990121"),
            centre("990281"),
            Point(5, 5),  # outside every square
            Point(1, 0.5),  # on the border 东区 | 乙县: in neither interior
            Point(0, 0.5),  # on the outer edge of 东区
            Point(2.9, 0.1),  # inside 丁市, near a corner
        ],
        crs="EPSG:4326",
    )
    before = points.copy()
    out = assign_counties(points, counties)
    got = out["adcode_by_point"].tolist()
    assert got[:3] == ["990102", "990121", "990281"]
    assert pd.isna(got[3]) and pd.isna(got[4]) and pd.isna(got[5])
    assert got[6] == "990281"
    assert list(out.columns) == ["facility_id", "geometry", "adcode_by_point"]
    assert_geodataframe_equal(points, before)  # input not mutated
    assert "adcode_by_point" not in points


def test_assign_counties_converts_the_points_crs(counties):
    points = gpd.GeoDataFrame(geometry=[centre("990121"), centre("990281")], crs="EPSG:4326")
    out = assign_counties(points.to_crs("EPSG:3857"), counties)
    assert out["adcode_by_point"].tolist() == ["990121", "990281"]
    assert out.crs == "EPSG:3857"  # the facilities keep their own CRS


def test_assign_counties_leaves_overlaps_undecided(counties):
    overlapping = pd.concat(
        [
            counties,
            gpd.GeoDataFrame({"adcode": ["990199"]}, geometry=[box(0, 0, 0.6, 1)], crs="EPSG:4326"),
        ],
        ignore_index=True,
    )
    points = gpd.GeoDataFrame(geometry=[Point(0.3, 0.5), Point(0.8, 0.5)], crs="EPSG:4326")
    got = assign_counties(points, overlapping)["adcode_by_point"].tolist()
    assert pd.isna(got[0]) and got[1] == "990102"


# --- compute_gaps: the literal reading -----------------------------------------------------


def test_literal_reading_required_actual_shortfall(policy, counties, facilities, unemployed):
    table = gaps(policy, counties, facilities, unemployed).table
    assert list(table.columns) == list(TABLE_COLUMNS)
    # aux-county, literal: the district 东区 is out of scope.
    assert set(table.loc[table["rule_id"] == "aux-county", "adcode"]) == {"990121", "990281"}
    assert {
        k: row(table, "aux-county", "990121")[k] for k in ("required", "actual", "shortfall")
    } == {"required": 1, "actual": 0, "shortfall": 1}
    assert row(table, "aux-county", "990281")["actual"] == 1
    assert row(table, "aux-county", "990281")["shortfall"] == 0
    # rural-county (all kinds, >= 2): 2, 0, 1 facilities.
    assert [row(table, "rural-county", c)["shortfall"] for c in SQUARES] == [0, 2, 1]
    # inc-prefecture (>= 2): 甲市 has 1 + 1, 丙市 none.
    assert row(table, "inc-prefecture", "990100")["actual"] == 2
    assert row(table, "inc-prefecture", "990200")["shortfall"] == 2
    assert len(table) == 2 + 2 + 3 + 3


def test_prefecture_rows(policy, counties, facilities, unemployed):
    table = gaps(policy, counties, facilities, unemployed).table
    pref = table[table["level"] == "prefecture"].set_index("adcode")
    assert list(pref.index) == ["990200", "990100"]  # the gap ranks first
    assert (pref["county"] == "").all()
    assert (pref["unit_kind"] == "prefecture").all()
    assert pref.loc["990100", "city"] == "甲市"
    assert pref.loc["990100", "prefecture_adcode"] == "990100"
    # Demand of a prefecture is the sum of its counties: 500 + 300.
    assert pref["unemployed_disabled"].tolist() == [400, 800]


def test_ranks_mandatory_then_aspirational_then_target_then_demand(
    policy, counties, facilities, unemployed
):
    result = gaps(policy, counties, facilities, unemployed)
    ranked = result.gaps_only()
    got = list(zip(ranked["rank"], ranked["rule_id"], ranked["adcode"], strict=True))
    assert got == [
        (1, "inc-prefecture", "990200"),  # mandatory, 400 unemployed
        (2, "aux-county", "990121"),  # mandatory, 300
        (3, "rural-county", "990281"),  # aspirational, 400
        (4, "rural-county", "990121"),  # aspirational, 300
        (5, "massage-county", "990102"),  # target, 500 (about: met, shortfall 1)
        (6, "massage-county", "990121"),  # target, 300
    ]
    no_gap = result.table[result.table["shortfall"] == 0]
    assert no_gap["rank"].isna().all()
    assert result.table["rank"].dtype == "Int64"


def test_ties_in_demand_are_broken_by_adcode(policy, counties, facilities, unemployed):
    same = unemployed.assign(unemployed_disabled=100)
    ranked = gaps(policy, counties, facilities, same).gaps_only()
    mandatory = ranked[ranked["strength"] == "mandatory"]
    # Prefecture 990200 has 100, county 990121 has 100: "990121" < "990200".
    assert mandatory["adcode"].tolist() == ["990121", "990200"]


def test_unknown_demand_ranks_last_within_its_strength(policy, counties, facilities, unemployed):
    partial = unemployed[unemployed["adcode"] != "990121"]
    result = gaps(policy, counties, facilities, partial)
    assert pd.isna(row(result.table, "aux-county", "990121")["unemployed_disabled"])
    ranked = result.gaps_only()
    assert ranked.loc[ranked["strength"] == "mandatory", "adcode"].tolist() == ["990200", "990121"]
    # 甲市's demand is what is known: 东区 alone.
    assert row(result.table, "inc-prefecture", "990100")["unemployed_disabled"] == 500


def test_about_rules_are_met_from_ninety_percent(policy, counties, facilities, unemployed):
    table = gaps(policy, counties, facilities, unemployed).table
    assert ABOUT_THRESHOLD == 0.9
    about = {c: row(table, "massage-county", c) for c in SQUARES}
    # about 10: 9 is met (shortfall still 1), 8 is not, 10 is.
    assert [(r["actual"], r["shortfall"], r["met"]) for r in about.values()] == [
        (9, 1, True),
        (8, 2, False),
        (10, 0, True),
    ]
    assert all(r["comparison"] == "about" and r["required"] == 10 for r in about.values())
    assert not row(table, "aux-county", "990121")["met"]
    assert table["met"].dtype == bool


# --- readings -------------------------------------------------------------------------------


def test_broad_reading_brings_the_district_into_scope(policy, counties, facilities, unemployed):
    result = gaps(policy, counties, facilities, unemployed, reading="broad")
    table = result.table
    assert set(table.loc[table["rule_id"] == "aux-county", "adcode"]) == set(SQUARES)
    district = row(table, "aux-county", "990102")
    assert (district["unit_kind"], district["shortfall"], district["rank"]) == ("district", 1, 1)
    ranked = result.gaps_only()
    assert ranked.loc[ranked["strength"] == "mandatory", "adcode"].tolist() == [
        "990102",
        "990200",
        "990121",
    ]
    # Rules without broad_reading_adds do not change.
    literal = gaps(policy, counties, facilities, unemployed).table
    for rule_id in ("rural-county", "massage-county", "inc-prefecture"):
        assert (table["rule_id"] == rule_id).sum() == (literal["rule_id"] == rule_id).sum()


def test_unknown_reading_is_refused(policy, counties, facilities, unemployed):
    with pytest.raises(ValueError, match="unknown reading 'wide'; expected one of literal, broad"):
        gaps(policy, counties, facilities, unemployed, reading="wide")


# --- progress, provenance, bookkeeping ---------------------------------------------------------


def test_progress_of_province_rules_and_people_targets(policy, counties, facilities, unemployed):
    progress = gaps(policy, counties, facilities, unemployed).progress
    assert list(progress.columns) == list(PROGRESS_COLUMNS)
    massage, jobs = progress.to_dict("records")
    # 9 + 8 + 10 placed massage institutions against about 20.
    assert (massage["rule_id"], massage["kind"], massage["target"], massage["actual"]) == (
        "massage-province",
        "facility",
        20,
        27,
    )
    assert massage["progress"] == pytest.approx(27 / 20)
    assert massage["met"]
    assert (jobs["rule_id"], jobs["kind"], jobs["facility_type"], jobs["target"]) == (
        "jobs-new",
        "people",
        "新增就业",
        100,
    )
    assert pd.isna(jobs["actual"]) and pd.isna(jobs["progress"]) and pd.isna(jobs["met"])
    assert jobs["strength"] == "target"


def test_unplaced_and_outside_facilities_are_counted_not_used(
    policy, counties, facilities, unemployed
):
    result = gaps(policy, counties, facilities, unemployed)
    assert result.unplaced_facilities == 2  # None and ""
    assert result.outside_facilities == 1  # 110101
    # None of the three reaches 乙县 or the province total.
    assert row(result.table, "aux-county", "990121")["actual"] == 0


def test_pipeline_from_points(policy, counties, facilities, unemployed):
    placed = assign_counties(facilities.drop(columns="adcode"), counties)
    by_point = gaps(policy, counties, placed, unemployed, facility_adcode_col="adcode_by_point")
    by_code = gaps(policy, counties, facilities, unemployed)
    pd.testing.assert_frame_equal(by_point.table, by_code.table)
    assert by_point.unplaced_facilities == 3  # all three extra points lie outside the squares
    assert by_point.outside_facilities == 0


def test_provenance_states_the_reading(policy, counties, facilities, unemployed):
    literal = gaps(policy, counties, facilities, unemployed).provenance()
    assert literal["policy_key"] == "toy" and literal["policy_document"] == "测试〔2025〕1号"
    assert literal["reading"] == "literal"
    assert literal["reading_text"] == (
        "字面解读：“各县（市）”不含市辖区 / literal reading: 各县（市） excludes city districts"
    )
    assert literal["reading_affects"] == ["aux-county"]
    assert literal["units"]["counties"] == 3 and literal["units"]["prefectures"] == 2
    assert literal["units"]["in_scope_by_rule"]["aux-county"] == 2
    assert (literal["gaps"], literal["mandatory_gaps"]) == (6, 2)
    broad = gaps(policy, counties, facilities, unemployed, reading="broad").provenance()
    assert broad["reading_zh"].startswith("宽泛解读") and "includes" in broad["reading_en"]
    assert broad["units"]["in_scope_by_rule"]["aux-county"] == 3


def test_inputs_are_not_mutated(policy, counties, facilities, unemployed):
    copies = counties.copy(), facilities.copy(), unemployed.copy()
    gaps(policy, counties, facilities, unemployed, reading="broad")
    assert_geodataframe_equal(counties, copies[0])
    assert_geodataframe_equal(facilities, copies[1])
    pd.testing.assert_frame_equal(unemployed, copies[2])


def test_counties_outside_the_policy_region_are_refused(counties, facilities, unemployed):
    with pytest.raises(ValueError, match="applies to 220000 吉林省, but none of the 3 counties"):
        gaps(load_policy(DEFAULT_POLICY), counties, facilities, unemployed)


def test_missing_columns_and_duplicate_demand_are_refused(policy, counties, facilities, unemployed):
    with pytest.raises(ValueError, match=r"counties lacks column\(s\) \['unit_kind'\]"):
        gaps(policy, counties.drop(columns="unit_kind"), facilities, unemployed)
    with pytest.raises(ValueError, match=r"facilities lacks column\(s\) \['adcode_by_point'\]"):
        gaps(policy, counties, facilities, unemployed, facility_adcode_col="adcode_by_point")
    doubled = pd.concat([unemployed, unemployed.head(1)])
    with pytest.raises(ValueError, match=r"several rows for adcode\(s\) \['990102'\]"):
        gaps(policy, counties, facilities, doubled)


def test_filter_units(policy, counties, facilities, unemployed):
    result = gaps(policy, counties, facilities, unemployed)
    jia = filter_units(result, prefecture="990100")
    assert set(jia.table["adcode"]) == {"990100", "990102", "990121"}
    assert jia.reading == "literal" and jia.progress is result.progress
    yi = filter_units(result, adcode=["990121"])
    assert set(yi.table["adcode"]) == {"990121"}
    assert yi.gaps_only()["rank"].tolist() == [2, 4, 6]  # ranks of the whole region
    assert filter_units(result, prefecture="990200", adcode="990121").table.empty
    with pytest.raises(ValueError, match="6-digit adcodes"):
        filter_units(result, prefecture="甲市")


def test_people_only_policy_gives_progress_and_no_rows(counties, facilities, unemployed, tmp_path):
    text = (
        TOY_POLICY.split("[[rules]]")[0]
        + "[[people_targets]]"
        + TOY_POLICY.split("[[people_targets]]")[1]
    )
    path = tmp_path / "toy.toml"
    path.write_text(text, encoding="utf-8")
    result = gaps(load_policy(path), counties, facilities, unemployed)
    assert result.table.empty and list(result.table.columns) == list(TABLE_COLUMNS)
    assert result.progress["rule_id"].tolist() == ["jobs-new"]
    assert result.gaps_only().empty


# --- integration: the embedded Jilin data, default policy ---------------------------------------


@pytest.fixture(scope="module")
def jilin():
    from geoapp.datasource import default_source

    source = default_source()
    return source.counties(), source.facilities(), source.unemployed()


def jilin_gaps(jilin, reading="literal"):
    counties, facilities, unemployed = jilin
    return compute_gaps(
        DEFAULT_POLICY,
        counties=counties,
        facilities=facilities,
        unemployed=unemployed,
        reading=reading,
    )


def test_jilin_deliberate_gaps_rank_first(jilin):
    result = jilin_gaps(jilin)
    ranked = result.gaps_only()
    mandatory = ranked[ranked["strength"] == "mandatory"]
    rows = zip(mandatory["rule_id"], mandatory["adcode"], mandatory["shortfall"], strict=True)
    assert set(rows) == {
        ("aux-county", "220623", 1),  # 长白朝鲜族自治县
        ("aux-county", "220822", 1),  # 通榆县
        ("inc-prefecture", "220400", 1),  # 辽源市
    }
    assert mandatory["rank"].tolist() == [1, 2, 3]
    assert ranked["rank"].tolist() == list(range(1, len(ranked) + 1))
    assert (ranked.loc[ranked["rank"] > 3, "strength"] != "mandatory").all()
    liaoyuan = row(result.table, "inc-prefecture", "220400")
    assert (liaoyuan["county"], liaoyuan["unit_kind"], liaoyuan["city"]) == (
        "",
        "prefecture",
        "辽源市",
    )
    assert result.n_counties == 60 and result.n_prefectures == 9


def test_jilin_literal_and_broad_reading_of_the_aux_rule(jilin):
    literal = jilin_gaps(jilin).table
    aux = literal[literal["rule_id"] == "aux-county"]
    assert len(aux) == 39 and not (aux["unit_kind"] == "district").any()
    broad = jilin_gaps(jilin, "broad").table
    aux_broad = broad[broad["rule_id"] == "aux-county"]
    assert len(aux_broad) == 60 and (aux_broad["unit_kind"] == "district").sum() == 21


def test_jilin_province_progress(jilin):
    progress = jilin_gaps(jilin).progress.set_index("rule_id")
    massage = progress.loc["massage-province"]
    assert (massage["target"], massage["actual"]) == (400, 262)
    assert massage["progress"] == pytest.approx(262 / 400)
    assert progress.loc["inc-province", "actual"] == 55
    people = progress[progress["kind"] == "people"]
    assert len(people) == 7 and people["actual"].isna().all()
