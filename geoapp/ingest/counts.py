"""The readers of people counts: unemployed disabled people per county, demand points.

:func:`read_unemployed` reads a table with a count per county-level unit, as named
steps: :func:`~geoapp.ingest.rows.open_register` → :func:`skip_count_rows` (blank,
heading and total rows) → :func:`people_counts` → :func:`resolve_units` →
:func:`reject_repeated_units` → :func:`count_import`. :func:`read_demand` reads towns or
villages with a count and coordinates: the same opening steps, then
:func:`~geoapp.ingest.placement.positions` → :func:`demand_import`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoapp.i18n import DEFAULT_LANGUAGE
from geoapp.ingest.fields import COUNT_FIELDS, COUNT_REQUIRED, DEMAND_FIELDS, DEMAND_REQUIRED
from geoapp.ingest.placement import Positions, positions
from geoapp.ingest.region import subtotal_rows, unit_results
from geoapp.ingest.results import CountImport, DemandImport, import_fields
from geoapp.ingest.rowlog import RowLog, Sentences, cell_texts, msg
from geoapp.ingest.rows import (
    Opened,
    flag_empty_formulas,
    open_register,
    skip_structure,
    skip_totals,
)
from geoapp.ingest.tables import Source
from geoapp.ingest.values import check_default_datum

if TYPE_CHECKING:
    from geoapp.admin import AdminRegistry

__all__ = [
    "Units",
    "count_import",
    "demand_import",
    "people_counts",
    "read_demand",
    "read_unemployed",
    "reject_repeated_units",
    "resolve_units",
    "skip_count_rows",
]


def people_counts(
    column: pd.Series, live: np.ndarray, log: RowLog
) -> tuple[np.ndarray, np.ndarray]:
    """People counts: whole, non-negative numbers ("1,234 人" accepted); others rejected.

    Returns the numbers (NaN where unreadable) and the counts as written.
    """
    count_txt = cell_texts(column)
    has_count = live & column.notna().to_numpy()
    log.add("no_count", "rejected", live & ~has_count, msg("no_count"))
    cleaned = [
        None
        if v is None or isinstance(v, bool)
        else v
        if isinstance(v, (int, float))
        else re.sub(r"[,\s人]", "", unicodedata.normalize("NFKC", str(v)))
        for v in column.to_numpy(dtype=object)
    ]
    number = pd.to_numeric(pd.Series(cleaned, dtype=object), errors="coerce").to_numpy(dtype=float)
    finite = np.isfinite(number)
    log.add(
        "bad_count",
        "rejected",
        has_count & ~finite,
        lambda i: msg("count_not_number", count=count_txt[i]),
    )
    fraction = has_count & finite & (number != np.round(number))
    log.add("bad_count", "rejected", fraction, lambda i: msg("count_not_whole", count=count_txt[i]))
    log.add(
        "bad_count",
        "rejected",
        has_count & finite & ~fraction & (number < 0),
        lambda i: msg("count_negative", count=count_txt[i]),
    )
    return number, count_txt


# --------------------------------------------------------------------------- per county


def read_unemployed(
    source: Source,
    *,
    counties: gpd.GeoDataFrame,
    registry: AdminRegistry | None = None,
    province: object = None,
    columns: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    lang: str = DEFAULT_LANGUAGE,
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
        As in :func:`~geoapp.ingest.read_facilities`; fields: ``adcode, city, county,
        count, note``.

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
    opened = open_register(
        source,
        sheet=sheet,
        fields=COUNT_FIELDS,
        columns=columns,
        required=COUNT_REQUIRED,
        what="table of unemployed disabled people",
        counties=counties,
        registry=registry,
        province=province,
        points=False,
        lang=lang,
    )
    live = skip_count_rows(opened)
    number, count_txt = people_counts(opened.frame["count"], live, opened.log)
    units = resolve_units(opened, live)
    reject_repeated_units(opened, units)
    return count_import(opened, units, number, count_txt)


def skip_count_rows(opened: Opened) -> np.ndarray:
    """Skip blank rows, heading rows and total rows; returns the rows still live."""
    frame = opened.frame
    content = "county" if "county" in opened.header.columns else "adcode"
    skipped = skip_structure(opened, content=content)
    flag_empty_formulas(opened)
    county_txt, city_txt = cell_texts(frame["county"]), cell_texts(frame["city"])
    code_txt = cell_texts(frame["adcode"])
    label_txt = np.array(
        [c or t or a for c, t, a in zip(county_txt, city_txt, code_txt, strict=True)], dtype=object
    )
    return skip_totals(label_txt, ~skipped, opened.log)


@dataclass(frozen=True, eq=False)
class Units:
    """The county-level unit of each row of a count table."""

    live: np.ndarray  # rows still live (subtotal rows of prefectures skipped)
    unit: np.ndarray  # the unit's adcode (None where unresolved)
    label: np.ndarray  # the unit as shown: 长春市南关区, or the code when outside the region


def resolve_units(opened: Opened, live: np.ndarray) -> Units:
    """Each row's unit: its adcode when that resolves, else its name (with the city as
    context); skip subtotal rows of a prefecture or the province, reject the rest that
    name no unit of the region."""
    frame, log, region = opened.frame, opened.log, opened.region
    county_txt, code_txt = cell_texts(frame["county"]), cell_texts(frame["adcode"])
    has_code = live & (code_txt != "")
    has_name = live & (county_txt != "")
    log.add("no_unit", "rejected", live & ~has_code & ~has_name, msg("no_unit"))
    c_code, c_error = unit_results(region, frame, has_code, "adcode", None)
    n_code, n_error = unit_results(region, frame, has_name, "county", "city")
    unit = np.where(c_code != None, c_code, n_code)  # noqa: E711
    open_ = live & pd.isna(unit)
    subtotal = subtotal_rows(region, frame, open_ & has_code, "adcode")
    subtotal |= subtotal_rows(region, frame, open_ & ~has_code & has_name, "county")
    log.add(
        "total_row",
        "skipped",
        subtotal,
        lambda i: msg("subtotal_row", text=county_txt[i] or code_txt[i]),
    )
    live = live & ~subtotal
    label = np.array([region.label(u) if u in region.adcodes else u or "" for u in unit])
    n_label = np.array([region.label(u) if u in region.adcodes else u or "" for u in n_code])
    mismatch = live & pd.notna(c_code) & pd.notna(n_code) & (c_code != n_code)
    log.add(
        "unit_mismatch",
        "flagged",
        mismatch,
        lambda i: msg(
            "unit_mismatch", code=code_txt[i], unit=label[i], name=county_txt[i], other=n_label[i]
        ),
    )
    log.add(
        "bad_adcode",
        "flagged",
        live & has_code & pd.isna(c_code) & pd.notna(n_code),
        lambda i: msg("bad_adcode", code=code_txt[i], error=c_error[i]),
    )
    log.add(
        "county_unresolved",
        "rejected",
        live & pd.isna(unit) & (has_code | has_name),
        lambda i: msg("both", items=Sentences(e for e in (c_error[i], n_error[i]) if e)),
    )
    resolved = live & pd.notna(unit)
    foreign = resolved & ~np.isin(unit.astype(str), list(region.adcodes))
    log.add(
        "county_outside_region",
        "rejected",
        foreign,
        lambda i: msg("unit_outside_region", name=county_txt[i] or code_txt[i], code=unit[i]),
    )
    return Units(live, unit, label)


def reject_repeated_units(opened: Opened, units: Units) -> None:
    """Reject the second row for a county (and any after it)."""
    log, n = opened.log, len(opened.frame)
    first: dict[str, int] = {}
    duplicate = np.full(n, -1)
    for i in np.flatnonzero(units.live & ~log.mask("rejected")):
        duplicate[i] = first.setdefault(units.unit[i], int(i))
    duplicate[duplicate == np.arange(n)] = -1
    log.add(
        "duplicate",
        "rejected",
        duplicate >= 0,
        lambda i: msg("duplicate_county", row=opened.rows[duplicate[i]], county=units.label[i]),
    )


def count_import(
    opened: Opened, units: Units, number: np.ndarray, count_txt: np.ndarray
) -> CountImport:
    """The row report, the counts of the kept rows and the counties the table lacks."""
    frame, region = opened.frame, opened.region
    status = opened.log.status()
    reasons, codes = opened.log.texts(opened.lang)
    kept = np.isin(status, ("accepted", "flagged"))
    report = pd.DataFrame(
        {
            "row": opened.rows,
            "status": status,
            "reasons": reasons,
            "codes": codes,
            "note": "",
            "adcode_given": cell_texts(frame["adcode"]),
            "city": cell_texts(frame["city"]),
            "county": cell_texts(frame["county"]),
            "count": count_txt,
            "adcode": np.where(kept, units.unit, ""),
            "assigned_county": np.where(kept, units.label, ""),
        }
    )
    report = report.astype({c: str for c in report.columns if c != "row"})
    report["unemployed_disabled"] = pd.array(np.where(kept, number, np.nan), dtype="Int64")
    kept_codes = units.unit[kept].astype(str)
    counts = pd.DataFrame(
        {
            "adcode": kept_codes,
            "prefecture": [region.prefecture.get(u, "") for u in kept_codes],
            "county": [region.name.get(u, "") for u in kept_codes],
            "unemployed_disabled": number[kept].astype("int64"),
            "is_demo": np.zeros(len(kept_codes), dtype=bool),
            "method": f"register {opened.table.name}",
        }
    )
    present = set(kept_codes)
    missing = tuple(a for a in region.order if a not in present)
    return CountImport(
        **import_fields(opened, report, status),
        counts=counts,
        missing_units=missing,
        missing_labels=tuple(f"{region.label(a)} ({a})" for a in missing),
    )


# --------------------------------------------------------------------------- demand points


def read_demand(
    source: Source,
    *,
    counties: gpd.GeoDataFrame,
    registry: AdminRegistry | None = None,
    province: object = None,
    default_datum: str = "wgs84",
    columns: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    lang: str = DEFAULT_LANGUAGE,
) -> DemandImport:
    """Read demand points (towns, villages) with their counts of people.

    The same machinery as :func:`~geoapp.ingest.read_facilities` and
    :func:`read_unemployed`: CSV or XLSX, Chinese or English headers (名称/地名/name,
    人数/未就业残疾人数/demand, 经度/纬度/lon/lat or 坐标, 坐标系/datum), one report line per
    row with its Excel row number. Coordinates are converted to WGS84 and the point is
    placed in the county that contains it; a point outside the region, without a readable
    coordinate pair or without a whole non-negative count is rejected with the reason. A
    declared county is not needed (the coordinates decide). Total rows (合计 ...) are
    skipped.

    Raises
    ------
    RegisterError
        The file is missing, unreadable, of another format, or has no header with a
        count and coordinates.
    """
    datum_default = check_default_datum(default_datum)
    opened = open_register(
        source,
        sheet=sheet,
        fields=DEMAND_FIELDS,
        columns=columns,
        required=DEMAND_REQUIRED,
        what="table of demand points",
        counties=counties,
        registry=registry,
        province=province,
        points=True,
        lang=lang,
    )
    content = "name" if "name" in opened.header.columns else "count"
    skipped = skip_structure(opened, content=content)
    flag_empty_formulas(opened)
    names = cell_texts(opened.frame["name"])
    live = skip_totals(names, ~skipped, opened.log)
    number, count_txt = people_counts(opened.frame["count"], live, opened.log)
    pos = positions(opened, live, datum_default=datum_default, required=True)
    return demand_import(opened, names, number, count_txt, pos)


def demand_import(
    opened: Opened,
    names: np.ndarray,
    number: np.ndarray,
    count_txt: np.ndarray,
    pos: Positions,
) -> DemandImport:
    """The row report and the demand points of the kept rows."""
    region, adcode = opened.region, pos.adcode
    status = opened.log.status()
    reasons, codes = opened.log.texts(opened.lang)
    kept = np.isin(status, ("accepted", "flagged"))
    label = np.array(
        [region.label(a) if k else "" for a, k in zip(adcode, kept, strict=True)], dtype=object
    )
    report = pd.DataFrame(
        {
            "row": opened.rows,
            "status": status,
            "reasons": reasons,
            "codes": codes,
            "note": "",
            "name": names,
            "count": count_txt,
            "lon": pos.lon_txt,
            "lat": pos.lat_txt,
            "datum": pos.datum_txt,
            "adcode": np.where(kept, adcode, ""),
            "assigned_county": label,
        }
    )
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
        geometry=gpd.GeoSeries(shapely.points(pos.lon_w[kept], pos.lat_w[kept]), crs="EPSG:4326"),
    )
    return DemandImport(**import_fields(opened, report, status), demand=demand)
