"""Siting suggestions: where the next facilities of a type should go.

This module owns "where next" of DOMAIN.md. Given a facility type, a number ``k`` of
new sites, a service radius and candidate sites (county seats, demand-grid cells or
points a user adds), with the existing facilities fixed:

1. **Set covering** — every mandatory per-unit gap of the policy for this type
   (county- or prefecture-level rule, ``strength == "mandatory"``, ``shortfall > 0``)
   is closed by new sites *inside* that unit: a site in a county counts for the county
   and for its prefecture, so one site can close two gaps. The fewest sites that close
   every closable gap are chosen, and among those the ones covering the most people.
2. **Maximal covering** — the remaining ``k - used`` sites maximise the unemployed
   disabled people newly within ``radius_km`` (not yet within reach of an existing
   facility or a step-1 site), with PySAL ``spopt``'s ``MCLP`` solved by ``pulp``'s
   bundled CBC.

The chosen sites are ordered by marginal gain, giving a curve "what does the next site
buy", and compared with a greedy placement (same step-1 sites, then repeatedly the
candidate with the largest marginal gain).

:func:`suggest_sites` reads as its steps, each callable on its own:
:func:`check_request` → :func:`~geoapp.analysis.covering.coverage_problem` →
:func:`close_mandatory_gaps` (set covering) → :func:`cover_most_people` (MCLP) →
:func:`assemble_result`. The models live in :mod:`geoapp.analysis.covering`, the
candidate sites in :mod:`geoapp.analysis.candidate_sites`, the steps' results, the
assembled :class:`SitingResult` and its files (:func:`site_file`) in
:mod:`geoapp.analysis.siting_result`; all are importable from here.

Decisions
---------
- ``k`` smaller than the sites the mandatory gaps need gives a *partial* answer, not an
  error: the ``k`` sites close as many gaps as possible (then use as few sites, then
  cover as many people as possible), the gaps left open are listed with the reason
  "k too small" and :attr:`SitingResult.warnings` says how many sites closing all
  would take. A planner asking for 1 site still learns where it should go.
- A gap unit with no candidate inside cannot be closed ("not closable", with the
  reason); it never makes the request infeasible.
- Step 1 is a small multi-cover model written in ``pulp`` directly (spopt's ``LSCP``
  covers each client once; a shortfall of 2 needs two sites); the choice among minimal
  covers and step 2 use ``spopt.locate.MCLP``. Demand points covered by exactly the
  same candidates are merged before the MCLP (an exact reduction: same optimum), and
  the cost matrix handed to spopt is that coverage (0 within reach, inf beyond).
- Requests that cannot be answered — ``k <= 0``, a non-positive radius, an unknown
  facility type, no people, or a radius so small that no candidate reaches any demand
  point — raise :class:`SitingError` with a sentence, never a solver trace.
"""

from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from geoapp.analysis.candidate_sites import CANDIDATE_KINDS, candidates
from geoapp.analysis.coverage import GapResult, compute_gaps
from geoapp.analysis.covering import (
    DEFAULT_TIME_LIMIT_S,
    CoverageProblem,
    SitingError,
    close_gaps,
    coverage_problem,
    demand_weight,
    gain,
    greedy,
    mclp,
    merge_signatures,
    order_by_gain,
)
from geoapp.analysis.siting_result import (
    SITE_COLUMNS,
    CoverageStep,
    GapStep,
    SitingNote,
    SitingResult,
    assemble_result,
    demand_assumption,
    site_file,
)
from geoapp.facilities import FACILITY_TYPES
from geoapp.policy import Policy, load_policy

__all__ = [
    "CANDIDATE_KINDS",
    "SITE_COLUMNS",
    "CoverageStep",
    "GapStep",
    "SitingError",
    "SitingNote",
    "SitingResult",
    "assemble_result",
    "candidates",
    "check_request",
    "close_mandatory_gaps",
    "cover_most_people",
    "demand_assumption",
    "site_file",
    "suggest_sites",
]


# --- the engine --------------------------------------------------------------------------------


def _mandatory_gaps(table: pd.DataFrame, facility_type: str) -> pd.DataFrame:
    gaps = table[
        (table["facility_type"] == facility_type)
        & (table["strength"] == "mandatory")
        & (table["shortfall"] > 0)
        & table["level"].isin(["county", "prefecture"])
    ]
    gaps = gaps.sort_values("rank").reset_index(drop=True)
    name = np.where(gaps["level"] == "county", gaps["county"], gaps["city"])
    return pd.DataFrame(
        {
            "rule_id": gaps["rule_id"].to_numpy(),
            "level": gaps["level"].to_numpy(),
            "adcode": gaps["adcode"].astype(str).to_numpy(),
            "unit": name,
            "shortfall": gaps["shortfall"].astype(int).to_numpy(),
            "unemployed_disabled": gaps["unemployed_disabled"].to_numpy(),
        }
    )


