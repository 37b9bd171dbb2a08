"""Map overview: counties by unemployed disabled people, facilities by type, a table."""

from __future__ import annotations

import folium
import streamlit as st
from streamlit_folium import st_folium

from geoapp import facilities, i18n
from layers import counties as county_layers
from layers import facilities as facility_layers
from layers import assets
from layers import map as base
from pages import ui


@ui.guarded
def main() -> None:
    lang = ui.lang()
    src = ui.source()
    region = src.region_adcode
    info = ui.info(region)
    table = ui.county_table(region)

    st.title(ui.t("app.title"))
    st.caption(ui.t("app.subtitle"))
    ui.demo_banner(info)
    pref, county = ui.filters(table)
    view = table
    if pref:
        view = view[view["prefecture_adcode"] == pref]
    if county:
        view = view[view["adcode"] == county]

    c1, c2, c3 = st.columns(3)
    c1.metric(ui.t("metric.counties"), len(view))
    c2.metric(ui.t("metric.facilities"), int(view["total"].sum()))
    c3.metric(ui.t("metric.unemployed"), f"{int(view['unemployed_disabled'].sum()):,}")

    kinds = i18n.label_map("unit_kind", lang)
    tooltip = ["prefecture", "name", "unit_kind_label", "unemployed_disabled", "total"]
    aliases = [ui.t(f"col.{c}") for c in ("prefecture", "county", "unit_kind", "unemployed_disabled", "facilities")]
    topo_table = table.assign(unit_kind_label=table["unit_kind"].map(kinds))
    fmap = base.base_map(ui.counties(region), focus=set(view["adcode"]))
    layer, breaks = county_layers.county_choropleth(
        ui.topology(region), topo_table, value_col="unemployed_disabled",
        name=ui.t("col.unemployed_disabled"), tooltip_fields=tooltip, tooltip_aliases=aliases,
        highlight=set(view["adcode"]) if (pref or county) else None,
    )
    layer.add_to(fmap)
    county_layers.prefecture_borders(ui.topology(region), name=ui.t("filter.prefecture")).add_to(fmap)
    points = ui.facility_points(region)
    for key, ftype in facilities.load_types().items():
        facility_layers.facility_layer(points, ftype, label=i18n.t(f"facility_type.{key}", lang)).add_to(fmap)
    folium.LayerControl(collapsed=True).add_to(fmap)

    map_col, legend_col = st.columns([4, 1])
    with map_col:
        st_folium(assets.localize(fmap), key="overview_map", height=560, use_container_width=True, returned_objects=[])
        st.caption(ui.t("map.caption"))
    with legend_col:
        st.markdown(f"**{ui.t('col.unemployed_disabled')}**")
        for colour, label in county_layers.legend_rows(breaks):
            st.markdown(
                f'<span style="display:inline-block;width:1.2em;height:1em;background:{colour};'
                f'border:1px solid #555;margin-right:.4em"></span>{label}',
                unsafe_allow_html=True,
            )
        st.markdown(f"**{ui.t('metric.facilities')}**")
        for key, ftype in facilities.load_types().items():
            st.markdown(
                f'<span style="display:inline-block;width:1.4em;height:1.4em;border-radius:.7em;'
                f'background:{ftype.colour};color:#fff;text-align:center;font-weight:bold">{ftype.mark}</span> '
                f'{i18n.t(f"facility_type.{key}", lang)}',
                unsafe_allow_html=True,
            )

    st.subheader(ui.t("table.caption"))
    columns = {
        "adcode": ui.t("col.adcode"), "prefecture": ui.t("col.prefecture"), "name": ui.t("col.county"),
        "unit_kind": ui.t("col.unit_kind"), "area_km2": ui.t("col.area_km2"), "pop2020": ui.t("col.pop2020"),
        "unemployed_disabled": ui.t("col.unemployed_disabled"),
        **{k: i18n.t(f"facility_type.{k}", lang) for k in facilities.FACILITY_TYPES},
        "total": ui.t("col.facilities"),
    }
    shown = view.assign(unit_kind=view["unit_kind"].map(kinds))[list(columns)].rename(columns=columns)
    st.dataframe(shown, hide_index=True, width="stretch")


main()
