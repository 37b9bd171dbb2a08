"""报送情况: who has reported for a quarter. A map by state (colour, line style and a
symbol), the table of units beside it, rates per prefecture, and an Excel download.

Reads the store's submissions (:meth:`geoapp.store.Store.reporting_status`); the core
works out the states and rates (:mod:`geoapp.store.status`), :mod:`layers.reporting`
draws them. Open to everyone who may view the dashboard: leaders see who is late.
"""

from __future__ import annotations

import io
from datetime import date

import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geoapp import display, export, settings
from geoapp.analysis import preview
from geoapp.store.areas import Period
from geoapp.store.status import STATES, reporting_rates, status_summary, status_table
from geoapp.store.status import status_workbook as _workbook
from layers import assets
from layers import counties as county_layers
from layers import map as base
from layers import reporting as status_layers
from pages import cache, data_reporting, ui

MAP_HEIGHT = 520


def _choices() -> tuple[Period, str]:
    periods = data_reporting.quarters(date.today())
    default = Period.of_date(preview.last_quarter_end(date.today()))
    c1, c2 = st.columns([1, 2])
    period = c1.selectbox(
        ui.t("data.period"),
        periods,
        index=periods.index(default) if default in periods else 0,
        format_func=str,
        key="reporting_period",
    )
    datasets = {d: ui.t(f"dataset.{d}") for d in ("facilities", "unemployed")}
    dataset = c2.radio(
        ui.t("data.dataset"),
        list(datasets),
        format_func=datasets.get,
        horizontal=True,
        key="reporting_dataset",
    )
    return period, dataset


def _metrics(rates: pd.DataFrame) -> None:
    region = rates.iloc[-1]
    shown = [
        ("rates.approved", f"{ui.number(region['approved'])} / {ui.number(region['expected'])}"),
        ("rates.on_time", ui.number(region["on_time"])),
        ("rates.pending", ui.number(region["pending"])),
        ("rates.returned", ui.number(region["returned"])),
        ("rates.not_submitted", ui.number(region["not_submitted"])),
    ]
    for column, (key, value) in zip(st.columns(len(shown)), shown, strict=True):
        column.metric(ui.t(key), value)


def _map(region: str, status: pd.DataFrame) -> None:
    topology = cache.topology(region)
    labels = {s: ui.t(f"state.{s}") for s in STATES}
    fmap = base.base_map(
        bounds=display.topology_bounds(topology), layers_label=ui.t("map.layers"), lean=True
    )
    layer = status_layers.status_layer(
        topology,
        status,
        name=ui.t("status.state"),
        labels=labels,
        aliases=[ui.t("status.name"), ui.t("status.state")],
    )
    layer.add_to(fmap)
    county_layers.prefecture_borders(name=ui.t("filter.prefecture"), counties=layer).add_to(fmap)
    status_layers.status_symbols(
        cache.counties(region), status, name=ui.t("reporting.symbols")
    ).add_to(fmap)
    st_folium(
        assets.localize(fmap),
        key="reporting_map",
        height=MAP_HEIGHT,
        use_container_width=True,
        returned_objects=[],
    )
    legend = "  ".join(
        f"{status_layers.STATE_STYLE[s][3]} {labels[s]}" for s in STATES
    )  # the symbols and words, not the colours, carry the legend
    st.caption(ui.t("reporting.legend").format(legend=legend))


def _download(status, rates, period: Period, dataset: str, due: str) -> None:
    lang = ui.lang()

    def build() -> bytes:
        buffer = io.BytesIO()
        _workbook(status, rates, buffer, period=str(period), due=due, dataset=dataset, lang=lang)
        return buffer.getvalue()

    st.download_button(
        ui.t("reporting.download"),
        data=build,
        file_name=f"{ui.t('sheet.status')}-{period}.xlsx",
        mime=export.MEDIA_TYPES["xlsx"],
        key="reporting_download",
        on_click="ignore",
        icon=":material/download:",
    )


@ui.guarded
def main() -> None:
    src = ui.source()
    region = src.region_adcode
    st.title(ui.t("reporting.title"))
    store = getattr(src, "store", None)
    if store is None:
        st.info(ui.t("data.no_store"))
        return
    period, dataset = _choices()
    status = store.reporting_status(period, dataset=dataset)
    rates = reporting_rates(status, store.area_tree())
    due = period.due(settings.DUE_DAYS)
    st.markdown(ui.plain(status_summary(rates, period=str(period), due=due, lang=ui.lang())))
    _metrics(rates)
    map_col, table_col = st.columns([3, 2])
    with map_col:
        _map(region, status)
    with table_col:
        st.subheader(ui.t("reporting.units"))
        ui.dataframe(status_table(status, ui.lang()), hide_index=True, key="reporting_units")
    st.subheader(ui.t("reporting.rates"))
    columns = ["name", "expected", "approved", "on_time", "pending", "returned", "not_submitted"]
    shown = rates[columns].assign(
        rate=[f"{r:.0%}" for r in rates["rate"]],
        on_time_rate=[f"{r:.0%}" for r in rates["on_time_rate"]],
    )
    ui.dataframe(
        shown.rename(columns={c: ui.t(f"rates.{c}") for c in shown.columns}),
        hide_index=True,
        key="reporting_rates",
    )
    _download(status, rates, period, dataset, due)


main()
