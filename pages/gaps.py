"""Coverage gaps: the gap list for the chosen policy, reading and area, with downloads."""

from __future__ import annotations

import streamlit as st

from geoapp import export, policy
from pages import cache, ui

# What a planner reads first on the left; the rule id and the policy are in the downloads.
COLUMNS = [
    "rank",
    "city",
    "county",
    "facility_type",
    "strength",
    "shortfall",
    "unemployed_disabled",
    "actual",
    "required",
    "unit_kind",
    "clause",
    "adcode",
]
# Pixel widths that fit the Chinese table beside the sidebar on a 1366-pixel screen;
# English labels are longer (the columns on the right then scroll under the pinned ones).
WIDTHS = {
    "zh": {
        "rank": 56,
        "city": 116,
        "county": 128,
        "facility_type": 176,
        "strength": 78,
        "shortfall": 52,
        "unemployed_disabled": 104,
        "actual": 56,
        "required": 56,
        "met": 70,
        "unit_kind": 76,
        "clause": 64,
        "adcode": 70,
    },
    "en": {
        "rank": 64,
        "city": 116,
        "county": 128,
        "facility_type": 262,
        "strength": 104,
        "shortfall": 80,
        "unemployed_disabled": 150,
        "actual": 60,
        "required": 76,
        "met": 50,
        "unit_kind": 140,
        "clause": 100,
        "adcode": 70,
    },
}
PINNED = ("rank", "city", "county")
DOWNLOADS = ("xlsx", "csv", "geojson")


@ui.guarded
def main() -> None:
    page = ui.page_start("gaps.title")
    lang, region, info, table = page.lang, page.region, page.info, page.table
    pref, county, policy_key, reading = page.prefecture, page.county, page.policy_key, page.reading
    mismatch = ui.policy_mismatch(region, policy_key)
    if mismatch:
        st.warning(mismatch)
        return
    all_rows = st.toggle(ui.t("gaps.show_all"), key="gaps_all", help=ui.t("gaps.show_all_help"))
    gaps = cache.gap_list(region, policy_key, reading, pref, county, all_rows)
    prov = gaps.result.provenance()

    names = dict(zip(table["adcode"], table["name"], strict=False)) | dict(
        zip(table["prefecture_adcode"], table["prefecture"], strict=False)
    )
    scope = names.get(county or pref or "", info.region_name)
    st.caption(
        ui.t("gaps.caption").format(
            policy=ui.policy_title(policy_key),
            document=prov["policy_document"] or ui.t("policy.no_document"),
            reading=prov[f"reading_{lang}"],
            as_of=gaps.as_of,
            scope=scope,
        )
    )

    summary = gaps.summary()
    c1, c2, c3 = st.columns(3)
    c1.metric(ui.t("gaps.metric_mandatory"), ui.number(summary["mandatory_gaps"]))
    c2.metric(ui.t("gaps.metric_aspirational"), ui.number(summary["aspirational_gaps"]))
    c3.metric(ui.t("gaps.metric_people"), ui.number(summary["people_behind_mandatory"]))

    rows = gaps.rows
    if not policy.load_policy(policy_key).rules:  # a plan of people targets only (盘锦)
        st.info(ui.t("gaps.no_rules").format(policy=ui.policy_title(policy_key)))
    elif rows.empty:
        st.info(ui.t("gaps.empty"))
    else:
        columns = [*COLUMNS[:6], "met", *COLUMNS[6:]] if all_rows else COLUMNS
        short = rows.assign(strength=rows["strength"].map(lambda s: ui.t(f"strength_short.{s}")))
        config = {
            ui.t(f"col.{c}"): st.column_config.Column(
                width=WIDTHS[lang][c],
                pinned=c in PINNED,
                help=ui.t("gaps.strength_help") if c == "strength" else None,
            )
            for c in columns
        }
        config[ui.t("col.unemployed_disabled")] = st.column_config.Column(
            width=WIDTHS[lang]["unemployed_disabled"]
        )
        ui.dataframe(
            ui.labelled(short, columns),
            hide_index=True,
            width="stretch",
            height=min(38 + 35 * len(rows), 640),
            column_config=config,
        )
        st.caption(ui.t("gaps.sort_hint"))

    st.subheader(ui.t("gaps.download"))
    stem = "-".join(["gaps", policy_key, reading, *(c for c in (pref, county) if c)])
    for column, fmt in zip(st.columns(len(DOWNLOADS)), DOWNLOADS, strict=True):
        column.download_button(
            ui.t(f"gaps.download_{fmt}"),
            data=cache.gap_list_file(region, gaps, fmt),
            file_name=f"{stem}.{fmt}",
            mime=export.MEDIA_TYPES[fmt],
            key=f"gaps_download_{fmt}",
            help=ui.t("gaps.download_help"),
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
        )


main()
