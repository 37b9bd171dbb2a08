"""Distance-based access: demand points, nearest facility, catchments and 2SFCA.

This module owns the "how far are people from a facility" measures of DOMAIN.md
(coverage gaps beyond counting). Demand is a set of points carrying unemployed
disabled people: by default a regular grid over each county (:func:`demand_grid`), the
county's count spread over its land (:data:`DEMAND_ASSUMPTION`), or points a user
imports (towns, villages) with the same ``adcode, demand, geometry`` columns.

Distances are measured in one Lambert azimuthal equal-area projection fitted to the
data (:func:`geoapp.display.fitted_crs`), never in degrees; ``circuity`` multiplies
straight-line distances to approximate road distance. A facility across a county
border counts like any other: people go to the nearest one, wherever it is registered.

Decisions
---------
- 2SFCA (Luo & Wang 2003) is computed by PySAL ``access`` (``Access.two_stage_fca``):
  supply 1 per facility, catchment ``radius_km`` (after circuity), no distance decay.
  Its per-point ratio (facilities per person) is aggregated per county as the
  demand-weighted mean of the county's points, reported per 10,000 people
  (``fca_per_10k``). Region-wide, the weighted ratios add up to the facilities that
  have people in their catchment, so a county's value reads as "its share of the
  reachable facilities, per 10,000 of its people".
- Mean and 90th-percentile distances are demand-weighted; the percentile is the
  lower weighted quantile (the smallest distance within which 90 % of the people live).
- With no facility of a type anywhere, distances are NaN and nobody is within reach.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geoapp.display import fitted_crs
from geoapp.facilities import FACILITY_TYPES

__all__ = [
    "ACCESS_COLUMNS",
    "DEMAND_ASSUMPTION",
    "county_access",
    "demand_grid",
    "located",
    "metric_crs",
    "nearest_distance_km",
    "pairs_within_km",
    "two_stage_fca",
]

#: Stated wherever grid-based results show (tables' metadata, CLI stderr, the page).
DEMAND_ASSUMPTION = {
    "zh": "需求点为各县规则网格（{cell_km:g} 公里）的格网中心；各县未就业残疾人数按格网落在该县的陆地面积比例分摊"
    "（假设人口在县内均匀分布，并非真实居住地）。",
    "en": "Demand points are the centres of a regular {cell_km:g} km grid over each county; each "
    "county's unemployed disabled people are spread over its cells in proportion to the "
    "cell's land area in the county (assumes an even spread, not where people live).",
}

ACCESS_COLUMNS = (
    "adcode",
    "county",
    "prefecture",
    "facility_type",
    "people",
    "within_radius",
    "share_within",
    "mean_km",
    "p90_km",
    "fca_per_10k",
    "radius_km",
    "circuity",
)


def _check_positive(name: str, value: float) -> None:
    if not np.isfinite(value) or value <= 0:
        msg = f"{name} must be a positive number, got {value!r}"
        raise ValueError(msg)


def metric_crs(*frames: gpd.GeoDataFrame) -> pyproj.CRS:
    """One LAEA projection fitted to the joint extent of ``frames`` (metres)."""
    boxes = [shapely.box(*f.to_crs(4326).total_bounds) for f in frames if len(f)]
    if not boxes:
        msg = "no geometry to fit a projection to"
        raise ValueError(msg)
    return fitted_crs(gpd.GeoDataFrame(geometry=boxes, crs=4326))


def demand_grid(
    counties: gpd.GeoDataFrame, unemployed: pd.DataFrame, *, cell_km: float = 5.0
) -> gpd.GeoDataFrame:
    """Grid demand points over each county, carrying its unemployed disabled people.

    Cell centres on one regular grid (``cell_km`` apart in the fitted metric CRS) are
    kept where they fall inside a county; the county's count is shared among its cells
    in proportion to each cell's land area in the county (the square clipped to the
    county polygon). A county that contains no cell centre gets one point, at its
    representative point, carrying the whole count. See :data:`DEMAND_ASSUMPTION`.

    Parameters
    ----------
    counties : GeoDataFrame
        County polygons with ``adcode``.
    unemployed : DataFrame
        ``adcode, unemployed_disabled``; counties without a row get 0 people.
    cell_km : float
        Grid spacing in kilometres.

    Returns
    -------
    GeoDataFrame
        ``adcode, demand, land_km2, geometry`` (points, EPSG:4326); ``demand`` sums to
        each county's count.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> c = gpd.GeoDataFrame({"adcode": ["990101"]}, geometry=[box(125, 43, 125.5, 43.3)],
    ...                      crs=4326)
    >>> g = demand_grid(c, pd.DataFrame({"adcode": ["990101"], "unemployed_disabled": [100]}),
    ...                 cell_km=10)
    >>> round(float(g["demand"].sum()), 6), len(g) > 10
    (100.0, True)
    """
    _check_grid_inputs(counties, unemployed, cell_km)
    crs = fitted_crs(counties)
    metric = counties.to_crs(crs).reset_index(drop=True)
    cells = _grid_cells(metric, step=cell_km * 1000.0)
    cells = _spread_people(cells, unemployed)
    out = gpd.GeoDataFrame(
        cells[["adcode", "demand", "land_km2"]],
        geometry=gpd.GeoSeries(cells["geometry"].to_numpy(), crs=crs),
    )
    out = out.to_crs(4326)
    out.attrs["cell_km"] = float(cell_km)
    return out


# --- the steps of demand_grid --------------------------------------------------------------


def _check_grid_inputs(
    counties: gpd.GeoDataFrame, unemployed: pd.DataFrame, cell_km: float
) -> None:
    _check_positive("cell_km", cell_km)
    for column in ("adcode",):
        if column not in counties.columns:
            msg = f"counties lacks column {column!r}; it has {list(counties.columns)}"
            raise ValueError(msg)
    if not {"adcode", "unemployed_disabled"} <= set(unemployed.columns):
        msg = f"unemployed needs columns adcode, unemployed_disabled; it has {list(unemployed.columns)}"
        raise ValueError(msg)


def _grid_cells(metric: gpd.GeoDataFrame, *, step: float) -> pd.DataFrame:
    """Cell centres inside each county and their land area in it (metric CRS, m²).

    ``adcode, land_m2, geometry`` (shapely points): one row per centre inside a county,
    then one per county containing no centre (its representative point, its whole area).
    """
    polys = np.asarray(metric.geometry.array)
    codes = metric["adcode"].astype(str).to_numpy()
    minx, miny, maxx, maxy = metric.total_bounds
    xs = np.arange(minx + step / 2, maxx, step)
    ys = np.arange(miny + step / 2, maxy, step)
    gx, gy = (a.ravel() for a in np.meshgrid(xs, ys))
    centres = shapely.points(gx, gy)
    tree = shapely.STRtree(centres)
    county_idx, cell_idx = tree.query(polys, predicate="contains")
    # A centre on a shared border would lie in no interior; in overlapping polygons keep one.
    _, first = np.unique(cell_idx, return_index=True)
    county_idx, cell_idx = county_idx[first], cell_idx[first]
    boxes = shapely.box(
        gx[cell_idx] - step / 2,
        gy[cell_idx] - step / 2,
        gx[cell_idx] + step / 2,
        gy[cell_idx] + step / 2,
    )
    shapely.prepare(polys)
    whole = shapely.contains(polys[county_idx], boxes)
    area = np.full(len(cell_idx), step * step)
    edge = ~whole
    area[edge] = shapely.area(shapely.intersection(boxes[edge], polys[county_idx[edge]]))
    cells = pd.DataFrame(
        {"adcode": codes[county_idx], "land_m2": area, "geometry": centres[cell_idx]}
    )
    missing = np.setdiff1d(np.arange(len(polys)), county_idx)
    if len(missing):
        small = pd.DataFrame(
            {
                "adcode": codes[missing],
                "land_m2": shapely.area(polys[missing]),
                "geometry": shapely.point_on_surface(polys[missing]),
            }
        )
        cells = pd.concat([cells, small], ignore_index=True)
    return cells


def _spread_people(cells: pd.DataFrame, unemployed: pd.DataFrame) -> pd.DataFrame:
    """Each county's count shared among its cells by land area; sorted by adcode."""
    counts = (
        unemployed.assign(adcode=unemployed["adcode"].astype(str))
        .groupby("adcode")["unemployed_disabled"]
        .sum()
    )
    total_land = cells.groupby("adcode")["land_m2"].transform("sum")
    people = cells["adcode"].map(counts).fillna(0).astype(float)
    cells["demand"] = np.where(total_land > 0, people * cells["land_m2"] / total_land, 0.0)
    cells["land_km2"] = cells["land_m2"] / 1e6
    return cells.sort_values(["adcode"], kind="stable").reset_index(drop=True)


