"""The versioned data store: every accepted register becomes a version, never an overwrite.

One GeoPackage file (:func:`geoapp.settings.store_path`, default ``var/geoapp.gpkg``)
holds every version of the facility register and of the unemployed-disabled counts, a
pointer to the current version of each, and an audit log. It is created from the
embedded demo data on first open (version 1 of both datasets, ``as_of`` =
:data:`geoapp.demo.AS_OF`, audit event ``init`` by ``system``).

The file is a real GeoPackage (written here with the ``gpkg_*`` tables of the
standard, no GDAL needed), so GDAL and QGIS open it:

=====================  ==========  =================================================
table                  gpkg type   what
=====================  ==========  =================================================
``facilities``         features    every version's facility rows: ``fid``, ``geom``
                                   (POINT, EPSG:4326, GeoPackage binary header + WKB;
                                   NULL without coordinates), ``version_id`` and
                                   :data:`~geoapp.datasource.FACILITY_COLUMNS`
``current_facilities`` features    a view: the rows of the current facility version
``unemployed``         attributes  ``fid, version_id`` + :data:`UNEMPLOYED_COLUMNS`
``versions``           attributes  ``dataset, version_id`` (numbered per dataset from
                                   1), ``as_of`` (the quarter the register describes),
                                   ``created_at, created_by, source_file,
                                   source_sha256, row_count, parent, note``
``current``            attributes  ``dataset -> version_id``: the pointer
``audit``              attributes  ``event_id, at, who, action`` (init, upload,
                                   rollback, rejected_upload), ``dataset, file_name,
                                   file_size, file_sha256, accepted, flagged,
                                   rejected, version_id, previous_version, note``
``geoapp_meta``        attributes  ``region``, ``schema_version``
=====================  ==========  =================================================

Rows are append-only: triggers refuse UPDATE and DELETE on the version, row and audit
tables; only the ``current`` pointer moves.

Atomicity. Every write (a version with its rows, the pointer and the audit event) is
one SQLite transaction (``BEGIN IMMEDIATE ... COMMIT``) in WAL mode with
``synchronous=FULL``: a writer killed in the middle leaves uncommitted pages in the
write-ahead log, which SQLite ignores on the next open, so the previous version stays
current and intact. Readers read the pointer and the rows in one read transaction (a
WAL snapshot), so several browser sessions never see half a version, and they never
wait for a writer. Each call opens its own connection, so one :class:`Store` can be
shared between threads (``st.cache_resource``).

Permissions. Uploading, rolling back and reading the audit log take a ``user`` that
must be a signed-in data steward (:func:`geoapp.auth.verify`); anything else raises
:class:`PermissionError`. Reading data and versions is open (the dashboard decides
whether viewing needs sign-in, :data:`geoapp.settings.VIEW_REQUIRES_SIGNIN`).

Uploads. :func:`check_upload` refuses, before any parsing, files over
:data:`geoapp.settings.MAX_UPLOAD_BYTES`, names other than ``.csv``/``.xlsx``, content
that is not what the name says, zip bombs, workbooks linking to other workbooks,
macros, encrypted parts and XML with a DTD. Workbooks are then read by
:mod:`geoapp.registers` with openpyxl ``data_only=True`` (the values Excel cached;
formulas are never evaluated) and, with ``defusedxml`` installed, openpyxl parses XML
defensively. Uploaded bytes are never written to disk, and the user's file name is only
a label in the audit log, never a path.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import re
import sqlite3
import struct
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from geoapp import auth, demo, regions, settings
from geoapp.facilities import FACILITY_TYPES
from geoapp.paths import DEMO_DIR
from geoapp.schema import (
    ACTIONS,
    DATASETS,
    FACILITY_COLUMNS,
    FACILITY_TEXT_COLUMNS,
    UNEMPLOYED_COLUMNS,
)
from geoapp.upload_check import (  # the upload gate; store.check_upload etc. stay valid
    MAX_COMPRESSION_RATIO,
    MAX_UNCOMPRESSED_BYTES,
    UploadError,
    check_upload,
    display_name,
)

if TYPE_CHECKING:
    from geoapp.admin import AdminRegistry
    from geoapp.datasource import DataSource
    from geoapp.policy import Policy
    from geoapp.registers import CountImport, FacilityImport

__all__ = [
    "ACTIONS",
    "DATASETS",
    "MAX_COMPRESSION_RATIO",
    "MAX_UNCOMPRESSED_BYTES",
    "MOVE_THRESHOLD_M",
    "UNEMPLOYED_COLUMNS",
    "AsOfWarning",
    "FacilityDiff",
    "Store",
    "StoreError",
    "UploadError",
    "UploadResult",
    "as_of_note",
    "check_upload",
    "diff_facility_frames",
    "display_name",
    "parse_as_of",
]

#: A facility whose point moved less than this (geodesic, metres) has not moved.
MOVE_THRESHOLD_M = 50.0
SCHEMA_VERSION = "1"

_GEOD = pyproj.Geod(ellps="WGS84")
_APPLICATION_ID = 0x47504B47  # "GPKG"
_GPKG_VERSION = 10300  # GeoPackage 1.3
# GeoPackage binary header: "GP", version 0, flags 0b00000001 (little-endian, no
# envelope, not empty, standard), srs_id 4326; then a little-endian WKB point.
_POINT_HEADER = b"GP\x00\x01" + struct.pack("<i", 4326)
_WKB_POINT = struct.Struct("<BIdd")
_FACILITY_TEXT = FACILITY_TEXT_COLUMNS
_UNEMPLOYED_TEXT = ("adcode", "prefecture", "county", "method")
_INSERT_CHUNK = 5_000


class StoreError(ValueError):
    """A store file or a version that cannot be used; the message says which and why.

    Failures of the file itself (disk full, read-only file or folder, not an SQLite
    file, damaged, locked by another writer) name the file, say what could not be done
    and give SQLite's own words, chained to the :class:`sqlite3.Error`. A write that
    fails leaves the previous data as they were.
    """


class AsOfWarning(UserWarning):
    """An ``as_of`` date that is accepted but unusual (not a quarter end, in the future)."""


# --- small public helpers -------------------------------------------------------------------


def parse_as_of(value: object) -> str:
    """The ISO date (``YYYY-MM-DD``) of ``value``: a date, datetime or ISO date text.

    Raises
    ------
    ValueError
        For anything else; the message shows what was given.
    """
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", value):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError as exc:
            msg = f"as_of {value!r} is not a valid date ({exc})"
            raise ValueError(msg) from None
    msg = (f"as_of {value!r} is not a date; give the quarter end the register describes, "
           "e.g. 2025-12-31")  # fmt: skip
    raise ValueError(msg)


def as_of_note(as_of: object, *, today: date | None = None) -> str | None:
    """A sentence when ``as_of`` is unusual (not a quarter end, or in the future), else None."""
    day = date.fromisoformat(parse_as_of(as_of))
    notes = []
    if (day.month, day.day) not in ((3, 31), (6, 30), (9, 30), (12, 31)):
        notes.append(f"as_of {day} is not a quarter end (03-31, 06-30, 09-30, 12-31); "
                     "recorded as given")  # fmt: skip
    if day > (today or date.today()):
        notes.append(f"as_of {day} is in the future")
    return "; ".join(notes) or None


def _now() -> str:
    # GeoPackage DATETIME: ISO 8601 in UTC with milliseconds and Z.
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- results -----------------------------------------------------------------------------------


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
class UploadResult:
    """What :meth:`Store.upload` did with a file.

    ``version_id`` is None when the register had no valid row (no version was made; the
    attempt is in the audit log), or, in :meth:`Store.upload_many`, when another file of
    the same import was not usable: ``withheld`` then says which. ``imported`` is the
    reader's result, with its row-by-row ``report`` and ``summary()``; ``as_of_note``
    says when the date is unusual.
    """

    dataset: str
    file_name: str
    kind: str
    version_id: int | None
    as_of: str
    as_of_note: str | None
    imported: FacilityImport | CountImport
    withheld: str | None = None

    @property
    def accepted(self) -> bool:
        return self.version_id is not None

    def summary(self) -> str:
        lines = [self.imported.summary()]
        if self.version_id is None and self.withheld:
            lines.append("同一次导入的其他文件未被接受，本文件也未生成新版本。")
            lines.append(f"No {self.dataset} version was made: {self.withheld}.")
        elif self.version_id is None:
            lines.append("没有有效行，未生成新版本。")
            lines.append(f"No valid row: no {self.dataset} version was made.")
        else:
            zh = {"facilities": "设施", "unemployed": "未就业残疾人数"}[self.dataset]
            lines.append(f"已生成{zh}第 {self.version_id} 版（截至 {self.as_of}）。")
            lines.append(f"{self.dataset} version {self.version_id} (as of {self.as_of}) "
                         "is now current.")  # fmt: skip
        if self.as_of_note:
            lines.append(self.as_of_note)
        return "\n".join(lines)


# --- schema --------------------------------------------------------------------------------------

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)


def _facility_columns_sql() -> str:
    types = {"lon": "REAL", "lat": "REAL", "is_demo": "BOOLEAN NOT NULL"}
    return ",\n  ".join(f"{c} {types.get(c, 'TEXT NOT NULL')}" for c in FACILITY_COLUMNS)


_APPEND_ONLY = ("versions", "facilities", "unemployed", "audit", "geoapp_meta")

_SCHEMA = f"""
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));

