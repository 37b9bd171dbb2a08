"""Facility registers and unemployed-disabled count tables: the one reader of both.

The CLI and the dashboard's upload hand this module what a data steward received (a
path, bytes or an open file: CSV in UTF-8 or GBK/GB18030, or an Excel ``.xlsx``) and get
back what can be used, plus a report with one line per input row that says what became
of it and why, with the row number the steward sees in Excel.

Nothing is dropped silently. Every data row ends in one status:

- ``accepted``: used as it is;
- ``flagged``: used, but someone should look at it (converted degrees-minutes text,
  swapped lon/lat, a declared county that contradicts the coordinates, no coordinates);
- ``rejected``: not used; the reasons say what to fix;
- ``skipped``: not a record at all: a blank row, a heading row merged across the table,
  the continuation of the previous row's address, a total row of a count table. Blank
  rows between the header and the last non-empty row are reported; empty rows after the
  last non-empty row are the end of the sheet and are not rows of the register.

Where a facility lands (``adcode``): its coordinates when it has usable ones (after
converting its datum to WGS84), else its declared county (through
:class:`~geoapp.admin.AdminRegistry`, with its city as prefecture context), else its
address (parsed by ``cpca``, the district then resolved through the registry).
Coordinates outside the region reject the row; a declared county that contradicts the
coordinates is kept, assigned by the coordinates and flagged. A row without coordinates
keeps ``lon``/``lat`` NaN and no geometry: it counts in its county but is not on the map
(flagged ``no_coordinates``).

Input that cannot be used at all (missing or unreadable file, unsupported format, no
recognisable header, a sheet over the row and column budget of
:mod:`geoapp.upload_check`, or a file read from a path that its upload gate refuses)
raises :class:`RegisterError`, a :class:`ValueError` whose message names the file and
the problem.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
import unicodedata
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyproj

from geoapp import coords, upload_check
from geoapp.admin import AdminRegistry, as_adcode, normalise_name
from geoapp.facilities import load_types
from geoapp.schema import FACILITY_COLUMNS, STATUSES

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "COUNT_FIELDS",
    "DEMAND_FIELDS",
    "DUPLICATE_DISTANCE_M",
    "FACILITY_FIELDS",
    "STATUSES",
    "CountImport",
    "DemandImport",
    "FacilityImport",
    "RegisterError",
    "parse_coordinate",
    "parse_datum",
    "read_demand",
    "read_facilities",
    "read_unemployed",
]

Source = str | os.PathLike | bytes | bytearray | memoryview | IO[bytes]

EXTENSIONS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".xlsm": "xlsx"}
HEADER_SEARCH_ROWS = 30
DUPLICATE_DISTANCE_M = 200.0
# A point this far outside the region's bounding box, read the other way round, is a
# swapped pair; half a degree absorbs datum offsets (< 0.01 deg) and border facilities.
_SWAP_MARGIN_DEG = 0.5
_GEOD = pyproj.Geod(ellps="WGS84")

# --------------------------------------------------------------------------- headers

# Field -> header spellings (compared after NFKC, lower case, spaces and * : _ - . removed;
# a parenthesised suffix such as 经度（E）or 市（州）is also tried without it).
FACILITY_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("名称", "机构名称", "单位名称", "基地名称", "设施名称", "name", "facility name"),
    "type": ("类型", "机构类型", "类别", "机构类别", "设施类型", "type", "facility_type",
             "category"),
    "subtype": ("子类型", "细分类型", "subtype"),
    "city": ("市州", "市(州)", "城市", "地市", "所在市州", "所属市州", "市", "city",
             "prefecture"),
    "county": ("县区", "县(市、区)", "县(市,区)", "区县", "县市区", "所在县区", "所属县区",
               "县", "county", "district"),
    "address": ("地址", "详细地址", "机构地址", "address"),
    "lon": ("经度", "lon", "lng", "long", "longitude", "x"),
    "lat": ("纬度", "lat", "latitude", "y"),
    "coords": ("坐标", "经纬度", "经纬度坐标", "coordinates", "lonlat"),
    "datum": ("坐标系", "坐标系统", "坐标类型", "datum", "crs"),
    "facility_id": ("编号", "机构编号", "登记编号", "facility_id", "id"),
    "note": ("备注", "说明", "note", "notes", "remarks"),
}  # fmt: skip
COUNT_FIELDS: dict[str, tuple[str, ...]] = {
    "adcode": ("行政区划代码", "区划代码", "代码", "行政代码", "adcode", "code"),
    "city": FACILITY_FIELDS["city"],
    "county": (*FACILITY_FIELDS["county"], "名称", "地区", "区域", "单位", "name"),
    "count": ("未就业残疾人数", "失业残疾人数", "未就业人数", "人数", "未就业残疾人",
              "unemployed_disabled", "unemployed", "count"),
    "note": FACILITY_FIELDS["note"],
}  # fmt: skip
_LOCATION_FIELDS = ("lon", "lat", "coords", "county", "address")
_TOTAL_WORDS = ("合计", "总计", "小计", "全省", "全市", "总数", "total", "sum", "subtotal")


class RegisterError(ValueError):
    """A register that cannot be used at all; the message names the file and the problem."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class _Import:
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

    def _summary_lines(self, what_zh: str, what_en: str) -> list[str]:
        where_zh = f"工作表 {self.sheet}，" if self.sheet else f"编码 {self.encoding}，"
        where_en = f"sheet {self.sheet}" if self.sheet else f"encoding {self.encoding}"
        rows = "–".join(str(r) for r in (self.header_rows[0], self.header_rows[-1]))
        rows = rows if len(self.header_rows) > 1 else str(self.header_row)
        n = len(self.report)
        lines = [
            (
                f"{what_zh} {self.source}（{where_zh}表头第 {rows} 行）：共 {n} 行，接受 "
                f"{self.accepted}，标记 {self.flagged}，拒绝 {self.rejected}，跳过 {self.skipped}。"
            ),
            (
                f"{what_en} {self.source} ({where_en}, header row {rows}): {n} rows, "
                f"{self.accepted} accepted, {self.flagged} flagged, {self.rejected} rejected, "
                f"{self.skipped} skipped."
            ),
        ]
        codes = self.report["codes"].str.split(";").explode()
        top = codes[codes != ""].value_counts().head(6)
        if len(top):
            zh = "，".join(f"{REASON_LABELS.get(c, (c, c))[0]} {k}" for c, k in top.items())
            en = ", ".join(f"{REASON_LABELS.get(c, (c, c))[1]} {k}" for c, k in top.items())
            lines += [f"主要问题：{zh}。", f"Most frequent: {en}."]
        return lines


@dataclass(frozen=True, eq=False)
class FacilityImport(_Import):
    """What :func:`read_facilities` made of a register.

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
    accepted, flagged, rejected, skipped : int
        Row counts by status.
    """

    facilities: gpd.GeoDataFrame = field(default=None)  # type: ignore[assignment]

    def summary(self) -> str:
        """A short report in Chinese and English."""
        lines = self._summary_lines("设施登记表", "Facility register")
        placed = len(self.facilities)
        on_map = int(self.facilities.geometry.notna().sum()) if placed else 0
        lines.insert(2, f"入库设施 {placed} 个，其中有坐标 {on_map} 个。")
        lines.insert(3, f"{placed} facilities imported, {on_map} with coordinates.")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class CountImport(_Import):
    """What :func:`read_unemployed` made of a count table.

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

    def summary(self) -> str:
        """A short report in Chinese and English."""
        lines = self._summary_lines("未就业残疾人数表", "Unemployed-disabled table")
        total = int(self.counts["unemployed_disabled"].sum()) if len(self.counts) else 0
        lines.insert(2, f"入库 {len(self.counts)} 个县级单位，合计 {total:,} 人。")
        lines.insert(3, f"{len(self.counts)} county-level units imported, {total:,} people.")
        if self.missing_units:
            shown = "、".join(self.missing_labels[:10])
            more = f" 等 {len(self.missing_units)} 个" if len(self.missing_units) > 10 else ""
            lines.append(f"表中缺少的县级单位：{shown}{more}。")
            lines.append(
                f"{len(self.missing_units)} county-level units of the region are not in the "
                f"table: {', '.join(self.missing_labels[:10])}"
                + (" ..." if len(self.missing_units) > 10 else "")
            )
        return "\n".join(lines)


# Chinese and English words for the reason codes, used by the summaries.
REASON_LABELS: dict[str, tuple[str, str]] = {
    "blank_row": ("空行", "blank row"),
    "heading_row": ("标题行", "heading row"),
    "continuation": ("续行", "continuation row"),
    "continued": ("地址跨行", "address continued"),
    "formula_no_value": ("公式无值", "formula without value"),
    "no_name": ("缺名称", "no name"),
    "no_type": ("缺类型", "no type"),
    "unknown_type": ("类型无法识别", "unknown type"),
    "ambiguous_type": ("类型不明确", "ambiguous type"),
    "bad_coordinates": ("坐标无法识别", "unreadable coordinates"),
    "partial_coordinates": ("坐标不完整", "half a coordinate pair"),
    "zero_coordinates": ("坐标为0", "0, 0 coordinates"),
    "dms": ("度分秒已转换", "degrees-minutes converted"),
    "swapped": ("经纬度颠倒", "lon/lat swapped"),
    "unknown_datum": ("坐标系无法识别", "unknown datum"),
    "outside_region": ("坐标在区域外", "outside the region"),
    "county_mismatch": ("县区与坐标不符", "county contradicts coordinates"),
    "city_mismatch": ("市州与坐标不符", "city contradicts coordinates"),
    "declared_unresolved": ("县区无法识别", "declared county not recognised"),
    "city_unresolved": ("市州无法识别", "declared city not recognised"),
    "county_unresolved": ("县区无法识别", "county not recognised"),
    "county_outside_region": ("县区在区域外", "county outside the region"),
    "address_unresolved": ("地址无法定位", "address gives no county"),
    "no_location": ("无位置信息", "no location"),
    "no_coordinates": ("无坐标", "no coordinates"),
    "duplicate": ("重复", "duplicate"),
    "same_name_nearby": ("同名邻近", "same name nearby"),
    "duplicate_id": ("编号重复", "duplicate id"),
    "total_row": ("合计行", "total row"),
    "no_unit": ("缺县区", "no county"),
    "bad_adcode": ("代码无效", "invalid adcode"),
    "unit_mismatch": ("代码与名称不符", "code and name disagree"),
    "no_count": ("缺人数", "no count"),
    "bad_count": ("人数无效", "invalid count"),
}


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Table:
    """A sheet as the user sees it: rows of cell values, merged cells filled."""

    name: str
    encoding: str | None
    sheet: str | None
    rows: list[list[Any]]  # rows[i] is Excel row i + 1; padded to one width
    # merged ranges as (min_row, min_col, max_row, max_col), 0-based
    merged: tuple[tuple[int, int, int, int], ...] = ()
    empty_formulas: frozenset[tuple[int, int]] = frozenset()  # (row, col), 0-based


def _source_bytes(source: Source) -> tuple[bytes, str, str]:
    """Read ``source`` fully: (content, display name, extension or '').

    A path goes through the upload gate (:func:`geoapp.upload_check.check_upload`), as
    an upload does in :meth:`geoapp.store.Store.upload`: the command line reads no file
    the dashboard would refuse.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        name = path.name or str(path)
        if not path.exists():
            raise RegisterError(f"{path}: no such file")
        if not path.is_file():
            raise RegisterError(f"{path}: not a file")
        suffix = path.suffix.lower()
        _check_extension(name, suffix)
        try:
            upload_check.check_size(name, path.stat().st_size)
            data = path.read_bytes()
            # .txt (Excel's "Unicode text") is checked as CSV, .xlsm as a workbook.
            kind = EXTENSIONS.get(suffix) or ("xlsx" if data[:4] == b"PK\x03\x04" else "csv")
            upload_check.check_upload(name, data, kind=kind)
        except upload_check.UploadError as exc:
            raise RegisterError(str(exc)) from None
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


