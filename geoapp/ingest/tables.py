"""Reading a register file into a table of cells, as the steward sees it in Excel.

This module owns getting from what a steward hands over (a path, bytes or an open file)
to rows of cell values: the upload gate for paths (:mod:`geoapp.ingest.gate`), the
file-type checks, CSV decoding (UTF-8 with or without BOM, GBK/GB18030, Excel's UTF-16
"Unicode text") and delimiter sniffing; an ``.xlsx`` sheet is read by
:mod:`geoapp.ingest.xlsx` (cached values, merged ranges, formulas without a cached
value). Merged cells are filled with their value; empty rows after the last non-empty
one are dropped. The sheet budget (:func:`geoapp.ingest.gate.shape_problem`) is enforced
while rows are read.

A CSV file is read by pyarrow's C reader straight into columns where that gives exactly
the cells of Python's :mod:`csv` module (:func:`_read_csv_fast`; the rows are then a
:class:`ColumnRows` view of those columns), else by the csv module itself.

Input that cannot be read at all raises :class:`RegisterError`, whose message names the
file and the problem.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import operator
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

import numpy as np

from geoapp.admin import normalise_name
from geoapp.collector import collector_paused
from geoapp.csvtext import first_byte_in
from geoapp.ingest.gate import (
    MAX_COLUMNS,
    FileProblem,
    UploadError,
    check_size,
    check_upload,
    max_rows,
    shape_problem,
)

__all__ = ["EXTENSIONS", "ColumnRows", "RegisterError", "Source", "Table", "read_table"]

Source = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes]

EXTENSIONS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}


class RegisterError(FileProblem):
    """A register that cannot be used at all; the message names the file and the problem."""


@dataclass(frozen=True)
class Table:
    """A sheet as the user sees it: rows of cell values, merged cells filled."""

    name: str
    encoding: str | None
    sheet: str | None
    rows: Sequence[list[Any]]  # rows[i] is Excel row i + 1; padded to one width
    # merged ranges as (min_row, min_col, max_row, max_col), 0-based
    merged: tuple[tuple[int, int, int, int], ...] = ()
    empty_formulas: frozenset[tuple[int, int]] = frozenset()  # (row, col), 0-based


class ColumnRows(Sequence[list[Any]]):
    """Rows of a table held as columns: a read-only sequence of row lists.

    ``columns[c]`` is an object array of column ``c``'s cells (a str, or None where
    blank) and ``blanks[c]`` its mask of None cells; ``texts[c]``, where given, the same
    cells as Arrow text as read (blank ones as written, not None). Indexing gives a new list of a
    row's cells; a slice gives another view of the same columns, nothing copied.
    :func:`geoapp.ingest.rows.data_frame` takes :meth:`column` and :meth:`blank_rows`
    instead of the rows. Equal to any sequence of the same row lists.
    """

    __slots__ = ("_blanks", "_columns", "_start", "_stop", "_texts")

    def __init__(
        self,
        columns: Sequence[np.ndarray],
        blanks: Sequence[np.ndarray],
        start: int = 0,
        stop: int | None = None,
        texts: Sequence[Any] | None = None,
    ) -> None:
        self._columns, self._blanks = tuple(columns), tuple(blanks)
        self._texts = None if texts is None else tuple(texts)
        self._start = start
        self._stop = len(columns[0]) if stop is None else stop

    def __len__(self) -> int:
        return self._stop - self._start

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[i] for i in range(start, stop, step)]
            stop = max(start, stop)
            return ColumnRows(
                self._columns, self._blanks, self._start + start, self._start + stop, self._texts
            )
        i = operator.index(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("row index out of range")
        return [column[self._start + i] for column in self._columns]

    def __iter__(self) -> Iterator[list[Any]]:
        return map(list, zip(*(self.column(c) for c in range(self.width)), strict=True))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence) and not isinstance(other, (str, bytes)):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ColumnRows({len(self)} rows x {self.width} columns)"

    @property
    def width(self) -> int:
        return len(self._columns)

    def column(self, col: int) -> np.ndarray:
        """Column ``col`` of these rows: a read-only view of its object array."""
        view = self._columns[col][self._start : self._stop]
        view.flags.writeable = False
        return view

    def arrow_texts(self, col: int) -> Any:
        """Column ``col`` of these rows as the Arrow text it was read as, or None when
        the rows were not read by Arrow."""
        if self._texts is None:
            return None
        return self._texts[col].slice(self._start, len(self))

    def blank_cells(self, col: int) -> np.ndarray:
        """Which cells of column ``col`` of these rows are blank (None)."""
        return self._blanks[col][self._start : self._stop]

    def blank_rows(self) -> np.ndarray:
        """Which of these rows hold no value in any column."""
        if not len(self):
            return np.ones(0, dtype=bool)
        return np.logical_and.reduce([b[self._start : self._stop] for b in self._blanks])


def read_table(source: Source, *, sheet: str | int | None) -> Table:
    """Read ``source`` (a path, bytes or a binary file) as a CSV or ``.xlsx`` table.

    A path goes through the upload gate first; ``sheet`` (name or 0-based position)
    picks a workbook's sheet, the first when None.

    Raises
    ------
    RegisterError
        Missing, unreadable, empty, of another format, or over the sheet budget.
    """
    data, name, suffix = _source_bytes(source)
    if not data.strip():
        raise RegisterError(f"{name}: the file is empty", key="empty", file=name)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # OLE2: .xls or encrypted .xlsx
        raise RegisterError(
            f"{name}: this is an Excel 97-2003 workbook or a password-protected one; "
            "save it as .xlsx without a password, or as .csv"
        )
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, name, sheet=sheet)
    if suffix in (".xlsx", ".xlsm"):
        raise RegisterError(
            f"{name}: not an Excel .xlsx workbook (the file is no zip archive)",
            key="not_xlsx",
            file=name,
        )
    if sheet is not None:
        raise RegisterError(f"{name}: sheet={sheet!r} given, but a CSV file has no sheets")
    return _read_csv(data, name)


# --------------------------------------------------------------------------- the bytes


def _source_bytes(source: Source) -> tuple[bytes, str, str]:
    """Read ``source`` fully: (content, display name, extension or '').

    A path goes through the upload gate (:func:`geoapp.ingest.gate.check_upload`), as
    an upload does in :meth:`geoapp.store.Store.upload`: the command line reads no file
    the dashboard would refuse.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = path.name or str(path)
        if not path.exists():
            raise RegisterError(f"{path}: no such file", key="missing", file=str(path))
        if not path.is_file():
            raise RegisterError(f"{path}: not a file")
        suffix = path.suffix.lower()
        _check_extension(name, suffix)
        try:
            check_size(name, path.stat().st_size)
            data = path.read_bytes()
            # .txt (Excel's "Unicode text") is checked as CSV, .xlsm as a workbook.
            kind = EXTENSIONS.get(suffix) or ("xlsx" if data[:4] == b"PK\x03\x04" else "csv")
            check_upload(name, data, kind=kind)
        except UploadError as exc:
            raise RegisterError(str(exc), key=exc.key, **exc.params) from None
        except OSError as exc:
            raise RegisterError(f"{path}: cannot be read ({exc.strerror or exc})") from None
        return data, name, suffix
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<uploaded data>", ""
    if hasattr(source, "read"):
        raw_name = getattr(source, "name", None)
        name = Path(str(raw_name)).name if raw_name else "<uploaded file>"
        suffix = Path(name).suffix.lower() if raw_name else ""
        _check_extension(name, suffix)
        try:
            if hasattr(source, "seek"):
                source.seek(0)
            data = source.read()
        except (OSError, ValueError) as exc:
            raise RegisterError(f"{name}: cannot be read ({exc})") from None
        if isinstance(data, str):
            data = data.encode("utf-8")
        return bytes(data), name, suffix
    msg = f"cannot read a register from {type(source).__name__}; give a path, bytes or a file"
    raise TypeError(msg)


