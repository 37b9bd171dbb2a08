"""Gap lists and progress tables as planners receive them.

The CLI and the dashboard both call :func:`gap_file` and :func:`progress_file`, so a
download button and ``geoapp gaps --format xlsx`` produce the same file. CSV keeps the
machine-readable column keys (scripts depend on them) and a UTF-8 BOM (Excel depends on
it); XLSX carries Chinese (or English) headers and labels and an "about" sheet stating
the policy, the reading, the data date and whether the data are demo data.

:func:`build_gap_list` is the one way from a data source and the user's options
(policy, reading, prefecture, county, all rows) to the rows, sources and demo flag of a
gap list; :func:`gap_list_file` turns its result into file bytes. The CLI's
``geoapp gaps`` and the dashboard's download buttons call both, so the same options
give byte-identical CSV and GeoJSON (and XLSX identical but for the generated-at time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pandas as pd

from geoapp import export, provenance
from geoapp.analysis.coverage import (
    PROGRESS_COLUMNS,
    TABLE_COLUMNS,
    GapResult,
    compute_gaps,
    filter_units,
)
from geoapp.facilities import FACILITY_TYPES, counts_by_county
from geoapp.i18n import DEFAULT_LANGUAGE, t
from geoapp.policy import DEFAULT_POLICY, Policy
from geoapp.schema import DataSource

__all__ = [
    "EMBEDDED_SOURCES",
    "FILE_SUFFIX",
    "GAP_FORMATS",
    "PROGRESS_FORMATS",
    "GapList",
    "build_gap_list",
    "gap_file",
    "gap_geodata",
    "gap_list_file",
    "gap_rows",
    "prefecture_summary",
    "progress_file",
    "progress_rows",
    "progress_text",
]

GAP_FORMATS = ("csv", "xlsx", "geojson", "gpkg")
PROGRESS_FORMATS = ("csv", "xlsx")
FILE_SUFFIX = {"csv": ".csv", "xlsx": ".xlsx", "geojson": ".geojson", "gpkg": ".gpkg"}


def gap_rows(result: GapResult, *, all_rows: bool = False) -> pd.DataFrame:
    """The gap list: rows with a shortfall in rank order, or every row with ``all_rows``.

    Every row also names the policy and the reading that produced it, so a CSV cut out
    of its context still says how it was made.
    """
    if all_rows:
        table = result.table.sort_values(["rank", "rule_id", "adcode"], na_position="last")
    else:
        table = result.gaps_only()
    return (
        table[list(TABLE_COLUMNS)]
        .assign(policy=result.policy_key, reading=result.reading)
        .reset_index(drop=True)
    )


def gap_geodata(
    rows: pd.DataFrame, *, counties: gpd.GeoDataFrame, prefectures: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """The gap rows with their unit's polygon (county rows: county; prefecture rows: prefecture)."""
    shapes = pd.concat(
        [counties[["adcode", "geometry"]], prefectures[["adcode", "geometry"]]], ignore_index=True
    ).drop_duplicates("adcode")
    merged = rows.merge(shapes, on="adcode", how="left")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=4326)


def _meta(
    result: GapResult,
    *,
    lang: str,
    as_of: str,
    demo: bool,
    sources: Sequence[str],
    row_count: int,
    generated_at: datetime | None,
    area_periods: Sequence[tuple[str, str]] = (),
) -> dict[str, str]:
    prov = result.provenance()
    meta = export.gap_meta(
        lang,
        policy_key=result.policy_key,
        policy_title=result.title(lang),
        policy_doc_no=result.policy_document,
        reading=prov["reading_zh"] if lang == "zh" else prov["reading_en"],
        as_of=as_of,
        demo=demo,
        sources=[provenance.source_text(s, lang) for s in sources],
        row_count=row_count,
        generated_at=generated_at,
    )
    if area_periods:  # the areas' data come from different quarters: say which
        meta[t("meta.area_periods", lang)] = area_periods_text(area_periods, lang)
    return meta


