"""What changed between two facility registers: added, removed, moved and changed rows.

:func:`diff_facility_frames` compares two frames in the facility schema, matched by
``facility_id`` (the n-th repeat of an id with the n-th), in named steps a test can
call: key the rows, match them, measure the moves (geodesic, WGS84 ellipsoid), list the
changed attributes. :meth:`geoapp.store.Store.diff_facilities` runs it on two stored
versions.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from geoapp.schema import FACILITY_COLUMNS

__all__ = ["MOVE_THRESHOLD_M", "FacilityDiff", "diff_facility_frames"]

#: A facility whose point moved less than this (geodesic, metres) has not moved.
MOVE_THRESHOLD_M = 50.0

_GEOD = pyproj.Geod(ellps="WGS84")
_CHANGED_COLUMNS = ["facility_id", "name", "column", "before", "after"]


@dataclass(frozen=True, eq=False)
class FacilityDiff:
    """What changed between two facility versions (``before`` -> ``after``).

    Facilities are matched by ``facility_id`` (the n-th repeat of an id with the n-th).

    Attributes
    ----------
    before, after : int or None
        The version ids compared (None for frames given directly).
    added, removed : GeoDataFrame
        Rows only in ``after`` / only in ``before`` (the facility schema).
    moved : DataFrame
        ``facility_id, name, facility_type, adcode_before, adcode_after, lon_before,
        lat_before, lon_after, lat_after, distance_m``: matched facilities whose point
        moved more than ``threshold_m`` (geodesic, WGS84 ellipsoid), farthest first.
    changed : DataFrame
        ``facility_id, name, column, before, after``: one row per changed attribute of a
        matched facility (coordinates count only when gained or lost: ``column`` is
        ``lon/lat``; moves are in ``moved``).
    unchanged : int
        Matched facilities with no change at all (moves under the threshold included).
    threshold_m : float
    """

    before: int | None
    after: int | None
    added: gpd.GeoDataFrame
    removed: gpd.GeoDataFrame
    moved: pd.DataFrame
    changed: pd.DataFrame
    unchanged: int
    threshold_m: float = MOVE_THRESHOLD_M

    def summary(self) -> dict[str, int]:
        return {
            "added": len(self.added),
            "removed": len(self.removed),
            "moved": len(self.moved),
            "changed": int(self.changed["facility_id"].nunique()) if len(self.changed) else 0,
            "unchanged": self.unchanged,
        }


@dataclass(frozen=True, eq=False)
class _Matched:
    """Facilities in both frames, one row each (``<column>_before``, ``<column>_after``),
    with their coordinates and the geodesic distance between them (NaN when either
    side has no point)."""

    both: pd.DataFrame
    lon_a: np.ndarray
    lat_a: np.ndarray
    lon_b: np.ndarray
    lat_b: np.ndarray
    has_a: np.ndarray
    has_b: np.ndarray
    distance: np.ndarray

    def column(self, name: str, side: str) -> pd.Series:
        key = f"{name}_{side}"
        return self.both[key] if key in self.both.columns else pd.Series("", index=self.both.index)


def diff_facility_frames(
    before: pd.DataFrame,
    after: pd.DataFrame,
    *,
    threshold_m: float = MOVE_THRESHOLD_M,
    versions: tuple[int | None, int | None] = (None, None),
) -> FacilityDiff:
    """Compare two facility frames (the facility schema), matched by ``facility_id``.

    Examples
    --------
    >>> a = pd.DataFrame({"facility_id": ["x"], "name": ["甲"], "lon": [125.0], "lat": [43.0]})
    >>> b = a.assign(lon=125.004)  # about 325 m east
    >>> d = diff_facility_frames(a, b)
    >>> d.moved["distance_m"].round(-1).tolist(), d.unchanged
    ([330.0], 0)
    """
    _check_inputs(before, after, threshold_m=threshold_m)
    a, b = _keyed(before), _keyed(after)
    matched = _match(a, b)
    moved, moved_mask = _moves(matched, threshold_m=threshold_m)
    changed, changed_any = _changes(matched)
    return FacilityDiff(
        before=versions[0],
        after=versions[1],
        added=_rows(after, ~b["_key"].isin(a["_key"]).to_numpy()),
        removed=_rows(before, ~a["_key"].isin(b["_key"]).to_numpy()),
        moved=moved,
        changed=changed,
        unchanged=int((~changed_any & ~moved_mask).sum()),
        threshold_m=threshold_m,
    )


def _check_inputs(before: pd.DataFrame, after: pd.DataFrame, *, threshold_m: float) -> None:
    if threshold_m < 0:
        msg = f"threshold_m must be >= 0, got {threshold_m}"
        raise ValueError(msg)
    for what, frame in (("before", before), ("after", after)):
        missing = [c for c in ("facility_id", "lon", "lat") if c not in frame.columns]
        if missing:
            msg = f"{what} lacks column(s) {missing}"
            raise ValueError(msg)


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without geometry, with ``_key``: the id and its repeat number."""
    out = pd.DataFrame(frame.drop(columns="geometry", errors="ignore")).reset_index(drop=True)
    out["_key"] = (
        out["facility_id"].astype(str) + "\x00" + out.groupby("facility_id").cumcount().astype(str)
    )
    return out


