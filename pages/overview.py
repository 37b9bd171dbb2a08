"""Map overview: counties by unemployed disabled people, facilities by type, gaps, a table.

On arrival the map marks every unit that fails a mandatory rule of the chosen policy
(hatched counties, dotted prefectures), with a one-line headline above it
(:mod:`geoapp.analysis.gap_marks`); the selector beside the map switches to the
aspirational rules, a single rule, or nothing (``?gap_rule=``). The map and the
headline fit in a 1366x768 (and a 1024x768) screen.

The map's own script depends only on the language, the basemap and the data, so it is
built once per session: the sidebar filter and the chosen gap rule travel in a small
feature group (``feature_group_to_add``) that streamlit-folium swaps without reloading
the map, and the map reports nothing but a click on a county
(``returned_objects=["last_object_clicked_tooltip"]``), so panning and zooming never
rerun the script.
"""

from __future__ import annotations

import contextlib
import html
import re
from dataclasses import dataclass
from pathlib import Path

import folium
import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException
from streamlit_folium import st_folium

from geoapp import display, facilities, i18n, policy
from geoapp.analysis import coverage, gap_marks
from layers import assets, overlays
from layers import counties as county_layers
from layers import facilities as facility_layers
from layers import map as base
from pages import cache, ui

PROFILE_PAGE = Path(__file__).resolve().parent / "profile.py"
MAP_KEY = "overview_map"
_CLICKED = "_overview_clicked_county"
_ADCODE = re.compile(r"(?<!\d)(\d{6})(?!\d)")
BASEMAP_CHOICES = ("none", *base.BASEMAPS)
NO_MARKS = "none"  # ?gap_rule=none: nothing marked; without ?gap_rule= the mandatory gaps
MAP_HEIGHT = 430
# Less room above and between the blocks, so that the headline and the whole map fit
# in a 768-pixel-high screen (1366 or 1024 wide). The map's frame then takes the
# height the screen leaves below the headline (330 px above it at most), within
# bounds; inside the frame the map fills it (_FILL_FRAME).
_PAGE_CSS = (
    "<style>"
    '[data-testid="stMainBlockContainer"]{padding:3.4rem 2.5rem 2rem}'
    '[data-testid="stMainBlockContainer"] h1{font-size:1.9rem;padding:0 0 .1rem}'
    '[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"]{gap:.55rem}'
    '[data-testid="stMainBlockContainer"] [data-testid="stAlertContainer"]'
    "{padding:.45rem .8rem}"
    '[data-testid="stMetricValue"]{font-size:1.55rem;line-height:1.25}'
    'iframe[title="streamlit_folium.st_folium"]'
    "{height:clamp(360px,calc(100vh - 330px),800px)!important}"
    # the markdown block pulls the next one up by the margin its paragraphs would have
    ".geoapp-headline{font-weight:600;font-size:1.02rem;line-height:1.45;margin-bottom:1rem}"
    "</style>"
)


# --- cached at the UI edge: the layers in the basemap's datum ------------------------
@st.cache_data(show_spinner=False, max_entries=4)
def _topology(region: str, datum: str) -> dict:
    topo = cache.topology(region)
    return topo if datum in ("wgs84", "cgcs2000") else display.topology_to_datum(topo, dst=datum)


@st.cache_data(show_spinner=False, max_entries=4)
def _points(key: tuple[str, int, int], datum: str):
    # Keyed on cache.data_key(): a new facility version is a new cache entry.
    points = cache.facility_points(key[0])
    if datum in ("wgs84", "cgcs2000"):
        return points
    return facility_layers.points_to_datum(points, dst=datum)


# --- a click on a county ---------------------------------------------------------------
def _on_map_change() -> None:
    """Runs only when the map's value changes, i.e. after a click on a county."""
    value = st.session_state.get(MAP_KEY) or {}
    found = _ADCODE.search(value.get("last_object_clicked_tooltip") or "")
    if found:
        st.session_state[_CLICKED] = found.group(1)


