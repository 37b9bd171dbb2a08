"""Coverage gaps: facilities per unit measured against the rules of a policy.

This module owns the gap arithmetic of DOMAIN.md ("What a coverage gap is"). For every
county- or prefecture-level rule and every unit in its scope it reports ``required``,
``actual``, ``shortfall = max(0, required - actual)``, whether the rule is ``met`` and
the demand behind it (unemployed disabled people), and ranks the gaps: mandatory before
aspirational before target, then by unemployed disabled people (most first), then by
adcode. Province-level rules and people targets are region-wide and become a progress
table (actual / target) instead of gap rows.

Everything is vectorised: facilities are placed in counties by one spatial-index query
(:func:`assign_counties`) and counted with :func:`geoapp.facilities.counts_by_county`;
rules meet units through ``merge``, never a per-county loop.

Decisions
---------
- "about N" (左右) rules require N and report the shortfall to N, but count as ``met``
  from ``ABOUT_THRESHOLD`` (90 %) of N up: 72 of "about 80" is met, 71 is not. Such a
  row keeps its shortfall and its rank (``met`` tells it apart), so that the distance to
  the stated number stays visible.
- Facilities without an adcode (unplaced) are not counted, nor are those whose adcode
  lies outside the counties given; :class:`GapResult` reports how many of each.
- The ``reading`` (see :data:`geoapp.policy.READINGS`) decides whether a rule's
  ``broad_reading_adds`` unit kinds (city districts for “各县（市）”) are in scope; every
  result carries it, with a sentence in Chinese and English, in :meth:`GapResult.provenance`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoapp.facilities import FACILITY_TYPES, counts_by_county
from geoapp.policy import (
    COMPARISON_TABLE,
    READING_TEXT,
    READINGS,
    STRENGTHS,
    Policy,
    load_policy,
    rule_unit_kinds,
)

__all__ = [
    "ABOUT_THRESHOLD",
    "PROGRESS_COLUMNS",
    "TABLE_COLUMNS",
    "GapResult",
    "assign_counties",
    "compute_gaps",
    "filter_units",
]

ABOUT_THRESHOLD = COMPARISON_TABLE["about"].share
TABLE_COLUMNS = (
    "adcode",
    "prefecture_adcode",
    "city",
    "county",
    "unit_kind",
    "facility_type",
    "rule_id",
    "level",
    "strength",
    "comparison",
    "required",
    "actual",
    "shortfall",
    "met",
    "unemployed_disabled",
    "rank",
    "clause",
)
PROGRESS_COLUMNS = (
    "rule_id",
    "kind",
    "facility_type",
    "comparison",
    "target",
    "actual",
    "progress",
    "met",
    "strength",
    "clause",
    "unit",
)
COUNTY_COLUMNS = ("adcode", "name", "prefecture_adcode", "prefecture", "unit_kind")
_STRENGTH_ORDER = {s: i for i, s in enumerate(STRENGTHS)}
_ADCODE = re.compile(r"^\d{6}$")


# --- placing facilities ------------------------------------------------------------------


def assign_counties(facilities: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Place each facility in the county polygon that contains its point.

    One spatial-index query for all points (``within``: a point on a shared border lies
    in no county's interior). A point within no county, or within several (overlapping
    polygons), gets no code: deciding is the data steward's job, not a guess.

    The index is built on the points and queried with the counties (``contains``, the
    converse of ``within``), as ``geopandas.sjoin`` does: GEOS then prepares each county
    polygon once for all its candidate points, instead of testing every point against
    an unprepared polygon of thousands of vertices (5x slower at national scale, see
    ``bench/bench_gaps.py``).

    Parameters
    ----------
    facilities : GeoDataFrame
        Point geometries. Converted to the CRS of ``counties`` when both have one.
    counties : GeoDataFrame
        County polygons with an ``adcode`` column.

    Returns
    -------
    GeoDataFrame
        A copy of ``facilities`` with ``adcode_by_point`` (NaN when unplaced).

    Examples
    --------
    >>> from shapely.geometry import Point, box
    >>> counties = gpd.GeoDataFrame({"adcode": ["990101"]}, geometry=[box(0, 0, 1, 1)])
    >>> points = gpd.GeoDataFrame(geometry=[Point(0.5, 0.5), Point(2, 2), Point(1, 0.5)])
    >>> assign_counties(points, counties)["adcode_by_point"].tolist()
    ['990101', nan, nan]
    """
    _require_columns(counties, ("adcode",), "counties")
    points = facilities.geometry
    if facilities.crs is not None and counties.crs is not None and facilities.crs != counties.crs:
        points = points.to_crs(counties.crs)
    # A local tree: caching one in ``facilities.sindex`` would outlive this call.
    tree = shapely.STRtree(np.asarray(points.array))
    county_idx, point_idx = tree.query(np.asarray(counties.geometry.array), predicate="contains")
    hits = np.bincount(point_idx, minlength=len(facilities))
    single = hits[point_idx] == 1
    codes = np.full(len(facilities), np.nan, dtype=object)
    codes[point_idx[single]] = counties["adcode"].astype(str).to_numpy()[county_idx[single]]
    out = facilities.copy()
    out["adcode_by_point"] = pd.Series(codes, index=out.index, dtype=object)
    return out


