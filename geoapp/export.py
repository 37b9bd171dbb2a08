"""Tables and layers written for planners: CSV, Excel, GeoJSON and GeoPackage.

Every writer takes a frame and a destination, either a path or a binary file-like
object (the dashboard's download buttons hand in a ``BytesIO``), and keyword-only
options. Writes to a path are atomic: the file is built beside its destination and
moved into place only when complete, so a failed export never leaves half a file.

Text bound for a spreadsheet is neutralised against formula injection (OWASP "CSV
injection"): a text cell starting with ``= + - @``, a tab or a carriage return gets a
leading ``'``. Numbers stay numbers. GeoJSON and GeoPackage values are left as they are.

Labels come from ``data/i18n.toml`` through :func:`gap_headers`,
:func:`gap_value_labels` and :func:`gap_meta`; the writers themselves know no language.

openpyxl is imported by the Excel writer only, so that writing CSV does not load it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from io import BytesIO
from itertools import chain
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from geoapp.csvtext import csv_chunks, starts_with_ascii
from geoapp.i18n import DEFAULT_LANGUAGE, label_map, t

Destination = str | os.PathLike[str] | BinaryIO

#: Columns of a coverage-gap list, in the order they are written.
GAP_COLUMNS: tuple[str, ...] = (
    "adcode",
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
    "prefecture_adcode",
    "policy",
    "reading",
)
#: Coded gap-list columns whose values have labels in the i18n table.
GAP_CODED_COLUMNS: tuple[str, ...] = (
    "unit_kind",
    "facility_type",
    "level",
    "strength",
    "comparison",
    "reading",
)
FORMATS: tuple[str, ...] = ("csv", "xlsx", "geojson", "gpkg")
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
}
TIMEZONE = ZoneInfo("Asia/Shanghai")

_BOM = "\ufeff".encode()  # UTF-8's byte-order mark: Excel then reads the file as UTF-8
#: First characters that make Excel or LibreOffice read a cell as a formula.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
MIN_WIDTH, MAX_WIDTH = 8, 50
GEOJSON_PRECISION = 6  # decimal degrees: 0.1 m, finer than any boundary we ship
_SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# What an .xlsx cannot hold: openpyxl's ILLEGAL_CHARACTERS_RE (a test checks they agree).
_ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


@lru_cache(maxsize=1)
def _header_fill() -> Any:
    from openpyxl.styles import PatternFill

    return PatternFill(fill_type="solid", start_color="DDEBF7", end_color="DDEBF7")


def __getattr__(name: str) -> Any:
    # HEADER_FILL (the template's too) is an openpyxl object: made on first use.
    if name == "HEADER_FILL":
        return _header_fill()
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


# --- labels -----------------------------------------------------------------------------


def gap_headers(lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """Header labels of the gap-list columns, from the ``col.*`` keys.

    Examples
    --------
    >>> gap_headers("zh")["shortfall"]
    '缺口'
    >>> gap_headers("en")["adcode"]
    'Code'
    """
    return {column: t(f"col.{column}", lang) for column in GAP_COLUMNS}


def gap_value_labels(lang: str = DEFAULT_LANGUAGE) -> dict[str, dict[Hashable, str]]:
    """Labels for the coded values of a gap list, column by column.

    Covers ``unit_kind, facility_type, level, strength, comparison`` (their i18n keys)
    and the boolean ``met`` column (是/否).

    Examples
    --------
    >>> gap_value_labels("zh")["strength"]["mandatory"]
    '约束性（应/至少）'
    """
    labels: dict[str, dict[Hashable, str]] = {
        column: dict(label_map(column, lang)) for column in GAP_CODED_COLUMNS
    }
    labels["met"] = {True: t("met.true", lang), False: t("met.false", lang)}
    return labels


def gap_meta(
    lang: str = DEFAULT_LANGUAGE,
    *,
    policy_key: str,
    policy_title: str,
    policy_doc_no: str,
    reading: str,
    as_of: str,
    demo: bool,
    sources: Sequence[str],
    row_count: int,
    generated_at: datetime | None = None,
    sort_note: str | None = None,
) -> dict[str, str]:
    """The rows of the "说明"/"About" sheet of a gap list, labelled in ``lang``.

    ``generated_at`` defaults to now; it is shown in Asia/Shanghai time (a naive
    datetime is taken to be Shanghai time already). ``sort_note`` defaults to the
    gap-list order of DOMAIN.md: mandatory first, then most unemployed disabled people.
    """
    stamp = generated_at or datetime.now(TIMEZONE)
    stamp = stamp.replace(tzinfo=TIMEZONE) if stamp.tzinfo is None else stamp.astimezone(TIMEZONE)
    return {
        t("meta.product", lang): t("app.title", lang),
        t("meta.policy", lang): policy_title,
        t("meta.policy_doc_no", lang): policy_doc_no,
        t("meta.policy_key", lang): policy_key,
        t("meta.reading", lang): reading,
        t("meta.as_of", lang): as_of,
        t("meta.data_status", lang): t("meta.demo" if demo else "meta.real", lang),
        t("meta.generated_at", lang): stamp.isoformat(sep=" ", timespec="seconds"),
        t("meta.sources", lang): "; ".join(sources),
        t("meta.row_count", lang): str(row_count),
        t("meta.sort_order", lang): sort_note or t("meta.sort_note", lang),
    }


# --- spreadsheet safety -----------------------------------------------------------------


def _neutral(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells cannot start a spreadsheet formula.

    Text starting with ``= + - @``, a tab or a carriage return is prefixed with ``'``.
    Numbers, including negative ones stored as numbers, are left alone; so is the input.

    Examples
    --------
    >>> neutralise(pd.DataFrame({"a": ["=1+1", "ok"], "n": [-5, 3]})).to_dict("list")
    {'a': ["'=1+1", 'ok'], 'n': [-5, 3]}
    """
    out = frame.copy()
    for position in range(out.shape[1]):
        series = out.iloc[:, position]
        dtype = series.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            categories = series.cat.categories.map(_neutral)
            safe = (
                series.cat.rename_categories(categories)
                if categories.is_unique  # "-x" and "'-x" both present: fall back to text
                else series.astype(object).map(_neutral)
            )
        elif pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            formula = starts_with_ascii(series, FORMULA_TRIGGERS)
            if not formula.any():
                continue
            values = series.array.copy()
            values[formula] = "'" + values[formula]
            safe = pd.Series(values, index=series.index, name=series.name, dtype=dtype)
        else:
            continue
        out.isetitem(position, safe)
    return out


