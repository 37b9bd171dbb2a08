"""geoapp.analysis.siting: set covering of mandatory gaps, then maximal covering, on hand-made toys."""

from __future__ import annotations

import numpy as np
import pytest
import toys

from geoapp.analysis import siting

INC_COUNTY = toys.rule("inc-county", "incubation_base", "county", unit_kinds=("county",))
INC_PREF = toys.rule("inc-prefecture", "incubation_base", "prefecture")


def run(ftype, k, *, counties, facilities, dem, cands, policy, radius_km=10.0, **kw):
    unemployed = (
        dem.groupby("adcode", as_index=False)["demand"]
        .sum()
        .rename(columns={"demand": "unemployed_disabled"})
    )
    return siting.suggest_sites(
        ftype,
        k,
        radius_km=radius_km,
        policy=policy,
        counties=counties,
        facilities=facilities,
        unemployed=unemployed,
        demand=dem,
        candidates=cands,
        **kw,
    )


def user_candidates(counties, xy):
    return siting.candidates("none", counties=counties, extra_points=toys.points(xy))


@pytest.fixture
def two_prefectures():
    """P1 = A (county) + B (district), no incubation base; P2 = C (county) with one."""
    counties = toys.counties(
        ("990101", "A", "990100", "county", (0, 0, 10, 10)),
        ("990102", "B", "990100", "district", (10, 0, 20, 10)),
        ("990201", "C", "990200", "county", (20, 0, 30, 10)),
    )
    fac = toys.facilities([(25, 5)], ["incubation_base"], ["990201"])
    dem = toys.demand([(5, 5), (15, 5), (25, 5)], [100, 300, 50], ["990101", "990102", "990201"])
    return counties, fac, dem


def test_one_site_closes_the_county_and_the_prefecture_gap(two_prefectures):
    counties, fac, dem = two_prefectures
    # Candidates: one in A, one in B. A site in A closes A's county gap and P1's gap.
    cands = user_candidates(counties, [(5, 5), (15, 5)])
    result = run(
        "incubation_base",
        1,
        counties=counties,
        facilities=fac,
        dem=dem,
        cands=cands,
        policy=toys.policy(INC_COUNTY, INC_PREF),
    )
    sites = result.optimal_sites()
    assert len(sites) == 1 and sites.loc[0, "adcode"] == "990101"
    assert set(sites.loc[0, "closes_gap"].split("; ")) == {
        "inc-county 990101 A",
        "inc-prefecture 990100 P990100",
    }
    assert result.summary["sites_for_gaps"] == 1
    assert result.gaps["closed"].all() and result.summary["gaps_closed"] == 2
    assert not result.warnings


def test_set_covering_uses_one_site_then_covers_people_with_the_rest(two_prefectures):
    counties, fac, dem = two_prefectures
    cands = user_candidates(counties, [(5, 5), (15, 5)])
    result = run(
        "incubation_base",
        2,
        counties=counties,
        facilities=fac,
        dem=dem,
        cands=cands,
        policy=toys.policy(INC_COUNTY, INC_PREF),
        radius_km=4,
    )
    sites = result.optimal_sites()
    assert sites["step"].tolist() == ["gap", "coverage"]
    assert sites["adcode"].tolist() == ["990101", "990102"]
    assert sites["newly_covered"].tolist() == [100, 300]
    assert result.curve["covered_optimal"].tolist() == [50, 150, 450]


def test_k_smaller_than_the_gaps_need_is_a_partial_answer_with_a_warning():
    counties = toys.counties(
        ("990101", "A", "990100", "county", (0, 0, 10, 10)),
        ("990201", "B", "990200", "county", (10, 0, 20, 10)),
    )
    fac = toys.facilities([(50, 50)], ["beautiful_workshop"], [""])
    dem = toys.demand([(5, 5), (15, 5)], [100, 900], ["990101", "990201"])
    cands = user_candidates(counties, [(5, 5), (15, 5)])
    result = run(
        "incubation_base",
        1,
        counties=counties,
        facilities=fac,
        dem=dem,
        cands=cands,
        policy=toys.policy(INC_COUNTY),
    )
    assert len(result.optimal_sites()) == 1
    assert result.optimal_sites().loc[0, "adcode"] == "990201"  # the one closing more people
    assert result.summary["gaps_closed"] == 1 and result.summary["gaps_open"] == 1
    assert "k = 1 is too small" in result.warnings[0] and "takes 2 site(s)" in result.warnings[0]
    assert result.gaps.set_index("adcode").loc["990101", "reason"] == "k too small"


