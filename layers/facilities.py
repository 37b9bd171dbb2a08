"""Facility markers: one toggleable layer per facility type, all in one cluster.

Markers are created in the browser from one compact data array per type instead of
one folium object per facility. :func:`facility_layers` puts every type into one
shared marker cluster (each type a ``FeatureGroup.SubGroup`` of it, toggled on its
own in the layer control), so that a town with five kinds of facility shows one
cluster, not five overlapping ones. Every text that came from a register travels as
JSON (:func:`layers.jsdata.script_json`) and is shown with ``textContent``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.plugins import FeatureGroupSubGroup, MarkerCluster
from folium.template import Template

from geoapp import coords
from geoapp.facilities import FacilityType
from layers.jsdata import script_json

MARKER_CSS = """
<style>
.geoapp-marker span { display:block; width:22px; height:22px; border-radius:11px;
  border:2px solid #fff; box-shadow:0 0 0 1px #333; color:#fff; font:bold 12px/18px sans-serif;
  text-align:center; text-shadow:0 0 2px #000; }
/* Neutral clusters: the default green/yellow/orange would compete with the choropleth
   and with the type colours, and means nothing to a colour-blind reader. */
.leaflet-container .marker-cluster-small, .leaflet-container .marker-cluster-medium,
.leaflet-container .marker-cluster-large { background-color: rgba(40,40,40,.25); }
.leaflet-container .marker-cluster-small div, .leaflet-container .marker-cluster-medium div,
.leaflet-container .marker-cluster-large div {
  background-color: rgba(40,40,40,.85); color: #fff; font-weight: bold; }
</style>
"""


DEMO_LABEL = "演示数据 demo"

CLUSTER_OPTIONS = {
    "maxClusterRadius": 60,
    # the hover hull is a blue polygon that reads as one more map layer
    "showCoverageOnHover": False,
    "spiderfyOnMaxZoom": True,
}


# Builds one marker per row of ``FacilityMarkers``; ``row`` = [lat, lon, name, prefecture,
# county, address, is_demo] as plain text, ``style`` = the type's colour, mark, label and
# the demo note, sent once per type rather than per row. Every text goes into the page
# with textContent or as a DOM property, never as markup.
_ROW_CALLBACK = """
function (row, style) {
    var badge = document.createElement('span');
    badge.style.background = style.colour;
    badge.textContent = style.mark;
    var icon = L.divIcon({
        className: 'geoapp-marker', html: badge,
        iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -10]
    });
    var marker = L.marker(new L.LatLng(row[0], row[1]),
                          {icon: icon, title: row[2], alt: row[2], keyboard: true});
    marker.bindPopup(function () {
        var box = document.createElement('div');
        function line(text, tag) {
            if (box.childNodes.length) { box.appendChild(document.createElement('br')); }
            var node = document.createElement(tag || 'span');
            node.textContent = text;
            box.appendChild(node);
        }
        line(row[2], 'b');
        line(style.label);
        for (var i = 3; i < 6; i++) { if (row[i]) { line(row[i]); } }
        if (row[6]) { line(style.demo, 'i'); }
        return box;
    });
    return marker;
}
"""


class FacilityMarkers(MacroElement):
    """The markers of one facility type, made in the browser and added to the parent group.

    ``rows`` as :func:`marker_rows` makes them. The parent is a layer group; when it is
    a ``FeatureGroup.SubGroup`` not yet on the map, the markers reach the cluster in
    one batch when the subgroup is added. ``demo_label``: the popup's note on rows
    marked as demo data.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var make = {{ this.callback }};
                var style = {{ this.style_json }};
                var rows = {{ this.rows_json }};
                var group = {{ this._parent.get_name() }};
                for (var i = 0; i < rows.length; i++) { group.addLayer(make(rows[i], style)); }
            })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        rows: list[list],
        *,
        colour: str,
        mark: str,
        label: str,
        demo_label: str = DEMO_LABEL,
        callback: str = _ROW_CALLBACK,
    ):
        super().__init__()
        self._name = "FacilityMarkers"
        self.rows = rows
        self.rows_json = script_json(rows)
        self.style_json = script_json(
            {"colour": colour, "mark": mark, "label": label, "demo": demo_label}
        )
        self.callback = callback.strip()


