"""Blank register templates: the workbook a data steward fills in and uploads.

A template speaks the readers' contract, so that a filled one imports without a rejected
or flagged row (a row placed by its county alone is counted there, with a note that it
has no position for the map): its headings are the field labels (``field.*`` of ``data/i18n.toml``) that
:mod:`geoapp.ingest.fields` recognises, its drop-downs hold only values the readers
accept (facility-type labels, the region's prefectures and counties, the datum labels
:func:`geoapp.ingest.values.parse_datum` reads) and its number checks keep coordinates
inside the region's bounding box and counts whole and non-negative.

The workbook has three sheets: the register (登记表 / Register: frozen header,
autofilter, validations), the instructions (填写说明 / Instructions: what each column
means, which are required, the accepted datums, an example row, the region and the
date) and a hidden sheet of the drop-down lists (选项 / Lists), referenced by range:
Excel limits a list written into the validation itself to 255 characters, fewer than
the 60 counties of Jilin take, and a comma inside a label would split it. The
unemployed-counts template comes with one row per county of the region, adcode and
names filled in, so that the steward writes only the counts.

This is the one module of the package that writes a workbook; it borrows the XLSX
conventions of :mod:`geoapp.export` (header fill, widths counting CJK characters double).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from io import BytesIO
from typing import Any

import geopandas as gpd
import shapely
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from geoapp import coords
from geoapp.export import HEADER_FILL, MAX_WIDTH, MIN_WIDTH, TIMEZONE, display_width
from geoapp.facilities import load_types
from geoapp.i18n import DEFAULT_LANGUAGE, LANGUAGES, t

__all__ = [
    "BOX_MARGIN_DEG",
    "KINDS",
    "TEMPLATE_FIELDS",
    "TEMPLATE_ROWS",
    "coordinate_bounds",
    "template_bytes",
    "template_workbook",
]

KINDS = ("facilities", "unemployed")
#: The columns of each template, in order (fields of :mod:`geoapp.ingest.fields`).
TEMPLATE_FIELDS: dict[str, tuple[str, ...]] = {
    "facilities": (
        "facility_id",
        "name",
        "type",
        "subtype",
        "city",
        "county",
        "address",
        "lon",
        "lat",
        "datum",
        "note",
    ),
    "unemployed": ("adcode", "city", "county", "count"),
}
#: Whether a column must be filled: ``yes``, ``either`` (the county or the coordinates
#: place a facility) or ``no`` (the rest).
_REQUIRED: dict[str, dict[str, str]] = {
    "facilities": {
        "name": "yes",
        "type": "yes",
        "county": "either",
        "lon": "either",
        "lat": "either",
    },
    "unemployed": {"adcode": "yes", "county": "yes", "count": "yes"},
}
#: Data rows the validations cover (a province registers some hundreds of facilities).
TEMPLATE_ROWS = 2000
#: Room around the region's bounding box for border facilities and datum offsets
#: (GCJ-02 and BD-09 differ from WGS84 by less than 0.02 degrees).
BOX_MARGIN_DEG = 0.05
REQUIRED_FILL = PatternFill(fill_type="solid", start_color="FCE4D6", end_color="FCE4D6")
_NUMBER_FORMATS = {"lon": "0.000000", "lat": "0.000000", "count": "0", "adcode": "@"}
_COUNTY_COLUMNS = ("adcode", "name", "prefecture", "geometry")
# Display widths of typical entries: a long facility name, an address, 125.323544.
_TYPICAL_WIDTH = {"name": 28, "address": 40, "lon": 12, "lat": 12}


def template_bytes(
    kind: str,
    *,
    counties: gpd.GeoDataFrame,
    region_name: str,
    region_adcode: str,
    lang: str = DEFAULT_LANGUAGE,
    generated: date | None = None,
) -> bytes:
    """The ``.xlsx`` file of :func:`template_workbook`, e.g. for a download button.

    Examples
    --------
    >>> from geoapp import regions
    >>> counties = regions.read_layer("220000", "counties")
    >>> data = template_bytes(
    ...     "unemployed", counties=counties, region_name="吉林省", region_adcode="220000"
    ... )
    >>> data[:2]
    b'PK'
    """
    workbook = template_workbook(
        kind,
        counties=counties,
        region_name=region_name,
        region_adcode=region_adcode,
        lang=lang,
        generated=generated,
    )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_workbook(
    kind: str,
    *,
    counties: gpd.GeoDataFrame,
    region_name: str,
    region_adcode: str,
    lang: str = DEFAULT_LANGUAGE,
    generated: date | None = None,
) -> Workbook:
    """A blank register of ``kind`` (``facilities`` or ``unemployed``) for the region.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    counties : GeoDataFrame
        The region's counties (``adcode, name, prefecture, geometry``, WGS84), as
        ``DataSource.counties()`` returns them.
    region_name, region_adcode : str
        Shown on the instructions sheet (``吉林省``, ``220000``).
    lang : str
        ``zh`` (default) or ``en``: headings, labels, sheet names and instructions.
    generated : date, optional
        The date shown as generated; today in Asia/Shanghai when omitted.

    Raises
    ------
    ValueError
        An unknown kind or language, or counties without the columns above or rows.
    """
    _check(kind, counties, lang)
    units = counties.sort_values("adcode").reset_index(drop=True)
    workbook = Workbook()
    register = workbook.active
    register.title = t("template.sheet_register", lang)
    help_sheet = workbook.create_sheet(t("template.sheet_help", lang))
    lists_sheet = workbook.create_sheet(t("template.sheet_lists", lang))
    lists = _lists(kind, units, lang)
    ranges = _write_lists(lists_sheet, lists, lang)
    fields = TEMPLATE_FIELDS[kind]
    _write_header(register, kind, lang)
    if kind == "unemployed":
        _prefill(register, units)
    bounds = coordinate_bounds(units)
    for validation in _validations(fields, ranges, bounds, region_name, lang):
        register.add_data_validation(validation)
    _fit_register(register, fields, lists)
    example = _example(kind, units, lang)
    when = generated or datetime.now(TIMEZONE).date()
    _write_help(help_sheet, kind, example, f"{region_name}（{region_adcode}）", when, lang)
    return workbook


def _check(kind: str, counties: gpd.GeoDataFrame, lang: str) -> None:
    if kind not in KINDS:
        msg = f"unknown template {kind!r}; expected one of {', '.join(KINDS)}"
        raise ValueError(msg)
    if lang not in LANGUAGES:
        msg = f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}"
        raise ValueError(msg)
    missing = [c for c in _COUNTY_COLUMNS if c not in counties.columns]
    if missing:
        msg = f"counties: need columns {', '.join(_COUNTY_COLUMNS)}; missing {missing}"
        raise ValueError(msg)
    if counties.empty:
        msg = "counties: no county; a template lists the region's counties"
        raise ValueError(msg)


def coordinate_bounds(counties: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """The region's bounding box, :data:`BOX_MARGIN_DEG` wider, rounded outwards to 0.1°.

    Examples
    --------
    >>> import shapely
    >>> square = gpd.GeoDataFrame(geometry=[shapely.box(125.33, 43.81, 125.62, 44.05)])
    >>> coordinate_bounds(square)
    (125.2, 43.7, 125.7, 44.1)
    """
    x0, y0, x1, y1 = counties.total_bounds
    m = BOX_MARGIN_DEG

    def down(v: float) -> float:
        return math.floor((v - m) * 10) / 10

    def up(v: float) -> float:
        return math.ceil((v + m) * 10) / 10

    return down(x0), down(y0), up(x1), up(y1)


# --------------------------------------------------------------------------- lists


def _lists(kind: str, units: gpd.GeoDataFrame, lang: str) -> dict[str, list[str]]:
    """Field -> the values of its drop-down."""
    lists: dict[str, list[str]] = {}
    if kind == "facilities":
        lists["type"] = [ftype.label(lang) for ftype in load_types().values()]
    lists["city"] = list(dict.fromkeys(units["prefecture"].astype(str)))
    # One county list, ordered by prefecture: a list per prefecture would need a named
    # range per prefecture and INDIRECT, and would refuse a county typed before its city.
    lists["county"] = units["name"].astype(str).tolist()
    if kind == "facilities":
        lists["datum"] = [t(f"datum.{d}", lang) for d in coords.DATUMS]
    return lists


def _write_lists(sheet: Worksheet, lists: dict[str, list[str]], lang: str) -> dict[str, str]:
    """One column per list under its heading; returns field -> absolute range."""
    ranges = {}
    for position, (field, values) in enumerate(lists.items(), start=1):
        letter = get_column_letter(position)
        sheet.cell(row=1, column=position, value=t(f"field.{field}", lang)).font = Font(bold=True)
        for row, value in enumerate(values, start=2):
            sheet.cell(row=row, column=position, value=value)
        last = len(values) + 1
        ranges[field] = f"{quote_sheetname(sheet.title)}!${letter}$2:${letter}${last}"
        width = max(display_width(v) for v in [t(f"field.{field}", lang), *values])
        sheet.column_dimensions[letter].width = min(max(width + 2, MIN_WIDTH), MAX_WIDTH)
    sheet.sheet_state = "hidden"
    return ranges


# --------------------------------------------------------------------------- register


def _write_header(sheet: Worksheet, kind: str, lang: str) -> None:
    """Headings from the field labels; required ones filled orange; frozen, filtered."""
    fields = TEMPLATE_FIELDS[kind]
    required = _REQUIRED[kind]
    for position, field in enumerate(fields, start=1):
        cell = sheet.cell(row=1, column=position, value=t(f"field.{field}", lang))
        cell.font = Font(bold=True)
        cell.fill = REQUIRED_FILL if required.get(field, "no") != "no" else HEADER_FILL
        cell.alignment = Alignment(vertical="center")
        if field in _NUMBER_FORMATS:
            letter = get_column_letter(position)
            # a column style: formats the rows to be filled without creating their cells
            sheet.column_dimensions[letter].number_format = _NUMBER_FORMATS[field]
    sheet.freeze_panes = "A2"
    last = get_column_letter(len(fields))
    sheet.auto_filter.ref = f"A1:{last}{TEMPLATE_ROWS + 1}"


def _prefill(sheet: Worksheet, units: gpd.GeoDataFrame) -> None:
    """One row per county: adcode (as text), prefecture, county; the count left blank."""
    for row, unit in enumerate(units.itertuples(index=False), start=2):
        cell = sheet.cell(row=row, column=1, value=str(unit.adcode))
        cell.number_format = "@"
        sheet.cell(row=row, column=2, value=str(unit.prefecture))
        sheet.cell(row=row, column=3, value=str(unit.name))


def _validations(
    fields: Sequence[str],
    ranges: dict[str, str],
    bounds: tuple[float, float, float, float],
    region_name: str,
    lang: str,
) -> list[DataValidation]:
    """The drop-downs and number checks of the register's columns."""
    x0, y0, x1, y1 = bounds
    title = t("template.error_title", lang)
    out = []
    for position, field in enumerate(fields, start=1):
        letter = get_column_letter(position)
        if field in ranges:
            # a unit typed another way (a development zone) can still be read: warn only
            unit = field in ("city", "county")
            message = t("template.error_unit" if unit else "template.error_list", lang)
            dv = DataValidation(type="list", formula1=ranges[field], allow_blank=True)
            dv.errorStyle = "warning" if unit else "stop"
            dv.error = message.format(region=region_name)
        elif field in ("lon", "lat"):
            lo, hi = (x0, x1) if field == "lon" else (y0, y1)
            dv = DataValidation(
                type="decimal", operator="between", formula1=f"{lo:g}", formula2=f"{hi:g}"
            )
            dv.error = t(f"template.error_{field}", lang).format(
                lo=f"{lo:g}", hi=f"{hi:g}", region=region_name
            )
        elif field == "count":
            dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0")
            dv.error = t("template.error_count", lang)
        else:
            continue
        dv.allow_blank = True
        dv.showErrorMessage = True
        dv.errorTitle = title
        dv.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
        out.append(dv)
    return out