def _prepare(
    frame: pd.DataFrame,
    headers: Mapping[str, str] | None,
    value_labels: Mapping[str, Mapping[Hashable, str]] | None,
) -> pd.DataFrame:
    """Labelled values, neutralised text, translated headers; the input untouched."""
    out = frame.copy()
    for column, labels in (value_labels or {}).items():
        if column in out.columns:
            out[column] = out[column].map(lambda v, m=labels: _label(v, m)).astype(object)
    out = neutralise(out)
    if headers:
        names = [headers.get(c, c) for c in out.columns]
        clashes = sorted({n for n in names if names.count(n) > 1})
        if clashes:
            msg = f"headers: several columns would be labelled {clashes}; give each its own"
            raise ValueError(msg)
        out.columns = names
    return out


def _label(value: Any, labels: Mapping[Hashable, str]) -> Any:
    try:
        return labels.get(value, value)
    except TypeError:  # an unhashable cell has no label
        return value


# --- destinations -----------------------------------------------------------------------


def _as_path(dest: Destination) -> Path | None:
    if isinstance(dest, (str, os.PathLike)):
        path = Path(dest)
        if not path.parent.is_dir():
            msg = f"cannot write {path}: the folder {path.parent} does not exist"
            raise FileNotFoundError(msg)
        return path
    if hasattr(dest, "write"):
        return None
    msg = f"destination must be a path or a binary file-like object, got {type(dest).__name__}"
    raise TypeError(msg)


