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
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp
from scipy import sparse

from geoapp import access
from geoapp.coverage import assign_counties, compute_gaps
from geoapp.facilities import FACILITY_TYPES
from geoapp.policy import Policy, load_policy

__all__ = [
    "CANDIDATE_KINDS",
    "SITE_COLUMNS",
    "SitingError",
    "SitingResult",
    "candidates",
    "demand_assumption",
    "site_file",
    "suggest_sites",
]

CANDIDATE_KINDS = ("seats", "grid", "both", "none")
SITE_COLUMNS = (
    "method", "order", "step", "lon", "lat", "adcode", "county", "prefecture",
    "candidate_source", "closes_gap", "newly_covered", "cumulative_covered",
)
DEFAULT_TIME_LIMIT_S = 120


class SitingError(ValueError):
    """A siting request that cannot be answered; the message says why and what to change."""


@dataclass(frozen=True, eq=False)
class SitingResult:
    """Suggested sites, the coverage curve, a summary and the assumptions behind them.

    ``sites`` has :data:`SITE_COLUMNS` and a point geometry (EPSG:4326): the optimal
    placement (``method == "optimal"``) and the greedy one (``"greedy"``), each in order
    of marginal gain; ``step`` is ``"gap"`` for step-1 sites and ``"coverage"`` after.
    ``curve`` has ``k, covered_optimal, covered_greedy``: people within reach after the
    first ``k`` new sites (``k = 0``: existing facilities only). ``gaps`` lists the
    mandatory gaps with ``closed``, ``closed_by`` (site orders) and ``reason``.
    """

    sites: gpd.GeoDataFrame
    curve: pd.DataFrame
    gaps: pd.DataFrame
    summary: dict
    assumptions: dict[str, list[str]]
    warnings: tuple[str, ...] = field(default=())

    def optimal_sites(self) -> gpd.GeoDataFrame:
        return self.sites[self.sites["method"] == "optimal"].reset_index(drop=True)

    def greedy_sites(self) -> gpd.GeoDataFrame:
        return self.sites[self.sites["method"] == "greedy"].reset_index(drop=True)


# --- candidates ----------------------------------------------------------------------------


