"""Placing a register's rows in the counties of the region.

Where a row lands (``adcode``): its coordinates when it has usable ones (after
converting its datum to WGS84, :func:`positions`), else its declared county (through
:class:`~geoapp.admin.AdminRegistry`, with its city as prefecture context), else its
address (:func:`place_without_coordinates`). Coordinates outside the region reject the
row; a declared county that contradicts the coordinates is kept, assigned by the
coordinates and flagged (:func:`check_declared`). A pair that fits the region only the
other way round is swapped back and flagged. A row without coordinates keeps
``lon``/``lat`` NaN: it counts in its county but is not on the map.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from geoapp import coords
from geoapp.ingest.region import (
    addresses,
    column_values,
    lookup_errors,
    resolve,
    unit_results,
)
from geoapp.ingest.rowlog import Label, Sentences, cell_texts, msg, repeated
from geoapp.ingest.rows import Opened
from geoapp.ingest.values import coordinate_column, parse_datum, split_pair

_DATUM_LABELS = tuple(Label(f"datum.{d}") for d in coords.DATUMS)

__all__ = [
    "Declared",
    "Placement",
    "Positions",
    "check_declared",
    "place_without_coordinates",
    "positions",
]

# A point this far outside the region's bounding box, read the other way round, is a
# swapped pair; half a degree absorbs datum offsets (< 0.01 deg) and border facilities.
_SWAP_MARGIN_DEG = 0.5


def _in_box(lon: np.ndarray, lat: np.ndarray, bounds: tuple[float, ...]) -> np.ndarray:
    x0, y0, x1, y1 = bounds
    m = _SWAP_MARGIN_DEG
    with np.errstate(invalid="ignore"):
        return (lon >= x0 - m) & (lon <= x1 + m) & (lat >= y0 - m) & (lat <= y1 + m)


# --------------------------------------------------------------------------- coordinates


@dataclass(frozen=True, eq=False)
class _Pairs:
    """Coordinate pairs as read, before datum conversion."""

    some: np.ndarray  # rows that gave any coordinate
    zero: np.ndarray  # rows that gave 0, 0
    pair: np.ndarray  # rows with a full, readable, non-zero pair
    lon: np.ndarray  # as written, swapped back where swapped
    lat: np.ndarray
    lon_txt: np.ndarray  # the coordinates as written
    lat_txt: np.ndarray


@dataclass(frozen=True, eq=False)
class Positions:
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

    def placed_only(self) -> Positions:
        """These positions without the texts as written (the report holds them)."""
        none = np.empty(0, dtype=object)
        return replace(self, lon_txt=none, lat_txt=none, datum_txt=none)


def positions(opened: Opened, live: np.ndarray, *, datum_default: str, required: bool) -> Positions:
    """Parse, swap, convert and locate the coordinates of every live row, logging problems.

    ``required``: a row without a position is rejected (demand points) rather than
    placed by its declared county or address later (facilities), and 0, 0 is an error
    rather than "missing".
    """
    pairs = _read_pairs(opened, live, required=required)
    return _locate(opened, pairs, datum_default=datum_default)


def _read_pairs(opened: Opened, live: np.ndarray, *, required: bool) -> _Pairs:
    """Read both coordinates; reject unreadable and half pairs, flag DMS and swaps."""
    frame, log, box = opened.frame, opened.log, opened.region.bounds
    lon_in, lat_in = frame["lon"], frame["lat"]
    if "coords" in opened.header.columns:
        lon_in, lat_in = split_pair(frame["coords"])
    if "coords" in opened.header.columns:
        lon_txt, lat_txt = cell_texts(lon_in), cell_texts(lat_in)
        lon_raw, lon_kind = coordinate_column(lon_in)
        lat_raw, lat_kind = coordinate_column(lat_in)
    else:
        lon_txt, lat_txt = opened.texts("lon"), opened.texts("lat")
        lon_raw, lon_kind = _coordinates(opened, "lon")
        lat_raw, lat_kind = _coordinates(opened, "lat")
    some = live & ((lon_kind != "blank") | (lat_kind != "blank"))
    if required:
        log.add(
            "no_coordinates",
            "rejected",
            live & ~some,
            msg("demand_no_coordinates"),
        )
    bad = some & ((lon_kind == "bad") | (lat_kind == "bad"))
    log.add(
        "bad_coordinates",
        "rejected",
        bad,
        lambda i: msg("bad_coordinates", lon=lon_txt[i], lat=lat_txt[i]),
    )
    half = some & ~bad & ((lon_kind == "blank") | (lat_kind == "blank"))
    either = "give_both" if required else "give_both_or_neither"
    log.add(
        "partial_coordinates",
        "rejected",
        half,
        lambda i: msg(
            "only_lat" if lon_kind[i] == "blank" else "only_lon",
            value=lon_txt[i] or lat_txt[i],
            either=msg(either),
        ),
    )
    pair = some & ~bad & ~half
    zero = pair & (lon_raw == 0) & (lat_raw == 0)
    if required:
        log.add("zero_coordinates", "rejected", zero, msg("zero_rejected"))
    else:
        log.add("zero_coordinates", "flagged", zero, msg("zero_missing"))
    pair &= ~zero
    dms = pair & ((lon_kind == "dms") | (lat_kind == "dms"))
    log.add(
        "dms",
        "flagged",
        dms,
        lambda i: msg(
            "dms", lon=lon_txt[i], lat=lat_txt[i], x=f"{lon_raw[i]:.6f}", y=f"{lat_raw[i]:.6f}"
        ),
    )
    swap = pair & ~_in_box(lon_raw, lat_raw, box) & _in_box(lat_raw, lon_raw, box)
    # One 坐标 column may be written "lat,lon" as well as "lon,lat": its order is a
    # convention of the office, read from the values, not a mistake to flag.
    one_column = "coords" in opened.header.columns
    log.add(
        "swapped",
        "flagged",
        swap & ~one_column,
        lambda i: msg(
            "swapped", lon=lon_txt[i], lat=lat_txt[i], x=f"{lat_raw[i]:.6f}", y=f"{lon_raw[i]:.6f}"
        ),
    )
    lon = np.where(swap, lat_raw, lon_raw)
    lat = np.where(swap, lon_raw, lat_raw)
    return _Pairs(some, zero, pair, lon, lat, lon_txt, lat_txt)


def _coordinates(opened: Opened, column: str) -> tuple[np.ndarray, np.ndarray]:
    """:func:`coordinate_column` of a column of the frame, with what is known of it."""
    blank = ~opened.present(column)
    return coordinate_column(opened.frame[column], blank=blank, text=opened.arrow(column))


def _locate(opened: Opened, pairs: _Pairs, *, datum_default: str) -> Positions:
    """Read each row's datum, convert its pair to WGS84 and find its county."""
    frame, log, region = opened.frame, opened.log, opened.region
    n = len(frame)
    datum_txt = opened.texts("datum")
    datum = repeated(datum_default, n)
    named = opened.present("datum")
    for value in set(datum_txt[named]):
        datum[named & (datum_txt == value)] = parse_datum(value)
    bad_datum = pairs.pair & named & pd.isna(datum)  # a datum matters only with coordinates
    log.add(
        "unknown_datum",
        "rejected",
        bad_datum,
        lambda i: msg("unknown_datum", datum=datum_txt[i], accepted=_DATUM_LABELS),
    )
    pair = pairs.pair & ~bad_datum
    lon_w = np.full(n, np.nan)
    lat_w = np.full(n, np.nan)
    for name in coords.DATUMS:
        m = pair & (datum == name)
        if m.any():
            lon_w[m], lat_w[m] = coords.convert(pairs.lon[m], pairs.lat[m], src=name, dst="wgs84")
    located = np.full(n, None, dtype=object)
    if pair.any():
        located[pair] = region.registry.locate(lon_w[pair], lat_w[pair])
    # a hash lookup of each code (None where not located), not text compared by sorting
    has_pt = pair & pd.Series(located, dtype=object).isin(region.adcodes).to_numpy()
    log.add(
        "outside_region",
        "rejected",
        pair & ~has_pt,
        lambda i: msg(
            "outside_region" if datum[i] in ("wgs84", "cgcs2000") else "outside_region_converted",
            x=f"{lon_w[i]:.6f}",
            y=f"{lat_w[i]:.6f}",
            datum=Label(f"datum.{datum[i]}"),
        ),
    )
    adcode = np.where(has_pt, located, None).astype(object)
    return Positions(
        pairs.some,
        pairs.zero,
        has_pt,
        adcode,
        lon_w,
        lat_w,
        pairs.lon_txt,
        pairs.lat_txt,
        datum,
        datum_txt,
    )


