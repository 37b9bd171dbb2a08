"""Facility types and per-county facility counts.

The types, in their order, with their labels in both languages, register synonyms and
map style (colour, icon, a mark per language, chart pattern) are data
(``data/facility_types.toml``), validated when loaded: adding a type is a table there
(and its targets in the policies), no code.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import pandas as pd

from geoapp.paths import DATA_DIR

__all__ = [
    "FACILITY_TYPES",
    "TYPES_PATH",
    "FacilityType",
    "counts_by_county",
    "load_types",
    "types_in",
]

TYPES_PATH = DATA_DIR / "facility_types.toml"
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
#: The fill patterns plotly draws on bars (``marker.pattern.shape``).
PATTERNS = ("", "/", "\\", "x", "-", "|", "+", ".")
_TEXT_FIELDS = ("label_zh", "label_en", "colour", "icon", "mark", "mark_en", "pattern")


@dataclass(frozen=True)
class FacilityType:
    """One facility type: key, labels, map and chart style, and what registers call it."""

    key: str
    colour: str
    icon: str
    mark: str
    synonyms: tuple[str, ...]
    label_zh: str = ""
    label_en: str = ""
    pattern: str = ""
    mark_en: str = ""

    def label(self, lang: str) -> str:
        """The type's name in ``lang`` (``zh`` or ``en``)."""
        return self.label_en if lang == "en" else self.label_zh

    def mark_in(self, lang: str) -> str:
        """The map badge in ``lang``: 孵 in Chinese, I in English."""
        return self.mark_en if lang == "en" and self.mark_en else self.mark


def _check_entry(path: Path, key: str, entry: object) -> FacilityType:
    where = f"{path}: [{key}]"
    if not _KEY.match(key):
        msg = f"{where}: a type's key is lowercase letters, digits and _"
        raise ValueError(msg)
    if not isinstance(entry, dict):
        msg = f"{where} is not a table"
        raise ValueError(msg)
    for name in (*_TEXT_FIELDS, "synonyms"):
        if name not in entry:
            msg = f"{where} lacks {name!r}"
            raise ValueError(msg)
    for name in _TEXT_FIELDS:
        if not isinstance(entry[name], str) or (name != "pattern" and not entry[name].strip()):
            msg = f"{where} {name} must be text, got {entry[name]!r}"
            raise ValueError(msg)
    if not _HEX.match(entry["colour"]):
        msg = f"{where} colour {entry['colour']!r} is not #RRGGBB"
        raise ValueError(msg)
    if entry["pattern"] not in PATTERNS:
        msg = f"{where} pattern {entry['pattern']!r} is not one of {list(PATTERNS)}"
        raise ValueError(msg)
    synonyms = entry["synonyms"]
    if not isinstance(synonyms, list) or not all(isinstance(s, str) and s for s in synonyms):
        msg = f"{where} synonyms must be a list of names"
        raise ValueError(msg)
    fields = {name: entry[name] for name in _TEXT_FIELDS}
    return FacilityType(key=key, synonyms=tuple(synonyms), **fields)


@lru_cache(maxsize=2)
def load_types(path: Path = TYPES_PATH) -> dict[str, FacilityType]:
    """Read and validate the facility-type table, in the order of the file.

    Raises
    ------
    ValueError
        Naming the file, the type and what is wrong: a missing field, a colour that is
        not ``#RRGGBB``, an unknown pattern, no type at all, or two types sharing a mark
        (in either language) or a pattern (they tell types apart without colour).
    """
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    types = {key: _check_entry(path, key, entry) for key, entry in raw.items()}
    if not types:
        msg = f"{path}: no facility type"
        raise ValueError(msg)
    for attr in ("mark", "mark_en", "pattern"):
        seen: dict[str, str] = {}
        for key, ftype in types.items():
            other = seen.setdefault(getattr(ftype, attr), key)
            if other != key:
                msg = f"{path}: [{key}] has the same {attr} as [{other}]"
                raise ValueError(msg)
    return types


def types_in(lang: str) -> dict[str, FacilityType]:
    """The types with ``mark`` in ``lang`` (:meth:`FacilityType.mark_in`): what a map
    and its legend draw on a page in that language.

    Examples
    --------
    >>> [t.mark for t in types_in("en").values()]
    ['I', 'R', 'M', 'A', 'V', 'W']
    """
    return {k: replace(t, mark=t.mark_in(lang)) for k, t in load_types().items()}


#: The type keys in their order (``data/facility_types.toml``).
FACILITY_TYPES: tuple[str, ...] = tuple(load_types())


def counts_by_county(facilities: pd.DataFrame, counties: pd.DataFrame) -> pd.DataFrame:
    """Facilities per county and type: one row per county, one column per type.

    Counties with no facility get zeros, so a gap shows as 0, never as a missing row.
    """
    counts = (
        facilities.groupby(["adcode", "facility_type"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=list(FACILITY_TYPES), fill_value=0)
    )
    counts = counts.reindex(counties["adcode"], fill_value=0)
    counts.index.name = "adcode"
    out = counts.astype(int).reset_index()
    out["total"] = out[list(FACILITY_TYPES)].sum(axis=1)
    return out
