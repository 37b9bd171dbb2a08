"""The facility register reader: a file in, the facilities and a row report out.

:func:`read_facilities` reads as named steps, each a function a test can call:
:func:`~geoapp.ingest.rows.open_register` → :func:`skip_rows` (blank, heading and
continuation rows) → :func:`name_and_type` → :func:`~geoapp.ingest.placement.positions`
→ :func:`~geoapp.ingest.placement.check_declared` →
:func:`~geoapp.ingest.placement.place_without_coordinates` → :func:`deduplicate` →
:func:`assemble` (the row report) → :func:`facility_frame`. The steps share the
:class:`~geoapp.ingest.rows.Opened` register and write their reasons to its row log, in
the order the reasons are reported. Between the last two, the cells' own text objects are
let go (the report holds those texts, as Arrow): a million rows' peak memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely

from geoapp.i18n import DEFAULT_LANGUAGE
from geoapp.ingest.duplicates import facility_ids, flag_duplicates
from geoapp.ingest.fields import FACILITY_FIELDS, FACILITY_REQUIRED
from geoapp.ingest.placement import (
    Placement,
    Positions,
    check_declared,
    place_without_coordinates,
    positions,
)
from geoapp.ingest.results import FacilityImport, import_fields
from geoapp.ingest.rowlog import cell_text, msg
from geoapp.ingest.rows import Opened, flag_empty_formulas, open_register, skip_structure
from geoapp.ingest.tables import Source
from geoapp.ingest.values import (
    Coded,
    check_default_datum,
    facility_types,
    join_texts,
    match_keys,
)
from geoapp.schema import FACILITY_COLUMNS, FACILITY_TEXT_COLUMNS

if TYPE_CHECKING:
    from geoapp.admin import AdminRegistry

__all__ = [
    "Named",
    "assemble",
    "deduplicate",
    "facility_frame",
    "name_and_type",
    "read_facilities",
    "skip_rows",
]


def read_facilities(
    source: Source,
    *,
    counties: gpd.GeoDataFrame,
    registry: AdminRegistry | None = None,
    province: object = None,
    default_datum: str = "wgs84",
    columns: Mapping[str, str] | None = None,
    sheet: str | int | None = None,
    lang: str = DEFAULT_LANGUAGE,
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
    lang : {"zh", "en"}
        Language of the report's reasons (Chinese by default).

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
    datum_default = check_default_datum(default_datum)
    opened = open_register(
        source,
        sheet=sheet,
        fields=FACILITY_FIELDS,
        columns=columns,
        required=FACILITY_REQUIRED,
        what="facility register",
        counties=counties,
        registry=registry,
        province=province,
        points=True,
        lang=lang,
    )
    return _read(opened, datum_default)


def _read(opened: Opened, datum_default: str) -> FacilityImport:
    """The steps of :func:`read_facilities` on the opened register."""
    live = skip_rows(opened)
    named = name_and_type(opened, live)
    pos = positions(opened, live, datum_default=datum_default, required=False)
    declared = check_declared(opened, live, pos)
    placement = place_without_coordinates(opened, live, pos, declared)
    ids = deduplicate(opened, live, named, pos, placement)
    # From here on the texts as written live in ``written`` alone, which the report
    # takes one column at a time: each column's cell objects go once it is Arrow text
    # (a million rows' peak memory).
    written = _written(opened, named, pos)
    opened.release(keep=("subtype", "note"))
    ftype, pos = named.ftype, pos.placed_only()
    del named
    status = opened.log.status()
    kept = np.isin(status, ("accepted", "flagged"))
    # the types and counties of the kept rows, factorized once for the report's columns
    # and the facilities' (a million rows' text columns of few distinct values)
    coded = Coded(ftype), Coded(np.where(kept, placement.adcode, None))
    report, notes = assemble(opened, written, status, coded, placement, ids)
    del ids
    facilities = facility_frame(opened, kept=kept, report=report, coded=coded, pos=pos, notes=notes)
    return FacilityImport(**import_fields(opened, report, status), facilities=facilities)


def skip_rows(opened: Opened) -> np.ndarray:
    """Skip blank rows, heading rows and continuation rows; returns the live rows.

    A continuation row holds only address or note text right under a record (a wrapped
    address); its text is joined to that record's address, in the frame's address
    column (what the later steps and the report read).
    """
    frame, log, rows = opened.frame, opened.log, opened.rows
    n = len(frame)
    skipped = skip_structure(opened, content="name")
    flag_empty_formulas(opened)
    present = {f: opened.present(f) for f in FACILITY_FIELDS}
    others = np.zeros(n, dtype=bool)
    for f in FACILITY_FIELDS:
        if f not in ("address", "note"):
            others |= present[f]
    candidate = ~skipped & ~others & (present["address"] | present["note"])
    anchor = _continuation_anchor(candidate, ~skipped & present["name"])
    continued = anchor >= 0
    if continued.any():
        address = frame["address"].to_numpy(dtype=object).copy()
        parts: dict[int, list[int]] = {}
        for i in np.flatnonzero(continued):
            parts.setdefault(int(anchor[i]), []).append(int(i))
        for a, more in parts.items():
            address[a] = "".join(cell_text(address[j]) for j in [a, *more]) or None
        opened.replace_column("address", address)
        log.add(
            "continuation",
            "skipped",
            continued,
            lambda i: msg("continuation", row=rows[anchor[i]]),
        )
        log.add(
            "continued",
            "flagged",
            np.isin(np.arange(n), list(parts)),
            lambda i: msg("continued", rows=[rows[j] for j in parts[i]]),
        )
        skipped = skipped | continued
    return ~skipped


def _continuation_anchor(candidate: np.ndarray, record: np.ndarray) -> np.ndarray:
    """For each candidate row directly under a record (or its continuations), the record.

    Examples
    --------
    >>> _continuation_anchor(np.array([0, 1, 1, 0, 1, 1], bool), np.array([1, 0, 0, 0, 0, 0], bool))
    array([-1,  0,  0, -1, -1, -1])
    """
    n = len(candidate)
    # the last row at or above each row that is no candidate (-1 above the first one)
    last = np.maximum.accumulate(np.where(candidate, -1, np.arange(n))) if n else np.zeros(0, int)
    under_record = (last >= 0) & record[np.maximum(last, 0)]
    return np.where(candidate & under_record, last, -1)


@dataclass(frozen=True, eq=False)
class Named:
    """Each row's name and facility type, as written and as read."""

    names: np.ndarray  # as written
    type_txt: np.ndarray  # as written
    ftype: np.ndarray  # the facility type key (None where missing or not recognised)


