"""Where a store lives: the small layer that differs between GeoPackage and PostGIS.

:class:`geoapp.store.Store` writes its SQL once, with ``?`` placeholders, against a
:class:`Connection` (``execute``, ``executemany``, cursors with ``fetchone``,
``fetchall`` and ``description``). A backend gives it those connections and everything
that is not plain SQL:

=====================  ==========================================  =========================================
step                   GeoPackage (:class:`GeoPackageBackend`)      PostGIS (:mod:`geoapp.store.postgis`)
=====================  ==========================================  =========================================
where                  one file (``settings.store_path``)          one schema per region, ``geoapp_<adcode>``,
                                                                   in the database of a ``postgresql://`` URL
write transaction      ``BEGIN IMMEDIATE`` (one writer at a time)  ``pg_advisory_xact_lock`` on the region
read transaction       ``BEGIN`` (a WAL snapshot)                  ``REPEATABLE READ READ ONLY`` (a snapshot)
schema                 :mod:`geoapp.store.encoding`                :mod:`geoapp.store.postgis_schema`
geometry               a GeoPackage blob the store writes          ``geometry(Point, 4326)`` generated from
                                                                   lon/lat, with a GiST index
bulk rows              ``executemany``                             ``COPY``
failures               :func:`~geoapp.store.errors.sqlite_failure`  :func:`~geoapp.store.postgis.pg_failure`
=====================  ==========================================  =========================================

:func:`open_backend` picks one from the location: a ``postgresql://`` (or
``postgres://``) URL is PostGIS, anything else a GeoPackage file. :func:`read_frame`
turns a query into a DataFrame on either (cursor fetches: pandas warns about DB-API
connections other than SQLite's).
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from geoapp.store.encoding import create_schema
from geoapp.store.errors import StoreError, rollback_quietly, sqlite_failure

__all__ = [
    "Backend",
    "Connection",
    "GeoPackageBackend",
    "is_url",
    "open_backend",
    "read_frame",
]

_URL = re.compile(r"\s*postgres(ql)?://", re.IGNORECASE)
#: Seconds between the tries to switch a file that another session is switching to WAL
#: (:meth:`GeoPackageBackend.begin_create`): a switch writes one page, in milliseconds.
_SWITCH_PAUSES = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5)


def is_url(location: object) -> bool:
    """Whether a store location is a PostgreSQL URL (``postgresql://...``)."""
    return isinstance(location, str) and _URL.match(location) is not None


class Connection(Protocol):
    """What the store's SQL runs on: sqlite3's connection, or the PostGIS wrapper."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> Any: ...


def read_frame(con: Connection, sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    """The rows of a query as a DataFrame (the dtypes ``pandas.read_sql_query`` gives)."""
    cur = con.execute(sql, tuple(params))
    columns = [d[0] for d in cur.description]
    return pd.DataFrame.from_records(cur.fetchall(), columns=columns, coerce_float=True)


class Backend(Protocol):
    """A store's home; see the module docstring for the two there are."""

    kind: str  #: "gpkg" or "postgis"
    location: str  #: for messages: the file, or the URL (no password) and schema
    name: str  #: short: the file name, or the schema
    errors: tuple[type[BaseException], ...]  #: the driver's failures
    writes_geometry: bool  #: whether row inserts carry the ``geom`` column

    def connect(self) -> Connection: ...

    def begin(self, con: Connection, *, write: bool) -> None: ...

    def commit(self, con: Connection) -> None: ...

    def rollback(self, con: Connection) -> None: ...

    def release(self, con: Connection) -> None: ...

    def failure(self, exc: BaseException, doing: str, *, write: bool = False) -> StoreError: ...

    def exists(self) -> bool: ...

    def prepare(self) -> None: ...

    def meta(self, con: Connection) -> dict[str, str] | None: ...

    def begin_create(self, con: Connection) -> None: ...

    def create_schema(self, con: Connection, *, region: str, at: str) -> None: ...

    def touch(self, con: Connection, tables: Sequence[str], now: str) -> None: ...

    def insert_rows(
        self, con: Connection, table: str, columns: Sequence[str], records: Iterable[Sequence]
    ) -> None: ...

    def integrity_check(self) -> str: ...

    def close(self) -> None: ...


class GeoPackageBackend:
    """A store in one GeoPackage file (SQLite in WAL mode)."""

    kind = "gpkg"
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    writes_geometry = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.name = self.path.name

    def failure(self, exc: BaseException, doing: str, *, write: bool = False) -> StoreError:
        return sqlite_failure(self.path, exc, doing, write=write)

    def connect(self) -> sqlite3.Connection:
        try:
            con = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        except sqlite3.Error as exc:
            raise self.failure(exc, "open the store") from exc
        try:
            con.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut too
            con.execute("PRAGMA journal_size_limit=67108864")  # shrink the WAL after big writes
        except sqlite3.Error as exc:
            con.close()
            raise self.failure(exc, "open the store") from exc
        return con

    def begin(self, con: sqlite3.Connection, *, write: bool) -> None:
        con.execute("BEGIN IMMEDIATE" if write else "BEGIN")

    def commit(self, con: sqlite3.Connection) -> None:
        con.execute("COMMIT")

    def rollback(self, con: sqlite3.Connection) -> None:
        rollback_quietly(con)

    def release(self, con: sqlite3.Connection) -> None:
        con.close()

    def exists(self) -> bool:
        return self.path.exists()

    def prepare(self) -> None:
        """The store's folder and, for a new store, its file: in WAL mode from the moment
        it appears.

        Switching a file to WAL reads it and then takes the write lock; a connection
        that cannot get that lock gets "database is locked" at once, without its busy
        timeout (SQLite's rule against deadlocks: it holds a read lock). Sessions that
        opened a new store at once, each switching it, failed that way. So the file is
        switched under a name of its own beside the store and then linked into place:
        whoever finds it finds it in WAL mode, with nothing to switch. A link never
        replaces a file another session made meanwhile.
        """
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"{self.path}: cannot create the store's folder: {exc.strerror or exc}"
            raise StoreError(msg, key="problem.store.folder") from exc
        if not self.path.exists():
            self._make_wal_file()

    def _make_wal_file(self) -> None:
        """An empty store file in WAL mode at ``path``, unless one is there by now."""
        new = self.path.with_name(f"{self.name}.{secrets.token_hex(6)}.new")
        try:
            con = sqlite3.connect(new, isolation_level=None)  # SQLite's own file mode
            try:
                con.execute("PRAGMA journal_mode=WAL")
            finally:
                con.close()  # the last connection: SQLite removes new's -wal and -shm
            os.link(new, self.path)
        except FileExistsError:
            pass  # another session's file: in WAL mode as well
        except OSError:
            pass  # no hard links on this file system: begin_create switches in place
        except sqlite3.Error as exc:
            raise self.failure(exc, "create the store") from exc
        finally:
            new.unlink(missing_ok=True)

    def meta(self, con: sqlite3.Connection) -> dict[str, str] | None:
        """The store's metadata; None for an empty file; StoreError for a foreign one
        (sqlite3.Error, for the caller to report, for a file SQLite cannot read)."""
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "geoapp_meta" in tables:
            return dict(con.execute("SELECT key, value FROM geoapp_meta"))
        if tables:
            msg = (
                f"{self.path}: not a geoapp store (it has tables {sorted(tables)[:5]} "
                "but no geoapp_meta); give another path"
            )
            raise StoreError(msg, key="problem.store.foreign")
        return None

    def begin_create(self, con: sqlite3.Connection) -> None:
        """WAL mode (before the first write), then the write transaction.

        A file from :meth:`prepare` is in WAL mode already. One that was not (an empty
        file that was there before, a file system without hard links) is switched here,
        and a session switching it at the same moment as another may be refused at once
        (see :meth:`prepare`): it tries again a few times, a moment apart, by which time
        the other's switch is done and there is nothing left to switch.
        """
        mode = _switch_to_wal(con)
        if mode != "wal":
            msg = f"{self.path}: cannot switch the store to WAL mode (got {mode!r})"
            raise StoreError(msg, key="problem.store.wal", mode=str(mode))
        self.begin(con, write=True)

    def create_schema(self, con: sqlite3.Connection, *, region: str, at: str) -> None:
        create_schema(con, region=region, at=at)

    def touch(self, con: sqlite3.Connection, tables: Sequence[str], now: str) -> None:
        """Date the tables a write touched in ``gpkg_contents`` (GDAL and QGIS read it)."""
        marks = ", ".join("?" * len(tables))
        con.execute(
            f"UPDATE gpkg_contents SET last_change = ? WHERE table_name IN ({marks})",
            (now, *tables),
        )

    def insert_rows(
        self,
        con: sqlite3.Connection,
        table: str,
        columns: Sequence[str],
        records: Iterable[Sequence],
    ) -> None:
        marks = ", ".join("?" * len(columns))
        con.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", records)

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``"ok"`` for a sound file."""
        con = self.connect()
        try:
            return "; ".join(r[0] for r in con.execute("PRAGMA integrity_check"))
        except sqlite3.Error as exc:
            raise self.failure(exc, "check the store") from exc
        finally:
            con.close()

    def close(self) -> None:
        """Nothing to close: every call opens and closes its own connection."""


def _switch_to_wal(con: sqlite3.Connection) -> str:
    """``PRAGMA journal_mode=WAL``, tried again after each of :data:`_SWITCH_PAUSES` while
    SQLite answers SQLITE_BUSY ("database is locked"); the journal mode it reports."""
    for pause in _SWITCH_PAUSES:
        try:
            return con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if (getattr(exc, "sqlite_errorcode", 0) or 0) & 0xFF != sqlite3.SQLITE_BUSY:
                raise
        time.sleep(pause)
    return con.execute("PRAGMA journal_mode=WAL").fetchone()[0]


def open_backend(location: str | Path, region: str) -> Backend:
    """The backend of a store location: PostGIS for a ``postgresql://`` URL (the
    region's schema), a GeoPackage file otherwise."""
    if is_url(location):
        from geoapp.store.postgis import PostgisBackend  # psycopg only when used

        return PostgisBackend(str(location).strip(), region)
    text = str(location)
    if isinstance(location, Path) and re.match(r"postgres(ql)?:/[^/]", text, re.IGNORECASE):
        msg = (
            f"{text!r} looks like a PostgreSQL URL that lost its '//' as a file path; "
            "give the URL as text (GEOAPP_STORE=postgresql://user@host/database)"
        )
        raise StoreError(msg, key="problem.store.url_path")
    return GeoPackageBackend(location)
