"""Reading one sheet of an ``.xlsx`` workbook: its cells as Excel last saved them.

This module owns the workbook side of :mod:`geoapp.ingest.tables`: finding a sheet
(the first, one by position or one by name), reading its cells, and scanning its XML
for merged ranges and for formula cells without a cached value. Formulas are never
evaluated: a cell holds the value Excel cached when it saved the file, or nothing.

The cells are read with calamine (python-calamine), several times faster than
openpyxl, and come out as openpyxl's ``read_only=True, data_only=True`` gives them,
which the rest of ingest was built on. Where calamine differs the sheet's XML decides:

- a number written without a point or an exponent (``<v>125</v>``) is an ``int``
  (calamine gives ``125.0``); one written ``1.0`` or ``1E+20`` stays a ``float``;
- a cell whose style is a date format (openpyxl's rule, :func:`_date_styles`) is a
  ``datetime``, a ``time`` below one day or a ``timedelta`` for ``[h]:mm``, converted
  from its serial as openpyxl does; a style openpyxl does not take for a date (the
  locale formats 27-36, 50-81 among them) leaves the number a number;
- an error cell gives its text (``#DIV/0!``, ``#N/A``), not a blank;
- a row is as wide as its last ``<c>`` element, even an empty one, as openpyxl counts.

Two rare kinds of workbook are read with openpyxl instead, because calamine cannot give
the same cells: text with spaces at its start or end kept in a ``<t>`` element without
``xml:space="preserve"`` (calamine trims them; Excel always writes the attribute), and a
default cell style that is a date format (every cell without a style would need one).

Problems are raised as :class:`SheetProblem`, which :mod:`geoapp.ingest.tables` turns
into a ``RegisterError``. Only :mod:`geoapp.ingest.gate` is imported from the package.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import posixpath
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from defusedxml import ElementTree

from geoapp.ingest.gate import MAX_COLUMNS, max_rows, shape_problem

__all__ = ["Sheet", "SheetProblem", "fill_merged", "read_sheet"]

Merged = tuple[tuple[int, int, int, int], ...]


class SheetProblem(ValueError):
    """A workbook or sheet that cannot be read; ``params`` go to the RegisterError."""

    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.params = params


@dataclass(frozen=True)
class Sheet:
    """One sheet's cleaned cells from A1 (blank as None), merged ranges not yet filled."""

    title: str
    rows: list[list[Any]]
    merged: Merged = ()
    empty_formulas: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True)
class _Book:
    """What ``xl/workbook.xml`` and its relationships say: sheets, parts, date system."""

    names: list[str]  # every sheet, chart sheets included, in workbook order
    worksheets: dict[str, str]  # worksheet name -> its part in the archive
    shared_strings: str | None
    styles: tuple[set[int], set[int], set[int]]  # see _date_styles
    date1904: bool


def read_sheet(data: bytes, name: str, *, sheet: str | int | None, title_key: Any) -> Sheet:
    """The sheet ``sheet`` of the workbook ``data`` (the first when None).

    ``title_key`` compares sheet names (the caller's normalisation of a name).
    """
    book, title, xml, strings = _open(data, name, sheet, title_key)
    where = f"{name}: sheet {title}"
    _check_declared_size(xml, where)
    dates, timedeltas, disputed = book.styles
    if 0 in dates | disputed or _trimmed_text(xml) or _trimmed_text(strings):
        rows = _openpyxl_rows(data, name, title, where)
    else:
        rows = _calamine_rows(data, name, title)
        epoch = _MAC_EPOCH if book.date1904 else _WINDOWS_EPOCH
        try:
            _put(rows, _xml_values(xml, dates, timedeltas, disputed, epoch))
        except ValueError as exc:  # a number cell that holds no number
            raise _not_a_workbook(name, exc) from None
        rows = _openpyxl_width(rows, xml, where)
        if len(rows) > max_rows():
            _over_budget(where, rows=max_rows() + 1, at_least=True)
    merged, empty = scan_sheet_xml(xml)
    return Sheet(title=title, rows=rows, merged=merged, empty_formulas=empty)