def located(facilities: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The rows with a point (registers may hold facilities known only by county)."""
    geom = facilities.geometry
    return facilities[geom.notna() & ~geom.is_empty]


def _metric_points(frame: gpd.GeoDataFrame, crs: pyproj.CRS) -> np.ndarray:
    if frame.crs is None:
        msg = "points have no CRS; geoapp stores points in EPSG:4326"
        raise ValueError(msg)
    return np.asarray(frame.geometry.to_crs(crs).array)


def nearest_distance_km(
    demand: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, *, circuity: float = 1.0
) -> pd.Series:
    """Distance (km, times ``circuity``) from each demand point to its nearest facility.

    Any facility counts, whichever county it is registered in. NaN when there are no
    facilities.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> d = gpd.GeoDataFrame(geometry=[Point(125, 43)], crs=4326)
    >>> f = gpd.GeoDataFrame(geometry=[Point(126, 43)], crs=4326)
    >>> round(float(nearest_distance_km(d, f).iloc[0]), 1)  # one degree of longitude at 43°N
    81.5
    """
    _check_positive("circuity", circuity)
    if len(facilities) == 0 or len(demand) == 0:
        return pd.Series(np.nan, index=demand.index, name="nearest_km", dtype=float)
    crs = metric_crs(demand, facilities)
    pts = _metric_points(demand, crs)
    tree = shapely.STRtree(_metric_points(facilities, crs))
    (src, _), dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    out = np.full(len(pts), np.nan)
    out[src] = dist / 1000.0 * circuity
    return pd.Series(out, index=demand.index, name="nearest_km")


def pairs_within_km(
    origins: gpd.GeoDataFrame,
    targets: gpd.GeoDataFrame,
    *,
    radius_km: float,
    circuity: float = 1.0,
    crs: pyproj.CRS | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions ``(i, j)`` and distances (km, times circuity) of pairs within the radius."""
    _check_positive("radius_km", radius_km)
    _check_positive("circuity", circuity)
    if len(origins) == 0 or len(targets) == 0:
        empty = np.array([], dtype=np.intp)
        return empty, empty, np.array([], dtype=float)
    crs = crs or metric_crs(origins, targets)
    a, b = _metric_points(origins, crs), _metric_points(targets, crs)
    limit = radius_km * 1000.0 / circuity
    i, j = shapely.STRtree(b).query(a, predicate="dwithin", distance=limit)
    dist = shapely.distance(a[i], b[j]) / 1000.0 * circuity
    keep = dist <= radius_km  # dwithin is inclusive; guard rounding at the edge
    return i[keep], j[keep], dist[keep]


def two_stage_fca(
    demand: pd.Series, supply: pd.Series, pairs: pd.DataFrame, *, radius_km: float
) -> pd.Series:
    """2SFCA ratio (supply per person) of each demand point, by PySAL ``access``.

    Parameters
    ----------
    demand : Series
        People per demand point, indexed by point id.
    supply : Series
        Supply per facility (1 each here), indexed by facility id.
    pairs : DataFrame
        ``origin`` (demand id), ``dest`` (facility id), ``cost`` (km).
    radius_km : float
        The catchment: pairs with cost above it are ignored.

    Returns
    -------
    Series
        Indexed like ``demand``; 0 where no facility is within reach, NaN for points
        with no people (their ratio is undefined and they weigh nothing).
    """
    from access import Access

    out = pd.Series(0.0, index=demand.index, name="fca")
    people = demand[demand > 0]
    pairs = pairs[pairs["origin"].isin(people.index) & (pairs["cost"] <= radius_km)]
    if len(pairs) and len(supply):
        demand_df = pd.DataFrame({"did": people.index, "people": people.to_numpy(float)})
        supply_df = pd.DataFrame({"sid": supply.index, "supply": supply.to_numpy(float)})
        with warnings.catch_warnings():
            # access 1.1 calls set_index(inplace=True), deprecated in pandas 3: not ours to fix.
            warnings.simplefilter("ignore")
            model = Access(
                demand_df=demand_df,
                demand_index="did",
                demand_value="people",
                supply_df=supply_df,
                supply_index="sid",
                supply_value="supply",
                cost_df=pairs,
                cost_origin="origin",
                cost_dest="dest",
                cost_name="cost",
            )
            ratios = model.two_stage_fca(name="fca", max_cost=radius_km)["fca_supply"]
        ratios = ratios.replace([np.inf, -np.inf], np.nan).fillna(0.0)
        out.loc[ratios.index] = ratios.to_numpy()
    out[demand <= 0] = np.nan
    return out


def _weighted_p90(dist: pd.Series, weight: pd.Series, key: pd.Series) -> pd.Series:
    frame = pd.DataFrame({"key": key, "d": dist, "w": weight})
    frame = frame[(frame["w"] > 0) & frame["d"].notna()].sort_values(["key", "d"])
    cum = frame.groupby("key")["w"].cumsum()
    total = frame.groupby("key")["w"].transform("sum")
    # 1e-9 slack: a cumulative share of exactly 90 % must count as reaching it.
    hit = frame[cum >= 0.9 * total - 1e-9 * total]
    return hit.groupby("key")["d"].first()


def county_access(
    demand: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    counties: pd.DataFrame,
    *,
    radius_km: float,
    circuity: float = 1.0,
    facility_types: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Per county and facility type: people within reach, distances and 2SFCA.

    Parameters
    ----------
    demand : GeoDataFrame
        ``adcode, demand`` points (:func:`demand_grid` or imported towns/villages).
    facilities : GeoDataFrame
        Points with ``facility_type``.
    counties : DataFrame
        ``adcode`` and, when present, ``name`` and ``prefecture`` for labels.
    radius_km : float
        "Within reach" and the 2SFCA catchment, in km after circuity.
    circuity : float
        Road distance / straight-line distance (1.0 = straight line; 1.2-1.4 is typical).
    facility_types : iterable of str, optional
        Default: the six types of :data:`geoapp.facilities.FACILITY_TYPES`.

    Returns
    -------
    DataFrame
        :data:`ACCESS_COLUMNS`, one row per county and type, sorted by type then adcode.
        ``people`` and ``within_radius`` are demand sums (people, not rounded),
        ``share_within`` in 0..1, ``mean_km``/``p90_km`` demand-weighted to the nearest
        facility, ``fca_per_10k`` the 2SFCA ratio per 10,000 people.
    """
    _check_access_inputs(demand, facilities, counties, radius_km=radius_km, circuity=circuity)
    facilities = located(facilities)
    types = _facility_types(facility_types)
    demand = demand.reset_index(drop=True)
    key = demand["adcode"].astype(str)
    weight = demand["demand"].astype(float).clip(lower=0)
    crs = metric_crs(demand, facilities) if len(facilities) else None
    rows = []
    for ftype in types:
        fac = facilities[facilities["facility_type"] == ftype].reset_index(drop=True)
        rows.append(
            _type_access(
                demand, key, weight, fac, ftype, radius_km=radius_km, circuity=circuity, crs=crs
            )
        )
    return _labelled(
        pd.concat(rows, ignore_index=True), counties, radius_km=radius_km, circuity=circuity
    )


# --- the steps of county_access ------------------------------------------------------------


def _check_access_inputs(
    demand: pd.DataFrame,
    facilities: pd.DataFrame,
    counties: pd.DataFrame,
    *,
    radius_km: float,
    circuity: float,
) -> None:
    _check_positive("radius_km", radius_km)
    _check_positive("circuity", circuity)
    for frame, cols, what in (
        (demand, ("adcode", "demand"), "demand"),
        (facilities, ("facility_type",), "facilities"),
        (counties, ("adcode",), "counties"),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            msg = f"{what} lacks column(s) {missing}; it has {list(frame.columns)}"
            raise ValueError(msg)


def _facility_types(facility_types: Iterable[str] | None) -> tuple[str, ...]:
    """The types asked for (all six by default), each one known."""
    types = tuple(facility_types) if facility_types is not None else FACILITY_TYPES
    unknown = sorted(set(types) - set(FACILITY_TYPES))
    if unknown:
        msg = f"unknown facility type(s) {unknown}; expected {', '.join(FACILITY_TYPES)}"
        raise ValueError(msg)
    return types


def _type_access(
    demand: gpd.GeoDataFrame,
    key: pd.Series,
    weight: pd.Series,
    fac: gpd.GeoDataFrame,
    ftype: str,
    *,
    radius_km: float,
    circuity: float,
    crs: pyproj.CRS | None,
) -> pd.DataFrame:
    """One facility type's measures per county: people, within reach, distances, 2SFCA."""
    dist = nearest_distance_km(demand, fac, circuity=circuity)
    if len(fac):
        i, j, d = pairs_within_km(demand, fac, radius_km=radius_km, circuity=circuity, crs=crs)
    else:
        i = j = np.array([], dtype=np.intp)
        d = np.array([], dtype=float)
    fca = two_stage_fca(
        weight,
        pd.Series(1.0, index=fac.index),
        pd.DataFrame({"origin": i, "dest": j, "cost": d}),
        radius_km=radius_km,
    )
    within = weight.where(dist <= radius_km, 0.0)
    frame = pd.DataFrame(
        {
            "key": key,
            "w": weight,
            "within": within,
            "wd": weight * dist,
            "wf": weight * fca.fillna(0.0),
        }
    )
    agg = frame.groupby("key").sum()
    people = agg["w"]
    per = pd.DataFrame(
        {
            "adcode": agg.index,
            "facility_type": ftype,
            "people": people.to_numpy(),
            "within_radius": agg["within"].to_numpy(),
        }
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        per["share_within"] = (agg["within"] / people).to_numpy()
        mean = (agg["wd"] / people).to_numpy() if len(fac) else np.full(len(agg), np.nan)
        per["mean_km"] = mean
        per["fca_per_10k"] = (agg["wf"] / people * 1e4).to_numpy()
    per["p90_km"] = per["adcode"].map(_weighted_p90(dist, weight, key))
    return per


def _labelled(
    table: pd.DataFrame, counties: pd.DataFrame, *, radius_km: float, circuity: float
) -> pd.DataFrame:
    """County and prefecture names and the parameters beside the measures."""
    labels = counties.drop_duplicates("adcode").assign(adcode=lambda f: f["adcode"].astype(str))
    labels = labels.set_index("adcode")
    table["county"] = table["adcode"].map(labels["name"]) if "name" in labels else ""
    table["prefecture"] = (
        table["adcode"].map(labels["prefecture"]) if "prefecture" in labels else ""
    )
    table[["county", "prefecture"]] = table[["county", "prefecture"]].fillna("")
    table["radius_km"] = float(radius_km)
    table["circuity"] = float(circuity)
    return table[list(ACCESS_COLUMNS)]