def _follow_click(table: pd.DataFrame) -> None:
    """Open the clicked county: its profile page if there is one, else filter to it.

    Runs before the sidebar filters are made, which then read the county from the URL.
    """
    adcode = st.session_state.pop(_CLICKED, None)
    rows = table[table["adcode"] == adcode]
    if rows.empty:
        return
    prefecture = str(rows["prefecture_adcode"].iloc[0])
    if PROFILE_PAGE.is_file():
        params = {k: st.query_params.get(k) for k in st.query_params}
        params.update(county=adcode, prefecture=prefecture)
        # the file may exist but not be a page of the app yet
        with contextlib.suppress(StreamlitAPIException):
            st.switch_page(
                str(PROFILE_PAGE.relative_to(PROFILE_PAGE.parent.parent)), query_params=params
            )
    # the sidebar filters follow the URL (pages.ui.filters)
    st.query_params["prefecture"] = prefecture
    st.query_params["county"] = adcode


# --- the chosen gap rule ---------------------------------------------------------------
def _rule_label(rule: policy.Rule, lang: str) -> str:
    return i18n.t("gap.option", lang).format(
        quote=rule.quote,
        clause=rule.clause,
        facility=i18n.t(f"facility_type.{rule.facility_type}", lang),
        level=i18n.t(f"level.{rule.level}", lang),
        value=rule.value,
        comparison=i18n.t(f"comparison.{rule.comparison}", lang),
        strength=i18n.t(f"gap.strength.{rule.strength}", lang),
    )


def _marked_choice(
    policy_key: str, lang: str, *, usable: bool = True
) -> tuple[str | None, policy.Rule | None]:
    """The selector of what the map marks, kept in the URL (``?gap_rule=``).

    Every mandatory rule by default, every aspirational rule, one county or prefecture
    rule, or nothing. Returns (selection for :mod:`geoapp.analysis.gap_marks` or None,
    the rule when one rule is chosen). ``usable=False`` (a policy about another region
    than the data): shown, but disabled, marking nothing.
    """
    pol = policy.load_policy(policy_key)
    rules = {r.id: r for r in pol.rules if r.level in ("county", "prefecture")} if usable else {}
    groups = gap_marks.STRENGTH_SELECTIONS if usable else ()
    options = [*groups, *(k for k in rules if k not in groups), NO_MARKS]
    current = st.query_params.get("gap_rule", options[0])
    # labels made now: a format_func may be called outside the script run
    labels = {
        NO_MARKS: i18n.t("gap.none", lang),
        **{g: i18n.t(f"marks.option.{g}", lang) for g in groups},
        **{k: _rule_label(r, lang) for k, r in rules.items()},
    }
    choice = st.selectbox(
        ui.t("marks.select"),
        options,
        index=options.index(current) if current in options else 0,
        format_func=labels.get,
        key="gap_rule",
        help=ui.t("marks.select_help"),
        disabled=not usable,
    )
    if choice == options[0]:
        st.query_params.pop("gap_rule", None)
    elif st.query_params.get("gap_rule") != choice:
        st.query_params["gap_rule"] = choice
    if choice == NO_MARKS:
        return None, None
    return choice, None if choice in groups else rules.get(choice)


def _gap_status(
    result: coverage.GapResult, rule: policy.Rule, table: pd.DataFrame, lang: str
) -> pd.Series:
    """Per county (indexed like ``table``): whether it fails the rule, in words."""
    rows = result.table[result.table["rule_id"] == rule.id].set_index("adcode")["shortfall"]
    if rule.level == "prefecture":
        short = table["prefecture_adcode"].map(rows)
        short_text, met_text = (
            i18n.t("gap.prefecture_short", lang),
            i18n.t("gap.prefecture_met", lang),
        )
    else:
        short = table["adcode"].map(rows)
        short_text, met_text = i18n.t("gap.short", lang), i18n.t("gap.met", lang)
    return short.map(
        lambda n: (
            i18n.t("gap.out_of_scope", lang)
            if pd.isna(n)
            else short_text.format(n=int(n))
            if n > 0
            else met_text
        )
    )


