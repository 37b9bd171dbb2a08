"""How the store fails: :class:`StoreError`, and SQLite's failures turned into one.

A failure of the file itself (disk full, read-only file or folder, not an SQLite file,
damaged, locked by another writer) becomes a StoreError naming the file, what could not
be done, SQLite's own words and what the user can do about it. PostgreSQL's failures
are turned into one the same way by :func:`geoapp.store.postgis.pg_failure`.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

__all__ = ["ConfirmationNeeded", "StoreError", "rollback_quietly", "sqlite_failure"]


class StoreError(ValueError):
    """A store file or a version that cannot be used; the message says which and why.

    Failures of the file itself (disk full, read-only file or folder, not an SQLite
    file, damaged, locked by another writer) name the file, say what could not be done
    and give SQLite's own words, chained to the :class:`sqlite3.Error`; failures of a
    PostgreSQL server (refused connection, password, disk full, no rights) likewise,
    chained to the ``psycopg.Error``. A write that fails leaves the previous data as
    they were.
    """


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
}


def sqlite_failure(
    path: Path, exc: sqlite3.Error, doing: str, *, write: bool = False
) -> StoreError:
    """The StoreError for an SQLite failure on ``path``: the file, what failed, SQLite's
    words, and what the user can do. Raise it ``from exc``."""
    code = "_".join(str(getattr(exc, "sqlite_errorname", "")).split("_")[:2])
    parts = [f"{path}: cannot {doing}: {exc}"]
    if code in _SQLITE_HINTS:
        parts.append(_SQLITE_HINTS[code])
    if write:
        parts.append("nothing was written; the previous data are unchanged")
    return StoreError("; ".join(parts))


def rollback_quietly(con: sqlite3.Connection) -> None:
    """Roll back what is still open. After SQLITE_FULL, SQLITE_IOERR and the like SQLite
    has rolled back already, and a second failure must not hide the first."""
    if con.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")


class ConfirmationNeeded(StoreError):
    """A submission would close facilities (or drop counts) of its area that it does not
    list, and the caller has not confirmed that number.

    ``closes`` holds them (the current rows of the area the submission leaves out),
    ``count`` their number: show them, then submit again with
    ``confirm_closures=count``.
    """

    def __init__(self, message: str, closes: object, count: int) -> None:
        super().__init__(message)
        self.closes = closes
        self.count = int(count)