def _open(
    data: bytes, name: str, sheet: str | int | None, title_key: Any
) -> tuple[_Book, str, bytes, bytes]:
    """The book, the sheet's title, its XML and the shared strings' XML."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            book = _book(archive)
            title = _pick_sheet(book, name, sheet, title_key)
            xml = archive.read(book.worksheets[title])
            strings = archive.read(book.shared_strings) if book.shared_strings else b""
    except SheetProblem:
        raise
    except Exception as exc:  # zip, XML and missing parts alike: not a workbook
        raise _not_a_workbook(name, exc) from None
    return book, title, _unprefixed(xml), _unprefixed(strings)


_ROOT_PREFIX_RE = re.compile(rb"<[A-Za-z_][\w.-]*:(?:worksheet|sst)\b")
_PREFIX_RE = re.compile(rb"<(/?)[A-Za-z_][\w.-]*:")


def _unprefixed(xml: bytes) -> bytes:
    """The part with its elements' namespace prefixes dropped (``<x:c>`` read as ``<c>``),
    so that the scans need not allow for them (some writers prefix every element)."""
    if _ROOT_PREFIX_RE.search(xml[:4096]):
        return _PREFIX_RE.sub(rb"<\1", xml)
    return xml


def _not_a_workbook(name: str, exc: Exception) -> SheetProblem:
    return SheetProblem(
        f"{name}: cannot be read as an Excel workbook ({exc})", key="not_xlsx", file=name
    )


def _over_budget(where: str, *, rows: int = 0, columns: int = 0, at_least: bool = False) -> None:
    problem = shape_problem(rows=rows, columns=columns, at_least=at_least)
    if problem:
        raise SheetProblem(f"{where}: {problem}")


# --------------------------------------------------------------------------- the book

_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_DOC_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type's last word, target part) of ``part`` ('' for the package)."""
    folder, base = posixpath.split(part)
    rels_part = posixpath.join(folder, "_rels", f"{base}.rels")
    if rels_part not in archive.namelist():
        return {}
    out = {}
    for rel in ElementTree.fromstring(archive.read(rels_part)).iter(f"{_REL_NS}Relationship"):
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        out[rel.get("Id", "")] = (
            rel.get("Type", "").rsplit("/", 1)[-1],
            posixpath.normpath(target),
        )
    return out


_WORKBOOK_TYPES = tuple(
    f"application/vnd.{kind}.main+xml"
    for kind in (
        "openxmlformats-officedocument.spreadsheetml.sheet",
        "ms-excel.sheet.macroEnabled",
        "openxmlformats-officedocument.spreadsheetml.template",
        "ms-excel.template.macroEnabled",
    )
)


def _workbook_part(archive: zipfile.ZipFile) -> str:
    """The workbook part named by ``[Content_Types].xml``, as openpyxl looks for it."""
    root = ElementTree.fromstring(archive.read("[Content_Types].xml"))
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    for node in root.iter(f"{ns}Override"):
        if node.get("ContentType") in _WORKBOOK_TYPES:
            return node.get("PartName", "").lstrip("/")
    if any(n.get("ContentType") in _WORKBOOK_TYPES for n in root.iter(f"{ns}Default")):
        return "xl/workbook.xml"
    msg = "File contains no valid workbook part"
    raise ValueError(msg)


def _book(archive: zipfile.ZipFile) -> _Book:
    """Sheets and parts of the workbook, read as openpyxl finds them."""
    part = _workbook_part(archive)
    root = ElementTree.fromstring(archive.read(part))
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    rels = _relationships(archive, part)
    names, worksheets = [], {}
    for node in root.iter(f"{ns}sheet"):
        title = node.get("name", "")
        kind, target = rels.get(node.get(f"{_DOC_NS}id", ""), ("", ""))
        if kind == "worksheet":
            worksheets[title] = target
            names.append(title)
        elif kind == "chartsheet":
            names.append(title)
    props = root.find(f"{ns}workbookPr")
    date1904 = props is not None and props.get("date1904", "0").lower() in ("1", "true")
    by_kind = dict(rels.values())
    return _Book(
        names=names,
        worksheets=worksheets,
        shared_strings=by_kind.get("sharedStrings"),
        styles=_date_styles(archive.read(by_kind["styles"]) if "styles" in by_kind else b""),
        date1904=date1904,
    )