def area_periods_text(area_periods: Sequence[tuple[str, str]], lang: str) -> str:
    """``白山市 2026Q1，其余 2025Q4`` (``, `` in English); an empty name is every other
    unit (:data:`geoapp.store.status.REST`)."""
    sep = "，" if lang == "zh" else ", "
    rest = t("meta.area_rest", lang)
    return sep.join(f"{name or rest} {period}" for name, period in area_periods)


def gap_file(
    result: GapResult,
    fmt: str,
    *,
    rows: pd.DataFrame,
    geodata: gpd.GeoDataFrame | None = None,
    as_of: str,
    demo: bool,
    sources: Sequence[str],
    lang: str = DEFAULT_LANGUAGE,
    generated_at: datetime | None = None,
    area_periods: Sequence[tuple[str, str]] = (),
) -> bytes:
    """The bytes of a gap-list file in ``fmt`` (csv, xlsx, geojson, gpkg);
    ``area_periods``: the areas whose data come from other quarters (the 说明 sheet)."""
    if fmt == "csv":
        return export.to_bytes("csv", rows)
    if fmt == "xlsx":
        return export.to_bytes(
            "xlsx",
            rows,
            headers=export.gap_headers(lang),
            value_labels=export.gap_value_labels(lang),
            meta=_meta(
                result,
                lang=lang,
                as_of=as_of,
                demo=demo,
                sources=sources,
                row_count=len(rows),
                generated_at=generated_at,
                area_periods=area_periods,
            ),
            sheet_name=t("sheet.gaps", lang),
            meta_sheet_name=t("sheet.about", lang),
        )
    if fmt in ("geojson", "gpkg"):
        if geodata is None:
            msg = f"{fmt} needs the gap rows with geometry (geodata)"
            raise ValueError(msg)
        options = {"layer": "gaps"} if fmt == "gpkg" else {}
        return export.to_bytes(fmt, geodata, **options)
    msg = f"unknown gap-list format {fmt!r}; expected one of {GAP_FORMATS}"
    raise ValueError(msg)


def progress_rows(result: GapResult) -> pd.DataFrame:
    return result.progress[list(PROGRESS_COLUMNS)].reset_index(drop=True)


def progress_file(
    result: GapResult,
    fmt: str,
    *,
    as_of: str,
    demo: bool,
    sources: Sequence[str],
    lang: str = DEFAULT_LANGUAGE,
    generated_at: datetime | None = None,
) -> bytes:
    """The bytes of the province progress table in ``fmt`` (csv or xlsx)."""
    rows = progress_rows(result)
    if fmt == "csv":
        return export.to_bytes("csv", rows)
    if fmt == "xlsx":
        headers = {c: t(f"col.{c}", lang) if _has(f"col.{c}", lang) else c for c in rows.columns}
        return export.to_bytes(
            "xlsx",
            rows,
            headers=headers,
            value_labels=export.gap_value_labels(lang),
            meta=_meta(
                result,
                lang=lang,
                as_of=as_of,
                demo=demo,
                sources=sources,
                row_count=len(rows),
                generated_at=generated_at,
            ),
            sheet_name=t("sheet.progress", lang),
            meta_sheet_name=t("sheet.about", lang),
        )
    msg = f"unknown progress format {fmt!r}; expected one of {PROGRESS_FORMATS}"
    raise ValueError(msg)


def _has(key: str, lang: str) -> bool:
    try:
        t(key, lang)
    except KeyError:
        return False
    return True


def progress_text(result: GapResult, *, lang: str = DEFAULT_LANGUAGE) -> str:
    """A plain-text table of the province targets, for a terminal."""
    rows = progress_rows(result)
    labels = export.gap_value_labels(lang).get("facility_type", {})
    lines = [f"{result.title(lang)} ({result.policy_key})"]
    for r in rows.itertuples(index=False):
        name = labels.get(r.facility_type, r.facility_type)
        sign = "≈" if r.comparison == "about" else "≥"
        if pd.isna(r.actual):
            lines.append(
                f"  {name}: {sign}{r.target:,} {r.unit or ''} — {t('progress.no_data', lang)}"
            )
        else:
            lines.append(
                f"  {name}: {int(r.actual):,} / {sign}{int(r.target):,} ({float(r.progress):.0%})"
            )
    return "\n".join(lines)