def test_a_gap_without_a_candidate_inside_is_reported_not_closable():
    counties = toys.counties(
        ("990101", "A", "990100", "county", (0, 0, 10, 10)),
        ("990201", "B", "990200", "county", (10, 0, 20, 10)),
    )
    fac = toys.facilities([(50, 50)], ["beautiful_workshop"], [""])
    dem = toys.demand([(5, 5), (15, 5)], [100, 900], ["990101", "990201"])
    cands = user_candidates(counties, [(15, 5)])
    result = run(
        "incubation_base",
        2,
        counties=counties,
        facilities=fac,
        dem=dem,
        cands=cands,
        policy=toys.policy(INC_COUNTY),
    )
    gaps = result.gaps.set_index("adcode")
    assert gaps.loc["990101", "reason"] == "no candidate site inside the unit"
    assert bool(gaps.loc["990201", "closed"])
    assert any("cannot be closed" in w for w in result.warnings)


@pytest.mark.parametrize("seed", range(6))
def test_set_covering_never_leaves_a_closable_mandatory_gap_open(seed):
    rng = np.random.default_rng(seed)
    n = 6
    prefs = rng.integers(1, 4, size=n)
    kinds = rng.choice(["county", "district"], size=n)
    rows = [
        (f"990{p}{i:02d}", f"U{i}", f"990{p}00", kind, (10 * i, 0, 10 * i + 10, 10))
        for i, (p, kind) in enumerate(zip(prefs, kinds, strict=False), start=1)
    ]
    counties = toys.counties(*rows)
    codes = [r[0] for r in rows]
    has = rng.random(n) < 0.3
    fac = toys.facilities(
        [(10 * i + 5, 5) for i in range(1, n + 1) if has[i - 1]] or [(500, 500)],
        ["incubation_base"] * max(int(has.sum()), 1),
        [c for c, h in zip(codes, has, strict=False) if h] or [""],
    )
    dem = toys.demand([(10 * i + 5, 5) for i in range(1, n + 1)], rng.integers(1, 100, n), codes)
    with_cand = rng.random(n) < 0.7
    xy = [(10 * i + x, 5) for i in range(1, n + 1) if with_cand[i - 1] for x in (3, 7)]
    cands = user_candidates(counties, xy or [(500, 500)])
    result = run(
        "incubation_base",
        2 * n,
        counties=counties,
        facilities=fac,
        dem=dem,
        cands=cands,
        policy=toys.policy(INC_COUNTY, INC_PREF),
        radius_km=3,
    )
    gaps = result.gaps
    closable = gaps["candidates_inside"] > 0
    assert gaps.loc[closable, "closed"].all()
    assert (gaps.loc[~closable, "reason"] == "no candidate site inside the unit").all()
    # And minimal: no more gap sites than gap units, no fewer than units that share nothing.
    assert result.summary["sites_for_gaps"] <= int(closable.sum())


def greedy_trap():
    """Greedy takes the middle site (8 people) and ends at 11; the two flanks give 14."""
    counties = toys.counties(("990101", "A", "990100", "county", (-5, -5, 25, 5)))
    fac = toys.facilities([(500, 500)], ["incubation_base"], [""])
    dem = toys.demand([(0, 0), (8, 0), (12, 0), (20, 0)], [3, 4, 4, 3], ["990101"] * 4)
    cands = user_candidates(counties, [(10, 0), (5, 0), (15, 0)])
    return counties, fac, dem, cands


def test_maximal_covering_beats_greedy_on_the_trap_and_greedy_never_beats_it():
    counties, fac, dem, cands = greedy_trap()
    result = run(
        "beautiful_workshop",
        2,
        counties=counties,
        facilities=fac,
        dem=dem,
        cands=cands,
        policy=toys.policy(INC_COUNTY),
        radius_km=5.5,
    )
    assert result.summary["covered_after"] == pytest.approx(14)
    assert result.summary["covered_after_greedy"] == pytest.approx(11)
    assert sorted(result.optimal_sites()["lon"].round(3)) != sorted(
        result.greedy_sites()["lon"].round(3)
    )
    curve = result.curve
    assert curve["covered_optimal"].iloc[-1] >= curve["covered_greedy"].iloc[-1]
    assert curve["k"].tolist() == [0, 1, 2]


def test_maximal_covering_picks_the_obviously_best_site():
    counties, fac, dem, cands = greedy_trap()
    dem = toys.demand([(0, 0), (20, 0)], [10, 1000], ["990101"] * 2)
    cands = user_candidates(counties, [(0, 0), (20, 0)])
    result = run(
        "beautiful_workshop",
        1,
        counties=counties,
        facilities=fac,
        dem=dem,
        cands=cands,
        policy=toys.policy(INC_COUNTY),
        radius_km=5,
    )
    site = result.optimal_sites().iloc[0]
    assert site["newly_covered"] == 1000 and site["step"] == "coverage"
    assert site["lon"] == pytest.approx(result.greedy_sites().iloc[0]["lon"])


