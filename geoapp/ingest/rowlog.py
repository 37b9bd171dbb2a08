"""The per-row status log: what became of every data row of a register, and why.

Nothing is dropped silently. Every data row ends in one status of
:data:`geoapp.schema.STATUSES`:

- ``accepted``: used as it is;
- ``flagged``: used, but someone should look at it;
- ``rejected``: not used; the reasons say what to fix;
- ``skipped``: not a record at all (a blank row, a heading row, a continuation, a total).

A reader adds reasons as it goes (:meth:`RowLog.add`: a reason code, a severity, a mask
of rows and a message); the status is the worst severity a row collected (skipped beats
rejected beats flagged) and its reasons are joined in the order they were added, what
rejects a row before what flags it. This module also owns the words for the reason
codes (:data:`REASON_LABELS`) and how a cell reads as text (:func:`cell_text`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["REASON_LABELS", "RowLog", "cell_text", "cell_texts"]

# Chinese and English words for the reason codes, used by the summaries.
REASON_LABELS: dict[str, tuple[str, str]] = {
    "blank_row": ("空行", "blank row"),
    "heading_row": ("标题行", "heading row"),
    "continuation": ("续行", "continuation row"),
    "continued": ("地址跨行", "address continued"),
    "formula_no_value": ("公式无值", "formula without value"),
    "no_name": ("缺名称", "no name"),
    "no_type": ("缺类型", "no type"),
    "unknown_type": ("类型无法识别", "unknown type"),
    "ambiguous_type": ("类型不明确", "ambiguous type"),
    "bad_coordinates": ("坐标无法识别", "unreadable coordinates"),
    "partial_coordinates": ("坐标不完整", "half a coordinate pair"),
    "zero_coordinates": ("坐标为0", "0, 0 coordinates"),
    "dms": ("度分秒已转换", "degrees-minutes converted"),
    "swapped": ("经纬度颠倒", "lon/lat swapped"),
    "unknown_datum": ("坐标系无法识别", "unknown datum"),
    "outside_region": ("坐标在区域外", "outside the region"),
    "county_mismatch": ("县区与坐标不符", "county contradicts coordinates"),
    "city_mismatch": ("市州与坐标不符", "city contradicts coordinates"),
    "declared_unresolved": ("县区无法识别", "declared county not recognised"),
    "city_unresolved": ("市州无法识别", "declared city not recognised"),
    "county_unresolved": ("县区无法识别", "county not recognised"),
    "county_outside_region": ("县区在区域外", "county outside the region"),
    "address_unresolved": ("地址无法定位", "address gives no county"),
    "no_location": ("无位置信息", "no location"),
    "no_coordinates": ("无坐标", "no coordinates"),
    "duplicate": ("重复", "duplicate"),
    "same_name_nearby": ("同名邻近", "same name nearby"),
    "duplicate_id": ("编号重复", "duplicate id"),
    "total_row": ("合计行", "total row"),
    "no_unit": ("缺县区", "no county"),
    "bad_adcode": ("代码无效", "invalid adcode"),
    "unit_mismatch": ("代码与名称不符", "code and name disagree"),
    "no_count": ("缺人数", "no count"),
    "bad_count": ("人数无效", "invalid count"),
}


def cell_text(value: Any) -> str:
    """A cell as the user reads it ('' when blank).

    Examples
    --------
    >>> cell_text(220102.0), cell_text(" 长春 "), cell_text(None)
    ('220102', '长春', '')
    """
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


def cell_texts(series: pd.Series) -> np.ndarray:
    """:func:`cell_text` of every cell of a column, as an object array."""
    return np.array([cell_text(v) for v in series.to_numpy()], dtype=object)


class RowLog:
    """Reasons per row: (code, severity, mask, messages) entries, combined at the end.

    A message is one string for all rows, or a function of the row position evaluated
    at once for the rows of the mask only.
    """

    SEVERITIES = ("skipped", "rejected", "flagged")

    def __init__(self, n: int) -> None:
        self.n = n
        self.entries: list[tuple[str, str, np.ndarray, Any]] = []

    def add(self, code: str, severity: str, mask: Any, message: Any) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        if callable(message):
            texts = np.full(self.n, None, dtype=object)
            for i in np.flatnonzero(mask):
                texts[i] = message(int(i))
            message = texts
        self.entries.append((code, severity, mask, message))

    def mask(self, severity: str) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for _, sev, mask, _ in self.entries:
            if sev == severity:
                out |= mask
        return out

    def status(self) -> np.ndarray:
        status = np.full(self.n, "accepted", dtype=object)
        for severity in reversed(self.SEVERITIES):  # skipped beats rejected beats flagged
            status[self.mask(severity)] = severity
        return status

    def texts(self) -> tuple[list[str], list[str]]:
        reasons: list[list[str]] = [[] for _ in range(self.n)]
        codes: list[list[str]] = [[] for _ in range(self.n)]
        ordered = sorted(self.entries, key=lambda e: self.SEVERITIES.index(e[1]))  # stable
        for code, _, mask, message in ordered:  # what rejects a row comes before flags
            constant = isinstance(message, str)
            for i in np.flatnonzero(mask):
                reasons[i].append(message if constant else message[i])
                codes[i].append(code)
        return ["; ".join(r) for r in reasons], [";".join(dict.fromkeys(c)) for c in codes]
