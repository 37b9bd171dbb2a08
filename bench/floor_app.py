"""The least a Streamlit map page can do: the floor of ``bench/bench_map.py``.

One ``st_folium`` map with the vendored Leaflet and nothing on it: no counties, no
markers, no sidebar, no table. What a first visit to any Streamlit page with a folium map
costs on this machine (Streamlit's own page, its websocket, the component's frame and
Leaflet), against which the overview and the naive page are measured.

Run only by the benchmark, from a directory that holds this file and a ``static`` link
to the repository's ``static/``; the repository must be on ``PYTHONPATH``.
"""

from __future__ import annotations

import folium
import streamlit as st
from streamlit_folium import st_folium

from layers import assets

st.set_page_config(page_title="floor", layout="wide")
st_folium(
    assets.localize(folium.Map(location=[43.6, 126.2], zoom_start=6, tiles=None)),
    height=430,
    use_container_width=True,
    returned_objects=[],
)
