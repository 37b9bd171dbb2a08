"""The base map: no tiles by default (the county layer is the map), fitted to a focus.

Optional basemaps (:data:`BASEMAPS`) come from the internet and each is in one datum:
OpenStreetMap and Tianditu (天地图, CGCS2000, equal to WGS84 at map scale) take the
stored WGS84 layers as they are; Amap (高德) tiles are in GCJ-02, so every layer drawn
on them must be converted first (:func:`geoapp.display.topology_to_datum`,
:func:`layers.facilities.points_to_datum`). Tianditu needs a user's key (``tk``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import folium
import geopandas as gpd
from branca.element import MacroElement
from folium.template import Template

from layers import facilities as facility_layers
from layers import overlays

__all__ = ["BASEMAPS", "Basemap", "MapRegistry", "base_map", "valid_tianditu_key"]

_TIANDITU = (
    "https://t{s}.tianditu.gov.cn/%(layer)s_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER=%(layer)s&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles"
    "&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk={tk}"
)
_TIANDITU_KEY = re.compile(r"^[0-9A-Fa-f]{32}$")


@dataclass(frozen=True)
class Basemap:
    """A tile basemap: its URL templates (drawn in order), datum and attribution."""

    key: str
    datum: str
    tiles: tuple[str, ...]
    attribution: str
    subdomains: str = "abc"
    max_zoom: int = 18
    needs_key: bool = False


BASEMAPS: dict[str, Basemap] = {
    "osm": Basemap(
        "osm",
        "wgs84",
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png",),
        '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
        subdomains="abc",
        max_zoom=19,
    ),
    "tianditu": Basemap(
        "tianditu",
        "cgcs2000",
        (_TIANDITU % {"layer": "vec"}, _TIANDITU % {"layer": "cva"}),
        "&copy; 天地图 Tianditu (国家地理信息公共服务平台)",
        subdomains="01234567",
        needs_key=True,
    ),
    "amap": Basemap(
        "amap",
        "gcj02",
        (
            (
                "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
                "&x={x}&y={y}&z={z}"
            ),
        ),
        "&copy; 高德地图 AutoNavi (GCJ-02)",
        subdomains="1234",
    ),
}


def valid_tianditu_key(key: str | None) -> bool:
    """A Tianditu ``tk`` is 32 hexadecimal characters."""
    return bool(key) and bool(_TIANDITU_KEY.match(key.strip()))


class MapRegistry(MacroElement):
    """Keeps the Leaflet map as ``window.geoappMap``, fits it, and makes it keyboard-usable.

    The overlays of :mod:`layers.overlays` run in a feature group evaluated apart from
    the map's own script and find the map here. Once every layer and control is made:

    - the controls (zoom, layers) come first in the tab order, before the 60 county
      shapes and the markers, which Leaflet makes focusable too;
    - ``layers_label`` becomes the title and accessible name of the layer control's
      toggle (Leaflet's is the English "Layers"); Space opens it as Enter does, Escape
      closes it and gives the focus back to the toggle;
    - each county of ``window.geoappLayers.counties`` is named by its ``name`` and
      answers Enter or Space as a click (which opens the county's profile).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            window.geoappMap = {{ this._parent.get_name() }};
            {%- if this.bounds %}
            // Not folium's fit_bounds: its animated zoom would finish after, and undo,
            // the fit of a focus that layers.overlays.Highlight makes right after.
            {{ this._parent.get_name() }}.fitBounds({{ this.bounds|tojson }}, {animate: false});
            {%- endif %}
            {{ this._parent.get_name() }}.whenReady(function () {
                var map = this;
                setTimeout(function () {
                    var root = map.getContainer();
                    var controls = root.querySelector(".leaflet-control-container");
                    if (controls) { root.insertBefore(controls, root.firstChild); }
                    var box = root.querySelector(".leaflet-control-layers");
                    if (box) {
                        var toggle = box.querySelector(".leaflet-control-layers-toggle");
                        {%- if this.layers_label %}
                        toggle.title = {{ this.layers_label|tojson }};
                        toggle.setAttribute("aria-label", {{ this.layers_label|tojson }});
                        {%- endif %}
                        box.addEventListener("keydown", function (e) {
                            if (e.key === "Escape") {
                                box.classList.remove("leaflet-control-layers-expanded");
                                toggle.focus();
                            }
                        });
                        toggle.addEventListener("keydown", function (e) {
                            if (e.key === " ") {
                                e.preventDefault();
                                box.classList.add("leaflet-control-layers-expanded");
                            }
                        });
                    }
                    var counties = (window.geoappLayers || {}).counties;
                    if (counties) {
                        counties.eachLayer(function (layer) {
                            var path = layer.getElement && layer.getElement();
                            if (!path) { return; }
                            path.setAttribute("tabindex", "0");
                            path.setAttribute("role", "button");
                            path.setAttribute("aria-label", layer.feature.properties.name || "");
                            path.addEventListener("keydown", function (e) {
                                if (e.key === "Enter" || e.key === " ") {
                                    e.preventDefault();
                                    layer.fire("click", {latlng: layer.getCenter(), originalEvent: e}, true);
                                }
                            });
                        });
                    }
                }, 0);
            });
        {% endmacro %}
        """
    )

    def __init__(self, *, layers_label: str | None = None, bounds: list[list[float]] | None = None):
        super().__init__()
        self._name = "MapRegistry"
        self.layers_label = layers_label
        self.bounds = bounds


def base_map(
    counties: gpd.GeoDataFrame | None = None,
    *,
    focus: set[str] | None = None,
    bounds: list[list[float]] | None = None,
    basemap: str | None = None,
    tianditu_key: str | None = None,
    layers_label: str | None = None,
    lean: bool = False,
) -> folium.Map:
    """A map fitted to the ``focus`` counties (all when empty), tile-less by default.

    ``bounds`` (``[[lat_min, lon_min], [lat_max, lon_max]]``) replaces the counties'
    extent, e.g. the bounds of a topology converted to the basemap's datum.
    ``basemap``: a key of :data:`BASEMAPS`; ``"tianditu"`` without a valid
    ``tianditu_key`` raises ValueError. Keyboard navigation is on (Leaflet's
    ``keyboard`` option: arrows pan, +/- zoom). ``lean``: load Leaflet alone instead of
    folium's default jQuery, Bootstrap, Font Awesome and awesome-markers (about 1 MB the
    browser would parse for nothing); only for maps without ``folium.Icon`` markers.
    """
    if bounds is None:
        if counties is None:
            msg = "base_map needs counties or bounds"
            raise ValueError(msg)
        shown = counties[counties["adcode"].isin(focus)] if focus else counties
        minx, miny, maxx, maxy = shown.total_bounds
        bounds = [[miny, minx], [maxy, maxx]]
    (miny, minx), (maxy, maxx) = bounds
    spec = _basemap(basemap, tianditu_key)
    fmap = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        tiles=None,
        zoom_start=6,
        control_scale=True,
        attribution_control=spec is not None,
    )
    if lean:
        fmap.default_js = [(n, u) for n, u in fmap.default_js if n == "leaflet"]
        fmap.default_css = [(n, u) for n, u in fmap.default_css if n == "leaflet_css"]
    # Without tiles folium sets no zoom range, and marker clusters refuse a map
    # without maxZoom.
    # Fractional zoom lets fit_bounds fill the frame instead of snapping a level out.
    fmap.options.update(max_zoom=14, min_zoom=5, zoom_snap=0.25, zoom_delta=0.5, keyboard=True)
    if spec is not None:
        fmap.options.update(max_zoom=spec.max_zoom)
        for url in spec.tiles:
            folium.TileLayer(
                tiles=url.replace("{tk}", (tianditu_key or "").strip()),
                attr=spec.attribution,
                subdomains=spec.subdomains,
                max_zoom=spec.max_zoom,
                min_zoom=5,
                control=False,
                overlay=False,
            ).add_to(fmap)
    fmap.get_root().header.add_child(folium.Element(facility_layers.MARKER_CSS))
    MapRegistry(layers_label=layers_label, bounds=[[miny, minx], [maxy, maxx]]).add_to(fmap)
    overlays.HatchPattern().add_to(fmap)
    return fmap


def _basemap(key: str | None, tianditu_key: str | None) -> Basemap | None:
    if key in (None, "", "none"):
        return None
    if key not in BASEMAPS:
        msg = f"unknown basemap {key!r}; expected none or one of {', '.join(BASEMAPS)}"
        raise ValueError(msg)
    spec = BASEMAPS[key]
    if spec.needs_key and not valid_tianditu_key(tianditu_key):
        msg = "the Tianditu basemap needs a key (tk) of 32 hexadecimal characters"
        raise ValueError(msg)
    return spec
