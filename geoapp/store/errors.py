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

from geoapp.localised import Localised, Word

__all__ = [
    "ConfirmationNeeded",
    "StoreError",
    "failure",
    "rollback_quietly",
    "sqlite_failure",
]


class StoreError(Localised, ValueError):
    """A store file or a version that cannot be used; the message says which and why.

    ``key`` and ``params`` (where the raise site gives them) say the same in the words
    of the i18n table, without the store's location: what a user reads
    (:func:`geoapp.ingest.rowlog.problem_text`).

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
        parts.append(_UNCHANGED.text)
    hint = Word(f"problem.store.hint.{code[7:].lower()}", "") if code in _SQLITE_HINTS else ""
    return failure("; ".join(parts), hint=hint, write=write)


#: What a failed write of the store says about the data it meant to change.
_UNCHANGED = Word("problem.store.unchanged", "nothing was written; the previous data are unchanged")


def failure(message: str, *, hint: Word | str = "", write: bool = False) -> StoreError:
    """The StoreError for a failure of the store itself (SQLite or PostgreSQL):
    ``message`` in English with every detail, and for the user's language a key
    without the store's location, the server's words or SQL: a hint of what to do
    and, for a write, that nothing was written."""
    return StoreError(
        message,
        key="problem.store.failure",
        hint=hint or Word("problem.store.hint.other", ""),
        unchanged=_UNCHANGED if write else "",
    )


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

    def __init__(self, message: str, closes: object, count: int, **params: object) -> None:
        super().__init__(message, key="problem.store.confirm_closures", n=int(count), **params)
        self.closes = closes
        self.count = int(count)
