"""A register opened up to its data rows, and the rows that are no records.

This module owns the first steps every reader takes (:func:`open_register`: read the
table, find its header, build the region, lay the data rows out as a frame indexed by
Excel row number, start the row log) and the structural skips they share: blank rows,
heading rows merged across the table, total and subtotal rows (合计, 小计 ...), and the
flag for formula cells that were read as blank because the file holds no saved value.
Blank rows between the header and the last non-empty row are reported; empty rows after
it are the end of the sheet (:mod:`geoapp.ingest.tables` drops them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geoapp.i18n import DEFAULT_LANGUAGE, LANGUAGES
from geoapp.ingest.fields import Header, find_header, header_key, region_units
from geoapp.ingest.region import Region, build_region
from geoapp.ingest.rowlog import RowLog, cell_text, cell_texts, msg
from geoapp.ingest.tables import WHITESPACE, ColumnRows, RegisterError, Source, Table, read_table

if TYPE_CHECKING:
    import geopandas as gpd

    from geoapp.admin import AdminRegistry

__all__ = [
    "Opened",
    "data_frame",
    "flag_empty_formulas",
    "open_register",
    "skip_structure",
    "skip_totals",
]

_TOTAL_WORDS = ("合计", "总计", "小计", "全省", "全市", "总数", "total", "sum", "subtotal")


@dataclass(frozen=True, eq=False)
class Opened:
    """A register read up to its data rows: what every reader starts from."""

    table: Table  # its rows down to the header: the data rows are in frame
    header: Header
    region: Region
    frame: pd.DataFrame  # one column per field (None where absent), index: Excel row
    blank: np.ndarray  # rows with no value in any column
    rows: np.ndarray  # Excel row numbers
    log: RowLog
    lang: str = DEFAULT_LANGUAGE  # of the report's reasons
    _texts: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _present: dict[str, np.ndarray] = field(default_factory=dict, init=False, repr=False)
    _arrow: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    _written: dict[str, Any] = field(default_factory=dict, init=False, repr=False)

    def release(self, keep: tuple[str, ...]) -> None:
        """Drop the frame's columns but ``keep`` and their texts: a reader whose report
        is made frees the cells' own objects before its last step."""
        # Copies of the kept columns, as object (pandas would read text as its str dtype,
        # a blank cell as NaN): views would keep the one block of all columns alive.
        kept = {c: self.frame[c].to_numpy(dtype=object, copy=True) for c in keep}
        frame = pd.DataFrame(kept, index=self.frame.index, columns=list(keep), dtype=object)
        object.__setattr__(self, "frame", frame)  # the old frame goes with its cells
        for cache in (self._texts, self._present, self._arrow, self._written):
            for column in [c for c in cache if c not in keep]:
                del cache[column]

    def replace_column(self, column: str, values: np.ndarray) -> None:
        """Put ``values`` in place of a column of ``frame`` (a step that rewrites cells,
        such as joining wrapped addresses); what was worked out of the old cells goes."""
        # object, as read: pandas would take text for its str dtype, None for NaN
        self.frame[column] = pd.Series(values, index=self.frame.index, dtype=object)
        for cache in (self._texts, self._present, self._arrow, self._written):
            cache.pop(column, None)

    def texts(self, column: str) -> np.ndarray:
        """:func:`~geoapp.ingest.rowlog.cell_texts` of a column of ``frame``, worked out
        once for all the steps that report it (read-only: copy before changing it)."""
        if column not in self._texts:
            values = self.frame[column]
            self._texts[column] = cell_texts(values, missing=~self.present(column))
        return self._texts[column]

    def arrow(self, column: str) -> Any:
        """A column of ``frame`` as the CSV reader read it into Arrow text (one array,
        blank cells as written, not missing), or None where it was not read so."""
        arrow = self._arrow.get(column)
        if arrow is None:
            return None
        import pyarrow as pa  # loaded with pandas already

        if isinstance(arrow, pa.ChunkedArray):  # read in one block but for a huge file
            arrow = arrow.chunk(0) if arrow.num_chunks == 1 else arrow.combine_chunks()
            self._arrow[column] = arrow
        return arrow

    def written(self, column: str) -> Any:
        """The texts of :meth:`texts` for a report column: Arrow text, made in Arrow's
        kernels from the column as the CSV reader read it where it kept that (stripped
        of the whitespace ``str.strip`` strips, blank cells empty), else from ``texts``."""
        if column in self._written:  # worked out once (names: their keys, then the report)
            return self._written[column]
        arrow = self.arrow(column)
        if arrow is None:
            return self.texts(column)
        import pyarrow as pa
        import pyarrow.compute as pc

        trimmed = pc.utf8_trim(arrow, WHITESPACE)
        if trimmed.nbytes == arrow.nbytes:  # nothing trimmed: no second copy kept
            trimmed = arrow
        self._written[column] = pd.array(trimmed.cast(pa.large_string()), dtype="str")
        return self._written[column]

    def present(self, column: str) -> np.ndarray:
        """Which cells of a column of ``frame`` hold a value (``notna``), worked out once
        for all the steps that ask (read-only)."""
        if column not in self._present:
            mask = self.frame[column].notna().to_numpy()
            mask.flags.writeable = False
            self._present[column] = mask
        return self._present[column]


