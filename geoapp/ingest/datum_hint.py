"""Which datum a register's coordinates are in, judged by where they land.

A register rarely says its datum. Coordinates copied from Amap or Tencent are GCJ-02,
from Baidu BD-09, from a GPS WGS84; read in the wrong datum every point is shifted by a
few hundred metres (about 500 m in Jilin for GCJ-02, about 1 km for BD-09) in the same
direction. :func:`guess_datum` reads the points each way and counts how many fall in the
county their row declares: the reading that puts the most points home is the datum,
and the others' misses are the evidence. The offset is systematic, so the
points that miss also miss in one direction; the median distance to the declared
county of the points outside it is given as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from geoapp import coords
from geoapp.admin import AdminRegistry

__all__ = ["CANDIDATES", "DatumGuess", "guess_datum", "guess_datum_from_report"]

#: Datums tried, in order of preference when they do equally well.
CANDIDATES = ("wgs84", "gcj02", "bd09")
#: The best reading must place this many more points (and this share more) than WGS84
#: before it is suggested instead: border points alone do not decide.
MIN_EXTRA_POINTS = 2
MIN_EXTRA_SHARE = 0.01
_METRIC_CRS = "EPSG:3857"  # distances only compared between readings, never reported as exact


@dataclass(frozen=True)
class DatumGuess:
    """What :func:`guess_datum` found.

    Attributes
    ----------
    datum : str or None
        The suggested datum, None when there were no usable points.
    points : int
        Rows with coordinates and a declared county that were compared.
    share : dict
        Datum -> share (0-1) of those points inside their declared county when the
        coordinates are read in that datum.
    offset_m : dict
        Datum -> median distance (metres) to the declared county of the points outside it
        (NaN when every point is inside).
    decisive : bool
        Whether the suggestion beats reading the points as WGS84 by a clear margin.
    """

    datum: str | None
    points: int
    share: dict[str, float]
    offset_m: dict[str, float]
    decisive: bool

    def evidence(self, lang: str = "zh") -> str:
        """One sentence: the shares, the best first, e.g. "87 % ... as GCJ-02, 61 % as WGS84"."""
        names = {"wgs84": "WGS84", "gcj02": "GCJ-02", "bd09": "BD-09"}
        order = sorted(self.share, key=lambda d: -self.share[d])
        if lang == "zh":
            parts = [f"按 {names[d]} 读 {self.share[d]:.0%}" for d in order]
            return (
                f"{self.points} 个有坐标并写明县区的点中，落在所写县区内的比例："
                + "，".join(parts)
                + "。"
            )
        parts = [f"{self.share[d]:.0%} as {names[d]}" for d in order]
        return (
            f"Of {self.points} points with coordinates and a declared county, those inside "
            f"their declared county: " + ", ".join(parts) + "."
        )


def guess_datum(
    frame: pd.DataFrame,
    counties: gpd.GeoDataFrame,
    *,
    lon: str = "lon",
    lat: str = "lat",
    declared: str = "declared_adcode",
) -> DatumGuess:
    """Suggest the datum of ``frame``'s coordinates from the counties its rows declare.

    Parameters
    ----------
    frame : DataFrame
        Rows with coordinates as written (numbers, degrees) and the adcode of the county
        each row declares; rows lacking either are ignored. Not modified.
    counties : GeoDataFrame
        ``adcode, geometry`` in WGS84.
    lon, lat, declared : str
        Column names.

    Returns
    -------
    DatumGuess

    Examples
    --------
    >>> from shapely.geometry import box
    >>> counties = gpd.GeoDataFrame({"adcode": ["1"]}, geometry=[box(125, 43, 125.01, 43.01)],
    ...                             crs="EPSG:4326")
    >>> x, y = coords.wgs84_to_gcj02([125.0095], [43.005])  # a point just inside the east edge
    >>> guess = guess_datum(pd.DataFrame({"lon": x, "lat": y, "declared_adcode": ["1"]}), counties)
    >>> guess.share["wgs84"], guess.share["gcj02"]
    (0.0, 1.0)
    """
    missing = [c for c in (lon, lat, declared) if c not in frame.columns]
    if missing:
        msg = f"guess_datum: frame lacks column(s) {missing}; it has {list(frame.columns)}"
        raise ValueError(msg)
    x = pd.to_numeric(frame[lon], errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(frame[lat], errors="coerce").to_numpy(dtype=float)
    code = frame[declared].astype("string").fillna("").to_numpy(dtype=object)
    polygons = counties.set_index(counties["adcode"].astype(str)).geometry
    usable = np.isfinite(x) & np.isfinite(y) & np.isin(code, polygons.index.to_numpy())
    usable &= coords.in_china(np.where(np.isfinite(x), x, 0), np.where(np.isfinite(y), y, 0))
    n = int(usable.sum())
    if n == 0:
        return DatumGuess(None, 0, {}, {}, decisive=False)
    x, y, code = x[usable], y[usable], code[usable]
    home = gpd.GeoSeries(polygons.loc[code].to_numpy(), crs=counties.crs or "EPSG:4326")
    home_m = home.to_crs(_METRIC_CRS)
    share: dict[str, float] = {}
    offset: dict[str, float] = {}
    inside_count: dict[str, int] = {}
    for datum in CANDIDATES:
        wx, wy = (x, y) if datum == "wgs84" else coords.convert(x, y, src=datum, dst="wgs84")
        points = gpd.GeoSeries(gpd.points_from_xy(wx, wy), crs="EPSG:4326")
        inside = points.within(home).to_numpy()
        inside_count[datum] = int(inside.sum())
        share[datum] = inside_count[datum] / n
        outside = ~inside
        if outside.any():
            dist = points.to_crs(_METRIC_CRS)[outside].distance(home_m[outside], align=False)
            offset[datum] = float(np.median(dist.to_numpy()))
        else:
            offset[datum] = float("nan")
    best = max(CANDIDATES, key=lambda d: (inside_count[d], -CANDIDATES.index(d)))
    extra = inside_count[best] - inside_count["wgs84"]
    decisive = best == "wgs84" or (extra >= MIN_EXTRA_POINTS and extra / n >= MIN_EXTRA_SHARE)
    return DatumGuess(best if decisive else "wgs84", n, share, offset, decisive=decisive)


def guess_datum_from_report(
    report: pd.DataFrame,
    counties: gpd.GeoDataFrame,
    *,
    registry: object | None = None,
) -> DatumGuess:
    """:func:`guess_datum` on a facility import report (``lon, lat, county, city`` as
    written): the declared county names are resolved with the region's registry."""
    needed = [c for c in ("lon", "lat", "county") if c not in report.columns]
    if needed or report.empty:
        return DatumGuess(None, 0, {}, {}, decisive=False)
    reg = registry if registry is not None else AdminRegistry.default(counties)
    rows = report[report["county"].astype("string").fillna("").str.strip() != ""]
    if rows.empty:
        return DatumGuess(None, 0, {}, {}, decisive=False)
    names = pd.DataFrame(
        {
            "name": rows["county"].astype(object).to_numpy(),
            "prefecture": rows["city"].astype(object).to_numpy()
            if "city" in rows.columns
            else None,
        },
        index=rows.index,
    )
    resolved = reg.resolve_many(names, name_col="name", prefecture_col="prefecture")
    frame = pd.DataFrame(
        {"lon": rows["lon"], "lat": rows["lat"], "declared_adcode": resolved["adcode"]}
    )
    return guess_datum(frame, counties)
