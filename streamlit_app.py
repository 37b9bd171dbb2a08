"""Entry script: page config, language switch, navigation. Run with `geoapp run`."""

from __future__ import annotations

import streamlit as st

from pages import ui

st.set_page_config(page_title="残疾人就业资源地图 · geoapp", page_icon="🗺️", layout="wide")
ui.language_switch()
navigation = st.navigation(
    [st.Page("pages/overview.py", title=ui.t("nav.overview"), url_path="overview", default=True)]
)
navigation.run()
