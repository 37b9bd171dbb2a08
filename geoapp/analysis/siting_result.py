"""The answer of :func:`geoapp.analysis.siting.suggest_sites`: its steps' results, the
assembled :class:`SitingResult` and the files it is exported as.

This module owns what the siting steps hand on and what comes out:
:class:`GapStep` (set covering, from
:func:`~geoapp.analysis.siting.close_mandatory_gaps`), :class:`CoverageStep` (maximal
covering, from :func:`~geoapp.analysis.siting.cover_most_people`),
:func:`assemble_result` (sites, coverage curve, gap table, summary and assumptions) and
:func:`site_file` (CSV, XLSX or GeoJSON, labelled in one language), and
:class:`SitingNote` (a warning, in English or from the i18n table in any language).
:mod:`geoapp.analysis.siting` re-exports every public name here, so callers keep using
``siting.X``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from geoapp import export, provenance
from geoapp.analysis.access import DEMAND_ASSUMPTION
from geoapp.analysis.covering import CoverageProblem
from geoapp.i18n import label_map, t

__all__ = [
    "SITE_COLUMNS",
    "CoverageStep",
    "GapStep",
    "SitingNote",
    "SitingResult",
    "assemble_result",
    "demand_assumption",
    "site_file",
]


SITE_COLUMNS = (
    "method",
    "order",
    "step",
    "lon",
    "lat",
    "adcode",
    "county",
    "prefecture",
    "candidate_source",
    "closes_gap",
    "newly_covered",
    "cumulative_covered",
)


class SitingNote(str):
    """A warning of a siting run: its English text, as the CLI and the logs have always
    shown it, that :meth:`text` renders in any language (``siting.warn.<key>``).

    Examples
    --------
    >>> note = SitingNote("add_nobody", {"placed": 1, "radius": "30", "k": 3, "unplaced": 2})
    >>> "would add nobody" in note
    True
    >>> note.text("zh")
    '只有 1 个站点还能覆盖 30 公里内尚未覆盖的人；3 个站点中其余 2 个不会增加覆盖，未放置'
    """

    key: str
    params: dict

    def __new__(cls, key: str, params: dict | None = None) -> SitingNote:
        params = dict(params or {})
        note = super().__new__(cls, t(f"siting.warn.{key}", "en").format(**params))
        note.key, note.params = key, params
        return note

    def __getnewargs__(self) -> tuple[str, dict]:  # pickled by st.cache_data
        return self.key, self.params

    def text(self, lang: str) -> str:
        return t(f"siting.warn.{self.key}", lang).format(**self.params)


@dataclass(frozen=True, eq=False)
class SitingResult:
    """Suggested sites, the coverage curve, a summary and the assumptions behind them.

    ``sites`` has :data:`SITE_COLUMNS` and a point geometry (EPSG:4326): the optimal
    placement (``method == "optimal"``) and the greedy one (``"greedy"``), each in order
    of marginal gain; ``step`` is ``"gap"`` for step-1 sites and ``"coverage"`` after.
    ``curve`` has ``k, covered_optimal, covered_greedy``: people within reach after the
    first ``k`` new sites (``k = 0``: existing facilities only). ``gaps`` lists the
    mandatory gaps with ``closed``, ``closed_by`` (site orders) and ``reason``.
    ``warnings`` are :class:`SitingNote` s: English text, ``.text(lang)`` in any language.
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


@dataclass(frozen=True, eq=False)
class GapStep:
    """The mandatory gaps and the sites chosen to close them, by :func:`close_mandatory_gaps`.

    ``gaps`` has ``rule_id, level, adcode, unit, shortfall, unemployed_disabled``;
    ``n_inside`` counts the candidates inside each gap unit, ``need`` the sites a unit
    can get (its shortfall, at most ``n_inside``), ``closable`` is ``need > 0``.
    ``order``/``gains``: the chosen sites by marginal gain; ``open_after``: the people
    still uncovered once they are placed.
    """

    gaps: pd.DataFrame
    n_inside: np.ndarray
    need: np.ndarray
    closable: np.ndarray
    order: list[int]
    gains: list[float]
    open_after: np.ndarray
    statuses: dict[str, str]
    warnings: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class CoverageStep:
    """The remaining sites, by :func:`cover_most_people`: the optimal ones (``order``,
    ``gains``) and the greedy ones (``greedy``, ``greedy_gains``), by marginal gain;
    ``signatures`` is the number of merged demand rows the MCLP saw."""

    order: list[int]
    gains: list[float]
    greedy: list[int]
    greedy_gains: list[float]
    signatures: int
    statuses: dict[str, str]
    warnings: tuple[str, ...]


