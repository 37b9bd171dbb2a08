"""Siting: distance to the nearest facility, access per county, and where new sites should go.

Scope (decided): the distance map and the access table are computed for the whole
region and then filtered to the sidebar's prefecture/county, exactly as
``geoapp access --city`` filters its table. The site suggestion runs on the *scope*:
the whole region without a prefecture filter, else the chosen prefecture (its
counties, its demand points and its candidate sites; existing facilities anywhere
still count as covering, and the prefecture's mandatory gaps are closed first). A
county filter narrows the tables and the map, not the run (a county planner still
sees where the prefecture's sites go). Either way a mandatory gap of the scope is
closed first when k allows it.
"""

from __future__ import annotations

import html

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from streamlit_folium import st_folium

from geoapp import export, facilities, i18n
from geoapp.analysis import access, siting
from layers import assets, safe
from layers import map as base
from pages import cache, ui

MAP_HEIGHT = 560
# ColorBrewer YlOrRd, 5 classes: sequential and safe for colour-vision deficiencies.
DIST_PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_FACILITY = "#bdbdbd"
SITE_COLOUR = "#08306b"
CANDIDATE_KM = 20.0  # grid candidates: the CLI's --candidate-km default
KINDS = ("both", "seats", "grid")
DOWNLOADS = ("csv", "xlsx", "geojson")


# --- cached at the UI edge, keyed on small hashable arguments ---------------------------
def _scope_inputs(region: str, scope: str | None):
    src = cache._source(region)
    counties = src.counties()
    unemployed = src.unemployed()
    if scope:
        counties = counties[counties["prefecture_adcode"] == scope]
        unemployed = unemployed[unemployed["adcode"].isin(counties["adcode"])]
    return src, counties, unemployed


@st.cache_data(show_spinner=False, max_entries=8)
def _demand(key: tuple[str, int, int], scope: str | None, cell_km: float) -> gpd.GeoDataFrame:
    _, counties, unemployed = _scope_inputs(key[0], scope)
    return access.demand_grid(counties, unemployed, cell_km=cell_km)


@st.cache_data(show_spinner=False, max_entries=16)
def _distances(key: tuple[str, int, int], ftype: str, cell_km: float, circuity: float) -> pd.Series:
    fac = access.located(cache._source(key[0]).facilities())
    return access.nearest_distance_km(
        _demand(key, None, cell_km), fac[fac["facility_type"] == ftype], circuity=circuity
    )


@st.cache_data(show_spinner=False, max_entries=16)
def _access(
    key: tuple[str, int, int], ftype: str, radius_km: float, cell_km: float, circuity: float
) -> pd.DataFrame:
    src = cache._source(key[0])
    return access.county_access(
        _demand(key, None, cell_km),
        src.facilities(),
        src.counties(),
        radius_km=radius_km,
        circuity=circuity,
        facility_types=[ftype],
    )


@st.cache_data(show_spinner=False, max_entries=16)
def _suggest(
    key: tuple[str, int, int],
    scope: str | None,
    ftype: str,
    radius_km: float,
    cell_km: float,
    circuity: float,
    k: int,
    kind: str,
    policy_key: str,
    reading: str,
) -> siting.SitingResult:
    src, counties, unemployed = _scope_inputs(key[0], scope)
    demand = _demand(key, scope, cell_km)
    cands = siting.candidates(kind, counties=counties, demand=demand, cell_km=CANDIDATE_KM)
    return siting.suggest_sites(
        ftype,
        k,
        radius_km=radius_km,
        policy=policy_key,
        counties=counties,
        facilities=src.facilities(),
        unemployed=unemployed,
        demand=demand,
        candidates=cands,
        reading=reading,
        circuity=circuity,
    )


@st.cache_data(show_spinner=False, max_entries=2)
def _outlines(region: str) -> dict:
    layer = cache._source(region).display_layer("counties")[["adcode", "geometry"]]
    return layer.__geo_interface__


# --- pieces ------------------------------------------------------------------------------
def _breaks(radius_km: float) -> list[float]:
    return [radius_km / 2, radius_km, 1.5 * radius_km, 2 * radius_km, np.inf]


def _class(dist: np.ndarray, breaks: list[float]) -> np.ndarray:
    return np.searchsorted(breaks, dist, side="left").clip(0, len(breaks) - 1)