def candidates(
    kind: str,
    *,
    counties: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame | None = None,
    extra_points: gpd.GeoDataFrame | None = None,
    cell_km: float | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites: county seats, grid cells and/or points the user adds.

    Parameters
    ----------
    kind : {"seats", "grid", "both", "none"}
        ``"none"`` keeps only ``extra_points``.
    counties : GeoDataFrame
        County polygons (``adcode``, ``name``, ``prefecture_adcode``).
    demand : GeoDataFrame, optional
        Demand points; their positions are the grid candidates unless ``cell_km`` is given.
    extra_points : GeoDataFrame, optional
        Points a user adds (any CRS, optional ``name``); placed in counties by position.
    cell_km : float, optional
        Build the grid candidates on their own grid of this spacing (e.g. 20 km for a
        few hundred in a province) instead of using the demand points.

    Returns
    -------
    GeoDataFrame
        ``candidate_source, name, adcode, county, prefecture_adcode, geometry``
        (EPSG:4326); ``adcode`` is empty for a point in no county.
    """
    if kind not in CANDIDATE_KINDS:
        msg = f"unknown candidate kind {kind!r}; expected one of {', '.join(CANDIDATE_KINDS)}"
        raise SitingError(msg)
    parts = []
    if kind in ("seats", "both"):
        from geoapp.regions import county_seats

        seats = county_seats(counties)
        parts.append(gpd.GeoDataFrame(
            {"candidate_source": "seat", "name": seats["name"] + " seat",
             "adcode": seats["adcode"].astype(str)}, geometry=seats.geometry.values, crs=4326))
    if kind in ("grid", "both"):
        if cell_km is not None:
            empty = pd.DataFrame({"adcode": pd.Series(dtype=str), "unemployed_disabled": []})
            grid = access.demand_grid(counties, empty, cell_km=cell_km)
        elif demand is not None:
            grid = demand.to_crs(4326)
        else:
            msg = "grid candidates need the demand points or a cell_km"
            raise SitingError(msg)
        parts.append(gpd.GeoDataFrame(
            {"candidate_source": "grid", "name": "",
             "adcode": grid["adcode"].astype(str).to_numpy()},
            geometry=grid.geometry.values, crs=4326))
    if extra_points is not None and len(extra_points):
        if extra_points.crs is None:
            msg = "extra candidate points have no CRS; give them in EPSG:4326 (WGS84)"
            raise SitingError(msg)
        pts = extra_points.to_crs(4326)
        placed = assign_counties(gpd.GeoDataFrame(geometry=pts.geometry.values, crs=4326), counties)
        names = pts["name"].astype(str).to_numpy() if "name" in pts else ""
        parts.append(gpd.GeoDataFrame(
            {"candidate_source": "user", "name": names,
             "adcode": placed["adcode_by_point"].fillna("").astype(str).to_numpy()},
            geometry=pts.geometry.values, crs=4326))
    if not parts:
        return gpd.GeoDataFrame(
            {c: pd.Series(dtype=str) for c in ("candidate_source", "name", "adcode", "county",
                                                "prefecture_adcode")},
            geometry=gpd.GeoSeries([], crs=4326))
    out = pd.concat(parts, ignore_index=True)
    labels = counties.drop_duplicates("adcode").set_index(counties["adcode"].astype(str))
    out["county"] = out["adcode"].map(labels["name"]).fillna("") if "name" in labels else ""
    out["prefecture_adcode"] = (out["adcode"].map(labels["prefecture_adcode"]).fillna("")
                                if "prefecture_adcode" in labels else "")
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)


# --- the engine --------------------------------------------------------------------------------


def _solver(time_limit_s: float) -> pulp.LpSolver:
    with warnings.catch_warnings():
        # pulp 3.3 announces PULP_CBC_CMD's removal in 4.0; it is the bundled CBC we want.
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s)


def _status(problem: pulp.LpProblem) -> str:
    if problem.status != pulp.LpStatusOptimal:
        return pulp.LpStatus[problem.status]
    return "optimal" if problem.sol_status == pulp.LpSolutionOptimal else (
        pulp.LpSolution.get(problem.sol_status, "feasible"))


def _mandatory_gaps(table: pd.DataFrame, facility_type: str) -> pd.DataFrame:
    gaps = table[(table["facility_type"] == facility_type) & (table["strength"] == "mandatory")
                 & (table["shortfall"] > 0) & table["level"].isin(["county", "prefecture"])]
    gaps = gaps.sort_values("rank").reset_index(drop=True)
    name = np.where(gaps["level"] == "county", gaps["county"], gaps["city"])
    return pd.DataFrame({
        "rule_id": gaps["rule_id"].to_numpy(), "level": gaps["level"].to_numpy(),
        "adcode": gaps["adcode"].astype(str).to_numpy(), "unit": name,
        "shortfall": gaps["shortfall"].astype(int).to_numpy(),
        "unemployed_disabled": gaps["unemployed_disabled"].to_numpy(),
    })


def _coverage_matrix(demand, cands, *, radius_km, circuity, crs) -> sparse.csr_matrix:
    i, j, _ = access.pairs_within_km(demand, cands, radius_km=radius_km, circuity=circuity, crs=crs)
    return sparse.csr_matrix((np.ones(len(i), dtype=np.int8), (i, j)),
                             shape=(len(demand), len(cands)))


def _gain(cover: sparse.csc_matrix, open_weight: np.ndarray) -> np.ndarray:
    return np.asarray(cover.T @ open_weight).ravel()


def _order_by_gain(chosen: list[int], cover: sparse.csc_matrix, open_weight: np.ndarray
                   ) -> tuple[list[int], list[float], np.ndarray]:
    """Order ``chosen`` by marginal gain; the gains and the weight left uncovered."""
    left, order, gains = list(chosen), [], []
    w = open_weight.copy()
    while left:
        g = _gain(cover[:, left], w)
        best = int(np.argmax(g))
        j = left.pop(best)
        order.append(j)
        gains.append(float(g[best]))
        w[cover[:, j].nonzero()[0]] = 0.0
    return order, gains, w


def _greedy(n: int, cover: sparse.csc_matrix, open_weight: np.ndarray, allowed: np.ndarray
            ) -> tuple[list[int], list[float]]:
    w = open_weight.copy()
    allowed = allowed.copy()
    picks, gains = [], []
    for _ in range(n):
        g = np.where(allowed, _gain(cover, w), -1.0)
        best = int(np.argmax(g))
        if g[best] < 0:
            break
        picks.append(best)
        gains.append(float(g[best]))
        allowed[best] = False
        w[cover[:, best].nonzero()[0]] = 0.0
    return picks, gains


def _merge_signatures(cover: sparse.csr_matrix, weight: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Rows covered by the same candidates merged (dense 0/1 matrix, summed weights)."""
    cover = cover.tocsr()
    cover.sort_indices()
    keys = [cover.indices[a:b].tobytes() for a, b in zip(cover.indptr[:-1], cover.indptr[1:])]
    codes, uniques = pd.factorize(pd.Series(keys))
    merged = np.bincount(codes, weights=weight, minlength=len(uniques))
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    return cover[first].toarray().astype(bool), merged


def _mclp(aij: np.ndarray, weight: np.ndarray, p: int, *, time_limit_s: float,
          units: sparse.csr_matrix | None = None, need: np.ndarray | None = None,
          min_closed: int = 0) -> tuple[list[int], str]:
    """spopt MCLP on a 0/1 coverage matrix; optional gap constraints (step 1)."""
    from spopt.locate import MCLP

    cost = np.where(aij, 0.0, np.inf)
    with warnings.catch_warnings():
        # spopt 0.7 creates LpVariable(...) directly, deprecated in pulp 3.3 (not ours).
        warnings.simplefilter("ignore", DeprecationWarning)
        model = MCLP.from_cost_matrix(cost, weight, service_radius=1.0, p_facilities=p,
                                      name="mclp")
    if units is not None and min_closed > 0:
        z = [model.problem.add_variable(f"z_{u}", 0, 1, cat="Integer")
             for u in range(units.shape[0])]
        for u in range(units.shape[0]):
            members = units[u].indices
            model.problem += need[u] * z[u] <= pulp.lpSum(model.fac_vars[j] for j in members)
        model.problem += pulp.lpSum(z) >= min_closed
    try:
        model.solve(_solver(time_limit_s), results=False)
    except RuntimeError as exc:  # spopt's check_status: not solved
        msg = f"the coverage model could not be solved ({exc}); try a larger radius or fewer sites"
        raise SitingError(msg) from None
    chosen = [j for j, v in enumerate(model.fac_vars) if (v.value() or 0) > 0.5]
    return chosen, _status(model.problem)


def _close_gaps(units: sparse.csr_matrix, need: np.ndarray, k: int, *, time_limit_s: float
                ) -> tuple[int, int, str]:
    """Most gaps closed with at most k sites, then fewest sites: (gaps, sites, status)."""
    n_units, n_cands = units.shape
    prob = pulp.LpProblem("close_gaps", pulp.LpMaximize)
    x = [prob.add_variable(f"x_{j}", 0, 1, cat="Integer") for j in range(n_cands)]
    z = [prob.add_variable(f"z_{u}", 0, 1, cat="Integer") for u in range(n_units)]
    # One more gap closed (worth k + 1) always outweighs every site it costs (at most k).
    prob += (k + 1) * pulp.lpSum(z) - pulp.lpSum(x)
    for u in range(n_units):
        prob += need[u] * z[u] <= pulp.lpSum(x[j] for j in units[u].indices)
    prob += pulp.lpSum(x) <= k
    prob.solve(_solver(time_limit_s))
    if prob.status != pulp.LpStatusOptimal:
        msg = f"the gap-closing model could not be solved ({pulp.LpStatus[prob.status]})"
        raise SitingError(msg)
    closed = round(sum(v.value() or 0 for v in z))
    used = round(sum(v.value() or 0 for v in x))
    return closed, used, _status(prob)


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
        As :func:`geoapp.coverage.compute_gaps` (facilities with ``adcode`` and points).
    demand : GeoDataFrame
        ``adcode, demand`` points (:func:`geoapp.access.demand_grid` or imported).
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
    if facility_type not in FACILITY_TYPES:
        msg = f"unknown facility type {facility_type!r}; expected one of {', '.join(FACILITY_TYPES)}"
        raise SitingError(msg)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k <= 0:
        msg = f"k (the number of new sites) must be a whole number >= 1, got {k!r}"
        raise SitingError(msg)
    for name, value in (("radius_km", radius_km), ("circuity", circuity)):
        if not isinstance(value, (int, float, np.number)) or not np.isfinite(value) or value <= 0:
            msg = f"{name} must be a positive number, got {value!r}"
            raise SitingError(msg)
    if len(candidates) == 0:
        msg = "there are no candidate sites; choose seats, grid or add points"
        raise SitingError(msg)
    weight = demand["demand"].astype(float).clip(lower=0).to_numpy()
    if len(demand) == 0 or weight.sum() <= 0:
        msg = "there are no people in the demand points; nothing to cover"
        raise SitingError(msg)
    if not isinstance(policy, Policy):
        try:
            policy = load_policy(policy)
        except ValueError as exc:
            raise SitingError(str(exc)) from None
    try:
        gap_result = compute_gaps(policy, counties=counties, facilities=facilities,
                                  unemployed=unemployed, reading=reading)
    except ValueError as exc:
        raise SitingError(str(exc)) from None

    k = int(k)
    demand = demand.reset_index(drop=True)
    cands = candidates.reset_index(drop=True)
    existing = access.located(facilities[facilities["facility_type"] == facility_type])
    crs = access.metric_crs(counties, demand, cands)
    cover = _coverage_matrix(demand, cands, radius_km=radius_km, circuity=circuity, crs=crs)
    if cover.nnz == 0:
        near = access.nearest_distance_km(cands, demand, circuity=circuity).min()
        msg = (f"radius {radius_km:g} km is too small: no candidate site has any demand point "
               f"within reach (the closest pair is {near:.2f} km apart); use a larger radius "
               "or grid candidates")
        raise SitingError(msg)
    cover_c = cover.tocsc()
    covered0 = np.zeros(len(demand), dtype=bool)
    if len(existing):
        i, _, _ = access.pairs_within_km(demand, existing, radius_km=radius_km,
                                         circuity=circuity, crs=crs)
        covered0[i] = True
    open0 = np.where(covered0, 0.0, weight)

    # --- step 1: mandatory gaps -------------------------------------------------------------
    gaps = _mandatory_gaps(gap_result.table, facility_type)
    cand_county = cands["adcode"].astype(str).to_numpy()
    cand_pref = cands["prefecture_adcode"].astype(str).to_numpy()
    rows, cols = [], []
    for u, (level, code) in enumerate(zip(gaps["level"], gaps["adcode"])):
        inside = np.flatnonzero((cand_county if level == "county" else cand_pref) == code)
        rows += [u] * len(inside)
        cols += inside.tolist()
    member = sparse.csr_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)),
                               shape=(len(gaps), len(cands)))
    n_inside = np.asarray(member.sum(axis=1)).ravel().astype(int)
    need = np.minimum(gaps["shortfall"].to_numpy(), n_inside)
    closable = need > 0
    statuses: dict[str, str] = {}
    warnings: list[str] = []
    step1: list[int] = []
    closed_target = 0
    if closable.any():
        units = member[np.flatnonzero(closable)]
        in_units = np.flatnonzero(np.asarray(units.sum(axis=0)).ravel() > 0)
        sub_units = units[:, in_units].tocsr()
        closed_target, used, statuses["gaps"] = _close_gaps(
            sub_units, need[closable], k, time_limit_s=time_limit_s)
        # Among the covers closing that many gaps with that many sites: most people.
        sub_cover = cover[:, in_units]
        live = (open0 > 0) & (np.asarray(sub_cover.sum(axis=1)).ravel() > 0)
        if live.any():
            aij, w = _merge_signatures(sub_cover[np.flatnonzero(live)], open0[live])
        else:  # nobody left to cover: any site closing the gaps will do
            aij, w = np.zeros((1, len(in_units)), dtype=bool), np.zeros(1)
        chosen, statuses["gap_sites"] = _mclp(
            aij, w, used, time_limit_s=time_limit_s, units=sub_units, need=need[closable],
            min_closed=closed_target)
        step1 = [int(in_units[j]) for j in chosen]
        n_needed = int(closable.sum())
        if closed_target < n_needed:
            full, all_sites, _ = _close_gaps(sub_units, need[closable], len(in_units),
                                             time_limit_s=time_limit_s)
            warnings.append(
                f"k = {k} is too small for the mandatory gaps: closing all {full} closable "
                f"gap(s) takes {all_sites} site(s); {closed_target} closed, "
                f"{n_needed - closed_target} left open")
    for u in np.flatnonzero(~closable):
        warnings.append(f"mandatory gap {gaps.loc[u, 'rule_id']} in {gaps.loc[u, 'unit']} "
                        f"({gaps.loc[u, 'adcode']}) cannot be closed: no candidate site inside it")

    order1, gains1, open1 = _order_by_gain(step1, cover_c, open0)

    # --- step 2: maximal covering -------------------------------------------------------------
    p = k - len(step1)
    allowed = np.ones(len(cands), dtype=bool)
    allowed[step1] = False
    gain = _gain(cover_c, open1)
    useful = np.flatnonzero(allowed & (gain > 0))
    order2: list[int] = []
    gains2: list[float] = []
    signatures = 0
    if p > 0:
        p_eff = min(p, len(useful))
        if p_eff < p:
            warnings.append(
                f"only {p_eff} more site(s) can cover anyone not yet within {radius_km:g} km; "
                f"{p - p_eff} of the {k} sites would add nobody and are not placed")
        if p_eff > 0:
            sub = cover[:, useful]
            live = (open1 > 0) & (np.asarray(sub.sum(axis=1)).ravel() > 0)
            aij, w = _merge_signatures(sub[np.flatnonzero(live)], open1[live])
            signatures = len(w)
            chosen, statuses["coverage"] = _mclp(aij, w, p_eff, time_limit_s=time_limit_s)
            order2, gains2, _ = _order_by_gain([int(useful[j]) for j in chosen], cover_c, open1)
    greedy2, ggains2 = _greedy(len(order2), cover_c, open1, allowed & (gain > 0))

    # --- tables -------------------------------------------------------------------------------
    before = float(weight[covered0].sum())
    closes = _credit_gaps(order1, gaps, closable, need, cand_county, cand_pref)
    sites = _site_table(cands, "optimal", order1 + order2, gains1 + gains2, len(order1),
                        before, closes)
    gsites = _site_table(cands, "greedy", order1 + greedy2, gains1 + ggains2, len(order1),
                         before, closes)
    all_sites = pd.concat([sites, gsites], ignore_index=True)
    all_sites = gpd.GeoDataFrame(all_sites, geometry="geometry", crs=4326)
    n = max(len(sites), len(gsites))
    curve = pd.DataFrame({
        "k": np.arange(n + 1),
        "covered_optimal": _cumulative(before, gains1 + gains2, n),
        "covered_greedy": _cumulative(before, gains1 + ggains2, n),
    })
    gap_table = gaps.assign(
        candidates_inside=n_inside,
        closed=[bool(closes.get(("u", u))) for u in range(len(gaps))],
        closed_by=[", ".join(str(o) for o in closes.get(("u", u), [])) for u in range(len(gaps))],
    )
    gap_table["reason"] = np.where(
        gap_table["closed"], "",
        np.where(n_inside == 0, "no candidate site inside the unit",
                 np.where(closable, "k too small", "")))
    after = before + sum(gains1 + gains2)
    summary = {
        "facility_type": facility_type, "k": k, "radius_km": float(radius_km),
        "circuity": float(circuity), "policy": policy.key, "reading": reading,
        "people_total": float(weight.sum()),
        "covered_before": before,
        "covered_after": after,
        "covered_after_greedy": before + sum(gains1 + ggains2),
        "share_before": float(before / weight.sum()),
        "share_after": float(after / weight.sum()),
        "sites_placed": len(order1) + len(order2),
        "sites_for_gaps": len(order1),
        "mandatory_gaps": len(gaps),
        "gaps_closed": int(gap_table["closed"].sum()),
        "gaps_open": int((~gap_table["closed"]).sum()),
        "candidates": len(cands),
        "demand_points": len(demand),
        "mclp_rows": signatures,
        "solver": "; ".join(f"{k_}: {v}" for k_, v in statuses.items()) or "not needed",
        "runtime_s": round(time.perf_counter() - started, 3),
    }
    return SitingResult(
        sites=all_sites, curve=curve, gaps=gap_table, summary=summary,
        assumptions=_assumptions(demand, radius_km, circuity), warnings=tuple(warnings),
    )


