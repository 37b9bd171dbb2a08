"""Map layers: the display topology decoded and moved to GCJ-02, and the rendered maps."""

from __future__ import annotations

import copy
import json
import re

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geoapp import coords, display, facilities
from geoapp.datasource import default_source
from layers import assets, overlays
from layers import counties as county_layers
from layers import facilities as facility_layers
from layers import map as base
from layers.jsdata import script_json

REGION = "220000"
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def topology() -> dict:
    return display.read_display(REGION)


@pytest.fixture(scope="module")
def gcj(topology) -> dict:
    return display.topology_to_datum(topology, dst="gcj02")


def _by_adcode(pairs) -> dict[str, shapely.Geometry]:
    return {props["adcode"]: geom for props, geom in pairs}


# --- decoding the shipped topology ---------------------------------------------------------


@pytest.mark.parametrize("layer", ["counties", "prefectures"])
def test_decoded_arcs_give_the_polygons_gdal_reads(topology, layer):
    """Our delta decoding and ring stitching reproduce GDAL's reading, vertex for vertex."""
    gdal = display.read_topojson_layer(display.display_path(REGION), layer)
    ours = _by_adcode(display.object_geometries(topology, layer))
    assert sorted(ours) == sorted(gdal["adcode"])
    for code, theirs in zip(gdal["adcode"], gdal.geometry, strict=False):
        mine = ours[code]
        assert shapely.get_num_coordinates(mine) == shapely.get_num_coordinates(theirs), code
        assert shapely.equals_exact(
            shapely.normalize(mine), shapely.normalize(theirs), tolerance=1e-9
        ), code


def test_decode_arcs_by_hand():
    topo = {
        "type": "Topology",
        "objects": {},
        "transform": {"scale": [0.5, 0.25], "translate": [120.0, 40.0]},
        "arcs": [[[2, 4], [2, 0], [0, -4]], [[0, 0], [1, 1]]],
    }
    first, second = display.decode_arcs(topo)
    assert first.tolist() == [[121.0, 41.0], [122.0, 41.0], [122.0, 40.0]]
    assert second.tolist() == [[120.0, 40.0], [120.5, 40.25]]
    # without a transform, positions are absolute already
    assert display.decode_arcs({"type": "Topology", "objects": {}, "arcs": [[[1, 2], [3, 4]]]})[
        0
    ].tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_a_square_with_a_reversed_arc_closes():
    topo = {
        "type": "Topology",
        "arcs": [[[0, 0], [1, 0], [1, 1]], [[0, 0], [0, 1], [1, 1]]],
        "objects": {
            "units": {
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Polygon", "arcs": [[0, ~1]], "properties": {"adcode": "990101"}}
                ],
            }
        },
    }
    ((props, square),) = display.object_geometries(topo, "units")
    assert props == {"adcode": "990101"}
    assert square.is_valid and square.area == pytest.approx(1.0)


# --- moving the topology to GCJ-02 -------------------------------------------------------------


def test_gcj02_topology_is_unquantized_and_the_input_untouched(topology, gcj):
    before = copy.deepcopy(topology)
    display.topology_to_datum(topology, dst="gcj02")
    assert topology == before
    assert "transform" not in gcj and "transform" in topology
    assert len(gcj["arcs"]) == len(topology["arcs"])
    assert [len(a) for a in gcj["arcs"]] == [len(a) for a in topology["arcs"]]
    assert (
        gcj["objects"]["counties"]["geometries"][0]["arcs"]
        == topology["objects"]["counties"]["geometries"][0]["arcs"]
    )


def test_a_known_vertex_moves_by_the_gcj02_offset(topology, gcj):
    lon, lat = display.decode_arcs(topology)[0][0]
    want_lon, want_lat = coords.wgs84_to_gcj02(lon, lat)
    got_lon, got_lat = gcj["arcs"][0][0]
    assert got_lon == pytest.approx(float(want_lon), abs=6e-7)
    assert got_lat == pytest.approx(float(want_lat), abs=6e-7)
    # and it really moved: GCJ-02 in Jilin is some hundreds of metres off WGS84
    _, _, dist = pyproj.Geod(ellps="WGS84").inv(lon, lat, got_lon, got_lat)
    assert 100 < dist < 800


def test_every_vertex_moves_like_coords_convert(topology, gcj):
    wgs = np.concatenate(display.decode_arcs(topology))
    want = np.column_stack(coords.convert(wgs[:, 0], wgs[:, 1], src="wgs84", dst="gcj02"))
    got = np.concatenate(display.decode_arcs(gcj))
    assert np.abs(got - want).max() <= 5.1e-7  # rounded to 6 decimals (0.1 m)


def test_gdal_reads_the_gcj02_topology_as_valid_polygons(gcj, tmp_path):
    path = tmp_path / "gcj.topojson"
    path.write_text(display.dumps(gcj), encoding="utf-8")
    moved = display.read_topojson_layer(path, "counties")
    shipped = display.read_topojson_layer(display.display_path(REGION), "counties")
    assert len(moved) == 60 and moved.is_valid.all()
    a = shipped.set_index("adcode").geometry
    b = moved.set_index("adcode").geometry.reindex(a.index)
    shift_lon = (b.bounds["minx"] - a.bounds["minx"]).to_numpy()
    assert (shift_lon > 0.002).all() and (shift_lon < 0.01).all()  # east by ~200-800 m


