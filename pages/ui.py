"""What every page shares: language, filters in the URL, cached data, error boundary.

The only UI module with logic of its own; it holds no domain logic, only Streamlit
plumbing around the core (`geoapp`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import streamlit as st

from geoapp import (
    auth,
    coverage,
    datasource,
    export,
    facilities,
    i18n,
    policy,
    profile,
    regions,
    reports,
)

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


# --- data, cached at the UI edge -------------------------------------------------
# Boundaries are keyed on the region code; everything read from the versioned store is
# keyed on data_key() too (region, facility version, count version), so that after an
# upload or a rollback no session is served the old version from the cache.
@st.cache_resource
def _source(region: str) -> datasource.DataSource:
    return datasource.default_source(region)


def region() -> str:
    """The region of the URL (``?region=220000``), checked against the built regions.

    Anything else stops the page with a message before any file is opened or created.
    """
    value = st.query_params.get("region", regions.DEFAULT_REGION)
    try:
        return regions.check_region(value)
    except regions.RegionError:
        built = ", ".join(regions.built_regions())
        st.error(t("error.unknown_region").format(region=plain(value[:40]), built=built))
        st.stop()
        raise  # st.stop() unwinds with an exception; never reached


def source() -> datasource.DataSource:
    return _source(region())


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+-.!|~$:="})


def plain(text: object) -> str:
    """``text`` for a Streamlit markdown string: shown as typed, never as markup.

    Streamlit renders the text of ``st.error``, ``st.caption``, ``st.markdown`` ... as
    Markdown (links, images, ``:material/…:`` icons, LaTeX in ``$``); a backslash before
    every punctuation mark Markdown reads keeps text from files, forms and URLs literal.
    """
    return str(text).translate(_MARKDOWN)


def data_key(region: str | None = None) -> tuple[str, int, int]:
    """``(region, facilities version, unemployed version)``: the key of every cached read
    of the store (versions 0 for the read-only embedded data)."""
    code = region or source().region_adcode
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
    return base.merge(pop, on="adcode", how="left").merge(unemployed, on="adcode", how="left").merge(
        counts, on="adcode", how="left"
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
        policy_key, counties=src.counties(), facilities=src.facilities(),
        unemployed=src.unemployed(), reading=reading,
    )


def gap_result(region: str, policy_key: str, reading: str) -> coverage.GapResult:
    """The region's gaps for a policy and reading (the whole region; filter afterwards)."""
    return _gap_result(data_key(region), policy_key, reading)


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
    source_info = info(region)
    table = county_table(region)
    st.title(t(title_key))
    if caption_key:
        st.caption(t(caption_key))
    pref, county = filters(table)
    policy_key, reading = policy_choice()
    demo_banner(source_info)
    return PageStart(lang(), src, region, source_info, table, pref, county, policy_key, reading)


def demo_banner(source_info: datasource.SourceInfo) -> None:
    if source_info.any_demo:
        st.warning(t("demo.banner"), icon="⚠️")


def guarded(page: Callable[[], None]) -> Callable[[], None]:
    """Run a page body; on any error log the traceback and show a plain message.

    Also where sign-in is enforced: when viewing needs a sign-in
    (:data:`geoapp.settings.VIEW_REQUIRES_SIGNIN`) and nobody is signed in, the page shows
    only the sign-in form; otherwise the sidebar ends with the account box.
    """

    @functools.wraps(page)
    def run() -> None:
        if view_locked():
            sign_in_page()
            return
        try:
            page()
        except Exception as exc:
            # st.rerun() and st.stop() unwind with exceptions that must pass through.
            if type(exc).__name__ in {"RerunException", "StopException"}:
                raise
            log.exception("page %s failed", page.__name__)
            st.error(t("error.generic"))
        account_sidebar()

    return run



# --- gap lists, progress and county profiles (pages gaps, progress, profile) ----------
@st.cache_data(show_spinner=False)
def _gap_list(key: tuple[str, int, int], policy_key: str, reading: str, prefecture: str | None,
              county: str | None, all_rows: bool) -> reports.GapList:
    return reports.build_gap_list(
        _source(key[0]), policy=policy_key, reading=reading, prefecture=prefecture,
        county=county, all_rows=all_rows,
    )


def gap_list(region: str, policy_key: str, reading: str, prefecture: str | None,
             county: str | None, all_rows: bool) -> reports.GapList:
    """The gap list exactly as ``geoapp gaps`` builds it for the same options."""
    return _gap_list(data_key(region), policy_key, reading, prefecture, county, all_rows)