# --------------------------------------------------------------------------- declared units


@dataclass(frozen=True, eq=False)
class Declared:
    """The county each row declares, as the registry resolved it."""

    declared: np.ndarray  # live rows that name a county
    code: np.ndarray  # its adcode (None where unresolved or not declared)
    error: np.ndarray  # why it did not resolve
    note: np.ndarray  # what the registry noted (a development zone, an old name ...)
    agree: np.ndarray  # rows with coordinates whose declared county agrees with them


def check_declared(opened: Opened, live: np.ndarray, pos: Positions) -> Declared:
    """Resolve the declared counties; flag those that contradict the coordinates or are
    not recognised, and declared cities that contradict them."""
    log, region = opened.log, opened.region
    has_pt = pos.has_pt
    county_txt = opened.texts("county")
    declared = live & opened.present("county")
    code, error, note = _declared_counties(opened, declared, pos)
    ok = pd.notna(code)
    mismatch = has_pt & ok & (code != pos.adcode)
    log.add(
        "county_mismatch",
        "flagged",
        mismatch,
        lambda i: msg(
            "county_mismatch", declared=county_txt[i], county=region.label(pos.adcode[i])
        ),
    )
    log.add(
        "declared_unresolved",
        "flagged",
        has_pt & declared & ~ok,
        lambda i: msg(
            "declared_unresolved_placed",
            declared=county_txt[i],
            error=error[i],
            county=region.label(pos.adcode[i]),
        ),
    )
    _check_city(opened, has_pt & ~declared & opened.present("city"), pos)
    return Declared(declared, code, error, note, agree=has_pt & ok & ~mismatch)


