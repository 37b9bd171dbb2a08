"""Provenance phrases shown in the reader's language: where data came from, what a
version note or an audit note says.

The store, the gap engine and the command line record these phrases in English, once,
when data are written (``"created from the embedded demo data"``, ``"embedded demo
facilities"``, ``"as_of 2025-10-01 is not a quarter end …"``): a note is history and is
never rewritten. This module recognises the forms they write and renders them in
Chinese or English from ``data/i18n.toml`` (keys ``source.*`` and ``note.*``) when they
are shown or exported. Anything it does not recognise (a file path, a steward's own
note) comes back unchanged. It imports only :mod:`geoapp.i18n`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from geoapp.i18n import DEFAULT_LANGUAGE, t

__all__ = ["SOURCE_KEYS", "note_text", "source_text", "sources_text", "who_text"]

#: The English source labels recorded by the store, the gap engine, the CLI and the
#: pages, and their i18n keys.
SOURCE_KEYS: dict[str, str] = {
    "embedded demo data": "source.embedded_demo",
    "embedded data": "source.embedded",
    "no embedded data for this region": "source.no_embedded",
    "embedded demo facilities": "source.embedded_demo_facilities",
    "embedded facilities": "source.embedded_facilities",
    "embedded demo unemployed-disabled estimate": "source.embedded_demo_unemployed",
    "embedded counts": "source.embedded_counts",
    "stored facilities": "source.stored_facilities",
    "stored counts": "source.stored_counts",
    "no facilities yet": "source.no_facilities",
    "no unemployed-disabled counts yet": "source.no_unemployed",
}
#: Who wrote a version when no person did (the store's creation from its seed).
SYSTEM_USERS = ("system",)
_DATASETS = ("facilities", "unemployed")


def source_text(label: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """One source label in ``lang``; a file name or path is returned as given.

    Examples
    --------
    >>> source_text("embedded demo facilities", "zh")
    '内置演示设施数据'
    >>> source_text("registers/长白县.xlsx", "en")
    'registers/长白县.xlsx'
    """
    key = SOURCE_KEYS.get(str(label).strip())
    return t(key, lang) if key else str(label)


def sources_text(labels: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """Source labels in ``lang``, joined as the "数据来源文件"/"Source files" row of a gap
    list shows them (:func:`geoapp.export.gap_meta`: ``"; "``, file names being ASCII)."""
    return "; ".join(source_text(label, lang) for label in labels)


def who_text(who: object, lang: str = DEFAULT_LANGUAGE) -> object:
    """The writer of a version or an event: ``system`` in ``lang``, a person's name as is."""
    return t("note.system", lang) if who in SYSTEM_USERS else who


def _dataset(code: str, lang: str) -> str:
    return t(f"dataset.{code}", lang) if code in _DATASETS else code


def _tail(note: str, lang: str) -> str:
    """A steward's own note after a recorded sentence ("". note"), kept as typed."""
    return t("note.tail", lang).format(note=note) if note else ""


def _created(m: re.Match, lang: str) -> str:
    return t("note.created_from", lang).format(source=source_text(m["source"], lang))


def _created_empty(m: re.Match, lang: str) -> str:
    return t("note.created_empty", lang).format(source=source_text(m["source"], lang))


def _no_valid_row(m: re.Match, lang: str) -> str:
    return t("note.no_valid_row", lang) + _tail(m["note"] or "", lang)


def _not_stored(m: re.Match, lang: str) -> str:
    others = [_other_file(part, lang) for part in m["others"].split(", ")]
    text = t("note.not_stored", lang).format(others=t("note.separator", lang).join(others))
    return text + _tail(m["note"] or "", lang)


def _other_file(part: str, lang: str) -> str:
    for suffix, key in (
        (" has no valid row", "note.file_empty"),
        (" was refused", "note.file_refused"),
    ):
        if part.endswith(suffix):
            return t(key, lang).format(file=part[: -len(suffix)])
    return part


def _rollback(m: re.Match, lang: str) -> str:
    text = t("note.rollback", lang).format(
        dataset=_dataset(m["dataset"], lang), previous=m["previous"], version=m["version"]
    )
    return text + _tail(m["note"] or "", lang)


def _submitted(m: re.Match, lang: str) -> str:
    text = t("note.submitted", lang).format(rows=m["rows"], closes=m["closes"])
    return text + _tail(m["note"] or "", lang)


def _as_of(m: re.Match, lang: str) -> str:
    parts = []
    if m["quarter"]:
        parts.append(t("note.not_quarter_end", lang).format(day=m["day"]))
    if m["future"]:
        parts.append(t("note.in_future", lang).format(day=m["day"]))
    return t("note.separator", lang).join(parts)


_ALL_OR_NOTHING = "the files of one import are stored together or not at all"
_NOTES: tuple[tuple[re.Pattern[str], Callable[[re.Match, str], str]], ...] = (
    (re.compile(r"created from the (?P<source>.+)"), _created),
    (re.compile(r"created empty: (?P<source>.+)"), _created_empty),
    (re.compile(r"no valid row: no version made\.(?: (?P<note>.*))?", re.S), _no_valid_row),
    (
        re.compile(
            rf"not stored: (?P<others>.+?); {re.escape(_ALL_OR_NOTHING)}\.(?: (?P<note>.*))?", re.S
        ),
        _not_stored,
    ),
    (
        re.compile(
            r"(?P<dataset>\w+): version (?P<previous>\d+) -> (?P<version>\d+)(?:\. (?P<note>.*))?",
            re.S,
        ),
        _rollback,
    ),
    (
        re.compile(r"(?P<rows>\d+) rows, closes (?P<closes>\d+)\.(?: (?P<note>.*))?", re.S),
        _submitted,
    ),
    (
        re.compile(
            r"as_of (?P<day>\d{4}-\d\d-\d\d) (?:(?P<quarter>is not a quarter end \(03-31, 06-30, "
            r"09-30, 12-31\); recorded as given)(?:; as_of \d{4}-\d\d-\d\d )?)?"
            r"(?P<future>is in the future)?"
        ),
        _as_of,
    ),
)


def note_text(note: object, lang: str = DEFAULT_LANGUAGE) -> object:
    """A version or audit note in ``lang`` when it is one of the recorded forms; any
    other note (a steward's own words, an unknown form) unchanged.

    Examples
    --------
    >>> note_text("created from the embedded demo data", "zh")
    '由内置演示数据创建'
    >>> note_text("facilities: version 2 -> 1. 误传", "zh")
    '设施登记表：由版本 2 回滚到版本 1。误传'
    >>> note_text("第二季度登记", "en")
    '第二季度登记'
    """
    if not isinstance(note, str):
        return note
    for pattern, render in _NOTES:
        match = pattern.fullmatch(note.strip())
        if match and (render is not _as_of or match["quarter"] or match["future"]):
            return render(match, lang)
    return note
