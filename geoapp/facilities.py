"""Facility types and per-county facility counts.

The six types, their register synonyms and their map style are data
(``data/facility_types.toml``), validated when loaded.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from geoapp.paths import DATA_DIR

TYPES_PATH = DATA_DIR / "facility_types.toml"
FACILITY_TYPES = (
    "incubation_base",
    "rural_help_base",
    "massage_institution",
    "auxiliary_institution",
    "vocational_school",
    "beautiful_workshop",
)
_HEX = re.compile(r"^#[0-9A-Fa-f]{6}$")


@dataclass(frozen=True)
class FacilityType:
    key: str
    colour: str
    icon: str
    mark: str
    synonyms: tuple[str, ...]


@lru_cache(maxsize=2)
def load_types(path: Path = TYPES_PATH) -> dict[str, FacilityType]:
    """Read and validate the facility-type table, in the canonical order."""
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    unknown = sorted(set(raw) - set(FACILITY_TYPES))
    missing = [k for k in FACILITY_TYPES if k not in raw]
    if unknown or missing:
        msg = f"{path}: facility types must be exactly {list(FACILITY_TYPES)}; unknown {unknown}, missing {missing}"
        raise ValueError(msg)
    out = {}
    for key in FACILITY_TYPES:
        entry = raw[key]
        for field in ("colour", "icon", "mark", "synonyms"):
            if field not in entry:
                msg = f"{path}: [{key}] lacks {field!r}"
                raise ValueError(msg)
        if not _HEX.match(entry["colour"]):
            msg = f"{path}: [{key}] colour {entry['colour']!r} is not #RRGGBB"
            raise ValueError(msg)
        out[key] = FacilityType(key, entry["colour"], entry["icon"], entry["mark"], tuple(entry["synonyms"]))
    return out


def counts_by_county(facilities: pd.DataFrame, counties: pd.DataFrame) -> pd.DataFrame:
    """Facilities per county and type: one row per county, one column per type.

    Counties with no facility get zeros, so a gap shows as 0, never as a missing row.
    """
    counts = (
        facilities.groupby(["adcode", "facility_type"]).size().unstack(fill_value=0)
        .reindex(columns=list(FACILITY_TYPES), fill_value=0)
    )
    counts = counts.reindex(counties["adcode"], fill_value=0)
    counts.index.name = "adcode"
    out = counts.astype(int).reset_index()
    out["total"] = out[list(FACILITY_TYPES)].sum(axis=1)
    return out