def open_register(
    source: Source,
    *,
    sheet: str | int | None,
    fields: Mapping[str, Any],
    columns: Mapping[str, str] | None,
    required: tuple[tuple[str, ...], ...],
    what: str,
    counties: gpd.GeoDataFrame,
    registry: AdminRegistry | None,
    province: object,
    points: bool,
    lang: str = DEFAULT_LANGUAGE,
) -> Opened:
    """Read the sheet, find its header, resolve the region and start the row log."""
    table = read_table(source, sheet=sheet)
    if not table.rows:
        raise RegisterError(f"{table.name}: the sheet is empty", key="empty", file=table.name)
    region = build_region(counties, registry, province, points=points)
    units = region_units(
        region.registry,
        province=region.province,
        counties=region.adcodes,
        prefectures=[p for p in region.prefecture_adcode.values() if p],
    )
    header = find_header(table, fields, columns, required=required, what=what, units=units)
    frame, blank = data_frame(table, header, tuple(fields))
    present, arrow = _known_columns(table, header, fields, len(frame))
    # The frame holds the data rows now; the table keeps those down to its header, as
    # lists, so that a long register's row lists or columns are freed (about 130 MB a
    # million rows).
    table = replace(table, rows=list(table.rows[: header.rows[-1] + 1]))
    if lang not in LANGUAGES:
        msg_ = f"unknown language {lang!r}; expected one of {LANGUAGES}"
        raise ValueError(msg_)
    rows = frame.index.to_numpy()
    opened = Opened(table, header, region, frame, blank, rows, RowLog(len(frame)), lang)
    opened._present.update(present)
    opened._arrow.update(arrow)
    return opened