def _declared_counties(
    opened: Opened, declared: np.ndarray, pos: Positions
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adcodes, errors and notes of the declared counties (city as context).

    Development zones and local aliases that only a point can place are resolved again
    with the row's WGS84 point, for the rows that have one.
    """
    frame, region = opened.frame, opened.region
    n = len(frame)
    code = np.full(n, None, dtype=object)
    error = np.full(n, None, dtype=object)
    note = np.full(n, None, dtype=object)
    if not declared.any():
        return code, error, note
    idx = frame.index[declared]
    county = frame["county"][declared]  # by position: the same rows as .loc[idx]
    res = resolve(region, county, frame["city"][declared])
    retry = res["error_type"].isin(["UndecidableUnit", "AmbiguousUnit"]).to_numpy(copy=True)
    retry &= pos.has_pt[declared]
    if retry.any():
        ridx = idx[retry]
        at = frame.index.get_indexer(ridx)
        res.loc[ridx] = resolve(
            region,
            frame.loc[ridx, "county"],
            frame.loc[ridx, "city"],
            lon=pos.lon_w[at],
            lat=pos.lat_w[at],
        )
    code[declared] = column_values(res["adcode"])
    error[declared] = lookup_errors(res, county)
    note[declared] = column_values(res["note"])
    return code, error, note


def _check_city(opened: Opened, city_only: np.ndarray, pos: Positions) -> None:
    """Flag the declared city of rows placed by coordinates that name no county, when it
    contradicts the coordinates or is not recognised."""
    if not city_only.any():
        return
    frame, log, region = opened.frame, opened.log, opened.region
    city_txt = opened.texts("city")
    c_code, c_error = unit_results(region, frame, city_only, "city", None, level="prefecture")
    pref = np.array([region.prefecture_adcode.get(a or "", "") for a in pos.adcode], dtype=object)
    known = pd.notna(c_code)
    log.add(
        "city_mismatch",
        "flagged",
        city_only & known & (c_code != pref),
        lambda i: msg("city_mismatch", declared=city_txt[i], county=region.label(pos.adcode[i])),
    )
    log.add(
        "city_unresolved",
        "flagged",
        city_only & ~known,
        lambda i: msg("city_unresolved", declared=city_txt[i], error=c_error[i]),
    )


# --------------------------------------------------------------------------- no coordinates


@dataclass(frozen=True, eq=False)
class Placement:
    """The county of every row, however it was found."""

    adcode: np.ndarray  # None where the row is not placed
    note: np.ndarray  # the registry's note on the declared county ('' when none)
    by_county: np.ndarray  # placed by the declared county, having no usable coordinates
    placed: np.ndarray  # placed without coordinates (by county or by address)


def place_without_coordinates(
    opened: Opened, live: np.ndarray, pos: Positions, declared: Declared
) -> Placement:
    """Place rows without usable coordinates by their declared county, else their address;
    reject those that cannot be placed or fall outside the region."""
    log, region = opened.log, opened.region
    n = len(opened.frame)
    county_txt, address_txt = opened.texts("county"), opened.texts("address")
    ok = pd.notna(declared.code)
    fallback = (live & ~pos.some) | pos.zero
    by_county = fallback & ok
    adcode = pos.adcode.copy()
    adcode[by_county] = declared.code[by_county]
    note = repeated("", n)
    note[declared.agree] = _or_empty(declared.note[declared.agree])
    note[by_county] = _or_empty(declared.note[by_county])
    address, has_address = opened.frame["address"], opened.present("address")
    need_address = fallback & ~ok & has_address
    a_code = np.full(n, None, dtype=object)
    a_error = np.full(n, None, dtype=object)
    if need_address.any():
        a_code[need_address], a_error[need_address] = addresses(
            region, address[need_address], opened.frame["city"][need_address]
        )
    by_address = need_address & pd.notna(a_code)
    adcode[by_address] = a_code[by_address]
    failed = fallback & declared.declared & ~ok
    d_error = declared.error
    log.add(
        "declared_unresolved",
        "flagged",
        failed & by_address,
        lambda i: msg("declared_unresolved", declared=county_txt[i], error=d_error[i]),
    )
    log.add(
        "county_unresolved",
        "rejected",
        failed & ~by_address,
        lambda i: msg(
            "both",
            items=Sentences(
                [d_error[i]]
                + (
                    [msg("address_error", address=address_txt[i], error=a_error[i])]
                    if a_error[i]
                    else []
                )
            ),
        ),
    )
    log.add(
        "address_unresolved",
        "rejected",
        need_address & ~declared.declared & ~by_address,
        lambda i: msg("address_error", address=address_txt[i], error=a_error[i]),
    )
    log.add(
        "no_location",
        "rejected",
        fallback & ~declared.declared & ~has_address,
        msg("no_location"),
    )
    placed = fallback & pd.notna(adcode)
    foreign = np.zeros(n, dtype=bool)
    foreign[placed] = ~np.isin(adcode[placed].astype(str), list(region.adcodes))
    log.add(
        "county_outside_region",
        "rejected",
        foreign,
        lambda i: msg(
            "county_outside_region" if by_county[i] else "address_outside_region",
            text=county_txt[i] if by_county[i] else address_txt[i],
            code=adcode[i],
        ),
    )
    return Placement(adcode, note, by_county, placed)


def _or_empty(notes: np.ndarray) -> np.ndarray:
    """``[d or "" for d in notes]`` for the registry's notes (text, or None where none)."""
    out = notes.copy()
    out[pd.isna(notes)] = ""
    return out
