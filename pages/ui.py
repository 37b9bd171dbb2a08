"""What every page shares: language, filters in the URL, cached data, error boundary.

The only UI module with logic of its own; it holds no domain logic, only Streamlit
plumbing around the core (`geoapp`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

import geopandas as gpd
import pandas as pd
import streamlit as st

from geoapp import coverage, datasource, facilities, i18n, policy

log = logging.getLogger("geoapp.ui")


def lang() -> str:
    """The UI language: from the URL (?lang=en), Chinese by default."""
    value = st.query_params.get("lang", i18n.DEFAULT_LANGUAGE)
    return value if value in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def t(key: str) -> str:
    return i18n.t(key, lang())


def language_switch() -> None:
    labels = {"zh": "中文", "en": "English"}
    choice = st.sidebar.radio(
        i18n.t("lang.label"), i18n.LANGUAGES, index=i18n.LANGUAGES.index(lang()),
        format_func=labels.get, horizontal=True, key="lang_switch",
    )
    if choice != lang():
        st.query_params["lang"] = choice
        st.rerun()


# --- data, cached at the UI edge, keyed on the region code only -----------------
@st.cache_resource
def _source(region: str) -> datasource.DataSource:
    return datasource.default_source(region)


def source() -> datasource.DataSource:
    return _source(st.query_params.get("region", datasource.regions.DEFAULT_REGION))


@st.cache_data(show_spinner=False)
def counties(region: str) -> gpd.GeoDataFrame:
    return _source(region).counties()


@st.cache_data(show_spinner=False)
def facility_points(region: str) -> gpd.GeoDataFrame:
    return _source(region).facilities()


@st.cache_data(show_spinner=False)
def county_table(region: str) -> pd.DataFrame:
    """One row per county: kind, area, population, unemployed disabled, facilities."""
    src = _source(region)
    base = src.counties().drop(columns="geometry")
    pop = src.population()[["adcode", "pop2020"]]
    unemployed = src.unemployed()[["adcode", "unemployed_disabled"]]
    counts = facilities.counts_by_county(src.facilities(), base)
    return base.merge(pop, on="adcode", how="left").merge(unemployed, on="adcode", how="left").merge(
        counts, on="adcode", how="left"
    )


@st.cache_data(show_spinner=False)
def topology(region: str) -> dict:
    return _source(region).display_topology()


@st.cache_data(show_spinner=False)
def info(region: str) -> datasource.SourceInfo:
    return _source(region).info()


@st.cache_data(show_spinner=False)
def gap_result(region: str, policy_key: str, reading: str) -> coverage.GapResult:
    """The region's gaps for a policy and reading (the whole region; filter afterwards)."""
    src = _source(region)
    return coverage.compute_gaps(
        policy_key, counties=src.counties(), facilities=src.facilities(),
        unemployed=src.unemployed(), reading=reading,
    )


def policy_choice() -> tuple[str, str]:
    """Sidebar policy and reading (各县（市） literal or broad), kept in the URL."""
    keys = policy.list_policies()
    current = st.query_params.get("policy", policy.DEFAULT_POLICY)
    titles = {k: policy.load_policy(k).title for k in keys}
    key = st.sidebar.selectbox(
        t("filter.policy"), keys, index=keys.index(current) if current in keys else keys.index(policy.DEFAULT_POLICY),
        format_func=lambda k: titles[k], key="filter_policy",
    )
    current_reading = st.query_params.get("reading", "literal")
    reading = st.sidebar.radio(
        t("filter.reading"), policy.READINGS,
        index=policy.READINGS.index(current_reading) if current_reading in policy.READINGS else 0,
        format_func=lambda r: t(f"reading.{r}"), key="filter_reading",
        help=t("filter.reading_help"),
    )
    _sync_param("policy", None if key == policy.DEFAULT_POLICY else key)
    _sync_param("reading", None if reading == "literal" else reading)
    return key, reading


# --- filters, kept in the URL so that a link opens the same view -----------------
def filters(table: pd.DataFrame) -> tuple[str | None, str | None]:
    """Sidebar prefecture and county filters; returns (prefecture_adcode, adcode)."""
    prefs = table.drop_duplicates("prefecture_adcode").sort_values("prefecture_adcode")
    pref_names = dict(zip(prefs["prefecture_adcode"], prefs["prefecture"]))
    options = [None, *pref_names]
    current = st.query_params.get("prefecture")
    pref = st.sidebar.selectbox(
        t("filter.prefecture"), options, index=options.index(current) if current in options else 0,
        format_func=lambda c: t("filter.all") if c is None else pref_names[c], key="filter_prefecture",
    )
    rows = table if pref is None else table[table["prefecture_adcode"] == pref]
    names = dict(zip(rows["adcode"], rows["name"]))
    county_options = [None, *names]
    current_county = st.query_params.get("county")
    county = st.sidebar.selectbox(
        t("filter.county"), county_options,
        index=county_options.index(current_county) if current_county in county_options else 0,
        format_func=lambda c: t("filter.all") if c is None else names[c], key="filter_county",
    )
    _sync_param("prefecture", pref)
    _sync_param("county", county)
    return pref, county


def _sync_param(name: str, value: str | None) -> None:
    if value is None:
        st.query_params.pop(name, None)
    elif st.query_params.get(name) != value:
        st.query_params[name] = value


def demo_banner(source_info: datasource.SourceInfo) -> None:
    if source_info.any_demo:
        st.warning(t("demo.banner"), icon="⚠️")


def guarded(page: Callable[[], None]) -> Callable[[], None]:
    """Run a page body; on any error log the traceback and show a plain message."""

    @functools.wraps(page)
    def run() -> None:
        try:
            page()
        except Exception as exc:
            # st.rerun() and st.stop() unwind with exceptions that must pass through.
            if type(exc).__name__ in {"RerunException", "StopException"}:
                raise
            log.exception("page %s failed", page.__name__)
            st.error(t("error.generic"))

    return run

