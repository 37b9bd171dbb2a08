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

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from geoapp import i18n
from geoapp.ingest.gate import FileProblem
from geoapp.localised import Localised, OneOf, Word

__all__ = [
    "REASON_LABELS",
    "Label",
    "Msg",
    "RowLog",
    "Sentences",
    "cell_text",
    "cell_texts",
    "msg",
    "reason_label",
]


def problem_text(
    exc: BaseException, lang: str = i18n.DEFAULT_LANGUAGE, *, detail: bool = True
) -> str:
    """What a user reads about a file, a store or an access that cannot be used, in ``lang``.

    English is the exception's own message, which carries every detail (the part of the
    archive, the sizes, the limits). Chinese is the keyed text of the i18n table: the
    ``file.<key>`` entry of a :class:`~geoapp.ingest.gate.FileProblem`, the ``key`` entry
    itself of a :class:`~geoapp.localised.Localised` error (the store, the areas, the
    edits, the accounts), its word parameters in Chinese too; otherwise the message
    with a Chinese lead-in (a file's for a file problem, a generic one for the rest).

    ``detail=False`` (a page) reads a keyed error from the table in English too: the
    store's own failures name its file or server in their message, which a browser
    must not show (the server's log keeps it).

    Examples
    --------
    >>> from geoapp.localised import AccessDenied, action_word
    >>> exc = AccessDenied("sign in to submit data", key="problem.access.sign_in",
    ...                    action=action_word("submit data"))
    >>> problem_text(exc, "zh"), problem_text(exc, "en")
    ('请先登录，才能报送数据', 'sign in to submit data')
    """
    key = getattr(exc, "key", None)
    if lang == "en" and (detail or not (isinstance(exc, Localised) and key)):
        return str(exc)
    if isinstance(exc, Localised):
        if not key:
            return i18n.t("problem.other", lang).format(detail=exc)
        values = {k: _param(v, lang) for k, v in exc.params.items()}
        return i18n.t(key, lang).format_map(values)
    if key:
        return i18n.t(f"file.{key}", lang).format_map(getattr(exc, "params", {}))
    if isinstance(exc, (FileProblem, OSError)) and not isinstance(exc, PermissionError):
        return i18n.t("file.other", lang).format(detail=exc)
    return i18n.t("problem.other", lang).format(detail=exc)


def reason_label(code: str, lang: str = i18n.DEFAULT_LANGUAGE) -> str:
    """The short word for a reason code (``duplicate`` -> 重复), the code itself if unknown."""
    return i18n.load_table()[lang].get(f"reason_code.{code}", code)


def _reason_labels() -> dict[str, tuple[str, str]]:
    table = i18n.load_table()
    start = "reason_code."
    return {
        k[len(start) :]: (v, table["en"][k]) for k, v in table["zh"].items() if k.startswith(start)
    }


# Code -> (Chinese, English) short words, from the i18n table (kept for the summaries).
REASON_LABELS: dict[str, tuple[str, str]] = _reason_labels()


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


def repeated(value: Any, n: int) -> np.ndarray:
    """An object array of ``n`` references to one ``value``.

    ``np.full(n, "text", dtype=object)`` makes a new str for every cell (it casts from
    a numpy string), about 90 ms and 60 MB a million rows; this fills in references.

    Examples
    --------
    >>> a = repeated("accepted", 3)
    >>> a.tolist(), a[0] is a[2]
    (['accepted', 'accepted', 'accepted'], True)
    """
    out = np.empty(n, dtype=object)
    out.fill(value)
    return out


_strip = np.frompyfunc(str.strip, 1, 1)  # str.strip of every cell, in one ufunc loop


def cell_texts(series: pd.Series, *, missing: np.ndarray | None = None) -> np.ndarray:
    """:func:`cell_text` of every cell of a column, as an object array.

    Text cells are stripped in one ufunc loop, missing cells (None, NaN ...) read one
    by one; a column holding anything else (numbers from a workbook) cell by cell.
    ``missing`` is ``series.isna()`` where the caller knows it already.

    Examples
    --------
    >>> cell_texts(pd.Series([" 长春 ", None, "x", float("nan")], dtype=object)).tolist()
    ['长春', '', 'x', 'nan']
    """
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values) if missing is None else np.asarray(missing, dtype=bool)
    if not missing.any() and pd.api.types.infer_dtype(values, skipna=False) == "string":
        return _strip(values)  # text in every cell: the usual name or address column
    out = np.empty(len(values), dtype=object)
    if missing.any():
        gone = values[missing].tolist()
        if gone.count(None) == len(gone):  # a column the register leaves empty or lacks
            out[missing] = ""
        else:
            out[missing] = ["" if v is None else cell_text(v) for v in gone]
    rest = values[~missing]
    if pd.api.types.infer_dtype(rest, skipna=False) in ("string", "empty"):
        out[~missing] = _strip(rest)
    else:
        out[~missing] = [cell_text(v) for v in rest]
    return out