# --- the result ------------------------------------------------------------------------------


def assemble_result(
    problem: CoverageProblem,
    gap_step: GapStep,
    coverage_step: CoverageStep,
    *,
    policy_key: str,
    reading: str,
    started: float,
) -> SitingResult:
    """Sites (optimal and greedy), the coverage curve, the gap table and the summary.

    ``started`` is the :func:`time.perf_counter` reading the run's runtime counts from.
    """
    weight, cands = problem.weight, problem.candidates
    order1, gains1 = gap_step.order, gap_step.gains
    order2, gains2 = coverage_step.order, coverage_step.gains
    greedy2, ggains2 = coverage_step.greedy, coverage_step.greedy_gains
    before = float(weight[problem.covered0].sum())
    closes = _credit_gaps(
        order1,
        gap_step.gaps,
        gap_step.closable,
        gap_step.need,
        problem.cand_county,
        problem.cand_pref,
    )
    sites = _site_table(
        cands, "optimal", order1 + order2, gains1 + gains2, len(order1), before, closes
    )
    gsites = _site_table(
        cands, "greedy", order1 + greedy2, gains1 + ggains2, len(order1), before, closes
    )
    all_sites = pd.concat([sites, gsites], ignore_index=True)
    all_sites = gpd.GeoDataFrame(all_sites, geometry="geometry", crs=4326)
    n = max(len(sites), len(gsites))
    curve = pd.DataFrame(
        {
            "k": np.arange(n + 1),
            "covered_optimal": _cumulative(before, gains1 + gains2, n),
            "covered_greedy": _cumulative(before, gains1 + ggains2, n),
        }
    )
    gap_table = _gap_result_table(gap_step, closes)
    summary = _summary(
        problem,
        gap_step,
        coverage_step,
        gap_table,
        before=before,
        policy_key=policy_key,
        reading=reading,
        started=started,
    )
    return SitingResult(
        sites=all_sites,
        curve=curve,
        gaps=gap_table,
        summary=summary,
        assumptions=_assumptions(problem.demand, problem.radius_km, problem.circuity),
        warnings=gap_step.warnings + coverage_step.warnings,
    )


def _gap_result_table(gap_step: GapStep, closes: dict) -> pd.DataFrame:
    """The mandatory gaps with ``candidates_inside, closed, closed_by, reason``."""
    gaps, n_inside = gap_step.gaps, gap_step.n_inside
    gap_table = gaps.assign(
        candidates_inside=n_inside,
        closed=[bool(closes.get(("u", u))) for u in range(len(gaps))],
        closed_by=[", ".join(str(o) for o in closes.get(("u", u), [])) for u in range(len(gaps))],
    )
    gap_table["reason"] = np.where(
        gap_table["closed"],
        "",
        np.where(
            n_inside == 0,
            "no candidate site inside the unit",
            np.where(gap_step.closable, "k too small", ""),
        ),
    )
    return gap_table