def gap_list_file(region: str, gaps: reports.GapList, fmt: str) -> Callable[[], bytes]:
    """A download button's data: the CLI's file, built only when the button is clicked."""
    language = lang()
    return lambda: reports.gap_list_file(gaps, fmt, source=_source(region), lang=language)


@st.cache_data(show_spinner=False)
def _prefecture_summary(key: tuple[str, int, int]) -> pd.DataFrame:
    src = _source(key[0])
    return reports.prefecture_summary(src.counties(), src.facilities(), src.unemployed())


def prefecture_summary(region: str) -> pd.DataFrame:
    return _prefecture_summary(data_key(region))


@st.cache_data(show_spinner=False)
def _county_profile(key: tuple[str, int, int], adcode: str, policy_key: str,
                    reading: str) -> profile.CountyProfile:
    region = key[0]
    src = _source(region)
    counties_ = src.counties()
    return profile.county_profile(
        adcode, counties=counties_, facilities=src.facilities(), unemployed=src.unemployed(),
        population=src.population(), gap_result=gap_result(region, policy_key, reading),
        seats=regions.county_seats(counties_),
    )


def county_profile(region: str, adcode: str, policy_key: str, reading: str) -> profile.CountyProfile:
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
def _version_gap_diff(key: tuple[str, int, int], a: int, b: int, policy_key: str,
                      reading: str) -> pd.DataFrame:
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


# --- sign-in: who is using this session -------------------------------------------------
# The verified User lives in this session's state only (never in st.cache_*, which is
# shared between sessions); geoapp.auth.verify made it, so the store trusts it.
USER_KEY = "geoapp_user"
_REVOKED_KEY = "geoapp_user_revoked"


def current_user() -> auth.User | None:
    """This session's User; signed out here if its account was since deleted or changed."""
    user = st.session_state.get(USER_KEY)
    if not isinstance(user, auth.User) or not user.signed_in:
        return None
    try:
        auth.require_signed_in(user)
    except PermissionError as exc:
        log.warning("signing %r out: %s", user.name, exc)
        st.session_state.pop(USER_KEY, None)
        st.session_state[_REVOKED_KEY] = True
        return None
    return user


def view_locked() -> bool:
    """Whether this session must sign in before it sees anything (VIEW_REQUIRES_SIGNIN)."""
    return not auth.can_view(current_user())


def _client_address() -> str | None:
    # None on localhost; spoofable behind a careless proxy, so only the per-client limit
    # rests on it, never the per-name one.
    address = getattr(st.context, "ip_address", None)
    return address if isinstance(address, str) else None


def _sign_in(name: str, password: str) -> str | None:
    """Sign in and rerun; or the message to show when that failed."""
    try:
        user = auth.verify(name.strip(), password, client=_client_address())
    except auth.SignInThrottled as exc:
        return t("signin.throttled").format(minutes=exc.minutes, time=f"{exc.until:%H:%M}")
    except auth.AccountsError:
        log.exception("accounts file unusable")
        user = None
    if user is None:
        return t("signin.failed")
    st.session_state[USER_KEY] = user
    st.session_state.pop(_REVOKED_KEY, None)
    st.rerun()
    return None  # pragma: no cover - st.rerun() does not return


def sign_in_form(*, where: str = "sidebar") -> None:
    """The sign-in form (name, password); on success the User goes into session state."""
    box = st.sidebar if where == "sidebar" else st
    with box.form("signin_form", clear_on_submit=True, border=where == "main"):
        name = st.text_input(t("signin.name"), key="signin_name", autocomplete="username")
        password = st.text_input(t("signin.password"), type="password", key="signin_password",
                                 autocomplete="current-password")
        submitted = st.form_submit_button(t("signin.submit"), key="signin_submit")
    failed = _sign_in(name, password) if submitted else None
    if failed:
        box.error(failed)


def account_sidebar() -> None:
    """Who is signed in and a sign-out button; or the sign-in form, folded away."""
    user = current_user()
    if user is not None:
        role = t(f"role.{user.role}")
        st.sidebar.caption(t("signin.as").format(name=user.name, role=role))
        if st.sidebar.button(t("signin.sign_out"), key="signout"):
            st.session_state.pop(USER_KEY, None)
            st.rerun()
        return
    revoked = st.session_state.get(_REVOKED_KEY, False)
    if revoked:
        st.sidebar.warning(t("signin.revoked"))
    with st.sidebar.expander(t("signin.title"), expanded=revoked):
        sign_in_form(where="expander")


def sign_in_page() -> None:
    """What a locked dashboard shows instead of any page: the title and the sign-in form."""
    st.title(t("app.title"))
    st.info(t("signin.required"))
    if st.session_state.get(_REVOKED_KEY, False):
        st.warning(t("signin.revoked"))
    sign_in_form(where="main")
