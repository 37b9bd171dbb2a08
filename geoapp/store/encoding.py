"""The store's GeoPackage encoding: the schema, point blobs, and frames to rows and back.

Everything here is about the file format and the shape of a version's rows; nothing
opens a file. :func:`create_schema` writes the ``gpkg_*`` tables of the standard (no
GDAL needed) and geoapp's own tables; the ``check_*_frame`` functions bring a frame to
the stored schema (TypeError/ValueError naming the row and column otherwise); the
``*_records`` generators give the rows to insert and the ``*_frame`` functions turn
stored rows back into the frames the data sources return.
"""

from __future__ import annotations

import math
import sqlite3
import struct
from collections.abc import Iterator
from datetime import UTC, datetime

import geopandas as gpd
import numpy as np
import pandas as pd

from geoapp.facilities import FACILITY_TYPES
from geoapp.schema import DATASETS, FACILITY_COLUMNS, FACILITY_TEXT_COLUMNS, UNEMPLOYED_COLUMNS
from geoapp.store.reporting_schema import (
    audit_sql,
    create_reporting_tables,
    facility_columns_sql,
    register_contents,
)

__all__ = [
    "SCHEMA_VERSION",
    "check_dataset",
    "check_facility_frame",
    "check_unemployed_frame",
    "create_schema",
    "facility_frame",
    "facility_records",
    "point_blob",
    "timestamp",
    "unemployed_frame",
    "unemployed_records",
]

SCHEMA_VERSION = "2"

_APPLICATION_ID = 0x47504B47  # "GPKG"
_GPKG_VERSION = 10300  # GeoPackage 1.3
# GeoPackage binary header: "GP", version 0, flags 0b00000001 (little-endian, no
# envelope, not empty, standard), srs_id 4326; then a little-endian WKB point.
_POINT_HEADER = b"GP\x00\x01" + struct.pack("<i", 4326)
_WKB_POINT = struct.Struct("<BIdd")
_FACILITY_TEXT = FACILITY_TEXT_COLUMNS
_UNEMPLOYED_TEXT = ("adcode", "prefecture", "county", "method")


def timestamp() -> str:
    """The time now as a GeoPackage DATETIME: ISO 8601 in UTC with milliseconds and Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def point_blob(x: float, y: float) -> bytes:
    """A GeoPackage geometry blob of the WGS84 point ``(x, y)``."""
    return _POINT_HEADER + _WKB_POINT.pack(1, 1, x, y)


# --- schema --------------------------------------------------------------------------------------

_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,'
    'AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)


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
  {facility_columns_sql()});
CREATE INDEX facilities_version ON facilities (version_id);
CREATE TABLE unemployed (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  version_id INTEGER NOT NULL,
  adcode TEXT NOT NULL, prefecture TEXT NOT NULL, county TEXT NOT NULL,
  unemployed_disabled INTEGER NOT NULL, is_demo BOOLEAN NOT NULL, method TEXT NOT NULL);
CREATE INDEX unemployed_version ON unemployed (version_id);
{audit_sql()};
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


def create_schema(con: sqlite3.Connection, *, region: str, at: str) -> None:
    """Inside an open write transaction on an empty file: the GeoPackage tables and
    geoapp's own (no version yet), with ``region`` and the schema version in
    ``geoapp_meta``."""
    con.execute(f"PRAGMA application_id={_APPLICATION_ID}")
    con.execute(f"PRAGMA user_version={_GPKG_VERSION}")
    for statement in _SCHEMA.split(";\n"):
        if statement.strip():
            con.execute(statement)
    con.executemany(
        "INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("WGS 84 geodetic", 4326, "EPSG", 4326, _WGS84_WKT, "longitude/latitude, WGS84"),
            ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian"),
            ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic"),
        ],
    )
    register_contents(con, _CONTENTS, at=at)
    con.executemany(
        "INSERT INTO geoapp_meta (key, value) VALUES (?, ?)",
        [("region", region), ("schema_version", SCHEMA_VERSION), ("created_at", at)],
    )
    create_reporting_tables(con, at=at)


# --- frames in and out -------------------------------------------------------------------------


def _text(values: pd.Series) -> list[str]:
    """Each value as text, "" for a missing one. Through a numpy object array: iterating
    an Arrow-backed string column value by value is ten times slower."""
    if isinstance(values.dtype, pd.StringDtype):
        return values.fillna("").tolist()
    items = values.to_numpy(dtype=object, na_value=None)
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in items]


def check_facility_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` in the stored facility schema; TypeError/ValueError naming what is off."""
    if not isinstance(frame, pd.DataFrame):
        msg = (
            f"facilities must be a DataFrame with {list(FACILITY_COLUMNS)}, "
            f"got {type(frame).__name__}"
        )
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
        msg = (
            f"facilities: row {i} has lon={lon[i]}, lat={lat[i]}; "
            "expected both WGS84 degrees or both empty"
        )
        raise ValueError(msg)
    unknown = sorted(set(out["facility_type"].unique()) - set(FACILITY_TYPES))
    if unknown:
        msg = f"facilities: unknown facility_type {unknown}; expected one of {list(FACILITY_TYPES)}"
        raise ValueError(msg)
    out["is_demo"] = frame["is_demo"].fillna(False).astype(bool).to_numpy()
    return out[list(FACILITY_COLUMNS)]