_FILL_FRAME = "<style>#map_div{height:100vh!important}</style>"


def _basemap_choice() -> tuple[str | None, str | None]:
    """The page's basemap selector; Tianditu asks for the user's key."""
    labels = {k: ui.t(f"basemap.{k}") for k in BASEMAP_CHOICES}
    choice = st.selectbox(
        ui.t("basemap.label"),
        BASEMAP_CHOICES,
        index=0,
        key="basemap",
        format_func=labels.get,
    )
    if choice == "none":
        return None, None
    key = None
    if base.BASEMAPS[choice].needs_key:
        key = st.text_input(
            ui.t("basemap.tianditu_key"),
            type="password",
            key="tianditu_key",
            help=ui.t("basemap.tianditu_key_help"),
        ).strip()
        if not base.valid_tianditu_key(key):
            st.info(ui.t("basemap.tianditu_key_missing"))
            return None, None
    return choice, key


def _county_map(
    region: str,
    table,
    datum: str,
    basemap: str | None,
    tk: str | None,
    lang: str,
    types: dict,
    labels: dict,
):
    """The map: counties by unemployed disabled people, prefecture borders, facilities."""
    topology = _topology(region, datum)
    kinds = i18n.label_map("unit_kind", lang)
    tooltip = ["adcode", "prefecture", "name", "unit_kind_label", "unemployed_disabled", "total"]
    aliases = [
        ui.t(f"col.{c}")
        for c in (
            "adcode",
            "prefecture",
            "county",
            "unit_kind",
            "unemployed_disabled",
            "facilities",
        )
    ]
    # A county without a count is null on the map (grey), not NaN, which JSON cannot carry.
    people = table["unemployed_disabled"].astype(object)
    topo_table = table.assign(
        unit_kind_label=table["unit_kind"].map(kinds),
        unemployed_disabled=people.where(people.notna(), None),
    )
    fmap = base.base_map(
        bounds=display.topology_bounds(topology),
        basemap=basemap,
        tianditu_key=tk,
        layers_label=ui.t("map.layers"),
        lean=True,
    )
    layer, breaks = county_layers.county_choropleth(
        topology,
        topo_table,
        value_col="unemployed_disabled",
        name=ui.t("col.unemployed_disabled"),
        tooltip_fields=tooltip,
        tooltip_aliases=aliases,
        fill_opacity=0.5 if basemap else 0.75,
    )
    fmap.get_root().header.add_child(folium.Element(_FILL_FRAME))
    layer.add_to(fmap)
    county_layers.prefecture_borders(name=ui.t("filter.prefecture"), counties=layer).add_to(fmap)
    points = _points(cache.data_key(region), datum)
    demo = ui.t("map.demo_popup")
    for element in facility_layers.facility_layers(points, types, labels=labels, demo_label=demo):
        element.add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    return fmap, breaks


def _map_notes(basemap: str | None, datum: str) -> str:
    notes = [
        ui.t("map.caption"),
        ui.t("map.click_profile" if PROFILE_PAGE.is_file() else "map.click_filter"),
    ]
    if basemap:
        notes.append(ui.t("basemap.needs_internet").format(name=ui.t(f"basemap.{basemap}")))
        if datum == "gcj02":
            notes.append(ui.t("basemap.amap_shift"))
    return " ".join(notes)


@dataclass(frozen=True)
class _Marked:
    """What the map marks: the selection, its rule if one, the gap result, the units."""

    selection: str
    rule: policy.Rule | None
    result: coverage.GapResult
    marks: gap_marks.GapMarks

    def label(self, lang: str) -> str:
        if self.rule is not None:
            return _rule_label(self.rule, lang)
        return i18n.t(f"marks.option.{self.selection}", lang)


def _marked(region: str, policy_key: str, reading: str, choice) -> _Marked | None:
    selection, rule = choice
    if selection is None:
        return None
    result = cache.gap_result(region, policy_key, reading)
    return _Marked(selection, rule, result, gap_marks.gap_marks(result, selection))