def _summary(
    problem: CoverageProblem,
    gap_step: GapStep,
    coverage_step: CoverageStep,
    gap_table: pd.DataFrame,
    *,
    before: float,
    policy_key: str,
    reading: str,
    started: float,
) -> dict:
    weight = problem.weight
    gains1, gains2 = gap_step.gains, coverage_step.gains
    after = before + sum(gains1 + gains2)
    statuses = {**gap_step.statuses, **coverage_step.statuses}
    return {
        "facility_type": problem.facility_type,
        "k": problem.k,
        "radius_km": float(problem.radius_km),
        "circuity": float(problem.circuity),
        "policy": policy_key,
        "reading": reading,
        "people_total": float(weight.sum()),
        "covered_before": before,
        "covered_after": after,
        "covered_after_greedy": before + sum(gains1 + coverage_step.greedy_gains),
        "share_before": float(before / weight.sum()),
        "share_after": float(after / weight.sum()),
        "sites_placed": len(gap_step.order) + len(coverage_step.order),
        "sites_for_gaps": len(gap_step.order),
        "mandatory_gaps": len(gap_step.gaps),
        "gaps_closed": int(gap_table["closed"].sum()),
        "gaps_open": int((~gap_table["closed"]).sum()),
        "candidates": len(problem.candidates),
        "demand_points": len(problem.demand),
        "mclp_rows": coverage_step.signatures,
        "solver": "; ".join(f"{k_}: {v}" for k_, v in statuses.items()) or "not needed",
        "runtime_s": round(time.perf_counter() - started, 3),
    }


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
                labels.append(
                    f"{gaps.loc[u, 'rule_id']} {gaps.loc[u, 'adcode']} {gaps.loc[u, 'unit']}"
                )
                if left[u] == 0:
                    out.setdefault(("u", u), []).append(pos)
        out[("s", j)] = "; ".join(labels)
    return out


def _site_table(cands, method, order, gains, n_gap, before, closes) -> pd.DataFrame:
    picked = cands.iloc[order]
    geom = picked.geometry.to_crs(4326)
    return pd.DataFrame(
        {
            "method": method,
            "order": np.arange(1, len(order) + 1),
            "step": ["gap" if i < n_gap else "coverage" for i in range(len(order))],
            "lon": geom.x.round(6).to_numpy(),
            "lat": geom.y.round(6).to_numpy(),
            "adcode": picked["adcode"].astype(str).to_numpy(),
            "county": picked["county"].astype(str).to_numpy(),
            "prefecture": picked["prefecture_adcode"].astype(str).to_numpy(),
            "candidate_source": picked["candidate_source"].to_numpy(),
            "closes_gap": [
                closes.get(("s", j), "") if i < n_gap else "" for i, j in enumerate(order)
            ],
            "newly_covered": np.round(gains, 1),
            "cumulative_covered": np.round(before + np.cumsum(gains), 1) if gains else [],
            "geometry": geom.to_numpy(),
        },
        columns=[*SITE_COLUMNS, "geometry"],
    )


def _cumulative(before: float, gains: list[float], n: int) -> np.ndarray:
    values = np.concatenate([[before], before + np.cumsum(gains)]) if gains else np.array([before])
    return np.round(np.pad(values, (0, n + 1 - len(values)), mode="edge"), 1)


def demand_assumption(demand: gpd.GeoDataFrame, lang: str) -> str:
    """What the demand points are: the grid assumption or imported points, in ``lang``."""
    cell = demand.attrs.get("cell_km")
    if cell:
        return DEMAND_ASSUMPTION[lang].format(cell_km=cell)
    return {
        "zh": "需求点为用户导入的点（乡镇、村）及其人数。",
        "en": "Demand points are the imported points (towns, villages) with their counts.",
    }[lang]


def site_file(
    result: SitingResult,
    fmt: str,
    *,
    lang: str = "zh",
    sources: list[str] | tuple = (),
    demo: bool = False,
) -> bytes:
    """The sites as ``geoapp site --format fmt`` writes them (CSV, XLSX with an about
    sheet holding the summary, curve, assumptions and warnings, or GeoJSON); the
    dashboard's downloads call this too, so both give the same bytes. The XLSX is
    labelled in ``lang`` (headers, coded values, the about sheet); CSV and GeoJSON keep
    the column names and codes."""
    if fmt == "csv":
        return export.to_bytes("csv", result.sites.drop(columns="geometry"))
    if fmt == "xlsx":
        return export.to_bytes(
            "xlsx",
            result.sites.drop(columns="geometry"),
            headers=site_headers(lang),
            value_labels=_site_value_labels(lang),
            meta=_about(result, lang, sources=sources, demo=demo),
            sheet_name=t("siting.sheet.sites", lang),
            meta_sheet_name=t("siting.sheet.about", lang),
        )
    if fmt == "geojson":
        return export.to_bytes("geojson", result.sites)
    msg = f"unknown format {fmt!r}; expected csv, xlsx or geojson"
    raise ValueError(msg)


