"""Reporting status (报送情况) and per-area dates, worked out from the submissions.

Pure functions over frames the store reads (:meth:`geoapp.store.Store.submissions`,
:meth:`~geoapp.store.Store.area_dates`) and an :class:`~geoapp.store.areas.AreaTree`:

- :func:`reporting_status`: for one period, every expected county-level unit and where
  its report stands: ``approved_on_time``, ``approved_late``, ``pending``,
  ``returned`` or ``not_submitted``. A unit is covered by any submission whose area
  contains it (a prefecture's submission reports for all its counties); the best state
  wins, in that order.
- :func:`reporting_rates`: per prefecture and for the region, expected units, counts by
  state, the approved rate and the on-time rate.
- :func:`date_groups`: where the current data of the units come from different
  periods, the areas and their periods ("白山市 2026Q1, 长春市 2025Q4").
"""

from __future__ import annotations

import pandas as pd

from geoapp.store.areas import AreaTree

__all__ = [
    "STATES",
    "date_groups",
    "reporting_rates",
    "reporting_status",
    "status_summary",
    "status_table",
    "status_workbook",
]

#: Where a unit's report for a period stands, best first.
STATES = ("approved_on_time", "approved_late", "pending", "returned", "not_submitted")


def _submission_state(status: str, submitted_at: str, due: str) -> str | None:
    if status == "approved":
        return "approved_on_time" if str(submitted_at)[:10] <= due else "approved_late"
    if status in ("pending", "returned"):
        return status
    return None  # superseded: a later submission stands for it


def reporting_status(
    tree: AreaTree, submissions: pd.DataFrame, period: str, *, due: str
) -> pd.DataFrame:
    """Every county-level unit's reporting state for ``period``.

    Parameters
    ----------
    tree : AreaTree
    submissions : DataFrame
        ``submission_id, area, period, submitted_at, status`` (as
        :meth:`Store.submissions` gives; other columns are ignored).
    period : str
        The quarter, e.g. ``"2026Q1"``.
    due : str
        The ISO date a report is due: submitted on or before it is on time.

    Returns
    -------
    DataFrame
        ``adcode, name, prefecture_adcode, prefecture, state, submission_id, area,
        submitted_at``, one row per unit, by adcode (``submission_id`` is <NA> for
        ``not_submitted``).
    """
    units = tree.unit_table
    best: dict[str, tuple[int, int, str, str]] = {}
    of_period = submissions[submissions["period"].astype(str) == str(period)]
    for sub in of_period.sort_values("submission_id").itertuples(index=False):
        state = _submission_state(sub.status, sub.submitted_at, due)
        if state is None:
            continue
        rank = STATES.index(state)
        for adcode in tree.units(sub.area):
            held = best.get(adcode)
            # A better state wins; among equals, the later submission.
            if held is None or rank <= held[0]:
                best[adcode] = (rank, int(sub.submission_id), str(sub.area), sub.submitted_at)
    held = [best.get(a) for a in units["adcode"]]
    units["state"] = [STATES[h[0]] if h else "not_submitted" for h in held]
    units["submission_id"] = pd.array([h[1] if h else None for h in held], dtype="Int64")
    units["area"] = [h[2] if h else "" for h in held]
    units["submitted_at"] = [h[3] if h else "" for h in held]
    return units


def reporting_rates(status: pd.DataFrame, tree: AreaTree) -> pd.DataFrame:
    """Per prefecture, then the region: ``area, name, expected``, a count per state,
    ``approved, on_time, rate, on_time_rate`` (fractions 0-1).

    A region without prefectures (one prefecture-level city, one county) has only the
    region row.
    """
    frame = status.assign(prefecture_adcode=tree.prefecture_of(status["adcode"]))
    groups = [
        (code, tree.name(code), part)
        for code, part in frame.groupby("prefecture_adcode", sort=True)
        if code != tree.region
    ]
    groups.append((tree.region, tree.name(tree.region), frame))
    rows = []
    for code, name, part in groups:
        counts = part["state"].value_counts()
        row = {"area": code, "name": name, "expected": len(part)}
        row.update({s: int(counts.get(s, 0)) for s in STATES})
        row["approved"] = row["approved_on_time"] + row["approved_late"]
        row["on_time"] = row["approved_on_time"]
        row["rate"] = row["approved"] / row["expected"] if row["expected"] else 0.0
        row["on_time_rate"] = row["on_time"] / row["expected"] if row["expected"] else 0.0
        rows.append(row)
    return pd.DataFrame(rows)


#: The name :func:`date_groups` gives "every other unit" (其余 / all others when shown).
REST = ""


