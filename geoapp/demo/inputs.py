"""What the demo data are made from: the built counties and the census table."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from geoapp.demo.constants import POPULATION_TABLES
from geoapp.paths import reference_path


# ---------------------------------------------------------------------------- inputs
def load_population(region: str = "220000") -> pd.DataFrame:
    """The region's census table (``adcode, prefecture, county, pop2020``), adcode as text.

    Raises
    ------
    ValueError
        If the region has no embedded population table (only 220000 吉林省 has one).
    """
    if region not in POPULATION_TABLES:
        msg = (
            f"no population table for region {region!r}: demo data can only be made for "
            f"{sorted(POPULATION_TABLES)} (吉林省); for another region supply registry counts"
        )
        raise ValueError(msg)
    return pd.read_csv(reference_path(POPULATION_TABLES[region]), dtype={"adcode": str})


def _county_table(counties: gpd.GeoDataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Counties (no geometry) sorted by adcode, with pop2020; dev-zone rows dropped."""
    need = {"adcode", "name", "prefecture", "unit_kind", "area_km2"}
    missing_cols = need - set(counties.columns)
    if missing_cols:
        msg = f"counties layer lacks columns {sorted(missing_cols)}"
        raise ValueError(msg)
    if not {"adcode", "pop2020"} <= set(population.columns):
        msg = "population table needs columns adcode and pop2020"
        raise ValueError(msg)
    pop = population[["adcode", "pop2020"]].assign(adcode=lambda d: d["adcode"].astype(str))
    table = (
        pd.DataFrame(counties.drop(columns="geometry", errors="ignore"))
        .assign(adcode=lambda d: d["adcode"].astype(str))
        .merge(pop, on="adcode", how="left")  # rows of population not in counties: ignored
        .sort_values("adcode", kind="stable")
        .reset_index(drop=True)
    )
    absent = table.loc[table["pop2020"].isna(), "adcode"].tolist()
    if absent:
        msg = f"population table has no pop2020 for county adcodes {absent}"
        raise ValueError(msg)
    return table
