"""The upload gate: what a register file must pass before anything parses it.

:func:`check_upload` refuses, from the bytes alone and before any parsing, files over
:data:`geoapp.settings.MAX_UPLOAD_BYTES`, names other than ``.csv``/``.xlsx``, content
that is not what the name says, zip bombs, workbooks linking to other workbooks,
macros, encrypted parts, XML with a DTD, and worksheets whose declared size
(``<dimension>``) is over the sheet budget.

The sheet budget (:data:`MAX_COLUMNS`, :func:`max_rows`) bounds the table a register
reader builds: the rows follow from the upload limit (:data:`ROW_BYTES` a row), so the
work of one upload grows with its size, never with its shape. :mod:`geoapp.ingest.tables`
enforces it again while it reads cells, because a ``<dimension>`` can lie and a CSV
declares nothing (:func:`shape_problem` words both refusals alike).

Every way in goes through here: the dashboard's upload (:meth:`geoapp.store.Store.upload`,
which records refusals in the audit log) and every CLI command that reads a register
from a path (:func:`geoapp.ingest.read_facilities` and its siblings). This module
imports only :mod:`geoapp.settings`, so that both can use it.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePosixPath

from geoapp import settings

__all__ = [
    "MAX_COLUMNS",
    "MAX_COMPRESSION_RATIO",
    "MAX_UNCOMPRESSED_BYTES",
    "MAX_ZIP_MEMBERS",
    "ROW_BYTES",
    "UploadError",
    "check_size",
    "check_upload",
    "display_name",
    "max_rows",
    "shape_problem",
]

#: Zip-bomb limits for workbooks, read from the archive's directory without extracting.
MAX_UNCOMPRESSED_BYTES = 100_000_000
MAX_COMPRESSION_RATIO = 100
MAX_ZIP_MEMBERS = 10_000
_RATIO_MIN_BYTES = 2**20  # small parts compress well without being bombs
#: Columns a register sheet may have; the registers use about a dozen.
MAX_COLUMNS = 256
#: Bytes of upload per row of the row budget: a register row with a name, a type and
#: coordinates takes about this much in CSV, so honest files stay far below the budget.
ROW_BYTES = 100


class FileProblem(ValueError):
    """A file that cannot be used at all. The message (English, for logs) names the file
    and the problem; ``key`` and ``params``, where the raise site gives them, say the
    same as a ``file.<key>`` entry of the i18n table, which is what users read
    (:func:`geoapp.ingest.rowlog.problem_text`)."""

    def __init__(self, message: str, *, key: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


class UploadError(FileProblem):
    """An upload refused: too large, of the wrong kind, dangerous, or without valid rows."""


def display_name(file_name: object) -> str:
    """The user's file name as a label: its last path part, no control characters.

    Never used as a path; only shown and recorded in the audit log.

    Examples
    --------
    >>> display_name("../../etc/登记表.xlsx")
    '登记表.xlsx'
    """
    text = str(file_name or "")
    text = re.split(r"[\\/]", text)[-1]
    text = "".join(c for c in text if c.isprintable()).strip()
    return text[:200] or "<unnamed upload>"


# --- the sheet budget ----------------------------------------------------------------------


def _limit(max_bytes: int | None) -> int:
    return settings.MAX_UPLOAD_BYTES if max_bytes is None else int(max_bytes)


def max_rows(max_bytes: int | None = None) -> int:
    """Rows a register sheet may have: the upload limit over :data:`ROW_BYTES`.

    Examples
    --------
    >>> max_rows(20_000_000)
    200000
    """
    return max(_limit(max_bytes) // ROW_BYTES, 1)


def shape_problem(
    *, rows: int = 0, columns: int = 0, max_bytes: int | None = None, at_least: bool = False
) -> str | None:
    """Why a sheet of ``rows`` x ``columns`` is over the budget, or None when it is not.

    The text names what was found and the limit, for a message that starts with the
    file name; ``at_least`` says that reading stopped at ``rows`` or ``columns``.
    """
    found = "at least " if at_least else ""
    if columns > MAX_COLUMNS:
        return (
            f"{found}{columns:,} columns, over the limit of {MAX_COLUMNS} columns a "
            "register may have; delete the columns the register does not use (or copy "
            "only the register to a new sheet) and try again"
        )
    limit = max_rows(max_bytes)
    if rows > limit:
        return (
            f"{found}{rows:,} rows, over the limit of {limit:,} rows (the "
            f"{_human(_limit(max_bytes))} upload limit at {ROW_BYTES} bytes a row); "
            "split the register, or delete the empty rows below it"
        )
    return None


# --- upload checks ---------------------------------------------------------------------------

_MAGIC = (
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "an empty zip archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 (.xls) or password-protected workbook"),
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"SQLite format 3\x00", "an SQLite database or GeoPackage"),
    (b"\x7fELF", "a program (ELF)"),
    (b"MZ", "a Windows program"),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# The used range a worksheet declares, e.g. <dimension ref="A1:L300"/> (first 4 KB).
_DIMENSION_RE = re.compile(rb'<(?:\w+:)?dimension\s+ref="\$?[A-Z]*\$?\d*(?::\$?([A-Z]+)\$?(\d+))?"')
# A cell reference (<c r="IW7">) past column IV, the 256th (MAX_COLUMNS). No space is
# required before r=: a tab or a newline there must not hide a cell.
_PAST_LAST_COLUMN_RE = re.compile(rb'r="((?:[A-Z]{3,}|I[W-Z]|[J-Z][A-Z])\d+)"')
_SCAN_CHUNK = 2**20
_ROW_RE = re.compile(rb"<(?:\w+:)?row[\s>/]")


def _sniff(data: bytes) -> str | None:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    return None


def _human(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1e6:,.1f} MB"
    return f"{size / 1e3:.1f} KB" if size >= 1_000 else f"{size} bytes"


def check_size(file_name: str, size: int, *, max_bytes: int | None = None) -> None:
    """Refuse a file of ``size`` bytes over the upload limit (before reading it from disk).

    Raises
    ------
    UploadError
        Naming the file, its size and the limit.
    """
    limit = _limit(max_bytes)
    if size > limit:
        msg = (
            f"{display_name(file_name)}: {_human(size)} is over the upload limit of "
            f"{_human(limit)}; split the register, or ask the administrator to raise "
            "GEOAPP_MAX_UPLOAD_BYTES"
        )
        raise UploadError(
            msg,
            key="too_large",
            file=display_name(file_name),
            size=_human(size),
            limit=_human(limit),
        )


def check_upload(
    file_name: str, data: bytes, *, max_bytes: int | None = None, kind: str | None = None
) -> str:
    """Refuse an upload that must not be parsed; return its kind, ``"csv"`` or ``"xlsx"``.

    Checked in this order, without parsing the content: size (over ``max_bytes``,
    default :data:`geoapp.settings.MAX_UPLOAD_BYTES`), emptiness, extension (``.csv``
    or ``.xlsx``), and that the content is what the extension says: a CSV must be text
    (not a zip, workbook, image or program); a workbook must be a zip holding
    ``[Content_Types].xml`` and ``xl/workbook.xml``, whose directory declares at most
    :data:`MAX_UNCOMPRESSED_BYTES` uncompressed and no part (nor the whole) compressed
    more than :data:`MAX_COMPRESSION_RATIO` times, with no links to other workbooks
    (``xl/externalLinks/``), no macros, no encrypted parts, no DTD in its XML, and no
    worksheet declaring more than :data:`MAX_COLUMNS` columns or :func:`max_rows` rows.

    Python's :mod:`zipfile`, which openpyxl reads through, never inflates a part beyond
    the size its directory declares (a lying header fails the CRC check instead), so
    the declared sizes bound what parsing can cost.

    Parameters
    ----------
    file_name : str
        The name the user gave; only its extension is used, and only as a label.
    data : bytes
        The file's content.
    max_bytes : int, optional
        Size limit; :data:`geoapp.settings.MAX_UPLOAD_BYTES` when omitted.
    kind : {"csv", "xlsx"}, optional
        Check the content as this kind whatever the extension says (the CLI reads
        ``.txt`` as CSV and ``.xlsm`` as a workbook); taken from the extension when omitted.

    Raises
    ------
    UploadError
        With a message that names the file, what was found and what is accepted.
    """
    label = display_name(file_name)
    limit = _limit(max_bytes)
    size = len(data)
    check_size(label, size, max_bytes=limit)
    if size == 0:
        raise UploadError(f"{label}: the file is empty", key="empty", file=label)
    suffix = f".{kind}" if kind else PurePosixPath(label).suffix.lower()
    if suffix == ".xls":
        msg = f"{label}: Excel 97-2003 .xls workbooks are not accepted; save it as .xlsx or .csv"
        raise UploadError(msg, key="xls", file=label)
    if suffix not in (".csv", ".xlsx"):
        msg = (
            f"{label}: unsupported file type {suffix or '(no extension)'}; "
            "upload a .csv or .xlsx register"
        )
        raise UploadError(msg, key="unsupported", file=label, suffix=suffix or "—")
    what = _sniff(data)
    if suffix == ".xlsx":
        if not data.startswith(b"PK\x03\x04"):
            found = what or "text or another format"
            msg = (
                f"{label}: named .xlsx but it is {found}, not an Excel .xlsx workbook "
                "(.xlsx is a zip archive)"
            )
            raise UploadError(msg, key="not_xlsx", file=label)
        _check_workbook(label, data, max_bytes=limit)
        return "xlsx"
    if what is not None:
        hint = " (perhaps an .xlsx workbook renamed to .csv)" if what == "a zip archive" else ""
        msg = f"{label}: named .csv but it is {what}{hint}, not a CSV text file"
        raise UploadError(msg, key="csv_not_text", file=label)
    if b"\x00" in data[:65536] and not data.startswith(_UTF16_BOMS):
        msg = f"{label}: named .csv but it holds binary data (NUL bytes), not text"
        raise UploadError(msg, key="csv_not_text", file=label)
    # Lines bound the rows (a quoted cell may span lines, so never fewer lines than rows).
    problem = shape_problem(rows=data.count(b"\n") - 1, max_bytes=limit)
    if problem:
        raise UploadError(
            f"{label}: {problem.replace('rows', 'lines', 1)}", key="too_big_sheet", file=label
        )
    return "csv"


def _check_workbook(label: str, data: bytes, *, max_bytes: int | None = None) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as exc:
        msg = f"{label}: cannot be read as an Excel workbook (damaged zip archive: {exc})"
        raise UploadError(msg, key="not_xlsx", file=label) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_MEMBERS:
            msg = (
                f"{label}: {len(infos):,} parts in the archive; a workbook has far fewer "
                f"(limit {MAX_ZIP_MEMBERS:,})"
            )
            raise UploadError(msg, key="dangerous", file=label)
        names = {i.filename for i in infos}
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            msg = (
                f"{label}: a zip archive but not an Excel workbook "
                "(no [Content_Types].xml and xl/workbook.xml); "
                "save the register from Excel as .xlsx"
            )
            raise UploadError(msg, key="not_xlsx", file=label)
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos)
        if total > MAX_UNCOMPRESSED_BYTES:
            msg = (
                f"{label}: refused as a possible zip bomb: it would unpack to "
                f"{total / 1e6:,.0f} MB "
                f"(limit {MAX_UNCOMPRESSED_BYTES / 1e6:,.0f} MB)"
            )
            raise UploadError(msg, key="dangerous", file=label)
        for info in [*infos, None]:
            size, small = (info.file_size, info.compress_size) if info else (total, packed)
            if size > _RATIO_MIN_BYTES and size > MAX_COMPRESSION_RATIO * max(small, 1):
                part = info.filename if info else "the archive"
                msg = (
                    f"{label}: refused as a possible zip bomb: {part} is compressed "
                    f"{size / max(small, 1):,.0f} times "
                    f"(limit {MAX_COMPRESSION_RATIO})"
                )
                raise UploadError(msg, key="dangerous", file=label)
        links = sorted(n for n in names if n.startswith("xl/externalLinks/"))
        if links:
            msg = (
                f"{label}: the workbook links to other workbooks ({links[0]}); links are not "
                "followed and not accepted: break them (Excel: Data > Edit Links > Break Link) "
                "or paste the values, then upload again"
            )
            raise UploadError(msg, key="links", file=label)
        if any(n.lower().endswith("vbaproject.bin") for n in names):
            msg = f"{label}: the workbook contains macros; save it as a plain .xlsx without macros"
            raise UploadError(msg, key="macros", file=label)
        if any(i.flag_bits & 0x1 for i in infos):
            msg = f"{label}: the workbook has encrypted parts; save it without a password"
            raise UploadError(msg, key="encrypted", file=label)
        for info in infos:
            if info.filename.endswith((".xml", ".rels", ".vml")):
                try:
                    with archive.open(info) as part:
                        head = part.read(4096)
                except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
                    msg = f"{label}: part {info.filename} cannot be read ({exc})"
                    raise UploadError(msg, key="not_xlsx", file=label) from None
                if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
                    msg = (
                        f"{label}: part {info.filename} declares a DTD, which Excel never "
                        "writes; refused"
                    )
                    raise UploadError(msg, key="dangerous", file=label)
                if info.filename.startswith("xl/worksheets/"):
                    _check_dimension(label, info.filename, head, max_bytes=max_bytes)
                    _check_columns(label, archive, info, max_bytes=max_bytes)


def _check_dimension(label: str, part: str, head: bytes, *, max_bytes: int | None) -> None:
    """Refuse a worksheet whose declared used range is over the sheet budget.

    Only a quick early refusal: a sheet may declare less than it holds, so the register
    readers count again while they read.
    """
    match = _DIMENSION_RE.search(head)
    if match is None or match.group(1) is None:
        return
    columns, row = _column_number(match.group(1)), int(match.group(2))
    problem = shape_problem(rows=row, columns=columns, max_bytes=max_bytes)
    if problem:
        ref = match.group(0).split(b'"')[1].decode("ascii")
        raise UploadError(
            f"{label}: the worksheet {part} declares {ref}: {problem}",
            key="too_big_sheet",
            file=label,
        )


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + (ch - 64)
    return number


def _check_columns(
    label: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, max_bytes: int | None = None
) -> None:
    """Refuse a worksheet with a cell past the last column, or more rows, than the budget.

    Its declared size may say otherwise, and openpyxl reads a sheet without one in full
    before it hands over a row, so the cell references are scanned in chunks first
    (the zip-bomb checks above bound how much there is to scan).
    """
    tail = b""
    rows = 0
    limit = max_rows(max_bytes)
    with archive.open(info) as part:
        while chunk := part.read(_SCAN_CHUNK):
            match = _PAST_LAST_COLUMN_RE.search(tail + chunk)
            if match:
                ref = match.group(1).decode("ascii")
                column = _column_number(match.group(1).rstrip(b"0123456789"))
                problem = shape_problem(columns=column, at_least=True)
                msg = f"{label}: the worksheet {info.filename} has cell {ref}: {problem}"
                raise UploadError(msg, key="too_big_sheet", file=label)
            # <row> elements, counted so that an undeclared long sheet is refused here
            # (and recorded as a refusal) rather than part-way through reading it.
            rows += len(_ROW_RE.findall(chunk))
            if rows > limit:
                problem = shape_problem(rows=rows, at_least=True, max_bytes=max_bytes)
                raise UploadError(
                    f"{label}: the worksheet {info.filename} has {problem}",
                    key="too_big_sheet",
                    file=label,
                )
            tail = chunk[-32:]  # a reference cut in two by the chunk boundary