def test_topology_to_datum_rejects_what_it_cannot_use(topology):
    with pytest.raises(ValueError, match="Topology"):
        display.topology_to_datum({"type": "FeatureCollection"}, dst="gcj02")
    with pytest.raises(ValueError):
        display.topology_to_datum(topology, dst="mars")


def test_points_and_bbox_are_converted_too():
    topo = {
        "type": "Topology",
        "bbox": [0, 0, 1, 1],
        "transform": {"scale": [0.001, 0.001], "translate": [125.0, 43.0]},
        "arcs": [[[0, 0], [1000, 1000]]],
        "objects": {"seat": {"type": "Point", "coordinates": [500, 800]}},
    }
    out = display.topology_to_datum(topo, dst="gcj02")
    lon, lat = coords.wgs84_to_gcj02(125.5, 43.8)
    assert out["objects"]["seat"]["coordinates"] == pytest.approx(
        [float(lon), float(lat)], abs=1e-6
    )
    assert out["bbox"][0] == pytest.approx(float(coords.wgs84_to_gcj02(125.0, 43.0)[0]), abs=1e-6)


def test_bounds_of_quantized_and_unquantized_topologies(topology, gcj):
    (s, w), (n, e) = display.topology_bounds(topology)
    assert 40.8 < s < 41 and 46.2 < n < 46.4 and 121.5 < w < 121.7 and 131.2 < e < 131.4
    (s2, w2), _ = display.topology_bounds(gcj)
    assert 0.001 < s2 - s < 0.01 and 0.001 < w2 - w < 0.01


# --- the rendered map ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source():
    return default_source(REGION)


def _points(source, name: str = XSS) -> gpd.GeoDataFrame:
    points = source.facilities().head(3).copy()
    points.loc[points.index[0], "name"] = name
    points.loc[points.index[0], "address"] = '"><script>alert(2)</script>'
    return points


def _overview_map(topology, source, points=None) -> folium.Map:
    table = source.counties().drop(columns="geometry").assign(unemployed_disabled=1.0, total=0)
    fmap = base.base_map(bounds=display.topology_bounds(topology), layers_label="图层", lean=True)
    layer, _ = county_layers.county_choropleth(
        topology,
        table,
        value_col="unemployed_disabled",
        name="counties",
        tooltip_fields=["adcode", "name"],
        tooltip_aliases=["code", "county"],
    )
    layer.add_to(fmap)
    county_layers.prefecture_borders(name="prefectures", counties=layer).add_to(fmap)
    types = facilities.load_types()
    labels = {k: k for k in types}
    points = source.facilities() if points is None else points
    for element in facility_layers.facility_layers(points, types, labels=labels):
        element.add_to(fmap)
    folium.LayerControl().add_to(fmap)
    return fmap


def _rows_in(html: str) -> list[list]:
    return [
        row for found in re.findall(r"var rows = (\[.*?\]);\n", html) for row in json.loads(found)
    ]


def test_facility_texts_travel_as_json_and_show_as_text(topology, source):
    fmap = assets.localize(_overview_map(topology, source, _points(source)))
    html = fmap.get_root().render()
    # nothing of the hostile texts is markup in the page source ...
    assert XSS not in html and "<script>alert(2)" not in html
    # ... they arrive intact as data and the browser sets them as text
    rows = _rows_in(html)
    assert XSS in [r[2] for r in rows]
    assert '"><script>alert(2)</script>' in [r[5] for r in rows]
    assert "textContent = text" in html and "innerHTML" not in html


def test_county_names_reach_tooltips_as_text(topology, source):
    table = source.counties().drop(columns="geometry").assign(unemployed_disabled=1.0)
    table.loc[table.index[0], "name"] = XSS
    layer, _ = county_layers.county_choropleth(
        topology,
        table,
        value_col="unemployed_disabled",
        name="c",
        tooltip_fields=["name"],
        tooltip_aliases=["county"],
    )
    fmap = base.base_map(bounds=display.topology_bounds(topology))
    layer.add_to(fmap)
    html = fmap.get_root().render()
    assert XSS not in html
    data = json.loads(re.search(r"var topo_json_\w+_data = (\{.*?\});\n", html).group(1))
    names = [g["properties"]["name"] for g in data["objects"]["counties"]["geometries"]]
    assert XSS in names  # intact as data; the tooltip sets it with textContent
    assert "head.textContent = aliases[i]" in html and "innerHTML" not in html


def test_script_json_cannot_close_a_script():
    text = script_json(["</script><b>", "a & b", "长白\u2028"])
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert "长白" in text  # UTF-8, not \\u escapes
    assert json.loads(text) == ["</script><b>", "a & b", "长白\u2028"]