def suggest_sites(
    facility_type: str,
    k: int,
    *,
    radius_km: float,
    policy: Policy | str | Path,
    counties: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    unemployed: pd.DataFrame,
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    reading: str = "literal",
    circuity: float = 1.0,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> SitingResult:
    """Suggest ``k`` new sites of a facility type: close mandatory gaps, then cover people.

    Parameters
    ----------
    facility_type : str
        One of :data:`geoapp.facilities.FACILITY_TYPES`.
    k : int
        New sites to place (>= 1).
    radius_km : float
        Service radius: a person is covered within it (km, after circuity).
    policy : Policy, str or Path
        Whose mandatory per-unit gaps step 1 closes.
    counties, facilities, unemployed
        As :func:`geoapp.analysis.coverage.compute_gaps` (facilities with ``adcode`` and points).
    demand : GeoDataFrame
        ``adcode, demand`` points (:func:`geoapp.analysis.access.demand_grid` or imported).
    candidates : GeoDataFrame
        From :func:`candidates`.
    reading : {"literal", "broad"}
        Policy reading, as for the gap list.
    circuity : float
        Road / straight-line distance factor.
    time_limit_s : float
        CBC time limit per model; a run stopped by it reports a non-optimal status.

    Returns
    -------
    SitingResult

    Raises
    ------
    SitingError
        For a request that cannot be answered (see the module docstring).
    """
    started = time.perf_counter()
    policy, gap_result = check_request(
        facility_type,
        k,
        radius_km=radius_km,
        circuity=circuity,
        policy=policy,
        counties=counties,
        facilities=facilities,
        unemployed=unemployed,
        demand=demand,
        candidates=candidates,
        reading=reading,
    )
    problem = coverage_problem(
        facility_type,
        int(k),
        radius_km=radius_km,
        circuity=circuity,
        counties=counties,
        facilities=facilities,
        demand=demand,
        candidates=candidates,
        time_limit_s=time_limit_s,
    )
    gap_step = close_mandatory_gaps(problem, gap_result.table)
    coverage_step = cover_most_people(problem, gap_step)
    return assemble_result(
        problem, gap_step, coverage_step, policy_key=policy.key, reading=reading, started=started
    )


# --- checking the request --------------------------------------------------------------------


def check_request(
    facility_type: str,
    k: int,
    *,
    radius_km: float,
    circuity: float,
    policy: Policy | str | Path,
    counties: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    unemployed: pd.DataFrame,
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    reading: str,
) -> tuple[Policy, GapResult]:
    """Refuse a request that cannot be answered; else the policy and its gap result.

    Raises
    ------
    SitingError
        For an unknown type, ``k <= 0``, a non-positive radius or circuity, no
        candidates, no people, or a policy or gap computation that fails.
    """
    if facility_type not in FACILITY_TYPES:
        msg = (
            f"unknown facility type {facility_type!r}; expected one of {', '.join(FACILITY_TYPES)}"
        )
        raise SitingError(msg)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
        raise SitingError.keyed("k", k=repr(k))
    for name, value in (("radius_km", radius_km), ("circuity", circuity)):
        if not isinstance(value, (int, float, np.number)) or not np.isfinite(value) or value <= 0:
            msg = f"{name} must be a positive number, got {value!r}"
            raise SitingError(msg)
    if len(candidates) == 0:
        raise SitingError.keyed("no_candidates")
    if len(demand) == 0 or demand_weight(demand).sum() <= 0:
        raise SitingError.keyed("no_people")
    if not isinstance(policy, Policy):
        try:
            policy = load_policy(policy)
        except ValueError as exc:
            raise SitingError(str(exc)) from None
    try:
        gap_result = compute_gaps(
            policy, counties=counties, facilities=facilities, unemployed=unemployed, reading=reading
        )
    except ValueError as exc:
        raise SitingError(str(exc)) from None
    return policy, gap_result


# --- set covering: the mandatory gaps --------------------------------------------------------


def close_mandatory_gaps(problem: CoverageProblem, gap_table: pd.DataFrame) -> GapStep:
    """Sites inside the units of the mandatory gaps: the most gaps closed with at most
    ``k`` sites, then the fewest sites, then the most people covered.

    ``gap_table`` is :attr:`GapResult.table` of the policy and reading.
    """
    gaps = _mandatory_gaps(gap_table, problem.facility_type)
    member = _gap_members(gaps, problem)
    n_inside = np.asarray(member.sum(axis=1)).ravel().astype(int)
    need = np.minimum(gaps["shortfall"].to_numpy(), n_inside)
    closable = need > 0
    statuses: dict[str, str] = {}
    warnings: list[str] = []
    step1: list[int] = []
    if closable.any():
        step1, statuses, warnings = _gap_sites(
            problem, member[np.flatnonzero(closable)], need[closable]
        )
    for u in np.flatnonzero(~closable):
        row = gaps.loc[u]
        params = {"rule": row["rule_id"], "unit": row["unit"], "adcode": row["adcode"]}
        warnings.append(SitingNote("cannot_close", params))
    order, gains, open_after = order_by_gain(step1, problem.cover_c, problem.open0)
    return GapStep(
        gaps=gaps,
        n_inside=n_inside,
        need=need,
        closable=closable,
        order=order,
        gains=gains,
        open_after=open_after,
        statuses=statuses,
        warnings=tuple(warnings),
    )


def _gap_members(gaps: pd.DataFrame, problem: CoverageProblem) -> sparse.csr_matrix:
    """0/1 matrix, gap units x candidates: 1 where the candidate lies inside the unit."""
    rows, cols = [], []
    for u, (level, code) in enumerate(zip(gaps["level"], gaps["adcode"], strict=True)):
        codes = problem.cand_county if level == "county" else problem.cand_pref
        inside = np.flatnonzero(codes == code)
        rows += [u] * len(inside)
        cols += inside.tolist()
    return sparse.csr_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, cols)),
        shape=(len(gaps), len(problem.candidates)),
    )


