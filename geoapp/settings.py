"""Run-time settings of geoapp, documented in one place.

Every setting is a module attribute read from its environment variable *each time it
is read*, so a test or a launcher that sets the variable later still takes effect;
assigning the attribute (``settings.MAX_UPLOAD_BYTES = 5_000_000``) overrides the
environment for the rest of the process, and ``del settings.MAX_UPLOAD_BYTES`` undoes
that. Relative paths in variables are resolved against the repository root, never
against the working directory.

STORE_PATH : pathlib.Path or str
    The versioned data store (``geoapp.store``): one GeoPackage, or a PostgreSQL +
    PostGIS database given as a URL (``postgresql://user:password@host:5432/database``,
    kept as text) that several dashboard processes can share. Environment
    ``GEOAPP_STORE``; default ``<repo>/var/geoapp.gpkg`` (``var/`` is not tracked by
    git). Created from the embedded demo data on first use. This is the store of the
    default region; another region's store sits beside it as ``geoapp-<adcode>.gpkg``,
    or in its own schema ``geoapp_<adcode>`` of the same database (see
    :func:`store_path`).
ACCOUNTS_PATH : pathlib.Path
    Data-steward and viewer accounts, a TOML file with argon2 password hashes
    (``geoapp.auth``). Environment ``GEOAPP_ACCOUNTS``; default
    ``<repo>/var/accounts.toml``.
VIEW_REQUIRES_SIGNIN : bool
    Whether viewing the dashboard needs a signed-in account (any role). Uploading,
    rolling back and reading the audit log always need a data steward. Environment
    ``GEOAPP_VIEW_REQUIRES_SIGNIN`` (``1/true/yes/on`` or ``0/false/no/off``); default
    False.
MAX_UPLOAD_BYTES : int
    Uploaded registers larger than this are refused before they are parsed.
    Environment ``GEOAPP_MAX_UPLOAD_BYTES``, bytes or with a unit (``20MB``, ``512 KiB``);
    default 20 MB (20,000,000 bytes).
REVIEW_REQUIRED : bool
    Whether a submission waits for a reviewer of the area above it (县级填报、市级审核、
    省级汇总) before it changes the current data. Environment ``GEOAPP_REVIEW`` (yes/no
    as above); default True. Off, a submission is approved when it is accepted.
DUE_DAYS : int
    Days after a quarter's last day that its reports are due (reporting status says
    "late" after that). Environment ``GEOAPP_DUE_DAYS``; default 15.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geoapp.paths import ROOT

__all__ = [
    "ACCOUNTS_PATH",
    "DEFAULTS",
    "DUE_DAYS",
    "ENVIRONMENT",
    "MAX_UPLOAD_BYTES",
    "REVIEW_REQUIRED",
    "STORE_PATH",
    "VAR_DIR",
    "VIEW_REQUIRES_SIGNIN",
    "store_path",
]

#: Where run-time state lives by default (ignored by git).
VAR_DIR = ROOT / "var"

#: Setting -> its environment variable.
ENVIRONMENT = {
    "STORE_PATH": "GEOAPP_STORE",
    "ACCOUNTS_PATH": "GEOAPP_ACCOUNTS",
    "VIEW_REQUIRES_SIGNIN": "GEOAPP_VIEW_REQUIRES_SIGNIN",
    "MAX_UPLOAD_BYTES": "GEOAPP_MAX_UPLOAD_BYTES",
    "REVIEW_REQUIRED": "GEOAPP_REVIEW",
    "DUE_DAYS": "GEOAPP_DUE_DAYS",
}

#: Setting -> value when its variable is not set.
DEFAULTS: dict[str, Any] = {
    "STORE_PATH": VAR_DIR / "geoapp.gpkg",
    "ACCOUNTS_PATH": VAR_DIR / "accounts.toml",
    "VIEW_REQUIRES_SIGNIN": False,
    "MAX_UPLOAD_BYTES": 20_000_000,
    "REVIEW_REQUIRED": True,
    "DUE_DAYS": 15,
}

if TYPE_CHECKING:  # what the module attributes are; __getattr__ computes them
    STORE_PATH: Path | str
    ACCOUNTS_PATH: Path
    VIEW_REQUIRES_SIGNIN: bool
    MAX_UPLOAD_BYTES: int
    REVIEW_REQUIRED: bool
    DUE_DAYS: int

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
}


def _path(text: str) -> Path:
    path = Path(text).expanduser()
    return path if path.is_absolute() else ROOT / path


def _store(text: str) -> Path | str:
    """A PostgreSQL URL stays text (a path would lose its ``//``); else a path."""
    if re.match(r"\s*postgres(ql)?://", text, re.IGNORECASE):
        return text.strip()
    return _path(text)


def _bool(text: str, var: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    msg = f"{var}={text!r} is not a yes/no value; expected one of 1/true/yes/on or 0/false/no/off"
    raise ValueError(msg)


def _bytes(text: str, var: str) -> int:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else None
    if match is None or unit not in _UNITS:
        msg = (
            f"{var}={text!r} is not a size; expected bytes or a number with "
            "KB, MB, GB, KiB, MiB, GiB"
        )
        raise ValueError(msg)
    return int(float(match.group(1)) * _UNITS[unit])


def _days(text: str, var: str) -> int:
    if not re.fullmatch(r"\s*\d{1,3}\s*", text):
        msg = f"{var}={text!r} is not a number of days (0-999)"
        raise ValueError(msg)
    return int(text)


_PARSERS = {
    "STORE_PATH": lambda text, var: _store(text),
    "ACCOUNTS_PATH": lambda text, var: _path(text),
    "VIEW_REQUIRES_SIGNIN": _bool,
    "MAX_UPLOAD_BYTES": _bytes,
    "REVIEW_REQUIRED": _bool,
    "DUE_DAYS": _days,
}


def __getattr__(name: str) -> Any:
    # Only called for names not set on the module: an assignment wins over the environment.
    if name not in ENVIRONMENT:
        msg = f"module {__name__!r} has no attribute {name!r}"
        raise AttributeError(msg)
    var = ENVIRONMENT[name]
    text = os.environ.get(var)
    if text is None:
        return DEFAULTS[name]
    return _PARSERS[name](text, var)


def store_path(region: str | None = None) -> Path | str:
    """The store of ``region``: :data:`STORE_PATH` for the default region, else
    ``<STORE_PATH stem>-<adcode><suffix>`` beside it (one store per region). A
    PostgreSQL URL is the same for every region: each has its own schema in it."""
    from geoapp.regions import DEFAULT_REGION

    base: Path | str = sys.modules[__name__].STORE_PATH
    if region is not None and not re.fullmatch(r"[1-9][0-9]{5}", str(region)):
        msg = f"a store belongs to a region's six-digit adcode, not {str(region)[:40]!r}"
        raise ValueError(msg)
    if isinstance(base, str) or region is None or str(region) == DEFAULT_REGION:
        return base
    return base.with_name(f"{base.stem}-{region}{base.suffix}")