def data_frame(
    table: Table, header: Header, fields: tuple[str, ...]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The data rows below the header as an object frame indexed by Excel row number,
    and which of them are blank. Rows read as columns (a CSV's
    :class:`~geoapp.ingest.tables.ColumnRows`) give their columns as they are."""
    start = header.rows[-1] + 1
    body = table.rows[start:]
    rows = np.arange(start + 1, start + 1 + len(body))
    none = np.full(len(body), None, dtype=object)
    if isinstance(body, ColumnRows):  # read by columns, texts already shared
        data = {f: body.column(c) for f, c in header.columns.items()}
        blank = body.blank_rows()
    else:
        if body:
            grid = np.empty((len(body), len(body[0])), dtype=object)
            grid[:] = body
        else:
            grid = np.empty((0, len(table.rows[0]) if table.rows else 0), dtype=object)
        data = {f: _shared(grid[:, c]) for f, c in header.columns.items()}
        blank = pd.isna(grid).all(axis=1) if grid.size else np.ones(len(body), bool)
    data = {f: data.get(f, none) for f in fields}
    frame = pd.DataFrame(data, index=pd.Index(rows, name="row"), dtype=object)
    return frame, blank


def _known_columns(
    table: Table, header: Header, fields: Mapping[str, Any], n: int
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The :meth:`Opened.present` masks known without a look at the cells (the fields
    without a column hold nothing, and a CSV read by columns knows its blank cells), and
    the columns read as Arrow text (:meth:`Opened.written`)."""
    known = {f: np.zeros(n, dtype=bool) for f in fields if f not in header.columns}
    arrow = {}
    body = table.rows[header.rows[-1] + 1 :]
    if isinstance(body, ColumnRows):
        known.update((f, ~body.blank_cells(c)) for f, c in header.columns.items())
        texts = {f: body.arrow_texts(c) for f, c in header.columns.items()}
        arrow = {f: t for f, t in texts.items() if t is not None}
    for mask in known.values():
        mask.flags.writeable = False
    return known, arrow


def _shared(values: np.ndarray) -> np.ndarray:
    """A column of text that repeats (type, city, county) with one string object per
    distinct text: the readers make one for every cell, a sixth of a register's memory.
    Other columns are returned as they are."""
    if len(set(values[:1000].tolist())) > 500:
        return values  # mostly distinct (names, coordinates): nothing to share
    if pd.api.types.infer_dtype(values, skipna=True) != "string":
        return values  # numbers too: factorize would take 1, 1.0 and True as one
    codes, distinct = pd.factorize(values)
    shared = np.asarray(distinct, dtype=object)[codes]
    shared[codes < 0] = values[codes < 0]  # None stays None, NaN stays NaN
    return shared


def skip_structure(opened: Opened, *, content: str) -> np.ndarray:
    """Skip blank rows and heading rows merged across the table; returns the skipped mask.

    ``content`` is the field whose text a heading row's message quotes.
    """
    table, header, frame, blank, log = (
        opened.table,
        opened.header,
        opened.frame,
        opened.blank,
        opened.log,
    )
    log.add("blank_row", "skipped", blank, msg("blank_row"))
    first, last = min(header.columns.values()), max(header.columns.values())
    start = header.rows[-1] + 1
    heading = np.zeros(len(frame), dtype=bool)
    for r1, c1, r2, c2 in table.merged:
        if r1 == r2 and r1 >= start and c1 <= first and c2 >= last and c1 < c2:
            heading[r1 - start] = True
    heading &= ~blank
    values = frame[content].to_numpy(dtype=object)
    log.add(
        "heading_row",
        "skipped",
        heading,
        lambda i: msg("heading_row", text=cell_text(values[i])),
    )
    return blank | heading


def flag_empty_formulas(opened: Opened) -> None:
    """Flag rows whose used cells hold a formula without a saved value (read as blank)."""
    table, header, frame, log = opened.table, opened.header, opened.frame, opened.log
    if not table.empty_formulas:
        return
    start = header.rows[-1] + 1
    used = {col: f for f, col in header.columns.items()}
    messages = np.full(len(frame), None, dtype=object)
    for r, c in sorted(table.empty_formulas):
        if r >= start and r - start < len(frame) and c in used:
            cell = f"{_column_letters(c)}{r + 1}"
            i = r - start
            cells = [] if messages[i] is None else messages[i].params["cells"]
            cells = [*cells, msg("cell", cell=cell, label=header.labels[used[c]])]
            messages[i] = msg("formula_no_value", cells=cells)
    log.add("formula_no_value", "flagged", messages != None, messages)  # noqa: E711


def _column_letters(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def skip_totals(labels: np.ndarray, live: np.ndarray, log: RowLog) -> np.ndarray:
    """Skip total and subtotal rows (合计, 小计 ...); returns the rows still live."""
    words = tuple(header_key(w) for w in _TOTAL_WORDS)
    total = live & np.array([header_key(t).startswith(words) for t in labels], dtype=bool)
    log.add("total_row", "skipped", total, lambda i: msg("total_row", text=labels[i]))
    return live & ~total