@dataclass(frozen=True)
class Msg:
    """A reason as data: an i18n key under ``reason.`` and its parameters.

    It is rendered in the reader's language only when the report is made, so that the
    same row log gives a Chinese or an English report. A parameter may itself be a
    :class:`Msg` (rendered in the same language) or a list (joined with 、 or a comma).

    Examples
    --------
    >>> Msg("duplicate_county", {"row": 7, "county": "长白县"}).text("zh")
    '与第 7 行重复（同一县：长白县）'
    >>> msg("address_error", address="长白县", error=msg("lookup_unknown", given="x")).text("zh")
    '地址“长白县”：无法识别“x”'
    """

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str = i18n.DEFAULT_LANGUAGE) -> str:
        values = {k: _param(v, lang) for k, v in self.params.items()}
        return i18n.t(f"reason.{self.key}", lang).format_map(values)


@dataclass(frozen=True)
class Label:
    """A parameter that is itself a label of the i18n table (a facility type's name)."""

    key: str


class Sentences(tuple):
    """A parameter of several reasons, joined as sentences (； or ;) rather than as a list."""

    __slots__ = ()


def msg(key: str, **params: Any) -> Msg:
    """A :class:`Msg`; ``msg("no_name")`` is the reason "缺少名称" / "no name"."""
    return Msg(key, params)


def _param(value: Any, lang: str) -> Any:
    if isinstance(value, Word):
        return i18n.load_table()[lang].get(value.key, value.text)
    if isinstance(value, OneOf):
        return ("或" if lang == "zh" else " or ").join(str(_param(v, lang)) for v in value)
    if isinstance(value, BaseException):
        return problem_text(value, lang)
    if isinstance(value, Msg):
        return value.text(lang)
    if isinstance(value, Label):
        return i18n.t(value.key, lang)
    if isinstance(value, Sentences):
        return ("；" if lang == "zh" else "; ").join(str(_param(v, lang)) for v in value)
    if isinstance(value, (list, tuple)):
        return ("、" if lang == "zh" else ", ").join(str(_param(v, lang)) for v in value)
    return value


class RowLog:
    """Reasons per row: (code, severity, mask, messages) entries, combined at the end.

    A message is one :class:`Msg` for all rows, a function of the row position (called
    for the rows of the mask only) or an object array of them; it is rendered in the
    report's language by :meth:`texts`.
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
        elif not isinstance(message, (Msg, np.ndarray)):
            msg_ = f"a reason is a Msg, a function or an array of Msg, not {message!r}"
            raise TypeError(msg_)
        self.entries.append((code, severity, mask, message))

    def mask(self, severity: str) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        for _, sev, mask, _ in self.entries:
            if sev == severity:
                out |= mask
        return out

    def status(self) -> np.ndarray:
        status = repeated("accepted", self.n)
        for severity in reversed(self.SEVERITIES):  # skipped beats rejected beats flagged
            status[self.mask(severity)] = severity
        return status

    def texts(self, lang: str = i18n.DEFAULT_LANGUAGE) -> tuple[list[str], list[str]]:
        """The reasons (in ``lang``, joined with "; ") and the codes of every row.

        Works per entry over its mask, not per row: a constant reason is rendered once.
        """
        reasons = repeated("", self.n)
        codes = repeated("", self.n)
        seen: dict[str, np.ndarray] = {}
        joiner = "；" if lang == "zh" else "; "
        ordered = sorted(self.entries, key=lambda e: self.SEVERITIES.index(e[1]))  # stable
        for code, _, mask, message in ordered:  # what rejects a row comes before flags
            rows = np.flatnonzero(mask)
            if isinstance(message, Msg):
                rendered: Any = message.text(lang)
            else:
                rendered = np.array([_render(m, lang) for m in message[rows]], dtype=object)
            head = reasons[rows]
            reasons[rows] = np.where(head == "", rendered, head + joiner + rendered)
            new = ~seen.setdefault(code, np.zeros(self.n, dtype=bool))[rows]
            fresh = rows[new]
            head = codes[fresh]
            codes[fresh] = np.where(head == "", code, head + ";" + code)
            seen[code][fresh] = True
        return reasons.tolist(), codes.tolist()


def _render(message: Any, lang: str) -> str:
    if isinstance(message, Msg):
        return message.text(lang)
    return "" if message is None else str(message)
