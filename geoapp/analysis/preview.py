"""What an upload would change, before it is written: the data page's preview.

Pure functions over frames: the counts per county before and after, the gaps the new
register would close or open (:func:`diff_gap_tables`, on frames, so nothing has to be
stored first; :meth:`geoapp.store.Store.diff_gaps` compares stored versions with it),
the rows a steward must fix, and the header cells a register offers for mapping
columns by hand.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from geoapp import export, i18n, ingest
from geoapp.analysis.coverage import compute_gaps
from geoapp.facilities import FACILITY_TYPES
from geoapp.policy import STRENGTHS, Policy
from geoapp.schema import STATUSES

__all__ = [
    "FIX_COLUMNS",
    "county_changes",
    "diff_gap_tables",
    "gap_changes",
    "header_texts",
    "last_quarter_end",
    "merge_area",
    "rows_to_fix",
    "type_counts",
]

#: Columns of :func:`rows_to_fix`, in order: where, what happened, then the row as written.
FIX_COLUMNS = (
    "row",
    "status",
    "reasons",
    "facility_id",
    "name",
    "type",
    "city",
    "county",
    "address",
    "lon",
    "lat",
    "datum",
    "note",
)
_GAP_COLUMNS = [
    "change",
    "rule_id",
    "strength",
    "level",
    "facility_type",
    "adcode",
    "prefecture_adcode",
    "city",
    "county",
    "unit_kind",
    "required",
    "actual_before",
    "actual_after",
    "shortfall_before",
    "shortfall_after",
    "unemployed_disabled",
    "clause",
]


def last_quarter_end(today: object) -> object:
    """The last quarter end strictly before ``today`` (a :class:`datetime.date`).

    Examples
    --------
    >>> from datetime import date
    >>> last_quarter_end(date(2025, 11, 3)), last_quarter_end(date(2026, 1, 1))
    (datetime.date(2025, 9, 30), datetime.date(2025, 12, 31))
    """
    day = today if isinstance(today, date) else date.fromisoformat(str(today))
    first_of_quarter = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return first_of_quarter - timedelta(days=1)


def merge_area(
    current: pd.DataFrame, submitted: pd.DataFrame, units: list[str], *, whole_region: bool
) -> pd.DataFrame:
    """The data as they would be once a submission for an area is approved: ``current``
    outside the area's ``units`` unchanged, plus the ``submitted`` rows inside them.

    A submission for the whole region replaces everything (``submitted`` as given).
    Rows are matched on ``adcode``; submitted rows outside the units are not taken.

    Examples
    --------
    >>> cur = pd.DataFrame({"adcode": ["1", "1", "2"], "n": [1, 2, 3]})
    >>> new = pd.DataFrame({"adcode": ["1", "3"], "n": [9, 8]})
    >>> merge_area(cur, new, ["1"], whole_region=False)["n"].tolist()
    [3, 9]
    """
    if whole_region:
        return submitted
    inside = submitted[submitted["adcode"].astype(str).isin(units)]
    kept = current[~current["adcode"].astype(str).isin(units)]
    merged = pd.concat([kept, inside], ignore_index=True)
    return type(current)(merged) if hasattr(current, "geometry") else merged


def county_changes(
    counties: pd.DataFrame,
    *,
    before: pd.DataFrame,
    after: pd.DataFrame,
    dataset: str = "facilities",
) -> pd.DataFrame:
    """Per county, the number before and after: facilities (by ``adcode``) or the
    unemployed-disabled count.

    Returns ``adcode, prefecture, county, before, after, change`` for every county,
    changed counties first (largest change in absolute value first), then by adcode.
    """
    base = pd.DataFrame(
        {
            "adcode": counties["adcode"].astype(str).to_numpy(),
            "prefecture": counties["prefecture"].to_numpy(),
            "county": counties["name"].to_numpy(),
        }
    )

    def per_county(frame: pd.DataFrame) -> pd.Series:
        codes = frame["adcode"].astype(str)
        if dataset == "facilities":
            return codes.value_counts()
        values = pd.to_numeric(frame["unemployed_disabled"], errors="coerce")
        return pd.Series(values.to_numpy(), index=codes.to_numpy()).groupby(level=0).sum()

    out = base.assign(
        before=base["adcode"].map(per_county(before)).fillna(0).astype("int64"),
        after=base["adcode"].map(per_county(after)).fillna(0).astype("int64"),
    )
    out["change"] = out["after"] - out["before"]
    out = out.assign(_moved=out["change"].abs()).sort_values(
        ["_moved", "adcode"], ascending=[False, True]
    )
    return out.drop(columns="_moved").reset_index(drop=True)


def diff_gap_tables(
    before: pd.DataFrame, after: pd.DataFrame, *, strengths: Sequence[str] = STRENGTHS
) -> pd.DataFrame:
    """Gaps closed and opened between two :attr:`GapResult.table` s of the same policy
    and reading.

    A gap is a row with a shortfall. One row per change: ``change`` ("closed" or
    "opened"), ``rule_id, strength, level, facility_type, adcode, prefecture_adcode,
    city, county, unit_kind, required, actual_before, actual_after, shortfall_before,
    shortfall_after, unemployed_disabled, clause``; closed first, then by strength in
    the order of ``strengths`` (the policy's :data:`geoapp.policy.STRENGTHS`: mandatory,
    aspirational, target; any other strength last), then by adcode and rule.
    :meth:`geoapp.store.Store.diff_gaps` compares two stored versions with it.
    """
    key = ["rule_id", "adcode"]
    static = [
        "strength",
        "level",
        "facility_type",
        "prefecture_adcode",
        "city",
        "county",
        "unit_kind",
        "required",
        "unemployed_disabled",
        "clause",
    ]
    left = before[[*key, *static, "actual", "shortfall"]]
    right = after[[*key, "actual", "shortfall"]]
    both = left.merge(right, on=key, suffixes=("_before", "_after"), validate="one_to_one")
    was, now = both["shortfall_before"] > 0, both["shortfall_after"] > 0
    change = np.select([was & ~now, ~was & now], ["closed", "opened"], default="")
    out = both.assign(change=change)[change != ""]
    order = {s: i for i, s in enumerate(strengths)}
    out = out.assign(
        _c=out["change"].map({"closed": 0, "opened": 1}),
        _s=out["strength"].map(order).fillna(len(order)),
    )
    out = out.sort_values(["_c", "_s", "adcode", "rule_id"])
    return out[_GAP_COLUMNS].reset_index(drop=True)


def gap_changes(
    policy: Policy | str | Path,
    *,
    counties: pd.DataFrame,
    facilities_before: pd.DataFrame,
    facilities_after: pd.DataFrame,
    unemployed_before: pd.DataFrame,
    unemployed_after: pd.DataFrame,
    reading: str = "literal",
) -> pd.DataFrame:
    """The gaps an upload would close or open: :func:`compute_gaps` on the current and
    the uploaded data, then :func:`diff_gap_tables`.

    For a facility upload pass the same counts twice; for a count upload the same
    facilities twice.
    """
    tables = [
        compute_gaps(policy, counties=counties, facilities=f, unemployed=u, reading=reading).table
        for f, u in ((facilities_before, unemployed_before), (facilities_after, unemployed_after))
    ]
    return diff_gap_tables(*tables)


def rows_to_fix(report: pd.DataFrame) -> pd.DataFrame:
    """The rejected and flagged rows of an import report, with their Excel row and reason,
    in the file's order: what the steward fixes at the source before uploading again."""
    rows = report[report["status"].isin(["rejected", "flagged"])]
    columns = [c for c in FIX_COLUMNS if c in rows.columns]
    return rows[columns].reset_index(drop=True)