def test_one_cluster_six_toggleable_types_and_one_copy_of_the_topology(topology, source):
    fmap = assets.localize(_overview_map(topology, source))
    html = fmap.get_root().render()
    assert assets.cdn_urls_in(html) == []
    assert html.count("L.markerClusterGroup(") == 1
    assert html.count("L.featureGroup.subGroup(") == 6
    assert html.count('"type":"Topology"') == 1  # the borders layer reads the counties' copy
    points = source.facilities()
    for key, ftype in facilities.load_types().items():
        n = int((points["facility_type"] == key).sum())
        assert json.dumps(f"{ftype.mark} {key} ({n})") in html  # the layer control's entries
    assert len(_rows_in(html)) == len(points)
    assert "keyboard: true" in html or '"keyboard": true' in html
    assert (
        "leaflet.featuregroup.subgroup/leaflet.featuregroup.subgroup.js"
        in assets.vendor_paths_in(html)
    )
    # a lean map loads Leaflet without folium's jQuery, Bootstrap and Font Awesome
    assert "jquery" not in html and "bootstrap" not in html and "fontawesome" not in html


def test_borders_do_not_catch_clicks_and_layers_register(topology, source):
    html = _overview_map(topology, source).get_root().render()
    assert re.search(
        r'interactive: false,\s*style: function \(\) \{ return \{"color": "#111111"', html
    )
    assert 'window.geoappLayers["counties"]' in html
    assert 'window.geoappLayers["prefectures"]' in html
    assert "window.geoappMap = " in html


def test_an_unquantized_topology_draws_and_has_bounds(gcj, source):
    fmap = _overview_map(gcj, source)
    (s, _), (_, e) = fmap.get_bounds()
    assert 40.8 < s < 41 and 131.2 < e < 131.4
    fmap.get_root().render()


def test_highlight_ships_adcodes_not_geometry():
    group = folium.FeatureGroup(name="highlight", control=False)
    overlays.Highlight(
        gaps=["220623", "220822"], focus=["220600"], focus_layer="prefectures"
    ).add_to(group)
    fmap = folium.Map(tiles=None)
    group.add_to(fmap)
    html = fmap.get_root().render()
    assert 'features("counties", ["220623", "220822"])' in html
    assert 'features("prefectures", ["220600"])' in html
    assert '"dashArray": "9 6"' in html and '"className": "geoapp-gap"' in html
    assert "coordinates" not in html
    with pytest.raises(ValueError, match="counties"):
        overlays.Highlight(gap_layer="provinces")


def test_the_hatch_pattern_is_defined_once_per_page():
    html = base.base_map(bounds=[[41, 122], [46, 131]]).get_root().render()
    assert overlays.HATCH_ID in html and "patternTransform" in html
    assert "fill:url(#" in html


# --- basemaps ----------------------------------------------------------------------------------

KEY = "0123456789abcdef0123456789abcdef"


def test_no_basemap_means_no_tiles_and_no_internet():
    html = assets.localize(base.base_map(bounds=[[41, 122], [46, 131]])).get_root().render()
    assert "L.tileLayer" not in html
    assert assets.cdn_urls_in(html) == []


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("osm", ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]),
        ("amap", ["https://webrd0{s}.is.autonavi.com/appmaptile?"]),
        ("tianditu", ["vec_w/wmts?", "cva_w/wmts?", f"tk={KEY}"]),
    ],
)
def test_basemaps_draw_their_tiles_with_attribution(key, expected):
    html = (
        base.base_map(bounds=[[41, 122], [46, 131]], basemap=key, tianditu_key=KEY)
        .get_root()
        .render()
    )
    for part in expected:
        assert part in html
    assert html.count("L.tileLayer") == len(base.BASEMAPS[key].tiles)
    assert {"osm": "OpenStreetMap", "amap": "AutoNavi", "tianditu": "Tianditu"}[key] in html


def test_tianditu_needs_a_valid_key_and_unknown_basemaps_fail():
    with pytest.raises(ValueError, match="32"):
        base.base_map(bounds=[[41, 122], [46, 131]], basemap="tianditu", tianditu_key="x")
    with pytest.raises(ValueError, match="osm"):
        base.base_map(bounds=[[41, 122], [46, 131]], basemap="google")
    assert base.valid_tianditu_key(KEY) and not base.valid_tianditu_key(KEY + "0")
    assert {b.datum for b in base.BASEMAPS.values()} == {"wgs84", "cgcs2000", "gcj02"}


def test_facility_points_move_to_gcj02_with_the_same_offset(source):
    points = source.facilities().head(5)
    moved = facility_layers.points_to_datum(points, dst="gcj02")
    lon, lat = coords.wgs84_to_gcj02(points["lon"].to_numpy(), points["lat"].to_numpy())
    np.testing.assert_allclose(moved["lon"], lon)
    np.testing.assert_allclose(moved["lat"], lat)
    np.testing.assert_allclose(moved.geometry.x, lon)
    assert (points["lon"].to_numpy() != moved["lon"].to_numpy()).all()  # a copy; input kept
    assert isinstance(moved, gpd.GeoDataFrame) and not isinstance(moved, pd.Series)