def test_a_facility_across_the_border_counts_as_covering():
    counties = toys.counties(
        ("990101", "A", "990100", "county", (0, 0, 10, 10)),
        ("990102", "B", "990100", "county", (10, 0, 20, 10)),
    )
    fac = toys.facilities([(12, 5)], ["beautiful_workshop"], ["990102"])
    dem = toys.demand([(5, 5), (9, 5)], [10, 20], ["990101", "990101"])
    cands = user_candidates(counties, [(5, 5)])
    result = run(
        "beautiful_workshop",
        1,
        counties=counties,
        facilities=fac,
        dem=dem,
        cands=cands,
        policy=toys.policy(INC_COUNTY),
        radius_km=8,
    )
    assert result.summary["covered_before"] == 30  # 7 km and 3 km from the facility in B
    assert result.summary["sites_placed"] == 0
    assert any("add nobody" in w for w in result.warnings)


def test_radius_too_small_is_a_clear_error_not_a_solver_trace():
    counties, fac, dem, _ = greedy_trap()
    cands = user_candidates(counties, [(2, 3)])
    with pytest.raises(siting.SitingError, match=r"radius 0.5 km is too small.*3\.\d+ km apart"):
        run(
            "beautiful_workshop",
            1,
            counties=counties,
            facilities=fac,
            dem=dem,
            cands=cands,
            policy=toys.policy(INC_COUNTY),
            radius_km=0.5,
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k .* must be a whole number >= 1"),
        ({"ftype": "clinic"}, "unknown facility type 'clinic'"),
        ({"radius_km": -1}, "radius_km must be a positive number"),
    ],
)
def test_degenerate_requests_raise_siting_error(kwargs, message):
    counties, fac, dem, cands = greedy_trap()
    args = {"ftype": "beautiful_workshop", "k": 1, "radius_km": 5.0} | kwargs
    with pytest.raises(siting.SitingError, match=message):
        run(
            args["ftype"],
            args["k"],
            counties=counties,
            facilities=fac,
            dem=dem,
            cands=cands,
            policy=toys.policy(INC_COUNTY),
            radius_km=args["radius_km"],
        )


def test_jilin_auxiliary_sites_close_the_two_demo_mandatory_gaps_first():
    from geoapp.analysis import access
    from geoapp.datasource import EmbeddedSource

    src = EmbeddedSource()
    counties, unemployed = src.counties(), src.unemployed()
    dem = access.demand_grid(counties, unemployed, cell_km=10)
    cands = siting.candidates("both", counties=counties, demand=dem, cell_km=25)
    result = siting.suggest_sites(
        "auxiliary_institution",
        3,
        radius_km=30,
        policy="jilin-2025-2027",
        counties=counties,
        facilities=src.facilities(),
        unemployed=unemployed,
        demand=dem,
        candidates=cands,
    )
    sites = result.optimal_sites()
    assert set(sites.loc[sites["step"] == "gap", "adcode"]) == {
        "220822",
        "220623",
    }  # 通榆县, 长白县
    assert sites["step"].tolist() == ["gap", "gap", "coverage"]
    assert result.summary["gaps_closed"] == 2 and result.summary["gaps_open"] == 0
    assert (sites["cumulative_covered"].diff().dropna() > 0).all()
    assert result.summary["covered_after"] >= result.summary["covered_after_greedy"]
    assert "spread" in " ".join(result.assumptions["en"])


def test_cli_site_csv_and_siting_error_exit_2(capsysbinary):
    import io

    import pandas as pd

    from geoapp import cli

    args = [
        "site",
        "--type",
        "auxiliary_institution",
        "--k",
        "3",
        "--radius-km",
        "30",
        "--cell-km",
        "10",
        "--candidate-km",
        "25",
    ]
    assert cli.main(args) == 0
    out = capsysbinary.readouterr()
    sites = pd.read_csv(
        io.BytesIO(out.out), encoding="utf-8-sig", dtype={"adcode": str}, keep_default_na=False
    )
    optimal = sites[sites["method"] == "optimal"]
    assert set(optimal.loc[optimal["step"] == "gap", "adcode"]) == {"220822", "220623"}
    assert "mandatory gaps closed 2/2" in out.err.decode()
    assert "demo" in out.err.decode()
    assert (
        cli.main(
            [
                "site",
                "--type",
                "auxiliary_institution",
                "--k",
                "2",
                "--radius-km",
                "0.2",
                "--candidates",
                "seats",
                "--cell-km",
                "10",
            ]
        )
        == 2
    )
    err = capsysbinary.readouterr().err.decode()
    assert "geoapp: error: radius 0.2 km is too small" in err and "Traceback" not in err


def test_cli_site_xlsx_has_the_curve_and_assumptions(tmp_path):
    import openpyxl

    from geoapp import cli

    out = tmp_path / "sites.xlsx"
    assert (
        cli.main(
            [
                "site",
                "--type",
                "incubation_base",
                "--k",
                "2",
                "--radius-km",
                "30",
                "--cell-km",
                "10",
                "--candidates",
                "seats",
                "--format",
                "xlsx",
                "--out",
                str(out),
                "--lang",
                "en",
            ]
        )
        == 0
    )
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["sites", "about"]
    about = {r[0]: r[1] for r in wb["about"].iter_rows(values_only=True)}
    assert "curve k=2" in about and "greedy" in about["curve k=2"]
    assert "spread" in about["assumption 1"]
