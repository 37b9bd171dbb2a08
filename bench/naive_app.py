"""The map overview written the obvious way: the baseline of ``bench/bench_map.py``.

Same data, same facts and the same sidebar filter as ``pages/overview.py``, but: the
county polygons go to the browser as the raw GeoJSON of the GeoPackage (not simplified,
full precision), every facility is its own ``folium.Marker`` with a ``folium.Popup``,
the filter zooms by rebuilding the map, and ``st_folium`` is called with its defaults
(every interaction returned, so panning and zooming rerun the script). Data loading is
cached, as any app would, so that a rerun measures the page and not the disk. Asset links
are pointed at the vendored copies (there is no CDN here), as in the real app.

Run only by the benchmark, from a directory that holds this file and a ``static`` link
to the repository's ``static/``; the repository must be on ``PYTHONPATH``.
"""

from __future__ import annotations

import html

import folium
import streamlit as st
from streamlit_folium import st_folium

from geoapp import datasource, facilities
from layers import assets
from layers import counties as county_layers

st.set_page_config(page_title="naive overview", layout="wide")


@st.cache_data
def load():
    src = datasource.default_source()
    counties = src.counties()
    base = counties.drop(columns="geometry")
    counts = facilities.counts_by_county(src.facilities(), base)
    table = base.merge(src.unemployed()[["adcode", "unemployed_disabled"]], on="adcode").merge(
        counts, on="adcode"
    )
    return counties, table, src.facilities()


counties, table, points = load()
prefs = table.drop_duplicates("prefecture_adcode").sort_values("prefecture_adcode")
names = dict(zip(prefs["prefecture_adcode"], prefs["prefecture"], strict=False))
pref = st.sidebar.selectbox(
    "市（州）",
    [None, *names],
    format_func=lambda c: "全部" if c is None else names[c],
    key="filter_prefecture",
)
view = table if pref is None else table[table["prefecture_adcode"] == pref]

st.title("残疾人就业资源地图")
c1, c2, c3 = st.columns(3)
c1.metric("县级单位", len(view))
c2.metric("就业服务设施", int(view["total"].sum()))
c3.metric("未就业残疾人", f"{int(view['unemployed_disabled'].sum()):,}")

shown = counties[counties["adcode"].isin(view["adcode"])]
minx, miny, maxx, maxy = shown.total_bounds
fmap = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=7, tiles=None)
fmap.fit_bounds([[miny, minx], [maxy, maxx]])

breaks = county_layers.class_breaks(table["unemployed_disabled"])
palette = county_layers.PALETTE
data = counties.merge(table[["adcode", "unemployed_disabled", "total"]], on="adcode")
chosen = set(view["adcode"]) if pref else set()


def style(feature):
    value = feature["properties"]["unemployed_disabled"]
    marked = feature["properties"]["adcode"] in chosen
    return {
        "fillColor": palette[county_layers.class_of(value, breaks)],
        "fillOpacity": 0.75,
        "color": "#000" if marked else "#555",
        "weight": 3 if marked else 0.8,
    }


folium.GeoJson(
    data,
    name="未就业残疾人数",
    style_function=style,
    tooltip=folium.GeoJsonTooltip(["prefecture", "name", "unemployed_disabled", "total"]),
).add_to(fmap)
for key in facilities.load_types():
    group = folium.FeatureGroup(name=key).add_to(fmap)
    for row in points[points["facility_type"] == key].itertuples():
        folium.Marker(
            [row.lat, row.lon],
            tooltip=html.escape(row.name),
            popup=folium.Popup(
                f"<b>{html.escape(row.name)}</b><br>{html.escape(str(row.address))}"
            ),
        ).add_to(group)
folium.LayerControl().add_to(fmap)

st_folium(assets.localize(fmap), width=None, height=560, use_container_width=True)
st.dataframe(view, hide_index=True)
