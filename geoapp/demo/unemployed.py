"""The demo estimate of unemployed disabled people per county."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geoapp.demo.constants import (
    METHOD,
    MULTIPLIER_RANGE,
    PREVALENCE,
    UNEMPLOYED_SHARE,
    WORKING_AGE_SHARE,
)
from geoapp.demo.inputs import _county_table


# ------------------------------------------------------------------------ unemployed
def make_unemployed(
    counties: gpd.GeoDataFrame, population: pd.DataFrame, *, seed: int
) -> pd.DataFrame:
    """Demo estimate of unemployed disabled people per county (see the module docstring).

    One row per county of ``counties`` (sorted by adcode); population rows that are not
    counties (development zones) are ignored. Columns: :data:`UNEMPLOYED_COLUMNS`.
    """
    table = _county_table(counties, population)
    rng = np.random.default_rng(seed)
    mult = rng.uniform(*MULTIPLIER_RANGE, size=len(table))
    raw = table["pop2020"].to_numpy(float) * PREVALENCE * WORKING_AGE_SHARE * UNEMPLOYED_SHARE
    return pd.DataFrame(
        {
            "adcode": table["adcode"],
            "prefecture": table["prefecture"],
            "county": table["name"],
            "unemployed_disabled": np.maximum(np.rint(raw * mult), 0).astype(np.int64),
            "is_demo": True,
            "method": METHOD,
        }
    )