# --- one gap list for the CLI and the dashboard ----------------------------------------------

#: How the "sources" row of a gap file names the embedded data.
EMBEDDED_SOURCES = {
    ("facilities", True): "embedded demo facilities",
    ("facilities", False): "embedded facilities",
    ("unemployed", True): "embedded demo unemployed-disabled estimate",
    ("unemployed", False): "embedded counts",
}


@dataclass(frozen=True, eq=False)
class GapList:
    """A gap list ready to show or write: the (filtered) result, its rows and provenance.

    ``rows`` are :func:`gap_rows` of ``result``; ``sources`` name the facility and
    unemployed-count data (file paths, or the embedded data); ``demo`` is true when any
    of them is demo data; ``as_of`` is the data date.
    """

    result: GapResult
    rows: pd.DataFrame
    sources: tuple[str, ...]
    demo: bool
    as_of: str
    area_periods: tuple[tuple[str, str], ...] = ()

    def summary(self) -> dict[str, int]:
        """Counts for a headline: gaps by strength and the people behind mandatory gaps.

        Counted over the rows with a shortfall, whatever ``all_rows`` was. People are
        counted once per county: a prefecture-level gap stands for all its counties, so
        a county inside a prefecture that has a mandatory gap is not added again.

        Examples
        --------
        >>> from geoapp.datasource import default_source
        >>> build_gap_list(default_source(), prefecture="220600").summary()["mandatory_gaps"]
        1
        """
        gaps = self.result.gaps_only()
        mandatory = gaps[gaps["strength"] == "mandatory"]
        pref_rows = mandatory[mandatory["unit_kind"] == "prefecture"].drop_duplicates("adcode")
        county_rows = mandatory[
            (mandatory["unit_kind"] != "prefecture")
            & ~mandatory["prefecture_adcode"].isin(pref_rows["adcode"])
        ].drop_duplicates("adcode")
        people = pref_rows["unemployed_disabled"].sum() + county_rows["unemployed_disabled"].sum()
        return {
            "gaps": len(gaps),
            "mandatory_gaps": len(mandatory),
            "aspirational_gaps": int((gaps["strength"] == "aspirational").sum()),
            "people_behind_mandatory": int(people),
        }


def build_gap_list(
    source: DataSource,
    *,
    policy: Policy | str | Path = DEFAULT_POLICY,
    reading: str = "literal",
    prefecture: str | None = None,
    county: str | None = None,
    all_rows: bool = False,
    facilities: tuple[pd.DataFrame, str] | None = None,
    unemployed: tuple[pd.DataFrame, str] | None = None,
) -> GapList:
    """The gap list for a policy, a reading and an optional prefecture and/or county.

    Parameters
    ----------
    source : DataSource
        Boundaries, and the facilities and counts unless given.
    policy, reading
        As :func:`geoapp.analysis.coverage.compute_gaps`.
    prefecture, county : str, optional
        6-digit adcodes (resolve names first, e.g. with :class:`geoapp.admin.AdminRegistry`).
    all_rows : bool
        Every rule and unit in scope, not only the shortfalls (``geoapp gaps --all``).
    facilities, unemployed : (DataFrame, str), optional
        Imported registers and the file they came from, replacing the embedded data;
        registers are real data, so they do not count as demo.

    Returns
    -------
    GapList

    Raises
    ------
    ValueError
        From :func:`geoapp.analysis.coverage.compute_gaps` or for a malformed adcode.

    Examples
    --------
    >>> from geoapp.datasource import default_source
    >>> gaps = build_gap_list(default_source(), prefecture="220600")
    >>> gaps.rows[["county", "rule_id", "strength"]].head(1).to_numpy().tolist()
    [['长白朝鲜族自治县', 'aux-county', 'mandatory']]
    >>> gaps.sources, gaps.demo
    (('embedded demo facilities', 'embedded demo unemployed-disabled estimate'), True)
    """
    info = source.info()
    if facilities is None:
        facility_frame, facility_source = (
            source.facilities(),
            EMBEDDED_SOURCES[("facilities", info.facilities_demo)],
        )
        facilities_demo = info.facilities_demo
    else:
        (facility_frame, facility_source), facilities_demo = facilities, False
    if unemployed is None:
        unemployed_frame, unemployed_source = (
            source.unemployed(),
            EMBEDDED_SOURCES[("unemployed", info.unemployed_demo)],
        )
        unemployed_demo = info.unemployed_demo
    else:
        (unemployed_frame, unemployed_source), unemployed_demo = unemployed, False
    result = compute_gaps(
        policy,
        counties=source.counties(),
        facilities=facility_frame,
        unemployed=unemployed_frame,
        reading=reading,
    )
    if prefecture or county:
        result = filter_units(result, prefecture=prefecture or None, adcode=county or None)
    return GapList(
        result=result,
        rows=gap_rows(result, all_rows=all_rows),
        sources=(facility_source, unemployed_source),
        demo=facilities_demo or unemployed_demo,
        as_of=info.data_date,
        area_periods=tuple(info.area_periods),
    )


