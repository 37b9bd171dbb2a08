"""The preview of a read upload on the data page (``pages/data.py``): row statuses and the
report, the fix-list download, the map, counts per county before and after, and the gaps
the upload would close or open. A helper module of that page, not a page of its own.

Widget keys are those of the data page (``data_status_filter``, ``data_report``,
``data_fix_download``, ``data_map``, ``data_by_county``, ``data_gap_changes``).
"""

from __future__ import annotations

import folium
import pandas as pd
import streamlit as st
from streamlit_folium import st_folium

from geoapp import export, ingest
from geoapp.analysis import preview
from layers import assets, safe
from layers import counties as county_layers
from layers import map as base
from pages import cache, data_reporting, ui

STATUS_COLOURS = {"accepted": "#0072B2", "flagged": "#D55E00"}
IMPORT = "data_import"  # (key, import or None, error or None, datum guess) of the last read
GAPS = "data_gaps"  # (key, table) of the last gap changes computed


def labels(prefix: str, keys) -> dict:
    """Labels resolved now: AppTest may format options outside a script run."""
    return {k: ui.t(f"{prefix}.{k}") for k in keys}


def _status_report(report: pd.DataFrame, counts: dict[str, int]) -> None:
    """One metric per row status, then the report rows of the statuses chosen."""
    lang = ui.lang()
    st.subheader(ui.t("data.preview"))
    for column, (status, n) in zip(st.columns(4), counts.items(), strict=True):
        column.metric(ui.t(f"row_status.{status}"), ui.number(n))

    status_labels = labels("row_status", ingest.STATUSES)
    shown_status = st.multiselect(
        ui.t("data.status_filter"),
        list(ingest.STATUSES),
        default=list(ingest.STATUSES),
        format_func=status_labels.get,
        key="data_status_filter",
    )
    rows = report[report["status"].isin(shown_status)]
    wanted = [
        "row",
        "status",
        "problem",
        "reasons",
        "name",
        "type",
        "county",
        "lon",
        "lat",
        "assigned_county",
        "count",
        "unemployed_disabled",
    ]
    rows = rows.assign(
        status=rows["status"].map(status_labels),
        problem=preview.reason_words(rows["codes"], lang),
    )
    columns = [c for c in wanted if c in rows.columns]
    ui.dataframe(
        rows[columns].rename(columns={c: ui.t(f"report.{c}") for c in columns}),
        hide_index=True,
        width="stretch",
        height=320,
        key="data_report",
    )


def _fix_download(imported, label: str, dataset: str, fix_rows: int) -> None:
    """The rejected and flagged rows as a workbook to correct, when there are any."""
    if not fix_rows:
        return
    stem = label.rsplit(".", 1)[0]
    st.download_button(
        ui.t("data.download_fix").format(n=fix_rows),
        preview.fix_list_workbook(imported, label=label, dataset=dataset, lang=ui.lang()),
        file_name=f"{stem}-{ui.t('fix.file_suffix')}.xlsx",
        mime=export.MEDIA_TYPES["xlsx"],
        key="data_fix_download",
        icon=":material/download:",
    )


def _preview_map(region: str, imported) -> None:
    points = imported.facilities
    status = imported.report.drop_duplicates("facility_id").set_index("facility_id")["status"]
    on_map = points[points.geometry.notna()]
    topology = cache.topology(region)
    from geoapp import display

    fmap = base.base_map(bounds=display.topology_bounds(topology), lean=True)
    county_layers.prefecture_borders(topology, name=ui.t("filter.prefecture")).add_to(fmap)
    kinds = labels("row_status", ("accepted", "flagged"))
    for row in on_map.itertuples(index=False):
        kind = status.get(row.facility_id, "accepted")
        folium.CircleMarker(
            [row.lat, row.lon],
            radius=4 if kind == "accepted" else 6,
            color="#000" if kind == "flagged" else STATUS_COLOURS["accepted"],
            weight=1,
            fill=True,
            fill_color=STATUS_COLOURS.get(kind, "#0072B2"),
            fill_opacity=0.85,
        ).add_child(safe.TextTooltip(f"{row.name} · {kinds.get(kind, kind)}")).add_to(fmap)
    st_folium(
        assets.localize(fmap),
        key="data_map",
        height=360,
        use_container_width=True,
        returned_objects=[],
    )
    st.caption(ui.t("data.map_caption").format(on_map=len(on_map), total=len(points)))


