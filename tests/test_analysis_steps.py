"""geoapp.analysis: the named steps of the engines, each called on its own, on toys."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import toys
from shapely.geometry import box

from geoapp.analysis import access, coverage, covering, preview, siting
from geoapp.policy import STRENGTHS

INC_COUNTY = toys.rule("inc-county", "incubation_base", "county", unit_kinds=("county",))
INC_PREF = toys.rule("inc-prefecture", "incubation_base", "prefecture")


@pytest.fixture
def region():
    """P1 = A (county) + B (district), no incubation base; P2 = C (county) with one."""
    counties = toys.counties(
        ("990101", "A", "990100", "county", (0, 0, 10, 10)),
        ("990102", "B", "990100", "district", (10, 0, 20, 10)),
        ("990201", "C", "990200", "county", (20, 0, 30, 10)),
    )
    fac = toys.facilities([(25, 5)], ["incubation_base"], ["990201"])
    dem = toys.demand([(5, 5), (15, 5), (25, 5)], [100, 300, 50], ["990101", "990102", "990201"])
    unemployed = toys.unemployed({"990101": 100, "990102": 300, "990201": 50})
    cands = siting.candidates(
        "none", counties=counties, extra_points=toys.points([(5, 5), (15, 5)])
    )
    return counties, fac, dem, unemployed, cands


# --- siting: check -> coverage problem -> gaps -> people -> result -----------------------------


def test_siting_steps_one_by_one_give_what_suggest_sites_gives(region):
    counties, fac, dem, unemployed, cands = region
    policy = toys.policy(INC_COUNTY, INC_PREF)
    policy, gaps = siting.check_request(
        "incubation_base",
        2,
        radius_km=4,
        circuity=1.0,
        policy=policy,
        counties=counties,
        facilities=fac,
        unemployed=unemployed,
        demand=dem,
        candidates=cands,
        reading="literal",
    )
    problem = covering.coverage_problem(
        "incubation_base",
        2,
        radius_km=4,
        circuity=1.0,
        counties=counties,
        facilities=fac,
        demand=dem,
        candidates=cands,
    )
    # Each candidate reaches the demand point at its own position; C's point is covered.
    assert problem.cover.toarray().tolist() == [[1, 0], [0, 1], [0, 0]]
    assert problem.covered0.tolist() == [False, False, True]
    assert problem.open0.tolist() == [100.0, 300.0, 0.0]

    gap_step = siting.close_mandatory_gaps(problem, gaps.table)
    # P1's prefecture gap (400 people) ranks before A's county gap (100); one site in A
    # closes both.
    assert gap_step.gaps["adcode"].tolist() == ["990100", "990101"]
    assert gap_step.order == [0] and gap_step.gains == [100.0]
    assert gap_step.open_after.tolist() == [0.0, 300.0, 0.0]

    coverage_step = siting.cover_most_people(problem, gap_step)
    assert coverage_step.order == [1] and coverage_step.gains == [300.0]
    assert coverage_step.greedy == [1] and not coverage_step.warnings

    result = siting.assemble_result(
        problem, gap_step, coverage_step, policy_key=policy.key, reading="literal", started=0.0
    )
    whole = siting.suggest_sites(
        "incubation_base",
        2,
        radius_km=4,
        policy=policy,
        counties=counties,
        facilities=fac,
        unemployed=unemployed,
        demand=dem,
        candidates=cands,
    )
    pd.testing.assert_frame_equal(pd.DataFrame(result.sites), pd.DataFrame(whole.sites))
    pd.testing.assert_frame_equal(result.curve, whole.curve)
    pd.testing.assert_frame_equal(result.gaps, whole.gaps)
    assert result.curve["covered_optimal"].tolist() == [50.0, 150.0, 450.0]
    drop = ("runtime_s",)
    assert {k: v for k, v in result.summary.items() if k not in drop} == {
        k: v for k, v in whole.summary.items() if k not in drop
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"k": 0}, r"k \(the number of new sites\) must be a whole number"),
        ({"facility_type": "spa"}, "unknown facility type"),
        ({"radius_km": -1}, "radius_km must be a positive number"),
    ],
)
def test_check_request_refuses_before_any_model_is_built(region, change, message):
    counties, fac, dem, unemployed, cands = region
    args = {"facility_type": "incubation_base", "k": 1, "radius_km": 5.0}
    args.update(change)
    with pytest.raises(siting.SitingError, match=message):
        siting.check_request(
            args["facility_type"],
            args["k"],
            radius_km=args["radius_km"],
            circuity=1.0,
            policy=toys.policy(INC_COUNTY),
            counties=counties,
            facilities=fac,
            unemployed=unemployed,
            demand=dem,
            candidates=cands,
            reading="literal",
        )


def test_coverage_problem_names_the_closest_pair_when_the_radius_reaches_nobody(region):
    counties, fac, _, _, cands = region
    far = toys.demand([(5, 9)], [10], ["990101"])  # 4 km from the candidate at (5, 5)
    with pytest.raises(siting.SitingError, match=r"radius 1 km is too small.*4\.00 km"):
        covering.coverage_problem(
            "incubation_base",
            1,
            radius_km=1,
            circuity=1.0,
            counties=counties,
            facilities=fac,
            demand=far,
            candidates=cands,
        )


# --- coverage: counts, then the gap table -------------------------------------------------------


def test_actual_counts_per_county_and_per_prefecture():
    units = pd.DataFrame(
        {
            "adcode": ["990101", "990102", "990201"],
            "prefecture_adcode": ["990100", "990100", "990200"],
        }
    )
    placed = pd.DataFrame(
        {
            "adcode": ["990101", "990102", "990102", "880101"],
            "facility_type": ["incubation_base"] * 4,
        }
    )
    per_county, actual = coverage._actual_counts(placed, units)
    inc = actual[actual["facility_type"] == "incubation_base"].set_index(["level", "adcode"])
    assert inc["actual"].to_dict() == {
        ("county", "990101"): 1,
        ("county", "990102"): 2,
        ("county", "990201"): 0,
        ("prefecture", "990100"): 3,
        ("prefecture", "990200"): 0,
    }
    assert int(per_county["actual"].sum()) == 3  # 880101 lies outside the units


# --- access: the demand grid's cells and their people --------------------------------------------


def test_grid_cells_and_spread_people_share_a_count_by_land_area():
    # A 2 x 1 km county on a 1 km grid: two whole cells, 50 people each.
    metric = gpd.GeoDataFrame({"adcode": ["990101"]}, geometry=[box(0, 0, 2000, 1000)], crs=3857)
    cells = access._grid_cells(metric, step=1000.0)
    assert cells["land_m2"].tolist() == [1e6, 1e6]
    spread = access._spread_people(cells, toys.unemployed({"990101": 100}))
    assert spread["demand"].tolist() == [50.0, 50.0]
    assert spread["land_km2"].tolist() == [1.0, 1.0]


# --- preview: gaps closed and opened, in the policy's strength order -----------------------------


def _gap_rows(shortfalls: dict[str, int], strengths: dict[str, str]) -> pd.DataFrame:
    rules = list(shortfalls)
    return pd.DataFrame(
        {
            "rule_id": rules,
            "adcode": "990101",
            "strength": [strengths[r] for r in rules],
            "level": "county",
            "facility_type": "incubation_base",
            "prefecture_adcode": "990100",
            "city": "P",
            "county": "A",
            "unit_kind": "county",
            "required": 1,
            "unemployed_disabled": 10,
            "clause": "",
            "actual": [1 - shortfalls[r] for r in rules],
            "shortfall": [shortfalls[r] for r in rules],
        }
    )


def test_diff_gap_tables_orders_closed_first_then_by_the_policys_strengths():
    strengths = {
        "t": "target",
        "m": "mandatory",
        "a": "aspirational",
        "x": "other",
        "o": "mandatory",
    }
    before = _gap_rows({"t": 1, "m": 1, "a": 1, "x": 1, "o": 0}, strengths)
    after = _gap_rows({"t": 0, "m": 0, "a": 0, "x": 0, "o": 1}, strengths)
    out = preview.diff_gap_tables(before, after)
    assert list(zip(out["change"], out["rule_id"], strict=True)) == [
        ("closed", "m"),
        ("closed", "a"),
        ("closed", "t"),
        ("closed", "x"),
        ("opened", "o"),
    ]
    assert tuple(STRENGTHS) == ("mandatory", "aspirational", "target")
    reverse = preview.diff_gap_tables(before, after, strengths=STRENGTHS[::-1])
    assert reverse["rule_id"].tolist() == ["t", "a", "m", "x", "o"]


def test_an_unchanged_gap_is_no_change():
    strengths = {"m": "mandatory"}
    out = preview.diff_gap_tables(_gap_rows({"m": 1}, strengths), _gap_rows({"m": 1}, strengths))
    assert out.empty
    assert np.array_equal(out.columns, preview._GAP_COLUMNS)
