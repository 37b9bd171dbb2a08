"""Area-scoped reporting on the data page (``pages/data.py``): the area and quarter of an
upload, what it would close or not take, and the submissions with their review.

A helper module of the data page, not a page of its own. The store decides who may do
what (:mod:`geoapp.store.submissions`, :mod:`geoapp.store.review`); this module only
shows the choices the signed-in account has, and the store's refusals in plain words.
Widget keys: ``data_area``, ``data_period``, ``data_closes_confirm``, ``data_review_*``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from geoapp import store as store_mod
from geoapp.analysis import preview
from geoapp.store.areas import Period
from geoapp.store.submissions import rows_outside
from pages import ui

_FIRST_YEAR = 2025  # the policies' reporting starts in 2025


@dataclass(frozen=True)
class Scope:
    """The area and quarter a steward submits for, and the area's units."""

    area: str
    area_label: str
    period: Period
    units: list[str]
    whole_region: bool

    @property
    def as_of(self) -> date:
        return date.fromisoformat(self.period.as_of)


def area_label(tree, code: str) -> str:
    return f"{tree.name(code)}（{code}）"


def areas_of(tree, home: str) -> list[str]:
    """The areas an account of ``home`` works for: home, then its prefectures, then its
    county-level units."""
    inside = [a for a in tree.units(home) if a != home]
    prefectures = sorted(
        {p for p in tree.prefecture_of(pd.Series(inside)) if p not in (home, tree.region)}
    )
    return [home, *prefectures, *inside]


def quarters(today: date) -> list[Period]:
    """Every quarter from 2025Q1 to the current one, latest first."""
    now = Period.of_date(today)
    found = [Period(y, q) for y in range(_FIRST_YEAR, now.year + 1) for q in range(1, 5)]
    return [p for p in found if p <= now][::-1]


def scope_choice(store, user, column_area, column_period) -> Scope:
    """The area (from the account's own) and quarter widgets; the default quarter is the
    last one that has ended."""
    tree = store.area_tree()
    try:
        options = areas_of(tree, tree.check(user.area or store.region))
    except ValueError:  # an account of another region: the store refuses its submissions
        options = [store.region]
    area = column_area.selectbox(
        ui.t("data.area"),
        options,
        format_func=lambda a: area_label(tree, a),
        key="data_area",
        help=ui.t("data.area_help"),
    )
    periods = quarters(date.today())
    default = Period.of_date(preview.last_quarter_end(date.today()))
    period = column_period.selectbox(
        ui.t("data.period"),
        periods,
        index=periods.index(default) if default in periods else 0,
        format_func=str,
        key="data_period",
        help=ui.t("data.period_help"),
    )
    return Scope(area, area_label(tree, area), period, tree.units(area), area == tree.region)


def merged(scope: Scope, current: pd.DataFrame, submitted: pd.DataFrame) -> pd.DataFrame:
    """The data as they would be once the submission is approved (the preview's 'after')."""
    return preview.merge_area(current, submitted, scope.units, whole_region=scope.whole_region)


def outside_and_closures(store, scope: Scope, dataset: str, imported) -> tuple[int, bool]:
    """Show the rows that place outside the area and the current rows the upload would
    close; return the number closed and whether the user confirmed it."""
    frame = imported.facilities if dataset == "facilities" else imported.counts
    report = imported.report
    rows = report.loc[report["status"].isin(("accepted", "flagged")), "row"].tolist()
    _, outside = rows_outside(frame, scope.units, store.area_tree(), rows)
    if len(outside) and not scope.whole_region:
        st.warning(
            ui.t("data.outside").format(n=ui.number(len(outside)), area=scope.area_label),
            icon=":material/wrong_location:",
        )
        ui.dataframe(
            outside.rename(columns={c: ui.t(f"data.outside_{c}") for c in outside.columns}),
            hide_index=True,
            key="data_outside",
        )
    inside = frame[frame["adcode"].astype(str).isin(scope.units)] if len(frame) else frame
    closes = store.closures(dataset, inside, scope.area) if len(inside) else pd.DataFrame()
    if closes.empty:
        return 0, True
    st.warning(
        ui.t(f"data.closes_{dataset}").format(n=ui.number(len(closes)), area=scope.area_label),
        icon=":material/delete_sweep:",
    )
    shown = closes.copy()
    if "facility_type" in shown:
        shown["facility_type"] = [ui.t(f"facility_type.{k}") for k in shown["facility_type"]]
    ui.dataframe(
        shown.rename(columns={c: ui.t(f"closes.{c}") for c in shown.columns}),
        hide_index=True,
        key="data_closes",
    )
    confirmed = st.checkbox(
        ui.t("data.closes_confirm").format(n=ui.number(len(closes))), key="data_closes_confirm"
    )
    return len(closes), confirmed


def written_message(result_vid: int | None, submission, store) -> str:
    """What an accepted upload did: a new current version, or a submission waiting."""
    if result_vid is not None:
        return ui.t("data.written").format(version=result_vid)
    tree = store.area_tree()
    reviewer = tree.reviewer_area(submission.area)
    return ui.t("data.submitted_pending").format(
        id=submission.submission_id,
        area=area_label(tree, submission.area),
        period=submission.period,
        reviewer=area_label(tree, reviewer),
    )


# --- submissions and their review --------------------------------------------------------


def _submission_table(store, table: pd.DataFrame) -> pd.DataFrame:
    tree = store.area_tree()
    columns = ["submission_id", "dataset", "area", "period", "submitted_by", "submitted_at"]
    columns += ["row_count", "closes", "status", "decided_by", "reason"]
    shown = table.assign(
        area=[area_label(tree, a) for a in table["area"]],
        dataset=[ui.t(f"dataset.{d}") for d in table["dataset"]],
        status=[ui.t(f"submission_status.{s}") for s in table["status"]],
        submitted_at=table["submitted_at"].str[:16].str.replace("T", " "),
        decided_by=table["decided_by"].fillna(""),
    )[columns]
    return shown.rename(columns={c: ui.t(f"submission.{c}") for c in columns})


