"""The store's reporting tables (schema 2) and the upgrade of a schema-1 file.

Schema 2 adds what area-scoped reporting keeps (``../shared/REPORTING.md``):

=========================  ==========  ==============================================
table                      gpkg type   what
=========================  ==========  ==============================================
``submissions``            attributes  one row per submission: ``submission_id,
                                       dataset, area, period, as_of, submitted_at,
                                       submitted_by, file_name, file_sha256,
                                       file_size, accepted, flagged, rejected,
                                       row_count, closes, note``
``submission_facilities``  features    the facility rows a submission brings
``submission_unemployed``  attributes  the count rows a submission brings
``decisions``              attributes  ``submission_id, at, who, decision``
                                       (approved, returned, superseded), ``reason,
                                       version_id`` (the version an approval made)
``area_dates``             attributes  for each version, every county-level unit's
                                       ``period, as_of, submission_id``: which
                                       submission its current data comes from
=========================  ==========  ==============================================

All of them are append-only, like the version tables: a submission's status is its
latest decision (none: pending). The audit log gains ``area, period, submission_id``
and the actions ``submit, approve, return``.

:func:`upgrade_to_2` turns a schema-1 store into schema 2 in one transaction: the audit
table is copied into the wider one (its rows unchanged), the new tables are created,
and ``geoapp_meta.schema_version`` becomes 2. The versions of a schema-1 store have no
``area_dates``; :mod:`geoapp.store.submissions` reads them as "every unit at the
version's ``as_of``".
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

from geoapp.schema import FACILITY_COLUMNS, UNEMPLOYED_COLUMNS

__all__ = [
    "AUDIT_ACTIONS",
    "REPORTING_TABLES",
    "audit_sql",
    "create_reporting_tables",
    "facility_columns_sql",
    "upgrade_to_2",
]

AUDIT_ACTIONS = ("init", "upload", "rollback", "rejected_upload", "submit", "approve", "return")
DECISIONS = ("approved", "returned", "superseded")

_AUDIT_COLUMNS = (
    "event_id, at, who, action, dataset, file_name, file_size, file_sha256, "
    "accepted, flagged, rejected, version_id, previous_version, note"
)


def audit_sql(table: str = "audit") -> str:
    actions = ", ".join(f"'{a}'" for a in AUDIT_ACTIONS)
    return f"""CREATE TABLE {table} (
  event_id INTEGER PRIMARY KEY AUTOINCREMENT,
  at DATETIME NOT NULL,
  who TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ({actions})),
  dataset TEXT,
  file_name TEXT, file_size INTEGER, file_sha256 TEXT,
  accepted INTEGER, flagged INTEGER, rejected INTEGER,
  version_id INTEGER, previous_version INTEGER,
  note TEXT NOT NULL DEFAULT '',
  area TEXT, period TEXT, submission_id INTEGER)"""


def facility_columns_sql() -> str:
    types = {"lon": "REAL", "lat": "REAL", "is_demo": "BOOLEAN NOT NULL"}
    return ",\n  ".join(f"{c} {types.get(c, 'TEXT NOT NULL')}" for c in FACILITY_COLUMNS)


_TABLES = f"""
CREATE TABLE submissions (
  submission_id INTEGER PRIMARY KEY AUTOINCREMENT,
  dataset TEXT NOT NULL CHECK (dataset IN ('facilities', 'unemployed')),
  area TEXT NOT NULL,
  period TEXT NOT NULL,
  as_of DATE NOT NULL,
  submitted_at DATETIME NOT NULL,
  submitted_by TEXT NOT NULL,
  file_name TEXT, file_sha256 TEXT, file_size INTEGER,
  accepted INTEGER, flagged INTEGER, rejected INTEGER,
  row_count INTEGER NOT NULL,
  closes INTEGER NOT NULL,
  note TEXT NOT NULL DEFAULT '');
CREATE INDEX submissions_period ON submissions (period, area);
CREATE TABLE submission_facilities (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  geom POINT,
  submission_id INTEGER NOT NULL,
  {facility_columns_sql()});
