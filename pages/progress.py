"""Targets and progress: province facilities against the policy's targets, prefectures side by side."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from geoapp import brief, facilities, i18n
from geoapp import policy as policy_mod
from pages import cache, ui

FONT = {"size": 17, "color": "#1a1a1a"}
TICKS = {"size": 16, "color": "#1a1a1a"}
SIGN = {key: c.sign for key, c in policy_mod.COMPARISON_TABLE.items()}
DIM = 0.35  # opacity of the prefectures not chosen


def _layout(fig: go.Figure, *, height: int, xaxis: str) -> go.Figure:
    fig.update_layout(
        height=height + 40,
        font=FONT,
        margin={"l": 10, "r": 30, "t": 40, "b": 10},
        xaxis_title=xaxis,
        plot_bgcolor="white",
        bargap=0.25,
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "x": 0,
            "traceorder": "normal",
            "font": FONT,
        },
        # Labels that do not fit their bar are left out (the table below has every number).
        uniformtext={"minsize": 13, "mode": "hide"},
    )
    fig.update_xaxes(
        gridcolor="#ddd",
        zeroline=True,
        zerolinecolor="#888",
        tickfont=TICKS,
        automargin=True,
        title_font=FONT,
    )
    fig.update_yaxes(autorange="reversed", automargin=True, tickfont=TICKS)
    return fig


def _targets_chart(
    rows: pd.DataFrame, labels: dict[str, str], colours: dict[str, str]
) -> go.Figure:
    """Actual as a share of target, one bar per facility type, target line at 100 %."""
    pct = (rows["progress"].astype(float) * 100).round(0)
    fig = go.Figure(
        go.Bar(
            x=pct,
            y=rows["facility_type"].map(labels),
            orientation="h",
            marker={
                "color": rows["facility_type"].map(colours).tolist(),
                "line": {"color": "#333", "width": 1},
            },
            text=rows["text"],
            textposition="outside",
            cliponaxis=False,
            hoverinfo="text",
            textfont=FONT,
            hovertext=rows["text"],
            showlegend=False,
        )
    )
    fig.add_vline(
        x=100,
        line={"color": "#000", "width": 3, "dash": "dash"},
        annotation_text=ui.t("progress.target_line") + " 100%",
        annotation_position="top",
        annotation_font=FONT,
    )
    top = max(125.0, float(pct.max()) + 40)
    fig.update_xaxes(range=[0, top], ticksuffix="%")
    return _layout(fig, height=90 + 70 * len(rows), xaxis=ui.t("progress.targets_axis"))


def _ink(colour: str) -> str:
    """Black or white, whichever reads better on ``colour`` (#RRGGBB)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return "#000" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


def _mark(names: pd.Series, codes: pd.Series, chosen: str | None) -> pd.Series:
    return names.where(codes != chosen, "▶ " + names) if chosen else names


def _by_prefecture_chart(
    summary: pd.DataFrame, chosen: str | None, labels: dict[str, str]
) -> go.Figure:
    types = facilities.load_types()
    names = _mark(summary["prefecture"], summary["prefecture_adcode"], chosen)
    opacity = [1.0 if not chosen or c == chosen else DIM for c in summary["prefecture_adcode"]]
    fig = go.Figure()
    # Each type's pattern as well as its colour: no type is told by colour alone.
    for key, ftype in types.items():
        values = summary[key]
        fig.add_trace(
            go.Bar(
                x=values,
                y=names,
                orientation="h",
                name=labels[key],
                marker={
                    "color": ftype.colour,
                    "opacity": opacity,
                    "line": {"color": "#333", "width": 1},
                    "pattern": {
                        "shape": ftype.pattern,
                        "fillmode": "overlay",
                        "fgcolor": "#fff",
                        "fgopacity": 0.55,
                        "size": 9,
                        "solidity": 0.2,
                    },
                },
                text=values.where(values > 0, ""),
                textposition="inside",
                insidetextanchor="middle",
                textfont={"size": 15, "color": _ink(ftype.colour)},
                textangle=0,
                hovertemplate="%{y}: %{x} " + labels[key] + "<extra></extra>",
            )
        )
    # The total, written at the end of each bar.
    fig.add_trace(
        go.Scatter(
            x=summary["total"],
            y=names,
            mode="text",
            text=summary["total"].map(lambda v: f"  {v}"),
            textposition="middle right",
            showlegend=False,
            hoverinfo="skip",
            textfont=FONT,
        )
    )
    fig.update_layout(barmode="stack", legend={"font": {"size": 14}})
    fig.update_xaxes(range=[0, float(summary["total"].max()) * 1.12])
    return _layout(fig, height=130 + 48 * len(summary), xaxis=ui.t("progress.facilities_axis"))


def _per_facility_chart(summary: pd.DataFrame, chosen: str | None, *, axis: str) -> go.Figure:
    data = summary.sort_values("unemployed_per_facility", ascending=False, na_position="last")
    names = _mark(data["prefecture"], data["prefecture_adcode"], chosen)
    values = data["unemployed_per_facility"].astype(float)
    fig = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            showlegend=False,
            marker={
                "color": [
                    "#0072B2" if not chosen or c == chosen else "#9DB9D3"
                    for c in data["prefecture_adcode"]
                ],
                "line": {"color": "#333", "width": 1},
            },
            text=values.map(lambda v: "" if pd.isna(v) else f"{v:,.0f}"),
            textposition="outside",
            textfont=FONT,
            cliponaxis=False,
            hovertemplate="%{y}: %{x:,.1f}<extra></extra>",
        )
    )
    fig.update_xaxes(range=[0, float(values.max()) * 1.15])
    return _layout(fig, height=90 + 44 * len(data), xaxis=axis)


