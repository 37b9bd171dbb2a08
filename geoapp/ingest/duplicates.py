"""Duplicate facilities in a register, and the ids that tell facilities apart.

This module owns the duplicate rule (:func:`find_duplicates`): a later row with the same
normalised name and type as an earlier original within :data:`DUPLICATE_DISTANCE_M`
(geodesic, WGS84 ellipsoid), or without coordinates in the same county, is a duplicate
and rejected; the same name with another type within that distance is flagged. The work
is bounded: originals sit in a grid of cells about 200 m wide, so each row is compared
with the few originals around it. It also owns facility ids (:func:`facility_ids`): the
ids given, else stable ones hashed from name, type and county.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyproj

from geoapp.ingest.rowlog import Label, Msg, RowLog, cell_texts, msg

__all__ = [
    "DUPLICATE_DISTANCE_M",
    "Duplicates",
    "facility_ids",
    "find_duplicates",
    "flag_duplicates",
]

DUPLICATE_DISTANCE_M = 200.0
_GEOD = pyproj.Geod(ellps="WGS84")

# Grid cell (metres, on a sphere of the mean Earth radius) for the 200 m test: a
# geodesic of 200 m on the ellipsoid is at most 0.6 % longer on the sphere, so two rows
# within 200 m always sit in the same or in adjacent cells.
_EARTH_RADIUS_M = 6_371_008.8
_DUPLICATE_CELL_M = DUPLICATE_DISTANCE_M * 1.05
_NEIGHBOURS = [(x, y, z) for x in (-1, 0, 1) for y in (-1, 0, 1) for z in (-1, 0, 1)]


@dataclass(frozen=True)
class Duplicates:
    """What :func:`find_duplicates` found: row position -> (earlier row position, metres
    apart or NaN when the rows were matched by county)."""

    duplicate_of: dict[int, tuple[int, float]]
    nearby: dict[int, tuple[int, float]]
    compared: int  # distances computed: a handful per row, never a pair per two rows


def _grid_cells(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Integer 3-D grid cells (n x 3) of points on the sphere, for the 200 m test."""
    lam, phi = np.radians(lon), np.radians(lat)
    xyz = np.column_stack((np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)))
    return np.floor(np.nan_to_num(xyz) * (_EARTH_RADIUS_M / _DUPLICATE_CELL_M)).astype(np.int64)


def find_duplicates(
    keep: np.ndarray,
    name_keys: np.ndarray,
    ftype: np.ndarray,
    adcode: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    has_pt: np.ndarray,
) -> Duplicates:
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
    none = Duplicates({}, {}, 0)
    pos = np.flatnonzero(keep)
    if len(pos) < 2:
        return none
    pos = pos[pd.Series(name_keys[pos], dtype=object).duplicated(keep=False).to_numpy()]
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
            for other_has_pt in (False, True) if not p else (False,):
                i = first.get((g, t, adcode[j], other_has_pt))
                if i is not None and (match is None or i < match):
                    match = i
        if p:
            cx, cy, cz = cells[k]
            near = [
                i
                for dx, dy, dz in _NEIGHBOURS
                for i in grid.get((g, cx + dx, cy + dy, cz + dz), ())
            ]
            if near:
                compared += len(near)
                near_a = np.array(near)
                _, _, dist = _GEOD.inv(
                    lon[near_a], lat[near_a], np.full(len(near), lon[j]), np.full(len(near), lat[j])
                )
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
    return Duplicates(duplicate_of, nearby, compared)


def flag_duplicates(
    log: RowLog,
    keep: np.ndarray,
    rows: np.ndarray,
    name_keys: np.ndarray,
    ftype: np.ndarray,
    adcode: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    has_pt: np.ndarray,
) -> None:
    """Reject later rows with the same name and type within 200 m (or, without
    coordinates, in the same county); flag same-name rows of another type nearby.

    The matching is :func:`find_duplicates`; this writes its findings to the row log.
    """
    found = find_duplicates(keep, name_keys, ftype, adcode, lon, lat, has_pt)
    duplicate_of, nearby = found.duplicate_of, found.nearby

    def duplicate(j: int) -> Msg:
        i, d = duplicate_of[j]
        if np.isnan(d):
            return msg("duplicate_same_county", row=rows[i])
        return msg("duplicate_nearby", row=rows[i], metres=round(d))

    everything = np.arange(len(keep))
    log.add("duplicate", "rejected", np.isin(everything, list(duplicate_of)), duplicate)
    log.add(
        "same_name_nearby",
        "flagged",
        np.isin(everything, list(nearby)),
        lambda j: msg(
            "same_name_nearby",
            row=rows[nearby[j][0]],
            type=Label(f"facility_type.{ftype[nearby[j][0]]}"),
            metres=round(nearby[j][1]),
        ),
    )


def facility_ids(
    log: RowLog,
    frame: pd.DataFrame,
    kept: np.ndarray,
    name_keys: np.ndarray,
    ftype: np.ndarray,
    adcode: np.ndarray,
) -> np.ndarray:
    """Given ids, else stable ones from name, type and county (the same across quarters).

    A given id that repeats is flagged; a generated one that repeats (same name, type
    and county, more than 200 m apart) gets a suffix ``-2``, ``-3`` ...
    """
    given = cell_texts(frame["facility_id"])
    rows = frame.index.to_numpy()
    ids = given.copy()
    missing = kept & (given == "")
    ids[missing] = [
        "F" + hashlib.sha1(f"{k}|{t}|{a}".encode()).hexdigest()[:11]
        for k, t, a in zip(name_keys[missing], ftype[missing], adcode[missing], strict=True)
    ]
    pos = np.flatnonzero(kept)
    repeated = np.zeros(len(ids), dtype=bool)  # kept rows whose id an earlier kept row has
    repeated[pos] = pd.Series(ids[pos], dtype=object).duplicated().to_numpy()
    generated_repeat = repeated & (given == "")
    first = _first_rows(ids, pos) if (repeated & ~generated_repeat).any() else None
    seen: dict[str, int] = {}
    for i in np.flatnonzero(generated_repeat):  # same name, type and county, > 200 m apart
        seen[ids[i]] = seen.get(ids[i], 1) + 1
        ids[i] = f"{ids[i]}-{seen[ids[i]]}"
    log.add(
        "duplicate_id",
        "flagged",
        repeated & ~generated_repeat,
        lambda i: msg("duplicate_id", id=given[i], row=rows[first[i]]),
    )
    return ids


def _first_rows(ids: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """For each of the rows ``pos``, the first of them with its id (np.unique gives each
    code's first position); -1 elsewhere."""
    codes = pd.factorize(ids[pos])[0]
    first = np.full(len(ids), -1)
    first[pos] = pos[np.unique(codes, return_index=True)[1]][codes]
    return first