def _check_extension(name: str, suffix: str) -> None:
    if not suffix:
        return
    if suffix == ".xls":
        raise RegisterError(
            f"{name}: Excel 97-2003 .xls workbooks are not supported; save it as .xlsx or .csv"
        )
    if suffix not in EXTENSIONS:
        raise RegisterError(
            f"{name}: unsupported file type {suffix!r}; accepted: {', '.join(EXTENSIONS)}"
        )


def _over_budget(where: str, *, rows: int = 0, columns: int = 0, at_least: bool = False) -> None:
    """Refuse a sheet over the budget of :mod:`geoapp.ingest.gate` (rows, columns)."""
    problem = shape_problem(rows=rows, columns=columns, at_least=at_least)
    if problem:
        raise RegisterError(f"{where}: {problem}")


# --------------------------------------------------------------------------- CSV


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    elif b"\x00" in data[:4096]:
        raise RegisterError(
            f"{name}: binary content, not a CSV text file", key="csv_not_text", file=name
        )
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise RegisterError(f"{name}: has a UTF-8 mark but is not UTF-8 ({exc})") from None
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise RegisterError(
        f"{name}: the text is neither UTF-8 nor GBK/GB18030; save it from Excel as "
        "'CSV UTF-8' or as .xlsx"
    )