def _read_table(source: Source, *, sheet: str | int | None) -> _Table:
    data, name, suffix = _source_bytes(source)
    if not data.strip():
        raise RegisterError(f"{name}: the file is empty")
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # OLE2: .xls or encrypted .xlsx
        raise RegisterError(
            f"{name}: this is an Excel 97-2003 workbook or a password-protected one; "
            "save it as .xlsx without a password, or as .csv"
        )
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data, name, sheet=sheet)
    if suffix in (".xlsx", ".xlsm"):
        raise RegisterError(f"{name}: not an Excel .xlsx workbook (the file is no zip archive)")
    if sheet is not None:
        raise RegisterError(f"{name}: sheet={sheet!r} given, but a CSV file has no sheets")
    return _read_csv(data, name)


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    elif b"\x00" in data[:4096]:
        raise RegisterError(f"{name}: binary content, not a CSV text file")
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


def _over_budget(where: str, *, rows: int = 0, columns: int = 0, at_least: bool = False) -> None:
    """Refuse a sheet over the budget of :mod:`geoapp.upload_check` (rows, columns)."""
    problem = upload_check.shape_problem(rows=rows, columns=columns, at_least=at_least)
    if problem:
        raise RegisterError(f"{where}: {problem}")


def _read_csv(data: bytes, name: str) -> _Table:
    text, encoding = _decode(data, name)
    sample = text[:8192]
    counts = {d: sample.count(d) for d in (",", "\t", ";")}
    delimiter = max(counts, key=lambda d: (counts[d], d == ","))
    max_rows, max_columns = upload_check.max_rows(), upload_check.MAX_COLUMNS
    rows: list[list[Any]] = []
    try:
        for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            # Checked as the rows come, so an oversized sheet costs one row, not all of them.
            if len(record) > max_columns:
                _over_budget(f"{name}: row {len(rows) + 1:,}", columns=len(record))
            if len(rows) == max_rows:
                _over_budget(name, rows=max_rows + 1, at_least=True)
            rows.append([_clean_cell(v) for v in record])
    except csv.Error as exc:
        raise RegisterError(f"{name}: not readable as CSV ({exc})") from None
    return _Table(name=name, encoding=encoding, sheet=None, rows=_pad(rows))


_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')
# A formula cell whose cached value is missing or empty (files written by scripts and
# never opened in Excel); with data_only=True openpyxl reads those as blank.
_EMPTY_FORMULA_RE = re.compile(
    rb'<(?:\w+:)?c\s+r="([A-Z]+)(\d+)"[^>]*>\s*<(?:\w+:)?f\b[^>]*(?:/>|>[^<]*</(?:\w+:)?f>)'
    rb"\s*(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>"
)


def _column_index(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + (ch - 64)
    return number - 1


def _read_xlsx(data: bytes, name: str, *, sheet: str | int | None) -> _Table:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises zip, XML, key errors alike
        raise RegisterError(f"{name}: cannot be read as an Excel workbook ({exc})") from None
    try:
        names = list(wb.sheetnames)
        if not wb.worksheets:
            raise RegisterError(f"{name}: the workbook has no worksheet")
        if sheet is None:
            ws = wb.worksheets[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(wb.worksheets):
                raise RegisterError(f"{name}: no sheet number {sheet}; sheets: {names}")
            ws = wb.worksheets[sheet]
        else:
            matches = [n for n in names if normalise_name(n) == normalise_name(sheet)]
            if not matches:
                raise RegisterError(f"{name}: no sheet {sheet!r}; sheets: {names}")
            ws = wb[matches[0]]
        title = ws.title
        where = f"{name}: sheet {title}"
        # The declared size refuses an oversized sheet before any cell is parsed; it can
        # be wrong (too small, or missing), so every row read is counted as well.
        _over_budget(f"{where}, by its declared size", rows=ws.max_row or 0,
                     columns=ws.max_column or 0)
        ws.reset_dimensions()  # some writers record wrong dimensions; read every row
        max_rows, max_columns = upload_check.max_rows(), upload_check.MAX_COLUMNS
        rows = []
        for row in ws.iter_rows(values_only=True):
            if len(row) > max_columns:
                _over_budget(f"{where}, row {len(rows) + 1:,}", columns=len(row))
            if len(rows) == max_rows:
                _over_budget(where, rows=max_rows + 1, at_least=True)
            rows.append([_clean_cell(v) for v in row])
        sheet_path = getattr(ws, "_worksheet_path", None)
    finally:
        wb.close()
    merged: list[tuple[int, int, int, int]] = []
    empty: set[tuple[int, int]] = set()
    if sheet_path:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            xml = archive.read(sheet_path.lstrip("/"))
        for c1, r1, c2, r2 in _MERGE_RE.findall(xml):
            a = (int(r1) - 1, _column_index(c1))
            b = (int(r2) - 1, _column_index(c2)) if c2 else a
            merged.append((a[0], a[1], b[0], b[1]))
        if b"<f" in xml or b":f" in xml:
            empty = {(int(r) - 1, _column_index(c)) for c, r in _EMPTY_FORMULA_RE.findall(xml)}
    rows = _pad(rows)
    for r1, c1, r2, c2 in merged:  # the value of a merged range shows in all its cells
        if r1 >= len(rows):
            continue
        value = rows[r1][c1] if c1 < len(rows[r1]) else None
        for r in range(r1, min(r2, len(rows) - 1) + 1):
            row = rows[r]
            for c in range(c1, min(c2, len(row) - 1) + 1):
                row[c] = value
    return _Table(
        name=name, encoding=None, sheet=title, rows=rows, merged=tuple(merged),
        empty_formulas=frozenset(empty),
    )  # fmt: skip


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


# --------------------------------------------------------------------------- header


def _header_key(value: Any) -> str:
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).lower()
    return re.sub(r"[\s*:_\-.]+", "", text)


_PAREN_RE = re.compile(r"\([^()]*\)")


@dataclass(frozen=True)
class _Header:
    rows: tuple[int, ...]  # 0-based
    columns: dict[str, int]  # field -> 0-based column
    labels: dict[str, str]  # field -> header text
    ignored: tuple[str, ...]


class _Labeller:
    """Recognise header cells as fields, user overrides first."""

    def __init__(self, fields: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str]):
        self.synonyms: dict[str, str] = {}
        for name, spellings in fields.items():
            for spelling in (name, *spellings):
                self.synonyms.setdefault(_header_key(spelling), name)
        self.overrides = {_header_key(text): name for name, text in overrides.items()}

    def __call__(self, value: Any) -> tuple[str, int] | None:
        key = _header_key(value)
        if not key:
            return None
        if key in self.overrides:
            return self.overrides[key], 0
        if key in self.synonyms:
            return self.synonyms[key], 1
        bare = _PAREN_RE.sub("", key)
        if bare and bare in self.synonyms:
            return self.synonyms[bare], 1
        return None


def _looks_numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.number)):
        return True
    try:
        float(unicodedata.normalize("NFKC", str(value)).strip())
    except ValueError:
        return False
    return True


