"""Tests for geoapp.coords: WGS84 / CGCS2000 / GCJ-02 / BD-09 conversions."""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import prcoords
import pyproj
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon

from geoapp import coords

GEOD = pyproj.Geod(ellps="WGS84")

# A 40 x 24 grid over Jilin province's bounding box, the area the dashboard maps.
_lon, _lat = np.meshgrid(np.linspace(121.6, 131.3, 40), np.linspace(40.8, 46.3, 24))
JILIN_LON, JILIN_LAT = _lon.ravel(), _lat.ravel()

# Plus points scattered over the rest of China, to exercise the sine terms widely.
_rng = np.random.default_rng(20240601)
CHINA_LON = np.concatenate([JILIN_LON, _rng.uniform(75.0, 134.0, 300)])
CHINA_LAT = np.concatenate([JILIN_LAT, _rng.uniform(18.0, 53.0, 300)])


def dist_m(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance in metres between two sets of points."""
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def prcoords_apply(fn, lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Run a scalar prcoords function (lat, lon order) over arrays of lon, lat."""
    out = [fn(prcoords.Coords(la, lo)) for lo, la in zip(lon, lat, strict=True)]
    return np.array([c.lon for c in out]), np.array([c.lat for c in out])


# --- round trips -----------------------------------------------------------------


@pytest.mark.parametrize("via", ["gcj02", "bd09"])
def test_roundtrip_across_jilin_is_sub_centimetre(via):
    mid = coords.convert(JILIN_LON, JILIN_LAT, src="wgs84", dst=via)
    back = coords.convert(*mid, src=via, dst="wgs84")
    err = dist_m(JILIN_LON, JILIN_LAT, *back)
    # The offset itself is hundreds of metres, so a passing round trip is not trivial.
    assert dist_m(JILIN_LON, JILIN_LAT, *mid).min() > 100
    assert err.max() < 1.0
    assert err.max() < 0.01
    # The reporting helper measures the same thing.
    assert coords.roundtrip_residual_m(JILIN_LON, JILIN_LAT, via=via) == pytest.approx(
        err.max(), abs=1e-9
    )


def test_bd09_to_gcj02_roundtrips_sub_centimetre():
    gcj = coords.wgs84_to_gcj02(JILIN_LON, JILIN_LAT)
    back = coords.bd09_to_gcj02(*coords.gcj02_to_bd09(*gcj))
    assert dist_m(*gcj, *back).max() < 0.01


@pytest.mark.parametrize(("src", "dst"), list(itertools.permutations(coords.DATUMS, 2)))
def test_convert_every_pair_roundtrips(src, dst):
    there = coords.convert(JILIN_LON, JILIN_LAT, src=src, dst=dst)
    back = coords.convert(*there, src=dst, dst=src)
    assert dist_m(JILIN_LON, JILIN_LAT, *back).max() < 0.01


# --- cross-check against prcoords, an independent implementation -------------------


@pytest.mark.parametrize(
    ("ours", "theirs", "tol_m"),
    [
        (coords.wgs84_to_gcj02, prcoords.wgs_gcj, 0.01),
        (coords.wgs84_to_bd09, prcoords.wgs_bd, 0.01),
        # prcoords stops iterating once a step is below 1e-5 deg, so it is a few mm off.
        (coords.gcj02_to_wgs84, prcoords.gcj_wgs_bored, 0.03),
        (coords.bd09_to_wgs84, prcoords.bd_wgs_bored, 0.03),
    ],
    ids=["wgs84->gcj02", "wgs84->bd09", "gcj02->wgs84", "bd09->wgs84"],
)
def test_agrees_with_prcoords(ours, theirs, tol_m):
    expected = prcoords_apply(theirs, CHINA_LON, CHINA_LAT)
    got = ours(CHINA_LON, CHINA_LAT)
    assert dist_m(*got, *expected).max() < tol_m


# --- published control points ----------------------------------------------------

# WGS84 -> GCJ-02 pairs from googollee/eviltransform, python/test.py (TESTS),
# https://github.com/googollee/eviltransform/blob/3416646abc64972e899118271bd98030224d9d6c/python/test.py
EVILTRANSFORM_WGS_GCJ = [
    # (wgs lon, wgs lat, gcj lon, gcj lat)
    pytest.param(121.5272106, 31.1774276, 121.531541859215, 31.17530398364597, id="shanghai"),
    pytest.param(113.912316, 22.543847, 113.9171764808363, 22.540796131694766, id="shenzhen"),
    pytest.param(116.377817, 39.911954, 116.38404722455657, 39.91334545536069, id="beijing"),
]

# GCJ-02 (123, 45) -- inside Jilin, near Songyuan -- from hujiulong/gcoord,
# test/unit/crs/GCJ02.spec.js: GCJ02 -> WGS84 gives (122.99395597, 44.99804071) and
# GCJ02 -> BD09 gives (123.00636499, 45.00636899).
# https://github.com/hujiulong/gcoord/blob/0f699318059b8607a1d6a598c02ce561c104afeb/test/unit/crs/GCJ02.spec.js
GCOORD_GCJ = (123.0, 45.0)
GCOORD_WGS = (122.99395597, 44.99804071)
GCOORD_BD = (123.00636499, 45.00636899)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), EVILTRANSFORM_WGS_GCJ)
def test_eviltransform_control_points(wlon, wlat, glon, glat):
    assert dist_m(*coords.wgs84_to_gcj02(wlon, wlat), glon, glat) < 0.5
    assert dist_m(*coords.gcj02_to_wgs84(glon, glat), wlon, wlat) < 0.5