def name_and_type(opened: Opened, live: np.ndarray) -> Named:
    """Reject live rows without a name, without a type or with a type not recognised."""
    log = opened.log
    names = opened.texts("name")
    log.add("no_name", "rejected", live & ~opened.present("name"), msg("no_name"))
    type_txt = opened.texts("type")
    has_type = opened.present("type")
    log.add("no_type", "rejected", live & ~has_type, msg("no_type"))
    ftype, code, error = facility_types(type_txt, live & has_type)
    for reason in ("unknown_type", "ambiguous_type"):
        log.add(reason, "rejected", code == reason, lambda i: error[i])
    return Named(names, type_txt, ftype)


def deduplicate(
    opened: Opened, live: np.ndarray, named: Named, pos: Positions, placement: Placement
) -> np.ndarray:
    """Reject duplicates among the rows kept so far, flag the rows placed by their address
    alone, and give every kept row its facility id (flagging repeated ones).

    A row placed by the county it declares is not flagged: the register says where it
    is, and nothing needs checking; its note says it is counted there but not on the map.
    Names are compared as :func:`~geoapp.ingest.values.match_key` reads them; those keys
    live only here (a million-row register's peak memory comes later).
    """
    log, region, adcode = opened.log, opened.region, placement.adcode
    keep = live & ~log.mask("rejected")
    written = opened.written("name")  # the same texts as Arrow text, where read so
    arrow = pa.array(written) if isinstance(written, pd.api.extensions.ExtensionArray) else None
    name_keys = match_keys(named.names, arrow)
    flag_duplicates(
        log,
        keep,
        opened.rows,
        name_keys,
        named.ftype,
        adcode,
        pos.lon_w,
        pos.lat_w,
        pos.has_pt,
    )
    by_county = placement.by_county
    placed = placement.placed & ~log.mask("rejected")
    log.add(
        "no_coordinates",
        "flagged",
        placed & ~by_county,
        lambda i: msg("placed_by_address", county=region.label(adcode[i])),
    )
    for i in np.flatnonzero(placed & by_county):
        said = msg("placed_by_county", county=region.label(adcode[i])).text(opened.lang)
        sep = "；" if opened.lang == "zh" else "; "
        placement.note[i] = f"{placement.note[i]}{sep}{said}" if placement.note[i] else said
    kept = np.isin(log.status(), ("accepted", "flagged"))
    return facility_ids(log, opened.frame, kept, name_keys, named.ftype, adcode)


def _written(opened: Opened, named: Named, pos: Positions) -> dict:
    """The report's columns of texts as written, by report column (Arrow text where the
    reader kept the column as Arrow text: :meth:`~geoapp.ingest.rows.Opened.written`)."""
    one_column = "coords" in opened.header.columns  # lon, lat split out of one cell
    return {
        "name": opened.written("name"),
        "type": opened.written("type"),
        "city": opened.written("city"),
        "county": opened.written("county"),
        "address": opened.written("address"),
        "lon": pos.lon_txt if one_column else opened.written("lon"),
        "lat": pos.lat_txt if one_column else opened.written("lat"),
        "datum": opened.written("datum"),
    }


