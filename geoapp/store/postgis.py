"""A store in PostgreSQL + PostGIS, for deployments where several offices work at once.

``GEOAPP_STORE=postgresql://user:password@host:5432/database`` (any libpq URL) puts the
store of each region in its own schema of that database, ``geoapp_<adcode>``, with the
tables of the GeoPackage store (:mod:`geoapp.store.postgis_schema`). Several dashboard
processes, on one machine or several, can serve it at once.

Transactions keep the GeoPackage store's guarantees:

- a write takes ``pg_advisory_xact_lock`` on the region (one writer at a time, as
  SQLite's ``BEGIN IMMEDIATE``; it waits up to 60 s, ``lock_timeout``) in READ
  COMMITTED: once the lock is held, nothing else changes the store, so every statement
  sees the data the previous writer committed;
- a read is ``REPEATABLE READ READ ONLY``: one snapshot for the pointer and the rows,
  never waiting for a writer;
- a writer that dies mid-transaction (SIGKILL, lost network) is rolled back by the
  server, which releases its lock.

Connections are kept for reuse (a few per store object, per process); one the server
has closed meanwhile (a restart) is replaced once, unseen. psycopg 3 is needed only
here (``pip install 'geoapp[postgres]'``). Every failure of the server (refused
connection, password, missing database, disk full, no rights) becomes a
:class:`~geoapp.store.errors.StoreError` saying what the user can do (:func:`pg_failure`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import threading
import weakref
from collections.abc import Iterable, Sequence
from typing import Any

from geoapp.localised import Word
from geoapp.store.errors import StoreError, failure
from geoapp.store.postgis_schema import APPEND_ONLY, meta_rows, schema_statements

__all__ = ["PgConnection", "PostgisBackend", "pg_failure"]

_POOL = 4  # idle connections kept per store object
_LOCK_CLASS = 0x67656F61  # "geoa": the advisory-lock keys of geoapp stores
_CREATE_KEY = _LOCK_CLASS << 32  # one store created at a time in a database (extension races)


def _driver() -> Any:
    try:
        import psycopg
    except ImportError as exc:
        msg = (
            "a PostgreSQL store needs the psycopg driver: pip install 'geoapp[postgres]' "
            "(or 'psycopg[binary]'); or give GEOAPP_STORE a .gpkg file instead"
        )
        raise StoreError(msg, key="problem.store.no_driver") from exc
    return psycopg


@functools.lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """The store's ``?`` placeholders as psycopg's ``%s`` (a literal % doubled)."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgConnection:
    """A psycopg connection (``raw``, autocommit: transactions are explicit) that runs
    the store's SQL: ``?`` placeholders, ``execute`` and ``executemany`` as sqlite3's."""

    __slots__ = ("raw", "reused")

    def __init__(self, raw: Any, *, reused: bool = False) -> None:
        self.raw = raw
        self.reused = reused

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Any:
        if params:
            return self.raw.execute(_placeholders(sql), tuple(params))
        return self.raw.execute(sql)

    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> Any:
        cur = self.raw.cursor()
        cur.executemany(_placeholders(sql), list(params))
        return cur


# -- failures ------------------------------------------------------------------------------