def _find_header(
    table: _Table,
    fields: Mapping[str, tuple[str, ...]],
    overrides: Mapping[str, str] | None,
    *,
    required: tuple[tuple[str, ...], ...],
    what: str,
) -> _Header:
    """Find the header: one row, or a group row above a sub-header row (坐标 / 经度 纬度).

    ``required`` lists alternatives that must all be satisfied: each entry is a tuple of
    fields of which at least one (``lon+lat`` counts as one) must be present.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        msg = f"columns: unknown field(s) {unknown}; fields are {list(fields)}"
        raise RegisterError(msg)
    label = _Labeller(fields, {k: str(v) for k, v in overrides.items()})
    rows = table.rows[:HEADER_SEARCH_ROWS]
    labelled = [[label(v) for v in row] for row in rows]

    def mapping(block: tuple[int, ...]) -> tuple[dict[str, int], dict[str, str]]:
        best: dict[str, tuple[int, int]] = {}  # field -> (priority, column)
        texts: dict[int, str] = {}
        for col in range(len(rows[block[0]]) if rows else 0):
            found = None
            for r in reversed(block):  # the lower (more specific) row wins
                if labelled[r][col] is not None:
                    found = labelled[r][col]
                    break
            parts = [str(rows[r][col]).strip() for r in block if rows[r][col] is not None]
            texts[col] = "/".join(dict.fromkeys(parts))
            if found is None:
                continue
            name, priority = found
            if name not in best or (priority, col) < best[name]:
                best[name] = (priority, col)
        columns = {name: col for name, (_, col) in sorted(best.items(), key=lambda kv: kv[1][1])}
        if "lon" in columns and "lat" in columns:
            columns.pop("coords", None)
        return columns, {name: texts[col] for name, col in columns.items()}

    def satisfied(columns: dict[str, int]) -> list[str]:
        missing = []
        for options in required:
            have = any(
                (o == "lon+lat" and "lon" in columns and "lat" in columns) or o in columns
                for o in options
            )
            if not have:
                missing.append(" or ".join(options))
        return missing

    candidates = []
    partial: tuple[int, int, dict[str, str]] | None = None
    for r in range(len(rows)):
        blocks: list[tuple[int, ...]] = [(r,)]
        if r + 1 < len(rows) and _is_subheader(rows[r], rows[r + 1], labelled[r], labelled[r + 1]):
            blocks.append((r, r + 1))
        for block in blocks:
            columns, texts = mapping(block)
            if not columns:
                continue
            if partial is None or len(columns) > partial[0]:
                partial = (len(columns), r, texts)
            if not satisfied(columns):
                candidates.append((-len(columns), r, len(block), block, columns, texts))
    if overrides:
        candidates = [c for c in candidates if set(overrides) <= set(c[4])]
    # A lone lon or lat (a column headed x or y) does not make a better header.
    candidates = [(c[0] + (("lon" in c[4]) != ("lat" in c[4])), *c[1:]) for c in candidates]
    if not candidates:
        accepted = "; ".join(f"{k}: {', '.join(v[:6])}" for k, v in fields.items())
        need = "; ".join(" or ".join(o) for o in required)
        if partial is None:
            seen = "no recognisable column heading"
        else:
            _, r, texts = partial
            seen = f"row {r + 1} has " + ", ".join(f"{t}→{k}" for k, t in texts.items())
        extra = ""
        if overrides:
            extra = f"; the columns given ({overrides}) must all be in the header row"
        msg = (
            f"{table.name}: no header row of a {what} found in the first {len(rows)} rows "
            f"({seen}); a header needs {need}{extra}. Accepted headings: {accepted}"
        )
        raise RegisterError(msg)
    _, _, _, block, columns, texts = min(candidates, key=lambda c: c[:3])
    used = set(columns.values())
    ignored = []
    for col in range(len(rows[block[0]])):
        parts = [str(rows[r][col]).strip() for r in block if rows[r][col] is not None]
        if col not in used and parts:
            ignored.append("/".join(dict.fromkeys(parts)))
    return _Header(rows=block, columns=columns, labels=texts, ignored=tuple(ignored))


def _is_subheader(upper: list, lower: list, upper_l: list, lower_l: list) -> bool:
    """Whether ``lower`` completes ``upper`` as a second header row."""
    if not any(upper_l):
        return False  # a title row above the header is not part of it
    new = False
    for above, value, found in zip(upper, lower, lower_l, strict=True):
        if value is None:
            continue
        if _looks_numeric(value):
            return False  # data, not headings
        if found is not None and value != above:
            new = True
    return new


# --------------------------------------------------------------------------- data rows


def _data_frame(
    table: _Table, header: _Header, fields: tuple[str, ...]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The data rows below the header as an object frame indexed by Excel row number."""
    start = header.rows[-1] + 1
    body = table.rows[start:]
    rows = np.arange(start + 1, start + 1 + len(body))
    if body:
        grid = np.empty((len(body), len(body[0])), dtype=object)
        grid[:] = body
    else:
        grid = np.empty((0, len(table.rows[0]) if table.rows else 0), dtype=object)
    none = np.full(len(body), None, dtype=object)
    data = {f: grid[:, header.columns[f]] if f in header.columns else none for f in fields}
    frame = pd.DataFrame(data, index=pd.Index(rows, name="row"), dtype=object)
    blank = pd.isna(grid).all(axis=1) if grid.size else np.ones(len(body), bool)
    return frame, blank