def _history_chart(
    history: pd.DataFrame, labels: dict[str, str], colours: dict[str, str], *, targets: bool
) -> go.Figure:
    """One small chart per facility type: actual per version date (a step line, since the
    count holds until the next register), and the province target as a dashed line."""
    types = list(facilities.FACILITY_TYPES)
    fig = make_subplots(
        rows=2,
        cols=3,
        subplot_titles=[labels[t] for t in types],
        horizontal_spacing=0.08,
        vertical_spacing=0.22,
    )
    dates = sorted(history["as_of"].unique())
    for i, ftype in enumerate(types):
        row, col = divmod(i, 3)
        rows = history[history["facility_type"] == ftype]
        fig.add_trace(
            go.Scatter(
                x=rows["as_of"].tolist(),
                y=rows["actual"].tolist(),
                mode="lines+markers+text",
                line={"shape": "hv", "color": colours[ftype], "width": 3},
                marker={"size": 10, "color": colours[ftype], "line": {"color": "#333", "width": 1}},
                text=rows["actual"].tolist(),
                textposition="top center",
                textfont={"size": 14},
                name=ui.t("progress.history_actual"),
                legendgroup="actual",
                showlegend=i == 0,
                meta=labels[ftype],
                hovertemplate="%{meta} %{x}: %{y}<extra></extra>",
            ),
            row=row + 1,
            col=col + 1,
        )
        target = rows["target"].dropna()
        top = max([*rows["actual"].tolist(), *(target.tolist() if targets else []), 1])
        # Room above the highest point for its label, the same on every chart's scale.
        fig.update_yaxes(range=[0, top * 1.25], row=row + 1, col=col + 1)
        if targets and len(target):
            value = int(target.iloc[-1])
            fig.add_trace(
                go.Scatter(
                    x=dates,
                    y=[value] * len(dates),
                    mode="lines+markers",
                    line={"color": "#000", "dash": "dash", "width": 2},
                    marker={"symbol": "line-ew-open", "size": 14},
                    name=ui.t("progress.history_target"),
                    legendgroup="target",
                    showlegend=not any(t.legendgroup == "target" for t in fig.data),
                    meta=labels[ftype],
                    hovertemplate="%{meta}: "
                    + ui.t("progress.history_target")
                    + " %{y}<extra></extra>",
                ),
                row=row + 1,
                col=col + 1,
            )
    fig.update_layout(
        height=560,
        font=FONT,
        plot_bgcolor="white",
        margin={"l": 60, "r": 20, "t": 70, "b": 40},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.08, "x": 0, "font": FONT},
    )
    fig.update_annotations(font={"size": 15, "color": "#1a1a1a"})
    fig.update_xaxes(type="category", tickfont={"size": 13, "color": "#1a1a1a"}, gridcolor="#ddd")
    fig.update_yaxes(tickfont=TICKS, gridcolor="#ddd", automargin=True)
    return fig