def _fit_register(sheet: Worksheet, fields: Sequence[str], lists: dict[str, list[str]]) -> None:
    """Widths from the heading and what goes below it: a list's longest value, or room
    for a typical entry (a long facility name, an address, six decimals)."""
    for position, field in enumerate(fields, start=1):
        heading = str(sheet.cell(row=1, column=position).value)
        widest = max(display_width(text) for text in [heading, *lists.get(field, ())])
        width = max(widest + 2, _TYPICAL_WIDTH.get(field, 0))  # +2: the filter arrow
        letter = get_column_letter(position)
        sheet.column_dimensions[letter].width = min(max(width, MIN_WIDTH), MAX_WIDTH)


# --------------------------------------------------------------------------- instructions


def _example(kind: str, units: gpd.GeoDataFrame, lang: str) -> dict[str, Any]:
    """An example row: the first county of the region, a point inside it, in WGS84."""
    first = units.iloc[0]
    if kind == "unemployed":
        return {
            "adcode": str(first["adcode"]),
            "city": first["prefecture"],
            "county": first["name"],
            "count": 35,
        }
    point = shapely.point_on_surface(first.geometry)
    ftype = next(iter(load_types().values()))
    return {
        "name": t("template.example_name", lang),
        "type": ftype.label(lang),
        "city": first["prefecture"],
        "county": first["name"],
        "address": f"{first['prefecture']}{first['name']}{t('template.example_street', lang)}",
        "lon": round(point.x, 6),
        "lat": round(point.y, 6),
        "datum": t("datum.wgs84", lang),
    }