def _county_counts(counties, before, after, dataset: str) -> None:
    """Totals before and after the upload, and the counties whose count changes."""
    st.subheader(ui.t("data.by_county"))
    changes = preview.county_changes(counties, before=before, after=after, dataset=dataset)
    c1, c2 = st.columns(2)
    c1.metric(ui.t("data.total_before"), f"{int(changes['before'].sum()):,}")
    c2.metric(
        ui.t("data.total_after"),
        f"{int(changes['after'].sum()):,}",
        delta=f"{int(changes['change'].sum()):+,}",
    )
    changed = changes[changes["change"] != 0]
    st.caption(ui.t("data.changed_counties").format(n=len(changed)))
    shown = changed if len(changed) else changes.head(0)
    ui.dataframe(
        shown.rename(
            columns={
                c: ui.t(f"col.{c}")
                if c in ("adcode", "prefecture", "county")
                else ui.t(f"data.{c}")
                for c in shown.columns
            }
        ),
        hide_index=True,
        width="stretch",
        key="data_by_county",
    )


def _gap_changes(region: str, counties, policy_key: str, reading: str, after, args: dict) -> None:
    """The gaps the upload closes or opens (computed once per read, policy and reading)."""
    gaps_key = ("gaps", st.session_state[IMPORT][0], policy_key, reading)
    st.subheader(ui.t("data.gaps"))
    mismatch = ui.policy_mismatch(region, policy_key)
    if mismatch:
        st.info(mismatch)
    elif len(after):
        cached = st.session_state.get(GAPS)
        if not cached or cached[0] != gaps_key:
            with st.spinner(ui.t("data.gaps_computing")):
                table = preview.gap_changes(policy_key, counties=counties, reading=reading, **args)
            st.session_state[GAPS] = cached = (gaps_key, table)
        gap_table(cached[1], key="data_gap_changes")


def show(
    store,
    region: str,
    dataset: str,
    label: str,
    imported,
    policy_key: str,
    reading: str,
    scope=None,
) -> None:
    """The preview of a read upload, before it is accepted: against the current data
    with the upload's rows replacing its area's (``scope``: a
    :class:`pages.data_reporting.Scope`; None: the whole region)."""

    def after_of(current, submitted):
        return submitted if scope is None else data_reporting.merged(scope, current, submitted)

    counts = {s: getattr(imported, s) for s in ("accepted", "flagged", "rejected", "skipped")}
    _status_report(imported.report, counts)
    _fix_download(imported, label, dataset, counts["rejected"] + counts["flagged"])

    counties = cache.counties(region)
    if dataset == "facilities":
        before = store.facilities()
        after = after_of(before, imported.facilities)
        if len(imported.facilities):
            _preview_map(region, imported)
        u = store.unemployed()
        args = {
            "facilities_before": before,
            "facilities_after": after,
            "unemployed_before": u,
            "unemployed_after": u,
        }
    else:
        before = store.unemployed()
        after = after_of(before, imported.counts)
        f = store.facilities()
        args = {
            "facilities_before": f,
            "facilities_after": f,
            "unemployed_before": before,
            "unemployed_after": after,
        }
    _county_counts(counties, before, after, dataset)
    _gap_changes(region, counties, policy_key, reading, after, args)


def gap_table(table: pd.DataFrame, *, key: str) -> None:
    """The gaps closed and opened: a count, then one row each."""
    closed, opened = (
        int((table["change"] == "closed").sum()),
        int((table["change"] == "opened").sum()),
    )
    st.caption(ui.t("data.gaps_summary").format(closed=closed, opened=opened))
    if table.empty:
        return
    changes = labels("change", ("closed", "opened"))
    shown = table.assign(change=table["change"].map(changes))
    ui.dataframe(
        ui.labelled(
            shown,
            [
                "change",
                "city",
                "county",
                "facility_type",
                "strength",
                "required",
                "actual_before",
                "actual_after",
                "clause",
            ],
        ),
        hide_index=True,
        width="stretch",
        key=key,
    )
