"""The prepared index of the reference tables, kept on disk between processes.

Owns :func:`default_index`: the :class:`~geoapp.admin.index.AdminIndex` of the tables in
``data/reference``, built once by :func:`~geoapp.admin.index.build_index` and then read
back from a file in the user's cache folder, which is about five times cheaper than
parsing the national code history and indexing every spelling again in each process.

The file is keyed by a SHA-256 of everything the index is made of: the bytes of the five
reference tables, the source of this package (a change to the rules is a new index),
the Python version and the pickle protocol. A file with another key, an unreadable or
corrupt one, or a folder that cannot be written, is never an error: the index is built
from the tables as before (and written back when possible). The folder is
``$GEOAPP_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/geoapp`` or ``~/.cache/geoapp``
(``%LOCALAPPDATA%\\geoapp`` on Windows); never the repository. The file is a pickle, so
the folder must be the user's own, like their Python packages.

Imports :mod:`geoapp.paths` and, of :mod:`geoapp.admin`, ``tables``, ``history`` and
``index``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path

from geoapp.admin.history import CodeHistory
from geoapp.admin.index import AdminIndex, build_index
from geoapp.admin.tables import (
    load_aliases,
    load_code_changes,
    load_development_zones,
    load_divisions,
)
from geoapp.collector import collector_paused
from geoapp.paths import cache_dir, own_file, reference_path

__all__ = ["cache_dir", "default_index", "source_key"]

SOURCES = (
    "admin_divisions.csv",
    "admin_aliases.csv",
    "admin_code_changes.csv",
    "development_zones.csv",
    "admin_code_history.csv",
)
_FILE = "admin_index.pickle"
_MAGIC = b"geoapp-admin-index\n"


def default_index() -> AdminIndex:
    """The index of the reference tables: read from the cache, else built (and cached).

    Returns
    -------
    AdminIndex
        Equal, field by field, to ``build_index`` over the tables of ``data/reference``
        with the national code history.
    """
    key = source_key()
    folder = cache_dir()
    found = _read(folder / _FILE, key)
    if found is not None:
        return found
    index = build_index(
        load_divisions(),
        aliases=load_aliases(),
        changes=load_code_changes(),
        zones=load_development_zones(),
        history=CodeHistory.default(),
    )
    _write(folder, key, index)
    return index


def source_key() -> str:
    """SHA-256 (hex) of the reference tables, this package's source and the Python."""
    digest = hashlib.sha256()
    digest.update(f"{sys.version}|{pickle.HIGHEST_PROTOCOL}".encode())
    package = Path(__file__).resolve().parent
    files = [reference_path(name) for name in SOURCES] + sorted(package.glob("*.py"))
    for path in files:
        data = path.read_bytes()
        digest.update(f"\n{path.name} {len(data)}\n".encode())
        digest.update(data)
    return digest.hexdigest()


def _read(path: Path, key: str) -> AdminIndex | None:
    """The index stored under ``key`` at ``path``; None if absent, stale or unreadable."""
    head = _MAGIC + key.encode() + b"\n"
    try:
        if not own_file(path):  # a pickle somebody else could have written: rebuilt
            return None
        data = path.read_bytes()
        if not data.startswith(head):
            return None
        index = _unpickle(data[len(head) :])
    except Exception:  # a cache that cannot be read is rebuilt, never fatal
        return None
    return index if isinstance(index, AdminIndex) else None


def _unpickle(data: bytes) -> object:
    """``pickle.loads`` of the user's own cache file, without the garbage collector:
    its passes over the 20,000 records being made would cost a third of the time."""
    with collector_paused():
        return pickle.loads(data)


def _write(folder: Path, key: str, index: AdminIndex) -> None:
    """Store ``index`` under ``key``, atomically; silently nothing if it cannot be."""
    head = _MAGIC + key.encode() + b"\n"
    temporary: str | None = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        data = head + pickle.dumps(index, protocol=pickle.HIGHEST_PROTOCOL)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".admin_index.", delete=False) as f:
            temporary = f.name
            f.write(data)
        os.replace(temporary, folder / _FILE)  # readers see the old file or the new one
    except Exception:  # e.g. a read-only home: just build next time too
        if temporary is not None:
            with contextlib.suppress(OSError):
                Path(temporary).unlink(missing_ok=True)