CREATE TABLE geoapp_meta (
  fid INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, value TEXT NOT NULL);
CREATE TABLE versions (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  dataset TEXT NOT NULL CHECK (dataset IN ('facilities', 'unemployed')),
  version_id INTEGER NOT NULL,
  as_of DATE NOT NULL,
  created_at DATETIME NOT NULL,
  created_by TEXT NOT NULL,
  source_file TEXT,
  source_sha256 TEXT,
  row_count INTEGER NOT NULL,
  parent INTEGER,
  note TEXT NOT NULL DEFAULT '',
  UNIQUE (dataset, version_id));
CREATE TABLE "current" (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  dataset TEXT NOT NULL UNIQUE CHECK (dataset IN ('facilities', 'unemployed')),
  version_id INTEGER NOT NULL,
  updated_at DATETIME NOT NULL);
CREATE TABLE facilities (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom POINT,
  version_id INTEGER NOT NULL,
  {_facility_columns_sql()});
CREATE INDEX facilities_version ON facilities (version_id);
CREATE TABLE unemployed (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  version_id INTEGER NOT NULL,
  adcode TEXT NOT NULL, prefecture TEXT NOT NULL, county TEXT NOT NULL,
  unemployed_disabled INTEGER NOT NULL, is_demo BOOLEAN NOT NULL, method TEXT NOT NULL);
CREATE INDEX unemployed_version ON unemployed (version_id);
CREATE TABLE audit (
  event_id INTEGER PRIMARY KEY AUTOINCREMENT,
  at DATETIME NOT NULL,
  who TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('init', 'upload', 'rollback', 'rejected_upload')),
  dataset TEXT,
  file_name TEXT, file_size INTEGER, file_sha256 TEXT,
  accepted INTEGER, flagged INTEGER, rejected INTEGER,
  version_id INTEGER, previous_version INTEGER,
  note TEXT NOT NULL DEFAULT '');
CREATE VIEW current_facilities AS
  SELECT f.fid AS fid, f.geom AS geom, f.version_id AS version_id,
         {", ".join(f"f.{c} AS {c}" for c in FACILITY_COLUMNS)}
  FROM facilities f JOIN "current" c ON c.dataset = 'facilities' AND f.version_id = c.version_id;
