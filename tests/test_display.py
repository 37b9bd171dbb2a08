"""The shipped display layer: small, faithful and a clean coverage."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import box

from geoapp import display, regions


@pytest.fixture(scope="module")
def raw() -> gpd.GeoDataFrame:
    return regions.read_layer("220000", "counties")


@pytest.fixture(scope="module")
def shipped() -> gpd.GeoDataFrame:
    return display.read_topojson_layer(display.display_path("220000"), "counties")


def test_payload_under_150_kb():
    assert display.display_path("220000").stat().st_size <= 150 * 1024


def test_shipped_layer_has_every_county_and_prefecture(raw, shipped):
    prefectures = display.read_topojson_layer(display.display_path("220000"), "prefectures")
    assert sorted(shipped["adcode"]) == sorted(raw["adcode"])
    assert len(prefectures) == 9
    assert set(shipped.columns) >= {"adcode", "name", "prefecture_adcode", "unit_kind"}


def test_every_display_geometry_valid(shipped):
    assert shipped.is_valid.all()
    assert not shipped.is_empty.any()


def test_no_gap_or_overlap_between_neighbours(raw, shipped):
    metric = shipped.to_crs(display.fitted_crs(shipped))
    # No overlap anywhere, and no gap narrower than 10 m between neighbours.
    assert shapely.coverage_is_valid(metric.geometry.values, gap_width=10.0)
    assert display.overlap_area_m2(shipped) < 1.0

    # No hole opened inside the province: the union has as many interior rings as the
    # raw counties' union (a sliver gap would add one).
    def holes(frame):
        union = shapely.union_all(frame.geometry.values)
        return sum(len(p.interiors) for p in shapely.get_parts(union))

    assert holes(shipped) == holes(raw)
    area_raw = regions.geodesic_area_km2(gpd.GeoSeries([shapely.union_all(raw.geometry.values)]))[0]
    area_display = regions.geodesic_area_km2(shipped.geometry).sum()
    assert area_display == pytest.approx(area_raw, rel=0.002)


def test_no_border_point_more_than_1_km_from_the_true_border(raw, shipped):
    deviation = display.border_deviation_m(raw, shipped)
    assert deviation["hausdorff_m"].max() < 1_000
    assert deviation["deviation_m"].max() <= deviation["hausdorff_m"].max()


def test_prefecture_borders_lie_on_county_borders(shipped):
    prefectures = display.read_topojson_layer(display.display_path("220000"), "prefectures")
    for row in prefectures.itertuples():
        union = shapely.union_all(
            shipped.loc[shipped["prefecture_adcode"] == row.adcode].geometry.values
        )
        assert shapely.symmetric_difference(union, row.geometry).area < 1e-9


def test_coverage_simplify_keeps_shared_border_on_toy_squares():
    # Two squares near Changchun sharing a border that zigzags 55 m every 800 m.
    wiggle = [(125.0 + 0.01 * i, 44.0 + (0.0005 if i % 2 else 0.0)) for i in range(11)]
    south = shapely.Polygon([(125.0, 43.9), (125.1, 43.9), *reversed(wiggle)])
    north = shapely.Polygon([*wiggle, (125.1, 44.1), (125.0, 44.1)])
    toy = gpd.GeoDataFrame({"adcode": ["1", "2"]}, geometry=[south, north], crs=4326)
    simple = display.simplify_coverage(toy, tolerance_m=500)
    # The zigzag is straightened to one shared edge: 4 corners each, no gap, no overlap.
    assert shapely.get_num_coordinates(simple.geometry.values).tolist() == [5, 5]
    assert simple.geometry.iloc[0].intersection(simple.geometry.iloc[1]).area == pytest.approx(
        0, abs=1e-12
    )
    union = shapely.union_all(simple.geometry.values)
    assert (
        shapely.symmetric_difference(union, box(125.0, 43.9, 125.1, 44.1)).area < 1e-8
    )  # < 0.1 m² of reprojection noise


def test_build_display_refuses_a_tolerance_that_strays_over_1_km(raw):
    prefectures = regions.read_layer("220000", "prefectures")
    small = raw[raw["prefecture_adcode"] == "220400"]  # 辽源市, 4 counties
    with pytest.raises(ValueError, match="stray"):
        display.build_display(small, prefectures, tolerance_m=5_000)