# --- the result ----------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class GapResult:
    """Gap rows, region-wide progress and the facts needed to say how they were made.

    ``table`` has :data:`TABLE_COLUMNS`: one row per rule and unit in scope. Prefecture
    rows carry the prefecture's adcode and name (``city``), an empty ``county`` and
    ``unit_kind == "prefecture"``. ``rank`` runs 1..n over rows with a shortfall, empty
    elsewhere, over the whole region (a county keeps its rank in every filtered view).
    ``progress`` has :data:`PROGRESS_COLUMNS`: one row per province-level rule and people
    target; for a people target ``facility_type`` holds its label, ``kind`` is
    ``"people"`` and ``actual``/``progress``/``met`` are unknown (NA).
    """

    table: pd.DataFrame
    progress: pd.DataFrame
    policy_key: str
    policy_title: str
    reading: str
    policy_document: str = ""
    region: str = ""
    n_counties: int = 0
    n_prefectures: int = 0
    unplaced_facilities: int = 0
    outside_facilities: int = 0
    reading_affects: tuple[str, ...] = ()
    policy_title_en: str = ""

    def title(self, lang: str) -> str:
        """The policy's title in ``lang`` (:meth:`geoapp.policy.Policy.title_in`)."""
        return self.policy_title_en if lang == "en" and self.policy_title_en else self.policy_title

    def gaps_only(self) -> pd.DataFrame:
        """Rows with a shortfall, in rank order (the gap list)."""
        gaps = self.table[self.table["shortfall"] > 0]
        return gaps.sort_values("rank").reset_index(drop=True)

    def provenance(self) -> dict:
        """What produced this result: policy, reading (in words), units and data caveats."""
        text = READING_TEXT[self.reading]
        zh, en = text["zh"], text["en"]
        if not self.reading_affects:
            zh += "（本政策没有受此影响的规则）"
            en += " (no rule of this policy depends on it)"
        gaps = self.table[self.table["shortfall"] > 0]
        in_scope = self.table.groupby("rule_id", sort=False).size()
        return {
            "policy_key": self.policy_key,
            "policy_title": self.policy_title,
            "policy_document": self.policy_document,
            "region": self.region,
            "reading": self.reading,
            "reading_zh": zh,
            "reading_en": en,
            "reading_text": f"{zh} / {en}",
            "reading_affects": list(self.reading_affects),
            "about_threshold": ABOUT_THRESHOLD,
            "units": {
                "counties": self.n_counties,
                "prefectures": self.n_prefectures,
                "in_scope_by_rule": {str(k): int(v) for k, v in in_scope.items()},
            },
            "rows": len(self.table),
            "gaps": len(gaps),
            "mandatory_gaps": int((gaps["strength"] == "mandatory").sum()),
            "unplaced_facilities": self.unplaced_facilities,
            "outside_facilities": self.outside_facilities,
        }


# --- the engine ------------------------------------------------------------------------------