""" + "".join(
    f"CREATE TRIGGER {t}_no_update BEFORE UPDATE ON {t} "
    f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: versions are never overwritten'); END;\n"
    f"CREATE TRIGGER {t}_no_delete BEFORE DELETE ON {t} "
    f"BEGIN SELECT RAISE(ABORT, '{t} is append-only: versions are never deleted'); END;\n"
    for t in _APPEND_ONLY
)

_CONTENTS = (
    ("facilities", "features", "geoapp facilities, every version (filter on version_id)"),
    ("current_facilities", "features", "geoapp facilities, current version"),
    ("unemployed", "attributes", "unemployed disabled people per county, every version"),
    ("versions", "attributes", "versions of each dataset"),
    ("current", "attributes", "current version of each dataset"),
    ("audit", "attributes", "audit log: uploads, rollbacks, refused uploads"),
    ("geoapp_meta", "attributes", "store metadata"),
)


def _point_blob(x: float, y: float) -> bytes:
    return _POINT_HEADER + _WKB_POINT.pack(1, 1, x, y)


# --- frames in and out -------------------------------------------------------------------------


def _text(values: pd.Series) -> list[str]:
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in values]


def _check_facility_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        msg = (f"facilities must be a DataFrame with {list(FACILITY_COLUMNS)}, "
               f"got {type(frame).__name__}")  # fmt: skip
        raise TypeError(msg)
    missing = [c for c in FACILITY_COLUMNS if c not in frame.columns]
    if missing:
        msg = f"facilities lack column(s) {missing}; expected {list(FACILITY_COLUMNS)}"
        raise ValueError(msg)
    out = pd.DataFrame({c: _text(frame[c]) for c in _FACILITY_TEXT}, index=range(len(frame)))
    for c in ("lon", "lat"):
        out[c] = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        bad = frame[c].notna().to_numpy() & np.isnan(out[c].to_numpy())
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            msg = f"facilities: {c} of row {i} is not a number: {frame[c].iloc[i]!r}"
            raise ValueError(msg)
    lon, lat = out["lon"].to_numpy(), out["lat"].to_numpy()
    half = np.isnan(lon) != np.isnan(lat)
    outside = ~np.isnan(lon) & ~np.isnan(lat) & ((np.abs(lon) > 180) | (np.abs(lat) > 90))
    if (half | outside).any():
        i = int(np.flatnonzero(half | outside)[0])
        msg = (f"facilities: row {i} has lon={lon[i]}, lat={lat[i]}; "
               "expected both WGS84 degrees or both empty")  # fmt: skip
        raise ValueError(msg)
    unknown = sorted(set(out["facility_type"]) - set(FACILITY_TYPES))
    if unknown:
        msg = f"facilities: unknown facility_type {unknown}; expected one of {list(FACILITY_TYPES)}"
        raise ValueError(msg)
    out["is_demo"] = frame["is_demo"].fillna(False).astype(bool).to_numpy()
    return out[list(FACILITY_COLUMNS)]


def _check_unemployed_frame(frame: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        msg = (f"unemployed must be a DataFrame with {list(UNEMPLOYED_COLUMNS)}, "
               f"got {type(frame).__name__}")  # fmt: skip
        raise TypeError(msg)
    missing = [c for c in ("adcode", "unemployed_disabled") if c not in frame.columns]
    if missing:
        msg = f"unemployed lacks column(s) {missing}; expected {list(UNEMPLOYED_COLUMNS)}"
        raise ValueError(msg)
    n = len(frame)
    out = pd.DataFrame(
        {c: _text(frame[c]) if c in frame.columns else [""] * n for c in _UNEMPLOYED_TEXT},
        index=range(n),
    )
    counts = pd.to_numeric(frame["unemployed_disabled"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(counts) | (counts < 0) | (counts != np.round(counts))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = (f"unemployed: unemployed_disabled of row {i} ({out['adcode'].iloc[i]}) is "
               f"{frame['unemployed_disabled'].iloc[i]!r}; "
               "expected a whole number >= 0")  # fmt: skip
        raise ValueError(msg)
    repeated = sorted(set(out.loc[out["adcode"].duplicated(), "adcode"]))
    if repeated:
        msg = f"unemployed: several rows for adcode(s) {repeated}; expected one per county"
        raise ValueError(msg)
    out["unemployed_disabled"] = counts.astype("int64")
    demo_flags = (
        frame["is_demo"] if "is_demo" in frame.columns else pd.Series(False, index=frame.index)
    )
    out["is_demo"] = demo_flags.fillna(False).astype(bool).to_numpy()
    return out[list(UNEMPLOYED_COLUMNS)]


def _facility_records(frame: pd.DataFrame, version_id: int) -> Iterator[tuple]:
    """Rows to insert: (version_id, geom, *FACILITY_COLUMNS), lazily."""
    columns = [frame[c].tolist() for c in FACILITY_COLUMNS]
    lon_i, lat_i, demo_i = (FACILITY_COLUMNS.index(c) for c in ("lon", "lat", "is_demo"))
    for values in zip(*columns, strict=True):
        x, y = values[lon_i], values[lat_i]
        on_map = not (math.isnan(x) or math.isnan(y))
        row = list(values)
        if not on_map:
            row[lon_i] = row[lat_i] = None
        row[demo_i] = int(bool(row[demo_i]))
        yield (version_id, _point_blob(x, y) if on_map else None, *row)


def _unemployed_records(frame: pd.DataFrame, version_id: int) -> Iterator[tuple]:
    columns = [frame[c].tolist() for c in UNEMPLOYED_COLUMNS]
    demo_i = UNEMPLOYED_COLUMNS.index("is_demo")
    for values in zip(*columns, strict=True):
        row = list(values)
        row[demo_i] = int(bool(row[demo_i]))
        yield (version_id, *row)


def _facility_frame(rows: list[tuple]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame.from_records(rows, columns=list(FACILITY_COLUMNS))
    for c in _FACILITY_TEXT:  # the dtype read_csv(dtype=str) gives (str in pandas 3)
        frame[c] = frame[c].astype(str)
    frame["lon"] = frame["lon"].astype("float64")
    frame["lat"] = frame["lat"].astype("float64")
    frame["is_demo"] = frame["is_demo"].astype(bool)
    on_map = frame["lon"].notna().to_numpy() & frame["lat"].notna().to_numpy()
    if on_map.all():
        geometry = gpd.points_from_xy(frame["lon"], frame["lat"], crs="EPSG:4326")
    else:
        points = np.full(len(frame), None, dtype=object)
        points[on_map] = gpd.points_from_xy(frame["lon"][on_map], frame["lat"][on_map])
        geometry = gpd.GeoSeries(points, crs="EPSG:4326").values
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def _unemployed_frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=list(UNEMPLOYED_COLUMNS))
    for c in _UNEMPLOYED_TEXT:
        frame[c] = frame[c].astype(str)
    frame["unemployed_disabled"] = frame["unemployed_disabled"].astype("int64")
    frame["is_demo"] = frame["is_demo"].astype(bool)
    return frame


def _check_dataset(dataset: str) -> str:
    if dataset not in DATASETS:
        msg = f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}"
        raise ValueError(msg)
    return dataset


# --- diffs -------------------------------------------------------------------------------------


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
    if threshold_m < 0:
        msg = f"threshold_m must be >= 0, got {threshold_m}"
        raise ValueError(msg)
    for what, frame in (("before", before), ("after", after)):
        missing = [c for c in ("facility_id", "lon", "lat") if c not in frame.columns]
        if missing:
            msg = f"{what} lacks column(s) {missing}"
            raise ValueError(msg)

    def keyed(frame: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(frame.drop(columns="geometry", errors="ignore")).reset_index(drop=True)
        out["_key"] = out["facility_id"].astype(str) + "\x00" + \
            out.groupby("facility_id").cumcount().astype(str)  # fmt: skip
        return out

    a, b = keyed(before), keyed(after)
    added_mask = ~b["_key"].isin(a["_key"]).to_numpy()
    removed_mask = ~a["_key"].isin(b["_key"]).to_numpy()

    def rows(frame: pd.DataFrame, mask: np.ndarray) -> gpd.GeoDataFrame:
        if isinstance(frame, gpd.GeoDataFrame):
            return frame.reset_index(drop=True)[mask].reset_index(drop=True)
        return gpd.GeoDataFrame(
            pd.DataFrame(frame).reset_index(drop=True)[mask].reset_index(drop=True)
        )

    both = a.merge(b, on="_key", suffixes=("_before", "_after"))
    lon_a, lat_a = both["lon_before"].to_numpy(float), both["lat_before"].to_numpy(float)
    lon_b, lat_b = both["lon_after"].to_numpy(float), both["lat_after"].to_numpy(float)
    has_a = ~np.isnan(lon_a) & ~np.isnan(lat_a)
    has_b = ~np.isnan(lon_b) & ~np.isnan(lat_b)
    dist = np.full(len(both), np.nan)
    pts = has_a & has_b
    if pts.any():
        _, _, dist[pts] = _GEOD.inv(lon_a[pts], lat_a[pts], lon_b[pts], lat_b[pts])
    moved_mask = pts & (dist > threshold_m)

    def col(name: str, side: str) -> pd.Series:
        key = f"{name}_{side}"
        return both[key] if key in both.columns else pd.Series("", index=both.index)

    moved = pd.DataFrame({
        "facility_id": col("facility_id", "before"), "name": col("name", "after"),
        "facility_type": col("facility_type", "after"),
        "adcode_before": col("adcode", "before"), "adcode_after": col("adcode", "after"),
        "lon_before": lon_a, "lat_before": lat_a, "lon_after": lon_b, "lat_after": lat_b,
        "distance_m": dist,
    })[moved_mask].sort_values("distance_m", ascending=False).reset_index(drop=True)  # fmt: skip

    compared = [c for c in FACILITY_COLUMNS if c not in ("facility_id", "lon", "lat")
                and f"{c}_before" in both.columns and f"{c}_after" in both.columns]  # fmt: skip
    changes = []
    changed_any = np.zeros(len(both), dtype=bool)
    for c in compared:
        x, y = both[f"{c}_before"], both[f"{c}_after"]
        differs = ~((x == y) | (x.isna() & y.isna())).to_numpy()
        changed_any |= differs
        if differs.any():
            changes.append(pd.DataFrame({
                "facility_id": both["facility_id_before"][differs],
                "name": col("name", "after")[differs], "column": c,
                "before": x[differs].astype(str), "after": y[differs].astype(str),
            }))  # fmt: skip
    gained_or_lost = has_a != has_b
    if gained_or_lost.any():

        def where(lon: np.ndarray, lat: np.ndarray, has: np.ndarray) -> list[str]:
            return [f"{x:.6f}, {y:.6f}" if h else "" for x, y, h in zip(lon, lat, has, strict=True)]

        m = gained_or_lost
        changes.append(pd.DataFrame({
            "facility_id": both["facility_id_before"][m], "name": col("name", "after")[m],
            "column": "lon/lat", "before": where(lon_a[m], lat_a[m], has_a[m]),
            "after": where(lon_b[m], lat_b[m], has_b[m]),
        }))  # fmt: skip
        changed_any |= gained_or_lost
    changed = (pd.concat(changes, ignore_index=True) if changes else
               pd.DataFrame(columns=["facility_id", "name", "column", "before",
                                     "after"]))  # fmt: skip
    return FacilityDiff(
        before=versions[0], after=versions[1],
        added=rows(after, added_mask), removed=rows(before, removed_mask),
        moved=moved, changed=changed,
        unchanged=int((~changed_any & ~moved_mask).sum()), threshold_m=threshold_m,
    )  # fmt: skip


# --- the store ----------------------------------------------------------------------------------

#: What a user can do about an SQLite failure, by its primary result code.
_SQLITE_HINTS = {
    "SQLITE_FULL": "the disk is full; free some space and try again",
    "SQLITE_READONLY": "the store file, its folder or the disk is read-only; "
                       "the store needs write access to both",
    "SQLITE_BUSY": "another program is writing to the store; try again in a minute",
    "SQLITE_LOCKED": "another program is writing to the store; try again in a minute",
    "SQLITE_NOTADB": "not a geoapp store; give another path, or restore the file from a backup",
    "SQLITE_CORRUPT": "the file is damaged; restore it from a backup",
    "SQLITE_CANTOPEN": "check that the folder exists and can be written (SQLite keeps "
                       "-wal and -shm files beside the store)",
    "SQLITE_IOERR": "the disk reported an error; check it and try again",
}  # fmt: skip
_ALL_OR_NOTHING = "the files of one import are stored together or not at all"


def _rollback(con: sqlite3.Connection) -> None:
    """Roll back what is still open. After SQLITE_FULL, SQLITE_IOERR and the like SQLite
    has rolled back already, and a second failure must not hide the first."""
    if con.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")


@dataclass(frozen=True, eq=False)
class _Pending:
    """A checked version waiting for its transaction, with what the audit log records."""

    dataset: str
    frame: pd.DataFrame
    file_name: str
    file_bytes: bytes | None
    counts: tuple[int, int, int]
    note: str


def _pending(
    dataset: str,
    frame: pd.DataFrame,
    *,
    file_name: str,
    file_bytes: bytes | None,
    counts: tuple[int, int, int],
    note: str,
) -> _Pending:
    """Check a version's rows and audit fields; TypeError/ValueError for anything off."""
    accepted, flagged, rejected = (int(c) for c in counts)
    if min(accepted, flagged, rejected) < 0:
        msg = f"accepted, flagged and rejected must be >= 0, got {(accepted, flagged, rejected)}"
        raise ValueError(msg)
    if file_bytes is not None and not isinstance(file_bytes, (bytes, bytearray, memoryview)):
        msg = f"file_bytes must be the uploaded bytes (or None), got {type(file_bytes).__name__}"
        raise TypeError(msg)
    check = _check_facility_frame if dataset == "facilities" else _check_unemployed_frame
    return _Pending(
        dataset=dataset, frame=check(frame), file_name=display_name(file_name),
        file_bytes=bytes(file_bytes) if file_bytes is not None else None,
        counts=(accepted, flagged, rejected), note=note,
    )  # fmt: skip