def reason_words(codes: pd.Series, lang: str) -> pd.Series:
    """The short words of each row's reason codes (``duplicate;dms`` -> 重复；度分秒已转换)."""
    sep = "；" if lang == "zh" else "; "
    words = {c: ingest.reason_label(c, lang) for c in ingest.REASON_LABELS}

    def said(text: object) -> str:
        return sep.join(words.get(c, c) for c in str(text).split(";") if c)

    filled = codes.fillna("")
    if pd.api.types.infer_dtype(filled, skipna=False) not in ("string", "empty"):
        return filled.map(said)  # numbers too: 1 and 1.0 are two texts
    return _each_distinct(filled, said)


def _each_distinct(texts: pd.Series, function: Any) -> pd.Series:
    """``texts.map(function)`` (typed as it types it) for a column of text, with
    ``function`` called once per distinct text and no Python call per row.

    Examples
    --------
    >>> _each_distinct(pd.Series(["a", "b", "a"], dtype="str"), str.upper).tolist()
    ['A', 'B', 'A']
    """
    codes, distinct = pd.factorize(texts, use_na_sentinel=False)
    words = [function(text) for text in distinct]
    if isinstance(texts.dtype, pd.StringDtype):
        values: Any = pd.array(words, dtype=texts.dtype).take(codes)
    else:
        values = np.array(words, dtype=object)[codes]
    return pd.Series(values, index=texts.index, name=texts.name)


