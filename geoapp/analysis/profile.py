"""County profile (一县一表): one county's facts, rules, facilities and neighbours.

This module owns what a planner's one-page sheet about a county says: its kind, area,
population and unemployed disabled people, its facilities per type and how far each is
from the county seat, every rule of the chosen policy and reading that applies to it
(its prefecture's prefecture-level rules included) and the situation of the counties it
shares a border with.

Decisions
---------
- Neighbours share a stretch of border, not a single point: two counties meeting at a
  corner are not neighbours (Jilin has three such pairs, e.g. 九台区 and 榆树市).
  The shared length is measured as the part of one county's boundary lying on the
  other county, so slivers between slightly overlapping polygons still count.
- Distances are geodesic on the WGS84 ellipsoid (:class:`pyproj.Geod`), never degrees.
- Facilities belong to a county by their ``adcode`` column, as the coverage engine
  counts them, so the profile's counts equal the gap list's ``actual``.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from geoapp.analysis.coverage import GapResult
from geoapp.facilities import FACILITY_TYPES, counts_by_county
from geoapp.policy import STRENGTHS

__all__ = [
    "RULE_COLUMNS",
    "CountyProfile",
    "county_profile",
    "distances_km",
    "neighbours",
]

GEOD = Geod(ellps="WGS84")
RULE_COLUMNS = (
    "rule_id",
    "level",
    "unit",
    "facility_type",
    "strength",
    "comparison",
    "required",
    "actual",
    "shortfall",
    "met",
    "status",
    "clause",
)
FACILITY_COLUMNS = ("facility_id", "name", "facility_type", "subtype", "address", "distance_km")


def distances_km(points: gpd.GeoSeries | gpd.GeoDataFrame, origin: shapely.Point) -> np.ndarray:
    """Geodesic distance in km from ``origin`` to each point (lon/lat, WGS84).

    Parameters
    ----------
    points : GeoSeries or GeoDataFrame
        Points; converted to EPSG:4326 when they carry another CRS.
    origin : shapely.Point
        Longitude/latitude in WGS84.

    Examples
    --------
    >>> from shapely.geometry import Point
    >>> pts = gpd.GeoSeries([Point(126, 43.5), Point(126, 44.5)], crs=4326)
    >>> distances_km(pts, Point(126, 43.5)).round(1).tolist()
    [0.0, 111.1]
    """
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.crs is not None and not geoms.crs.equals("EPSG:4326"):
        geoms = geoms.to_crs(4326)
    if len(geoms) == 0:
        return np.zeros(0)
    if not geoms.geom_type.eq("Point").all():
        msg = f"distances_km: expected points, got {sorted(set(geoms.geom_type.dropna()))}"
        raise ValueError(msg)
    lon, lat = geoms.x.to_numpy(), geoms.y.to_numpy()
    _, _, metres = GEOD.inv(np.full_like(lon, origin.x), np.full_like(lat, origin.y), lon, lat)
    return np.asarray(metres) / 1000.0


def neighbours(adcode: str, counties: gpd.GeoDataFrame) -> pd.DataFrame:
    """The counties sharing a stretch of border with ``adcode``, longest border first.

    One spatial-index query (``intersects``) finds the candidates; a candidate is a
    neighbour when the county's boundary runs along it for a positive length, which
    leaves out counties meeting at a single point.

    Parameters
    ----------
    adcode : str
        The county.
    counties : GeoDataFrame
        County polygons (EPSG:4326) with ``adcode``; other columns are carried over.

    Returns
    -------
    DataFrame
        The neighbours' rows without geometry, plus ``shared_border_km`` (geodesic).

    Raises
    ------
    ValueError
        When ``adcode`` is not in ``counties``.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> squares = gpd.GeoDataFrame({"adcode": ["1", "2", "3"]},
    ...     geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1), box(2, 0, 3, 1)], crs=4326)
    >>> neighbours("2", squares)["adcode"].tolist()
    ['1', '3']
    """
    codes = counties["adcode"].astype(str)
    hit = np.flatnonzero(codes.to_numpy() == str(adcode))
    if len(hit) != 1:
        what = "not" if len(hit) == 0 else f"{len(hit)} times"
        msg = f"neighbours: county {adcode!r} is {what} in the counties given"
        raise ValueError(msg)
    if counties.crs is not None and not counties.crs.equals("EPSG:4326"):
        counties = counties.to_crs(4326)
    geoms = counties.geometry.array
    target = geoms[hit[0]]
    candidates = counties.sindex.query(target, predicate="intersects")
    candidates = candidates[candidates != hit[0]]
    # The part of the county's border that lies on each candidate: a line for a shared
    # border (or an overlap), a point (length 0) for a corner contact.
    shared = shapely.intersection(shapely.boundary(target), geoms[candidates])
    keep = shapely.length(shared) > 0
    out = counties.iloc[candidates[keep]].drop(columns=counties.geometry.name)
    out = pd.DataFrame(out).assign(
        shared_border_km=[GEOD.geometry_length(g) / 1000.0 for g in shared[keep]]
    )
    return out.sort_values(["shared_border_km", "adcode"], ascending=[False, True]).reset_index(
        drop=True
    )


@dataclass(frozen=True, eq=False)
class CountyProfile:
    """Everything the county sheet shows; tables are new frames, never views of inputs.

    ``facility_counts``: ``facility_type, count`` for all six types (zeros included).
    ``rules``: :data:`RULE_COLUMNS`; ``status`` is ``met``, ``shortfall`` or
    ``not_in_scope`` (a county-level rule whose unit kinds, under this reading, leave
    this county out); ``unit`` is ``county`` or ``prefecture``.
    ``facilities``: :data:`FACILITY_COLUMNS`, nearest to the seat first.
    ``neighbours``: ``adcode, name, prefecture, unit_kind, unemployed_disabled``, one
    column per facility type, ``total``, ``shared_border_km``, ``gaps``,
    ``mandatory_gaps`` and ``gap_types`` (the facility types short, as a tuple), longest
    shared border first. ``situation``: the same columns (but the border) for the county
    itself, one row, to set beside its neighbours.
    """

    adcode: str
    name: str
    prefecture_adcode: str
    prefecture: str
    unit_kind: str
    area_km2: float | None
    pop2020: int | None
    unemployed_disabled: int | None
    seat: shapely.Point
    seat_source: str
    policy_key: str
    policy_title: str
    reading: str
    facility_counts: pd.DataFrame
    rules: pd.DataFrame
    facilities: pd.DataFrame
    neighbours: pd.DataFrame
    situation: pd.DataFrame

    @property
    def mandatory_shortfalls(self) -> pd.DataFrame:
        """The rules this county (or its prefecture) falls short of and must meet."""
        r = self.rules
        return r[(r["status"] == "shortfall") & (r["strength"] == "mandatory")].reset_index(
            drop=True
        )


def county_profile(
    adcode: str,
    *,
    counties: gpd.GeoDataFrame,
    facilities: pd.DataFrame,
    unemployed: pd.DataFrame,
    population: pd.DataFrame,
    gap_result: GapResult,
    seats: gpd.GeoDataFrame,
) -> CountyProfile:
    """The profile of one county.

    Parameters
    ----------
    adcode : str
        The county.
    counties : GeoDataFrame
        ``adcode, name, prefecture_adcode, prefecture, unit_kind, area_km2, geometry``.
    facilities : DataFrame
        ``facility_id, name, facility_type, subtype, address, adcode`` and point geometry.
    unemployed, population : DataFrame
        ``adcode, unemployed_disabled`` and ``adcode, pop2020``.
    gap_result : GapResult
        The region's unfiltered result for the chosen policy and reading.
    seats : GeoDataFrame
        ``adcode, source`` and a point per county, e.g. :func:`geoapp.regions.county_seats`.

    Raises
    ------
    ValueError
        When ``adcode`` is not one of ``counties``.
    """
    adcode = str(adcode)
    table = counties.assign(adcode=counties["adcode"].astype(str))
    row = _county_row(table, adcode)
    pref = str(row["prefecture_adcode"])
    here = facilities[facilities["adcode"].astype(str) == adcode]
    seat, seat_source = _seat(seats, adcode, row)
    demand = _value(unemployed, adcode, "unemployed_disabled")
    pop = _value(population, adcode, "pop2020")
    area = float(row["area_km2"]) if "area_km2" in row and pd.notna(row["area_km2"]) else None

    return CountyProfile(
        adcode=adcode,
        name=str(row["name"]),
        prefecture_adcode=pref,
        prefecture=str(row["prefecture"]),
        unit_kind=str(row["unit_kind"]),
        area_km2=area,
        pop2020=pop,
        unemployed_disabled=demand,
        seat=seat,
        seat_source=seat_source,
        policy_key=gap_result.policy_key,
        policy_title=gap_result.policy_title,
        reading=gap_result.reading,
        facility_counts=_facility_counts(here, adcode),
        rules=_rules(adcode, pref, gap_result.table),
        facilities=_nearest_first(here, seat),
        neighbours=_neighbour_table(adcode, table, facilities, unemployed, gap_result.table),
        situation=_situation([adcode], table, facilities, unemployed, gap_result.table),
    )


def _county_row(table: pd.DataFrame, adcode: str) -> pd.Series:
    row = table[table["adcode"] == adcode]
    if row.empty:
        msg = f"county_profile: no county {adcode!r}; the region has {len(table)} counties"
        raise ValueError(msg)
    return row.iloc[0]


def _facility_counts(here: pd.DataFrame, adcode: str) -> pd.DataFrame:
    """``facility_type, count`` of the county's facilities, all six types."""
    counts = counts_by_county(here, pd.DataFrame({"adcode": [adcode]})).iloc[0]
    return pd.DataFrame(
        {"facility_type": list(FACILITY_TYPES), "count": [int(counts[k]) for k in FACILITY_TYPES]}
    )