class Store:
    """A versioned GeoPackage store of one region's facilities and unemployed counts.

    Open it with :meth:`Store.open`; see the module docstring for the layout and the
    guarantees.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> store = Store.open(pathlib.Path(tempfile.mkdtemp()) / "s.gpkg")
    >>> store.current_version("facilities"), len(store.facilities()) > 400
    (1, True)
    """

    def __init__(self, path: Path, region: str) -> None:
        self.path = Path(path)
        self.region = str(region)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, region={self.region!r})"

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        region: str = regions.DEFAULT_REGION,
        seed: DataSource | None = None,
    ) -> Store:
        """Open the store at ``path``, creating it from the embedded demo data if needed.

        Parameters
        ----------
        path : path, optional
            The GeoPackage; :func:`geoapp.settings.store_path` of ``region`` by default.
            Its folder is created if needed.
        region : str
            Region adcode; a store holds one region and refuses another.
        seed : DataSource, optional
            Where a new store takes version 1 from; the region's embedded demo data
            (:class:`~geoapp.datasource.EmbeddedSource`) by default.

        Raises
        ------
        StoreError
            The file is not a geoapp store, holds another region, or no seed data exist.
        """
        target = Path(path) if path is not None else settings.store_path(region)
        store = cls(target, str(region))
        store._initialise(seed)
        return store

    def _failure(self, exc: sqlite3.Error, doing: str, *, write: bool = False) -> StoreError:
        """The StoreError for an SQLite failure: the file, what failed, SQLite's words, and
        what the user can do. Raise it ``from exc``."""
        code = "_".join(str(getattr(exc, "sqlite_errorname", "")).split("_")[:2])
        parts = [f"{self.path}: cannot {doing}: {exc}"]
        if code in _SQLITE_HINTS:
            parts.append(_SQLITE_HINTS[code])
        if write:
            parts.append("nothing was written; the previous data are unchanged")
        return StoreError("; ".join(parts))

    def _connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._failure(exc, "open the store") from exc
        try:
            con.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut too
            con.execute("PRAGMA journal_size_limit=67108864")  # shrink the WAL after big writes
        except sqlite3.Error as exc:
            con.close()
            raise self._failure(exc, "open the store") from exc
        return con

    @contextlib.contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[sqlite3.Connection]:
        """One transaction: ``BEGIN IMMEDIATE`` for writes (one writer at a time), a
        deferred ``BEGIN`` for reads (a WAL snapshot: the pointer and the rows agree).

        An SQLite failure becomes a :class:`StoreError` naming the file and the cause;
        anything raised inside rolls the transaction back and goes on unchanged.
        """
        con = self._connect()
        try:
            try:
                con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                yield con
                con.execute("COMMIT")
            except BaseException:
                _rollback(con)
                raise
        except sqlite3.Error as exc:
            doing = "write to the store" if write else "read the store"
            raise self._failure(exc, doing, write=write) from exc
        finally:
            con.close()

    def _initialise(self, seed: DataSource | None) -> None:
        """Check an existing store (a read: never waits for a writer) or create one."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"{self.path}: cannot create the store's folder: {exc.strerror or exc}"
            raise StoreError(msg) from exc
        con = self._connect()
        try:
            meta = self._meta(con)
            if meta is None:
                meta = self._create_once(con, seed)
        except sqlite3.Error as exc:
            raise self._failure(exc, "open the store") from exc
        finally:
            con.close()
        self._check_meta(meta)

    def _create_once(self, con: sqlite3.Connection, seed: DataSource | None) -> dict[str, str]:
        """Create the store, unless another process won the race; one writer at a time."""
        mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode != "wal":
            msg = f"{self.path}: cannot switch the store to WAL mode (got {mode!r})"
            raise StoreError(msg)
        con.execute("BEGIN IMMEDIATE")
        try:
            meta = self._meta(con)
            if meta is None:
                self._create(con, seed)
                meta = {"region": self.region, "schema_version": SCHEMA_VERSION}
            con.execute("COMMIT")
        except BaseException:
            _rollback(con)
            raise
        return meta

    def _meta(self, con: sqlite3.Connection) -> dict[str, str] | None:
        """The store's metadata; None for an empty file; StoreError for a foreign one
        (sqlite3.Error, for the caller to report, for a file SQLite cannot read)."""
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "geoapp_meta" in tables:
            return dict(con.execute("SELECT key, value FROM geoapp_meta"))
        if tables:
            msg = (f"{self.path}: not a geoapp store (it has tables {sorted(tables)[:5]} "
                   "but no geoapp_meta); give another path")  # fmt: skip
            raise StoreError(msg)
        return None

    def _check_meta(self, meta: dict[str, str]) -> None:
        if meta.get("region") != self.region:
            msg = (f"{self.path} holds region {meta.get('region')}, not {self.region}; "
                   "each region has its own store (settings.store_path)")  # fmt: skip
            raise StoreError(msg)
        if meta.get("schema_version") != SCHEMA_VERSION:
            msg = (f"{self.path}: store schema {meta.get('schema_version')}, this geoapp "
                   f"reads schema {SCHEMA_VERSION}")  # fmt: skip
            raise StoreError(msg)

    def _create(self, con: sqlite3.Connection, seed: DataSource | None) -> None:
        from geoapp.datasource import EmbeddedSource

        source = seed if seed is not None else EmbeddedSource(self.region)
        try:
            facilities = _check_facility_frame(source.facilities())
            unemployed = _check_unemployed_frame(source.unemployed())
        except ValueError as exc:
            msg = f"{self.path}: cannot create the store for region {self.region}: {exc}"
            raise StoreError(msg) from exc
        con.execute(f"PRAGMA application_id={_APPLICATION_ID}")
        con.execute(f"PRAGMA user_version={_GPKG_VERSION}")
        for statement in _SCHEMA.split(";\n"):
            if statement.strip():
                con.execute(statement)
        con.executemany(
            "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
            [("WGS 84 geodetic", 4326, "EPSG", 4326, _WGS84_WKT, "longitude/latitude, WGS84"),
             ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian"),
             ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic")],
        )  # fmt: skip
        now = _now()
        for table, kind, description in _CONTENTS:
            con.execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
                "last_change, srs_id) VALUES (?, ?, ?, ?, ?, ?)",
                (table, kind, table, description, now, 4326 if kind == "features" else None),
            )
            if kind == "features":
                con.execute("INSERT INTO gpkg_geometry_columns "
                            "VALUES (?, 'geom', 'POINT', 4326, 0, 0)", (table,))  # fmt: skip
        con.executemany("INSERT INTO geoapp_meta (key, value) VALUES (?, ?)",
                        [("region", self.region), ("schema_version", SCHEMA_VERSION),
                         ("created_at", now)])  # fmt: skip
        seed_name = "embedded demo data" if seed is None else repr(seed)
        for dataset, frame in (("facilities", facilities), ("unemployed", unemployed)):
            kind = "facilities" if dataset == "facilities" else "unemployed_disabled"
            path = DEMO_DIR / f"{self.region}_{kind}.csv"
            content = path.read_bytes() if seed is None and path.is_file() else None
            self._insert_version(
                con,
                dataset,
                frame,
                as_of=demo.AS_OF,
                who="system",
                action="init",
                file_name=path.name if content is not None else seed_name,
                file_bytes=content,
                counts=(len(frame), 0, 0),
                note=f"created from the {seed_name}",
            )

    # -- reading -------------------------------------------------------------------------------

    @staticmethod
    def _current(con: sqlite3.Connection, dataset: str) -> int:
        row = con.execute(
            'SELECT version_id FROM "current" WHERE dataset = ?', (dataset,)
        ).fetchone()
        if row is None:  # pragma: no cover - created with the store
            msg = f"the store has no current {dataset} version"
            raise StoreError(msg)
        return int(row[0])

    @staticmethod
    def _version_ids(con: sqlite3.Connection, dataset: str) -> list[int]:
        return [
            int(r[0])
            for r in con.execute(
                "SELECT version_id FROM versions WHERE dataset = ? ORDER BY version_id", (dataset,)
            )
        ]

    def _resolve(self, con: sqlite3.Connection, dataset: str, version_id: int | None) -> int:
        if version_id is None:
            return self._current(con, dataset)
        if isinstance(version_id, bool) or not isinstance(version_id, (int, np.integer)):
            msg = f"version_id must be a whole number, got {version_id!r}"
            raise TypeError(msg)
        known = self._version_ids(con, dataset)
        if int(version_id) not in known:
            msg = f"no {dataset} version {version_id} in {self.path.name}; versions: {known}"
            raise StoreError(msg)
        return int(version_id)

    def current_version(self, dataset: str) -> int:
        """The id of the current version of ``dataset`` ("facilities" or "unemployed")."""
        _check_dataset(dataset)
        with self._transaction() as con:
            return self._current(con, dataset)

    def versions(self, dataset: str | None = None) -> pd.DataFrame:
        """Every version, oldest first: ``dataset, version_id, as_of, created_at,
        created_by, source_file, source_sha256, row_count, parent, note, is_current``."""
        if dataset is not None:
            _check_dataset(dataset)
        with self._transaction() as con:
            frame = pd.read_sql_query(
                "SELECT v.dataset, v.version_id, v.as_of, v.created_at, v.created_by, "
                "v.source_file, v.source_sha256, v.row_count, v.parent, v.note, "
                "(c.version_id IS NOT NULL) AS is_current FROM versions v "
                'LEFT JOIN "current" c ON c.dataset = v.dataset AND c.version_id = v.version_id '
                + ("WHERE v.dataset = ? " if dataset else "")
                + "ORDER BY v.dataset, v.version_id",
                con,
                params=(dataset,) if dataset else None,
            )
        frame["is_current"] = frame["is_current"].astype(bool)
        frame["parent"] = frame["parent"].astype("Int64")
        return frame

    def facilities(self, version_id: int | None = None) -> gpd.GeoDataFrame:
        """A facility version (the current one by default), in the schema of
        :meth:`geoapp.datasource.EmbeddedSource.facilities` (rows in upload order)."""
        columns = ", ".join(FACILITY_COLUMNS)
        with self._transaction() as con:
            vid = self._resolve(con, "facilities", version_id)
            rows = con.execute(
                f"SELECT {columns} FROM facilities WHERE version_id = ? ORDER BY fid", (vid,)
            ).fetchall()
        return _facility_frame(rows)

    def unemployed(self, version_id: int | None = None) -> pd.DataFrame:
        """A version of the unemployed-disabled counts (the current one by default):
        ``adcode, prefecture, county, unemployed_disabled, is_demo, method``."""
        columns = ", ".join(UNEMPLOYED_COLUMNS)
        with self._transaction() as con:
            vid = self._resolve(con, "unemployed", version_id)
            rows = con.execute(
                f"SELECT {columns} FROM unemployed WHERE version_id = ? ORDER BY fid", (vid,)
            ).fetchall()
        return _unemployed_frame(rows)

    def version_info(self, dataset: str, version_id: int | None = None) -> dict[str, Any]:
        """One row of :meth:`versions` as a dict (the current version by default)."""
        _check_dataset(dataset)
        with self._transaction() as con:
            vid = self._resolve(con, dataset, version_id)
        table = self.versions(dataset)
        return table[table["version_id"] == vid].iloc[0].to_dict()

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"`` for a sound file."""
        con = self._connect()
        try:
            return "; ".join(r[0] for r in con.execute("PRAGMA integrity_check"))
        except sqlite3.Error as exc:
            raise self._failure(exc, "check the store") from exc
        finally:
            con.close()

    # -- writing -------------------------------------------------------------------------------

    def _insert_version(
        self,
        con: sqlite3.Connection,
        dataset: str,
        frame: pd.DataFrame,
        *,
        as_of: str,
        who: str,
        action: str,
        file_name: str,
        file_bytes: bytes | None,
        counts: tuple[int, int, int],
        note: str,
    ) -> int:
        """Inside an open write transaction: the version row, its rows, the pointer, the
        audit event. Returns the new version id."""
        now = _now()
        sha = hashlib.sha256(file_bytes).hexdigest() if file_bytes is not None else None
        size = len(file_bytes) if file_bytes is not None else None
        row = con.execute(
            'SELECT version_id FROM "current" WHERE dataset = ?', (dataset,)
        ).fetchone()
        parent = int(row[0]) if row else None
        vid = int(con.execute("SELECT COALESCE(MAX(version_id), 0) + 1 FROM versions "
                              "WHERE dataset = ?",
                              (dataset,)).fetchone()[0])  # fmt: skip
        con.execute(
            "INSERT INTO versions (dataset, version_id, as_of, created_at, created_by, "
            "source_file, source_sha256, row_count, parent, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (dataset, vid, as_of, now, who, file_name, sha, len(frame), parent, note),
        )
        if dataset == "facilities":
            placeholders = ", ".join("?" * (len(FACILITY_COLUMNS) + 2))
            sql = (f"INSERT INTO facilities (version_id, geom, {', '.join(FACILITY_COLUMNS)}) "
                   f"VALUES ({placeholders})")  # fmt: skip
            records = _facility_records(frame, vid)
        else:
            placeholders = ", ".join("?" * (len(UNEMPLOYED_COLUMNS) + 1))
            sql = (f"INSERT INTO unemployed (version_id, {', '.join(UNEMPLOYED_COLUMNS)}) "
                   f"VALUES ({placeholders})")  # fmt: skip
            records = _unemployed_records(frame, vid)
        con.executemany(sql, records)
        if parent is None:
            con.execute('INSERT INTO "current" (dataset, version_id, updated_at) VALUES (?, ?, ?)',
                        (dataset, vid, now))  # fmt: skip
        else:
            con.execute('UPDATE "current" SET version_id = ?, updated_at = ? WHERE dataset = ?',
                        (vid, now, dataset))  # fmt: skip
        self._audit(con, at=now, who=who, action=action, dataset=dataset, file_name=file_name,
                    file_size=size, file_sha256=sha, counts=counts, version_id=vid,
                    previous_version=parent, note=note)  # fmt: skip
        con.execute("UPDATE gpkg_contents SET last_change = ? WHERE table_name IN (?, ?, ?, ?, ?)",
                    (now, dataset, "versions", "current", "audit",
                     "current_facilities" if dataset == "facilities"
                    else "unemployed"))  # fmt: skip
        return vid

    @staticmethod
    def _audit(
        con: sqlite3.Connection,
        *,
        at: str,
        who: str,
        action: str,
        dataset: str | None,
        file_name: str | None = None,
        file_size: int | None = None,
        file_sha256: str | None = None,
        counts: tuple[int, int, int] | None = None,
        version_id: int | None = None,
        previous_version: int | None = None,
        note: str = "",
    ) -> None:
        accepted, flagged, rejected = counts if counts is not None else (None, None, None)
        con.execute(
            "INSERT INTO audit (at, who, action, dataset, file_name, file_size, file_sha256, "
            "accepted, flagged, rejected, version_id, previous_version, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                at,
                who,
                action,
                dataset,
                file_name,
                file_size,
                file_sha256,
                accepted,
                flagged,
                rejected,
                version_id,
                previous_version,
                note,
            ),
        )

    def _record_rejections(
        self,
        user: auth.User,
        events: list[tuple[str, str, bytes | None, tuple[int, int, int] | None, str]],
    ) -> None:
        """``rejected_upload`` events, ``(dataset, file_name, file_bytes, counts, note)``,
        in one transaction."""
        now = _now()
        with self._transaction(write=True) as con:
            for dataset, file_name, file_bytes, counts, note in events:
                size = sha = None
                if file_bytes is not None:
                    size, sha = len(file_bytes), hashlib.sha256(file_bytes).hexdigest()
                self._audit(
                    con, at=now, who=user.name, action="rejected_upload", dataset=dataset,
                    file_name=display_name(file_name), file_size=size, file_sha256=sha,
                    counts=counts, previous_version=self._current(con, dataset), note=note,
                )  # fmt: skip

    def _record_rejection(
        self,
        user: auth.User,
        dataset: str,
        file_name: str,
        file_bytes: bytes | None,
        *,
        counts: tuple[int, int, int] | None,
        note: str,
    ) -> None:
        self._record_rejections(user, [(dataset, file_name, file_bytes, counts, note)])

    def _write_versions(self, who: str, as_of: str, pending: list[_Pending]) -> list[int]:
        """Every pending version, its pointer and audit event in ONE transaction: all of
        them become current, or (on any failure) none. Returns their version ids."""
        vids = []
        with self._transaction(write=True) as con:
            for p in pending:
                vid = self._insert_version(
                    con, p.dataset, p.frame, as_of=as_of, who=who, action="upload",
                    file_name=p.file_name, file_bytes=p.file_bytes, counts=p.counts, note=p.note,
                )  # fmt: skip
                vids.append(vid)
        return vids

    def _add(
        self,
        dataset: str,
        frame: pd.DataFrame,
        *,
        as_of: object,
        user: object,
        file_name: str,
        file_bytes: bytes | None,
        accepted: int,
        flagged: int,
        rejected: int,
        note: str,
    ) -> int:
        steward = auth.require_steward(user, action=f"add a {dataset} version")
        day = parse_as_of(as_of)
        item = _pending(dataset, frame, file_name=file_name, file_bytes=file_bytes,
                        counts=(accepted, flagged, rejected), note=note)  # fmt: skip
        if item.frame.empty:
            reason = f"no valid row: no version made. {note}".strip()
            self._record_rejection(steward, dataset, item.file_name, item.file_bytes,
                                   counts=item.counts, note=reason)  # fmt: skip
            msg = (f"{item.file_name}: no valid row ({item.counts[2]} rejected); "
                   f"no {dataset} version was made")  # fmt: skip
            raise UploadError(msg)
        hint = as_of_note(day)
        if hint:
            warnings.warn(hint, AsOfWarning, stacklevel=3)
        return self._write_versions(steward.name, day, [item])[0]

    def add_facilities(
        self,
        frame: pd.DataFrame,
        *,
        as_of: object,
        user: object,
        file_name: str,
        file_bytes: bytes | None,
        accepted: int,
        flagged: int,
        rejected: int,
        note: str = "",
    ) -> int:
        """Add a facility version and make it current; return its version id.

        Parameters
        ----------
        frame : DataFrame
            The facility schema (``FACILITY_COLUMNS``; ``geometry`` is ignored, points
            come from ``lon``/``lat``), e.g. ``read_facilities(...).facilities``.
        as_of : date or ISO text
            The date the register describes (a quarter end; others are accepted with an
            :class:`AsOfWarning`).
        user : geoapp.auth.User
            A signed-in data steward; anything else raises PermissionError.
        file_name, file_bytes
            The uploaded file's name (a label only) and content (its size and SHA-256 go
            into the audit log; None for data that did not come from a file).
        accepted, flagged, rejected : int
            The import's row counts, for the audit log.
        note : str

        Raises
        ------
        PermissionError
            ``user`` is not a signed-in data steward.
        UploadError
            ``frame`` has no row: no version is made, a ``rejected_upload`` event is recorded.
        ValueError
            A bad ``as_of`` or a frame outside the schema (nothing is recorded).
        """
        return self._add("facilities", frame, as_of=as_of, user=user, file_name=file_name,
                         file_bytes=file_bytes, accepted=accepted, flagged=flagged,
                         rejected=rejected, note=note)  # fmt: skip

    def add_unemployed(
        self,
        frame: pd.DataFrame,
        *,
        as_of: object,
        user: object,
        file_name: str,
        file_bytes: bytes | None,
        accepted: int,
        flagged: int,
        rejected: int,
        note: str = "",
    ) -> int:
        """Add a version of the unemployed-disabled counts (``adcode, unemployed_disabled``
        and optionally ``prefecture, county, is_demo, method``, one row per county); as
        :meth:`add_facilities`."""
        return self._add("unemployed", frame, as_of=as_of, user=user, file_name=file_name,
                         file_bytes=file_bytes, accepted=accepted, flagged=flagged,
                         rejected=rejected, note=note)  # fmt: skip

    def upload(
        self,
        data: bytes,
        *,
        file_name: str,
        dataset: str,
        as_of: object,
        user: object,
        counties: gpd.GeoDataFrame,
        registry: AdminRegistry | None = None,
        default_datum: str = "wgs84",
        note: str = "",
        max_bytes: int | None = None,
    ) -> UploadResult:
        """Check, read and store an uploaded register: the dashboard's one call.

        :func:`check_upload`, then :func:`geoapp.registers.read_facilities` (or
        ``read_unemployed``) on the bytes, then :meth:`add_facilities` (or
        ``add_unemployed``). A refused file raises :class:`UploadError` and a register
        with no valid row returns a result with ``version_id=None``; both are recorded in
        the audit log as ``rejected_upload``.

        Raises
        ------
        PermissionError
            ``user`` is not a signed-in data steward (nothing is read or recorded).
        UploadError
            The file is refused (too large, wrong kind, zip bomb, external links ...) or
            unreadable as a register; the message says why.
        ValueError
            A bad ``as_of``, ``dataset`` or ``default_datum``.
        """
        return self.upload_many(
            {dataset: (file_name, data)}, as_of=as_of, user=user, counties=counties,
            registry=registry, default_datum=default_datum, note=note, max_bytes=max_bytes,
        )[dataset]  # fmt: skip

    def upload_many(
        self,
        files: Mapping[str, tuple[str, bytes]],
        *,
        as_of: object,
        user: object,
        counties: gpd.GeoDataFrame,
        registry: AdminRegistry | None = None,
        default_datum: str = "wgs84",
        note: str = "",
        max_bytes: int | None = None,
    ) -> dict[str, UploadResult]:
        """Check, read and store the registers of one import together: all or nothing.

        Every file is checked and read (as :meth:`upload` does) before anything is
        written; then all the versions are written in one transaction. If any file is
        refused or has no valid row, no version is made for any of them, and each file
        gets a ``rejected_upload`` event in the audit log saying why.

        Parameters
        ----------
        files : mapping
            Dataset (``"facilities"``, ``"unemployed"``) -> ``(file_name, data)``.
        as_of, user, counties, registry, default_datum, note, max_bytes
            As :meth:`upload`; one ``as_of`` and ``note`` for all the files.

        Returns
        -------
        dict
            Dataset -> :class:`UploadResult`, in the order of ``files``. When a file had
            no valid row, every ``version_id`` is None (``withheld`` says why for the
            files that were usable).

        Raises
        ------
        PermissionError
            ``user`` is not a signed-in data steward (nothing is read or recorded).
        UploadError
            A file is refused or unreadable as a register (each message names its file);
            nothing is stored.
        StoreError
            The store cannot be written (disk full, read-only ...); nothing is stored.
        ValueError
            A bad ``as_of``, ``dataset`` or ``default_datum``, or no file.
        """
        names = list(files)
        action = (f"upload a {names[0]} register" if len(names) == 1 else
                  f"upload {' and '.join(names) or 'the'} registers")  # fmt: skip
        steward = auth.require_steward(user, action=action)
        if not files:
            msg = "no file to upload; give a facilities and/or an unemployed register"
            raise ValueError(msg)
        for dataset in files:
            _check_dataset(dataset)
        day = parse_as_of(as_of)
        read, refused = {}, {}
        for dataset, (file_name, data) in files.items():
            try:
                read[dataset] = self._read_upload(
                    dataset, file_name, bytes(data), counties=counties, registry=registry,
                    default_datum=default_datum, note=note, max_bytes=max_bytes,
                )  # fmt: skip
            except UploadError as exc:
                refused[dataset] = str(exc)
        empty = [d for d, (_, _, item) in read.items() if item.frame.empty]
        if refused or empty:
            return self._refuse_import(steward, files, read, refused, empty, as_of=day, note=note)
        vids = self._write_versions(steward.name, day, [item for _, _, item in read.values()])
        hint = as_of_note(day)
        results = {}
        for (d, (kind, imported, item)), vid in zip(read.items(), vids, strict=True):
            results[d] = UploadResult(dataset=d, file_name=item.file_name, kind=kind,
                                      version_id=vid, as_of=day, as_of_note=hint,
                                      imported=imported)  # fmt: skip
        return results

    def _read_upload(
        self,
        dataset: str,
        file_name: str,
        raw: bytes,
        *,
        counties: gpd.GeoDataFrame,
        registry: AdminRegistry | None,
        default_datum: str,
        note: str,
        max_bytes: int | None,
    ) -> tuple[str, FacilityImport | CountImport, _Pending]:
        """:func:`check_upload` and the register reader on one file: its kind, the import
        and the checked version. UploadError (naming the file) when it is unusable."""
        from geoapp import registers

        label = display_name(file_name)
        kind = check_upload(label, raw, max_bytes=max_bytes)
        buffer = io.BytesIO(raw)
        buffer.name = label  # a label for the import report, never opened as a path
        try:
            if dataset == "facilities":
                imported: FacilityImport | CountImport = registers.read_facilities(
                    buffer, counties=counties, registry=registry, default_datum=default_datum
                )
                frame = imported.facilities
            else:
                imported = registers.read_unemployed(buffer, counties=counties, registry=registry)
                frame = imported.counts
        except registers.RegisterError as exc:
            raise UploadError(str(exc)) from exc
        counts = (imported.accepted, imported.flagged, imported.rejected)
        item = _pending(dataset, frame, file_name=label, file_bytes=raw, counts=counts, note=note)
        return kind, imported, item

    def _refuse_import(
        self,
        steward: auth.User,
        files: Mapping[str, tuple[str, bytes]],
        read: dict[str, tuple[str, FacilityImport | CountImport, _Pending]],
        refused: dict[str, str],
        empty: list[str],
        *,
        as_of: str,
        note: str,
    ) -> dict[str, UploadResult]:
        """Record why an import stores nothing (one event per file); raise UploadError
        for a refused file, else return results without versions."""
        label = {d: display_name(name) for d, (name, _) in files.items()}
        bad = [*refused, *empty]
        others = {d: ", ".join(f"{label[b]} has no valid row" if b in empty else
                               f"{label[b]} was refused" for b in bad if b != d)
                  for d in files}  # fmt: skip
        events = []
        for dataset, (_, data) in files.items():
            counts = read[dataset][2].counts if dataset in read else None
            if dataset in refused:
                reason = refused[dataset]
            elif dataset in empty:
                reason = f"no valid row: no version made. {note}".strip()
            else:
                reason = f"not stored: {others[dataset]}; {_ALL_OR_NOTHING}. {note}".strip()
            events.append((dataset, label[dataset], bytes(data), counts, reason))
        self._record_rejections(steward, events)
        if refused:
            msg = "; ".join(refused.values())
            if len(files) > 1:
                msg += f"; nothing was stored: {_ALL_OR_NOTHING}"
            raise UploadError(msg)
        hint = as_of_note(as_of)
        results = {}
        for d, (kind, imported, item) in read.items():
            withheld = None if d in empty else f"{others[d]}; {_ALL_OR_NOTHING}"
            results[d] = UploadResult(dataset=d, file_name=item.file_name, kind=kind,
                                      version_id=None, as_of=as_of, as_of_note=hint,
                                      imported=imported, withheld=withheld)  # fmt: skip
        return results

    def rollback(self, dataset: str, version_id: int, *, user: object, note: str = "") -> None:
        """Make an earlier (or any other) version current again; recorded in the audit log.

        Nothing is deleted: the versions after it stay, and can be made current again.

        Raises
        ------
        PermissionError
            ``user`` is not a signed-in data steward.
        StoreError
            No such version, or it is the current one already.
        """
        steward = auth.require_steward(user, action=f"roll back the {dataset}")
        _check_dataset(dataset)
        with self._transaction(write=True) as con:
            vid = self._resolve(con, dataset, version_id)
            previous = self._current(con, dataset)
            if vid == previous:
                msg = (
                    f"{dataset} version {vid} is the current version already; nothing to roll back"
                )
                raise StoreError(msg)
            now = _now()
            con.execute('UPDATE "current" SET version_id = ?, updated_at = ? WHERE dataset = ?',
                        (vid, now, dataset))  # fmt: skip
            text = f"{dataset}: version {previous} -> {vid}" + (f". {note}" if note else "")
            self._audit(con, at=now, who=steward.name, action="rollback", dataset=dataset,
                        version_id=vid, previous_version=previous, note=text)  # fmt: skip

    def audit(self, *, user: object) -> pd.DataFrame:
        """The audit log, oldest first (a data steward only): ``event_id, at, who, action,
        dataset, file_name, file_size, file_sha256, accepted, flagged, rejected,
        version_id, previous_version, note``."""
        auth.require_steward(user, action="read the audit log")
        with self._transaction() as con:
            frame = pd.read_sql_query("SELECT * FROM audit ORDER BY event_id", con)
        for c in ("file_size", "accepted", "flagged", "rejected", "version_id", "previous_version"):
            frame[c] = frame[c].astype("Int64")
        return frame

    # -- comparing -----------------------------------------------------------------------------

    def diff_facilities(
        self, a: int, b: int, *, threshold_m: float = MOVE_THRESHOLD_M
    ) -> FacilityDiff:
        """Facilities added, removed, moved (> ``threshold_m``) and changed from version
        ``a`` to version ``b``; see :func:`diff_facility_frames`."""
        return diff_facility_frames(self.facilities(a), self.facilities(b),
                                    threshold_m=threshold_m, versions=(a, b))  # fmt: skip

    def diff_gaps(
        self,
        a: int,
        b: int,
        *,
        policy: Policy | str | Path,
        counties: pd.DataFrame,
        reading: str = "literal",
        unemployed: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Gaps closed and opened from facility version ``a`` to ``b``.

        Both versions go through :func:`geoapp.coverage.compute_gaps` with the same policy,
        reading, counties and counts (``unemployed``: the current counts by default). A
        gap is a row with a shortfall, as in the gap list. Returns one row per change:
        ``change`` ("closed" or "opened"), ``rule_id, strength, level, facility_type,
        adcode, prefecture_adcode, city, county, unit_kind, required, actual_before,
        actual_after, shortfall_before, shortfall_after, unemployed_disabled, clause``;
        closed first, then by strength and adcode.
        """
        from geoapp.coverage import compute_gaps

        counts = self.unemployed() if unemployed is None else unemployed
        tables = [
            compute_gaps(policy, counties=counties, facilities=self.facilities(v),
                         unemployed=counts, reading=reading).table
            for v in (a, b)
        ]  # fmt: skip
        key = ["rule_id", "adcode"]
        static = ["strength", "level", "facility_type", "prefecture_adcode", "city", "county",
                  "unit_kind", "required", "unemployed_disabled", "clause"]  # fmt: skip
        before = tables[0][[*key, *static, "actual", "shortfall"]]
        after = tables[1][[*key, "actual", "shortfall"]]
        both = before.merge(after, on=key, suffixes=("_before", "_after"), validate="one_to_one")
        was, now = both["shortfall_before"] > 0, both["shortfall_after"] > 0
        change = np.select([was & ~now, ~was & now], ["closed", "opened"], default="")
        out = both.assign(change=change)[change != ""]
        strength_order = {"mandatory": 0, "aspirational": 1, "target": 2}
        out = out.assign(_c=out["change"].map({"closed": 0, "opened": 1}),
                         _s=out["strength"].map(strength_order).fillna(9))  # fmt: skip
        out = out.sort_values(["_c", "_s", "adcode", "rule_id"])
        columns = ["change", "rule_id", "strength", "level", "facility_type", "adcode",
                   "prefecture_adcode", "city", "county", "unit_kind", "required",
                   "actual_before", "actual_after", "shortfall_before", "shortfall_after",
                   "unemployed_disabled", "clause"]  # fmt: skip
        return out[columns].reset_index(drop=True)

    def history(
        self,
        *,
        policy: Policy | str | Path,
        counties: pd.DataFrame,
        prefecture: str | None = None,
        all_versions: bool = False,
    ) -> pd.DataFrame:
        """Facilities per type over time, against the policy's province targets.

        One row per facility-version date and facility type (every type of
        :data:`~geoapp.facilities.FACILITY_TYPES`, zeros included), oldest first:
        ``as_of, version_id, is_current, is_demo, facility_type, actual, target,
        comparison, strength, rule_id, scope, scope_adcode``.

        For each ``as_of`` date the version in effect is used: the current version if it
        has that date, else the latest version of that date (a corrected re-upload
        replaces the first one); ``all_versions=True`` gives every version instead.
        Facilities count by their ``adcode`` among ``counties`` (as the gap engine counts
        them). With ``prefecture`` (a 6-digit adcode) only that prefecture's counties
        count, and ``target`` is NA (policy targets are province-wide); without it,
        ``target`` is the province-level rule's number (NA for types without one).
        """
        from geoapp.policy import load_policy

        pol = policy if not isinstance(policy, (str, Path)) else load_policy(policy)
        missing = [c for c in ("adcode", "prefecture_adcode") if c not in counties.columns]
        if missing:
            msg = f"counties lack column(s) {missing}; it has {list(counties.columns)}"
            raise ValueError(msg)
        units = pd.DataFrame({"adcode": counties["adcode"].astype(str),
                              "prefecture_adcode":
                                  counties["prefecture_adcode"].astype(str)})  # fmt: skip
        if prefecture is not None:
            if str(prefecture) not in set(units["prefecture_adcode"]):
                known = sorted(set(units["prefecture_adcode"]))
                msg = f"prefecture {prefecture!r} is not among the counties' prefectures {known}"
                raise ValueError(msg)
            units = units[units["prefecture_adcode"] == str(prefecture)]
        with self._transaction() as con:
            versions = pd.read_sql_query(
                "SELECT v.version_id, v.as_of, (c.version_id IS NOT NULL) AS is_current, "
                "(SELECT COALESCE(MAX(is_demo), 0) FROM facilities f "
                " WHERE f.version_id = v.version_id) AS is_demo "
                'FROM versions v LEFT JOIN "current" c '
                "ON c.dataset = v.dataset AND c.version_id = v.version_id "
                "WHERE v.dataset = 'facilities' ORDER BY v.version_id", con,
            )  # fmt: skip
            if not all_versions:
                versions = versions.sort_values(["as_of", "is_current", "version_id"])
                versions = versions.drop_duplicates("as_of", keep="last")
            wanted = versions["version_id"].tolist()
            counts = pd.read_sql_query(
                f"SELECT version_id, adcode, facility_type, COUNT(*) AS n FROM facilities "
                f"WHERE version_id IN ({', '.join('?' * len(wanted))}) "
                "GROUP BY version_id, adcode, facility_type", con, params=wanted,
            )  # fmt: skip
        counts = counts[counts["adcode"].isin(units["adcode"])]
        actual = counts.groupby(["version_id", "facility_type"])["n"].sum()
        grid = versions.merge(pd.DataFrame({"facility_type": list(FACILITY_TYPES)}), how="cross")
        grid["actual"] = [int(actual.get((v, t), 0)) for v, t in
                          zip(grid["version_id"], grid["facility_type"], strict=True)]  # fmt: skip
        rules = {}
        for r in pol.rules:
            if r.level == "province":
                rules.setdefault(r.facility_type, r)
        province_scope = prefecture is None

        def rule_value(ftype: str, attr: str) -> Any:
            rule = rules.get(ftype) if province_scope else None
            return getattr(rule, attr) if rule is not None else None

        grid["target"] = pd.array(
            [rule_value(t, "value") for t in grid["facility_type"]], dtype="Int64"
        )
        for attr, column in (
            ("comparison", "comparison"),
            ("strength", "strength"),
            ("id", "rule_id"),
        ):
            grid[column] = [rule_value(t, attr) or "" for t in grid["facility_type"]]
        grid["scope"] = "province" if province_scope else "prefecture"
        grid["scope_adcode"] = pol.region_adcode if province_scope else str(prefecture)
        grid["is_current"] = grid["is_current"].astype(bool)
        grid["is_demo"] = grid["is_demo"].astype(bool)
        grid["version_id"] = grid["version_id"].astype("int64")
        columns = ["as_of", "version_id", "is_current", "is_demo", "facility_type", "actual",
                   "target", "comparison", "strength", "rule_id", "scope",
                   "scope_adcode"]  # fmt: skip
        return grid.sort_values(["as_of", "version_id"], kind="stable")[columns].reset_index(
            drop=True
        )

    # -- uploads (also a module function) -------------------------------------------------------
    check_upload = staticmethod(check_upload)