def submissions_tab(store, user) -> None:
    """The submissions of the account's area (stewards: their own area's, with the
    reasons of returned ones; reviewers: those they may approve or return)."""
    tree = store.area_tree()
    home = user.area or store.region
    table = store.submissions()
    if not table.empty:
        near = [tree.contains(home, a) or tree.contains(a, home) for a in table["area"]]
        table = table[near]
    st.subheader(ui.t("submission.title"))
    if table.empty:
        st.caption(ui.t("submission.none"))
        return
    returned = table[(table["status"] == "returned")]
    for row in returned.tail(3).itertuples(index=False):
        st.warning(
            ui.t("submission.returned_note").format(
                id=row.submission_id, area=area_label(tree, row.area), reason=ui.plain(row.reason)
            ),
            icon=":material/undo:",
        )
    ui.dataframe(
        _submission_table(store, table.iloc[::-1]), hide_index=True, key="data_submissions"
    )
    if user.role == "reviewer":
        _review(store, user, table[table["status"] == "pending"])


def _review(store, user, pending: pd.DataFrame) -> None:
    tree = store.area_tree()
    home = user.area or store.region
    mine = pending[[tree.may_review(home, a) for a in pending["area"]]]
    st.subheader(ui.t("submission.review_title"))
    if mine.empty:
        st.caption(ui.t("submission.review_none"))
        return
    text = {
        int(r.submission_id): ui.t("submission.option").format(
            id=int(r.submission_id),
            area=area_label(tree, r.area),
            period=r.period,
            dataset=ui.t(f"dataset.{r.dataset}"),
            rows=ui.number(r.row_count),
            closes=ui.number(r.closes),
            who=r.submitted_by,
        )
        for r in mine.itertuples(index=False)
    }
    sid = st.selectbox(
        ui.t("submission.pick"), list(text), format_func=text.get, key="data_review_pick"
    )
    rows = store.submission_rows(sid, user=user)
    with st.expander(ui.t("submission.rows").format(n=ui.number(len(rows)))):
        ui.dataframe(rows, hide_index=True, key="data_review_rows")
    reason = st.text_input(ui.t("submission.reason"), key="data_review_reason", max_chars=300)
    c1, c2 = st.columns(2)
    approve = c1.button(ui.t("submission.approve"), type="primary", key="data_review_approve")
    back = c2.button(ui.t("submission.return"), key="data_review_return")
    if approve or back:
        try:
            vid = store.review(sid, user=user, approve=approve, reason=reason)
        except (PermissionError, store_mod.StoreError) as exc:
            st.error(ui.problem(exc))
            return
        key = "submission.approved" if approve else "submission.returned"
        st.session_state["data_message"] = ui.t(key).format(id=sid, version=vid)
        st.rerun()


# --- one facility --------------------------------------------------------------------------


def edit_form(store, user, region: str) -> None:
    """Add, close, move or rename one facility of the account's area: a submission of
    its county (:mod:`geoapp.store.edits`), reviewed like a register."""
    from geoapp.store.edits import ACTIONS, Edit, EditError, apply_edit
    from pages import cache

    tree = store.area_tree()
    home = user.area or store.region
    current = store.facilities()
    mine = current[current["adcode"].isin(tree.units(home))]
    st.subheader(ui.t("edit.title"))
    st.caption(ui.t("edit.help"))
    c1, c2 = st.columns(2)
    words = {a: ui.t(f"edit.{a}") for a in ACTIONS}  # resolved now, in the page's language
    action = c1.radio(ui.t("edit.action"), ACTIONS, format_func=words.get, key="edit_action")
    period = c2.selectbox(ui.t("data.period"), quarters(date.today()), format_func=str,
                          key="edit_period")  # fmt: skip
    fields: dict = {}
    if action != "add":
        names = dict(
            zip(mine["facility_id"], mine["name"] + "（" + mine["county"] + "）", strict=True)
        )
        fields["facility_id"] = st.selectbox(
            ui.t("edit.facility"), list(names), format_func=names.get, key="edit_facility"
        )
    if action in ("add", "rename"):
        fields["name"] = st.text_input(ui.t("edit.name"), key="edit_name", max_chars=100)
    if action == "add":
        types = {k: ui.t(f"facility_type.{k}") for k in current["facility_type"].unique()}
        fields["facility_type"] = st.selectbox(
            ui.t("edit.type"), sorted(types), format_func=types.get, key="edit_type"
        )
        fields["address"] = st.text_input(ui.t("edit.address"), key="edit_address")
    if action in ("add", "move"):
        x, y = st.columns(2)
        fields["lon"] = x.number_input(ui.t("edit.lon"), value=None, format="%.6f", key="edit_lon")
        fields["lat"] = y.number_input(ui.t("edit.lat"), value=None, format="%.6f", key="edit_lat")
    if action == "close":
        fields["closed_on"] = str(st.date_input(ui.t("edit.closed_on"), key="edit_closed_on"))
        fields["reason"] = st.text_input(ui.t("edit.reason"), key="edit_reason", max_chars=200)
    if st.button(ui.t("edit.submit"), type="primary", key="edit_submit"):
        try:
            sub = apply_edit(store, Edit(action, **fields), user=user, period=period,
                             counties=cache.counties(region))  # fmt: skip
        except (EditError, PermissionError, store_mod.StoreError) as exc:
            st.error(ui.problem(exc))
            return
        st.session_state["data_message"] = written_message(sub.version_id, sub, store)
        st.rerun()