def _seat(seats: gpd.GeoDataFrame, adcode: str, row: pd.Series) -> tuple[shapely.Point, str]:
    """The county seat and where it comes from; a point inside the polygon when unknown."""
    seat_rows = seats[seats["adcode"].astype(str) == adcode]
    if seat_rows.empty:
        return shapely.point_on_surface(row.geometry), "point inside the county polygon"
    return seat_rows.geometry.iloc[0], str(seat_rows["source"].iloc[0])


def _nearest_first(here: gpd.GeoDataFrame, seat: shapely.Point) -> pd.DataFrame:
    """:data:`FACILITY_COLUMNS` of the county's facilities, nearest to the seat first;
    those without coordinates (placed by their declared county or address) last, with
    no distance."""
    points = here.geometry
    on_map = (points.notna() & ~points.is_empty & points.geom_type.eq("Point")).to_numpy()
    distance = np.full(len(here), np.nan)
    distance[on_map] = np.round(distances_km(points[on_map], seat), 1)
    near = pd.DataFrame(
        {c: here[c].to_numpy() for c in FACILITY_COLUMNS if c != "distance_km"}
    ).assign(distance_km=distance)
    return near.sort_values(["distance_km", "facility_id"]).reset_index(drop=True)


def _value(frame: pd.DataFrame, adcode: str, column: str) -> int | None:
    hit = frame.loc[frame["adcode"].astype(str) == adcode, column]
    return None if hit.empty or pd.isna(hit.iloc[0]) else int(hit.iloc[0])


