"""Entry script: page config, language switch, sign-in, navigation. Run with `geoapp run`."""

from __future__ import annotations

import streamlit as st

from pages import signin, ui

st.set_page_config(page_title="残疾人就业资源地图 · geoapp", page_icon="🗺️", layout="wide")
ui.language_switch()
# With VIEW_REQUIRES_SIGNIN and nobody signed in, the pages show only the sign-in form
# (ui.guarded); the menu is hidden too.
locked = signin.view_locked()
navigation = st.navigation(
    [
        st.Page("pages/overview.py", title=ui.t("nav.overview"), url_path="overview", default=True),
        st.Page("pages/gaps.py", title=ui.t("nav.gaps"), url_path="gaps"),
        st.Page("pages/progress.py", title=ui.t("nav.progress"), url_path="progress"),
        st.Page("pages/profile.py", title=ui.t("nav.profile"), url_path="profile"),
        st.Page("pages/siting.py", title=ui.t("nav.siting"), url_path="siting"),
        st.Page("pages/data.py", title=ui.t("nav.data"), url_path="data"),
    ],
    position="hidden" if locked else "sidebar",
)
navigation.run()