_AUTH = "check the user name and password in GEOAPP_STORE (or ~/.pgpass)"
_DOWN = "is the PostgreSQL server running? check the host and port in GEOAPP_STORE"
_AGAIN = "another program changed the store at the same moment; try again"
_RESTART = "the database server is shutting down or restarting; try again when it is back"
#: What a user can do about a server error, by SQLSTATE (then by class, first 2 chars).
_HINTS = {
    "53100": "the database server's disk is full; ask its administrator to free space, "
    "then try again",
    "53200": "the database server is out of memory; try again in a minute",
    "53300": "the database server has no connection left; try again in a minute, or ask "
    "its administrator to raise max_connections",
    "55P03": "another program is writing to the store; try again in a minute",
    "40001": _AGAIN,
    "40P01": _AGAIN,
    "57P01": _RESTART,
    "57P02": _RESTART,
    "57P03": _RESTART,
    "25006": "the database server is read-only (a standby?); point GEOAPP_STORE at the "
    "primary server",
    "42501": "the database user lacks a right the store needs (to create the postgis "
    "extension and the region's schema once, then to read and write that schema); ask "
    "the database administrator to grant it",
    "28000": _AUTH,
    "28P01": _AUTH,
    "3D000": "no such database on the server; create it (createdb NAME) or correct GEOAPP_STORE",
    "08": "the connection to the database server was lost; try again",
    "53": "the database server is short of resources; try again later, or ask its administrator",
}
#: libpq's words (all of them, lower case) when a connection fails before the server
#: could send a code.
_CONNECT_HINTS = (
    (("password authentication failed",), _AUTH),
    (("no password supplied",), _AUTH),
    (("role", "does not exist"), _AUTH),
    (("no pg_hba.conf entry",), "the server does not accept this user from this machine; "
     "ask its administrator (pg_hba.conf)"),
    (("database", "does not exist"), _HINTS["3D000"]),
    (("too many clients",), _HINTS["53300"]),
    (("the database system is",), _RESTART),
    (("could not translate host name",), "unknown host name in GEOAPP_STORE; check it"),
    (("timeout expired",), "the server did not answer; check the host, port and network"),
    (("connection refused",), _DOWN),
    (("no such file or directory",), _DOWN),
    (("server closed the connection",), _HINTS["08"]),
)  # fmt: skip


def pg_failure(location: str, exc: BaseException, doing: str, *, write: bool = False) -> StoreError:
    """The StoreError for a PostgreSQL failure: the store, what failed, the server's
    words (one line) and what the user can do. Raise it ``from exc``."""
    text = " ".join(str(exc).split())[:400]
    code = str(getattr(exc, "sqlstate", None) or "")
    hint = _HINTS.get(code) or _HINTS.get(code[:2])
    if hint is None:
        lowered = text.lower()
        hint = next((h for words, h in _CONNECT_HINTS if all(w in lowered for w in words)), None)
    parts = [f"{location}: cannot {doing}: {text}"]
    if hint:
        parts.append(hint)
    if write:
        parts.append("nothing was written; the previous data are unchanged")
    again = code in ("55P03", "40001", "40P01") or code.startswith("08")
    hint = Word("problem.store.hint.busy" if again else "problem.store.hint.server", "")
    return failure("; ".join(parts), hint=hint, write=write)


def _display(url: str, params: dict[str, Any]) -> str:
    """The URL without its password, for messages."""
    host = str(params.get("host") or "")
    port = f":{params['port']}" if params.get("port") and not host.startswith("/") else ""
    user = f"{params['user']}@" if params.get("user") else ""
    where = f"{host}{port}" if not host.startswith("/") else ""
    query = f"?host={host}" + (f"&port={params['port']}" if params.get("port") else "")
    return f"postgresql://{user}{where}/{params.get('dbname', '')}" + (
        query if host.startswith("/") else ""
    )


def _close_all(connections: list[Any]) -> None:
    for raw in connections:
        with contextlib.suppress(Exception):
            raw.close()


# -- the backend ---------------------------------------------------------------------------


