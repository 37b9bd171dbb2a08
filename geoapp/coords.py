"""Coordinate datums: the one place geoapp converts between WGS84, CGCS2000, GCJ-02 and BD-09.

Chinese web maps do not use WGS84: Amap (Gaode) and Tencent publish GCJ-02, an
obfuscated offset of WGS84, and Baidu publishes BD-09, a further offset of GCJ-02.
Points copied from those maps land tens to hundreds of metres away from WGS84
boundaries unless they are converted here first. Every other module should call
`convert`, `convert_geometry` or `convert_geodataframe` rather than doing its own
arithmetic.

CGCS2000 (EPSG:4490), the national datum of the official boundary data, is treated
as identical to WGS84: the two differ by a few centimetres, far below map scale.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyproj
import shapely

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import ArrayLike, NDArray

    FloatArray = NDArray[np.float64]
    Transform = Callable[[ArrayLike, ArrayLike], tuple[FloatArray, FloatArray]]

DATUMS = ("wgs84", "gcj02", "bd09", "cgcs2000")

# Rough bounding box of China used by every published GCJ-02 implementation; the
# offset is only applied inside it, so we must use the same box to interoperate.
CHINA_LON_MIN, CHINA_LON_MAX = 72.004, 137.8347
CHINA_LAT_MIN, CHINA_LAT_MAX = 0.8293, 55.8271

# The GCJ-02 algorithm converts its metre offsets to degrees on the Krasovsky 1940
# ellipsoid, not WGS84; these constants are part of the algorithm's definition.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

TOLERANCE_DEG = 1e-9  # ~0.1 mm; well below any source data's accuracy
MAX_ITERATIONS = 30

_GEOD = pyproj.Geod(ellps="WGS84")


def _as_float_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    lon_a, lat_a = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    # Copies, so callers can never see their input arrays modified.
    return lon_a.copy(), lat_a.copy()


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Return whether each point lies in the rough China box where GCJ-02 applies.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees.

    Returns
    -------
    numpy.ndarray of bool
    """
    lon_a, lat_a = _as_float_arrays(lon, lat)
    return (
        (lon_a >= CHINA_LON_MIN)
        & (lon_a <= CHINA_LON_MAX)
        & (lat_a >= CHINA_LAT_MIN)
        & (lat_a <= CHINA_LAT_MAX)
    )


def _gcj_offset(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """GCJ-02 offset in degrees at WGS84 position (lon, lat), ignoring the China box."""
    x = lon - 105.0
    y = lat - 35.0
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat_m = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + common
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y / 30.0 * np.pi)) * 2.0 / 3.0
    )
    dlon_m = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + common
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad_lat = np.radians(lat)
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = dlat_m * 180.0 / (_GCJ_A * (1.0 - _GCJ_EE) / (magic * sqrt_magic) * np.pi)
    dlon = dlon_m * 180.0 / (_GCJ_A / sqrt_magic * np.cos(rad_lat) * np.pi)
    return dlon, dlat


