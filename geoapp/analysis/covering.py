"""Covering models: which candidate sites reach which people, and how to choose among them.

This module owns the optimisation behind :func:`geoapp.analysis.siting.suggest_sites`.
:func:`coverage_problem` builds a :class:`CoverageProblem`: a sparse 0/1 coverage matrix
(demand points x candidate sites, within the service radius) and the people existing
facilities already reach. On such matrices:

- :func:`close_gaps`: the most mandatory gaps closed with at most ``k`` sites, then the
  fewest sites (a small multi-cover model in ``pulp``: a shortfall of 2 needs two sites);
- :func:`mclp`: PySAL ``spopt``'s maximal covering model, optionally constrained to
  close a number of gaps, solved by ``pulp``'s bundled CBC;
- :func:`merge_signatures`: demand points covered by the same candidates merged (an
  exact reduction of the MCLP);
- :func:`order_by_gain` and :func:`greedy`: marginal gains, for the coverage curve and
  the greedy comparison.

It imports only :mod:`geoapp.analysis.access` (distances) and the i18n table; a request
or model that cannot be solved raises :class:`SitingError` with a sentence, never a
solver trace.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp
import pyproj
from scipy import sparse

from geoapp.analysis.access import located, metric_crs, nearest_distance_km, pairs_within_km
from geoapp.i18n import t

__all__ = [
    "DEFAULT_TIME_LIMIT_S",
    "CoverageProblem",
    "SitingError",
    "close_gaps",
    "coverage_matrix",
    "coverage_problem",
    "demand_weight",
    "gain",
    "greedy",
    "mclp",
    "merge_signatures",
    "order_by_gain",
]


DEFAULT_TIME_LIMIT_S = 120


class SitingError(ValueError):
    """A siting request that cannot be answered; the message says why and what to change.

    Made with :meth:`keyed`, the message comes from the i18n table
    (``siting.err.<key>``): English as the exception's text, any language by :meth:`text`.
    """

    def __init__(self, msg: str, *, key: str | None = None, **params: object) -> None:
        super().__init__(msg)
        self.key, self.params = key, params

    @classmethod
    def keyed(cls, key: str, **params: object) -> SitingError:
        return cls(t(f"siting.err.{key}", "en").format(**params), key=key, **params)

    def text(self, lang: str) -> str:
        """The message in ``lang`` (as raised when it has no i18n key)."""
        if self.key is None:
            return str(self)
        return t(f"siting.err.{self.key}", lang).format(**self.params)


def demand_weight(demand: gpd.GeoDataFrame) -> np.ndarray:
    """People per demand point, negative counts as none."""
    return demand["demand"].astype(float).clip(lower=0).to_numpy()


@dataclass(frozen=True, eq=False)
class CoverageProblem:
    """What both steps work on, built by :func:`coverage_problem`.

    ``demand`` and ``candidates`` are renumbered 0..n-1; ``weight`` is people per demand
    point; ``cover`` (and its column-major copy ``cover_c``) is 1 where a candidate is
    within reach of a demand point; ``covered0`` marks the points an existing facility
    of the type already reaches and ``open0`` the people not yet covered.
    ``cand_county`` and ``cand_pref`` are the candidates' county and prefecture codes.
    """

    facility_type: str
    k: int
    radius_km: float
    circuity: float
    time_limit_s: float
    demand: gpd.GeoDataFrame
    candidates: gpd.GeoDataFrame
    weight: np.ndarray
    cover: sparse.csr_matrix
    cover_c: sparse.csc_matrix
    covered0: np.ndarray
    open0: np.ndarray
    cand_county: np.ndarray
    cand_pref: np.ndarray


def coverage_problem(
    facility_type: str,
    k: int,
    *,
    radius_km: float,
    circuity: float,
    counties: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
) -> CoverageProblem:
    """Who each candidate reaches and who the existing facilities reach already.

    Raises
    ------
    SitingError
        When the radius is so small that no candidate reaches any demand point.
    """
    weight = demand_weight(demand)
    demand = demand.reset_index(drop=True)
    cands = candidates.reset_index(drop=True)
    existing = located(facilities[facilities["facility_type"] == facility_type])
    crs = metric_crs(counties, demand, cands)
    cover = coverage_matrix(demand, cands, radius_km=radius_km, circuity=circuity, crs=crs)
    if cover.nnz == 0:
        near = nearest_distance_km(cands, demand, circuity=circuity).min()
        raise SitingError.keyed("radius", radius=f"{radius_km:g}", near=f"{near:.2f}")
    covered0 = np.zeros(len(demand), dtype=bool)
    if len(existing):
        i, _, _ = pairs_within_km(demand, existing, radius_km=radius_km, circuity=circuity, crs=crs)
        covered0[i] = True
    return CoverageProblem(
        facility_type=facility_type,
        k=k,
        radius_km=radius_km,
        circuity=circuity,
        time_limit_s=time_limit_s,
        demand=demand,
        candidates=cands,
        weight=weight,
        cover=cover,
        cover_c=cover.tocsc(),
        covered0=covered0,
        open0=np.where(covered0, 0.0, weight),
        cand_county=cands["adcode"].astype(str).to_numpy(),
        cand_pref=cands["prefecture_adcode"].astype(str).to_numpy(),
    )


def _solver(time_limit_s: float) -> pulp.LpSolver:
    with warnings.catch_warnings():
        # pulp 3.3 announces PULP_CBC_CMD's removal in 4.0; it is the bundled CBC we want.
        warnings.simplefilter("ignore", DeprecationWarning)
        return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s)


def _status(problem: pulp.LpProblem) -> str:
    if problem.status != pulp.LpStatusOptimal:
        return pulp.LpStatus[problem.status]
    return (
        "optimal"
        if problem.sol_status == pulp.LpSolutionOptimal
        else (pulp.LpSolution.get(problem.sol_status, "feasible"))
    )


def coverage_matrix(
    demand: gpd.GeoDataFrame,
    cands: gpd.GeoDataFrame,
    *,
    radius_km: float,
    circuity: float,
    crs: pyproj.CRS,
) -> sparse.csr_matrix:
    """0/1 matrix, demand points x candidates: 1 where the candidate is within reach."""
    i, j, _ = pairs_within_km(demand, cands, radius_km=radius_km, circuity=circuity, crs=crs)
    return sparse.csr_matrix(
        (np.ones(len(i), dtype=np.int8), (i, j)), shape=(len(demand), len(cands))
    )


def gain(cover: sparse.csc_matrix, open_weight: np.ndarray) -> np.ndarray:
    """People each candidate would newly cover, given the weight not yet covered."""
    return np.asarray(cover.T @ open_weight).ravel()


def order_by_gain(
    chosen: list[int], cover: sparse.csc_matrix, open_weight: np.ndarray
) -> tuple[list[int], list[float], np.ndarray]:
    """Order ``chosen`` by marginal gain; the gains and the weight left uncovered."""
    left, order, gains = list(chosen), [], []
    w = open_weight.copy()
    while left:
        g = gain(cover[:, left], w)
        best = int(np.argmax(g))
        j = left.pop(best)
        order.append(j)
        gains.append(float(g[best]))
        w[cover[:, j].nonzero()[0]] = 0.0
    return order, gains, w


def greedy(
    n: int, cover: sparse.csc_matrix, open_weight: np.ndarray, allowed: np.ndarray
) -> tuple[list[int], list[float]]:
    """Up to ``n`` allowed candidates, each the one with the largest marginal gain."""
    w = open_weight.copy()
    allowed = allowed.copy()
    picks, gains = [], []
    for _ in range(n):
        g = np.where(allowed, gain(cover, w), -1.0)
        best = int(np.argmax(g))
        if g[best] < 0:
            break
        picks.append(best)
        gains.append(float(g[best]))
        allowed[best] = False
        w[cover[:, best].nonzero()[0]] = 0.0
    return picks, gains


def merge_signatures(cover: sparse.csr_matrix, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows covered by the same candidates merged (dense 0/1 matrix, summed weights)."""
    cover = cover.tocsr()
    cover.sort_indices()
    keys = [
        cover.indices[a:b].tobytes()
        for a, b in zip(cover.indptr[:-1], cover.indptr[1:], strict=True)
    ]
    codes, uniques = pd.factorize(pd.Series(keys))
    merged = np.bincount(codes, weights=weight, minlength=len(uniques))
    first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
    return cover[first].toarray().astype(bool), merged


def mclp(
    aij: np.ndarray,
    weight: np.ndarray,
    p: int,
    *,
    time_limit_s: float,
    units: sparse.csr_matrix | None = None,
    need: np.ndarray | None = None,
    min_closed: int = 0,
) -> tuple[list[int], str]:
    """spopt MCLP on a 0/1 coverage matrix; optional gap constraints (step 1)."""
    # spopt takes seconds to import: only a siting run pays for it, not every CLI command.
    from spopt.locate import MCLP

    cost = np.where(aij, 0.0, np.inf)
    with warnings.catch_warnings():
        # spopt 0.7 creates LpVariable(...) directly, deprecated in pulp 3.3 (not ours).
        warnings.simplefilter("ignore", DeprecationWarning)
        model = MCLP.from_cost_matrix(cost, weight, service_radius=1.0, p_facilities=p, name="mclp")
    if units is not None and min_closed > 0:
        z = [
            model.problem.add_variable(f"z_{u}", 0, 1, cat="Integer") for u in range(units.shape[0])
        ]
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


def close_gaps(
    units: sparse.csr_matrix, need: np.ndarray, k: int, *, time_limit_s: float
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
