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

__all__ = [
    "CANDIDATE_KINDS",
    "candidates",
    "empty_candidates",
    "grid_candidates",
    "label_candidates",
    "seat_candidates",
    "user_candidates",
]

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
        parts.append(seat_candidates(counties))
    if kind in ("grid", "both"):
        parts.append(grid_candidates(counties, demand=demand, cell_km=cell_km))
    if extra_points is not None and len(extra_points):
        parts.append(user_candidates(extra_points, counties))
    if not parts:
        return empty_candidates()
    return label_candidates(pd.concat(parts, ignore_index=True), counties)


def seat_candidates(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The county seats as candidates: ``candidate_source, name, adcode, geometry``."""
    seats = county_seats(counties)
    return gpd.GeoDataFrame(
        {
            "candidate_source": "seat",
            "name": seats["name"] + " seat",
            "adcode": seats["adcode"].astype(str),
        },
        geometry=seats.geometry.values,
        crs=4326,
    )


def grid_candidates(
    counties: gpd.GeoDataFrame,
    *,
    demand: gpd.GeoDataFrame | None = None,
    cell_km: float | None = None,
) -> gpd.GeoDataFrame:
    """Grid cells as candidates: a grid of ``cell_km`` spacing if given, else the
    ``demand`` points; ``candidate_source, name, adcode, geometry``.

    Raises
    ------
    SitingError
        With neither ``demand`` nor ``cell_km``.
    """
    if cell_km is not None:
        empty = pd.DataFrame({"adcode": pd.Series(dtype=str), "unemployed_disabled": []})
        grid = demand_grid(counties, empty, cell_km=cell_km)
    elif demand is not None:
        grid = demand.to_crs(4326)
    else:
        msg = "grid candidates need the demand points or a cell_km"
        raise SitingError(msg)
    return gpd.GeoDataFrame(
        {
            "candidate_source": "grid",
            "name": "",
            "adcode": grid["adcode"].astype(str).to_numpy(),
        },
        geometry=grid.geometry.values,
        crs=4326,
    )


def user_candidates(extra_points: gpd.GeoDataFrame, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Points a user adds as candidates, placed in their county by position
    (``adcode`` empty outside every county); ``candidate_source, name, adcode, geometry``.

    Raises
    ------
    SitingError
        If the points have no CRS.
    """
    if extra_points.crs is None:
        msg = "extra candidate points have no CRS; give them in EPSG:4326 (WGS84)"
        raise SitingError(msg)
    pts = extra_points.to_crs(4326)
    placed = assign_counties(gpd.GeoDataFrame(geometry=pts.geometry.values, crs=4326), counties)
    names = pts["name"].astype(str).to_numpy() if "name" in pts else ""
    return gpd.GeoDataFrame(
        {
            "candidate_source": "user",
            "name": names,
            "adcode": placed["adcode_by_point"].fillna("").astype(str).to_numpy(),
        },
        geometry=pts.geometry.values,
        crs=4326,
    )


def empty_candidates() -> gpd.GeoDataFrame:
    """No candidates, with the columns :func:`candidates` returns."""
    return gpd.GeoDataFrame(
        {
            c: pd.Series(dtype=str)
            for c in ("candidate_source", "name", "adcode", "county", "prefecture_adcode")
        },
        geometry=gpd.GeoSeries([], crs=4326),
    )


def label_candidates(out: pd.DataFrame, counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add each candidate's ``county`` name and ``prefecture_adcode`` (empty when its
    ``adcode`` is in no county), as a GeoDataFrame in EPSG:4326."""
    labels = counties.drop_duplicates("adcode").set_index(counties["adcode"].astype(str))
    out["county"] = out["adcode"].map(labels["name"]).fillna("") if "name" in labels else ""
    out["prefecture_adcode"] = (
        out["adcode"].map(labels["prefecture_adcode"]).fillna("")
        if "prefecture_adcode" in labels
        else ""
    )
    return gpd.GeoDataFrame(out, geometry="geometry", crs=4326)
