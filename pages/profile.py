"""County profile (一县一表): one county on one printable page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from geoapp import facilities, i18n
from pages import cache, ui

PROFILE_PAGE = "pages/profile.py"  # as streamlit_app.py registers it
# Printing: only the sheet itself, on A4, tables whole; on screen nothing changes.
PRINT_CSS = """
<style>
@media print {
  @page { size: A4 portrait; margin: 12mm; }
  [data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stHeader"],
  [data-testid="stToolbar"], [data-testid="stDecoration"], [data-testid="stStatusWidget"],
  [data-testid="stElementToolbar"], [data-testid="stSelectbox"], [data-testid="stBaseButton-header"],
  .stButton, .stDownloadButton, button, .print-hide { display: none !important; }
  [data-testid="stAppViewContainer"], [data-testid="stMain"] { margin: 0 !important; padding: 0 !important; }
  [data-testid="stMainBlockContainer"] { padding: 0 !important; max-width: 100% !important; }
  [data-testid="stTable"], [data-testid="stTable"] > div { overflow: visible !important; height: auto !important; }
  table { font-size: 9.5pt !important; width: 100% !important; }
  tr, [data-testid="stMetric"], [data-testid="stAlert"] { break-inside: avoid; page-break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
  h1 { font-size: 20pt !important; padding: 0 0 4pt !important; }
  h2 { font-size: 15pt !important; padding: 6pt 0 2pt !important; }
  h3 { font-size: 13pt !important; padding: 6pt 0 2pt !important; }
  [data-testid="stMetricValue"] { font-size: 16pt !important; }
  [data-testid="stVerticalBlock"] { gap: 0.35rem !important; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
</style>
"""


def _choose_county(table: pd.DataFrame, pref: str | None, county: str | None) -> str | None:
    """The sidebar's county, or one chosen on the page among the prefecture's counties."""
    if county:
        return county
    rows = table if pref is None else table[table["prefecture_adcode"] == pref]
    names = dict(zip(rows["adcode"], rows["prefecture"] + " · " + rows["name"], strict=False))
    choice = st.selectbox(
        ui.t("profile.choose"),
        list(names),
        index=None,
        format_func=names.get,
        placeholder=ui.t("profile.choose"),
        key="profile_county",
        help=ui.t("profile.choose_hint"),
    )
    return choice


def _unit_links(table: pd.DataFrame, pref: str | None, region_name: str) -> None:
    """Every unit of the chosen prefecture (or region) as a link to its profile, by
    prefecture: a profile page without a county is a list to pick from, never blank."""
    rows = table if pref is None else table[table["prefecture_adcode"] == pref]
    scope = region_name if pref is None or rows.empty else rows["prefecture"].iloc[0]
    st.subheader(ui.t("profile.units_of").format(scope=scope))
    params = ui.view_params()
    several = rows["prefecture_adcode"].nunique() > 1
    for (code, name), units in rows.groupby(["prefecture_adcode", "prefecture"], sort=True):
        if several:
            st.markdown(f"**{ui.plain(name)}**")
        columns = st.columns(4)
        for i, (adcode, unit) in enumerate(zip(units["adcode"], units["name"], strict=True)):
            columns[i % 4].page_link(
                PROFILE_PAGE,
                label=ui.plain(unit),
                query_params={**params, "prefecture": code, "county": adcode},
            )


def _facts(p, info, labels: dict) -> None:
    """Code, area, population, unemployed disabled people, facilities per type."""
    st.subheader(ui.t("profile.facts"))
    unemployed_label = (
        ui.t("metric.unemployed") if info.unemployed_demo else ui.t("col.unemployed_disabled")
    )
    c = st.columns([1, 1, 1, 1.7, 0.8])
    c[0].metric(ui.t("col.adcode"), p.adcode)
    c[1].metric(ui.t("col.area_km2"), "—" if p.area_km2 is None else f"{p.area_km2:,.0f}")
    c[2].metric(ui.t("col.pop2020"), "—" if p.pop2020 is None else f"{p.pop2020:,}")
    c[3].metric(
        unemployed_label, "—" if p.unemployed_disabled is None else f"{p.unemployed_disabled:,}"
    )
    c[4].metric(ui.t("col.facilities"), ui.number(p.facility_counts["count"].sum()))
    seat_key = "profile.seat" if p.seat_source.startswith("cpca") else "profile.seat_fallback"
    st.caption(ui.t(seat_key).format(lon=p.seat.x, lat=p.seat.y))

    st.subheader(ui.t("profile.counts"))
    counts = pd.DataFrame(
        [
            dict(
                zip(
                    p.facility_counts["facility_type"].map(labels),
                    p.facility_counts["count"],
                    strict=False,
                )
            )
        ]
    )
    st.table(ui.figures(counts), hide_index=True)


def _rules(p, region: str, policy_key: str, reading: str, lang: str, labels: dict) -> None:
    """Every rule of the policy for this county: met or not, the mandatory ones first."""
    st.subheader(ui.t("profile.rules"))
    prov = cache.gap_result(region, policy_key, reading).provenance()
    st.caption(
        ui.t("profile.rules_caption").format(
            policy=ui.policy_title(policy_key), reading=prov[f"reading_{lang}"]
        )
    )
    short = p.mandatory_shortfalls
    if short.empty:
        st.success(ui.t("profile.no_mandatory"), icon=":material/check_circle:")
    else:
        items = "；".join(
            f"{labels[r.facility_type]}（{ui.t(f'unit_scope.{r.unit}')}，{ui.t('col.shortfall')} {r.shortfall}，{r.clause}）"
            if lang == "zh"
            else f"{labels[r.facility_type]} ({ui.t(f'unit_scope.{r.unit}')}, {ui.t('col.shortfall').lower()} {r.shortfall}, {r.clause})"
            for r in short.itertuples(index=False)
        )
        st.error(ui.t("profile.mandatory_alert").format(items=items), icon=":material/error:")
    rules = p.rules.assign(
        status=p.rules["status"].map(lambda s: ui.t(f"status.{s}")),
        unit_scope=p.rules["unit"].map(lambda u: ui.t(f"unit_scope.{u}")),
    )
    shown = ui.labelled(
        rules,
        [
            "status",
            "facility_type",
            "unit_scope",
            "strength",
            "required",
            "actual",
            "shortfall",
            "clause",
            "rule_id",
        ],
    )
    st.table(ui.figures(shown), hide_index=True)


def _facilities(p) -> None:
    """The county's facilities, nearest to its seat first."""
    st.subheader(ui.t("profile.facilities"))
    if p.facilities.empty:
        st.info(ui.t("profile.no_facilities"))
    else:
        near = ui.labelled(
            p.facilities, ["name", "facility_type", "subtype", "address", "distance_km"]
        )
        distance = {ui.t("col.distance_km"): "{:.1f}"}  # none without coordinates: a dash
        st.table(near.style.format(distance, na_rep="—"), hide_index=True)
        st.caption(ui.t("profile.distance_note"))


def _neighbours(p, lang: str, labels: dict) -> None:
    """One column per county, the county itself first, then its neighbours."""
    st.subheader(ui.t("profile.neighbours"))
    if p.neighbours.empty:
        st.info(ui.t("profile.none"))
    else:
        sep = "、" if lang == "zh" else ", "
        both = pd.concat([p.situation, p.neighbours], ignore_index=True)
        both = both.assign(
            gap_types=[
                sep.join(labels[k] for k in types) or ui.t("profile.none")
                for types in both["gap_types"]
            ],
            shared_border_km=[None if pd.isna(v) else f"{v:.1f}" for v in both["shared_border_km"]],
        )
        rows = [
            "prefecture",
            "unit_kind",
            "shared_border_km",
            "unemployed_disabled",
            *facilities.FACILITY_TYPES,
            "total",
            "mandatory_gaps",
            "gap_types",
        ]
        shown = ui.labelled(both, rows).rename(columns={ui.t("col.total"): ui.t("col.facilities")})
        shown.index = [f"▶ {p.name}", *p.neighbours["name"]]
        st.table(ui.as_text(shown).T)
        st.caption(ui.t("profile.neighbours_note"))


@ui.guarded
def main() -> None:
    st.markdown(PRINT_CSS, unsafe_allow_html=True)
    page = ui.page_start("profile.title")
    lang, region, info, table = page.lang, page.region, page.info, page.table
    pref, county, policy_key, reading = page.prefecture, page.county, page.policy_key, page.reading
    # A link to this same page (the list of units below) reruns it with the link's
    # parameters but leaves the browser's address as it was: write it back.
    st.query_params.from_dict(st.query_params.to_dict())
    adcode = _choose_county(table, pref, county)
    if adcode is None:
        _unit_links(table, pref, info.region_name)
        return
    st.markdown(
        f'<div class="print-hide" style="color:#555">{ui.t("profile.print_hint")}</div>',
        unsafe_allow_html=True,
    )
    mismatch = ui.policy_mismatch(region, policy_key)
    if mismatch:
        st.warning(mismatch)
        return

    p = cache.county_profile(region, adcode, policy_key, reading)
    kinds = i18n.label_map("unit_kind", lang)
    labels = i18n.label_map("facility_type", lang)
    st.header(
        ui.t("profile.heading").format(
            name=p.name, prefecture=p.prefecture, kind=kinds[p.unit_kind]
        )
    )

    _facts(p, info, labels)
    _rules(p, region, policy_key, reading, lang, labels)
    _facilities(p)
    _neighbours(p, lang, labels)
    if info.any_demo:
        st.caption(ui.t("demo.banner"))


main()
