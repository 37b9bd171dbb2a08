"""Hand-made toy regions near 43°N 125°E, laid out in kilometres (shared by access/siting tests)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point, box

from geoapp.policy import Policy, Rule

#: Kilometre coordinates are east/north of (125°E, 43°N) in this projection.
KM_CRS = "+proj=laea +lat_0=43 +lon_0=125 +datum=WGS84 +units=km +no_defs"


def counties(*rows) -> gpd.GeoDataFrame:
    """``(adcode, name, prefecture_adcode, unit_kind, (x0, y0, x1, y1) km)`` rows."""
    frame = pd.DataFrame(
        [(a, n, p, f"P{p}", k) for a, n, p, k, _ in rows],
        columns=["adcode", "name", "prefecture_adcode", "prefecture", "unit_kind"],
    )
    geoms = [box(*b) for *_, b in rows]
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=KM_CRS).to_crs(4326)


def points(xy, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        dict(columns), geometry=[Point(x, y) for x, y in xy], crs=KM_CRS
    ).to_crs(4326)


def facilities(xy, types, adcodes) -> gpd.GeoDataFrame:
    return points(xy, facility_type=list(types), adcode=list(adcodes))


def demand(xy, people, adcodes) -> gpd.GeoDataFrame:
    return points(xy, adcode=list(adcodes), demand=[float(p) for p in people])


def unemployed(counts: dict[str, int]) -> pd.DataFrame:
    return pd.DataFrame({"adcode": list(counts), "unemployed_disabled": list(counts.values())})


def policy(*rules: Rule) -> Policy:
    return Policy(
        key="toy",
        title="toy",
        document="",
        issuer="toy",
        period_start=2025,
        period_end=2027,
        region_adcode="990000",
        region_name="Toy",
        seed="",
        rules=tuple(rules),
    )


def rule(rule_id, facility_type, level, *, unit_kinds=(), strength="mandatory", value=1) -> Rule:
    return Rule(
        rule_id,
        facility_type,
        level,
        "at_least",
        value,
        strength,
        "x",
        "x",
        unit_kinds=tuple(unit_kinds),
    )
