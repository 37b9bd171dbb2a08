"""Facility markers: one toggleable, clustered layer per facility type.

Markers are created in the browser from one compact data array per type
(``FastMarkerCluster``) instead of one folium object per facility. Every text that
came from a register is HTML-escaped here, before it can reach a popup.
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
from folium.plugins import FastMarkerCluster

from geoapp.facilities import FacilityType

# Builds a round badge with the type's one-character mark: shape and text carry the
# type, colour only repeats it. ``row`` = [lat, lon, popup_html, colour, mark, title].
_CALLBACK = """
function (row) {
    var icon = L.divIcon({
        className: 'geoapp-marker',
        html: '<span style="background:' + row[3] + '">' + row[4] + '</span>',
        iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -10]
    });
    var marker = L.marker(new L.LatLng(row[0], row[1]), {icon: icon, title: row[5], alt: row[5], keyboard: true});
    marker.bindPopup(row[2]);
    return marker;
}
"""

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


def popup_html(row: dict, *, type_label: str) -> str:
    """The popup of one facility, every field escaped."""
    parts = [f"<b>{html.escape(str(row['name']))}</b>", html.escape(type_label)]
    for key in ("prefecture", "county", "address"):
        if row.get(key):
            parts.append(html.escape(str(row[key])))
    if row.get("is_demo"):
        parts.append("<i>演示数据 demo</i>")
    return "<br>".join(parts)


def facility_layer(
    points: gpd.GeoDataFrame, ftype: FacilityType, *, label: str, show: bool = True
) -> folium.FeatureGroup:
    """One facility type as a clustered layer named with its label and count."""
    rows = points[points["facility_type"] == ftype.key]
    data = [
        [round(r["lat"], 6), round(r["lon"], 6), popup_html(r, type_label=label), ftype.colour,
         ftype.mark, html.escape(str(r["name"]))]
        for r in rows.to_dict(orient="records")
    ]
    group = folium.FeatureGroup(name=f"{ftype.mark} {label} ({len(rows)})", show=show)
    FastMarkerCluster(data, callback=_CALLBACK, options={"maxClusterRadius": 40}).add_to(group)
    return group
