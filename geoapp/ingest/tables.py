"""Reading a register file into a table of cells, as the steward sees it in Excel.

This module owns getting from what a steward hands over (a path, bytes or an open file)
to rows of cell values: the upload gate for paths (:mod:`geoapp.ingest.gate`), the
file-type checks, CSV decoding (UTF-8 with or without BOM, GBK/GB18030, Excel's UTF-16
"Unicode text") and delimiter sniffing; an ``.xlsx`` sheet is read by
:mod:`geoapp.ingest.xlsx` (cached values, merged ranges, formulas without a cached
value). Merged cells are filled with their value; empty rows after the last non-empty
one are dropped. The sheet budget (:func:`geoapp.ingest.gate.shape_problem`) is enforced
while rows are read.

Input that cannot be read at all raises :class:`RegisterError`, whose message names the
file and the problem.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

from geoapp.admin import normalise_name
from geoapp.collector import collector_paused
from geoapp.ingest.gate import (
    MAX_COLUMNS,
    FileProblem,
    UploadError,
    check_size,
    check_upload,
    max_rows,
    shape_problem,
)

__all__ = ["EXTENSIONS", "RegisterError", "Source", "Table", "read_table"]

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
    rows: list[list[Any]]  # rows[i] is Excel row i + 1; padded to one width
    # merged ranges as (min_row, min_col, max_row, max_col), 0-based
    merged: tuple[tuple[int, int, int, int], ...] = ()
    empty_formulas: frozenset[tuple[int, int]] = frozenset()  # (row, col), 0-based


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


def _read_csv(data: bytes, name: str) -> Table:
    text, encoding = _decode(data, name)
    sample = text[:8192]
    counts = {d: sample.count(d) for d in (",", "\t", ";")}
    delimiter = max(counts, key=lambda d: (counts[d], d == ","))
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
