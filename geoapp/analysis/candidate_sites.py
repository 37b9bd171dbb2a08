"""Candidate sites for :func:`geoapp.analysis.siting.suggest_sites`.

This module owns where new facilities may go: county seats
(:func:`geoapp.regions.county_seats`), the cells of a demand grid
(:func:`geoapp.analysis.access.demand_grid`) and points a user adds, each placed in its
county (:func:`geoapp.analysis.coverage.assign_counties`) and labelled with the county
and prefecture that a mandatory gap is closed in.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from geoapp.analysis.access import demand_grid
from geoapp.analysis.coverage import assign_counties
from geoapp.analysis.covering import SitingError
from geoapp.regions import county_seats

__all__ = ["CANDIDATE_KINDS", "candidates"]

CANDIDATE_KINDS = ("seats", "grid", "both", "none")


def candidates(
    kind: str,
    *,
    counties: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame | None = None,
    extra_points: gpd.GeoDataFrame | None = None,
    cell_km: float | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites: county seats, grid cells and/or points the user adds.

    Parameters
    ----------
    kind : {"seats", "grid", "both", "none"}
        ``"none"`` keeps only ``extra_points``.
    counties : GeoDataFrame
        County polygons (``adcode``, ``name``, ``prefecture_adcode``).
    demand : GeoDataFrame, optional
        Demand points; their positions are the grid candidates unless ``cell_km`` is given.
    extra_points : GeoDataFrame, optional
        Points a user adds (any CRS, optional ``name``); placed in counties by position.
    cell_km : float, optional
        Build the grid candidates on their own grid of this spacing (e.g. 20 km for a
        few hundred in a province) instead of using the demand points.

    Returns
    -------
    GeoDataFrame
        ``candidate_source, name, adcode, county, prefecture_adcode, geometry``
        (EPSG:4326); ``adcode`` is empty for a point in no county.
    """
    if kind not in CANDIDATE_KINDS:
        msg = f"unknown candidate kind {kind!r}; expected one of {', '.join(CANDIDATE_KINDS)}"
        raise SitingError(msg)
    parts = []
    if kind in ("seats", "both"):
        seats = county_seats(counties)
        parts.append(
            gpd.GeoDataFrame(
                {
                    "candidate_source": "seat",
                    "name": seats["name"] + " seat",
                    "adcode": seats["adcode"].astype(str),
                },
                geometry=seats.geometry.values,
                crs=4326,
            )
        )
    if kind in ("grid", "both"):
        if cell_km is not None:
            empty = pd.DataFrame({"adcode": pd.Series(dtype=str), "unemployed_disabled": []})
            grid = demand_grid(counties, empty, cell_km=cell_km)
        elif demand is not None:
            grid = demand.to_crs(4326)
        else:
            msg = "grid candidates need the demand points or a cell_km"
            raise SitingError(msg)
        parts.append(
            gpd.GeoDataFrame(
                {
                    "candidate_source": "grid",
                    "name": "",
                    "adcode": grid["adcode"].astype(str).to_numpy(),
                },
                geometry=grid.geometry.values,
                crs=4326,
            )
        )
    if extra_points is not None and len(extra_points):
        if extra_points.crs is None:
            msg = "extra candidate points have no CRS; give them in EPSG:4326 (WGS84)"
            raise SitingError(msg)
        pts = extra_points.to_crs(4326)
        placed = assign_counties(gpd.GeoDataFrame(geometry=pts.geometry.values, crs=4326), counties)
        names = pts["name"].astype(str).to_numpy() if "name" in pts else ""
        parts.append(
            gpd.GeoDataFrame(
                {
                    "candidate_source": "user",
                    "name": names,
                    "adcode": placed["adcode_by_point"].fillna("").astype(str).to_numpy(),
                },
                geometry=pts.geometry.values,
                crs=4326,
            )
        )
    if not parts:
        return gpd.GeoDataFrame(
            {
                c: pd.Series(dtype=str)
                for c in ("candidate_source", "name", "adcode", "county", "prefecture_adcode")
            },
            geometry=gpd.GeoSeries([], crs=4326),
        )
    out = pd.concat(parts, ignore_index=True)
    labels = counties.drop_duplicates("adcode").set_index(counties["adcode"].astype(str))
    out["county"] = out["adcode"].map(labels["name"]).fillna("") if "name" in labels else ""
    out["prefecture_adcode"] = (
        out["adcode"].map(labels["prefecture_adcode"]).fillna("")
        if "prefecture_adcode" in labels
        else ""
    )
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)