@contextmanager
def _staged(path: Path) -> Iterator[Path]:
    """A fresh path beside ``path``, moved onto it only if the block succeeds.

    The staging folder sits in the destination's folder, so ``os.replace`` stays on one
    file system and is atomic; whatever happens, the folder is removed.
    """
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        staged = staging / path.name
        yield staged
        os.replace(staged, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _deliver_stream(dest: Destination, write: Callable[[BinaryIO], None]) -> None:
    """Run ``write`` on a binary handle: ``dest`` itself, or a staged file for a path."""
    path = _as_path(dest)
    if path is None:
        write(dest)  # type: ignore[arg-type]
        return
    with _staged(path) as staged, open(staged, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())


def _deliver_file(dest: Destination, write: Callable[[Path], None], *, suffix: str) -> None:
    """Run ``write`` on a file path (for GDAL drivers), then hand the file to ``dest``."""
    path = _as_path(dest)
    if path is not None:
        with _staged(path) as staged:
            write(staged)
        return
    with tempfile.TemporaryDirectory(prefix="geoapp-export-") as folder:
        staged = Path(folder) / f"export{suffix}"
        write(staged)
        dest.write(staged.read_bytes())  # type: ignore[union-attr]


# --- CSV --------------------------------------------------------------------------------


def to_csv(
    frame: pd.DataFrame,
    dest: Destination,
    *,
    headers: Mapping[str, str] | None = None,
    value_labels: Mapping[str, Mapping[Hashable, str]] | None = None,
) -> None:
    """Write ``frame`` as CSV (RFC 4180, CRLF) in UTF-8 with a byte-order mark, for Excel.

    Parameters
    ----------
    frame
        The table; its index is not written.
    dest
        A path (written atomically) or a binary file-like object.
    headers
        Column → header label; columns not in it keep their name.
    value_labels
        Column → {code: label}, e.g. :func:`gap_value_labels`; unknown codes stay.
    """
    table = _prepare(frame, headers, value_labels)
    # Text and whole numbers (an import report): the bytes pandas writes, built by Arrow.
    chunks = csv_chunks(table)
    if chunks is not None:
        _deliver_stream(dest, lambda handle: handle.writelines(chain([_BOM], chunks)))
        return
    # CRLF as in RFC 4180: with it the csv module also quotes a field holding a bare \r,
    # which Excel would otherwise read as the end of the row.
    _deliver_stream(
        dest,
        lambda handle: table.to_csv(
            handle, index=False, encoding="utf-8-sig", lineterminator="\r\n"
        ),
    )


# --- Excel ------------------------------------------------------------------------------


def to_xlsx(
    frame: pd.DataFrame,
    dest: Destination,
    *,
    headers: Mapping[str, str] | None,
    meta: Mapping[str, Any],
    sheet_name: str,
    meta_sheet_name: str,
    value_labels: Mapping[str, Mapping[Hashable, str]] | None = None,
    text_columns: Iterable[str] = ("adcode",),
) -> None:
    """Write ``frame`` as an Excel workbook: the table, then a key/value sheet about it.

    The table sheet has a bold, filled header row, frozen below it, an autofilter over
    the whole table and column widths fitted to the content (CJK characters count
    double, between 8 and 50). ``text_columns`` (codes such as ``adcode``) are stored as
    text, so Excel neither rounds them nor drops leading zeros.

    Parameters
    ----------
    frame
        The table; its index is not written.
    dest
        A path (written atomically) or a binary file-like object.
    headers
        Column → header label, e.g. :func:`gap_headers`; columns not in it keep their name.
    meta
        Ordered label → value rows of the second sheet, already in the reader's
        language, e.g. :func:`gap_meta`.
    sheet_name, meta_sheet_name
        Names of the two sheets (``t("sheet.gaps")``, ``t("sheet.about")``).
    value_labels
        Column → {code: label}, e.g. :func:`gap_value_labels`; unknown codes stay.
    """
    for name in (sheet_name, meta_sheet_name):
        _check_sheet_name(name)
    if sheet_name == meta_sheet_name:
        msg = f"sheet_name and meta_sheet_name are both {sheet_name!r}; they must differ"
        raise ValueError(msg)
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    text = [c for c in text_columns if c in frame.columns]
    source = frame.copy()
    for column in text:
        source[column] = source[column].map(_as_text, na_action="ignore").astype(object)
    table = _prepare(source, headers, value_labels)
    text_positions = {frame.columns.get_loc(c) for c in text}

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = sheet_name
    columns = [_plain(_clean(str(c))) for c in table.columns]
    sheet.append(columns)
    converters = [_converter(table[c]) for c in table.columns]
    for row in table.itertuples(index=False, name=None):
        sheet.append([convert(v) for convert, v in zip(converters, row, strict=True)])
    for position in text_positions:
        for (cell,) in sheet.iter_rows(min_row=2, min_col=position + 1, max_col=position + 1):
            cell.number_format = "@"
    _style_header(sheet, len(columns))
    sheet.freeze_panes = "A2"
    last = get_column_letter(max(len(columns), 1))
    sheet.auto_filter.ref = f"A1:{last}{len(table) + 1}"
    _fit_widths(sheet)

    about = workbook.create_sheet(meta_sheet_name)
    for label, value in meta.items():
        about.append([_neutral(_clean(str(label))), _plain(value)])
    for (cell,) in about.iter_rows(max_col=1):
        cell.font = Font(bold=True)
    for (cell,) in about.iter_rows(min_col=2, max_col=2):
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    _fit_widths(about)

    _deliver_stream(dest, workbook.save)


def _check_sheet_name(name: str) -> None:
    if not name or len(name) > 31 or _SHEET_NAME_FORBIDDEN.search(name):
        msg = f"sheet name {name!r}: Excel accepts 1 to 31 characters, none of [ ] : * ? / \\"
        raise ValueError(msg)


def _as_text(value: Any) -> str:
    """A code as text: 220104 (or 220104.0 after a join) becomes '220104'."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _clean(text: str) -> str:
    """Drop control characters that an .xlsx cannot hold (a stray \\x0b from a register)."""
    return _ILLEGAL_CHARACTERS_RE.sub("", text)


def _converter(series: pd.Series) -> Callable[[Any], Any]:
    """How to turn one column's cells into openpyxl values.

    A float column whose values are all whole numbers (an integer column that met a
    missing value) is written as integers.
    """
    if pd.api.types.is_float_dtype(series.dtype):
        values = series.dropna()
        if len(values) and np.isfinite(values).all() and (values % 1 == 0).all():
            return lambda v: None if pd.isna(v) else int(v)
    return _plain


def _plain(value: Any) -> Any:
    """A cell value openpyxl writes faithfully: Python scalars, no NA, naive datetimes."""
    if value is None or (
        not isinstance(value, (str, bytes)) and pd.api.types.is_scalar(value) and pd.isna(value)
    ):
        return None
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = value.astimezone(TIMEZONE).replace(tzinfo=None)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        return _neutral(_clean(value))
    if isinstance(value, (bool, int, float, datetime)):
        return value
    return _neutral(_clean(str(value)))


def _style_header(sheet: Any, n_columns: int) -> None:
    from openpyxl.styles import Alignment, Font

    for cell in sheet[1][:n_columns]:
        cell.font = Font(bold=True)
        cell.fill = _header_fill()
        cell.alignment = Alignment(vertical="center")


def display_width(text: str) -> int:
    """Columns ``text`` takes on screen: East Asian wide and full-width characters count 2.

    Examples
    --------
    >>> display_width("朝阳区"), display_width("220104")
    (6, 6)
    """
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _fit_widths(sheet: Any) -> None:
    from openpyxl.utils import get_column_letter

    for column in sheet.iter_cols():
        widest = max(
            (display_width(str(cell.value)) for cell in column if cell.value is not None),
            default=0,
        )
        letter = get_column_letter(column[0].column)
        # +2: room for the autofilter arrow and a little air
        sheet.column_dimensions[letter].width = min(max(widest + 2, MIN_WIDTH), MAX_WIDTH)


# --- geographic layers ------------------------------------------------------------------


def _wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if not isinstance(gdf, gpd.GeoDataFrame):
        msg = f"expected a GeoDataFrame, got {type(gdf).__name__}"
        raise TypeError(msg)
    if gdf.crs is None:
        msg = "the GeoDataFrame has no CRS; set it (layers are stored in EPSG:4326) first"
        raise ValueError(msg)
    return gdf.to_crs(4326)


def to_geojson(gdf: gpd.GeoDataFrame, dest: Destination) -> None:
    """Write ``gdf`` as RFC 7946 GeoJSON: EPSG:4326, UTF-8, at most 6 decimals.

    Attribute values are written unchanged (no spreadsheet neutralising).
    """
    layer = _wgs84(gdf)
    _deliver_file(
        dest,
        lambda path: pyogrio.write_dataframe(
            layer,
            path,
            driver="GeoJSON",
            layer_options={
                "RFC7946": "YES",
                "COORDINATE_PRECISION": str(GEOJSON_PRECISION),
                "WRITE_NAME": "NO",
            },
        ),
        suffix=".geojson",
    )


def to_gpkg(gdf: gpd.GeoDataFrame, dest: Destination, *, layer: str) -> None:
    """Write ``gdf`` as one ``layer`` of a new GeoPackage, in EPSG:4326."""
    if not layer:
        msg = "layer: give the GeoPackage layer a name, e.g. 'gaps'"
        raise ValueError(msg)
    frame = _wgs84(gdf)
    _deliver_file(
        dest,
        lambda path: pyogrio.write_dataframe(frame, path, driver="GPKG", layer=layer),
        suffix=".gpkg",
    )


# --- download buttons -------------------------------------------------------------------


WRITERS: dict[str, Callable[..., None]] = {
    "csv": to_csv,
    "xlsx": to_xlsx,
    "geojson": to_geojson,
    "gpkg": to_gpkg,
}


def to_bytes(fmt: str, frame: pd.DataFrame, /, **options: Any) -> bytes:
    """The file ``fmt`` would be, as bytes, e.g. for a download button.

    ``options`` are those of the writer: :func:`to_csv`, :func:`to_xlsx`,
    :func:`to_geojson` or :func:`to_gpkg`. :data:`MEDIA_TYPES` gives the MIME type.

    Examples
    --------
    >>> to_bytes("csv", pd.DataFrame({"county": ["朝阳区"]}))[:3]
    b'\\xef\\xbb\\xbf'
    """
    try:
        writer = WRITERS[fmt]
    except KeyError:
        msg = f"unknown export format {fmt!r}; expected one of {FORMATS}"
        raise ValueError(msg) from None
    buffer = BytesIO()
    writer(frame, buffer, **options)
    return buffer.getvalue()