def _delimiter(text: str) -> str:
    """The most frequent of comma, tab and semicolon in the first 8,192 characters."""
    sample = text[:8192]
    counts = {d: sample.count(d) for d in (",", "\t", ";")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def _read_csv(data: bytes, name: str) -> Table:
    if FAST_CSV:
        table = _read_csv_fast(data, name)
        if table is not None:
            return table
    text, encoding = _decode(data, name)
    delimiter = _delimiter(text)
    row_limit = max_rows()
    try:
        # One row past the budget at most: an oversized sheet is refused below.
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        with collector_paused():
            rows: list[list[Any]] = list(islice(reader, row_limit + 1))
    except csv.Error as exc:
        raise RegisterError(f"{name}: not readable as CSV ({exc})") from None
    widths = [len(r) for r in rows]
    if widths and max(widths) > MAX_COLUMNS:
        first = next(i for i, w in enumerate(widths) if w > MAX_COLUMNS)
        _over_budget(f"{name}: row {first + 1:,}", columns=widths[first])
    if len(rows) > row_limit:
        _over_budget(name, rows=row_limit + 1, at_least=True)
    with collector_paused():
        rows = _clean_csv(rows)
    return Table(name=name, encoding=encoding, sheet=None, rows=_pad(rows))


def _clean_csv(rows: list[list[str]]) -> list[list[Any]]:
    """Blank cells (empty, or only whitespace) as None, in place.

    The csv module gives only strings, and a string is blank when empty or when it
    starts with whitespace and holds nothing else. So in a block of rows where no field
    starts with whitespace (found by one search of the block's fields joined), only
    the rows holding an empty string are looked at; elsewhere every cell is.
    """
    for start in range(0, len(rows), _CLEAN_BLOCK):
        block = rows[start : start + _CLEAN_BLOCK]
        fields = "\x00".join(chain.from_iterable(block))  # \x00: never in a CSV field
        n_fields = sum(map(len, block))
        if (
            fields[:1].isspace()
            or _SPACE_AFTER_NUL.search(fields)
            or (fields.count("\x00") != max(n_fields - 1, 0))
        ):
            rows[start : start + len(block)] = [[_clean_cell(v) for v in r] for r in block]
            continue
        if not _has_empty(fields, n_fields):
            continue  # no empty field in the block: nothing to clean
        for i, row in enumerate(block, start):
            if "" in row:
                rows[i] = [v or None for v in row]
    return rows


def _has_empty(fields: str, n_fields: int) -> bool:
    """Whether the fields joined by NULs hold an empty one (two NULs in a row, or one at
    either end)."""
    if n_fields == 1:
        return fields == ""
    return "\x00\x00" in fields or fields.startswith("\x00") or fields.endswith("\x00")


_CLEAN_BLOCK = 20_000  # rows joined at once: bounds the memory of the search
_SPACE_AFTER_NUL = re.compile(r"\x00\s")


# --------------------------------------------------------------------------- CSV, fast

FAST_CSV = True  # read CSV with pyarrow where that gives the csv module's cells

# Python's whitespace (str.isspace, what str.strip removes): none above U+3000.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_BLANK = r"\A[" + "".join(f"\\x{{{ord(c):x}}}" for c in WHITESPACE) + r"]*\z"  # RE2
_LONE_CR = re.compile(rb"\r(?!\n)")
_MAX_BLOCK = (1 << 31) - 1  # pyarrow's largest block: a longer text comes in several
# The bytes no whitespace character's UTF-8 starts with: a cell starting with one of them
# is not blank.
_NOT_SPACE_LEAD = np.setdiff1d(
    np.arange(256, dtype=np.uint8),
    np.array(sorted({c.encode("utf-8")[0] for c in WHITESPACE}), dtype=np.uint8),
)
_SHARE_SAMPLE = 1000  # a column at most half distinct in its first cells shares its texts


def _read_csv_fast(data: bytes, name: str) -> Table | None:
    """The table :func:`_read_csv` reads with the csv module, read by pyarrow into
    columns; None where the two might differ, which the csv module then reads.

    pyarrow parses quoted fields, doubled quotes, line breaks in quotes and text after
    a closing quote as the csv module does (tests/test_csv_fast.py compares the two on
    hand-made and random texts). It is not asked where they part or might: NUL
    characters, a carriage return without a line feed, rows of different lengths
    (pyarrow refuses them), fields over the csv module's size limit, sheets over the
    budget (the csv path names the row), text that is not UTF-8, GB18030 or UTF-16 with
    a byte-order mark. ``FAST_CSV = False`` reads every CSV with the csv module.
    """
    decoded = _utf8(data)
    if decoded is None:
        return None
    text, skip, encoding, sample = decoded
    if b"\x00" in text or _LONE_CR.search(text):
        return None
    with collector_paused():
        read = _arrow_csv(text, skip, _delimiter(sample))
        if read is None or not 0 < read.num_columns <= MAX_COLUMNS or read.num_rows > max_rows():
            return None
        texts = read.columns  # kept: the report takes the texts as written from them
        del read
        cells = []
        for column in texts:
            cells.append(_column_cells(column))
            if cells[-1] is None:
                return None
    columns, blanks = zip(*cells, strict=True)  # type: ignore[misc]
    filled = np.flatnonzero(~np.logical_and.reduce(blanks))
    stop = int(filled[-1]) + 1 if len(filled) else 0  # empty rows at the end dropped
    return Table(name, encoding, None, ColumnRows(columns, blanks, 0, stop, texts))


def _utf8(data: bytes) -> tuple[bytes, int, str, str] | None:
    """The text as UTF-8 bytes, how many bytes to skip (a byte-order mark), its encoding
    as :func:`_decode` names it and its first 8,192 characters; None where
    :func:`_decode` would fail or read it otherwise."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            return None
        return text.encode("utf-8"), 0, "utf-16", text[:8192]
    skip = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    try:  # the rest is checked by pyarrow, which refuses what Python's codec refuses
        sample = codecs.getincrementaldecoder("utf-8")().decode(data[skip : skip + 32768])
    except UnicodeDecodeError:
        if skip:
            return None  # a UTF-8 mark on other text: _decode says so
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            return None
        return text.encode("utf-8"), 0, "gb18030", text[:8192]
    return data, skip, ("utf-8-sig" if skip else "utf-8"), sample[:8192]


def _arrow_csv(text: bytes, skip: int, delimiter: str) -> Any:
    """``text[skip:]`` read by pyarrow as the csv module reads it: every row a row (the
    header too, and empty lines), every cell text; None where pyarrow refuses it."""
    import pyarrow as pa  # loaded with pandas already
    from pyarrow import csv as pa_csv

    names = [f"f{i}" for i in range(MAX_COLUMNS + 1)]
    try:
        read = pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(text).slice(skip)),
            read_options=pa_csv.ReadOptions(
                autogenerate_column_names=True,
                use_threads=False,
                # one block: each column comes as one array, which the report takes as is
                block_size=min(max(len(text) - skip + 1, 1 << 20), _MAX_BLOCK),
            ),
            parse_options=pa_csv.ParseOptions(
                delimiter=delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=True,
                ignore_empty_lines=False,
            ),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[],
                true_values=[],
                false_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
            memory_pool=pa.system_memory_pool(),  # freed at once, not kept for pyarrow
        )
    except (pa.ArrowException, ValueError):
        return None
    if any(f.type != pa.string() for f in read.schema):
        return None
    return read


def _column_cells(column: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """A column's cells as the csv path gives them (str, None where empty or only
    whitespace) and its mask of None cells; None when a cell is over the csv module's
    field size limit. A column that repeats (type, city, county) gets one str object
    per distinct text, as :func:`geoapp.ingest.rows._shared` gives the csv path's."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pool = pa.system_memory_pool()
    limit = csv.field_size_limit()
    longest = pc.max(pc.binary_length(column)).as_py() or 0  # bytes: at least characters
    if longest >= limit and (pc.max(pc.utf8_length(column, memory_pool=pool)).as_py() >= limit):
        return None
    if pc.count_distinct(column.slice(0, _SHARE_SAMPLE)).as_py() <= _SHARE_SAMPLE // 2:
        distinct = pc.unique(column, memory_pool=pool)
        texts = np.array(distinct.to_pylist(), dtype=object)
        blank = pc.match_substring_regex(distinct, _BLANK, memory_pool=pool)
        blank = blank.to_numpy(zero_copy_only=False)
        texts[blank] = None
        codes = pc.index_in(column, value_set=distinct, memory_pool=pool).to_numpy()
        return texts[codes], blank[codes]
    blank = _blank_cells(column)
    cells = column.to_numpy(zero_copy_only=False)
    cells[blank] = None
    return cells, blank