def _headline(marked: _Marked | None, table: pd.DataFrame, pref, county, info, lang) -> None:
    """One line above the map: how many units of the view fail, what they miss."""
    if marked is None:
        return
    names = dict(zip(table["adcode"], table["name"], strict=False)) | dict(
        zip(table["prefecture_adcode"], table["prefecture"], strict=False)
    )
    scope = names.get(county or pref or "", info.region_name)
    marks = gap_marks.gap_marks(marked.result, marked.selection, prefecture=pref, county=county)
    text = gap_marks.gap_headline(marks, scope=scope, lang=lang)
    swatch = overlays.gap_swatch_css() if marks.units else "display:none"
    st.markdown(
        f'<div class="geoapp-headline" role="status"><span style="{swatch};margin-right:.5em">'
        f"</span>{html.escape(text)}</div>",
        unsafe_allow_html=True,
    )


def _county_list(view, marked: _Marked | None, labels: dict, reading: str, lang: str) -> None:
    """The map's text alternative: every county of the view with its figures."""
    st.subheader(ui.t("table.caption"))
    kinds = i18n.label_map("unit_kind", lang)
    columns = {
        "adcode": ui.t("col.adcode"),
        "prefecture": ui.t("col.prefecture"),
        "name": ui.t("col.county"),
        **({"gap_rule": ui.t("col.gap_rule")} if marked is not None else {}),
        "unit_kind": ui.t("col.unit_kind"),
        "area_km2": ui.t("col.area_km2"),
        "pop2020": ui.t("col.pop2020"),
        "unemployed_disabled": ui.t("col.unemployed_disabled"),
        **{k: labels[k] for k in facilities.FACILITY_TYPES},
        "total": ui.t("col.facilities"),
    }
    shown = view.assign(unit_kind=view["unit_kind"].map(kinds))
    if marked is not None:
        status = (
            _gap_status(marked.result, marked.rule, view, lang)
            if marked.rule is not None
            else gap_marks.unit_gap_text(marked.result, marked.selection, view, lang=lang)
        )
        shown = shown.assign(gap_rule=status)
    ui.dataframe(shown[list(columns)].rename(columns=columns), hide_index=True, width="stretch")
    if marked is not None:
        st.caption(
            ui.t("marks.table_note").format(
                what=marked.label(lang), reading=ui.t(f"reading.{reading}")
            )
        )


def _metrics(view: pd.DataFrame, info) -> None:
    """Units, facilities and unemployed people of the view ("no data yet" without counts)."""
    c1, c2, c3 = st.columns(3)
    c1.metric(ui.t("metric.counties"), len(view))
    c2.metric(ui.t("metric.facilities"), ui.number(view["total"].sum()))
    people = view["unemployed_disabled"]
    c3.metric(
        ui.t("metric.unemployed" if info.unemployed_demo else "metric.unemployed_real"),
        ui.t("metric.unknown") if people.isna().all() else f"{int(people.sum()):,}",
    )