def marker_rows(points: gpd.GeoDataFrame, ftype: FacilityType) -> list[list]:
    """``[lat, lon, name, prefecture, county, address, is_demo]`` per facility of one type.

    Texts are as the register gives them (the browser shows them as text, never as
    markup); facilities without coordinates are left out.
    """
    return _rows_by_type(points).get(ftype.key, [])


def _rows_by_type(points: gpd.GeoDataFrame) -> dict[str, list[list]]:
    """:func:`marker_rows` of every type, in one pass over the columns (no geometry)."""
    wanted = ["facility_type", "lat", "lon", "name", "prefecture", "county", "address", "is_demo"]
    located = points["lat"].notna() & points["lon"].notna()
    rows = pd.DataFrame(points.loc[located, [c for c in wanted if c in points.columns]])

    def text(column: str) -> list[str]:
        if column not in rows:
            return [""] * len(rows)
        return ["" if v is None or pd.isna(v) else str(v) for v in rows[column].tolist()]

    def coordinate(column: str) -> list[float]:
        return [round(v, 6) for v in rows[column].astype(float).tolist()]

    demo = rows["is_demo"].tolist() if "is_demo" in rows else [False] * len(rows)
    by_type: dict[str, list[list]] = {}
    for key, *row in zip(
        rows["facility_type"].tolist(),
        coordinate("lat"),
        coordinate("lon"),
        text("name"),
        text("prefecture"),
        text("county"),
        text("address"),
        [1 if d else 0 for d in demo],
        strict=True,
    ):
        by_type.setdefault(key, []).append(row)
    return by_type


def facility_layers(
    points: gpd.GeoDataFrame,
    types: Mapping[str, FacilityType],
    *,
    labels: Mapping[str, str],
    hidden: Iterable[str] = (),
    cluster_options: Mapping[str, object] | None = None,
    demo_label: str = DEMO_LABEL,
) -> list[MarkerCluster | FeatureGroupSubGroup]:
    """One shared cluster and one toggleable subgroup per facility type.

    Add the returned elements to the map in order (the cluster first). Each subgroup
    is named ``"<mark> <label> (<count>)"``; types in ``hidden`` start switched off.
    ``demo_label``: the popups' note on demo rows, in the page's language.
    """
    cluster = MarkerCluster(control=False, options={**CLUSTER_OPTIONS, **(cluster_options or {})})
    out: list[MarkerCluster | FeatureGroupSubGroup] = [cluster]
    hidden = set(hidden)
    by_type = _rows_by_type(points)
    for key, ftype in types.items():
        rows = by_type.get(key, [])
        group = FeatureGroupSubGroup(
            cluster, name=f"{ftype.mark} {labels[key]} ({len(rows)})", show=key not in hidden
        )
        FacilityMarkers(
            rows, colour=ftype.colour, mark=ftype.mark, label=labels[key], demo_label=demo_label
        ).add_to(group)
        out.append(group)
    return out


def points_to_datum(points: gpd.GeoDataFrame, *, dst: str, src: str = "wgs84") -> gpd.GeoDataFrame:
    """A copy of ``points`` with ``lon``/``lat`` (and the geometry) in datum ``dst``.

    For drawing on tiles of another datum (Amap: GCJ-02); the stored points stay WGS84.
    """
    out = points.copy()
    lon, lat = coords.convert(out["lon"].to_numpy(), out["lat"].to_numpy(), src=src, dst=dst)
    out["lon"], out["lat"] = lon, lat
    return out.set_geometry(gpd.points_from_xy(lon, lat, crs=points.crs))
