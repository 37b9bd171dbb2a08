"""The maps load every script, stylesheet, image and font from static/vendor/, none from a CDN."""

from __future__ import annotations

import json
import re
from pathlib import PurePosixPath
from typing import ClassVar

import folium
import pytest
from branca.element import JavascriptLink
from folium import plugins
from folium.elements import JSCSSMixin

from layers.assets import (
    CDN_TO_VENDOR,
    DEFAULT_BASE_URL,
    VENDOR_DIR,
    CdnAssetError,
    cdn_urls_in,
    local_url,
    localize,
    missing_vendor_files,
    vendor_paths_in,
)

POLYGONS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"name": "长春市"},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[124.5, 43.0], [126.0, 43.0], [126.0, 44.2], [124.5, 43.0]]],
            },
        }
    ],
}
TOPOLOGY = {  # quantized, as the topojson package writes it (folium's get_bounds needs it)
    "type": "Topology",
    "transform": {"scale": [0.001, 0.001], "translate": [126.5, 42.5]},
    "objects": {
        "counties": {
            "type": "GeometryCollection",
            "geometries": [{"type": "Polygon", "arcs": [[0]], "properties": {"name": "吉林市"}}],
        }
    },
    "arcs": [[[0, 0], [2000, 0], [0, 1500], [-2000, 0], [0, -1500]]],
}


def full_map() -> folium.Map:
    """A tile-less map with every element kind the dashboard uses."""
    fmap = folium.Map(tiles=None, location=[43.6, 126.5], zoom_start=7)
    folium.GeoJson(
        POLYGONS, name="polygons", tooltip=folium.GeoJsonTooltip(fields=["name"])
    ).add_to(fmap)
    folium.TopoJson(
        TOPOLOGY,
        "objects.counties",
        name="counties",
        tooltip=folium.GeoJsonTooltip(fields=["name"]),
    ).add_to(fmap)
    group = folium.FeatureGroup(name="facilities").add_to(fmap)
    cluster = plugins.MarkerCluster().add_to(group)
    for i in range(20):
        folium.Marker(
            [43 + i / 10, 126],
            icon=folium.Icon(
                icon="info-sign" if i % 2 else "wheelchair",
                prefix="glyphicon" if i % 2 else "fa",
                angle=i,
            ),
            popup=folium.Popup(f"设施 {i}"),
            tooltip=folium.Tooltip(f"{i}"),
        ).add_to(cluster)
    folium.Marker([44.5, 125.0]).add_to(fmap)  # Leaflet's default icon
    folium.CircleMarker([42.3, 125.0], radius=8, popup="circle").add_to(fmap)
    plugins.FastMarkerCluster([[42.0 + i / 100, 129.0] for i in range(30)]).add_to(fmap)
    plugins.Fullscreen().add_to(fmap)
    folium.LayerControl().add_to(fmap)
    return fmap


def test_folium_links_cdns_by_default():
    """The premise: without localize(), a rendered map is full of CDN links."""
    html = full_map().get_root().render()
    assert len(cdn_urls_in(html)) >= 15


def test_localized_map_links_only_vendored_files():
    fmap = localize(full_map())
    html = fmap.get_root().render()

    assert cdn_urls_in(html) == []
    paths = vendor_paths_in(html)
    for expected in (
        "leaflet/leaflet.js",
        "leaflet/leaflet.css",
        "jquery/jquery.min.js",
        "bootstrap3-glyphicons/css/bootstrap-glyphicons.css",
        "fontawesome-free/css/all.min.css",
        "leaflet.awesome-markers/leaflet.awesome-markers.min.js",
        "topojson-client/topojson-client.min.js",
        "leaflet.markercluster/leaflet.markercluster.js",
        "leaflet.fullscreen/Control.FullScreen.js",
        "leaflet/images/",  # L.Icon.Default.imagePath
    ):
        assert expected in paths
    assert missing_vendor_files(p for p in paths if not p.endswith("/")) == []
    assert (VENDOR_DIR / "leaflet" / "images" / "marker-icon.png").is_file()


def test_localize_rewrites_what_streamlit_folium_collects():
    """st_folium loads the default_js/default_css lists of the tree, not the header."""
    fmap = localize(full_map())
    links = [
        url
        for element in _walk(fmap)
        if isinstance(element, JSCSSMixin)
        for _, url in [*element.default_js, *element.default_css]
    ]
    assert links and all(url.startswith(DEFAULT_BASE_URL + "/") for url in links)
    # the class lists stay untouched: other maps of the process are not affected
    assert folium.Map.default_js[0][1].startswith("https://")
    assert plugins.MarkerCluster.default_js[0][1].startswith("https://")


def test_localize_is_idempotent_and_follows_base_url():
    fmap = localize(
        localize(full_map(), base_url="/geoapp/app/static/vendor/"),
        base_url="/geoapp/app/static/vendor/",
    )
    html = fmap.get_root().render()
    assert cdn_urls_in(html) == []
    assert html.count("L.Icon.Default.imagePath") == 1
    assert '"/geoapp/app/static/vendor/leaflet/images/"' in html
    assert vendor_paths_in(html, base_url="/geoapp/app/static/vendor")
    assert '<script src="/geoapp/app/static/vendor/leaflet/leaflet.js">' in html


def test_localize_rewrites_links_already_in_the_header():
    fmap = full_map()
    fmap.get_root().render()  # header now holds CDN JavascriptLink/CssLink elements
    localize(fmap)
    assert cdn_urls_in(fmap.get_root().render()) == []


class _UnvendoredPlugin(JSCSSMixin):
    default_js: ClassVar = [
        ("someplugin", "https://cdn.example.org/someplugin@1.0/someplugin.min.js")
    ]
    default_css: ClassVar = [("someplugin_css", "https://unpkg.com/someplugin@1.0/someplugin.css")]


