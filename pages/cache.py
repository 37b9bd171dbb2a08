"""The core's data for the pages, cached at the UI edge.

Boundaries are keyed on the region code; everything read from the versioned store is
keyed on :func:`data_key` too (region, facility version, count version), so that after an
upload or a rollback no session is served the old version from the cache. Holds no
logic of its own: each function calls the core (:mod:`geoapp`) and caches the answer.
"""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import pandas as pd
import streamlit as st

from geoapp import datasource, facilities, regions
from geoapp.analysis import coverage, profile, reports
from pages.text import lang


@st.cache_resource
def _source(region: str) -> datasource.DataSource:
    return datasource.default_source(region)


def data_key(region: str) -> tuple[str, int, int]:
    """``(region, facilities version, unemployed version)``: the key of every cached read
    of the store (versions 0 for the read-only embedded data)."""
    code = region
    src = _source(code)
    store = getattr(src, "store", None)
    if store is None:
        return code, 0, 0
    return code, store.current_version("facilities"), store.current_version("unemployed")


@st.cache_data(show_spinner=False)
def counties(region: str) -> gpd.GeoDataFrame:
    return _source(region).counties()


@st.cache_data(show_spinner=False)
def _facility_points(key: tuple[str, int, int]) -> gpd.GeoDataFrame:
    return _source(key[0]).facilities()


def facility_points(region: str) -> gpd.GeoDataFrame:
    return _facility_points(data_key(region))


@st.cache_data(show_spinner=False)
def _county_table(key: tuple[str, int, int]) -> pd.DataFrame:
    src = _source(key[0])
    base = src.counties().drop(columns="geometry")
    pop = src.population()[["adcode", "pop2020"]]
    unemployed = src.unemployed()[["adcode", "unemployed_disabled"]]
    counts = facilities.counts_by_county(src.facilities(), base)
    return (
        base.merge(pop, on="adcode", how="left")
        .merge(unemployed, on="adcode", how="left")
        .merge(counts, on="adcode", how="left")
    )


def county_table(region: str) -> pd.DataFrame:
    """One row per county: kind, area, population, unemployed disabled, facilities."""
    return _county_table(data_key(region))


@st.cache_data(show_spinner=False)
def topology(region: str) -> dict:
    return _source(region).display_topology()


@st.cache_data(show_spinner=False)
def _info(key: tuple[str, int, int]) -> datasource.SourceInfo:
    return _source(key[0]).info()


def info(region: str) -> datasource.SourceInfo:
    return _info(data_key(region))


@st.cache_data(show_spinner=False)
def _gap_result(key: tuple[str, int, int], policy_key: str, reading: str) -> coverage.GapResult:
    src = _source(key[0])
    return coverage.compute_gaps(
        policy_key,
        counties=src.counties(),
        facilities=src.facilities(),
        unemployed=src.unemployed(),
        reading=reading,
    )


def gap_result(region: str, policy_key: str, reading: str) -> coverage.GapResult:
    """The region's gaps for a policy and reading (the whole region; filter afterwards)."""
    return _gap_result(data_key(region), policy_key, reading)


# --- gap lists, progress and county profiles (pages gaps, progress, profile) ----------
@st.cache_data(show_spinner=False)
def _gap_list(
    key: tuple[str, int, int],
    policy_key: str,
    reading: str,
    prefecture: str | None,
    county: str | None,
    all_rows: bool,
) -> reports.GapList:
    return reports.build_gap_list(
        _source(key[0]),
        policy=policy_key,
        reading=reading,
        prefecture=prefecture,
        county=county,
        all_rows=all_rows,
    )


def gap_list(
    region: str,
    policy_key: str,
    reading: str,
    prefecture: str | None,
    county: str | None,
    all_rows: bool,
) -> reports.GapList:
    """The gap list exactly as ``geoapp gaps`` builds it for the same options."""
    return _gap_list(data_key(region), policy_key, reading, prefecture, county, all_rows)


