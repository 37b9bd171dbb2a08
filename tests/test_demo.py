"""Tests of geoapp.demo: the embedded demo facilities and unemployed-disabled estimate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geoapp import demo
from geoapp.paths import DEMO_DIR
from geoapp.regions import read_layer

SEED = 2027


@pytest.fixture(scope="module")
def counties():
    return read_layer("220000", "counties")


@pytest.fixture(scope="module")
def population():
    return demo.load_population("220000")


@pytest.fixture(scope="module")
def facilities(counties, population):
    return demo.make_facilities(counties, seed=SEED, population=population)


@pytest.fixture(scope="module")
def unemployed(counties, population):
    return demo.make_unemployed(counties, population, seed=SEED)


def test_columns(facilities, unemployed):
    assert list(facilities.columns) == [*demo.FACILITY_COLUMNS, "geometry"]
    assert facilities.crs.to_epsg() == 4326
    assert set(facilities["facility_type"]) == set(demo.FACILITY_TYPES)
    assert (facilities["datum"] == "wgs84").all()
    assert list(unemployed.columns) == list(demo.UNEMPLOYED_COLUMNS)


def test_deterministic(counties, population, facilities, unemployed):
    again = demo.make_facilities(counties, seed=SEED, population=population)
    assert demo.facilities_csv(again) == demo.facilities_csv(facilities)
    other = demo.make_facilities(counties, seed=SEED + 1, population=population)
    assert demo.facilities_csv(other) != demo.facilities_csv(facilities)

    assert demo.unemployed_csv(demo.make_unemployed(counties, population, seed=SEED)) == (
        demo.unemployed_csv(unemployed)
    )
    assert not demo.make_unemployed(counties, population, seed=SEED + 1).equals(unemployed)


def test_inputs_not_mutated(counties, population):
    c_before, p_before = counties.copy(), population.copy()
    demo.make_facilities(counties, seed=1, population=population)
    demo.make_unemployed(counties, population, seed=1)
    pd.testing.assert_frame_equal(population, p_before)
    assert counties.drop(columns="geometry").equals(c_before.drop(columns="geometry"))
    assert counties.geometry.geom_equals_exact(c_before.geometry, tolerance=0).all()


@pytest.mark.parametrize("seed", [SEED, 7])
def test_points_inside_their_county(counties, population, seed):
    fac = demo.make_facilities(counties, seed=seed, population=population)
    geoms = counties.set_index("adcode").geometry
    polys = geoms.loc[fac["adcode"]].to_numpy()
    assert shapely.contains_xy(polys, fac["lon"].to_numpy(), fac["lat"].to_numpy()).all()
    # ... and in no other county, with lon/lat already rounded to 6 decimals
    assert (fac["lon"].round(6) == fac["lon"]).all() and (fac["lat"].round(6) == fac["lat"]).all()
    hits = shapely.contains_xy(
        counties.geometry.to_numpy()[:, None],
        fac["lon"].to_numpy()[None, :],
        fac["lat"].to_numpy()[None, :],
    )
    assert (hits.sum(axis=0) == 1).all()
    county_names = counties.set_index("adcode")["name"]
    assert (county_names.loc[fac["adcode"]].to_numpy() == fac["county"].to_numpy()).all()


@pytest.mark.parametrize("seed", [SEED, 7, 12345])
def test_totals_below_2027_targets(counties, population, seed):
    fac = demo.make_facilities(counties, seed=seed, population=population)
    totals = fac["facility_type"].value_counts()
    for ftype, target in demo.TARGETS_2027.items():
        assert 0 < totals[ftype] < target, ftype
    assert 3 < totals["vocational_school"] < 10


def test_summary(facilities):
    table = demo.summary(facilities).set_index("facility_type")
    assert list(table.index) == list(demo.FACILITY_TYPES)
    assert table["total"].sum() == len(facilities)
    assert table.loc["vocational_school", "real"] == 3
    assert (
        table.loc[
            [
                "incubation_base",
                "rural_help_base",
                "massage_institution",
                "auxiliary_institution",
                "beautiful_workshop",
            ],
            "real",
        ]
        .eq(0)
        .all()
    )
    assert table.loc["massage_institution", "total"] == 262


@pytest.mark.parametrize("seed", [SEED, 7])
def test_gap_scenario(counties, population, seed):
    fac = demo.make_facilities(counties, seed=seed, population=population)
    non_district = counties.loc[counties["unit_kind"] != "district", "adcode"]
    aux = set(fac.loc[fac["facility_type"] == "auxiliary_institution", "adcode"])
    lacking_aux = set(non_district) - aux
    # the mandatory county gap, and only that: every other non-district unit has one
    assert lacking_aux == set(demo.AUX_GAP_ADCODES)
    assert len(lacking_aux) >= 2

    inc = fac[fac["facility_type"] == "incubation_base"]
    prefectures = set(counties["prefecture"])
    assert prefectures - set(inc["prefecture"]) == {demo.INCUBATION_GAP_PREFECTURE[1]}
    gap_units = counties.loc[
        counties["prefecture_adcode"] == demo.INCUBATION_GAP_PREFECTURE[0], "adcode"
    ]
    assert not set(gap_units) & set(inc["adcode"])

    rural = set(fac.loc[fac["facility_type"] == "rural_help_base", "adcode"])
    assert len(set(non_district) - rural) >= 1  # aspirational gaps
    for adcode in demo.EMPTY_DISTRICTS:
        assert set(fac.loc[fac["adcode"] == adcode, "facility_type"]) <= {"massage_institution"}

    report = demo.gap_report(fac, counties)
    assert len(report["non-district units without auxiliary_institution (mandatory)"]) == 2
    assert report["prefectures without incubation_base (mandatory)"] == ["辽源市"]
    notes = fac.loc[fac["adcode"].isin(list(demo.AUX_GAP_ADCODES)), "note"]
    assert notes.str.contains("演示缺口场景").all()


def test_massage_concentrated_in_urban_units(counties, facilities):
    kinds = counties.set_index("adcode")["unit_kind"]
    mas = facilities.loc[facilities["facility_type"] == "massage_institution", "adcode"]
    urban = kinds.loc[mas].isin(["district", "county_level_city"]).mean()
    assert urban > 0.8


def test_real_schools(facilities):
    real = facilities[~facilities["is_demo"]]
    assert list(real["name"]) == ["长春大学特殊教育学院", "省残疾人中职学校", "四平盲童学校"]
    assert list(real["prefecture"]) == ["长春市", "长春市", "四平市"]
    assert list(real["adcode"]) == ["220104", "220104", "220302"]
    assert (real["facility_type"] == "vocational_school").all()
    assert list(real["facility_id"]) == ["REAL-VOC-0001", "REAL-VOC-0002", "REAL-VOC-0003"]
    assert real["note"].str.contains("approximate location").all()

    fake = facilities[facilities["is_demo"]]
    assert len(fake) == len(facilities) - 3
    assert (fake["note"].str.startswith(demo.DEMO_NOTE)).all()
    assert fake["facility_id"].str.startswith("DEMO-").all()
    assert facilities["is_demo"].dtype == bool


def test_unique_ids_and_names(facilities):
    assert facilities["facility_id"].is_unique
    assert facilities["name"].is_unique
    assert facilities["facility_id"].str.fullmatch(r"(DEMO|REAL)-[A-Z]{3}-\d{4}").all()


def test_unemployed(counties, unemployed, population):
    assert list(unemployed["adcode"]) == sorted(counties["adcode"])
    assert len(unemployed) == 60
    assert not unemployed["adcode"].isin(["220171", "220172", "220173", "220174", "220871"]).any()
    assert unemployed["unemployed_disabled"].dtype == np.int64
    assert (unemployed["unemployed_disabled"] > 0).all()
    assert unemployed["is_demo"].all()
    # 21.99 M people in the 60 counties x 0.0634 x 0.6 x 0.08 = 66,918 before the multiplier
    # in [0.8, 1.25]; seed 2027 gives 67,489.
    total = int(unemployed["unemployed_disabled"].sum())
    assert 55_000 < total < 80_000
    pop = population.set_index("adcode")["pop2020"].loc[unemployed["adcode"]].to_numpy()
    ratio = unemployed["unemployed_disabled"].to_numpy() / (pop * 0.0634 * 0.6 * 0.08)
    assert ((ratio > 0.79) & (ratio < 1.26)).all()


def test_other_region_refused():
    with pytest.raises(ValueError, match="population table"):
        demo.write_demo(region="500000", seed=SEED)


def test_committed_files_match_the_script():
    """data/demo is exactly what the script makes now (regenerate: geoapp data demo)."""
    texts = demo.render_demo(region="220000", seed=SEED)
    assert set(texts) == {"220000_facilities.csv", "220000_unemployed_disabled.csv", "README.md"}
    for name, text in texts.items():
        path = DEMO_DIR / name
        assert path.is_file(), f"{path} missing: run `python -m geoapp.cli data demo`"
        assert path.read_bytes() == text.encode("utf-8"), (
            f"{path} drifted from geoapp/demo/: run `python -m geoapp.cli data demo`"
        )


def test_committed_csv_reads_back(facilities):
    back = pd.read_csv(
        DEMO_DIR / "220000_facilities.csv", dtype={"adcode": str}, keep_default_na=False
    )
    assert list(back.columns) == list(demo.FACILITY_COLUMNS)
    pd.testing.assert_frame_equal(
        back, pd.DataFrame(facilities.drop(columns="geometry")), check_dtype=False
    )
