"""Where geoapp's embedded data lives.

Everything is resolved from the repository's own path, never from the working
directory, so the CLI, the tests and the dashboard find the same files wherever they
are started from. Built regions may live elsewhere: environment ``GEOAPP_REGIONS_DIR``
(read once, when geoapp is imported; a relative path is taken from the repository root)
names their folder for the commands and the dashboard alike.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"
_REGIONS_VARIABLE = os.environ.get("GEOAPP_REGIONS_DIR", "").strip()
REGIONS_DIR = ROOT / _REGIONS_VARIABLE if _REGIONS_VARIABLE else DATA_DIR / "regions"
DEMO_DIR = DATA_DIR / "demo"


def reference_path(name: str) -> Path:
    """Return the path of a reference table under ``data/reference``.

    Raises
    ------
    ValueError
        If no such file exists; the message lists the files that do.
    """
    path = REFERENCE_DIR / name
    if not path.is_file():
        available = sorted(p.name for p in REFERENCE_DIR.glob("*") if p.is_file())
        msg = f"no reference table {name!r} in {REFERENCE_DIR}; available: {available}"
        raise ValueError(msg)
    return path


def cache_dir() -> Path:
    """The folder of geoapp's per-user caches; it may not exist yet.

    ``$GEOAPP_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/geoapp`` or
    ``~/.cache/geoapp`` (``%LOCALAPPDATA%\\geoapp`` on Windows); never the repository.
    """
    chosen = os.environ.get("GEOAPP_CACHE_DIR", "").strip()
    if chosen:
        return Path(chosen).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "geoapp"
    base = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(base) if base else Path.home() / ".cache") / "geoapp"


def own_file(path: Path) -> bool:
    """Whether ``path`` is a file of this user's that only they can write (POSIX): what
    somebody else could have written is not read from a cache."""
    if os.name != "posix":
        return path.is_file()
    st = path.stat()
    return st.st_uid == os.getuid() and not st.st_mode & 0o022