def _rules(adcode: str, prefecture_adcode: str, table: pd.DataFrame) -> pd.DataFrame:
    """The county's rows, its prefecture's prefecture-level rows, and out-of-scope rules."""
    county = table[(table["adcode"] == adcode) & (table["level"] == "county")].assign(unit="county")
    pref = table[(table["adcode"] == prefecture_adcode) & (table["level"] == "prefecture")].assign(
        unit="prefecture"
    )
    county_rules = table[table["level"] == "county"].drop_duplicates("rule_id")
    missing = county_rules[~county_rules["rule_id"].isin(county["rule_id"])].assign(
        unit="county", actual=pd.NA, shortfall=pd.NA, met=pd.NA, status="not_in_scope"
    )
    found = pd.concat([county, pref], ignore_index=True)
    found = found.assign(status=np.where(found["met"].astype(bool), "met", "shortfall"))
    out = pd.concat([found, missing], ignore_index=True) if len(missing) else found
    order = {"shortfall": 0, "met": 1, "not_in_scope": 2}
    strength = {s: i for i, s in enumerate(STRENGTHS)}
    out = out.assign(
        _s=out["status"].map(order),
        _k=out["strength"].map(strength),
        actual=out["actual"].astype("Int64"),
        shortfall=out["shortfall"].astype("Int64"),
        met=out["met"].astype("boolean"),
    )
    out = out.sort_values(["_s", "_k", "rule_id"]).reset_index(drop=True)
    return out[list(RULE_COLUMNS)]


def _situation(
    codes: list[str],
    counties: pd.DataFrame,
    facilities: pd.DataFrame,
    unemployed: pd.DataFrame,
    gaps: pd.DataFrame,
) -> pd.DataFrame:
    """Kind, unemployed, facilities by type and county-level gaps of some counties."""
    base = counties.loc[
        counties["adcode"].isin(codes), ["adcode", "name", "prefecture", "unit_kind"]
    ]
    base = base.set_index("adcode").loc[codes].reset_index()
    placed = pd.DataFrame(
        {"adcode": facilities["adcode"].astype(str), "facility_type": facilities["facility_type"]}
    )
    demand = pd.DataFrame(
        {
            "adcode": unemployed["adcode"].astype(str),
            "unemployed_disabled": pd.to_numeric(unemployed["unemployed_disabled"]).astype("Int64"),
        }
    )
    short = gaps[(gaps["shortfall"] > 0) & (gaps["level"] == "county") & gaps["adcode"].isin(codes)]
    by_unit = short.groupby("adcode")
    out = base.merge(demand, on="adcode", how="left").merge(
        counts_by_county(placed, base), on="adcode", how="left"
    )
    out["gaps"] = out["adcode"].map(by_unit.size()).fillna(0).astype("int64")
    mandatory = (short["strength"] == "mandatory").groupby(short["adcode"]).sum()
    out["mandatory_gaps"] = out["adcode"].map(mandatory).fillna(0).astype("int64")
    types = {code: tuple(dict.fromkeys(group["facility_type"])) for code, group in by_unit}
    out["gap_types"] = [types.get(code, ()) for code in out["adcode"]]
    return out


def _neighbour_table(
    adcode: str,
    counties: gpd.GeoDataFrame,
    facilities: pd.DataFrame,
    unemployed: pd.DataFrame,
    gaps: pd.DataFrame,
) -> pd.DataFrame:
    near = neighbours(adcode, counties)[["adcode", "shared_border_km"]]
    situation = _situation(near["adcode"].tolist(), counties, facilities, unemployed, gaps)
    out = situation.merge(
        near.assign(shared_border_km=near["shared_border_km"].round(1)), on="adcode"
    )
    return out[[*situation.columns[:4], "shared_border_km", *situation.columns[4:]]]