def test_gcoord_control_point_in_jilin():
    # Forward: gcoord's WGS84 point must land on GCJ (123, 45).
    assert dist_m(*coords.wgs84_to_gcj02(*GCOORD_WGS), *GCOORD_GCJ) < 0.5
    # Inverse: gcoord iterates only to 1e-6 deg, so expect centimetres, not zero.
    assert dist_m(*coords.gcj02_to_wgs84(*GCOORD_GCJ), *GCOORD_WGS) < 0.5
    assert dist_m(*coords.gcj02_to_bd09(*GCOORD_GCJ), *GCOORD_BD) < 0.5


# --- why the inverse has to iterate ------------------------------------------------


def test_one_step_gcj_inverse_is_metres_off_where_ours_is_not():
    # prcoords.gcj_wgs is the classic one-step inverse: g - (F(g) - g).
    one_step = prcoords.gcj_wgs(prcoords.Coords(GCOORD_GCJ[1], GCOORD_GCJ[0]))
    ours = coords.gcj02_to_wgs84(*GCOORD_GCJ)
    # Judge each candidate by where the forward transform sends it back.
    one_step_err = dist_m(*coords.wgs84_to_gcj02(one_step.lon, one_step.lat), *GCOORD_GCJ)
    ours_err = dist_m(*coords.wgs84_to_gcj02(*ours), *GCOORD_GCJ)
    assert one_step_err > 1.0  # about 3.2 m here
    assert ours_err < 0.01


def test_one_step_inverses_fail_somewhere_in_jilin():
    gcj = coords.wgs84_to_gcj02(JILIN_LON, JILIN_LAT)
    one_step = prcoords_apply(prcoords.gcj_wgs, *gcj)
    assert dist_m(JILIN_LON, JILIN_LAT, *one_step).max() > 1.0  # about 3.9 m
    assert dist_m(JILIN_LON, JILIN_LAT, *coords.gcj02_to_wgs84(*gcj)).max() < 0.01

    bd = coords.gcj02_to_bd09(*gcj)
    baidu_approx = prcoords_apply(prcoords.bd_gcj, *bd)  # Baidu's published inverse
    assert dist_m(*gcj, *baidu_approx).max() > 0.1  # about 19 cm
    assert dist_m(*gcj, *coords.bd09_to_gcj02(*bd)).max() < 0.001


# --- datums, scalars, errors -------------------------------------------------------

OUTSIDE_CHINA = [
    pytest.param(-0.1276, 51.5072, id="london"),
    pytest.param(139.6917, 35.6895, id="tokyo"),
    pytest.param(151.2093, -33.8688, id="sydney"),
    pytest.param(70.0, 40.0, id="west-of-box"),
]


@pytest.mark.parametrize(("lon", "lat"), OUTSIDE_CHINA)
@pytest.mark.parametrize(("src", "dst"), [("wgs84", "gcj02"), ("gcj02", "wgs84")])
def test_points_outside_china_are_unchanged_by_gcj(lon, lat, src, dst):
    assert coords.convert(lon, lat, src=src, dst=dst) == (lon, lat)


def test_points_inside_china_move_by_hundreds_of_metres():
    # Changchun: the GCJ offset there is a few hundred metres, mostly eastward.
    glon, glat = coords.wgs84_to_gcj02(125.3245, 43.8868)
    assert 300 < dist_m(125.3245, 43.8868, glon, glat) < 900


def test_mixed_array_only_offsets_points_inside_china():
    lon = np.array([125.3245, -0.1276])
    lat = np.array([43.8868, 51.5072])
    glon, glat = coords.wgs84_to_gcj02(lon, lat)
    assert glon[1] == -0.1276 and glat[1] == 51.5072
    assert glon[0] != 125.3245


def test_cgcs2000_is_wgs84():
    assert coords.convert(125.3, 43.9, src="cgcs2000", dst="wgs84") == (125.3, 43.9)
    assert coords.convert(125.3, 43.9, src="cgcs2000", dst="gcj02") == coords.wgs84_to_gcj02(
        125.3, 43.9
    )


