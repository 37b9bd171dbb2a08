"""What a reader made of a register: the usable rows, the row report and a summary.

This module owns the result types of the three readers (:class:`FacilityImport`,
:class:`CountImport`, :class:`DemandImport`), the fields they share (where the table
came from, where its header was, the rows by status: :func:`import_fields`) and their
short bilingual summaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geoapp.ingest.headings import HeaderNote
from geoapp.ingest.rowlog import REASON_LABELS
from geoapp.ingest.rows import Opened
from geoapp.schema import STATUSES

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "CountImport",
    "DemandImport",
    "FacilityImport",
    "RegisterImport",
    "import_fields",
    "reason_counts",
]

# Header notes the summary repeats: what a steward should check (the others are on the page).
_TOLD_NOTES = ("header.note.values", "header.note.closest", "header.note.duplicate")


@dataclass(frozen=True, eq=False)
class RegisterImport:
    """What every reader reports; see :class:`FacilityImport` for the attributes."""

    report: pd.DataFrame
    source: str
    encoding: str | None
    sheet: str | None
    header_row: int
    header_rows: tuple[int, ...]
    column_map: dict[str, str]
    ignored_columns: tuple[str, ...]
    accepted: int
    flagged: int
    rejected: int
    skipped: int
    header_notes: tuple[HeaderNote, ...] = ()
    lang: str = "zh"  # of the report's reasons and of the summary

    def _summary_lines(self, what_zh: str, what_en: str) -> list[tuple[str, str]]:
        """The summary as (Chinese, English) pairs of lines."""
        where_zh = f"工作表 {self.sheet}，" if self.sheet else f"编码 {self.encoding}，"
        where_en = f"sheet {self.sheet}" if self.sheet else f"encoding {self.encoding}"
        rows = "–".join(str(r) for r in (self.header_rows[0], self.header_rows[-1]))
        rows = rows if len(self.header_rows) > 1 else str(self.header_row)
        n = len(self.report)
        lines = [
            (
                f"{what_zh} {self.source}（{where_zh}表头第 {rows} 行）：共 {n} 行，接受 "
                f"{self.accepted}，标记 {self.flagged}，拒绝 {self.rejected}，跳过 {self.skipped}。",
                f"{what_en} {self.source} ({where_en}, header row {rows}): {n} rows, "
                f"{self.accepted} accepted, {self.flagged} flagged, {self.rejected} rejected, "
                f"{self.skipped} skipped.",
            )
        ]
        top = reason_counts(self.report["codes"]).head(6)
        if len(top):
            zh = "，".join(f"{REASON_LABELS.get(c, (c, c))[0]} {k}" for c, k in top.items())
            en = ", ".join(f"{REASON_LABELS.get(c, (c, c))[1]} {k}" for c, k in top.items())
            lines.append((f"主要问题：{zh}。", f"Most frequent: {en}."))
        for note in self.header_notes:  # columns read by their values, headings unused
            if note.key in _TOLD_NOTES:
                lines.append((f"表头：{note.text('zh')}", f"Header: {note.text('en')}"))
        return lines

    def _pick(self, lines: list[tuple[str, str]], lang: str | None) -> str:
        side = 0 if (lang or self.lang) == "zh" else 1
        return "\n".join(pair[side] for pair in lines)


def reason_counts(codes: pd.Series) -> pd.Series:
    """How many rows give each reason code, most frequent first (ties in the order the
    codes first appear), as ``codes.str.split(";").explode().value_counts()`` counts
    them without the empty code: worked out once per distinct text of the column.

    Examples
    --------
    >>> reason_counts(pd.Series(["dms", "", "swapped;dms", "dms"])).to_dict()
    {'dms': 3, 'swapped': 1}
    """
    which, texts = pd.factorize(codes.fillna("").to_numpy(dtype=object))
    rows = np.bincount(which, minlength=len(texts))
    counts: dict[str, int] = {}  # insertion order = first appearance in the column
    for text, k in zip(texts.tolist(), rows.tolist(), strict=True):
        for code in str(text).split(";"):
            if code:
                counts[code] = counts.get(code, 0) + k
    found = pd.Series(counts, dtype="int64", name="count")
    return found.sort_values(ascending=False, kind="stable")


def import_fields(opened: Opened, report: pd.DataFrame, status: np.ndarray) -> dict[str, Any]:
    """The fields of :class:`RegisterImport`: the report, where it came from, the counts."""
    table, header = opened.table, opened.header
    by_status = {s: int((status == s).sum()) for s in STATUSES}
    return dict(
        report=report,
        source=table.name,
        encoding=table.encoding,
        sheet=table.sheet,
        header_row=header.rows[0] + 1,
        header_rows=tuple(r + 1 for r in header.rows),
        column_map=dict(header.labels),
        ignored_columns=header.ignored,
        header_notes=header.notes,
        lang=opened.lang,
        **by_status,
    )


@dataclass(frozen=True, eq=False)
class FacilityImport(RegisterImport):
    """What :func:`~geoapp.ingest.read_facilities` made of a register.

    Attributes
    ----------
    facilities : GeoDataFrame
        Accepted and flagged rows in the ``FACILITY_COLUMNS`` schema plus ``geometry``
        (EPSG:4326, WGS84); rows without coordinates have NaN lon/lat and no geometry.
    report : DataFrame
        One line per data row (blank ones included): ``row`` (Excel row number),
        ``status``, ``reasons``, ``codes``, ``note``, the row's original values
        (``name, type, city, county, address, lon, lat, datum`` as written), and the
        outcome ``facility_type, adcode, assigned_county, facility_id``.
    source, encoding, sheet : str or None
        File name, the text encoding used for CSV (``utf-8``, ``utf-8-sig``, ``gb18030``,
        ``utf-16``; None for a workbook) and the sheet read (None for CSV).
    header_row : int
        First Excel row of the header; ``header_rows`` lists all of them (two when a
        merged group header such as 坐标 sits above 经度/纬度).
    column_map : dict
        Field -> header text it was read from.
    ignored_columns : tuple of str
        Header texts not used.
    header_notes : tuple of HeaderNote
        One per column with a heading: how it was read (synonym, family, values, by
        hand) or that it is unused and the field it resembles;
        ``note.text(lang)`` renders one.
    accepted, flagged, rejected, skipped : int
        Row counts by status.
    """

    facilities: gpd.GeoDataFrame = field(default=None)  # type: ignore[assignment]

    def summary(self, lang: str | None = None) -> str:
        """A short report in ``lang`` (the language the register was read in)."""
        lines = self._summary_lines("设施登记表", "Facility register")
        placed = len(self.facilities)
        on_map = int(self.facilities.geometry.notna().sum()) if placed else 0
        lines.insert(
            1,
            (
                f"入库设施 {placed} 个，其中有坐标 {on_map} 个。",
                f"{placed} facilities imported, {on_map} with coordinates.",
            ),
        )
        return self._pick(lines, lang)


@dataclass(frozen=True, eq=False)
class CountImport(RegisterImport):
    """What :func:`~geoapp.ingest.read_unemployed` made of a count table.

    Attributes
    ----------
    counts : DataFrame
        ``adcode, prefecture, county, unemployed_disabled, is_demo, method`` (the
        layout of ``DataSource.unemployed()``), one row per accepted or flagged county.
    missing_units : tuple of str
        Adcodes of the region's counties the table does not give (not an error).
    report, source, encoding, sheet, header_row, header_rows, column_map, ignored_columns,
    accepted, flagged, rejected, skipped
        As in :class:`FacilityImport`; the report's outcome columns are
        ``adcode, assigned_county, unemployed_disabled``.
    """

    counts: pd.DataFrame = field(default=None)  # type: ignore[assignment]
    missing_units: tuple[str, ...] = ()
    missing_labels: tuple[str, ...] = ()

    def summary(self, lang: str | None = None) -> str:
        """A short report in ``lang`` (the language the table was read in)."""
        lines = self._summary_lines("未就业残疾人数表", "Unemployed-disabled table")
        total = int(self.counts["unemployed_disabled"].sum()) if len(self.counts) else 0
        n = len(self.counts)
        lines.insert(
            1,
            (
                f"入库 {n} 个县级单位，合计 {total:,} 人。",
                f"{n} county-level units imported, {total:,} people.",
            ),
        )
        if self.missing_units:
            shown = "、".join(self.missing_labels[:10])
            more = f" 等 {len(self.missing_units)} 个" if len(self.missing_units) > 10 else ""
            lines.append(
                (
                    f"表中缺少的县级单位：{shown}{more}。",
                    f"{len(self.missing_units)} county-level units of the region are not in the "
                    f"table: {', '.join(self.missing_labels[:10])}"
                    + (" ..." if len(self.missing_units) > 10 else ""),
                )
            )
        return self._pick(lines, lang)


@dataclass(frozen=True, eq=False)
class DemandImport(RegisterImport):
    """What :func:`~geoapp.ingest.read_demand` made of a table of demand points (towns,
    villages).

    Attributes
    ----------
    demand : GeoDataFrame
        ``name, adcode, county, prefecture, demand, geometry`` (points, EPSG:4326), one
        row per accepted or flagged point: the layout
        :func:`geoapp.analysis.access.county_access` and
        :func:`geoapp.analysis.siting.suggest_sites` take instead of the default grid.
    report, source, encoding, sheet, header_row, header_rows, column_map, ignored_columns,
    accepted, flagged, rejected, skipped
        As in :class:`FacilityImport`; the report's outcome columns are
        ``adcode, assigned_county, demand``.
    """

    demand: gpd.GeoDataFrame = field(default=None)  # type: ignore[assignment]

    def summary(self, lang: str | None = None) -> str:
        """A short report in ``lang`` (the language the table was read in)."""
        lines = self._summary_lines("需求点表", "Demand points")
        total = float(self.demand["demand"].sum()) if len(self.demand) else 0.0
        n = len(self.demand)
        lines.insert(
            1,
            (
                f"入库需求点 {n} 个，合计 {total:,.0f} 人。",
                f"{n} demand points imported, {total:,.0f} people.",
            ),
        )
        return self._pick(lines, lang)