def _history(
    region: str,
    policy_key: str,
    chosen: str | None,
    chosen_name: str | None,
    labels: dict[str, str],
    colours: dict[str, str],
) -> None:
    """Actual against target per version date, for the province and the chosen prefecture."""
    province = cache.history(region, policy_key)
    if province is None:
        return
    st.subheader(ui.t("progress.history"))
    dates = sorted(province["as_of"].unique())
    if len(dates) == 1:
        st.caption(ui.t("progress.history_single").format(as_of=dates[0]))
    else:
        st.caption(ui.t("progress.history_caption").format(whole=ui.policy_whole(policy_key)))
    st.markdown(
        f"**{ui.t('progress.history_province').format(whole=ui.policy_whole(policy_key))}**"
    )
    st.plotly_chart(
        _history_chart(province, labels, colours, targets=True),
        key="progress_history",
        config={"displaylogo": False},
        theme=None,
    )
    frames = [province]
    if chosen:
        local = cache.history(region, policy_key, chosen)
        st.markdown(f"**{ui.t('progress.history_prefecture').format(name=chosen_name)}**")
        st.plotly_chart(
            _history_chart(local, labels, colours, targets=False),
            key="progress_history_prefecture",
            config={"displaylogo": False},
            theme=None,
        )
        frames.append(local.assign(scope=chosen_name))
    with st.expander(ui.t("progress.table")):
        table = pd.concat(frames, ignore_index=True)
        table["scope"] = table["scope"].replace({"province": cache.info(region).region_name})
        shown = table.assign(target=table["target"].astype("Float64"))
        ui.dataframe(
            ui.labelled(
                shown, ["as_of", "version_id", "scope", "facility_type", "actual", "target"]
            ).rename(columns={"scope": ui.t("filter.prefecture")}),
            hide_index=True,
            width="stretch",
        )


def _province_targets(result, info, labels: dict, colours: dict) -> None:
    """Each facility target of the policy: actual against target, as bars and a table."""
    st.caption(
        ui.t("progress.caption").format(
            policy=ui.policy_title(result.policy_key),
            document=result.policy_document or ui.t("policy.no_document"),
            as_of=info.data_date,
            whole=ui.policy_whole(result.policy_key),
        )
    )
    st.subheader(ui.t("progress.targets").format(whole=ui.policy_whole(result.policy_key)))
    progress = result.progress
    rows = progress[progress["kind"] == "facility"].copy()
    if rows.empty:
        st.info(ui.t("progress.no_targets").format(whole=ui.policy_whole(result.policy_key)))
        return
    rows["text"] = [
        ui.t("progress.bar_text").format(
            actual=f"{int(r.actual):,}",
            sign=SIGN[r.comparison],
            target=f"{int(r.target):,}",
            pct=f"{float(r.progress):.0%}",
        )
        + ("  ✔" if r.met else "")
        for r in rows.itertuples(index=False)
    ]
    st.plotly_chart(
        _targets_chart(rows, labels, colours),
        key="progress_targets",
        config={"displaylogo": False},
        theme=None,
    )
    st.caption(ui.t("progress.about_note"))
    with st.expander(ui.t("progress.table")):
        shown = rows.assign(progress=(rows["progress"].astype(float) * 100).round(1))
        ui.dataframe(
            ui.labelled(
                shown,
                [
                    "facility_type",
                    "actual",
                    "comparison",
                    "target",
                    "progress",
                    "met",
                    "strength",
                    "clause",
                ],
            ),
            hide_index=True,
            width="stretch",
            column_config={ui.t("col.progress"): st.column_config.NumberColumn(format="%,.1f%%")},
        )