def report_table(report: pd.DataFrame, lang: str) -> pd.DataFrame:
    """An import report as people read it, in one language: a 原因 column of short
    words beside the detailed reasons, row statuses as words, headings from the i18n
    table; the reason codes themselves are left out. The row order is the file's."""
    words = {s: i18n.t(f"row_status.{s}", lang) for s in STATUSES}
    table = report.drop(columns=["codes"], errors="ignore").assign(
        status=_each_distinct(report["status"], words.__getitem__),
    )
    table.insert(2, "problem", reason_words(report["codes"], lang))
    return table.rename(columns={c: _report_heading(c, lang) for c in table.columns})


def _report_heading(column: str, lang: str) -> str:
    table = i18n.load_table()[lang]
    return table.get(f"report.{column}", table.get(f"col.{column}", column))


def fix_list_workbook(
    imported: ingest.FacilityImport | ingest.CountImport,
    *,
    label: str,
    dataset: str,
    lang: str,
    now: datetime | None = None,
) -> bytes:
    """The rows to fix (rejected and flagged) as an XLSX in one language: Excel row,
    status, reason, the row as written; a 说明 sheet naming the file and how to use it."""
    rows = imported.report[imported.report["status"].isin(["rejected", "flagged"])]
    fix = rows_to_fix(imported.report).assign(
        problem=reason_words(rows["codes"].reset_index(drop=True), lang)
    )
    first = ["row", "status", "problem", "reasons"]
    columns = [*first, *[c for c in fix.columns if c not in first]]
    when = (now or datetime.now(UTC)).astimezone().strftime("%Y-%m-%d %H:%M")
    meta = {
        i18n.t("fix.meta.file", lang): label,
        i18n.t("fix.meta.dataset", lang): i18n.t(f"dataset.{dataset}", lang),
        i18n.t("fix.meta.rows", lang): len(fix),
        i18n.t("fix.meta.made", lang): when,
        i18n.t("fix.meta.use", lang): i18n.t("fix.meta.use_text", lang),
    }
    return export.to_bytes(
        "xlsx",
        fix[columns],
        headers={c: _report_heading(c, lang) for c in columns},
        meta=meta,
        sheet_name=i18n.t("fix.sheet", lang),
        meta_sheet_name=i18n.t("fix.meta_sheet", lang),
        value_labels={"status": {s: i18n.t(f"row_status.{s}", lang) for s in STATUSES}},
        text_columns=("facility_id", "adcode"),
    )


def header_texts(data: bytes, file_name: str, *, rows: int = 30) -> list[str]:
    """The distinct non-empty cells of the first ``rows`` rows of a register, in order:
    the choices for mapping a column by hand when detection found no header."""
    buffer = io.BytesIO(bytes(data))
    buffer.name = file_name
    table = ingest.read_table(buffer, sheet=None)  # the reader's own view of the sheet
    first: list[str] = []
    for row in table.rows[:rows]:
        texts = [str(v).strip() for v in row if v is not None and str(v).strip()]
        distinct = list(dict.fromkeys(t for t in texts if len(t) <= 60 and not _is_number(t)))
        if len(distinct) >= 3:  # a title merged across the table repeats one text
            return distinct
        first = first or distinct
    return first


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def type_counts(frame: pd.DataFrame) -> Mapping[str, int]:
    """Facilities per type (every type, zeros included)."""
    counts = frame["facility_type"].value_counts()
    return {t: int(counts.get(t, 0)) for t in FACILITY_TYPES}