#: The i18n key of each site column's header.
_SITE_HEADERS = {
    "adcode": "col.adcode",
    "county": "col.county",
    **{c: f"siting.col.{c}" for c in SITE_COLUMNS if c not in ("adcode", "county")},
}


def site_headers(lang: str) -> dict[str, str]:
    """The headers of :data:`SITE_COLUMNS` in ``lang``."""
    return {column: t(key, lang) for column, key in _SITE_HEADERS.items()}


def _site_value_labels(lang: str) -> dict[str, dict]:
    return {
        "method": label_map("siting.method", lang),
        "step": label_map("siting.step", lang),
        "candidate_source": label_map("siting.candidate", lang),
    }


def _solver_text(solver: str, lang: str) -> str:
    """The summary's "step: status; …" (:func:`_summary`) in ``lang``; a status PuLP
    names otherwise stays as PuLP wrote it."""
    if solver == "not needed":
        return t("siting.meta.solver_none", lang)
    steps, statuses = label_map("siting.solver", lang), label_map("siting.status", lang)
    parts = [part.partition(": ") for part in solver.split("; ")]
    return "; ".join(f"{steps.get(k, k)}: {statuses.get(v, v)}" for k, _, v in parts)


def _about(result: SitingResult, lang: str, *, sources, demo: bool) -> dict[str, object]:
    """The about sheet: summary, coverage curve, assumptions, warnings, sources, demo flag."""
    summary = dict(result.summary)
    summary["facility_type"] = t(f"facility_type.{summary['facility_type']}", lang)
    summary["reading"] = t(f"reading.{summary['reading']}", lang)
    summary["solver"] = _solver_text(summary["solver"], lang)
    meta = {t(f"siting.summary.{k}", lang): v for k, v in summary.items()}
    for row in result.curve.itertuples(index=False):
        meta[t("siting.meta.curve", lang).format(k=row.k)] = t(
            "siting.meta.curve_value", lang
        ).format(optimal=f"{row.covered_optimal:,.0f}", greedy=f"{row.covered_greedy:,.0f}")
    for i, text in enumerate(result.assumptions[lang], start=1):
        meta[t("siting.meta.assumption", lang).format(i=i)] = text
    for i, note in enumerate(result.warnings, start=1):
        text = note.text(lang) if isinstance(note, SitingNote) else note
        meta[t("siting.meta.warning", lang).format(i=i)] = text
    meta[t("siting.meta.sources", lang)] = provenance.sources_text(sources, lang)
    meta[t("siting.meta.demo", lang)] = t("siting.meta.yes" if demo else "siting.meta.no", lang)
    return {k: (v if isinstance(v, (int, float, str)) else str(v)) for k, v in meta.items()}


def _assumptions(
    demand: gpd.GeoDataFrame, radius_km: float, circuity: float
) -> dict[str, list[str]]:
    zh = [demand_assumption(demand, "zh")]
    en = [demand_assumption(demand, "en")]
    zh.append(
        f"服务半径 {radius_km:g} 公里：直线距离（区域拟合的等积投影）乘以绕行系数 {circuity:g}。"
    )
    en.append(
        f"Service radius {radius_km:g} km: straight-line distance in one equal-area projection "
        f"fitted to the region, times a circuity factor of {circuity:g}."
    )
    zh.append("现有设施固定不变；强制性缺口只能由位于该县（或该市州）内的新站点补齐。")
    en.append(
        "Existing facilities stay; a mandatory gap is closed only by a new site inside that "
        "county (or prefecture)."
    )
    zh.append("贪心方案与最优方案共用补缺口的站点，其余逐个选择边际覆盖最多的候选点。")
    en.append(
        "The greedy placement shares the gap-closing sites, then adds the candidate with the "
        "largest marginal gain, one at a time."
    )
    return {"zh": zh, "en": en}