def _pick_sheet(book: _Book, name: str, sheet: str | int | None, title_key: Any) -> str:
    """The title of the worksheet asked for: the first, by 0-based position, or by name."""
    titles = list(book.worksheets)
    if not titles:
        raise SheetProblem(f"{name}: the workbook has no worksheet", key="no_sheet", file=name)
    if sheet is None:
        return titles[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(titles):
            raise SheetProblem(f"{name}: no sheet number {sheet}; sheets: {book.names}")
        return titles[sheet]
    matches = [t for t in book.names if title_key(t) == title_key(sheet)]
    if not matches:
        raise SheetProblem(f"{name}: no sheet {sheet!r}; sheets: {book.names}")
    if matches[0] not in book.worksheets:
        raise SheetProblem(f"{name}: sheet {sheet!r} is a chart, not cells; sheets: {titles}")
    return matches[0]


# --------------------------------------------------------------------------- styles

# openpyxl's rule (openpyxl.styles.numbers.is_date_format, is_timedelta_format).
_STRIP_RE = re.compile(r'".*?"|\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]')
_DATE_RE = re.compile(r"(?<![_\\])[dmhysDMHYS]")
_TIMEDELTA_RE = re.compile(r"\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?", re.I)
# Built-in formats openpyxl knows: dates 14-22 and 45-47 ([h]:mm:ss, 46, a timedelta);
# the others of 0-49 are numbers alike in both readers. Ids it does not know (the
# locale dates 27-36, 50-81) are numbers to openpyxl, perhaps dates to calamine.
_BUILTIN_DATES = {*range(14, 23), 45, 46, 47}
_BUILTIN_NUMBERS = {*range(14), *range(37, 45), 48, 49}


def _date_styles(xml: bytes) -> tuple[set[int], set[int], set[int]]:
    """Cell styles (indexes of cellXfs) that are dates, timedeltas, or disputed.

    A disputed style is a number to openpyxl that calamine may read as a date: its
    cells are read from the XML.
    """
    if not xml:
        return set(), set(), set()
    root = ElementTree.fromstring(xml)
    ns = root.tag[: root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    custom = {n.get("numFmtId"): n.get("formatCode", "") for n in root.iter(f"{ns}numFmt")}
    dates, timedeltas, disputed = set(), set(), set()
    xfs = root.find(f"{ns}cellXfs")
    for index, xf in enumerate(xfs if xfs is not None else ()):
        fmt_id = xf.get("numFmtId", "0")
        if fmt_id in custom:
            code = custom[fmt_id].split(";")[0]
            if _DATE_RE.search(_STRIP_RE.sub("", code)):
                dates.add(index)
            elif re.search("[dmhysDMHYS]", code):
                disputed.add(index)
            if _TIMEDELTA_RE.search(code):
                timedeltas.add(index)
        elif int(fmt_id) in _BUILTIN_DATES:
            dates.add(index)
            if fmt_id == "46":
                timedeltas.add(index)
        elif int(fmt_id) not in _BUILTIN_NUMBERS:
            disputed.add(index)
    return dates, timedeltas & dates, disputed


# --------------------------------------------------------------------------- cells

_WINDOWS_EPOCH = dt.datetime(1899, 12, 30)
_MAC_EPOCH = dt.datetime(1904, 1, 1)
_MIDNIGHT = dt.time()


def _calamine_rows(data: bytes, name: str, title: str) -> list[list[Any]]:
    """The sheet's cells from A1 with calamine, cleaned: blanks None, integers ``int``."""
    import python_calamine  # here: reading a CSV register needs no workbook reader

    try:
        with python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)) as book:
            sheet = book.get_sheet_by_name(title)
            rows = sheet.to_python(skip_empty_area=False, nrows=max_rows() + 1)
    except Exception as exc:  # calamine's zip and XML errors alike
        raise _not_a_workbook(name, exc) from None
    except BaseException as exc:  # a panic inside calamine (pyo3's PanicException)
        if type(exc).__name__ != "PanicException":
            raise
        raise _not_a_workbook(name, exc) from None
    date, combine = dt.date, dt.datetime.combine
    for i, row in enumerate(rows):
        # One expression per cell, no call for the common ones: a sheet has millions.
        rows[i] = [
            (v if v and not v.isspace() else None)
            if (c := v.__class__) is str
            else (int(v) if v.is_integer() else v)
            if c is float
            else combine(v, _MIDNIGHT)
            if c is date  # calamine's midnight; openpyxl gives a datetime
            else v
            for v in row
        ]
    return rows