def _credit_gaps(order, gaps, closable, need, cand_county, cand_pref) -> dict:
    """Which gaps each step-1 site closes (in order), and which sites closed each gap."""
    left = np.where(closable, need, 0).astype(int)
    out: dict = {}
    for pos, j in enumerate(order, start=1):
        labels = []
        for u in range(len(gaps)):
            code = cand_county[j] if gaps.loc[u, "level"] == "county" else cand_pref[j]
            if left[u] > 0 and code == gaps.loc[u, "adcode"]:
                left[u] -= 1
                labels.append(f"{gaps.loc[u, 'rule_id']} {gaps.loc[u, 'adcode']} {gaps.loc[u, 'unit']}")
                if left[u] == 0:
                    out.setdefault(("u", u), []).append(pos)
        out[("s", j)] = "; ".join(labels)
    return out


def _site_table(cands, method, order, gains, n_gap, before, closes) -> pd.DataFrame:
    picked = cands.iloc[order]
    geom = picked.geometry.to_crs(4326)
    return pd.DataFrame({
        "method": method,
        "order": np.arange(1, len(order) + 1),
        "step": ["gap" if i < n_gap else "coverage" for i in range(len(order))],
        "lon": geom.x.round(6).to_numpy(),
        "lat": geom.y.round(6).to_numpy(),
        "adcode": picked["adcode"].astype(str).to_numpy(),
        "county": picked["county"].astype(str).to_numpy(),
        "prefecture": picked["prefecture_adcode"].astype(str).to_numpy(),
        "candidate_source": picked["candidate_source"].to_numpy(),
        "closes_gap": [closes.get(("s", j), "") if i < n_gap else "" for i, j in enumerate(order)],
        "newly_covered": np.round(gains, 1),
        "cumulative_covered": np.round(before + np.cumsum(gains), 1) if gains else [],
        "geometry": geom.to_numpy(),
    }, columns=[*SITE_COLUMNS, "geometry"])