def compute_gaps(
    policy: Policy | str | Path,
    *,
    counties: pd.DataFrame,
    facilities: pd.DataFrame,
    unemployed: pd.DataFrame,
    reading: str = "literal",
    facility_adcode_col: str = "adcode",
) -> GapResult:
    """Measure facilities per unit against a policy's rules.

    Parameters
    ----------
    policy : Policy, str or Path
        A loaded policy, or a name/path for :func:`geoapp.policy.load_policy`.
    counties : DataFrame
        ``adcode, name, prefecture_adcode, prefecture, unit_kind`` (geometry unused);
        only the counties inside the policy's region are in scope.
    facilities : DataFrame
        ``facility_type`` and the county adcode in ``facility_adcode_col``.
    unemployed : DataFrame
        ``adcode, unemployed_disabled``, one row per county.
    reading : {"literal", "broad"}
        Whether rules' ``broad_reading_adds`` unit kinds are in scope.
    facility_adcode_col : str
        Where the facilities' county adcode is, e.g. ``"adcode_by_point"`` after
        :func:`assign_counties`.

    Returns
    -------
    GapResult

    Raises
    ------
    ValueError
        For an unknown reading, a missing column, duplicate unemployed rows, or counties
        none of which lie in the policy's region.

    Examples
    --------
    >>> from geoapp.datasource import default_source
    >>> src = default_source()
    >>> result = compute_gaps("jilin-2025-2027", counties=src.counties(),
    ...                       facilities=src.facilities(), unemployed=src.unemployed())
    >>> result.gaps_only()[["city", "county", "rule_id", "rank"]].head(3).to_numpy().tolist()
    [['辽源市', '', 'inc-prefecture', 1], ['白城市', '通榆县', 'aux-county', 2], \
['白山市', '长白朝鲜族自治县', 'aux-county', 3]]
    """
    policy = _checked_inputs(
        policy,
        reading,
        counties=counties,
        facilities=facilities,
        unemployed=unemployed,
        facility_adcode_col=facility_adcode_col,
    )
    units = _county_units(counties, unemployed, policy)
    prefectures = _prefecture_units(units)
    codes = _codes(facilities[facility_adcode_col])
    placed = pd.DataFrame(
        {"adcode": codes, "facility_type": facilities["facility_type"].astype(str)}
    ).dropna(subset=["adcode"])
    per_county, actual = _actual_counts(placed, units)
    table = _gap_table(_rules_frame(policy, reading), units, prefectures, actual)
    progress = _progress(policy, per_county.groupby("facility_type")["actual"].sum())
    return GapResult(
        table=table,
        progress=progress,
        policy_key=policy.key,
        policy_title=policy.title,
        reading=reading,
        policy_document=policy.document,
        region=f"{policy.region_adcode} {policy.region_name}",
        n_counties=len(units),
        n_prefectures=len(prefectures),
        unplaced_facilities=int(codes.isna().sum()),
        outside_facilities=int((~placed["adcode"].isin(units["adcode"])).sum()),
        reading_affects=tuple(r.id for r in policy.rules if r.broad_reading_adds),
        policy_title_en=policy.title_in("en"),
    )


# --- the steps of compute_gaps ---------------------------------------------------------------


def _checked_inputs(
    policy: Policy | str | Path,
    reading: str,
    *,
    counties: pd.DataFrame,
    facilities: pd.DataFrame,
    unemployed: pd.DataFrame,
    facility_adcode_col: str,
) -> Policy:
    """The loaded policy, once the reading and the frames' columns are known to be usable."""
    if not isinstance(policy, Policy):
        policy = load_policy(policy)
    if reading not in READINGS:
        msg = f"unknown reading {reading!r}; expected one of {', '.join(READINGS)}"
        raise ValueError(msg)
    _require_columns(counties, COUNTY_COLUMNS, "counties")
    _require_columns(facilities, ("facility_type", facility_adcode_col), "facilities")
    _require_columns(unemployed, ("adcode", "unemployed_disabled"), "unemployed")
    return policy