# A cell and its cached value; group 1 is the attributes, 2 the value as written.
_CELL_VALUE = rb"<c\s([^>]*%s[^>]*)>\s*(?:<f\b[^>]*?(?:/>|>[^<]*</f>))?\s*<v>([^<]*)</v>"
_ERROR_CELL_RE = re.compile(_CELL_VALUE % rb'\bt="e"')
# Numbers that openpyxl reads otherwise than as calamine's float made whole: written with
# a point or an exponent but whole (a float to openpyxl), or past 2**53 (an exact int).
_ODD_NUMBER_RE = re.compile(rb"<v>([-+]?(?:\d+\.0*|[\d.]+[eE][-+]?\d+|\d{16,}))</v>")
_ATTR_RE = re.compile(rb'\b([rst])="([^"]*)"')
_REF_RE = re.compile(r"([A-Z]+)(\d+)")


def _xml_values(
    xml: bytes, dates: set[int], timedeltas: set[int], disputed: set[int], epoch: dt.datetime
) -> dict[tuple[int, int], Any]:
    """Cells whose value openpyxl reads otherwise than calamine, by (row, col), 0-based."""
    found: dict[tuple[int, int], Any] = {}
    if b't="e"' in xml:
        for attrs, text in _cells(xml, _ERROR_CELL_RE):
            found[attrs["r"]] = text.decode() or None
    styled = dates | disputed
    if styled:
        pattern = rb'\bs="(?:%s)"' % b"|".join(str(s).encode() for s in sorted(styled))
        if re.search(pattern, xml):
            for attrs, text in _cells(xml, re.compile(_CELL_VALUE % pattern)):
                if attrs.get("t", "n") == "n" and text:
                    style = int(attrs["s"])
                    found[attrs["r"]] = _number(text.decode(), style, dates, timedeltas, epoch)
    if _ODD_NUMBER_RE.search(xml):
        for attrs, text in _cells(xml, re.compile(_CELL_VALUE % rb"")):
            if attrs.get("t", "n") == "n" and _ODD_NUMBER_RE.fullmatch(b"<v>%s</v>" % text):
                style = int(attrs.get("s", 0))
                found[attrs["r"]] = _number(text.decode(), style, dates, timedeltas, epoch)
    return found


def _cells(xml: bytes, pattern: re.Pattern[bytes]) -> Iterable[tuple[dict[str, Any], bytes]]:
    """(attributes with ``r`` as (row, col), value) of each cell ``pattern`` matches."""
    for match in pattern.finditer(xml):
        attrs: dict[str, Any] = {k.decode(): v.decode() for k, v in _ATTR_RE.findall(match[1])}
        ref = _REF_RE.fullmatch(attrs.get("r", ""))
        if ref:
            attrs["r"] = (int(ref[2]) - 1, _column_index(ref[1].encode()))
            yield attrs, match[2]