def test_unknown_cdn_url_raises_a_clear_error_and_changes_nothing():
    fmap = full_map()
    _UnvendoredPlugin().add_to(fmap)
    with pytest.raises(CdnAssetError) as info:
        localize(fmap)
    err = info.value
    assert err.urls == [
        "https://cdn.example.org/someplugin@1.0/someplugin.min.js",
        "https://unpkg.com/someplugin@1.0/someplugin.css",
    ]
    message = str(err)
    assert "_UnvendoredPlugin" in message and "scripts/vendor_assets.py" in message
    assert all(url in message for url in err.urls)
    # all-or-nothing: the map's own links were not rewritten either
    assert fmap.default_js[0][1].startswith("https://cdn.jsdelivr.net/")


def test_a_header_link_without_local_copy_raises():
    fmap = full_map()
    fmap.get_root().header.add_child(JavascriptLink("https://d3js.org/d3.v7.min.js"))
    with pytest.raises(CdnAssetError, match=re.escape("https://d3js.org/d3.v7.min.js")):
        localize(fmap)


def test_a_colormap_legend_raises():
    """branca colour maps load d3 from a CDN at render time (and streamlit-folium too)."""
    import branca.colormap

    fmap = full_map()
    branca.colormap.LinearColormap(["white", "blue"], vmin=0, vmax=1).add_to(fmap)
    with pytest.raises(CdnAssetError, match="d3"):
        localize(fmap)


def test_local_url():
    assert local_url("/app/static/vendor/x.js") == "/app/static/vendor/x.js"
    assert local_url("http://127.0.0.1:8501/x.js") == "http://127.0.0.1:8501/x.js"
    url = "https://code.jquery.com/jquery-3.7.1.min.js"
    assert local_url(url, base_url="/v") == "/v/jquery/jquery.min.js"
    with pytest.raises(CdnAssetError):
        local_url("//cdn.example.org/x.js")


def test_cdn_urls_in():
    html = """<script src="https://cdn.example.org/a.js"></script>
    <link href="//fonts.example.com/b.css"/><script src="/app/static/vendor/c.js"></script>
    <svg xmlns="http://www.w3.org/2000/svg"></svg><img src="http://localhost:8501/d.png">
    <div style="background:url('https://tiles.example.net/1/2/3.png')"></div>
    // a comment, not a URL; <script src="https://cdn.example.org/a.js"></script>"""
    assert cdn_urls_in(html) == [
        "https://cdn.example.org/a.js",
        "//fonts.example.com/b.css",
        "https://tiles.example.net/1/2/3.png",
    ]


# ------------------------------------------------------------------------ the vendored tree


def _manifest() -> dict:
    return json.loads((VENDOR_DIR / "MANIFEST.json").read_text(encoding="utf-8"))


def test_every_cdn_url_has_its_vendored_file():
    assert missing_vendor_files() == []
    assert all(url.startswith("https://") for url in CDN_TO_VENDOR)


def test_manifest_lists_version_licence_and_existing_files_for_every_package():
    manifest = _manifest()
    packages = manifest["packages"]
    assert {p["dir"] for p in packages} == {d.name for d in VENDOR_DIR.iterdir() if d.is_dir()}
    for package in packages:
        assert package["version"] and package["license"], package["package"]
        assert package["license_files"], f"{package['package']}: no licence file"
        for rel in package["license_files"] + package["files"]:
            assert (VENDOR_DIR / rel).is_file(), rel
            assert rel.startswith(package["dir"] + "/")
    listed = {f for p in packages for f in p["files"] + p["license_files"]}
    on_disk = {
        p.relative_to(VENDOR_DIR).as_posix()
        for p in VENDOR_DIR.rglob("*")
        if p.is_file() and p.name != "MANIFEST.json"
    }
    assert on_disk == listed, "files in static/vendor/ not listed in MANIFEST.json, or missing"
    assert set(CDN_TO_VENDOR.values()) <= listed


def test_vendored_files_match_the_manifest_checksums():
    import hashlib

    for rel, digest in _manifest()["sha256"].items():
        assert hashlib.sha256((VENDOR_DIR / rel).read_bytes()).hexdigest() == digest, rel


def test_every_url_in_a_vendored_stylesheet_resolves():
    """Images and fonts the CSS refers to exist; only @font-face fallbacks are omitted."""
    omitted = {f for p in _manifest()["packages"] for f in p["omitted_references"]}
    for css in VENDOR_DIR.rglob("*.css"):
        text = css.read_text(encoding="utf-8")
        for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", text):
            if ref.startswith(("data:", "#")):
                continue
            assert not ref.startswith(("http:", "https:", "//")), f"{css}: {ref}"
            rel = (
                PurePosixPath(css.relative_to(VENDOR_DIR).parent.as_posix())
                / re.split(r"[?#]", ref)[0]
            )
            target = (VENDOR_DIR / rel).resolve()
            key = target.relative_to(VENDOR_DIR.resolve()).as_posix()
            assert target.is_file() or key in omitted, f"{css.name}: {ref}"
            if key in omitted:  # a fallback is only fine next to its woff2
                assert target.with_suffix(".woff2").is_file(), key


def test_vendored_scripts_are_small_builds():
    sizes = {p.name: p.stat().st_size for p in VENDOR_DIR.rglob("*") if p.is_file()}
    assert not [n for n in sizes if n.endswith((".map", ".ttf", ".eot", ".otf"))]
    assert sum(sizes.values()) < 2_000_000


def _walk(element):
    yield element
    for child in element._children.values():
        yield from _walk(child)