def test_scalars_in_scalars_out_and_arrays_keep_shape():
    lon, lat = coords.convert(125.3, 43.9, src="wgs84", dst="bd09")
    assert np.ndim(lon) == 0 and np.ndim(lat) == 0
    assert isinstance(lon, np.floating) and isinstance(lat, np.floating)

    grid_lon = JILIN_LON.reshape(24, 40)
    grid_lat = JILIN_LAT.reshape(24, 40)
    before = grid_lon.copy()
    out_lon, out_lat = coords.gcj02_to_wgs84(grid_lon, grid_lat)
    assert out_lon.shape == out_lat.shape == (24, 40)
    np.testing.assert_array_equal(grid_lon, before)  # input not modified in place


@pytest.mark.parametrize(
    ("src", "dst", "bad"), [("wgs", "gcj02", "wgs"), ("bd09", "EPSG:4326", "EPSG:4326")]
)
def test_bad_datum_raises_listing_accepted_names(src, dst, bad):
    with pytest.raises(ValueError, match="accepted datums") as excinfo:
        coords.convert(125.3, 43.9, src=src, dst=dst)
    message = str(excinfo.value)
    assert repr(bad) in message
    for name in coords.DATUMS:
        assert name in message


def test_datum_names_are_case_insensitive():
    assert coords.convert(125.3, 43.9, src="WGS84", dst="GCJ02") == coords.wgs84_to_gcj02(
        125.3, 43.9
    )


# --- geometries and GeoDataFrames --------------------------------------------------


def test_convert_geometry_moves_every_vertex_like_convert():
    line = LineString([(125.0, 43.0), (126.0, 44.0), (127.5, 44.5)])
    got = coords.convert_geometry(line, src="wgs84", dst="gcj02")
    xy = shapely.get_coordinates(line)
    expected = np.column_stack(coords.wgs84_to_gcj02(xy[:, 0], xy[:, 1]))
    np.testing.assert_allclose(shapely.get_coordinates(got), expected, rtol=0, atol=1e-12)


def test_convert_geometry_on_array_and_geoseries_and_keeps_z():
    geoms = np.array(
        [Point(125.0, 43.0), Point(126.0, 44.0, 250.0), Polygon([(125, 43), (126, 43), (126, 44)])]
    )
    got = coords.convert_geometry(geoms, src="wgs84", dst="bd09")
    assert isinstance(got, np.ndarray) and len(got) == 3
    assert got[1].has_z and got[1].z == 250.0
    back = coords.convert_geometry(got, src="bd09", dst="wgs84")
    for before, after in zip(geoms, back, strict=True):
        assert before.equals_exact(after, tolerance=1e-9)

    series = gpd.GeoSeries(geoms, index=["a", "b", "c"], crs="EPSG:4326")
    got_series = coords.convert_geometry(series, src="wgs84", dst="bd09")
    assert list(got_series.index) == ["a", "b", "c"]
    assert got_series.crs == "EPSG:4326"
    expected = gpd.GeoSeries(got, index=series.index, crs="EPSG:4326")
    assert got_series.geom_equals_exact(expected, 1e-12).all()


def _tiny_gdf(crs="EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["changchun", "jilin", "block"]},
        geometry=[
            Point(125.3245, 43.8868),
            Point(126.5496, 43.8378),
            Polygon([(125.30, 43.88), (125.31, 43.88), (125.31, 43.89), (125.30, 43.89)]),
        ],
        crs=crs,
    )


def test_convert_geodataframe_returns_new_frame_and_leaves_input_alone():
    gdf = _tiny_gdf()
    snapshot = gdf.copy()
    out = coords.convert_geodataframe(gdf, src="wgs84", dst="gcj02")

    assert out is not gdf
    assert gdf.geometry.geom_equals_exact(snapshot.geometry, 0).all()
    assert gdf.crs == snapshot.crs
    assert list(out["name"]) == ["changchun", "jilin", "block"]
    assert out.crs == "EPSG:4326"
    # The Changchun point moved by the same amount as the array function moves it.
    glon, glat = coords.wgs84_to_gcj02(125.3245, 43.8868)
    assert out.geometry.iloc[0].x == pytest.approx(glon, abs=1e-12)
    assert out.geometry.iloc[0].y == pytest.approx(glat, abs=1e-12)
    assert 300 < dist_m(125.3245, 43.8868, glon, glat) < 900


def test_convert_geodataframe_from_cgcs2000_crs():
    gdf = _tiny_gdf(crs="EPSG:4490")
    out = coords.convert_geodataframe(gdf, src="cgcs2000", dst="wgs84")
    assert out.crs == "EPSG:4326"
    assert gdf.crs == "EPSG:4490"
    # CGCS2000 and WGS84 coincide at map scale: the point stays within a metre.
    p = out.geometry.iloc[0]
    assert dist_m(p.x, p.y, 125.3245, 43.8868) < 1.0


def test_convert_geodataframe_rejects_projected_gcj02():
    gdf = _tiny_gdf().to_crs("EPSG:3857")
    with pytest.raises(ValueError, match="lon/lat"):
        coords.convert_geodataframe(gdf, src="gcj02", dst="wgs84")
