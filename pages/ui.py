"""The page frame every page shares: title, filters in the URL, policy, banner, error boundary.

The region is data too: the sidebar offers every built region by name
(:func:`region_choice`), the URL keeps it (``?region=211100``), and a region that
started without data says what it lacks (:func:`missing_data`) instead of failing.

Pages start with :func:`page_start` and are wrapped in :func:`guarded`. The cached data
live in :mod:`pages.cache`, sign-in in :mod:`pages.signin`, the language and safe text in
:mod:`pages.text` (``ui.t``, ``ui.lang``, ``ui.plain`` are those). No domain logic here,
only Streamlit plumbing around the core (:mod:`geoapp`).
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from geoapp import datasource, export, i18n, launcher, policy, regions, scope
from geoapp.analysis import reports
from geoapp.store.errors import StoreError
from pages import cache, signin
from pages.text import lang, number, plain, problem, t, t_or

__all__ = [
    "PageStart",
    "as_text",
    "dataframe",
    "demo_banner",
    "figures",
    "filters",
    "guarded",
    "labelled",
    "lang",
    "language_switch",
    "missing_data",
    "number",
    "number_columns",
    "page_menu",
    "page_start",
    "plain",
    "policy_choice",
    "policy_mismatch",
    "policy_title",
    "problem",
    "region",
    "region_choice",
    "source",
    "t",
    "t_or",
    "view_params",
]

log = logging.getLogger("geoapp.ui")


def language_switch() -> None:
    labels = {"zh": "中文", "en": "English"}
    choice = st.sidebar.radio(
        i18n.t("lang.label"),
        i18n.LANGUAGES,
        index=i18n.LANGUAGES.index(lang()),
        format_func=labels.get,
        horizontal=True,
        key="lang_switch",
    )
    if choice != lang():
        _resend_choices()
        st.query_params["lang"] = choice
        st.rerun()


def _resend_choices() -> None:
    """Set every text choice of the session again, so that the next run sends it anew.

    A keyed selectbox keeps the label it shows when only its ``format_func`` changes
    (streamlit/streamlit#13788): after a switch, a map's 地图上标出 box would still read
    Chinese on the English screen. A value the script sets is sent with its new label.
    Only text values: buttons, uploads and editors (other types) may not be set, and
    the widgets of this run (the switch itself) refuse it.
    """
    for key in list(st.session_state.keys()):
        value = st.session_state[key]
        if isinstance(value, str):
            with contextlib.suppress(StreamlitAPIException):
                st.session_state[key] = value


def region() -> str:
    """The region of the URL (``?region=220000``; without it the region ``geoapp run
    --region`` started the server on), checked against the built regions.

    Anything else stops the page with a message before any file is opened or created.
    """
    value = st.query_params.get("region", launcher.dashboard_region())
    try:
        return regions.check_region(value)
    except regions.RegionError:
        names = scope.region_names()
        built = "、".join(f"{name} ({code})" for code, name in names.items())
        st.error(t("error.unknown_region").format(region=plain(value[:40]), built=plain(built)))
        st.stop()
        raise  # st.stop() unwinds with an exception; never reached


_REGION_BOUND = ("prefecture", "county", "policy")  # URL parameters of one region only
#: The URL parameters that make a view. Every sidebar link carries them (page_menu), so
#: the filters chosen on one page hold on the next, and a copied URL opens the same view.
VIEW_PARAMS = ("region", "prefecture", "county", "policy", "reading", "lang")


def view_params() -> dict[str, str]:
    """The view's parameters (:data:`VIEW_PARAMS`) of the URL, as they are now."""
    return {k: st.query_params[k] for k in VIEW_PARAMS if st.query_params.get(k)}


def page_menu(box, pages: list) -> None:
    """The sidebar's links to ``pages`` (``st.Page`` s), each carrying :func:`view_params`.

    ``box`` is an ``st.empty()`` at the top of the sidebar: the entry script draws the
    menu before the page runs (so that it is there whatever the page does) and again
    after, when the page's filters have put the user's latest choice into the URL.
    """
    params = view_params()
    with box.container():
        for page in pages:
            st.page_link(page, label=page.title, query_params=params)
        st.divider()


def _on_region_change() -> None:
    """A region chosen in the sidebar goes into the URL; that region's own filters and
    policy start afresh (another region's prefecture or policy means nothing there)."""
    chosen = st.session_state["filter_region"]
    _sync_param("region", None if chosen == launcher.dashboard_region() else chosen)
    for name in _REGION_BOUND:
        st.query_params.pop(name, None)
        st.session_state.pop(f"filter_{name}", None)


def region_choice() -> str:
    """The sidebar's choice among the built regions (by name), kept in the URL; the URL's
    region, checked as :func:`region` does. Shown only when more than one is built."""
    names = scope.region_names()
    if len(names) > 1:
        current = st.query_params.get("region", launcher.dashboard_region())
        if current in names:  # the URL decides; the widget only changes it
            st.session_state["filter_region"] = current
        st.sidebar.selectbox(
            t("filter.region"),
            list(names),
            format_func=lambda code: f"{names[code]} ({code})",
            key="filter_region",
            on_change=_on_region_change,
        )
    return region()


def source() -> datasource.DataSource:
    """The data source of the page's region (drawing the region choice)."""
    return cache._source(region_choice())


def policy_choice() -> tuple[str, str]:
    """Sidebar policy and reading (各县（市） literal or broad), kept in the URL.

    Every shipped policy is offered; without ``?policy=`` the region's own is chosen
    (:func:`geoapp.scope.default_policy`), the embedded default when none names it.
    """
    keys = policy.list_policies()
    default = scope.default_policy(region()) or policy.DEFAULT_POLICY
    current = st.query_params.get("policy", default)
    titles = {k: policy.load_policy(k).title_in(lang()) for k in keys}
    key = st.sidebar.selectbox(
        t("filter.policy"),
        keys,
        index=keys.index(current) if current in keys else keys.index(default),
        format_func=lambda k: titles[k],
        key="filter_policy",
    )
    current_reading = st.query_params.get("reading", "literal")
    # Labels resolved now, not when the widget formats them (AppTest formats outside a run).
    readings = {r: t(f"reading.{r}") for r in policy.READINGS}
    reading = st.sidebar.radio(
        t("filter.reading"),
        policy.READINGS,
        index=policy.READINGS.index(current_reading) if current_reading in policy.READINGS else 0,
        format_func=readings.get,
        key="filter_reading",
        help=t("filter.reading_help"),
    )
    _sync_param("policy", None if key == default else key)
    _sync_param("reading", None if reading == "literal" else reading)
    return key, reading


# --- filters, kept in the URL so that a link opens the same view -----------------
ALL = ""  # the filters' "all" option (a widget set to None would show no choice at all)


def filters(table: pd.DataFrame) -> tuple[str | None, str | None]:
    """Sidebar prefecture and county filters; returns (prefecture_adcode, adcode)."""
    prefs = table.drop_duplicates("prefecture_adcode").sort_values("prefecture_adcode")
    pref_names = dict(zip(prefs["prefecture_adcode"], prefs["prefecture"], strict=False))
    options = [ALL, *pref_names]
    everything = t("filter.all")  # resolved now: AppTest formats options outside a run
    current = st.query_params.get("prefecture")
    linked_county = st.query_params.get("county")
    if current not in pref_names and linked_county in set(table["adcode"]):
        # A link with only ?county= still shows that county's prefecture.
        current = table.loc[table["adcode"] == linked_county, "prefecture_adcode"].iloc[0]
    # The URL decides and the widgets only change it (_filter_to_url, run before the
    # script): a link to the same page with another county (the profile's list of
    # units) is then followed instead of undone by the widget's previous value.
    st.session_state["filter_prefecture"] = current if current in pref_names else ALL
    pref = (
        st.sidebar.selectbox(
            t("filter.prefecture"),
            options,
            format_func=lambda c: everything if c == ALL else pref_names[c],
            key="filter_prefecture",
            on_change=_filter_to_url,
            args=("prefecture",),
        )
        or None
    )
    rows = table if pref is None else table[table["prefecture_adcode"] == pref]
    names = dict(zip(rows["adcode"], rows["name"], strict=False))
    county_options = [ALL, *names]
    current_county = st.query_params.get("county")
    st.session_state["filter_county"] = current_county if current_county in names else ALL
    county = (
        st.sidebar.selectbox(
            t("filter.county"),
            county_options,
            format_func=lambda c: everything if c == ALL else names[c],
            key="filter_county",
            on_change=_filter_to_url,
            args=("county",),
        )
        or None
    )
    _sync_param("prefecture", pref)
    _sync_param("county", county)
    return pref, county


def _filter_to_url(name: str) -> None:
    """A filter chosen in the sidebar goes into the URL, which the next run reads."""
    _sync_param(name, st.session_state[f"filter_{name}"] or None)


def _sync_param(name: str, value: str | None) -> None:
    if value is None:
        st.query_params.pop(name, None)
    elif st.query_params.get(name) != value:
        st.query_params[name] = value


@dataclass(frozen=True)
class PageStart:
    """What a page knows once its title, filters and banner are drawn."""

    lang: str
    source: datasource.DataSource
    region: str
    info: datasource.SourceInfo
    table: pd.DataFrame
    prefecture: str | None
    county: str | None
    policy_key: str
    reading: str


def page_start(title_key: str, *, caption_key: str | None = None) -> PageStart:
    """The common head of a page: title, sidebar filters and policy, demo banner."""
    src = source()
    region = src.region_adcode
    source_info = cache.info(region)
    table = cache.county_table(region)
    st.title(t(title_key))
    if caption_key:
        st.caption(t(caption_key))
    pref, county = filters(table)
    policy_key, reading = policy_choice()
    demo_banner(source_info)
    missing_data(source_info, table)
    return PageStart(lang(), src, region, source_info, table, pref, county, policy_key, reading)


def demo_banner(source_info: datasource.SourceInfo) -> None:
    """Say when the data are demo data, and when the units' data come from different
    quarters (area-scoped reporting: 白山市 2026Q1, 长春市 2025Q4)."""
    if source_info.any_demo:
        st.warning(t("demo.banner"), icon="⚠️")
    if source_info.area_periods:
        areas = reports.area_periods_text(source_info.area_periods, lang())
        st.caption(plain(t("dates.areas").format(date=source_info.data_date, areas=areas)))


def missing_data(source_info: datasource.SourceInfo, table: pd.DataFrame) -> list[str]:
    """Say what a region that started empty still lacks: facilities, unemployed counts,
    a census table (``table``: :func:`pages.cache.county_table`). Returns the keys said."""
    lacking = {
        "empty.facilities": int(table["total"].fillna(0).sum()) == 0,
        "empty.unemployed": bool(table["unemployed_disabled"].isna().all()),
        "empty.population": bool(table["pop2020"].isna().all()),
    }
    said = [key for key, missing in lacking.items() if missing]
    for key in said:
        st.info(t(key).format(region=plain(source_info.region_name)), icon="ℹ️")
    return said


def guarded(page: Callable[[], None]) -> Callable[[], None]:
    """Run a page body; on any error log the traceback and show a plain message (its
    own one when the store cannot be read: a database server down, a damaged file).

    Also where sign-in is enforced: when viewing needs a sign-in
    (:data:`geoapp.settings.VIEW_REQUIRES_SIGNIN`) and nobody is signed in, the page shows
    only the sign-in form; otherwise the sidebar ends with the account box.
    """

    @functools.wraps(page)
    def run() -> None:
        if signin.view_locked():
            signin.sign_in_page()
            return
        try:
            page()
        except StoreError as exc:
            # The store's own words (English, with the file or server) go to the log; the
            # page says in its language that the data cannot be read now.
            log.error("page %s: the store failed: %s", page.__name__, exc)
            st.error(t("error.store"))
        except Exception as exc:
            # st.rerun() and st.stop() unwind with exceptions that must pass through.
            if type(exc).__name__ in {"RerunException", "StopException"}:
                raise
            log.exception("page %s failed", page.__name__)
            st.error(t("error.generic"))
        signin.account_sidebar()

    return run


def policy_mismatch(region: str, policy_key: str) -> str | None:
    """A message when the chosen policy is about another region than the data shown."""
    pol = policy.load_policy(policy_key)
    if scope.within(pol.region_adcode, region) or scope.within(region, pol.region_adcode):
        return None
    data_region = scope.region_names().get(region, region)
    key = "policy.other_region" if scope.policies_for(region) else "policy.none_for_region"
    return t(key).format(
        policy=pol.title_in(lang()), policy_region=pol.region_name, data_region=data_region
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


def policy_title(key: str) -> str:
    """The title of a shipped policy in the UI language (its ``title_en`` in English)."""
    return policy.load_policy(key).title_in(lang())


def policy_whole(key: str) -> str:
    """ "The whole region" of a policy's targets in the UI language: 全省, 全市, 全区..."""
    return i18n.whole_area(policy.load_policy(key).region_name, lang())


# --- figures: one format on every page (thousands separators, as few decimals as needed) ---
def _decimals(values: pd.Series) -> int | None:
    """Decimal places a numeric column needs (0 for integers, at most 6); None when the
    column is not numeric (text, booleans)."""
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return None
    if pd.api.types.is_integer_dtype(values):
        return 0
    finite = values.to_numpy(dtype=float, na_value=np.nan)
    finite = finite[np.isfinite(finite)]
    return next((d for d in range(7) if np.allclose(finite, finite.round(d), rtol=0, atol=1e-9)), 6)


def number_columns(frame: pd.DataFrame) -> dict[str, object]:
    """``column_config`` for the numeric columns of ``frame``: ``1,234`` or ``1,234.5``
    (a printf format with ``,``: the same separators in every browser language)."""
    config: dict[str, object] = {}
    for name in frame.columns:
        decimals = _decimals(frame[name])
        if decimals is not None:
            fmt = "%,d" if pd.api.types.is_integer_dtype(frame[name]) else f"%,.{decimals}f"
            config[str(name)] = st.column_config.NumberColumn(format=fmt)
    return config


def dataframe(data: pd.DataFrame, *, column_config: dict | None = None, **options):
    """``st.dataframe`` with the figures of :func:`number_columns`; a config given for a
    column (a width, a progress bar) wins."""
    config = number_columns(data)
    for name, given in (column_config or {}).items():
        ours = config.get(name)
        if isinstance(ours, dict) and isinstance(given, dict) and "type_config" not in given:
            given = {**given, "type_config": ours["type_config"]}  # a width or a pin only
        config[name] = given
    return st.dataframe(data, column_config=config, **options)


def _figure(value: object) -> object:
    """A number as :func:`number` writes it, with the decimals it has (at most 6); any
    other value as it is."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        return value
    decimals = next((d for d in range(7) if round(float(value), d) == float(value)), 6)
    return number(value, decimals)


def figures(frame: pd.DataFrame):
    """``frame`` for ``st.table``, which has no column formats: its numbers shown as
    :func:`number` writes them, empty cells as "—"; the values underneath stay numbers."""
    return frame.style.format(_figure, na_rep="—")


def as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` as text, numbers written as :func:`figures` shows them: for a table to
    transpose, whose columns would otherwise mix numbers and words."""
    return frame.astype(object).map(lambda v: "—" if pd.isna(v) else str(_figure(v)))