def _write_help(
    sheet: Worksheet, kind: str, example: dict[str, Any], region: str, when: date, lang: str
) -> None:
    """Title, region and date; one row per column (required, meaning, example); notes."""
    sheet.append([t(f"template.title.{kind}", lang)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([t("template.region", lang), region])
    sheet.append([t("template.generated", lang), when.isoformat()])
    sheet.append([])
    heads = ("column", "required", "meaning", "example")
    sheet.append([t(f"template.help_{h}", lang) for h in heads])
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
        cell.fill = HEADER_FILL
    required = _REQUIRED[kind]
    for field in TEMPLATE_FIELDS[kind]:
        sheet.append(
            [
                t(f"field.{field}", lang),
                t(f"template.required.{required.get(field, 'no')}", lang),
                t(f"template.help.{kind}.{field}", lang),
                example.get(field),
            ]
        )
    sheet.append([])
    datums = t("template.list_separator", lang).join(t(f"datum.{d}", lang) for d in coords.DATUMS)
    sheet.append([t("template.datums", lang), None, datums])
    for i in (1, 2, 3):
        label = t("template.notes", lang) if i == 1 else None
        sheet.append([label, None, t(f"template.note.{kind}.{i}", lang)])
    for column, width in zip("ABCD", (16, 22, 60, 30), strict=True):
        sheet.column_dimensions[column].width = width
    for row in sheet.iter_rows(min_row=6, min_col=3, max_col=3):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