def gap_list_file(region: str, gaps: reports.GapList, fmt: str) -> Callable[[], bytes]:
    """A download button's data: the CLI's file, built only when the button is clicked."""
    language = lang()
    return lambda: reports.gap_list_file(gaps, fmt, source=_source(region), lang=language)


@st.cache_data(show_spinner=False, max_entries=8)
def _brief_pdf(key: tuple[str, int, int], policy_key: str, reading: str, language: str) -> bytes:
    from geoapp import brief  # matplotlib and fontTools only when a brief is asked for

    gaps = _gap_list(key, policy_key, reading, None, None, False)
    return brief.brief_file(gaps, source=_source(key[0]), policy=policy_key, lang=language)


def brief_pdf(region: str, policy_key: str, reading: str) -> Callable[[], bytes]:
    """A download button's data: the brief ``geoapp brief`` makes for the same options,
    built when the button is clicked (on Streamlit's download thread), then cached."""
    key, language = data_key(region), lang()
    return lambda: _brief_pdf(key, policy_key, reading, language)


@st.cache_data(show_spinner=False)
def brief_font_problem(language: str) -> str | None:
    """What to install when no Chinese font for the brief is at hand (None: all is well)."""
    from geoapp import brief

    return brief.font_problem(language)


@st.cache_data(show_spinner=False)
def _prefecture_summary(key: tuple[str, int, int]) -> pd.DataFrame:
    src = _source(key[0])
    return reports.prefecture_summary(src.counties(), src.facilities(), src.unemployed())


def prefecture_summary(region: str) -> pd.DataFrame:
    return _prefecture_summary(data_key(region))


@st.cache_data(show_spinner=False)
def _county_profile(
    key: tuple[str, int, int], adcode: str, policy_key: str, reading: str
) -> profile.CountyProfile:
    region = key[0]
    src = _source(region)
    counties_ = src.counties()
    return profile.county_profile(
        adcode,
        counties=counties_,
        facilities=src.facilities(),
        unemployed=src.unemployed(),
        population=src.population(),
        gap_result=gap_result(region, policy_key, reading),
        seats=regions.county_seats(counties_),
    )


def county_profile(
    region: str, adcode: str, policy_key: str, reading: str
) -> profile.CountyProfile:
    return _county_profile(data_key(region), adcode, policy_key, reading)


@st.cache_data(show_spinner=False)
def _history(key: tuple[str, int, int], policy_key: str, prefecture: str | None) -> pd.DataFrame:
    src = _source(key[0])
    return src.store.history(policy=policy_key, counties=src.counties(), prefecture=prefecture)


@st.cache_data(show_spinner=False, max_entries=16)
def version_diff(region: str, a: int, b: int):
    """Facilities added, removed, moved and changed from version ``a`` to ``b`` (versions
    never change, so their ids are a complete cache key)."""
    return _source(region).store.diff_facilities(a, b)


@st.cache_data(show_spinner=False, max_entries=16)
def _version_gap_diff(
    key: tuple[str, int, int], a: int, b: int, policy_key: str, reading: str
) -> pd.DataFrame:
    src = _source(key[0])
    return src.store.diff_gaps(a, b, policy=policy_key, counties=src.counties(), reading=reading)


def version_gap_diff(region: str, a: int, b: int, policy_key: str, reading: str) -> pd.DataFrame:
    """Gaps closed and opened from facility version ``a`` to ``b`` (current counts)."""
    return _version_gap_diff(data_key(region), a, b, policy_key, reading)


def history(region: str, policy_key: str, prefecture: str | None = None) -> pd.DataFrame | None:
    """Facilities per type per version date (:meth:`geoapp.store.Store.history`); None
    without a store (the embedded data has no history)."""
    key = data_key(region)
    if getattr(_source(region), "store", None) is None:
        return None
    return _history(key, policy_key, prefecture)