def _gap_sites(
    problem: CoverageProblem, units: sparse.csr_matrix, need: np.ndarray
) -> tuple[list[int], dict[str, str], list[str]]:
    """The step-1 sites for the closable gap units, the solver statuses and warnings."""
    k, time_limit_s, open0 = problem.k, problem.time_limit_s, problem.open0
    statuses: dict[str, str] = {}
    warnings: list[str] = []
    in_units = np.flatnonzero(np.asarray(units.sum(axis=0)).ravel() > 0)
    sub_units = units[:, in_units].tocsr()
    closed_target, used, statuses["gaps"] = close_gaps(
        sub_units, need, k, time_limit_s=time_limit_s
    )
    # Among the covers closing that many gaps with that many sites: most people.
    sub_cover = problem.cover[:, in_units]
    live = (open0 > 0) & (np.asarray(sub_cover.sum(axis=1)).ravel() > 0)
    if live.any():
        aij, w = merge_signatures(sub_cover[np.flatnonzero(live)], open0[live])
    else:  # nobody left to cover: any site closing the gaps will do
        aij, w = np.zeros((1, len(in_units)), dtype=bool), np.zeros(1)
    chosen, statuses["gap_sites"] = mclp(
        aij,
        w,
        used,
        time_limit_s=time_limit_s,
        units=sub_units,
        need=need,
        min_closed=closed_target,
    )
    n_needed = len(need)
    if closed_target < n_needed:
        full, all_sites, _ = close_gaps(sub_units, need, len(in_units), time_limit_s=time_limit_s)
        left = n_needed - closed_target
        params = {"k": k, "full": full, "sites": all_sites, "closed": closed_target, "left": left}
        warnings.append(SitingNote("k_small", params))
    return [int(in_units[j]) for j in chosen], statuses, warnings


# --- maximal covering: the most people -------------------------------------------------------


def cover_most_people(problem: CoverageProblem, gap_step: GapStep) -> CoverageStep:
    """The ``k`` minus step-1 sites that newly cover the most people (spopt MCLP), and
    as many greedy sites for comparison; sites that would add nobody are not placed."""
    p = problem.k - len(gap_step.order)
    open1 = gap_step.open_after
    allowed = np.ones(len(problem.candidates), dtype=bool)
    allowed[gap_step.order] = False
    open_gain = gain(problem.cover_c, open1)
    useful = np.flatnonzero(allowed & (open_gain > 0))
    order: list[int] = []
    gains: list[float] = []
    statuses: dict[str, str] = {}
    warnings: list[str] = []
    signatures = 0
    if p > 0:
        p_eff = min(p, len(useful))
        if p_eff < p:
            params = {"placed": p_eff, "radius": f"{problem.radius_km:g}", "k": problem.k}
            warnings.append(SitingNote("add_nobody", params | {"unplaced": p - p_eff}))
        if p_eff > 0:
            sub = problem.cover[:, useful]
            live = (open1 > 0) & (np.asarray(sub.sum(axis=1)).ravel() > 0)
            aij, w = merge_signatures(sub[np.flatnonzero(live)], open1[live])
            signatures = len(w)
            chosen, statuses["coverage"] = mclp(aij, w, p_eff, time_limit_s=problem.time_limit_s)
            order, gains, _ = order_by_gain(
                [int(useful[j]) for j in chosen], problem.cover_c, open1
            )
    picks, pick_gains = greedy(len(order), problem.cover_c, open1, allowed & (open_gain > 0))
    return CoverageStep(
        order=order,
        gains=gains,
        greedy=picks,
        greedy_gains=pick_gains,
        signatures=signatures,
        statuses=statuses,
        warnings=tuple(warnings),
    )
