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

from geoapp import coverage, datasource, export, facilities, i18n, policy, profile, regions, reports

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
    # Labels resolved now, not when the widget formats them (AppTest formats outside a run).
    readings = {r: t(f"reading.{r}") for r in policy.READINGS}
    reading = st.sidebar.radio(
        t("filter.reading"), policy.READINGS,
        index=policy.READINGS.index(current_reading) if current_reading in policy.READINGS else 0,
        format_func=readings.get, key="filter_reading",
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
    everything = t("filter.all")  # resolved now: AppTest formats options outside a run
    current = st.query_params.get("prefecture")
    linked_county = st.query_params.get("county")
    if current not in pref_names and linked_county in set(table["adcode"]):
        # A link with only ?county= still shows that county's prefecture.
        current = table.loc[table["adcode"] == linked_county, "prefecture_adcode"].iloc[0]
    pref = st.sidebar.selectbox(
        t("filter.prefecture"), options, index=options.index(current) if current in options else 0,
        format_func=lambda c: everything if c is None else pref_names[c], key="filter_prefecture",
    )
    rows = table if pref is None else table[table["prefecture_adcode"] == pref]
    names = dict(zip(rows["adcode"], rows["name"]))
    county_options = [None, *names]
    current_county = st.query_params.get("county")
    county = st.sidebar.selectbox(
        t("filter.county"), county_options,
        index=county_options.index(current_county) if current_county in county_options else 0,
        format_func=lambda c: everything if c is None else names[c], key="filter_county",
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



# --- gap lists, progress and county profiles (pages gaps, progress, profile) ----------
@st.cache_data(show_spinner=False)
def gap_list(region: str, policy_key: str, reading: str, prefecture: str | None,
             county: str | None, all_rows: bool) -> reports.GapList:
    """The gap list exactly as ``geoapp gaps`` builds it for the same options."""
    return reports.build_gap_list(
        _source(region), policy=policy_key, reading=reading, prefecture=prefecture,
        county=county, all_rows=all_rows,
    )


def gap_list_file(region: str, gaps: reports.GapList, fmt: str) -> Callable[[], bytes]:
    """A download button's data: the CLI's file, built only when the button is clicked."""
    language = lang()
    return lambda: reports.gap_list_file(gaps, fmt, source=_source(region), lang=language)


@st.cache_data(show_spinner=False)
def prefecture_summary(region: str) -> pd.DataFrame:
    src = _source(region)
    return reports.prefecture_summary(src.counties(), src.facilities(), src.unemployed())


@st.cache_data(show_spinner=False)
def county_profile(region: str, adcode: str, policy_key: str, reading: str) -> profile.CountyProfile:
    src = _source(region)
    counties_ = src.counties()
    return profile.county_profile(
        adcode, counties=counties_, facilities=src.facilities(), unemployed=src.unemployed(),
        population=src.population(), gap_result=gap_result(region, policy_key, reading),
        seats=regions.county_seats(counties_),
    )


def policy_mismatch(region: str, policy_key: str) -> str | None:
    """A message when the chosen policy is about another region than the data shown."""
    pol = policy.load_policy(policy_key)
    code = pol.region_adcode
    prefix = code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code
    if counties(region)["adcode"].astype(str).str.startswith(prefix).any():
        return None
    return t("policy.other_region").format(
        policy=pol.title, policy_region=pol.region_name, data_region=info(region).region_name
    )


def labelled(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``columns`` of ``frame`` with coded values and headers in the UI language.

    Coded values are those of the gap list (unit kind, facility type, strength ...);
    numbers stay numbers, so the table still sorts by them. Headers are ``col.<name>``,
    or the facility type's label for a column named after a type.
    """
    language = lang()
    out = frame[columns].copy()
    for column, labels in export.gap_value_labels(language).items():
        if column in out.columns:
            out[column] = out[column].map(lambda v, m=labels: v if pd.isna(v) else m.get(v, v))
    types = i18n.label_map("facility_type", language)
    return out.rename(columns={c: types[c] if c in types else t_or(f"col.{c}", c) for c in columns})


def t_or(key: str, default: str) -> str:
    """The label for ``key``, or ``default`` when the table has none (labels from data files)."""
    try:
        return t(key)
    except KeyError:
        return default