def _class_labels(breaks: list[float]) -> list[str]:
    out, low = [], 0.0
    for high in breaks:
        out.append(f"> {low:g} km" if np.isinf(high) else f"{low:g} – {high:g} km")
        low = high
    return out


def _dot_radius(demand: np.ndarray) -> np.ndarray:
    top = float(np.nanmax(demand)) if len(demand) and np.nanmax(demand) > 0 else 1.0
    return np.round(1.5 + 4.5 * np.sqrt(np.clip(demand, 0, None) / top), 1)


def _site_icon(order: int) -> folium.DivIcon:
    return folium.DivIcon(
        html=(
            f'<div style="width:24px;height:24px;border-radius:12px;background:{SITE_COLOUR};'
            "color:#fff;border:2px solid #fff;box-shadow:0 0 0 1px #000;text-align:center;"
            f'font:bold 13px/24px sans-serif">{order}</div>'
        ),
        icon_size=(24, 24),
        icon_anchor=(12, 12),
    )


def _demand_layer(demand, dist, view_codes, breaks) -> folium.GeoJson:
    """Demand points: colour = distance class, size = people (one GeoJSON layer)."""
    shown = demand["adcode"].isin(view_codes).to_numpy()
    d = dist.to_numpy()[shown]
    pts = demand[shown]
    cls = _class(np.nan_to_num(d, nan=np.inf), breaks)
    colours = np.where(np.isnan(d), NO_FACILITY, np.array(DIST_PALETTE)[cls])
    radii = _dot_radius(pts["demand"].to_numpy(float))
    xy = np.round(np.column_stack([pts.geometry.x, pts.geometry.y]), 4)
    km_label, people_label = ui.t("siting.col.nearest_km"), ui.t("siting.col.people")
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
            "properties": {
                "c": c,
                "r": float(r),
                "t": f"{km_label}: {'—' if np.isnan(k) else f'{k:.1f}'} · {people_label}: {p:.1f}",
            },
        }
        for (x, y), c, r, k, p in zip(
            xy, colours, radii, d, pts["demand"].to_numpy(float), strict=False
        )
    ]
    return folium.GeoJson(
        {"type": "FeatureCollection", "features": features},
        name=ui.t("siting.layer_demand"),
        marker=folium.CircleMarker(
            radius=3, weight=0.4, color="#444", fill=True, fill_opacity=0.85
        ),
        style_function=lambda f: {
            "fillColor": f["properties"]["c"],
            "radius": f["properties"]["r"],
        },
    ).add_child(safe.FeatureTooltip(["t"], labels=False))


def _rings_layer(existing, radius_km: float, ring_m: float) -> folium.FeatureGroup:
    """Catchments of the existing facilities (radius after circuity, as straight line)."""
    rings = folium.FeatureGroup(name=ui.t("siting.legend_ring").format(r=radius_km))
    for row in existing.itertuples(index=False):
        pt = row.geometry
        folium.Circle(
            [pt.y, pt.x],
            radius=ring_m,
            color="#225ea8",
            weight=1,
            opacity=0.6,
            fill=False,
            interactive=False,
        ).add_to(rings)
        folium.CircleMarker(
            [pt.y, pt.x],
            radius=3,
            color="#000",
            weight=1,
            fill=True,
            fill_color="#000",
            fill_opacity=1,
        ).add_child(safe.TextTooltip(row.name)).add_to(rings)
    return rings


def _sites_layer(sites, ring_m: float) -> folium.FeatureGroup:
    """The suggested sites: numbered markers with their catchment."""
    group = folium.FeatureGroup(name=ui.t("siting.legend_site"))
    for row in sites.itertuples(index=False):
        folium.Circle(
            [row.lat, row.lon],
            radius=ring_m,
            color=SITE_COLOUR,
            weight=2,
            dash_array="6 4",
            fill=False,
            interactive=False,
        ).add_to(group)
        tip = f"{row.order}. {row.county} · +{row.newly_covered:,.0f}"
        folium.Marker([row.lat, row.lon], icon=_site_icon(int(row.order))).add_child(
            safe.TextTooltip(tip)
        ).add_to(group)
    return group