def _number(
    text: str, style: int, dates: set[int], timedeltas: set[int], epoch: dt.datetime
) -> Any:
    """A numeric cell as openpyxl reads it (``_cast_number`` then ``from_excel``)."""
    value: Any = float(text) if "." in text or "E" in text or "e" in text else int(text)
    if style not in dates:
        return value
    try:
        if style in timedeltas:
            td = dt.timedelta(days=value)
            if td.microseconds:  # openpyxl rounds to the millisecond
                td = dt.timedelta(
                    seconds=td.total_seconds() // 1, microseconds=round(td.microseconds, -3)
                )
            return td
        day, fraction = divmod(value, 1)
        diff = dt.timedelta(milliseconds=round(fraction * 86400 * 1000))
        if 0 <= value < 1 and diff.days == 0:
            minutes, seconds = divmod(diff.seconds, 60)
            hours, minutes = divmod(minutes, 60)
            return dt.time(hours, minutes, seconds, diff.microseconds)
        if 0 < value < 60 and epoch == _WINDOWS_EPOCH:
            day += 1  # Excel's 29 February 1900
        return epoch + dt.timedelta(days=day) + diff
    except (OverflowError, ValueError):
        return "#VALUE!"  # openpyxl's word for a date serial out of range


def _put(rows: list[list[Any]], values: dict[tuple[int, int], Any]) -> None:
    """Write ``values`` into ``rows`` (in place), growing rows and columns as needed."""
    row_limit = max_rows()
    for (r, c), value in values.items():
        if r >= row_limit:
            continue
        while len(rows) <= r:
            rows.append([])
        row = rows[r]
        if len(row) <= c:
            row.extend([None] * (c + 1 - len(row)))
        row[c] = value


def _openpyxl_width(rows: list[list[Any]], xml: bytes, where: str) -> list[list[Any]]:
    """Rows cut or padded to the width openpyxl gives: the last ``<c>`` of the kept rows.

    openpyxl makes a row as long as its last cell element, an empty or blank one too,
    and the sheet as wide as its widest row once trailing empty rows are dropped;
    calamine's rows are as wide as its last value. A row over the column budget is
    refused as openpyxl's reading does (the first such row is named).
    """
    kept = len(rows)
    while kept and all(v is None for v in rows[kept - 1]):
        kept -= 1
    width = max((len(r) for r in rows), default=0)
    while width and all(len(r) < width or r[width - 1] is None for r in rows[:kept]):
        width -= 1
    # Only the cells past the last value are looked for, by their column letters.
    pattern = rb' r="(%s)(\d+)"' % _columns_from(min(width, MAX_COLUMNS))
    beyond = [(int(r) - 1, _column_index(c)) for c, r in re.findall(pattern, xml)]
    over = [r for r, c in beyond if c >= MAX_COLUMNS]
    if over and min(over) < max_rows():
        first = min(over)
        widest = max(c for r, c in beyond if r == first) + 1
        _over_budget(f"{where}, row {first + 1:,}", columns=widest)
    width = max([width] + [c + 1 for r, c in beyond if r < kept])
    for row in rows:
        if len(row) > width:
            del row[width:]
        elif len(row) < width:
            row.extend([None] * (width - len(row)))
    return rows


def _columns_from(index: int) -> bytes:
    """A pattern of the letters of column ``index`` (0-based) and of every one after it."""
    letters = ""
    number = index + 1
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    n = len(letters)
    after = [
        f"{letters[:i]}[{chr(ord(letters[i]) + 1)}-Z]{'[A-Z]' * (n - i - 1)}"
        for i in range(n)
        if letters[i] != "Z"
    ]
    return "|".join([letters, *after, f"[A-Z]{{{n + 1},}}"]).encode()