def date_groups(dates: pd.DataFrame, tree: AreaTree) -> list[tuple[str, str]]:
    """``[(area name, period), ...]`` when the units' data come from different periods,
    else ``[]``.

    The period most units share is said once, last, for the rest (name :data:`REST`);
    the units of another period are named before it: a prefecture all of whose units
    have it is named once, else its units one by one. Sorted by period, latest first,
    then by adcode.

    >>> import pandas as pd
    >>> tree = AreaTree("990000", "Toy", pd.DataFrame({
    ...     "adcode": ["990101", "990102", "990103", "990201", "990202", "990301"],
    ...     "name": ["A1", "A2", "A3", "B1", "B2", "C1"],
    ...     "prefecture_adcode": ["990100"] * 3 + ["990200"] * 2 + ["990300"],
    ...     "prefecture": ["A", "A", "A", "B", "B", "C"]}))
    >>> dates = pd.DataFrame({"adcode": tree.units("990000"), "period": [
    ...     "2026Q2", "2025Q4", "2025Q4", "2026Q1", "2026Q1", "2025Q4"]})
    >>> date_groups(dates, tree)
    [('A1', '2026Q2'), ('B', '2026Q1'), ('', '2025Q4')]
    """
    if dates["period"].nunique() <= 1:
        return []
    counts = dates["period"].astype(str).value_counts()
    common = max(counts.index, key=lambda p: (counts[p], p))  # a tie: the later period
    frame = dates.assign(
        period=dates["period"].astype(str), prefecture_adcode=tree.prefecture_of(dates["adcode"])
    )
    found: list[tuple[str, str, str]] = []
    for code, whole in frame.groupby("prefecture_adcode", sort=True):
        part = whole[whole["period"] != common]
        if part.empty:
            continue
        if len(part) == len(whole) and part["period"].nunique() == 1 and code != tree.region:
            found.append((part["period"].iloc[0], code, tree.name(code)))
        else:
            found += [
                (p, a, tree.name(a)) for a, p in zip(part["adcode"], part["period"], strict=True)
            ]
    found.sort(key=lambda item: (item[0], item[1]))
    found.sort(key=lambda item: item[0], reverse=True)
    return [(name, period) for period, _, name in found] + [(REST, common)]


def _percent(x: float) -> str:
    return f"{x:.0%}"


def status_summary(rates: pd.DataFrame, *, period: str, due: str, lang: str = "zh") -> str:
    """One line about the region: approved of expected, on time, pending, returned."""
    from geoapp.i18n import t

    region = rates.iloc[-1]
    return t("status.summary", lang).format(
        period=period,
        due=due,
        rate=_percent(region["rate"]),
        **{k: f"{int(region[k]):,}" for k in ("approved", "expected", "on_time", *STATES[2:])},
    )


def status_table(status: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """:func:`reporting_status` with its states and headers in ``lang``, for a page or a
    file: one row per unit."""
    from geoapp.i18n import t

    columns = ["adcode", "name", "prefecture", "state", "area", "submission_id", "submitted_at"]
    table = status[columns].copy()
    table["state"] = [t(f"state.{s}", lang) for s in table["state"]]
    table["submitted_at"] = table["submitted_at"].str[:16].str.replace("T", " ")
    return table.rename(columns={c: t(f"status.{c}", lang) for c in columns})


def status_workbook(
    status: pd.DataFrame,
    rates: pd.DataFrame,
    dest: object,
    *,
    period: str,
    due: str,
    dataset: str,
    lang: str = "zh",
) -> None:
    """The reporting status as an Excel workbook (one row per unit; a second sheet with
    the period, the due date, the region's line and one line per prefecture)."""
    from geoapp import export
    from geoapp.i18n import t

    lines = [
        t("status.rate_line", lang).format(
            name=r["name"],
            approved=f"{int(r['approved']):,}",
            expected=f"{int(r['expected']):,}",
            rate=_percent(r["rate"]),
            on_time=f"{int(r['on_time']):,}",
        )
        for _, r in rates.iloc[:-1].iterrows()
    ]
    meta = {
        t("status.meta.period", lang): period,
        t("status.meta.due", lang): due,
        t("status.meta.dataset", lang): t(f"dataset.{dataset}", lang),
        t("status.meta.region", lang): status_summary(rates, period=period, due=due, lang=lang),
        t("status.meta.rates", lang): "\n".join(lines) or "-",
        t("status.meta.made", lang): pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%d %H:%M"),
    }
    export.to_xlsx(
        status_table(status, lang),
        dest,  # type: ignore[arg-type]
        headers=None,
        meta=meta,
        sheet_name=t("sheet.status", lang),
        meta_sheet_name=t("sheet.about", lang),
        text_columns=(t("status.adcode", lang), t("status.area", lang)),
    )
