"""Entry script: page config, language switch, sign-in, navigation. Run with `geoapp run`."""

from __future__ import annotations

import streamlit as st

from pages import signin, ui

st.set_page_config(page_title="残疾人就业资源地图 · geoapp", page_icon="🗺️", layout="wide")
menu = st.sidebar.empty()  # the links to the pages, with the view's filters (ui.page_menu)
ui.language_switch()
# With VIEW_REQUIRES_SIGNIN and nobody signed in, the pages show only the sign-in form
# (ui.guarded); the menu is hidden too.
locked = signin.view_locked()
pages = [
    st.Page("pages/overview.py", title=ui.t("nav.overview"), url_path="overview", default=True),
    st.Page("pages/gaps.py", title=ui.t("nav.gaps"), url_path="gaps"),
    st.Page("pages/progress.py", title=ui.t("nav.progress"), url_path="progress"),
    st.Page("pages/profile.py", title=ui.t("nav.profile"), url_path="profile"),
    st.Page("pages/siting.py", title=ui.t("nav.siting"), url_path="siting"),
    st.Page("pages/reporting.py", title=ui.t("nav.reporting"), url_path="reporting"),
    st.Page("pages/data.py", title=ui.t("nav.data"), url_path="data"),
]
# Streamlit's own menu links to bare page URLs, which would drop the filters.
navigation = st.navigation(pages, position="hidden")
if not locked:
    ui.page_menu(menu, pages)
drawn = ui.view_params()
navigation.run()
if not locked and ui.view_params() != drawn:
    ui.page_menu(menu, pages)  # again: the page has changed the filters in the URL