def _people_targets(result, lang: str) -> None:
    """Targets counted in people (trained, placed ...): the policy's words, no data yet."""
    progress = result.progress
    people = progress[progress["kind"] == "people"]
    if people.empty:
        return
    st.subheader(ui.t("progress.people"))
    st.caption(ui.t("progress.people_note"))
    no_data = ui.t("progress.no_data")
    shown = people.assign(
        # Chinese: the policy's own words; English: the label table's, when it has one.
        facility_type=[
            label if lang == "zh" else ui.t_or(f"people_target.{i}", label)
            for i, label in zip(people["rule_id"], people["facility_type"], strict=True)
        ],
        target=[
            f"{SIGN[c]}{v:,}" for c, v in zip(people["comparison"], people["target"], strict=True)
        ],
        unit=[ui.t_or(f"unit.{u}", u) for u in people["unit"]],
        actual=no_data,
        progress=no_data,
    )
    shown = ui.labelled(
        shown, ["facility_type", "target", "unit", "actual", "progress", "strength", "clause"]
    )
    st.table(
        shown.rename(columns={ui.t("col.facility_type"): ui.t("progress.people")}), hide_index=True
    )


def _prefectures(summary, chosen: str | None, info, labels: dict) -> None:
    """The prefectures side by side: facilities per type, unemployed people per facility."""
    highlight = None
    if chosen:
        name = summary.loc[summary["prefecture_adcode"] == chosen, "prefecture"].iloc[0]
        highlight = ui.t("progress.highlight").format(name=name)
    st.subheader(ui.t("progress.by_prefecture"))
    if highlight:
        st.caption(highlight)
    st.plotly_chart(
        _by_prefecture_chart(summary, chosen, labels),
        key="progress_by_prefecture",
        config={"displaylogo": False},
        theme=None,
    )
    with st.expander(ui.t("progress.table")):
        columns = ["prefecture", *facilities.FACILITY_TYPES, "total"]
        shown = summary[columns].rename(
            columns={"prefecture": ui.t("col.prefecture"), "total": ui.t("col.total"), **labels}
        )
        ui.dataframe(shown, hide_index=True, width="stretch")

    st.subheader(ui.t("progress.per_facility"))
    if highlight:
        st.caption(highlight)
    axis = ui.t("progress.per_facility_axis")
    if info.unemployed_demo:  # the counts behind the ratio are a demo estimate: say so on the chart
        axis += ui.t("progress.demo_suffix")
    st.plotly_chart(
        _per_facility_chart(summary, chosen, axis=axis),
        key="progress_per_facility",
        config={"displaylogo": False},
        theme=None,
    )
    with st.expander(ui.t("progress.table")):
        data = summary.sort_values("unemployed_per_facility", ascending=False, na_position="last")
        ui.dataframe(
            ui.labelled(
                data, ["prefecture", "unemployed_disabled", "total", "unemployed_per_facility"]
            ),
            hide_index=True,
            width="stretch",
        )


def _brief_button(region: str, policy_key: str, reading: str, lang: str) -> None:
    """The two-page PDF brief of the whole region, as ``geoapp brief`` makes it."""
    problem = cache.brief_font_problem(lang)
    if problem:
        st.info(problem)
        return
    st.download_button(
        ui.t("brief.download"),
        data=cache.brief_pdf(region, policy_key, reading),
        file_name=f"brief-{region}-{policy_key}-{reading}-{lang}.pdf",
        mime=brief.MEDIA_TYPE,
        key="progress_brief",
        help=ui.t("brief.download_help"),
        on_click="ignore",
        icon=":material/picture_as_pdf:",
    )


@ui.guarded
def main() -> None:
    page = ui.page_start("progress.title")
    lang, region, info, table = page.lang, page.region, page.info, page.table
    pref, county, policy_key, reading = page.prefecture, page.county, page.policy_key, page.reading
    labels = i18n.label_map("facility_type", lang)
    colours = {k: ft.colour for k, ft in facilities.load_types().items()}

    # Province targets: region-wide, the filters do not apply.
    mismatch = ui.policy_mismatch(region, policy_key)
    if mismatch:
        st.warning(mismatch)
    else:
        _brief_button(region, policy_key, reading, lang)
        result = cache.gap_result(region, policy_key, reading)
        _province_targets(result, info, labels, colours)
        _people_targets(result, lang)

    summary = cache.prefecture_summary(region)
    chosen = pref or (
        table.loc[table["adcode"] == county, "prefecture_adcode"].iloc[0] if county else None
    )
    _prefectures(summary, chosen, info, labels)

    if not mismatch:
        name = (
            summary.loc[summary["prefecture_adcode"] == chosen, "prefecture"].iloc[0]
            if chosen
            else None
        )
        _history(region, policy_key, chosen, name, labels, colours)


main()