def assemble(
    opened: Opened,
    written: dict[str, np.ndarray],
    status: np.ndarray,
    coded: tuple[Coded, Coded],
    placement: Placement,
    ids: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray]:
    """The row report and the note of each kept facility, from the finished row log
    and each row's status; the report takes (empties) ``written``, the texts as written.
    ``coded``: the rows' facility types, and their counties where kept."""
    ftype, county = coded
    reasons, codes = opened.log.texts(opened.lang)
    kept = np.isin(status, ("accepted", "flagged"))
    columns = {"row": opened.rows, "status": status, "reasons": reasons, "codes": codes}
    columns["note"] = placement.note
    columns.update((c, written.pop(c)) for c in list(written))
    columns["facility_type"] = ftype.texts()
    columns["adcode"] = county.texts()
    columns["assigned_county"] = county.texts(opened.region.label)
    columns["facility_id"] = np.where(kept, ids, "")
    report = _text_frame(columns)
    flagged = np.where(status == "flagged", np.asarray(reasons, dtype=object), "")
    notes = join_texts([opened.texts("note"), placement.note, flagged], "; ")
    return report, notes


def facility_frame(
    opened: Opened,
    *,
    kept: np.ndarray,
    report: pd.DataFrame,
    coded: tuple[Coded, Coded],
    pos: Positions,
    notes: np.ndarray,
) -> gpd.GeoDataFrame:
    """The kept rows in the :data:`~geoapp.schema.FACILITY_COLUMNS` schema, with a point
    geometry where the row has coordinates (EPSG:4326).

    The id, name and address columns are the report's own (text the same for kept
    rows), taken without a second copy of their strings."""
    k, region = kept, opened.region
    ftype, county = coded

    def _reported(column: str) -> Any:
        values = report[column].array
        return values if k.all() else values[k]

    datum = np.where(pos.has_pt, pos.datum, "")
    n = int(k.sum())
    on_map = pos.has_pt[k]
    x = np.where(on_map, pos.lon_w[k], np.nan)
    y = np.where(on_map, pos.lat_w[k], np.nan)
    geometry = np.full(n, None, dtype=object)
    geometry[on_map] = shapely.points(x[on_map], y[on_map])
    out = _text_frame(
        {
            "facility_id": _reported("facility_id"),
            "name": _reported("name"),
            "facility_type": ftype.texts(rows=k),
            "subtype": opened.written("subtype")[k],
            "prefecture": county.texts(lambda a: region.prefecture.get(str(a), ""), rows=k),
            "county": county.texts(lambda a: region.name.get(str(a), ""), rows=k),
            "adcode": county.texts(rows=k),
            "address": _reported("address"),
            "lon": x,
            "lat": y,
            "datum": datum[k],
            "is_demo": np.zeros(n, dtype=bool),
            "note": notes[k],
        },
        text=FACILITY_TEXT_COLUMNS,
    )
    return gpd.GeoDataFrame(
        out[list(FACILITY_COLUMNS)], geometry=gpd.GeoSeries(geometry, crs="EPSG:4326")
    )


def _text_frame(columns: dict[str, Any], text: tuple[str, ...] | None = None) -> pd.DataFrame:
    """A frame whose ``text`` columns (all but ``row`` when not given) are ``str``, as
    ``DataFrame.astype(str)`` makes them, each converted on its own: no block of object
    pointers holding every column at once (a million-row register's peak memory)."""
    text = tuple(c for c in columns if c != "row") if text is None else text
    out = {}
    for c in list(columns):  # taken out one by one: a column is let go once converted
        v = columns.pop(c)
        textual = c in text and not isinstance(v, pd.api.extensions.ExtensionArray)
        out[c] = _as_str(v) if textual else v
        del v
    return pd.DataFrame(out)


def _as_str(values: Any) -> pd.api.extensions.ExtensionArray:
    """``Series(values).astype(str).array``; a column that is all ``str`` already (most
    are) goes to Arrow directly, its strings copied in C rather than checked one by one."""
    values = np.asarray(values, dtype=object)
    filled = values != ""
    if filled.sum() * 4 < len(values):  # mostly empty (reasons, notes): the rest alone
        some = values[filled]
        if pd.api.types.infer_dtype(some, skipna=False) in ("string", "empty"):
            return _spread(pa.array(some, type=pa.large_string()), filled)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return pd.array(pa.array(values, type=pa.large_string()), dtype="str")
    return pd.Series(values, copy=False).astype(str).array


def _spread(texts: Any, filled: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Arrow text with ``texts`` (large strings, in order) where ``filled`` and ``""``
    elsewhere, built from their offsets: the data buffer is the one of ``texts``.

    Examples
    --------
    >>> _spread(pa.array(["a", "长春"], pa.large_string()), np.array([0, 1, 0, 1], bool)).tolist()
    ['', 'a', '', '长春']
    """
    bounds = np.frombuffer(texts.buffers()[1], dtype=np.int64)[texts.offset :][: len(texts) + 1]
    lengths = np.zeros(len(filled), dtype=np.int64)
    lengths[filled] = np.diff(bounds)
    offsets = np.concatenate([[bounds[0] if len(bounds) else 0], lengths]).cumsum()
    data = texts.buffers()[2] or pa.py_buffer(b"")
    array = pa.LargeStringArray.from_buffers(len(filled), pa.py_buffer(offsets), data)
    return pd.array(array, dtype="str")