class PostgisBackend:
    """The store of ``region`` in schema ``geoapp_<region>`` of the database at ``url``."""

    kind = "postgis"
    writes_geometry = False  # geom is generated from lon/lat

    def __init__(self, url: str, region: str) -> None:
        psycopg = _driver()
        self._psycopg = psycopg
        self.errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        try:
            self._params = psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.Error as exc:
            msg = (
                f"the store location is not a usable PostgreSQL URL ({exc}); expected "
                "postgresql://user:password@host:5432/database"
            )
            raise StoreError(msg, key="problem.store.bad_url") from None
        if not re.fullmatch(r"[1-9][0-9]{5}", str(region)):
            msg = f"a store belongs to a region's six-digit adcode, not {str(region)[:40]!r}"
            raise StoreError(msg, key="problem.store.bad_region", region=str(region)[:40])
        self._url = url
        self.schema = f"geoapp_{region}"
        self.name = f"schema {self.schema}"
        self.location = f"{_display(url, self._params)} (schema {self.schema})"
        self._lock_key = (_LOCK_CLASS << 32) | int(region)
        self._idle: list[Any] = []
        self._orphans: list[Any] = []
        self._pool_lock = threading.Lock()
        self._pid = os.getpid()
        weakref.finalize(self, _close_all, self._idle)  # the kept connections die with it

    def failure(self, exc: BaseException, doing: str, *, write: bool = False) -> StoreError:
        return pg_failure(self.location, exc, doing, write=write)

    # -- connections ----------------------------------------------------------------------

    def _open(self) -> Any:
        """A new server connection with the region's schema (and PostGIS's) on its path."""
        psycopg, sql = self._psycopg, self._psycopg.sql
        options = {"connect_timeout": 10, "application_name": "geoapp"}
        options = {k: v for k, v in options.items() if k not in self._params}
        try:
            raw = psycopg.connect(self._url, autocommit=True, **options)
        except psycopg.Error as exc:
            raise self.failure(exc, "connect to the store") from exc
        try:
            row = raw.execute(
                "SELECT n.nspname FROM pg_extension e "
                "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'postgis'"
            ).fetchone()
            # work_mem: a version's 100,000 rows sorted in memory, not on disk.
            path = sql.SQL("SET search_path TO {}, {}; SET work_mem = '64MB'").format(
                sql.Identifier(self.schema), sql.Identifier(row[0] if row else "public")
            )
            raw.execute(path)
        except psycopg.Error as exc:
            raw.close()
            raise self.failure(exc, "connect to the store") from exc
        return raw

    def _pooled(self) -> Any | None:
        idle = self._psycopg.pq.TransactionStatus.IDLE
        with self._pool_lock:
            if os.getpid() != self._pid:  # a forked child: never touch the parent's sockets
                self._orphans.extend(self._idle)
                self._idle.clear()
                self._pid = os.getpid()
            while self._idle:
                raw = self._idle.pop()
                if not raw.closed and raw.info.transaction_status == idle:
                    return raw
                with contextlib.suppress(Exception):
                    raw.close()
        return None

    def connect(self) -> PgConnection:
        raw = self._pooled()
        if raw is not None:
            return PgConnection(raw, reused=True)
        return PgConnection(self._open())

    def begin(self, con: PgConnection, *, write: bool) -> None:
        try:
            self._begin(con.raw, write=write)
        except self._psycopg.OperationalError:
            if not con.reused:
                raise
            # A kept connection the server closed meanwhile (restart, idle timeout).
            with contextlib.suppress(Exception):
                con.raw.close()
            con.raw, con.reused = self._open(), False
            self._begin(con.raw, write=write)

    def _begin(self, raw: Any, *, write: bool) -> None:
        if not write:
            raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return
        raw.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
        raw.execute("SET LOCAL lock_timeout = '60s'")
        raw.execute("SELECT pg_advisory_xact_lock(%s)", (self._lock_key,))

    def commit(self, con: PgConnection) -> None:
        con.raw.execute("COMMIT")

    def rollback(self, con: PgConnection) -> None:
        """Roll back what is still open; a second failure must not hide the first."""
        raw = con.raw
        if raw.closed or raw.info.transaction_status == self._psycopg.pq.TransactionStatus.IDLE:
            return
        with contextlib.suppress(self._psycopg.Error):
            raw.execute("ROLLBACK")

    def release(self, con: PgConnection) -> None:
        raw = con.raw
        idle = self._psycopg.pq.TransactionStatus.IDLE
        if not raw.closed and raw.info.transaction_status == idle:
            with self._pool_lock:
                if os.getpid() == self._pid and len(self._idle) < _POOL:
                    self._idle.append(raw)
                    return
        with contextlib.suppress(Exception):
            raw.close()

    def close(self) -> None:
        """Close the kept connections (a store object can still be used afterwards)."""
        with self._pool_lock:
            idle = list(self._idle)
            self._idle.clear()
        _close_all(idle)

    # -- the schema -----------------------------------------------------------------------

    def _read(self, query: str, params: Sequence[Any] = ()) -> list[tuple]:
        """One query outside a transaction (the store may not exist yet)."""
        con = self.connect()
        try:
            return con.execute(query, params).fetchall()
        except self._psycopg.Error as exc:
            raise self.failure(exc, "open the store") from exc
        finally:
            self.release(con)

    def exists(self) -> bool:
        rows = self._read("SELECT to_regclass(?)", (f'"{self.schema}".geoapp_meta',))
        return rows[0][0] is not None

    def prepare(self) -> None:
        """Nothing to prepare: the schema is made with the store."""

    def meta(self, con: PgConnection) -> dict[str, str] | None:
        tables = {
            r[0]
            for r in con.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = ?", (self.schema,)
            )
        }
        if "geoapp_meta" in tables:
            return dict(con.execute("SELECT key, value FROM geoapp_meta").fetchall())
        if tables:
            msg = (
                f"{self.location}: not a geoapp store (the schema has tables "
                f"{sorted(tables)[:5]} but no geoapp_meta); use another database"
            )
            raise StoreError(msg, key="problem.store.foreign")
        return None

    def begin_create(self, con: PgConnection) -> None:
        self.begin(con, write=True)

    def create_schema(self, con: PgConnection, *, region: str, at: str) -> None:
        """Inside the region's write transaction: PostGIS (if the database lacks it), the
        schema, its tables and triggers, and ``geoapp_meta``."""
        con.execute("SELECT pg_advisory_xact_lock(?)", (_CREATE_KEY,))
        if con.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone() is None:
            con.execute("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public")
        con.execute(f'CREATE SCHEMA "{self.schema}"')
        for statement in schema_statements():
            con.execute(statement)
        con.executemany("INSERT INTO geoapp_meta (key, value) VALUES (?, ?)", meta_rows(region, at))

    def touch(self, con: PgConnection, tables: Sequence[str], now: str) -> None:
        """Nothing to date: PostgreSQL has no ``gpkg_contents``."""

    def insert_rows(
        self, con: PgConnection, table: str, columns: Sequence[str], records: Iterable[Sequence]
    ) -> None:
        """``COPY`` the rows in; a ``geom`` column is left to the server (generated)."""
        keep = [i for i, c in enumerate(columns) if c != "geom"]
        names = ", ".join(columns[i] for i in keep)
        with con.raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            if len(keep) == len(columns):
                for record in records:
                    copy.write_row(record)
            else:
                for record in records:
                    copy.write_row([record[i] for i in keep])

    def integrity_check(self) -> str:
        """``"ok"``, or what is wrong: a missing append-only trigger, a pointer to no
        version, a current version whose rows are not its ``row_count``."""
        con = self.connect()
        try:
            self.begin(con, write=False)
            problems = [
                f"table {t} accepts updates (no append-only trigger)"
                for (t,) in con.execute(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relname = ANY(?) "
                    "AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid "
                    "AND t.tgname = c.relname || '_append_only' AND t.tgenabled <> 'D')",
                    (self.schema, list(APPEND_ONLY)),
                )
            ]
            for dataset in ("facilities", "unemployed"):
                row = con.execute(
                    f"SELECT c.version_id, v.row_count, (SELECT COUNT(*) FROM {dataset} r "
                    'WHERE r.version_id = c.version_id) FROM "current" c LEFT JOIN versions v '
                    "ON v.dataset = c.dataset AND v.version_id = c.version_id "
                    "WHERE c.dataset = ?",
                    (dataset,),
                ).fetchone()
                if row is not None and row[1] is None:
                    problems.append(f"{dataset}: the pointer names version {row[0]}, not stored")
                elif row is not None and row[1] != row[2]:
                    problems.append(f"{dataset} version {row[0]}: {row[2]} rows of {row[1]}")
            self.commit(con)
        except self._psycopg.Error as exc:
            raise self.failure(exc, "check the store") from exc
        finally:
            self.rollback(con)
            self.release(con)
        return "; ".join(problems) or "ok"
