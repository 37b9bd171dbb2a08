"""Single-facility edits: add, close, move or rename one facility, as a submission.

An edit is not a side door: it is a submission like any other (:meth:`Store.submit`)
for the county-level unit the facility is in, holding that unit's current facilities
with the one change, reviewed up the hierarchy like a register. A move across a county
border is a close in one unit and an add in the other, so it is submitted for the
smallest area that covers both (the prefecture, or the region). The close date and
reason, and what changed, are in the submission's note and so in the audit log.

Only the public interface of :class:`geoapp.store.Store` is used here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoapp.facilities import FACILITY_TYPES
from geoapp.ingest.values import match_key
from geoapp.localised import Localised, Word
from geoapp.schema import FACILITY_COLUMNS

__all__ = ["ACTIONS", "Edit", "EditError", "apply_edit", "edit_rows"]

ACTIONS = ("add", "close", "move", "rename")


class EditError(Localised, ValueError):
    """An edit that cannot be made as asked; the message says why (and ``key``/``params``
    the same for the user's language)."""


@dataclass(frozen=True)
class Edit:
    """One change to one facility.

    ``add`` needs ``name``, ``facility_type`` and ``lon``/``lat`` (WGS84) inside the
    region; ``close`` needs ``facility_id``, ``closed_on`` and ``reason``; ``move``
    needs ``facility_id`` and ``lon``/``lat``; ``rename`` needs ``facility_id`` and
    ``name``.
    """

    action: str
    facility_id: str = ""
    name: str = ""
    facility_type: str = ""
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    closed_on: str = ""
    reason: str = ""

    def note(self) -> str:
        """What the audit log says about the edit."""
        parts = [f"edit {self.action}"]
        parts += [f"{k}={v}" for k, v in self._fields() if v not in ("", None)]
        return "; ".join(parts)

    def _fields(self) -> list[tuple[str, object]]:
        names = ("facility_id", "name", "facility_type", "lon", "lat", "closed_on", "reason")
        return [(n, getattr(self, n)) for n in names]


def _place(counties: gpd.GeoDataFrame, lon: float, lat: float) -> pd.Series:
    """The county row containing (lon, lat); EditError outside every county."""
    if lon is None or lat is None or not (np.isfinite(lon) and np.isfinite(lat)):
        msg = "give the facility's coordinates (WGS84 longitude and latitude)"
        raise EditError(msg, key="problem.edit.no_coordinates")
    inside = shapely.contains_xy(counties.geometry.to_numpy(), float(lon), float(lat))
    if not inside.any():
        msg = f"({lon}, {lat}) is outside every county-level unit of the region"
        raise EditError(msg, key="problem.edit.outside", lon=lon, lat=lat)
    return counties[inside].iloc[0]


def _facility(current: pd.DataFrame, facility_id: str) -> pd.Series:
    found = current[current["facility_id"] == str(facility_id)]
    if found.empty:
        msg = f"no current facility {facility_id!r}; see the register for its id (编号)"
        raise EditError(msg, key="problem.edit.unknown_facility", facility_id=facility_id)
    return found.iloc[0]


def _new_row(edit: Edit, county: pd.Series) -> dict:
    if not edit.name.strip():
        raise EditError("a new facility needs a name", key="problem.edit.no_name")
    if edit.facility_type not in FACILITY_TYPES:
        msg = f"facility type {edit.facility_type!r}; expected one of {list(FACILITY_TYPES)}"
        raise EditError(
            msg, key="problem.edit.facility_type", given=edit.facility_type,
            expected=[Word(f"facility_type.{k}", k) for k in FACILITY_TYPES],
        )  # fmt: skip
    adcode = str(county["adcode"])
    key = f"{match_key(edit.name)}|{edit.facility_type}|{adcode}"
    return {
        "facility_id": "F" + hashlib.sha1(key.encode()).hexdigest()[:11],
        "name": edit.name.strip(),
        "facility_type": edit.facility_type,
        "subtype": "",
        "prefecture": str(county["prefecture"]),
        "county": str(county["name"]),
        "adcode": adcode,
        "address": edit.address,
        "lon": float(edit.lon),
        "lat": float(edit.lat),
        "datum": "wgs84",
        "is_demo": False,
        "note": "",
    }


def edit_rows(
    current: pd.DataFrame, counties: gpd.GeoDataFrame, edit: Edit
) -> tuple[pd.DataFrame, list[str], int]:
    """The rows of the units an edit touches, after the edit; those units' adcodes; and
    how many current rows it closes (1 for a close, else 0)."""
    if edit.action not in ACTIONS:
        msg = f"edit {edit.action!r}; expected one of {', '.join(ACTIONS)}"
        expected = [Word(f"edit.{a}", a) for a in ACTIONS]
        raise EditError(msg, key="problem.edit.action", given=edit.action, expected=expected)
    frame = pd.DataFrame(current[list(FACILITY_COLUMNS)])
    if edit.action == "add":
        row = _new_row(edit, _place(counties, edit.lon, edit.lat))
        if (frame["facility_id"] == row["facility_id"]).any():
            msg = f"{edit.name} ({row['county']}) is in the register already: {row['facility_id']}"
            raise EditError(
                msg, key="problem.edit.exists", name=edit.name, county=row["county"],
                facility_id=row["facility_id"],
            )  # fmt: skip
        units = [row["adcode"]]
        rows = pd.concat([frame[frame["adcode"].isin(units)], pd.DataFrame([row])])
        return rows.reset_index(drop=True), units, 0
    old = _facility(frame, edit.facility_id)
    units = [str(old["adcode"])]
    rows = frame[frame["adcode"].isin(units)].copy()
    at = rows["facility_id"] == old["facility_id"]
    if edit.action == "close":
        if not edit.closed_on or not edit.reason.strip():
            msg = "closing a facility needs the date it closed and a reason"
            raise EditError(msg, key="problem.edit.close_needs")
        return rows[~at].reset_index(drop=True), units, 1
    if edit.action == "rename":
        if not edit.name.strip():
            raise EditError("give the new name", key="problem.edit.new_name")
        rows.loc[at, "name"] = edit.name.strip()
        return rows.reset_index(drop=True), units, 0
    county = _place(counties, edit.lon, edit.lat)  # move
    rows.loc[at, ["lon", "lat", "datum"]] = [float(edit.lon), float(edit.lat), "wgs84"]
    if str(county["adcode"]) != units[0]:  # across a border: close here, add there
        moved = rows[at].assign(
            adcode=str(county["adcode"]),
            county=str(county["name"]),
            prefecture=str(county["prefecture"]),
        )
        units.append(str(county["adcode"]))
        there = frame[frame["adcode"] == units[1]]
        rows = pd.concat([rows[~at], there, moved])
    return rows.reset_index(drop=True), units, 0


def _covering_area(tree, units: list[str]) -> str:
    """The smallest area of the region that covers every unit."""
    if len(units) == 1:
        return units[0]
    prefectures = set(tree.prefecture_of(pd.Series(units)))
    return prefectures.pop() if len(prefectures) == 1 else tree.region


def apply_edit(store, edit: Edit, *, user: object, period: object, counties: gpd.GeoDataFrame):
    """Submit ``edit`` (a :class:`~geoapp.store.submissions.Submission` comes back:
    pending, or approved with review off). PermissionError when the steward's area
    does not cover the units the edit touches; EditError for an edit that cannot be
    made; the store's errors otherwise."""
    tree = store.area_tree()
    rows, units, closes = edit_rows(store.facilities(), counties, edit)
    area = _covering_area(tree, units)
    if len(units) > 1:  # the whole covering area is replaced: give all of its rows
        current = store.facilities()
        inside = tree.units(area)
        others = current[current["adcode"].isin(inside) & ~current["adcode"].isin(units)]
        rows = pd.concat([pd.DataFrame(others[list(FACILITY_COLUMNS)]), rows], ignore_index=True)
    return store.submit(
        "facilities",
        rows,
        user=user,
        period=period,
        area=area,
        file_name=f"edit: {edit.action}",
        confirm_closures=closes,
        note=edit.note(),
    )