def _actual_counts(placed: pd.DataFrame, units: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Facilities per (county, type) and per (level, unit, type), zeros included.

    ``placed`` has ``adcode, facility_type`` (placed facilities only); codes outside
    ``units`` drop out. Returns the county counts (long) and both levels together.
    """
    per_county = counts_by_county(placed, units).melt(
        id_vars="adcode",
        value_vars=list(FACILITY_TYPES),
        var_name="facility_type",
        value_name="actual",
    )
    per_prefecture = (
        per_county.merge(units[["adcode", "prefecture_adcode"]], on="adcode")
        .groupby(["prefecture_adcode", "facility_type"], as_index=False)["actual"]
        .sum()
        .rename(columns={"prefecture_adcode": "adcode"})
    )
    actual = pd.concat(
        [per_county.assign(level="county"), per_prefecture.assign(level="prefecture")],
        ignore_index=True,
    )
    return per_county, actual


def _gap_table(
    rules: pd.DataFrame, units: pd.DataFrame, prefectures: pd.DataFrame, actual: pd.DataFrame
) -> pd.DataFrame:
    """One row per rule and unit in scope, with required, actual, shortfall, met and rank."""
    county_rows = (
        rules[rules["level"] == "county"]
        .explode("unit_kinds")
        .rename(columns={"unit_kinds": "unit_kind"})
        .merge(units, on="unit_kind", how="inner")
    )
    prefecture_rows = (
        rules[rules["level"] == "prefecture"]
        .drop(columns="unit_kinds")
        .merge(prefectures, how="cross")
    )
    table = pd.concat([county_rows, prefecture_rows], ignore_index=True)
    table = table.merge(actual, on=["level", "adcode", "facility_type"], how="left")
    table["actual"] = table["actual"].fillna(0).astype("int64")
    table["required"] = table["required"].astype("int64")
    table["shortfall"] = (table["required"] - table["actual"]).clip(lower=0)
    table["met"] = _met(table["comparison"], table["required"], table["actual"])
    table["unemployed_disabled"] = table["unemployed_disabled"].astype("Int64")
    return _rank(table)


def filter_units(
    result: GapResult,
    *,
    prefecture: str | Iterable[str] | None = None,
    adcode: str | Iterable[str] | None = None,
) -> GapResult:
    """Keep the rows of some prefectures and/or units, by adcode.

    ``prefecture`` keeps a prefecture's own row and its counties' rows; ``adcode`` keeps
    the rows of those units (county or prefecture codes). Given both, a row must match
    both. Ranks stay those of the whole region; ``progress`` is region-wide and kept.

    Examples
    --------
    >>> from geoapp.datasource import default_source
    >>> src = default_source()
    >>> result = compute_gaps("jilin-2025-2027", counties=src.counties(),
    ...                       facilities=src.facilities(), unemployed=src.unemployed())
    >>> sorted(set(filter_units(result, prefecture="220400").table["adcode"]))
    ['220400', '220402', '220403', '220421', '220422']
    """
    table = result.table
    keep = pd.Series(True, index=table.index)
    for column, wanted in (("prefecture_adcode", prefecture), ("adcode", adcode)):
        if wanted is None:
            continue
        codes = {wanted} if isinstance(wanted, str) else set(wanted)
        bad = sorted(c for c in codes if not _ADCODE.match(str(c)))
        if bad:
            what = column.removesuffix("_adcode")
            msg = f"filter_units: {what} codes must be 6-digit adcodes, got {bad}"
            raise ValueError(msg)
        keep &= table[column].isin(codes)
    return replace(result, table=table[keep].reset_index(drop=True))


# --- helpers ---------------------------------------------------------------------------------


def _require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{what} lacks column(s) {missing}; it has {list(frame.columns)}"
        raise ValueError(msg)


def _codes(series: pd.Series) -> pd.Series:
    """Adcodes as strings, NA where missing or blank (registers write '' for unknown)."""
    if pd.api.types.is_numeric_dtype(series):
        series = series.astype("Int64")
    out = series.astype("string").str.strip()
    return out.mask(out == "")


def _in_region(adcodes: pd.Series, region: str) -> pd.Series:
    """Whether each county adcode lies in the country (100000), a province (xx0000),
    a prefecture (xxxx00) or is the county itself."""
    if region == "100000":
        return adcodes.str.fullmatch(r"\d{6}")
    if region.endswith("0000"):
        return adcodes.str.startswith(region[:2])
    if region.endswith("00"):
        return adcodes.str.startswith(region[:4])
    return adcodes == region


def _county_units(counties: pd.DataFrame, unemployed: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    units = pd.DataFrame(
        {
            "adcode": counties["adcode"].astype(str),
            "prefecture_adcode": counties["prefecture_adcode"].astype(str),
            "city": counties["prefecture"].astype(str),
            "county": counties["name"].astype(str),
            "unit_kind": counties["unit_kind"].astype(str),
        }
    )
    units = units[_in_region(units["adcode"], policy.region_adcode)]
    if units.empty:
        msg = (
            f"policy {policy.key} applies to {policy.region_adcode} {policy.region_name}, but "
            f"none of the {len(counties)} counties given lies in it"
        )
        raise ValueError(msg)
    demand = pd.DataFrame(
        {
            "adcode": unemployed["adcode"].astype(str),
            "unemployed_disabled": pd.to_numeric(unemployed["unemployed_disabled"]).astype("Int64"),
        }
    )
    repeated = sorted(set(demand.loc[demand["adcode"].duplicated(), "adcode"]))
    if repeated:
        msg = f"unemployed has several rows for adcode(s) {repeated}; expected one per county"
        raise ValueError(msg)
    return units.merge(demand, on="adcode", how="left").reset_index(drop=True)


def _prefecture_units(units: pd.DataFrame) -> pd.DataFrame:
    grouped = units.groupby("prefecture_adcode", sort=True)
    out = pd.DataFrame(
        {
            "city": grouped["city"].first(),
            # Unknown only when no county of the prefecture has a count.
            "unemployed_disabled": grouped["unemployed_disabled"].sum(min_count=1),
        }
    ).reset_index()
    return out.assign(adcode=out["prefecture_adcode"], county="", unit_kind="prefecture")


def _rules_frame(policy: Policy, reading: str) -> pd.DataFrame:
    columns = [
        "rule_order",
        "rule_id",
        "facility_type",
        "level",
        "strength",
        "comparison",
        "required",
        "clause",
        "unit_kinds",
    ]
    rows = [
        (
            i,
            r.id,
            r.facility_type,
            r.level,
            r.strength,
            r.comparison,
            r.value,
            r.clause,
            list(rule_unit_kinds(r, reading)),
        )
        for i, r in enumerate(policy.rules)
    ]
    return pd.DataFrame(rows, columns=columns)


def _met(comparison: pd.Series, required: pd.Series, actual: pd.Series) -> pd.Series:
    """``actual`` reaches the share of ``required`` its comparison asks for
    (:data:`geoapp.policy.COMPARISON_TABLE`: all of it for "at_least", ceil(90 %) for
    "about"); NA stays NA."""
    share = comparison.map({k: c.share for k, c in COMPARISON_TABLE.items()}).to_numpy(float)
    partial = np.ceil(required.to_numpy(dtype="float64") * share - 1e-9)
    needed = np.where(share == 1.0, required.to_numpy(), partial)
    return actual >= pd.Series(needed, index=actual.index)


def _rank(table: pd.DataFrame) -> pd.DataFrame:
    """Rank 1..n the rows with a shortfall; sort the table by rank, then rule and unit."""
    table = table.assign(_strength=table["strength"].map(_STRENGTH_ORDER))
    gaps = table[table["shortfall"] > 0].sort_values(
        ["_strength", "unemployed_disabled", "adcode", "rule_order"],
        ascending=[True, False, True, True],
        na_position="last",
    )
    rank = pd.Series(pd.NA, index=table.index, dtype="Int64")
    rank[gaps.index] = np.arange(1, len(gaps) + 1)
    table["rank"] = rank
    table = table.sort_values(["rank", "rule_order", "adcode"], na_position="last")
    return table[list(TABLE_COLUMNS)].reset_index(drop=True)


def _progress(policy: Policy, region_counts: pd.Series) -> pd.DataFrame:
    """Province-level rules against the region's counts; people targets with actual NA."""
    rows = [
        (
            r.id,
            "facility",
            r.facility_type,
            r.comparison,
            r.value,
            int(region_counts.get(r.facility_type, 0)),
            r.strength,
            r.clause,
            "个",
        )
        for r in policy.rules
        if r.level == "province"
    ] + [
        (t.id, "people", t.label, t.comparison, t.value, None, t.strength, t.clause, t.unit)
        for t in policy.people_targets
    ]
    out = pd.DataFrame(
        rows,
        columns=[
            "rule_id",
            "kind",
            "facility_type",
            "comparison",
            "target",
            "actual",
            "strength",
            "clause",
            "unit",
        ],
    )
    out["target"] = out["target"].astype("int64")
    out["actual"] = out["actual"].astype("Int64")
    out["progress"] = (out["actual"] / out["target"]).astype("Float64")
    out["met"] = _met(out["comparison"], out["target"], out["actual"]).astype("boolean")
    return out[list(PROGRESS_COLUMNS)]
