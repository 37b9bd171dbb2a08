"""The reference tables of the administrative registry, read from ``data/reference``.

Owns reading ``admin_divisions.csv`` (the current units), ``admin_aliases.csv``,
``admin_code_changes.csv``, ``admin_code_history.csv`` and ``development_zones.csv`` as
text frames, and the column checks every table (or a caller's replacement frame) must
pass. What the columns mean is
documented in :mod:`geoapp.admin`. Imports :mod:`geoapp.paths` only.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from geoapp.admin.names import as_adcode, is_blank
from geoapp.paths import reference_path

__all__ = [
    "code_column",
    "load_aliases",
    "load_code_changes",
    "load_code_history",
    "load_development_zones",
    "load_divisions",
    "require_columns",
]


def load_divisions() -> pd.DataFrame:
    """``admin_divisions.csv``: ``adcode, name, level, province, province_adcode,
    prefecture, prefecture_adcode`` of every current unit."""
    return _read_reference("admin_divisions.csv")


def load_aliases() -> pd.DataFrame:
    """``admin_aliases.csv``: ``alias, adcode, kind, prefecture_adcode, within, note``."""
    return _read_reference("admin_aliases.csv")


def load_code_changes() -> pd.DataFrame:
    """``admin_code_changes.csv``: ``old_code, old_name, old_prefecture, new_code,
    new_name, new_prefecture, year``."""
    return _read_reference("admin_code_changes.csv")


def load_code_history() -> pd.DataFrame:
    """``admin_code_history.csv``: the national code history, Chinese headers kept
    (``代码, 一级行政区, 二级行政区, 名称, 级别, 状态, 启用时间, 变更/弃用时间, 新代码``);
    read by :class:`geoapp.admin.history.CodeHistory`."""
    return pd.read_csv(
        reference_path("admin_code_history.csv"),
        dtype=str,
        keep_default_na=False,
        encoding="utf-8-sig",  # the published file starts with a byte-order mark
    )


def load_development_zones() -> pd.DataFrame:
    """``development_zones.csv``: ``code, name, prefecture`` of development zones."""
    return _read_reference("development_zones.csv")


def _read_reference(name: str) -> pd.DataFrame:
    return pd.read_csv(reference_path(name), dtype=str, keep_default_na=False, na_values=[""])


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise a ValueError naming ``what`` if ``frame`` lacks any of ``columns``."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{what} lacks columns {missing}; it has {list(frame.columns)}"
        raise ValueError(msg)


def code_column(series: pd.Series, what: str) -> list[str | None]:
    """A column of adcodes as 6-digit text (``None`` where blank); anything else raises."""
    out: list[str | None] = []
    for value in series.tolist():
        if type(value) is str and len(value) == 6 and value.isascii() and value.isdigit():
            out.append(value)  # already a code: what as_adcode would give, 10x faster
            continue
        if is_blank(value):
            out.append(None)
            continue
        code = as_adcode(value)
        if code is None:
            msg = f"{what}: {value!r} is not a 6-digit adcode"
            raise ValueError(msg)
        out.append(code)
    return out