def _build_map(
    region, view_codes, demand, dist, existing, radius_km, circuity, breaks, sites, labels
) -> folium.Map:
    counties = cache.counties(region)
    fmap = base.base_map(
        counties, focus=set(view_codes), layers_label=ui.t("map.layers"), lean=True
    )
    folium.GeoJson(
        _outlines(region),
        name=ui.t("col.county"),
        control=False,
        style_function=lambda f: {"color": "#666", "weight": 0.8, "fill": False},
        interactive=False,
    ).add_to(fmap)
    _demand_layer(demand, dist, view_codes, breaks).add_to(fmap)
    ring_m = radius_km * 1000.0 / circuity
    _rings_layer(existing, radius_km, ring_m).add_to(fmap)
    if sites is not None and len(sites):
        _sites_layer(sites, ring_m).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)
    return fmap


def _swatch(style: str, text: str, inner: str = "") -> None:
    st.markdown(
        f'<div style="margin:.15em 0"><span style="{style};margin-right:.45em">{inner}</span>'
        f"{html.escape(text)}</div>",
        unsafe_allow_html=True,
    )


def _legend(type_label: str, breaks: list[float], radius_km: float, has_sites: bool) -> None:
    st.markdown(f"**{ui.t('siting.legend_distance').format(type=type_label)}**")
    for colour, label in zip(DIST_PALETTE, _class_labels(breaks), strict=True):
        _swatch(
            f"display:inline-block;width:1em;height:1em;border-radius:.5em;background:{colour};"
            "border:1px solid #444;vertical-align:-.1em",
            label,
        )
    _swatch(
        f"display:inline-block;width:1em;height:1em;border-radius:.5em;background:{NO_FACILITY};"
        "border:1px solid #444;vertical-align:-.1em",
        ui.t("siting.legend_none"),
    )
    st.caption(ui.t("siting.legend_size"))
    _swatch(
        "display:inline-block;width:1.1em;height:1.1em;border-radius:.55em;"
        "border:1.5px solid #225ea8;vertical-align:-.15em",
        ui.t("siting.legend_ring").format(r=radius_km),
    )
    _swatch(
        "display:inline-block;width:.5em;height:.5em;border-radius:.25em;background:#000;"
        "vertical-align:.05em",
        ui.t("siting.legend_existing"),
    )
    if has_sites:
        _swatch(
            f"display:inline-block;width:1.4em;height:1.4em;line-height:1.4em;border-radius:.7em;"
            f"background:{SITE_COLOUR};color:#fff;text-align:center;font-weight:bold;"
            "font-size:.8em;vertical-align:middle",
            ui.t("siting.legend_site"),
            inner="1",
        )


def _access_table(table: pd.DataFrame) -> pd.DataFrame:
    cols = {
        "county": ui.t("col.county"),
        "prefecture": ui.t("col.prefecture"),
        "people": ui.t("siting.col.people"),
        "within_radius": ui.t("siting.col.within_radius"),
        "share_within": ui.t("siting.col.share_within"),
        "mean_km": ui.t("siting.col.mean_km"),
        "p90_km": ui.t("siting.col.p90_km"),
        "fca_per_10k": ui.t("siting.col.fca_per_10k"),
        "adcode": ui.t("col.adcode"),
    }
    out = table.assign(share_within=table["share_within"] * 100).round(
        {
            "people": 0,
            "within_radius": 0,
            "share_within": 1,
            "mean_km": 1,
            "p90_km": 1,
            "fca_per_10k": 2,
        }
    )
    return out[list(cols)].rename(columns=cols)


def _closed_units(closes_gap: str) -> str:
    """The units a site closes a gap in, by name and code: ``closes_gap`` is written
    "rule adcode unit; …" for the CSV, the rule being of the run's type in every part."""
    parts = [part.split(" ", 2) for part in str(closes_gap).split("; ") if part.count(" ") >= 2]
    unit = ui.t("siting.closed_unit")
    return ui.t("note.separator").join(unit.format(unit=u, adcode=a) for _, a, u in parts)


def _sites_table(sites: pd.DataFrame) -> pd.DataFrame:
    cols = {
        "order": ui.t("siting.col.order"),
        "county": ui.t("col.county"),
        "step": ui.t("siting.col.step"),
        "closes_gap": ui.t("siting.col.closes_gap"),
        "newly_covered": ui.t("siting.col.newly_covered"),
        "cumulative_covered": ui.t("siting.col.cumulative_covered"),
        "lon": ui.t("siting.col.lon"),
        "lat": ui.t("siting.col.lat"),
        "adcode": ui.t("col.adcode"),
    }
    out = sites.assign(
        step=sites["step"].map(lambda s: ui.t(f"siting.step.{s}")),
        closes_gap=sites["closes_gap"].map(_closed_units),
    )
    return pd.DataFrame(out[list(cols)]).rename(columns=cols)