def _rows(frame: pd.DataFrame, mask: np.ndarray) -> gpd.GeoDataFrame:
    """The rows of ``frame`` under ``mask``, as a GeoDataFrame with a fresh index."""
    if isinstance(frame, gpd.GeoDataFrame):
        return frame.reset_index(drop=True)[mask].reset_index(drop=True)
    return gpd.GeoDataFrame(pd.DataFrame(frame).reset_index(drop=True)[mask].reset_index(drop=True))


def _match(a: pd.DataFrame, b: pd.DataFrame) -> _Matched:
    """The facilities of both keyed frames, side by side, with how far each moved."""
    both = a.merge(b, on="_key", suffixes=("_before", "_after"))
    lon_a, lat_a = both["lon_before"].to_numpy(float), both["lat_before"].to_numpy(float)
    lon_b, lat_b = both["lon_after"].to_numpy(float), both["lat_after"].to_numpy(float)
    has_a = ~np.isnan(lon_a) & ~np.isnan(lat_a)
    has_b = ~np.isnan(lon_b) & ~np.isnan(lat_b)
    dist = np.full(len(both), np.nan)
    pts = has_a & has_b
    if pts.any():
        _, _, dist[pts] = _GEOD.inv(lon_a[pts], lat_a[pts], lon_b[pts], lat_b[pts])
    return _Matched(
        both=both,
        lon_a=lon_a,
        lat_a=lat_a,
        lon_b=lon_b,
        lat_b=lat_b,
        has_a=has_a,
        has_b=has_b,
        distance=dist,
    )


def _moves(m: _Matched, *, threshold_m: float) -> tuple[pd.DataFrame, np.ndarray]:
    """The facilities that moved more than ``threshold_m``, farthest first, and the mask."""
    moved_mask = m.has_a & m.has_b & (m.distance > threshold_m)
    col = m.column
    moved = (
        pd.DataFrame(
            {
                "facility_id": col("facility_id", "before"),
                "name": col("name", "after"),
                "facility_type": col("facility_type", "after"),
                "adcode_before": col("adcode", "before"),
                "adcode_after": col("adcode", "after"),
                "lon_before": m.lon_a,
                "lat_before": m.lat_a,
                "lon_after": m.lon_b,
                "lat_after": m.lat_b,
                "distance_m": m.distance,
            }
        )[moved_mask]
        .sort_values("distance_m", ascending=False)
        .reset_index(drop=True)
    )
    return moved, moved_mask


def _changes(m: _Matched) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per changed attribute (a point gained or lost counts as ``lon/lat``), and
    the mask of matched facilities with any change."""
    both, col = m.both, m.column
    compared = [
        c
        for c in FACILITY_COLUMNS
        if c not in ("facility_id", "lon", "lat")
        and f"{c}_before" in both.columns
        and f"{c}_after" in both.columns
    ]
    changes = []
    changed_any = np.zeros(len(both), dtype=bool)
    for c in compared:
        x, y = both[f"{c}_before"], both[f"{c}_after"]
        differs = ~((x == y) | (x.isna() & y.isna())).to_numpy()
        changed_any |= differs
        if differs.any():
            changes.append(
                pd.DataFrame(
                    {
                        "facility_id": both["facility_id_before"][differs],
                        "name": col("name", "after")[differs],
                        "column": c,
                        "before": x[differs].astype(str),
                        "after": y[differs].astype(str),
                    }
                )
            )
    gained_or_lost = m.has_a != m.has_b
    if gained_or_lost.any():
        g = gained_or_lost
        changes.append(
            pd.DataFrame(
                {
                    "facility_id": both["facility_id_before"][g],
                    "name": col("name", "after")[g],
                    "column": "lon/lat",
                    "before": _where(m.lon_a[g], m.lat_a[g], m.has_a[g]),
                    "after": _where(m.lon_b[g], m.lat_b[g], m.has_b[g]),
                }
            )
        )
        changed_any |= gained_or_lost
    changed = (
        pd.concat(changes, ignore_index=True) if changes else pd.DataFrame(columns=_CHANGED_COLUMNS)
    )
    return changed, changed_any


def _where(lon: np.ndarray, lat: np.ndarray, has: np.ndarray) -> list[str]:
    return [f"{x:.6f}, {y:.6f}" if h else "" for x, y, h in zip(lon, lat, has, strict=True)]