def _cumulative(before: float, gains: list[float], n: int) -> np.ndarray:
    values = np.concatenate([[before], before + np.cumsum(gains)]) if gains else np.array([before])
    return np.round(np.pad(values, (0, n + 1 - len(values)), mode="edge"), 1)


def demand_assumption(demand: gpd.GeoDataFrame, lang: str) -> str:
    """What the demand points are: the grid assumption or imported points, in ``lang``."""
    cell = demand.attrs.get("cell_km")
    if cell:
        return access.DEMAND_ASSUMPTION[lang].format(cell_km=cell)
    return {"zh": "需求点为用户导入的点（乡镇、村）及其人数。",
            "en": "Demand points are the imported points (towns, villages) with their counts."}[lang]


def site_file(result: SitingResult, fmt: str, *, lang: str = "zh", sources: list[str] | tuple = (),
              demo: bool = False) -> bytes:
    """The sites as ``geoapp site --format fmt`` writes them (CSV, XLSX with an about
    sheet holding the summary, curve, assumptions and warnings, or GeoJSON); the
    dashboard's downloads call this too, so both give the same bytes."""
    from geoapp import export

    if fmt == "csv":
        return export.to_bytes("csv", result.sites.drop(columns="geometry"))
    if fmt == "xlsx":
        meta = dict(result.summary)
        for row in result.curve.itertuples(index=False):
            meta[f"curve k={row.k}"] = f"optimal {row.covered_optimal:,.0f} / greedy {row.covered_greedy:,.0f}"
        for i, text in enumerate(result.assumptions[lang], start=1):
            meta[f"assumption {i}"] = text
        for i, text in enumerate(result.warnings, start=1):
            meta[f"warning {i}"] = text
        meta["sources"] = "; ".join(sources)
        meta["demo data"] = "yes" if demo else "no"
        meta = {str(k): (v if isinstance(v, (int, float, str)) else str(v)) for k, v in meta.items()}
        return export.to_bytes("xlsx", result.sites.drop(columns="geometry"), headers={},
                               meta=meta, sheet_name="sites", meta_sheet_name="about")
    if fmt == "geojson":
        return export.to_bytes("geojson", result.sites)
    msg = f"unknown format {fmt!r}; expected csv, xlsx or geojson"
    raise ValueError(msg)


def _assumptions(demand: gpd.GeoDataFrame, radius_km: float, circuity: float) -> dict[str, list[str]]:
    zh = [demand_assumption(demand, "zh")]
    en = [demand_assumption(demand, "en")]
    zh.append(f"服务半径 {radius_km:g} 公里：直线距离（区域拟合的等积投影）乘以绕行系数 {circuity:g}。")
    en.append(f"Service radius {radius_km:g} km: straight-line distance in one equal-area projection "
              f"fitted to the region, times a circuity factor of {circuity:g}.")
    zh.append("现有设施固定不变；强制性缺口只能由位于该县（或该市州）内的新站点补齐。")
    en.append("Existing facilities stay; a mandatory gap is closed only by a new site inside that "
              "county (or prefecture).")
    zh.append("贪心方案与最优方案共用补缺口的站点，其余逐个选择边际覆盖最多的候选点。")
    en.append("The greedy placement shares the gap-closing sites, then adds the candidate with the "
              "largest marginal gain, one at a time.")
    return {"zh": zh, "en": en}