@ui.guarded
def main() -> None:
    lang = ui.lang()
    src = ui.source()
    region = src.region_adcode
    info = cache.info(region)
    table = cache.county_table(region)
    _follow_click(table)

    st.html(_PAGE_CSS)
    st.title(ui.t("app.title"))
    st.caption(ui.t("app.subtitle"))
    ui.demo_banner(info)
    ui.missing_data(info, table)
    pref, county = ui.filters(table)
    policy_key, reading = ui.policy_choice()
    view = table
    if pref:
        view = view[view["prefecture_adcode"] == pref]
    if county:
        view = view[view["adcode"] == county]

    _metrics(view, info)
    mismatch = ui.policy_mismatch(region, policy_key)
    headline = st.container()  # filled once the selector beside the map has been read
    map_col, side_col = st.columns([3.4, 1])
    with side_col:
        marked = _marked(
            region, policy_key, reading, _marked_choice(policy_key, lang, usable=mismatch is None)
        )
        legend = st.container()
        basemap, tk = _basemap_choice()
    with headline:
        if mismatch:
            st.info(mismatch)
        _headline(marked, table, pref, county, info, lang)

    datum = base.BASEMAPS[basemap].datum if basemap else "wgs84"
    types = facilities.types_in(lang)
    labels = {k: i18n.t(f"facility_type.{k}", lang) for k in types}
    fmap, breaks = _county_map(region, table, datum, basemap, tk, lang, types, labels)
    with map_col:
        st_folium(
            assets.localize(fmap),
            key=MAP_KEY,
            height=MAP_HEIGHT,
            use_container_width=True,
            returned_objects=["last_object_clicked_tooltip"],
            on_change=_on_map_change,
            feature_group_to_add=assets.localize(_dynamic_group(marked, pref, county)),
        )
        st.caption(_map_notes(basemap, datum))
    with legend:
        _legend(breaks, types, labels, marked=marked, reading=reading, focus=bool(pref or county))
    _county_list(view, marked, labels, reading, lang)


def _dynamic_group(marked: _Marked | None, pref: str | None, county: str | None):
    """What the filter and the marks change: swapped in place, the map is not reloaded."""
    dynamic = folium.FeatureGroup(name="highlight", control=False)
    marks = marked.marks if marked is not None else None
    overlays.Highlight(
        gaps=marks.counties if marks else (),
        prefecture_gaps=marks.prefectures if marks else (),
        focus=[county] if county else [pref] if pref else [],
        focus_layer="counties" if county else "prefectures",
    ).add_to(dynamic)
    return dynamic


def _swatch(style: str, text: str, inner: str = "") -> str:
    return (
        f'<div style="margin:.15em 0"><span style="{style};margin-right:.45em">{html.escape(inner)}'
        f"</span>{html.escape(text)}</div>"
    )


def _block(title: str, rows: list[str]) -> str:
    """A legend block: its title in bold, then its rows (one markdown element, not many)."""
    return "\n\n".join(filter(None, [f"**{title}**" if title else "", "\n".join(rows)]))


def _legend(breaks, types, labels, *, marked: _Marked | None, reading: str, focus: bool) -> None:
    """The map's legend as text beside it: every symbol with its meaning in words."""
    if marked is not None:
        marks = marked.marks
        rows = []
        if marks.counties or not marks.prefectures:
            rows.append(
                _swatch(
                    overlays.gap_swatch_css(),
                    ui.t("marks.legend_county").format(n=len(marks.counties)),
                )
            )
        if marks.prefectures:
            rows.append(
                _swatch(
                    overlays.prefecture_gap_swatch_css(),
                    ui.t("marks.legend_prefecture").format(n=len(marks.prefectures)),
                )
            )
        st.markdown(_block(ui.t("marks.legend_title"), rows), unsafe_allow_html=True)
        st.caption(ui.t(f"reading.{reading}"))
    focus_row = _swatch(
        "display:inline-block;width:1.2em;height:1em;vertical-align:-.1em;border:3px solid #000",
        ui.t("legend.focus"),
    )
    people = [
        _swatch(
            f"display:inline-block;width:1.2em;height:1em;vertical-align:-.1em;"
            f"background:{colour};border:1px solid #555",
            label,
        )
        for colour, label in county_layers.legend_rows(breaks)
    ]
    kinds = [
        _swatch(
            f"display:inline-block;width:1.4em;height:1.4em;line-height:1.4em;border-radius:.7em;"
            f"background:{ftype.colour};color:#fff;text-align:center;font-weight:bold;"
            f"font-size:.8em;vertical-align:middle",
            labels[key],
            inner=ftype.mark,
        )
        for key, ftype in types.items()
    ]
    blocks = [
        _block("", [focus_row] if focus else []),
        _block(ui.t("col.unemployed_disabled"), people),
        _block(ui.t("metric.facilities"), kinds),
    ]
    st.markdown("\n\n".join(filter(None, blocks)), unsafe_allow_html=True)


main()
