"""geoapp.analysis.access: demand grid, nearest distance, catchments and 2SFCA on hand-made toys."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import toys
from pyproj import Geod
from shapely.geometry import Point

from geoapp.analysis import access

# Two 10 km squares side by side: A (990101) west of B (990102), one prefecture.
TWO = (
    ("990101", "A", "990100", "county", (0, 0, 10, 10)),
    ("990102", "B", "990100", "county", (10, 0, 20, 10)),
)


def test_one_degree_of_longitude_at_43n_is_about_81_km_not_1():
    d = toys.gpd.GeoDataFrame(geometry=[Point(125, 43)], crs=4326)
    f = toys.gpd.GeoDataFrame(geometry=[Point(126, 43)], crs=4326)
    km = float(access.nearest_distance_km(d, f).iloc[0])
    _, _, metres = Geod(ellps="WGS84").inv(125, 43, 126, 43)
    assert km == pytest.approx(metres / 1000, rel=1e-4)  # geodesic: 81.54 km
    assert 81 < km < 82
    assert access.nearest_distance_km(d, f, circuity=1.3).iloc[0] == pytest.approx(km * 1.3)


def test_county_covered_only_from_across_its_border():
    counties = toys.counties(*TWO)
    # A has no facility; B has one 2 km over the border.
    fac = toys.facilities([(12, 5)], ["auxiliary_institution"], ["990102"])
    dem = toys.demand([(9, 5), (5, 5), (15, 5)], [100, 100, 50], ["990101", "990101", "990102"])
    dist = access.nearest_distance_km(dem, fac)
    assert dist.round(2).tolist() == [3.0, 7.0, 3.0]
    table = access.county_access(
        dem, fac, counties, radius_km=10, facility_types=["auxiliary_institution"]
    )
    a = table.set_index("adcode").loc["990101"]
    assert a["within_radius"] == pytest.approx(200)
    assert a["share_within"] == pytest.approx(1.0)
    assert a["mean_km"] == pytest.approx(5.0, abs=0.01)


def test_mean_and_p90_distance_are_demand_weighted():
    counties = toys.counties(*TWO)
    fac = toys.facilities([(0, 5)], ["incubation_base"], ["990101"])
    # Ten points 0.5 .. 9.5 km east of the facility, one person each.
    xs = np.arange(10) + 0.5
    dem = toys.demand([(x, 5) for x in xs], [1] * 10, ["990101"] * 10)
    row = access.county_access(
        dem, fac, counties, radius_km=5, facility_types=["incubation_base"]
    ).iloc[0]
    assert row["people"] == 10
    assert row["mean_km"] == pytest.approx(5.0, abs=0.01)
    assert row["p90_km"] == pytest.approx(8.5, abs=0.01)  # 9 of 10 people within 8.5 km
    assert row["within_radius"] == 5  # 0.5 .. 4.5 km
    # Weighting: one point with 10 people at 0.5 km pulls the mean down.
    heavy = dem.assign(demand=[10.0] + [1.0] * 9)
    row = access.county_access(
        heavy, fac, counties, radius_km=5, facility_types=["incubation_base"]
    ).iloc[0]
    assert row["mean_km"] == pytest.approx((10 * 0.5 + sum(xs[1:])) / 19, abs=0.01)


# 2SFCA by hand. F1 at x=0, F2 at x=20; D1 x=5 (100), D2 x=10 (200), D3 x=16 (300); 12 km.
# Catchments: F1 reaches D1 (5) and D2 (10): R1 = 1/300. F2 reaches D2 (10), D3 (4): R2 = 1/500.
# A(D1) = 1/300, A(D2) = 1/300 + 1/500 = 8/1500, A(D3) = 1/500.
HAND = {0: 1 / 300, 1: 8 / 1500, 2: 1 / 500}


def test_two_stage_fca_of_pysal_access_matches_the_hand_worked_case():
    pairs = pd.DataFrame(
        {
            "origin": [0, 0, 1, 1, 2, 2],
            "dest": [0, 1, 0, 1, 0, 1],
            "cost": [5.0, 15.0, 10.0, 10.0, 16.0, 4.0],
        }
    )
    ratios = access.two_stage_fca(
        pd.Series([100.0, 200.0, 300.0]), pd.Series([1.0, 1.0]), pairs, radius_km=12
    )
    assert ratios.to_dict() == pytest.approx(HAND)
    # Every facility is reachable by someone: people x ratio adds up to the 2 facilities.
    assert float((ratios * [100, 200, 300]).sum()) == pytest.approx(2.0)


def test_county_2sfca_is_the_demand_weighted_mean_per_10k():
    counties = toys.counties(
        ("990101", "A", "990100", "county", (0, -5, 12, 5)),
        ("990102", "B", "990100", "county", (12, -5, 25, 5)),
    )
    fac = toys.facilities([(0, 0), (20, 0)], ["massage_institution"] * 2, ["990101", "990102"])
    dem = toys.demand([(5, 0), (10, 0), (16, 0)], [100, 200, 300], ["990101", "990101", "990102"])
    table = access.county_access(
        dem, fac, counties, radius_km=12, facility_types=["massage_institution"]
    ).set_index("adcode")
    a = (100 * HAND[0] + 200 * HAND[1]) / 300 * 1e4
    assert table.loc["990101", "fca_per_10k"] == pytest.approx(a, rel=1e-6)
    assert table.loc["990102", "fca_per_10k"] == pytest.approx(HAND[2] * 1e4, rel=1e-6)


def test_no_facility_of_a_type_gives_nan_distances_and_nobody_within():
    counties = toys.counties(*TWO)
    fac = toys.facilities([(5, 5)], ["incubation_base"], ["990101"])
    dem = toys.demand([(5, 5)], [10], ["990101"])
    row = access.county_access(
        dem, fac, counties, radius_km=10, facility_types=["vocational_school"]
    ).iloc[0]
    assert row["within_radius"] == 0 and np.isnan(row["mean_km"]) and np.isnan(row["p90_km"])
    assert row["fca_per_10k"] == 0


def test_demand_grid_spreads_each_count_over_land_and_keeps_totals():
    counties = toys.counties(
        ("990101", "A", "990100", "county", (0, 0, 20, 10)),
        ("990102", "B", "990100", "county", (20, 0, 21, 1)),
    )  # < one cell
    grid = access.demand_grid(counties, toys.unemployed({"990101": 800, "990102": 7}), cell_km=5)
    assert grid.crs.to_epsg() == 4326
    assert list(grid.columns[:2]) == ["adcode", "demand"]
    a = grid[grid["adcode"] == "990101"]
    b = grid[grid["adcode"] == "990102"]
    assert 6 <= len(a) <= 10  # 20 x 10 km at 5 km: about 8 cells
    assert a["demand"].sum() == pytest.approx(800)
    assert len(b) == 1 and b["demand"].iloc[0] == pytest.approx(7)
    assert b.geometry.iloc[0].within(counties.geometry.iloc[1])
    # Land weighting: full interior cells carry the same share.
    full = a[np.isclose(a["land_km2"], 25.0)]
    assert len(full) >= 1
    assert full["demand"].to_numpy() == pytest.approx(800 * 25 / a["land_km2"].sum())


def test_demand_grid_on_jilin_keeps_the_province_total():
    from geoapp.datasource import EmbeddedSource

    src = EmbeddedSource()
    unemployed = src.unemployed()
    grid = access.demand_grid(src.counties(), unemployed, cell_km=10)
    assert grid["demand"].sum() == pytest.approx(unemployed["unemployed_disabled"].sum())
    assert set(grid["adcode"]) == set(src.counties()["adcode"])
    assert 1500 < len(grid) < 2500  # about 191,000 km2 / 100 km2


def test_bad_inputs_are_refused_with_a_message():
    counties = toys.counties(*TWO)
    with pytest.raises(ValueError, match="cell_km must be a positive number"):
        access.demand_grid(counties, toys.unemployed({"990101": 1}), cell_km=0)
    dem = toys.demand([(5, 5)], [10], ["990101"])
    with pytest.raises(ValueError, match="unknown facility type"):
        access.county_access(
            dem, dem.assign(facility_type="x"), counties, radius_km=5, facility_types=["clinic"]
        )


def test_cli_access_csv_for_one_city_and_bad_radius(capsysbinary):
    import io

    from geoapp import cli

    assert (
        cli.main(["access", "--type", "incubation_base", "--city", "白山市", "--cell-km", "10"])
        == 0
    )
    out = capsysbinary.readouterr()
    table = pd.read_csv(io.BytesIO(out.out), encoding="utf-8-sig", dtype={"adcode": str})
    assert set(table["prefecture"]) == {"白山市"} and len(table) == 6
    assert set(table["facility_type"]) == {"incubation_base"}
    assert table["share_within"].between(0, 1).all()
    assert "需求点" in out.err.decode()  # the demand assumption is stated
    assert cli.main(["access", "--radius-km", "-3"]) == 2
    assert "--radius-km must be a positive number" in capsysbinary.readouterr().err.decode()


def test_cli_access_geojson_joins_counties(tmp_path):
    import json

    from geoapp import cli

    out = tmp_path / "access.geojson"
    assert (
        cli.main(
            [
                "access",
                "--type",
                "vocational_school",
                "--cell-km",
                "10",
                "--format",
                "geojson",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert len(features) == 60
    assert {"mean_km", "fca_per_10k"} <= set(features[0]["properties"])