def _wgs_to_gcj_unmasked(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_to_bd_raw(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_X_PI)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def _bd_to_gcj_approx(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    # Baidu's published inverse: evaluates the perturbation at the wrong point,
    # so it is off by up to ~1e-7 degrees (about a centimetre).
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta), z * np.sin(theta)


def _invert(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    lon: FloatArray,
    lat: FloatArray,
    start_lon: FloatArray,
    start_lat: FloatArray,
) -> tuple[FloatArray, FloatArray, int]:
    """Invert `forward` by fixed-point iteration from a starting guess.

    Each step subtracts the forward residual. Both offsets vary by less than
    ~2 % per degree of position, so the error shrinks by that factor or better
    per step and two or three steps reach `TOLERANCE_DEG`.

    Returns
    -------
    lon, lat : numpy.ndarray
        The inverted coordinates.
    iterations : int
        Forward evaluations made, for diagnostics.
    """
    out_lon, out_lat = start_lon.copy(), start_lat.copy()
    for iteration in range(1, MAX_ITERATIONS + 1):
        fwd_lon, fwd_lat = forward(out_lon, out_lat)
        res_lon = fwd_lon - lon
        res_lat = fwd_lat - lat
        # Written as "no residual >= tol" so NaN coordinates and empty arrays pass.
        if not np.any(np.fmax(np.abs(res_lon), np.abs(res_lat)) >= TOLERANCE_DEG):
            return out_lon, out_lat, iteration
        out_lon -= res_lon
        out_lat -= res_lat
    return out_lon, out_lat, MAX_ITERATIONS


def _gcj02_to_wgs84_iter(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray, int]:
    lon_a, lat_a = _as_float_arrays(lon, lat)
    mask = in_china(lon_a, lat_a)
    if not mask.any():
        return lon_a, lat_a, 0
    g_lon, g_lat = lon_a[mask], lat_a[mask]
    # One-step inverse (offset evaluated at the GCJ point): ~1e-5 deg, i.e. metres off.
    d_lon, d_lat = _gcj_offset(g_lon, g_lat)
    w_lon, w_lat, n = _invert(_wgs_to_gcj_unmasked, g_lon, g_lat, g_lon - d_lon, g_lat - d_lat)
    lon_a[mask], lat_a[mask] = w_lon, w_lat
    return lon_a, lat_a, n


def _bd09_to_gcj02_iter(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray, int]:
    lon_a, lat_a = _as_float_arrays(lon, lat)
    start_lon, start_lat = _bd_to_gcj_approx(lon_a, lat_a)
    return _invert(_gcj_to_bd_raw, lon_a, lat_a, start_lon, start_lat)


def _result(lon: FloatArray, lat: FloatArray) -> tuple[Any, Any]:
    # ``a[()]`` turns 0-d arrays into numpy scalars and leaves n-d arrays as they are.
    return lon[()], lat[()]


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 to GCJ-02 (Amap, Tencent). Points outside China are unchanged.

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitude and latitude in degrees; scalars or broadcastable arrays.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 longitude and latitude.
    """
    lon_a, lat_a = _as_float_arrays(lon, lat)
    mask = in_china(lon_a, lat_a)
    dlon, dlat = _gcj_offset(lon_a[mask], lat_a[mask])
    lon_a[mask] += dlon
    lat_a[mask] += dlat
    return _result(lon_a, lat_a)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 to WGS84 exactly, by iterating the forward transform.

    The usual one-step inverse is off by up to a few metres; this converges to
    within `TOLERANCE_DEG` of the true inverse. Points outside China are unchanged.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS84 longitude and latitude.
    """
    out_lon, out_lat, _ = _gcj02_to_wgs84_iter(lon, lat)
    return _result(out_lon, out_lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 to BD-09 (Baidu).

    Applied everywhere, like Baidu's own formula: there is no China box for BD-09.

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 longitude and latitude.
    """
    lon_a, lat_a = _as_float_arrays(lon, lat)
    return _result(*_gcj_to_bd_raw(lon_a, lat_a))


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 to GCJ-02, iterating Baidu's approximate inverse to convergence.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        GCJ-02 longitude and latitude.
    """
    out_lon, out_lat, _ = _bd09_to_gcj02_iter(lon, lat)
    return _result(out_lon, out_lat)


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 to BD-09 via GCJ-02.

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        BD-09 longitude and latitude.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 to WGS84 via GCJ-02, both steps iterated to convergence.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    lon, lat : numpy.ndarray
        WGS84 longitude and latitude.
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


# Every conversion goes through WGS84; CGCS2000 is an alias of it (see module docstring).
_TO_WGS84: dict[str, Transform | None] = {
    "wgs84": None,
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}
_FROM_WGS84: dict[str, Transform | None] = {
    "wgs84": None,
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
}
_DIRECT: dict[tuple[str, str], Transform] = {
    # Skip the WGS84 detour between the two Chinese datums: fewer iterations, and
    # it keeps points outside the China box consistent with Baidu's formula.
    ("gcj02", "bd09"): gcj02_to_bd09,
    ("bd09", "gcj02"): bd09_to_gcj02,
}


def _canonical(datum: str, role: str) -> str:
    name = str(datum).strip().lower()
    if name not in DATUMS:
        msg = f"unknown {role} datum {datum!r}; accepted datums: {', '.join(DATUMS)}"
        raise ValueError(msg)
    return "wgs84" if name == "cgcs2000" else name


def convert(lon: ArrayLike, lat: ArrayLike, *, src: str, dst: str) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates between any two of `DATUMS`.

    Parameters
    ----------
    lon, lat : array_like
        Longitude and latitude in degrees, in datum `src`.
    src, dst : str
        Source and target datum, one of `DATUMS` (case-insensitive).

    Returns
    -------
    lon, lat : numpy.ndarray
        New arrays in datum `dst`; the inputs are never modified.

    Raises
    ------
    ValueError
        If either datum is unknown; the message lists the accepted ones.
    """
    s = _canonical(src, "source")
    d = _canonical(dst, "target")
    if s == d:
        return _result(*_as_float_arrays(lon, lat))
    if (s, d) in _DIRECT:
        return _DIRECT[s, d](lon, lat)
    to_wgs, from_wgs = _TO_WGS84[s], _FROM_WGS84[d]
    if to_wgs is not None:
        lon, lat = to_wgs(lon, lat)
    if from_wgs is not None:
        lon, lat = from_wgs(lon, lat)
    return _result(*_as_float_arrays(lon, lat))


def convert_geometry(geom: Any, *, src: str, dst: str) -> Any:
    """Convert every coordinate of shapely geometries between datums.

    Parameters
    ----------
    geom : shapely.Geometry, array_like of geometries, or geopandas.GeoSeries
        Geometries with lon/lat coordinates in datum `src`. Z values are kept.
    src, dst : str
        Source and target datum, one of `DATUMS`.

    Returns
    -------
    Same kind as `geom`
        New geometries; a GeoSeries keeps its index and is labelled EPSG:4326.
    """
    _canonical(src, "source")
    _canonical(dst, "target")

    def fn(x: FloatArray, y: FloatArray, *z: FloatArray) -> tuple[FloatArray, ...]:
        return (*convert(x, y, src=src, dst=dst), *z)

    # shapely gathers all coordinates of all geometries into one array per call,
    # so the numpy transform runs once, not per vertex. include_z=None keeps 3-D.
    import geopandas as gpd  # local: importing geopandas is slow and rarely needed

    if isinstance(geom, gpd.GeoSeries):
        values = shapely.transform(np.asarray(geom.values), fn, include_z=None, interleaved=False)
        return gpd.GeoSeries(values, index=geom.index, name=geom.name, crs="EPSG:4326")
    return shapely.transform(geom, fn, include_z=None, interleaved=False)


def convert_geodataframe(gdf: gpd.GeoDataFrame, *, src: str, dst: str) -> gpd.GeoDataFrame:
    """Return a new GeoDataFrame whose active geometry is converted between datums.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Lon/lat data in datum `src`. A missing CRS is read as lon/lat degrees. For
        WGS84/CGCS2000 input any CRS is first reprojected to EPSG:4326; GCJ-02 and
        BD-09 data have no EPSG code, so they must be in a geographic CRS (usually
        mislabelled EPSG:4326) or none.
    src, dst : str
        Source and target datum, one of `DATUMS`.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy labelled EPSG:4326 (nominal when `dst` is GCJ-02 or BD-09); `gdf`
        itself is never modified.

    Raises
    ------
    ValueError
        If a datum is unknown, or GCJ-02/BD-09 data comes in a projected CRS.
    """
    s = _canonical(src, "source")
    _canonical(dst, "target")
    out = gdf.copy()
    if out.crs is not None and not out.crs.equals("EPSG:4326"):
        if s == "wgs84":
            out = out.to_crs("EPSG:4326")
        elif not out.crs.is_geographic:
            msg = f"{src} data must be in lon/lat degrees, but the GeoDataFrame's CRS is {out.crs}"
            raise ValueError(msg)
    converted = convert_geometry(out.geometry, src=src, dst=dst)
    out = out.set_crs("EPSG:4326", allow_override=True)
    # Assigning a column to ``out`` never touches ``gdf``: ``out`` is a copy.
    out[out.geometry.name] = converted
    return out


def roundtrip_residual_m(lon: ArrayLike, lat: ArrayLike, *, via: str = "gcj02") -> float:
    """Return the worst geodesic error, in metres, of WGS84 -> `via` -> WGS84.

    Parameters
    ----------
    lon, lat : array_like
        WGS84 longitude and latitude in degrees.
    via : str
        Intermediate datum, one of `DATUMS`.

    Returns
    -------
    float
        Maximum distance on the WGS84 ellipsoid between start and round-tripped points.
    """
    lon_a, lat_a = _as_float_arrays(lon, lat)
    mid_lon, mid_lat = convert(lon_a, lat_a, src="wgs84", dst=via)
    back_lon, back_lat = convert(mid_lon, mid_lat, src=via, dst="wgs84")
    _, _, dist = _GEOD.inv(lon_a, lat_a, np.asarray(back_lon), np.asarray(back_lat))
    return float(np.max(dist)) if np.size(dist) else 0.0