def gap_list_file(
    gaps: GapList,
    fmt: str,
    *,
    source: DataSource,
    lang: str = DEFAULT_LANGUAGE,
    generated_at: datetime | None = None,
) -> bytes:
    """The bytes of ``gaps`` as a file in ``fmt``; geographic formats take the source's
    display polygons (light, simplified as one coverage)."""
    geodata = None
    if fmt in ("geojson", "gpkg"):
        geodata = gap_geodata(
            gaps.rows,
            counties=source.display_layer("counties"),
            prefectures=source.display_layer("prefectures"),
        )
    return gap_file(
        gaps.result,
        fmt,
        rows=gaps.rows,
        geodata=geodata,
        as_of=gaps.as_of,
        demo=gaps.demo,
        sources=list(gaps.sources),
        lang=lang,
        generated_at=generated_at,
        area_periods=gaps.area_periods,
    )


# --- per-prefecture summaries (the progress page) ------------------------------------------


def prefecture_summary(
    counties: pd.DataFrame, facilities: pd.DataFrame, unemployed: pd.DataFrame
) -> pd.DataFrame:
    """Facilities by type and unemployed disabled people per prefecture.

    One row per prefecture (``prefecture_adcode, prefecture``), one column per facility
    type, ``total``, ``unemployed_disabled`` and ``unemployed_per_facility`` (NA where a
    prefecture has no facility), in adcode order. Facilities are counted by their
    ``adcode`` column, as :func:`geoapp.analysis.coverage.compute_gaps` counts them.
    """
    base = pd.DataFrame(
        {
            "adcode": counties["adcode"].astype(str),
            "prefecture_adcode": counties["prefecture_adcode"].astype(str),
            "prefecture": counties["prefecture"].astype(str),
        }
    )
    placed = pd.DataFrame(
        {"adcode": facilities["adcode"].astype(str), "facility_type": facilities["facility_type"]}
    )
    demand = pd.DataFrame(
        {
            "adcode": unemployed["adcode"].astype(str),
            "unemployed_disabled": pd.to_numeric(unemployed["unemployed_disabled"]).astype("Int64"),
        }
    )
    per_county = base.merge(counts_by_county(placed, base), on="adcode").merge(
        demand, on="adcode", how="left"
    )
    out = per_county.groupby(["prefecture_adcode", "prefecture"], as_index=False, sort=True)[
        [*FACILITY_TYPES, "total", "unemployed_disabled"]
    ].sum(min_count=1)
    for column in (*FACILITY_TYPES, "total"):
        out[column] = out[column].fillna(0).astype("int64")
    total = out["total"].astype("Float64").mask(out["total"] == 0)
    out["unemployed_per_facility"] = (out["unemployed_disabled"].astype("Float64") / total).round(1)
    return out