CREATE INDEX submission_facilities_id ON submission_facilities (submission_id);
CREATE TABLE submission_unemployed (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  submission_id INTEGER NOT NULL,
  {", ".join(f"{c} {'INTEGER' if c == 'unemployed_disabled' else 'TEXT'} NOT NULL" for c in UNEMPLOYED_COLUMNS if c != "is_demo")},
  is_demo BOOLEAN NOT NULL);
CREATE INDEX submission_unemployed_id ON submission_unemployed (submission_id);
CREATE TABLE decisions (
  decision_id INTEGER PRIMARY KEY AUTOINCREMENT,
  submission_id INTEGER NOT NULL,
  at DATETIME NOT NULL,
  who TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ({", ".join(f"'{d}'" for d in DECISIONS)})),
  reason TEXT NOT NULL DEFAULT '',
  version_id INTEGER);
CREATE INDEX decisions_submission ON decisions (submission_id);
CREATE TABLE area_dates (
  fid INTEGER PRIMARY KEY AUTOINCREMENT,
  dataset TEXT NOT NULL,
  version_id INTEGER NOT NULL,
  adcode TEXT NOT NULL,
  period TEXT NOT NULL,
  as_of DATE NOT NULL,
  submission_id INTEGER);
CREATE INDEX area_dates_version ON area_dates (dataset, version_id)"""

REPORTING_TABLES = (
    ("submissions", "attributes", "submissions: area, period, who, file"),
    ("submission_facilities", "features", "facility rows of each submission"),
    ("submission_unemployed", "attributes", "count rows of each submission"),
    ("decisions", "attributes", "approvals, returns and supersessions of submissions"),
    ("area_dates", "attributes", "per version, the period and submission of every unit"),
)
APPEND_ONLY = tuple(name for name, _, _ in REPORTING_TABLES)


def _triggers(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: versions are never overwritten'); END",
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: versions are never deleted'); END",
    ]


def create_reporting_tables(con: sqlite3.Connection, *, at: str) -> None:
    """Inside an open write transaction: the schema-2 tables, their triggers and their
    GeoPackage contents rows."""
    for statement in _TABLES.split(";\n"):
        con.execute(statement)
    for table in APPEND_ONLY:
        for trigger in _triggers(table):
            con.execute(trigger)
    register_contents(con, REPORTING_TABLES, at=at)


def register_contents(
    con: sqlite3.Connection, tables: Iterable[tuple[str, str, str]], *, at: str
) -> None:
    """GeoPackage contents rows for ``(table, "features" | "attributes", description)``;
    a features table also gets its point geometry column (WGS84)."""
    for table, kind, description in tables:
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, "
            "last_change, srs_id) VALUES (?, ?, ?, ?, ?, ?)",
            (table, kind, table, description, at, 4326 if kind == "features" else None),
        )
        if kind == "features":
            con.execute(
                "INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'POINT', 4326, 0, 0)",
                (table,),
            )


def upgrade_to_2(con: sqlite3.Connection, *, at: str) -> None:
    """Inside an open write transaction on a schema-1 store: make it schema 2."""
    for trigger in ("audit_no_update", "audit_no_delete"):
        con.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    con.execute(audit_sql("audit_2"))
    con.execute(f"INSERT INTO audit_2 ({_AUDIT_COLUMNS}) SELECT {_AUDIT_COLUMNS} FROM audit")
    con.execute("DROP TABLE audit")
    con.execute("ALTER TABLE audit_2 RENAME TO audit")
    for trigger in _triggers("audit"):
        con.execute(trigger)
    create_reporting_tables(con, at=at)
    # geoapp_meta is append-only too; the schema version is the one value that moves.
    con.execute("DROP TRIGGER geoapp_meta_no_update")
    con.execute("UPDATE geoapp_meta SET value = '2' WHERE key = 'schema_version'")
    con.execute(_triggers("geoapp_meta")[0])
