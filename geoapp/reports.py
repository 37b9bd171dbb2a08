"""Gap lists and progress tables as planners receive them.

The CLI and the dashboard both call :func:`gap_file` and :func:`progress_file`, so a
download button and ``geoapp gaps --format xlsx`` produce the same file. CSV keeps the
machine-readable column keys (scripts depend on them) and a UTF-8 BOM (Excel depends on
it); XLSX carries Chinese (or English) headers and labels and an "about" sheet stating
the policy, the reading, the data date and whether the data are demo data.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import geopandas as gpd
import pandas as pd

from geoapp import export
from geoapp.coverage import PROGRESS_COLUMNS, TABLE_COLUMNS, GapResult
from geoapp.i18n import DEFAULT_LANGUAGE, t

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
    return table[list(TABLE_COLUMNS)].assign(policy=result.policy_key, reading=result.reading).reset_index(drop=True)


def gap_geodata(rows: pd.DataFrame, *, counties: gpd.GeoDataFrame, prefectures: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The gap rows with their unit's polygon (county rows: county; prefecture rows: prefecture)."""
    shapes = pd.concat(
        [counties[["adcode", "geometry"]], prefectures[["adcode", "geometry"]]], ignore_index=True
    ).drop_duplicates("adcode")
    merged = rows.merge(shapes, on="adcode", how="left")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=4326)


def _meta(result: GapResult, *, lang: str, as_of: str, demo: bool, sources: Sequence[str],
          row_count: int, generated_at: datetime | None) -> dict[str, str]:
    prov = result.provenance()
    return export.gap_meta(
        lang,
        policy_key=result.policy_key,
        policy_title=result.policy_title,
        policy_doc_no=result.policy_document,
        reading=prov["reading_zh"] if lang == "zh" else prov["reading_en"],
        as_of=as_of,
        demo=demo,
        sources=sources,
        row_count=row_count,
        generated_at=generated_at,
    )


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
) -> bytes:
    """The bytes of a gap-list file in ``fmt`` (csv, xlsx, geojson, gpkg)."""
    if fmt == "csv":
        return export.to_bytes("csv", rows)
    if fmt == "xlsx":
        return export.to_bytes(
            "xlsx",
            rows,
            headers=export.gap_headers(lang),
            value_labels=export.gap_value_labels(lang),
            meta=_meta(result, lang=lang, as_of=as_of, demo=demo, sources=sources,
                       row_count=len(rows), generated_at=generated_at),
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
            meta=_meta(result, lang=lang, as_of=as_of, demo=demo, sources=sources,
                       row_count=len(rows), generated_at=generated_at),
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
    lines = [f"{result.policy_title} ({result.policy_key})"]
    for r in rows.itertuples(index=False):
        name = labels.get(r.facility_type, r.facility_type)
        sign = "≈" if r.comparison == "about" else "≥"
        if pd.isna(r.actual):
            lines.append(f"  {name}: {sign}{r.target:,} {r.unit or ''} — {t('progress.no_data', lang)}")
        else:
            lines.append(
                f"  {name}: {int(r.actual):,} / {sign}{int(r.target):,} ({float(r.progress):.0%})"
            )
    return "\n".join(lines)