def _blank_cells(column: Any) -> np.ndarray:
    """Which cells are empty or whitespace only (:data:`_BLANK`): the pattern is tried
    on the cells that are empty or start with a byte a whitespace character can start
    with, the others (nearly all of a column of names or numbers) are not blank."""
    import pyarrow.compute as pc

    maybe = np.flatnonzero(~first_byte_in(column, _NOT_SPACE_LEAD))  # empty ones too
    blank = np.zeros(len(column), dtype=bool)
    if len(maybe):
        found = pc.match_substring_regex(column.take(maybe), _BLANK)
        blank[maybe] = found.to_numpy(zero_copy_only=False)
    return blank


# --------------------------------------------------------------------------- XLSX


def _read_xlsx(data: bytes, name: str, *, sheet: str | int | None) -> Table:
    """One sheet of the workbook (:mod:`geoapp.ingest.xlsx`), merged cells filled."""
    from geoapp.ingest import xlsx  # here: a CSV register needs no zip or XML reader

    try:
        read = xlsx.read_sheet(data, name, sheet=sheet, title_key=normalise_name)
    except xlsx.SheetProblem as exc:
        raise RegisterError(str(exc), **exc.params) from None
    rows = xlsx.fill_merged(_pad(read.rows), read.merged)
    return Table(
        name=name,
        encoding=None,
        sheet=read.title,
        rows=rows,
        merged=read.merged,
        empty_formulas=read.empty_formulas,
    )


# --------------------------------------------------------------------------- cells


def _clean_cell(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _pad(rows: list[list[Any]]) -> list[list[Any]]:
    while rows and all(v is None for v in rows[-1]):
        rows.pop()  # the end of the sheet, not rows of the register
    width = max((len(r) for r in rows), default=0)
    for row in rows:
        if len(row) < width:
            row.extend([None] * (width - len(row)))
    return rows