def _curve_chart(curve: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for col, name, dash in (
        ("covered_optimal", ui.t("siting.curve_optimal"), "solid"),
        ("covered_greedy", ui.t("siting.curve_greedy"), "dot"),
    ):
        fig.add_trace(
            go.Scatter(
                x=curve["k"],
                y=curve[col],
                name=name,
                mode="lines+markers+text",
                line={"dash": dash, "width": 2},
                # Greedy numbers only where they differ (identical curves would print twice).
                text=[
                    f"{v:,.0f}" if col == "covered_optimal" or abs(v - o) >= 0.5 else ""
                    for v, o in zip(curve[col], curve["covered_optimal"], strict=True)
                ],
                textposition="top center" if col == "covered_optimal" else "bottom center",
            )
        )
    fig.update_layout(
        height=320,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title=ui.t("siting.curve_x"),
        yaxis_title=ui.t("siting.curve_y"),
        xaxis={"dtick": 1},
        legend={"orientation": "h", "y": 1.12},
    )
    return fig


def _inputs(type_labels: dict) -> tuple[str, float, float, float, int, str]:
    """The run's inputs: facility type, radius, circuity, grid cell, k, candidates."""
    kind_labels = {k: ui.t(f"siting.kind.{k}") for k in KINDS}
    c1, c2, c3, c4, c5, c6 = st.columns([3, 1.2, 1.2, 1.2, 1, 1.6])
    ftype = c1.selectbox(
        ui.t("siting.type"),
        list(facilities.FACILITY_TYPES),
        index=list(facilities.FACILITY_TYPES).index("auxiliary_institution"),
        format_func=type_labels.get,
        key="siting_type",
    )
    radius = float(
        c2.number_input(
            ui.t("siting.radius"),
            min_value=0.1,
            max_value=300.0,
            value=30.0,
            step=10.0,
            format="%.1f",
            key="siting_radius",
            help=ui.t("siting.radius_help"),
        )
    )
    circuity = float(
        c3.number_input(
            ui.t("siting.circuity"),
            min_value=1.0,
            max_value=3.0,
            value=1.0,
            step=0.1,
            format="%.2f",
            key="siting_circuity",
            help=ui.t("siting.circuity_help"),
        )
    )
    cell = float(
        c4.selectbox(
            ui.t("siting.cell"),
            [5.0, 10.0],
            index=0,
            key="siting_cell",
            format_func=lambda v: f"{v:g} km",
        )
    )
    k = int(
        c5.number_input(
            ui.t("siting.k"), min_value=0, max_value=20, value=3, step=1, key="siting_k"
        )
    )
    kind = c6.selectbox(
        ui.t("siting.kind"), KINDS, format_func=kind_labels.get, key="siting_candidates"
    )

    return ftype, radius, circuity, cell, k, kind


def _suggestion(request: tuple, names: dict, info):
    """The suggestion: run on the button, remembered for the same inputs."""
    scope = request[1]
    run_col, scope_col = st.columns([1, 4])
    if run_col.button(
        ui.t("siting.run"), key="siting_run", type="primary", icon=":material/place:"
    ):
        st.session_state["siting_request"] = request
    scope_col.caption(
        ui.t("siting.scope_pref").format(name=names[scope])
        if scope
        else ui.t("siting.scope_region").format(name=info.region_name)
    )
    result, error = None, None
    if st.session_state.get("siting_request") == request:
        try:
            with st.spinner(ui.t("siting.running")):
                result = _suggest(*request)
        except siting.SitingError as exc:
            error = exc.text(ui.lang())
    elif st.session_state.get("siting_request") is not None:
        st.info(ui.t("siting.stale"))
    return result, error


def _access_section(key, ftype, radius, cell, circuity, view_codes, lang) -> None:
    """The access table: the map's text alternative."""
    st.subheader(ui.t("siting.access_title"))
    acc = _access(key, ftype, radius, cell, circuity)
    acc = acc[acc["adcode"].isin(view_codes)]
    ui.dataframe(
        _access_table(acc), hide_index=True, width="stretch", height=min(38 + 35 * len(acc), 480)
    )
    st.caption(
        ui.t("siting.access_caption").format(r=radius, c=circuity)
        + " "
        + access.DEMAND_ASSUMPTION[lang].format(cell_km=cell)
    )


@ui.guarded
def main() -> None:
    page = ui.page_start("siting.title", caption_key="siting.intro")
    lang, region, info, table = page.lang, page.region, page.info, page.table
    pref, county, policy_key, reading = page.prefecture, page.county, page.policy_key, page.reading
    key = cache.data_key(region)

    type_labels = {k: i18n.t(f"facility_type.{k}", lang) for k in facilities.FACILITY_TYPES}
    ftype, radius, circuity, cell, k, kind = _inputs(type_labels)

    view = table
    if pref:
        view = view[view["prefecture_adcode"] == pref]
    if county:
        view = view[view["adcode"] == county]
    view_codes = view["adcode"].astype(str).tolist()
    scope = pref  # the run's scope: the whole region or the chosen prefecture (module doc)
    names = dict(zip(table["prefecture_adcode"], table["prefecture"], strict=False))

    request = (key, scope, ftype, radius, cell, circuity, k, kind, policy_key, reading)
    result, error = _suggestion(request, names, info)

    # (a) the distance map, with the suggested sites when there are any.
    demand = _demand(key, None, cell)
    dist = _distances(key, ftype, cell, circuity)
    fac = access.located(cache.facility_points(region))
    existing = fac[fac["facility_type"] == ftype]
    sites = result.optimal_sites() if result is not None else None
    shown_sites = (
        sites[sites["prefecture"].isin(view["prefecture_adcode"])] if sites is not None else None
    )
    breaks = _breaks(radius)
    st.subheader(ui.t("siting.map_title").format(type=type_labels[ftype]))
    map_col, legend_col = st.columns([4, 1])
    with map_col:
        fmap = _build_map(
            region,
            view_codes,
            demand,
            dist,
            existing,
            radius,
            circuity,
            breaks,
            shown_sites,
            type_labels,
        )
        st_folium(
            assets.localize(fmap),
            key="siting_map",
            height=MAP_HEIGHT,
            use_container_width=True,
            returned_objects=[],
        )
        st.caption(ui.t("siting.map_caption"))
    with legend_col:
        _legend(
            type_labels[ftype], breaks, radius, shown_sites is not None and len(shown_sites) > 0
        )

    if error is not None:
        st.error(ui.t("siting.error").format(msg=ui.plain(error)))
    if result is not None:
        _show_result(result, sites, lang, scope, policy_key, reading, info)

    _access_section(key, ftype, radius, cell, circuity, view_codes, lang)


def _show_result(result, sites, lang, scope, policy_key, reading, info) -> None:
    s = result.summary
    st.subheader(ui.t("siting.sites_title"))
    m1, m2, m3 = st.columns(3)
    m1.metric(
        ui.t("siting.metric_before"), f"{s['covered_before']:,.0f}", help=f"{s['share_before']:.1%}"
    )
    m2.metric(
        ui.t("siting.metric_after"),
        f"{s['covered_after']:,.0f}",
        delta=f"+{s['covered_after'] - s['covered_before']:,.0f}",
    )
    m3.metric(ui.t("siting.metric_gaps"), f"{s['gaps_closed']} / {s['mandatory_gaps']}")
    for note in result.warnings:
        st.warning(ui.plain(note.text(lang)))
    if sites.empty:
        st.info(ui.t("siting.no_sites"))
    else:
        ui.dataframe(_sites_table(sites), hide_index=True, width="stretch", key="siting_sites")
    st.markdown(f"**{ui.t('siting.curve_title')}**")
    st.plotly_chart(_curve_chart(result.curve), width="stretch", key="siting_curve")
    with st.expander(ui.t("siting.assumptions"), expanded=True):
        for text in result.assumptions[lang]:
            st.markdown(f"- {text}")
    stem = "-".join(
        [
            "sites",
            s["facility_type"],
            f"k{s['k']}",
            f"{s['radius_km']:g}km",
            *([scope] if scope else []),
        ]
    )
    sources = ["embedded demo data" if info.any_demo else "embedded data"]
    for column, fmt in zip(st.columns(len(DOWNLOADS)), DOWNLOADS, strict=True):
        column.download_button(
            ui.t(f"siting.download_{fmt}"),
            data=lambda fmt=fmt: siting.site_file(
                result, fmt, lang=lang, sources=sources, demo=info.any_demo
            ),
            file_name=f"{stem}.{fmt}",
            mime=export.MEDIA_TYPES[fmt],
            key=f"siting_download_{fmt}",
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
        )


main()