def check_unemployed_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` in the stored schema of the unemployed-disabled counts (one row per
    county); TypeError/ValueError naming what is off."""
    if not isinstance(frame, pd.DataFrame):
        msg = (
            f"unemployed must be a DataFrame with {list(UNEMPLOYED_COLUMNS)}, "
            f"got {type(frame).__name__}"
        )
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
        msg = (
            f"unemployed: unemployed_disabled of row {i} ({out['adcode'].iloc[i]}) is "
            f"{frame['unemployed_disabled'].iloc[i]!r}; "
            "expected a whole number >= 0"
        )
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


def facility_records(frame: pd.DataFrame, version_id: int) -> Iterator[tuple]:
    """Rows to insert: (version_id, geom, *FACILITY_COLUMNS), lazily."""
    columns = [frame[c].tolist() for c in FACILITY_COLUMNS]
    lon_i, lat_i, demo_i = (FACILITY_COLUMNS.index(c) for c in ("lon", "lat", "is_demo"))
    for values in zip(*columns, strict=True):
        x, y = values[lon_i], values[lat_i]
        on_map = not (math.isnan(x) or math.isnan(y))
        row = list(values)
        if not on_map:
            row[lon_i] = row[lat_i] = None
        row[demo_i] = bool(row[demo_i])  # sqlite3 stores it as 1/0, PostgreSQL as boolean
        yield (version_id, point_blob(x, y) if on_map else None, *row)


def unemployed_records(frame: pd.DataFrame, version_id: int) -> Iterator[tuple]:
    """Rows to insert: (version_id, *UNEMPLOYED_COLUMNS), lazily."""
    columns = [frame[c].tolist() for c in UNEMPLOYED_COLUMNS]
    demo_i = UNEMPLOYED_COLUMNS.index("is_demo")
    for values in zip(*columns, strict=True):
        row = list(values)
        row[demo_i] = bool(row[demo_i])  # sqlite3 stores it as 1/0, PostgreSQL as boolean
        yield (version_id, *row)


def facility_frame(rows: list[tuple]) -> gpd.GeoDataFrame:
    """Stored facility rows (FACILITY_COLUMNS) as the frame the data sources return."""
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


def unemployed_frame(rows: list[tuple]) -> pd.DataFrame:
    """Stored count rows (UNEMPLOYED_COLUMNS) as the frame the data sources return."""
    frame = pd.DataFrame.from_records(rows, columns=list(UNEMPLOYED_COLUMNS))
    for c in _UNEMPLOYED_TEXT:
        frame[c] = frame[c].astype(str)
    frame["unemployed_disabled"] = frame["unemployed_disabled"].astype("int64")
    frame["is_demo"] = frame["is_demo"].astype(bool)
    return frame


def check_dataset(dataset: str) -> str:
    """``dataset`` if it is one the store versions; ValueError listing them otherwise."""
    if dataset not in DATASETS:
        msg = f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}"
        raise ValueError(msg)
    return dataset