def _openpyxl_rows(data: bytes, name: str, title: str, where: str) -> list[list[Any]]:
    """The sheet's cells with openpyxl, for the workbooks calamine reads otherwise."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML, key errors alike
        raise _not_a_workbook(name, exc) from None
    try:
        ws = wb[title]
        # The declared size was checked already; some writers record it wrong.
        ws.reset_dimensions()
        row_limit = max_rows()
        rows = []
        for row in ws.iter_rows(values_only=True):
            if len(row) > MAX_COLUMNS:
                _over_budget(f"{where}, row {len(rows) + 1:,}", columns=len(row))
            if len(rows) == row_limit:
                _over_budget(where, rows=row_limit + 1, at_least=True)
            rows.append([_clean(v) for v in row])
    finally:
        wb.close()
    return rows


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


# --------------------------------------------------------------------------- the XML

_DIMENSION_RE = re.compile(rb'<dimension\s+ref="([A-Z]*)(\d*)(?::([A-Z]+)(\d+))?"')
# Text that calamine trims and openpyxl keeps: spaces at the ends of a <t> element that
# does not say xml:space="preserve" (blank text is blank to both).
_TRIMMED_TEXT_RE = re.compile(rb"<t>(?:[ \t\r\n]+[^< \t\r\n]|[^<]*[^< \t\r\n][ \t\r\n]+</)")
# Quick searches for spaces at either end of some <t> text (a literal first is fast).
_SPACE_AFTER_T = re.compile(rb"<t>[ \t\r\n]")
_SPACE_BEFORE_END_T = re.compile(rb"</t>(?<=[ \t\r\n]</t>)")


def _trimmed_text(xml: bytes) -> bool:
    """Whether some ``<t>`` text has spaces at an end without ``xml:space="preserve"``."""
    return bool(
        (_SPACE_AFTER_T.search(xml) or _SPACE_BEFORE_END_T.search(xml))
        and _TRIMMED_TEXT_RE.search(xml)
    )


_MERGE_RE = re.compile(rb'<mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
# A formula cell whose cached value is missing or empty (files written by scripts and
# never opened in Excel): read as blank, and flagged.
_EMPTY_FORMULA_RE = re.compile(
    rb'<c\s+r="([A-Z]+)(\d+)"[^>]*>\s*<f\b[^>]*(?:/>|>[^<]*</f>)'
    rb"\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>"
)


def _column_index(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + (ch - 64)
    return number - 1


def _check_declared_size(xml: bytes, where: str) -> None:
    """Refuse an oversized sheet by its declared ``<dimension>``, before any cell is read.

    The declared size can be wrong (too small, or missing), so the cells read are
    counted as well.
    """
    head = xml[: xml.find(b"sheetData")] if b"sheetData" in xml else xml[:4096]
    match = _DIMENSION_RE.search(head)
    if not match:
        return
    c1, r1, c2, r2 = match.groups()
    rows, letters = (r2, c2) if c2 else (r1, c1)
    _over_budget(
        f"{where}, by its declared size",
        rows=int(rows or 0),
        columns=_column_index(letters) + 1 if letters else 0,
    )


def scan_sheet_xml(xml: bytes) -> tuple[Merged, frozenset[tuple[int, int]]]:
    """Merged ranges and formula cells without a cached value, read from the sheet's XML.

    Neither reader reports formulas left without a value, so the worksheet part is
    scanned here.
    """
    merged: list[tuple[int, int, int, int]] = []
    end = xml.rfind(b"</sheetData>")  # <mergeCells> follows the cells
    for c1, r1, c2, r2 in _MERGE_RE.findall(xml, max(end, 0)):
        a = (int(r1) - 1, _column_index(c1))
        b = (int(r2) - 1, _column_index(c2)) if c2 else a
        merged.append((a[0], a[1], b[0], b[1]))
    empty: set[tuple[int, int]] = set()
    if b"<f" in xml or b":f" in xml:
        empty = {(int(r) - 1, _column_index(c)) for c, r in _EMPTY_FORMULA_RE.findall(xml)}
    return tuple(merged), frozenset(empty)


def fill_merged(rows: list[list[Any]], merged: Merged) -> list[list[Any]]:
    """Show the value of each merged range in all its cells (as Excel does); in place."""
    for r1, c1, r2, c2 in merged:
        if r1 >= len(rows):
            continue
        value = rows[r1][c1] if c1 < len(rows[r1]) else None
        for r in range(r1, min(r2, len(rows) - 1) + 1):
            row = rows[r]
            for c in range(c1, min(c2, len(row) - 1) + 1):
                row[c] = value
    return rows