def _text(value: Any) -> str:
    """A cell as the user reads it ('' when blank)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def _texts(series: pd.Series) -> np.ndarray:
    return np.array([_text(v) for v in series.to_numpy()], dtype=object)


class _Log:
    """Reasons per row: (code, severity, mask, messages) entries, combined at the end.

    A message is one string for all rows, or a function of the row position evaluated
    at once for the rows of the mask only.
    """

    SEVERITIES = ("skipped", "rejected", "flagged")

    def __init__(self, n: int) -> None:
        self.n = n
        self.entries: list[tuple[str, str, np.ndarray, Any]] = []

    def add(self, code: str, severity: str, mask: Any, message: Any) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        if callable(message):
            texts = np.full(self.n, None, dtype=object)
            for i in np.flatnonzero(mask):
                texts[i] = message(int(i))
            message = texts
        self.entries.append((code, severity, mask, message))

    def mask(self, severity: str) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for _, sev, mask, _ in self.entries:
            if sev == severity:
                out |= mask
        return out

    def status(self) -> np.ndarray:
        status = np.full(self.n, "accepted", dtype=object)
        for severity in reversed(self.SEVERITIES):  # skipped beats rejected beats flagged
            status[self.mask(severity)] = severity
        return status

    def texts(self) -> tuple[list[str], list[str]]:
        reasons: list[list[str]] = [[] for _ in range(self.n)]
        codes: list[list[str]] = [[] for _ in range(self.n)]
        ordered = sorted(self.entries, key=lambda e: self.SEVERITIES.index(e[1]))  # stable
        for code, _, mask, message in ordered:  # what rejects a row comes before flags
            constant = isinstance(message, str)
            for i in np.flatnonzero(mask):
                reasons[i].append(message if constant else message[i])
                codes[i].append(code)
        return ["; ".join(r) for r in reasons], [";".join(dict.fromkeys(c)) for c in codes]


def _skip_structure(
    table: _Table, header: _Header, frame: pd.DataFrame, blank: np.ndarray, log: _Log,
    *, content: str,
) -> np.ndarray:
    """Blank rows and heading rows merged across the table; returns the skipped mask."""
    log.add("blank_row", "skipped", blank, "blank row")
    first, last = min(header.columns.values()), max(header.columns.values())
    start = header.rows[-1] + 1
    heading = np.zeros(len(frame), dtype=bool)
    for r1, c1, r2, c2 in table.merged:
        if r1 == r2 and r1 >= start and c1 <= first and c2 >= last and c1 < c2:
            heading[r1 - start] = True
    heading &= ~blank
    values = frame[content].to_numpy(dtype=object)
    log.add("heading_row", "skipped", heading,
            lambda i: f"heading row merged across the table: {_text(values[i])!r}")
    return blank | heading


def _formula_flags(table: _Table, header: _Header, frame: pd.DataFrame, log: _Log) -> None:
    if not table.empty_formulas:
        return
    start = header.rows[-1] + 1
    used = {col: f for f, col in header.columns.items()}
    messages = np.full(len(frame), None, dtype=object)
    for r, c in sorted(table.empty_formulas):
        if r >= start and r - start < len(frame) and c in used:
            cell = f"{_column_letters(c)}{r + 1}"
            text = (f"cell {cell} ({header.labels[used[c]]}) holds a formula without a saved "
                    "value and was read as blank; open and save the file in Excel")  # fmt: skip
            i = r - start
            messages[i] = text if messages[i] is None else f"{messages[i]}; {text}"
    log.add("formula_no_value", "flagged", messages != None, messages)


def _column_letters(col: int) -> str:
    letters = ""
    col += 1
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# --------------------------------------------------------------------------- values


def _type_key(value: Any) -> str:
    text = normalise_name(value).lower()
    return text.translate(_BRACKETS)


_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")",
                           "〈": "(", "〉": ")", "《": "(", "》": ")", "{": "(", "}": ")",
                           "（": "(", "）": ")"})  # fmt: skip


@lru_cache(maxsize=1)
def _type_lookup() -> tuple[dict[str, str], tuple[tuple[str, str], ...], str]:
    """Exact spellings -> type key; (synonym, key) pairs for containment; help text."""
    from geoapp import i18n

    exact: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    help_parts = []
    for key, ftype in load_types().items():
        labels = [i18n.t(f"facility_type.{key}", lang) for lang in i18n.LANGUAGES]
        for spelling in (key, key.replace("_", " "), *ftype.synonyms, *labels):
            exact.setdefault(_type_key(spelling), key)
        pairs += [(_type_key(s), key) for s in ftype.synonyms]
        help_parts.append(f"{key} ({'/'.join(ftype.synonyms[:2])})")
    return exact, tuple(pairs), ", ".join(help_parts)


def _match_type(value: str) -> tuple[str | None, str | None, str | None]:
    """(type key, None, None) or (None, reason code, message) for one normalised type.

    Exact spellings first (keys, synonyms, labels); else the synonyms the text contains,
    when they all belong to one type (``阳光家园辅助性就业机构``).
    """
    exact, pairs, accepted = _type_lookup()
    if value in exact:
        return exact[value], None, None
    found = sorted({key for synonym, key in pairs if synonym and synonym in value})
    if len(found) == 1:
        return found[0], None, None
    if found:
        msg = f"facility type {value!r} fits several types ({', '.join(found)}); write one of them"
        return None, "ambiguous_type", msg
    return None, "unknown_type", f"unknown facility type {value!r}; accepted: {accepted}"


_DATUM_EXACT = {
    "wgs84": "wgs84", "wgs": "wgs84", "gps": "wgs84", "4326": "wgs84", "epsg4326": "wgs84",
    "gcj02": "gcj02", "gcj": "gcj02", "火星": "gcj02", "火星坐标": "gcj02", "高德": "gcj02",
    "高德地图": "gcj02", "腾讯": "gcj02", "腾讯地图": "gcj02", "amap": "gcj02", "gaode": "gcj02",
    "bd09": "bd09", "bd09ll": "bd09", "百度": "bd09", "百度地图": "bd09", "baidu": "bd09",
    "cgcs2000": "cgcs2000", "cgcs": "cgcs2000", "国家2000": "cgcs2000", "2000": "cgcs2000",
    "4490": "cgcs2000", "epsg4490": "cgcs2000", "天地图": "cgcs2000",
}  # fmt: skip
_DATUM_WORDS = (("wgs", "wgs84"), ("gps", "wgs84"), ("gcj", "gcj02"), ("火星", "gcj02"),
                ("高德", "gcj02"), ("腾讯", "gcj02"), ("bd09", "bd09"), ("百度", "bd09"),
                ("cgcs", "cgcs2000"), ("2000", "cgcs2000"), ("天地图", "cgcs2000"))  # fmt: skip
DATUM_HELP = "wgs84 (GPS), gcj02 (高德/火星/腾讯), bd09 (百度), cgcs2000 (国家2000/天地图)"


@lru_cache(maxsize=256)
def parse_datum(value: str) -> str | None:
    """Read a datum as a register writes it: ``WGS-84``, ``高德``, ``百度地图``, ``国家2000`` ...

    Returns
    -------
    str or None
        One of :data:`geoapp.coords.DATUMS`, or None when the text names none (or several).
    """
    key = re.sub(r"[\s\-_:./]+", "", unicodedata.normalize("NFKC", str(value)).lower())
    if key in _DATUM_EXACT:
        return _DATUM_EXACT[key]
    found = {datum for word, datum in _DATUM_WORDS if word in key}
    return found.pop() if len(found) == 1 else None


_NUM = r"\d+(?:\.\d+)?"
_HEM = r"(?:东经|西经|北纬|南纬|[NSEW东西南北])"
_COORD_RE = re.compile(
    rf"^(?P<h1>{_HEM})?\s*(?P<deg>{_NUM})\s*"
    rf"(?:(?:°|º|˚|度)\s*"
    rf"(?:(?P<min>{_NUM})\s*(?:'|分)\s*"
    rf"(?:(?P<sec>{_NUM})\s*(?:\"|''|秒)?)?)?)?"
    rf"\s*(?P<h2>{_HEM})?$"
)
_QUOTES = str.maketrans({"′": "'", "’": "'", "‘": "'", "´": "'", "`": "'", "″": '"', "”": '"',
                         "“": '"', "〃": '"'})  # fmt: skip


@lru_cache(maxsize=65536)
def parse_coordinate(text: str) -> tuple[float, str]:
    """Read one coordinate written as text.

    Parameters
    ----------
    text : str
        ``125.32``, ``E125.32``, ``125.32°``, ``125°19'12.5"``, ``125度19分12.5秒``,
        ``43°53.2'``, ``北纬43°53'`` (full-width characters allowed).

    Returns
    -------
    (float, str)
        The value in decimal degrees and how it was written: ``number``, ``dms``
        (degrees and minutes, with or without seconds) or ``bad`` (value NaN).

    Examples
    --------
    >>> parse_coordinate("125°19'12.5\\"")
    (125.32013888888889, 'dms')
    >>> parse_coordinate("43°53.2'")
    (43.88666666666667, 'dms')
    """
    clean = unicodedata.normalize("NFKC", text).translate(_QUOTES).strip().upper()
    clean = clean.replace("′′", '"')
    match = _COORD_RE.match(clean)
    if match is None:
        return float("nan"), "bad"
    if match["h1"] and match["h2"]:
        return float("nan"), "bad"
    deg, minutes, seconds = match["deg"], match["min"], match["sec"]
    value = float(deg)
    kind = "number"
    if minutes is not None:
        if "." in deg or float(minutes) >= 60 or ("." in minutes and seconds is not None):
            return float("nan"), "bad"
        value += float(minutes) / 60
        kind = "dms"
        if seconds is not None:
            if float(seconds) >= 60:
                return float("nan"), "bad"
            value += float(seconds) / 3600
    hemisphere = match["h1"] or match["h2"] or ""
    if hemisphere in ("S", "W", "西", "南", "西经", "南纬"):
        value = -value
    return value, kind


def _coordinates(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Values (float) and kinds ('blank', 'number', 'dms', 'bad') of a coordinate column."""
    values = series.to_numpy(dtype=object)
    blank = pd.isna(series).to_numpy()
    plain = np.array([isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values])
    numeric = pd.to_numeric(pd.Series(np.where(plain, values, None), dtype=object),
                            errors="coerce").to_numpy(dtype=float, copy=True)  # fmt: skip
    kinds = np.where(blank, "blank", "number").astype(object)
    rest = ~blank & np.isnan(numeric)
    for i in np.flatnonzero(rest):
        numeric[i], kinds[i] = parse_coordinate(str(values[i]))
    return numeric, kinds


def _split_pair(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A single 坐标/经纬度 column: ``125.3,43.8`` -> two columns."""
    lon = np.full(len(series), None, dtype=object)
    lat = np.full(len(series), None, dtype=object)
    for i, value in enumerate(series.to_numpy()):
        if value is None:
            continue
        text = unicodedata.normalize("NFKC", str(value)).strip()
        parts = [p for p in re.split(r"[,，;；/\s]+", text) if p]
        if len(parts) == 2:
            lon[i], lat[i] = parts
        else:
            lon[i], lat[i] = str(value), "?"  # reported as unreadable
    index = series.index
    return pd.Series(lon, index=index, dtype=object), pd.Series(lat, index=index, dtype=object)


# --------------------------------------------------------------------------- region


@dataclass(frozen=True)
class _Region:
    registry: AdminRegistry
    province: str | None
    order: tuple[str, ...]  # adcodes in the counties frame's order
    adcodes: frozenset[str]
    name: dict[str, str]
    prefecture: dict[str, str]
    prefecture_adcode: dict[str, str]
    bounds: tuple[float, float, float, float]

    def label(self, adcode: str) -> str:
        prefecture = self.prefecture.get(adcode) or ""
        name = self.name.get(adcode, adcode)
        return name if prefecture in ("", name) else f"{prefecture}{name}"


def _region(
    counties: gpd.GeoDataFrame, registry: AdminRegistry | None, province: object, *, points: bool
) -> _Region:
    missing = [c for c in ("adcode", "name", "prefecture", "geometry") if c not in counties.columns]
    if missing:
        msg = f"counties lacks columns {missing}; it has {list(counties.columns)}"
        raise ValueError(msg)
    if counties.crs is not None and counties.crs.to_epsg() != 4326:
        counties = counties.to_crs(4326)
    if registry is None:
        registry = AdminRegistry.default(counties=counties)
    elif points:
        try:
            registry.locate(np.empty(0), np.empty(0))
        except ValueError:
            msg = ("registry has no county polygons; build it with "
                   "AdminRegistry.default(counties=counties)")  # fmt: skip
            raise ValueError(msg) from None
    codes = [as_adcode(c) or str(c) for c in counties["adcode"]]
    if province is None:
        heads = {c[:2] for c in codes}
        province = f"{heads.pop()}0000" if len(heads) == 1 else None
    pref_codes = (
        [as_adcode(c) or "" for c in counties["prefecture_adcode"]]
        if "prefecture_adcode" in counties.columns
        else [""] * len(codes)
    )
    bounds = tuple(float(b) for b in counties.total_bounds) if len(counties) else (0, 0, 0, 0)
    return _Region(
        registry=registry,
        province=province,  # type: ignore[arg-type]
        order=tuple(codes),
        adcodes=frozenset(codes),
        name=dict(zip(codes, counties["name"].astype(str), strict=True)),
        prefecture=dict(zip(codes, counties["prefecture"].astype(str), strict=True)),
        prefecture_adcode=dict(zip(codes, pref_codes, strict=True)),
        bounds=bounds,  # type: ignore[arg-type]
    )


def _in_box(lon: np.ndarray, lat: np.ndarray, bounds: tuple[float, ...]) -> np.ndarray:
    x0, y0, x1, y1 = bounds
    m = _SWAP_MARGIN_DEG
    with np.errstate(invalid="ignore"):
        return (lon >= x0 - m) & (lon <= x1 + m) & (lat >= y0 - m) & (lat <= y1 + m)


def _resolve(
    region: _Region, names: pd.Series, prefectures: pd.Series | None, *,
    lon: np.ndarray | None = None, lat: np.ndarray | None = None, level: str = "county",
) -> pd.DataFrame:
    """``resolve_many`` over some rows (it caches repeated spellings)."""
    frame = pd.DataFrame({"name": names.to_numpy(dtype=object)}, index=names.index, dtype=object)
    kwargs: dict[str, Any] = {}
    if prefectures is not None:
        frame["prefecture"] = prefectures.to_numpy(dtype=object)
        kwargs["prefecture_col"] = "prefecture"
    if lon is not None:
        frame["lon"], frame["lat"] = lon, lat
        kwargs.update(lon_col="lon", lat_col="lat")
    return region.registry.resolve_many(
        frame,
        name_col="name",
        province=region.province,
        level=level,  # type: ignore[arg-type]
        **kwargs,
    )


# --------------------------------------------------------------------------- facilities


_FACILITY_REQUIRED = (("name",), ("type",), ("lon+lat", "coords", "county", "address"))


@dataclass(frozen=True, eq=False)
class _Opened:
    """A register read up to its data rows: what every reader starts from."""

    table: _Table
    header: _Header
    region: Any
    frame: pd.DataFrame
    blank: np.ndarray
    rows: np.ndarray  # Excel row numbers
    log: _Log


def _open(
    source: Source, *, sheet: str | int | None, fields: Mapping[str, Any], columns: Any,
    required: Any, what: str, counties: Any, registry: Any, province: str | None, points: bool,
) -> _Opened:
    """Read the sheet, find its header, resolve the region and start the row log."""
    table = _read_table(source, sheet=sheet)
    if not table.rows:
        raise RegisterError(f"{table.name}: the sheet is empty")
    header = _find_header(table, fields, columns, required=required, what=what)
    region = _region(counties, registry, province, points=points)
    frame, blank = _data_frame(table, header, tuple(fields))
    return _Opened(table, header, region, frame, blank, frame.index.to_numpy(), _Log(len(frame)))


def _default_datum(default_datum: str) -> str:
    datum = parse_datum(default_datum)
    if datum is None:
        msg = f"default_datum {default_datum!r} is not a datum; accepted: {DATUM_HELP}"
        raise ValueError(msg)
    return datum


def _skip_totals(labels: np.ndarray, live: np.ndarray, log: _Log) -> np.ndarray:
    """Skip total and subtotal rows (合计, 小计 ...); returns the rows still live."""
    words = tuple(_header_key(w) for w in _TOTAL_WORDS)
    total = live & np.array([_header_key(t).startswith(words) for t in labels], dtype=bool)
    log.add("total_row", "skipped", total, lambda i: f"total row ({labels[i]})")
    return live & ~total


def _counts(column: pd.Series, live: np.ndarray, log: _Log) -> tuple[np.ndarray, np.ndarray]:
    """People counts: whole, non-negative numbers ("1,234 人" accepted); others rejected.

    Returns the numbers (NaN where unreadable) and the counts as written.
    """
    count_txt = _texts(column)
    has_count = live & column.notna().to_numpy()
    log.add("no_count", "rejected", live & ~has_count, "no count")
    cleaned = [
        None if v is None or isinstance(v, bool)
        else v if isinstance(v, (int, float))
        else re.sub(r"[,\s人]", "", unicodedata.normalize("NFKC", str(v)))
        for v in column.to_numpy(dtype=object)
    ]  # fmt: skip
    number = pd.to_numeric(pd.Series(cleaned, dtype=object), errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(number)
    log.add("bad_count", "rejected", has_count & ~finite,
            lambda i: f"count {count_txt[i]!r} is not a number")
    fraction = has_count & finite & (number != np.round(number))
    log.add("bad_count", "rejected", fraction,
            lambda i: f"count {count_txt[i]} is not a whole number")
    log.add("bad_count", "rejected", has_count & finite & ~fraction & (number < 0),
            lambda i: f"count {count_txt[i]} is negative")
    return number, count_txt


@dataclass(frozen=True, eq=False)
class _Positions:
    """Where each row's coordinates put it, after parsing, swapping and datum conversion."""

    some: np.ndarray  # rows that gave any coordinate
    zero: np.ndarray  # rows that gave 0, 0
    has_pt: np.ndarray  # rows placed inside a county of the region
    adcode: np.ndarray  # that county (None elsewhere)
    lon_w: np.ndarray  # WGS84 (NaN where not placed)
    lat_w: np.ndarray
    lon_txt: np.ndarray  # the coordinates as written
    lat_txt: np.ndarray
    datum: np.ndarray
    datum_txt: np.ndarray


def _positions(
    frame: pd.DataFrame, header: _Header, live: np.ndarray, log: _Log, region: Any, *,
    datum_default: str, required: bool,
) -> _Positions:
    """Parse, swap, convert and locate the coordinates of every live row, logging problems.

    ``required``: a row without a position is rejected (demand points) rather than
    placed by its declared county or address later (facilities), and 0, 0 is an error
    rather than "missing".
    """
    n = len(frame)
    lon_in, lat_in = frame["lon"], frame["lat"]
    if "coords" in header.columns:
        lon_in, lat_in = _split_pair(frame["coords"])
    lon_txt, lat_txt = _texts(lon_in), _texts(lat_in)
    lon_raw, lon_kind = _coordinates(lon_in)
    lat_raw, lat_kind = _coordinates(lat_in)
    some = live & ((lon_kind != "blank") | (lat_kind != "blank"))
    if required:
        log.add("no_coordinates", "rejected", live & ~some,
                "no coordinates: a demand point needs its position")
    bad = some & ((lon_kind == "bad") | (lat_kind == "bad"))
    log.add("bad_coordinates", "rejected", bad, lambda i: (
        "coordinates not readable as decimal degrees or degrees-minutes(-seconds): "
        f"lon {lon_txt[i]!r}, lat {lat_txt[i]!r}"))
    half = some & ~bad & ((lon_kind == "blank") | (lat_kind == "blank"))
    either = "give both" if required else "give both or neither"
    log.add("partial_coordinates", "rejected", half, lambda i: (
        f"only {'lat' if lon_kind[i] == 'blank' else 'lon'} given "
        f"({lon_txt[i] or lat_txt[i]}); {either}"))
    pair = some & ~bad & ~half
    zero = pair & (lon_raw == 0) & (lat_raw == 0)
    if required:
        log.add("zero_coordinates", "rejected", zero, "coordinates 0, 0: no position")
    else:
        log.add("zero_coordinates", "flagged", zero, "coordinates 0, 0 read as missing")
    pair &= ~zero
    dms = pair & ((lon_kind == "dms") | (lat_kind == "dms"))
    log.add("dms", "flagged", dms, lambda i: (
        f"coordinates given as degrees-minutes text (lon {lon_txt[i]!r}, lat {lat_txt[i]!r}), "
        f"converted to {lon_raw[i]:.6f}, {lat_raw[i]:.6f}"))
    box = region.bounds
    swap = pair & ~_in_box(lon_raw, lat_raw, box) & _in_box(lat_raw, lon_raw, box)
    log.add("swapped", "flagged", swap, lambda i: (
        f"lon and lat swapped (lon {lon_txt[i]!r}, lat {lat_txt[i]!r}); "
        f"read as lon {lat_raw[i]:.6f}, lat {lon_raw[i]:.6f}"))
    lon = np.where(swap, lat_raw, lon_raw)
    lat = np.where(swap, lon_raw, lat_raw)

    datum_txt = _texts(frame["datum"])
    datum = np.full(n, datum_default, dtype=object)
    named = frame["datum"].notna().to_numpy()
    for value in set(datum_txt[named]):
        datum[named & (datum_txt == value)] = parse_datum(value)
    bad_datum = pair & named & pd.isna(datum)  # a datum matters only with coordinates
    log.add("unknown_datum", "rejected", bad_datum, lambda i: (
        f"unknown datum {datum_txt[i]!r}; accepted: {DATUM_HELP}"))
    pair &= ~bad_datum
    lon_w = np.full(n, np.nan)
    lat_w = np.full(n, np.nan)
    for name in coords.DATUMS:
        m = pair & (datum == name)
        if m.any():
            lon_w[m], lat_w[m] = coords.convert(lon[m], lat[m], src=name, dst="wgs84")
    located = np.full(n, None, dtype=object)
    if pair.any():
        located[pair] = region.registry.locate(lon_w[pair], lat_w[pair])
    has_pt = pair & np.isin(located.astype(str), list(region.adcodes))
    log.add("outside_region", "rejected", pair & ~has_pt, lambda i: (
        f"coordinates outside the region: {lon_w[i]:.6f}, {lat_w[i]:.6f} (WGS84"
        + ("" if datum[i] in ("wgs84", "cgcs2000") else f", converted from {datum[i]}") + ")"))
    adcode = np.where(has_pt, located, None).astype(object)
    return _Positions(some, zero, has_pt, adcode, lon_w, lat_w, lon_txt, lat_txt, datum, datum_txt)


def read_facilities(
    source: Source,
    *,
    counties: gpd.GeoDataFrame,
    registry: AdminRegistry | None = None,
    province: object = None,
    default_datum: str = "wgs84",
    columns: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
) -> FacilityImport:
    """Read and validate a facility register.

    Parameters
    ----------
    source : path, bytes or binary file
        A ``.csv`` (UTF-8 with or without BOM, GBK/GB18030) or ``.xlsx`` register.
    counties : GeoDataFrame
        The region's county polygons (``adcode, name, prefecture, geometry``, WGS84), as
        ``DataSource.counties()`` returns them; points outside them are rejected.
    registry : AdminRegistry, optional
        Built with the same county polygons; built from them when omitted (pass one to
        reuse its caches).
    province : str or int, optional
        Province context for names; taken from the counties' adcodes when omitted.
    default_datum : str
        Datum of coordinates in rows without a 坐标系 value: ``wgs84``, ``gcj02``,
        ``bd09`` or ``cgcs2000`` (also 高德, 百度, GPS, 国家2000 ...).
    columns : dict, optional
        Field -> header text, to map columns the automatic detection misses, e.g.
        ``{"name": "机构全称"}``. Fields: ``name, type, subtype, city, county, address,
        lon, lat, coords, datum, facility_id, note``.
    sheet : str or int, optional
        Workbook sheet (name or 0-based position); the first sheet when omitted.

    Returns
    -------
    FacilityImport

    Raises
    ------
    RegisterError
        The file is missing, unreadable, of another format, or has no recognisable header.
    ValueError
        ``default_datum`` is unknown, or ``counties`` / ``registry`` are unusable.

    Notes
    -----
    Coordinates: numbers or text, decimal degrees or degrees-minutes(-seconds) text
    (converted and flagged); a pair that fits the region only the other way round is
    swapped back and flagged; unreadable or half pairs are rejected. Duplicates: a later
    row with the same normalised name and type within 200 m (geodesic), or without
    coordinates in the same county, is rejected; the same name with another type within
    200 m is flagged.
    """
    datum_default = _default_datum(default_datum)
    opened = _open(source, sheet=sheet, fields=FACILITY_FIELDS, columns=columns,
                   required=_FACILITY_REQUIRED, what="facility register", counties=counties,
                   registry=registry, province=province, points=True)
    table, header, region, frame, blank, rows, log = (
        opened.table, opened.header, opened.region, opened.frame, opened.blank, opened.rows,
        opened.log)
    n = len(frame)
    skipped = _skip_structure(table, header, frame, blank, log, content="name")
    _formula_flags(table, header, frame, log)
    present = {f: frame[f].notna().to_numpy() for f in FACILITY_FIELDS}

    # Continuation rows: only address/note text right under a record (a wrapped address).
    others = np.zeros(n, dtype=bool)
    for f in FACILITY_FIELDS:
        if f not in ("address", "note"):
            others |= present[f]
    candidate = ~skipped & ~others & (present["address"] | present["note"])
    anchor = _continuation_anchor(candidate, ~skipped & present["name"])
    address = frame["address"].to_numpy(dtype=object).copy()
    continued = anchor >= 0
    if continued.any():
        parts: dict[int, list[int]] = {}
        for i in np.flatnonzero(continued):
            parts.setdefault(int(anchor[i]), []).append(int(i))
        for a, more in parts.items():
            address[a] = "".join(_text(address[j]) for j in [a, *more]) or None
        log.add("continuation", "skipped", continued, lambda i: (
            f"continuation of row {rows[anchor[i]]}: its text is joined to that row's address"))
        log.add("continued", "flagged", np.isin(np.arange(n), list(parts)), lambda i: (
            "address continued on row " + ", ".join(str(rows[j]) for j in parts[i]) + "; joined"))
        skipped = skipped | continued
    live = ~skipped
    address_s = pd.Series(address, index=frame.index, dtype=object)
    present["address"] = address_s.notna().to_numpy()
    address_txt = _texts(address_s)

    names = _texts(frame["name"])
    log.add("no_name", "rejected", live & ~present["name"], "no name")

    # Facility type.
    type_txt = _texts(frame["type"])
    log.add("no_type", "rejected", live & ~present["type"], "no facility type")
    given = live & present["type"]
    type_keys = np.array([_type_key(t) for t in type_txt], dtype=object)
    ftype = np.full(n, None, dtype=object)
    type_code = np.full(n, None, dtype=object)
    type_error = np.full(n, None, dtype=object)
    for key in set(type_keys[given]):
        where = given & (type_keys == key)
        ftype[where], type_code[where], type_error[where] = _match_type(key)
    for code in ("unknown_type", "ambiguous_type"):
        log.add(code, "rejected", type_code == code, lambda i: type_error[i])

    pos = _positions(frame, header, live, log, region, datum_default=datum_default, required=False)
    some, zero, has_pt, adcode = pos.some, pos.zero, pos.has_pt, pos.adcode
    lon_w, lat_w, lon_txt, lat_txt = pos.lon_w, pos.lat_w, pos.lon_txt, pos.lat_txt
    datum, datum_txt = pos.datum, pos.datum_txt
    pt_label = np.array([region.label(a) if a else "" for a in adcode], dtype=object)
    note = np.full(n, "", dtype=object)

    # Declared county (with the declared city as context) through the registry.
    county_txt, city_txt = _texts(frame["county"]), _texts(frame["city"])
    declared = live & present["county"]
    d_code, d_error, d_note = _declared(region, frame, declared, has_pt, lon_w, lat_w)
    ok_decl = pd.notna(d_code)
    mismatch = has_pt & ok_decl & (d_code != adcode)
    log.add("county_mismatch", "flagged", mismatch, lambda i: (
        f"declared {county_txt[i]} but coordinates fall in {pt_label[i]}"))
    log.add("declared_unresolved", "flagged", has_pt & declared & ~ok_decl, lambda i: (
        f"declared county {county_txt[i]!r} not recognised ({d_error[i]}); "
        f"placed by coordinates in {pt_label[i]}"))
    agree = has_pt & ok_decl & ~mismatch
    note[agree] = [d or "" for d in d_note[agree]]

    # Declared city of rows placed by coordinates that name no county.
    city_only = has_pt & ~declared & present["city"]
    if city_only.any():
        c_code, c_error = _unit_results(region, frame, city_only, "city", None, level="prefecture")
        pref = np.array([region.prefecture_adcode.get(a or "", "") for a in adcode], dtype=object)
        known = pd.notna(c_code)
        log.add("city_mismatch", "flagged", city_only & known & (c_code != pref), lambda i: (
            f"declared city {city_txt[i]} but coordinates fall in {pt_label[i]}"))
        log.add("city_unresolved", "flagged", city_only & ~known, lambda i: (
            f"declared city {city_txt[i]!r} not recognised ({c_error[i]})"))

    # Rows without coordinates: declared county, else the address.
    fallback = (live & ~some) | zero
    by_county = fallback & ok_decl
    adcode[by_county] = d_code[by_county]
    note[by_county] = [d or "" for d in d_note[by_county]]
    need_address = fallback & ~ok_decl & present["address"]
    a_code = np.full(n, None, dtype=object)
    a_error = np.full(n, None, dtype=object)
    if need_address.any():
        a_code[need_address], a_error[need_address] = _addresses(region, address_s[need_address])
    by_address = need_address & pd.notna(a_code)
    adcode[by_address] = a_code[by_address]
    failed = fallback & declared & ~ok_decl
    log.add("declared_unresolved", "flagged", failed & by_address, lambda i: (
        f"declared county {county_txt[i]!r} not recognised ({d_error[i]})"))
    log.add("county_unresolved", "rejected", failed & ~by_address, lambda i: (
        str(d_error[i]) + (f"; address {address_txt[i]!r}: {a_error[i]}" if a_error[i] else "")))
    log.add("address_unresolved", "rejected", need_address & ~declared & ~by_address, lambda i: (
        f"address {address_txt[i]!r}: {a_error[i]}"))
    log.add("no_location", "rejected", fallback & ~declared & ~present["address"],
            "no coordinates, county or address: the facility cannot be placed")
    placed = fallback & pd.notna(adcode)
    foreign = placed & ~np.isin(adcode.astype(str), list(region.adcodes))
    log.add("county_outside_region", "rejected", foreign, lambda i: (
        f"{'county ' + repr(county_txt[i]) if by_county[i] else 'address ' + repr(address_txt[i])}"
        f" is {adcode[i]}, outside the region"))

    # Duplicates among the rows kept so far, then ids.
    keep = live & ~log.mask("rejected")
    name_keys = np.array([_type_key(v) for v in names], dtype=object)
    _duplicates(log, keep, rows, name_keys, ftype, adcode, lon_w, lat_w, has_pt)
    log.add("no_coordinates", "flagged", placed & ~log.mask("rejected"), lambda i: (
        f"no coordinates; placed in {region.label(adcode[i])} by its "
        + ("declared county" if by_county[i] else "address") + " (counted there, not on the map)"))
    kept = np.isin(log.status(), ("accepted", "flagged"))
    ids = _facility_ids(log, frame, kept, name_keys, ftype, adcode)

    status = log.status()
    reasons, codes = log.texts()
    kept = np.isin(status, ("accepted", "flagged"))
    given_note = _texts(frame["note"])
    notes = np.array(
        ["; ".join(p for p in (g, z, r if s == "flagged" else "") if p)
         for g, z, r, s in zip(given_note, note, reasons, status, strict=True)],
        dtype=object)  # fmt: skip
    assigned = np.array(
        [region.label(a) if k else "" for a, k in zip(adcode, kept, strict=True)], dtype=object
    )
    report = pd.DataFrame({
        "row": rows, "status": status, "reasons": reasons, "codes": codes, "note": note,
        "name": names, "type": type_txt, "city": city_txt, "county": county_txt,
        "address": address_txt, "lon": lon_txt, "lat": lat_txt, "datum": datum_txt,
        "facility_type": np.where(ftype == None, "", ftype),
        "adcode": np.where(kept, adcode, ""), "assigned_county": assigned,
        "facility_id": np.where(kept, ids, ""),
    })  # fmt: skip
    report = report.astype({c: str for c in report.columns if c != "row"})
    facilities = _facility_frame(
        kept=kept, ids=ids, names=names, ftype=ftype, subtype=_texts(frame["subtype"]),
        region=region, adcode=adcode, address=address_txt, lon=lon_w, lat=lat_w,
        has_pt=has_pt, datum=np.where(has_pt, datum, ""), notes=notes,
    )
    by_status = {s: int((status == s).sum()) for s in STATUSES}
    return FacilityImport(
        report=report, source=table.name, encoding=table.encoding, sheet=table.sheet,
        header_row=header.rows[0] + 1, header_rows=tuple(r + 1 for r in header.rows),
        column_map=dict(header.labels), ignored_columns=header.ignored,
        facilities=facilities, **by_status,
    )  # fmt: skip


def _declared(
    region: _Region, frame: pd.DataFrame, declared: np.ndarray, has_pt: np.ndarray,
    lon: np.ndarray, lat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adcodes, errors and notes of the declared counties (city as context).

    Development zones and local aliases that only a point can place are resolved again
    with the row's WGS84 point, for the rows that have one.
    """
    n = len(frame)
    code = np.full(n, None, dtype=object)
    error = np.full(n, None, dtype=object)
    note = np.full(n, None, dtype=object)
    if not declared.any():
        return code, error, note
    idx = frame.index[declared]
    res = _resolve(region, frame.loc[idx, "county"], frame.loc[idx, "city"])
    retry = res["error_type"].isin(["UndecidableUnit", "AmbiguousUnit"]).to_numpy(copy=True)
    retry &= has_pt[declared]
    if retry.any():
        ridx = idx[retry]
        pos = frame.index.get_indexer(ridx)
        res.loc[ridx] = _resolve(region, frame.loc[ridx, "county"], frame.loc[ridx, "city"],
                                 lon=lon[pos], lat=lat[pos])  # fmt: skip
    code[declared] = _values(res["adcode"])
    error[declared] = _values(res["error"])
    note[declared] = _values(res["note"])
    return code, error, note


def _values(series: pd.Series) -> np.ndarray:
    """Object values with None for missing ones."""
    out = series.to_numpy(dtype=object)
    return np.where(pd.isna(series).to_numpy(), None, out)


def _continuation_anchor(candidate: np.ndarray, record: np.ndarray) -> np.ndarray:
    """For each candidate row directly under a record (or its continuations), the record."""
    anchor = np.full(len(candidate), -1)
    current = -1
    for i in range(len(candidate)):  # one pass over booleans; no registry, no pandas
        if candidate[i]:
            anchor[i] = current
        else:
            current = i if record[i] else -1
    return anchor


def _addresses(region: _Region, addresses: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """County adcodes (or errors) of addresses: cpca reads them, the registry resolves
    the district it finds, with cpca's city as prefecture context."""
    import cpca

    text = [normalise_name(a) for a in addresses.to_numpy()]
    unique = list(dict.fromkeys(text))
    parsed = cpca.transform(unique)
    parsed.index = pd.Index(unique)
    parsed = parsed.loc[text].reset_index(drop=True)
    province = _values(parsed["省"])
    city = _values(parsed["市"])
    district = _values(parsed["区"])
    codes = np.full(len(text), None, dtype=object)
    errors = np.full(len(text), None, dtype=object)
    has = pd.notna(district)
    for i in np.flatnonzero(~has):
        read = "".join(v for v in (province[i], city[i]) if v)
        errors[i] = "names no county-level unit" + (f" (read as {read})" if read else "")
    if has.any():
        idx = addresses.index[has]
        context = np.where(city == "市辖区", None, city)
        res = _resolve(region, pd.Series(district[has], index=idx, dtype=object),
                       pd.Series(context[has], index=idx, dtype=object))  # fmt: skip
        codes[has] = _values(res["adcode"])
        errors[has] = _values(res["error"])
    return codes, errors


@dataclass(frozen=True)
class _Duplicates:
    """What :func:`_find_duplicates` found: row position -> (earlier row position, metres
    apart or NaN when the rows were matched by county)."""

    duplicate_of: dict[int, tuple[int, float]]
    nearby: dict[int, tuple[int, float]]
    compared: int  # distances computed: a handful per row, never a pair per two rows


# Grid cell (metres, on a sphere of the mean Earth radius) for the 200 m test: a
# geodesic of 200 m on the ellipsoid is at most 0.6 % longer on the sphere, so two rows
# within 200 m always sit in the same or in adjacent cells.
_EARTH_RADIUS_M = 6_371_008.8
_DUPLICATE_CELL_M = DUPLICATE_DISTANCE_M * 1.05
_NEIGHBOURS = [(x, y, z) for x in (-1, 0, 1) for y in (-1, 0, 1) for z in (-1, 0, 1)]


def _grid_cells(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Integer 3-D grid cells (n x 3) of points on the sphere, for the 200 m test."""
    lam, phi = np.radians(lon), np.radians(lat)
    xyz = np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))
    return np.floor(np.nan_to_num(xyz) * (_EARTH_RADIUS_M / _DUPLICATE_CELL_M)).astype(np.int64)


def _find_duplicates(
    keep: np.ndarray, name_keys: np.ndarray, ftype: np.ndarray, adcode: np.ndarray,
    lon: np.ndarray, lat: np.ndarray, has_pt: np.ndarray,
) -> _Duplicates:
    """The duplicate rule, row by row in register order.

    A later row with the same name and type as an earlier original (a kept row that is
    no duplicate itself) is a duplicate of the first such original when the two are
    within 200 m (geodesic, WGS84 ellipsoid), or when one of them has no coordinates
    and both are in the same county. An original of another type within 200 m makes
    the later row "nearby" (the first such original). Only rows whose name repeats are
    looked at; the originals with coordinates sit in a grid of about 200 m cells and
    those without in a dict per county, so each row is compared with the few originals
    around it, never with every row of its name: O(n) for n rows of one name.
    """
    none = _Duplicates({}, {}, 0)
    pos = np.flatnonzero(keep)
    if len(pos) < 2:
        return none
    pos = pos[pd.Series(name_keys[pos]).duplicated(keep=False).to_numpy()]
    if not len(pos):
        return none
    group = pd.factorize(name_keys[pos])[0].tolist()
    cells = _grid_cells(lon[pos], lat[pos]).tolist()
    point = has_pt[pos].tolist()
    coded = pd.notna(adcode[pos]).tolist()
    grid: dict[tuple, list[int]] = {}  # (name, cell) -> originals with coordinates
    first: dict[tuple, int] = {}  # (name, type, county, has coordinates) -> first original
    duplicate_of: dict[int, tuple[int, float]] = {}
    nearby: dict[int, tuple[int, float]] = {}
    compared = 0
    # A loop over repeated names only: whether a row is an original depends on the rows
    # before it, so the rule is sequential.
    for k, j in enumerate(pos.tolist()):
        g, t, p = group[k], ftype[j], point[k]
        match, metres = None, math.nan
        if coded[k]:  # same county, at least one of the two without coordinates
            for other_has_pt in ((False, True) if not p else (False,)):
                i = first.get((g, t, adcode[j], other_has_pt))
                if i is not None and (match is None or i < match):
                    match = i
        if p:
            cx, cy, cz = cells[k]
            near = [i for dx, dy, dz in _NEIGHBOURS
                    for i in grid.get((g, cx + dx, cy + dy, cz + dz), ())]  # fmt: skip
            if near:
                compared += len(near)
                near_a = np.array(near)
                _, _, dist = _GEOD.inv(lon[near_a], lat[near_a], np.full(len(near), lon[j]),
                                       np.full(len(near), lat[j]))  # fmt: skip
                within = dist <= DUPLICATE_DISTANCE_M
                same = within & (ftype[near_a] == t)
                if same.any():
                    best = int(np.argmin(np.where(same, near_a, np.iinfo(np.int64).max)))
                    if match is None or near[best] < match:
                        match, metres = near[best], float(dist[best])
                other = within & ~same
                if match is None and other.any():
                    best = int(np.argmin(np.where(other, near_a, np.iinfo(np.int64).max)))
                    nearby[j] = (near[best], float(dist[best]))
        if match is not None:
            duplicate_of[j] = (match, metres)
            continue
        if coded[k]:
            first.setdefault((g, t, adcode[j], p), j)
        if p:
            grid.setdefault((g, *cells[k]), []).append(j)
    return _Duplicates(duplicate_of, nearby, compared)


def _duplicates(
    log: _Log, keep: np.ndarray, rows: np.ndarray, name_keys: np.ndarray, ftype: np.ndarray,
    adcode: np.ndarray, lon: np.ndarray, lat: np.ndarray, has_pt: np.ndarray,
) -> None:
    """Reject later rows with the same name and type within 200 m (or, without
    coordinates, in the same county); flag same-name rows of another type nearby.

    The matching is :func:`_find_duplicates`; this writes its findings to the row log.
    """
    found = _find_duplicates(keep, name_keys, ftype, adcode, lon, lat, has_pt)
    duplicate_of, nearby = found.duplicate_of, found.nearby

    def duplicate(j: int) -> str:
        i, d = duplicate_of[j]
        if np.isnan(d):
            return (f"duplicate of row {rows[i]} (same name and type in the same county; "
                    "no coordinates to compare)")  # fmt: skip
        return f"duplicate of row {rows[i]} (same name, {d:.0f} m apart)"

    everything = np.arange(len(keep))
    log.add("duplicate", "rejected", np.isin(everything, list(duplicate_of)), duplicate)
    log.add("same_name_nearby", "flagged", np.isin(everything, list(nearby)), lambda j: (
        f"same name as row {rows[nearby[j][0]]} ({ftype[nearby[j][0]]}), "
        f"{nearby[j][1]:.0f} m apart: check it is not a duplicate"))


def _facility_ids(
    log: _Log, frame: pd.DataFrame, kept: np.ndarray, name_keys: np.ndarray,
    ftype: np.ndarray, adcode: np.ndarray,
) -> np.ndarray:
    """Given ids, else stable ones from name, type and county (the same across quarters)."""
    given = _texts(frame["facility_id"])
    rows = frame.index.to_numpy()
    ids = given.copy()
    missing = kept & (given == "")
    ids[missing] = [
        "F" + hashlib.sha1(f"{k}|{t}|{a}".encode()).hexdigest()[:11]
        for k, t, a in zip(name_keys[missing], ftype[missing], adcode[missing], strict=True)
    ]
    first: dict[str, int] = {}
    repeated = np.zeros(len(ids), dtype=bool)
    for i in np.flatnonzero(kept):
        if ids[i] in first:
            repeated[i] = True
        else:
            first[ids[i]] = int(i)
    generated_repeat = repeated & (given == "")
    seen: dict[str, int] = {}
    for i in np.flatnonzero(generated_repeat):  # same name, type and county, > 200 m apart
        seen[ids[i]] = seen.get(ids[i], 1) + 1
        ids[i] = f"{ids[i]}-{seen[ids[i]]}"
    log.add("duplicate_id", "flagged", repeated & ~generated_repeat, lambda i: (
        f"facility_id {given[i]} also on row {rows[first[given[i]]]}"))
    return ids


def _facility_frame(
    *, kept: np.ndarray, ids: np.ndarray, names: np.ndarray, ftype: np.ndarray,
    subtype: np.ndarray, region: _Region, adcode: np.ndarray, address: np.ndarray,
    lon: np.ndarray, lat: np.ndarray, has_pt: np.ndarray, datum: np.ndarray, notes: np.ndarray,
) -> gpd.GeoDataFrame:
    import geopandas as gpd
    import shapely

    k = kept
    codes = adcode[k].astype(str)
    on_map = has_pt[k]
    x = np.where(on_map, lon[k], np.nan)
    y = np.where(on_map, lat[k], np.nan)
    geometry = np.full(len(codes), None, dtype=object)
    geometry[on_map] = shapely.points(x[on_map], y[on_map])
    out = pd.DataFrame({
        "facility_id": ids[k], "name": names[k], "facility_type": ftype[k],
        "subtype": subtype[k],
        "prefecture": [region.prefecture.get(a, "") for a in codes],
        "county": [region.name.get(a, "") for a in codes],
        "adcode": codes, "address": address[k], "lon": x, "lat": y, "datum": datum[k],
        "is_demo": np.zeros(len(codes), dtype=bool), "note": notes[k],
    })  # fmt: skip
    text = [c for c in FACILITY_COLUMNS if c not in ("lon", "lat", "is_demo")]
    out = out.astype(dict.fromkeys(text, str))
    return gpd.GeoDataFrame(
        out[list(FACILITY_COLUMNS)], geometry=gpd.GeoSeries(geometry, crs="EPSG:4326")
    )


# --------------------------------------------------------------------------- counts


_COUNT_REQUIRED = (("count",), ("adcode", "county"))


def read_unemployed(
    source: Source,
    *,
    counties: gpd.GeoDataFrame,
    registry: AdminRegistry | None = None,
    province: object = None,
    columns: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
) -> CountImport:
    """Read and validate a table of unemployed disabled people per county.

    Parameters
    ----------
    source : path, bytes or binary file
        A ``.csv`` or ``.xlsx`` table with a count column (未就业残疾人数, 人数,
        unemployed_disabled ...) and an adcode (行政区划代码) and/or county name column
        (县（市、区）, 名称 ...), optionally a city column for context.
    counties : GeoDataFrame
        The region's counties; those the table lacks are listed in ``missing_units``.
    registry, province, columns, sheet
        As in :func:`read_facilities`; fields: ``adcode, city, county, count, note``.

    Returns
    -------
    CountImport

    Raises
    ------
    RegisterError
        The file is missing, unreadable, of another format, or has no recognisable header.

    Notes
    -----
    A row's unit is its adcode when that resolves (old codes included), else its name;
    when both resolve to different units the adcode wins and the row is flagged. Counts
    must be whole, non-negative numbers (``1,234`` and ``12人`` are read). A second row
    for the same county is rejected; total rows (合计, 小计 ...) and rows naming a
    prefecture or the province are skipped as subtotals.
    """
    opened = _open(source, sheet=sheet, fields=COUNT_FIELDS, columns=columns,
                   required=_COUNT_REQUIRED, what="table of unemployed disabled people",
                   counties=counties, registry=registry, province=province, points=False)
    table, header, region, frame, blank, rows, log = (
        opened.table, opened.header, opened.region, opened.frame, opened.blank, opened.rows,
        opened.log)
    n = len(frame)
    skipped = _skip_structure(table, header, frame, blank, log,
                              content="county" if "county" in header.columns else "adcode")
    _formula_flags(table, header, frame, log)
    live = ~skipped
    county_txt, city_txt = _texts(frame["county"]), _texts(frame["city"])
    code_txt = _texts(frame["adcode"])
    label_txt = np.array(
        [c or t or a for c, t, a in zip(county_txt, city_txt, code_txt, strict=True)], dtype=object
    )
    live = _skip_totals(label_txt, live, log)
    number, count_txt = _counts(frame["count"], live, log)

    # Units: the adcode when it resolves, else the name (with the city as context).
    has_code = live & (code_txt != "")
    has_name = live & (county_txt != "")
    log.add("no_unit", "rejected", live & ~has_code & ~has_name, "no adcode and no county name")
    c_code, c_error = _unit_results(region, frame, has_code, "adcode", None)
    n_code, n_error = _unit_results(region, frame, has_name, "county", "city")
    unit = np.where(c_code != None, c_code, n_code)
    open_ = live & pd.isna(unit)
    subtotal = _subtotal_rows(region, frame, open_ & has_code, "adcode")
    subtotal |= _subtotal_rows(region, frame, open_ & ~has_code & has_name, "county")
    log.add("total_row", "skipped", subtotal, lambda i: (
        f"subtotal row of a prefecture or province ({county_txt[i] or code_txt[i]})"))
    live &= ~subtotal
    label = np.array([region.label(u) if u in region.adcodes else u or "" for u in unit])
    n_label = np.array([region.label(u) if u in region.adcodes else u or "" for u in n_code])
    mismatch = live & pd.notna(c_code) & pd.notna(n_code) & (c_code != n_code)
    log.add("unit_mismatch", "flagged", mismatch, lambda i: (
        f"adcode {code_txt[i]} is {label[i]} but the name {county_txt[i]!r} is {n_label[i]}; "
        "the adcode is used"))
    log.add("bad_adcode", "flagged", live & has_code & pd.isna(c_code) & pd.notna(n_code),
            lambda i: f"adcode {code_txt[i]!r} not recognised ({c_error[i]}); the name is used")
    log.add("county_unresolved", "rejected", live & pd.isna(unit) & (has_code | has_name),
            lambda i: "; ".join(str(e) for e in (c_error[i], n_error[i]) if e))
    resolved = live & pd.notna(unit)
    foreign = resolved & ~np.isin(unit.astype(str), list(region.adcodes))
    log.add("county_outside_region", "rejected", foreign, lambda i: (
        f"{county_txt[i] or code_txt[i]} ({unit[i]}) is outside the region"))

    # The second row for a county is rejected.
    first: dict[str, int] = {}
    duplicate = np.full(n, -1)
    for i in np.flatnonzero(live & ~log.mask("rejected")):
        duplicate[i] = first.setdefault(unit[i], int(i))
    duplicate[duplicate == np.arange(n)] = -1
    log.add("duplicate", "rejected", duplicate >= 0, lambda i: (
        f"duplicate of row {rows[duplicate[i]]} (same county {label[i]})"))

    status = log.status()
    reasons, codes = log.texts()
    kept = np.isin(status, ("accepted", "flagged"))
    report = pd.DataFrame({
        "row": rows, "status": status, "reasons": reasons, "codes": codes, "note": "",
        "adcode_given": code_txt, "city": city_txt, "county": county_txt, "count": count_txt,
        "adcode": np.where(kept, unit, ""), "assigned_county": np.where(kept, label, ""),
    })  # fmt: skip
    report = report.astype({c: str for c in report.columns if c != "row"})
    report["unemployed_disabled"] = pd.array(np.where(kept, number, np.nan), dtype="Int64")
    kept_codes = unit[kept].astype(str)
    counts = pd.DataFrame({
        "adcode": kept_codes,
        "prefecture": [region.prefecture.get(u, "") for u in kept_codes],
        "county": [region.name.get(u, "") for u in kept_codes],
        "unemployed_disabled": number[kept].astype("int64"),
        "is_demo": np.zeros(len(kept_codes), dtype=bool),
        "method": f"register {table.name}",
    })  # fmt: skip
    present = set(kept_codes)
    missing = tuple(a for a in region.order if a not in present)
    by_status = {s: int((status == s).sum()) for s in STATUSES}
    return CountImport(
        report=report, source=table.name, encoding=table.encoding, sheet=table.sheet,
        header_row=header.rows[0] + 1, header_rows=tuple(r + 1 for r in header.rows),
        column_map=dict(header.labels), ignored_columns=header.ignored,
        counts=counts, missing_units=missing,
        missing_labels=tuple(f"{region.label(a)} ({a})" for a in missing), **by_status,
    )  # fmt: skip


def _unit_results(
    region: _Region, frame: pd.DataFrame, mask: np.ndarray, col: str, context: str | None,
    *, level: str = "county",
) -> tuple[np.ndarray, np.ndarray]:
    """Adcodes and errors of the rows of ``mask`` (None elsewhere)."""
    n = len(frame)
    codes = np.full(n, None, dtype=object)
    errors = np.full(n, None, dtype=object)
    if mask.any():
        idx = frame.index[mask]
        res = _resolve(region, frame.loc[idx, col], frame.loc[idx, context] if context else None,
                       level=level)  # fmt: skip
        codes[mask] = _values(res["adcode"])
        errors[mask] = _values(res["error"])
    return codes, errors


def _subtotal_rows(region: _Region, frame: pd.DataFrame, mask: np.ndarray, col: str) -> np.ndarray:
    """Rows whose code or exact name is a prefecture or province: subtotals, not counties.

    Short forms do not count: 通化 may mean 通化县 and stays an error to fix.
    """
    out = np.zeros(len(frame), dtype=bool)
    if not mask.any():
        return out
    idx = frame.index[mask]
    names = pd.DataFrame({"name": frame.loc[idx, col].to_numpy(dtype=object)}, index=idx)
    for level in ("prefecture", "province"):
        res = region.registry.resolve_many(
            names, name_col="name", level=level  # type: ignore[arg-type]
        )
        out[mask] |= res["via"].isin(["exact", "code"]).to_numpy()
    return out


# --------------------------------------------------------------------------- demand points


DEMAND_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("名称", "地名", "乡镇", "村", "乡镇名称", "村名", "需求点", "name", "place", "town",
             "village"),
    "count": (*COUNT_FIELDS["count"], "需求", "需求人数", "demand", "people"),
    "lon": FACILITY_FIELDS["lon"],
    "lat": FACILITY_FIELDS["lat"],
    "coords": FACILITY_FIELDS["coords"],
    "datum": FACILITY_FIELDS["datum"],
    "city": FACILITY_FIELDS["city"],
    "county": FACILITY_FIELDS["county"],
    "note": FACILITY_FIELDS["note"],
}  # fmt: skip
_DEMAND_REQUIRED = (("count",), ("lon+lat", "coords"))


@dataclass(frozen=True, eq=False)
class DemandImport(_Import):
    """What :func:`read_demand` made of a table of demand points (towns, villages).

    Attributes
    ----------
    demand : GeoDataFrame
        ``name, adcode, county, prefecture, demand, geometry`` (points, EPSG:4326), one
        row per accepted or flagged point: the layout :func:`geoapp.access.county_access`
        and :func:`geoapp.siting.suggest_sites` take instead of the default grid.
    report, source, encoding, sheet, header_row, header_rows, column_map, ignored_columns,
    accepted, flagged, rejected, skipped
        As in :class:`FacilityImport`; the report's outcome columns are
        ``adcode, assigned_county, demand``.
    """

    demand: gpd.GeoDataFrame = field(default=None)  # type: ignore[assignment]

    def summary(self) -> str:
        """A short report in Chinese and English."""
        lines = self._summary_lines("需求点表", "Demand points")
        total = float(self.demand["demand"].sum()) if len(self.demand) else 0.0
        lines.insert(2, f"入库需求点 {len(self.demand)} 个，合计 {total:,.0f} 人。")
        lines.insert(3, f"{len(self.demand)} demand points imported, {total:,.0f} people.")
        return "\n".join(lines)


def read_demand(
    source: Source,
    *,
    counties: gpd.GeoDataFrame,
    registry: AdminRegistry | None = None,
    province: object = None,
    default_datum: str = "wgs84",
    columns: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
) -> DemandImport:
    """Read demand points (towns, villages) with their counts of people.

    The same machinery as :func:`read_facilities` and :func:`read_unemployed`: CSV or
    XLSX, Chinese or English headers (名称/地名/name, 人数/未就业残疾人数/demand,
    经度/纬度/lon/lat or 坐标, 坐标系/datum), one report line per row with its Excel row
    number. Coordinates are converted to WGS84 and the point is placed in the county
    that contains it; a point outside the region, without a readable coordinate pair or
    without a whole non-negative count is rejected with the reason. A declared county
    is not needed (the coordinates decide). Total rows (合计 ...) are skipped.

    Raises
    ------
    RegisterError
        The file is missing, unreadable, of another format, or has no header with a
        count and coordinates.
    """
    import geopandas as gpd
    import shapely

    datum_default = _default_datum(default_datum)
    opened = _open(source, sheet=sheet, fields=DEMAND_FIELDS, columns=columns,
                   required=_DEMAND_REQUIRED, what="table of demand points", counties=counties,
                   registry=registry, province=province, points=True)
    table, header, region, frame, blank, rows, log = (
        opened.table, opened.header, opened.region, opened.frame, opened.blank, opened.rows,
        opened.log)
    content = "name" if "name" in header.columns else "count"
    skipped = _skip_structure(table, header, frame, blank, log, content=content)
    _formula_flags(table, header, frame, log)
    live = ~skipped
    names = _texts(frame["name"])
    live = _skip_totals(names, live, log)
    number, count_txt = _counts(frame["count"], live, log)

    pos = _positions(frame, header, live, log, region, datum_default=datum_default, required=True)
    adcode, lon_w, lat_w = pos.adcode, pos.lon_w, pos.lat_w
    lon_txt, lat_txt, datum_txt = pos.lon_txt, pos.lat_txt, pos.datum_txt

    status = log.status()
    reasons, codes = log.texts()
    kept = np.isin(status, ("accepted", "flagged"))
    label = np.array([region.label(a) if k else "" for a, k in zip(adcode, kept, strict=True)],
                     dtype=object)
    report = pd.DataFrame({
        "row": rows, "status": status, "reasons": reasons, "codes": codes, "note": "",
        "name": names, "count": count_txt, "lon": lon_txt, "lat": lat_txt, "datum": datum_txt,
        "adcode": np.where(kept, adcode, ""), "assigned_county": label,
    })  # fmt: skip
    report = report.astype({c: str for c in report.columns if c != "row"})
    report["demand"] = pd.array(np.where(kept, number, np.nan), dtype="Int64")
    codes_k = adcode[kept].astype(str)
    demand = gpd.GeoDataFrame(
        {
            "name": names[kept].astype(str),
            "adcode": codes_k,
            "county": [region.name.get(a, "") for a in codes_k],
            "prefecture": [region.prefecture.get(a, "") for a in codes_k],
            "demand": number[kept].astype(float),
        },
        geometry=gpd.GeoSeries(shapely.points(lon_w[kept], lat_w[kept]), crs="EPSG:4326"),
    )
    by_status = {s: int((status == s).sum()) for s in STATUSES}
    return DemandImport(
        report=report, source=table.name, encoding=table.encoding, sheet=table.sheet,
        header_row=header.rows[0] + 1, header_rows=tuple(r + 1 for r in header.rows),
        column_map=dict(header.labels), ignored_columns=header.ignored,
        demand=demand, **by_status,
    )  # fmt: skip
