"""The national code history: every code since 1981, and which current codes it became.

Owns reading ``admin_code_history.csv`` (every county-level and higher GB/T 2260 code of
the PRC since 1981, as the Ministry of Civil Affairs published them; yescallop/areacodes
``result.csv``, CC0 1.0) into :class:`CodeHistory`, which answers three questions:

- which codes are in use today, under which name (:meth:`CodeHistory.current`);
- which current codes an old code became (:meth:`CodeHistory.old_units`): a code
  renamed in place keeps its code, a retired code is followed from successor to
  successor until codes in use; one current successor is a rename or a merge, several
  are a split, which only coordinates or an address can settle;
- which units gave territory to a new one (:meth:`CodeHistory.donors`), to say where a
  unit the boundary source does not know yet is drawn.

A successor written ``130404[2014]`` is a partial transfer of territory in 2014, not
what the code became when it changed; only the plain successors (or those marked with
the year of the change) are followed. Imports nothing of geoapp outside
:mod:`geoapp.admin` (``names``, ``tables``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

import pandas as pd

from geoapp.admin.names import normalise_name
from geoapp.admin.tables import load_code_history, require_columns

__all__ = ["HISTORY_COLUMNS", "CodeHistory", "HistoryRow", "OldUnit"]

HISTORY_COLUMNS = {
    "代码": "code",
    "一级行政区": "province",
    "二级行政区": "prefecture",
    "名称": "name",
    "级别": "level",
    "状态": "status",
    "启用时间": "start",
    "变更/弃用时间": "end",
    "新代码": "successors",
}
_LEVELS = {"省级": "province", "地级": "prefecture", "县级": "county"}
_STATUSES = {"在用": "current", "变更": "changed", "弃用": "retired"}
_SUCCESSOR = re.compile(r"(\d{6})(?:\[(\d{4})\])?")
_DIRECT = ("", "直辖")  # no prefecture: a municipality's or a province's own unit


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """One row of the history: one code under one name for one span of years."""

    code: str
    name: str
    level: str  # province | prefecture | county
    province: str
    prefecture: str  # as written; '直辖' or '' for units directly under the province
    status: str  # current | changed | retired
    start: int
    end: int | None
    successors: tuple[str, ...]  # what the code became at ``end``
    transfers: tuple[tuple[str, int], ...]  # (code, year): territory given away earlier

    @property
    def place(self) -> str:
        """The prefecture it lay in, or its province when directly under it."""
        return self.province if self.prefecture in _DIRECT else self.prefecture

    @property
    def label(self) -> str:
        return f"{self.code} {self.name} ({self.place})"


@dataclass(frozen=True, slots=True)
class OldUnit:
    """A code under a name no longer in use, and the current codes it became."""

    row: HistoryRow
    current: tuple[str, ...]  # sorted current codes; several: a split
    immediate: tuple[HistoryRow, ...]  # what it became at once (current or not)


class CodeHistory:
    """The code history as lookups: current units, old units, donors of territory.

    Parameters
    ----------
    frame : DataFrame
        The layout of ``admin_code_history.csv`` (Chinese headers, see
        :data:`HISTORY_COLUMNS`), as text; read from ``data/reference`` by
        :meth:`default`.

    Raises
    ------
    ValueError
        A missing column, or a row whose code, level, status or years cannot be read
        (the message names the row).
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        require_columns(frame, list(HISTORY_COLUMNS), "code history")
        self.rows: tuple[HistoryRow, ...] = tuple(_parse_rows(frame))
        by_code: dict[str, list[HistoryRow]] = defaultdict(list)
        for row in self.rows:
            by_code[row.code].append(row)
        self._by_code = dict(by_code)
        self._current = {r.code: r for r in self.rows if r.status == "current"}
        self._memo: dict[tuple[str, int], tuple[str, ...]] = {}

    @classmethod
    def default(cls) -> CodeHistory:
        """The history shipped in ``data/reference/admin_code_history.csv``."""
        return cls(load_code_history())

    # ------------------------------------------------------------------ current units

    def current(self, level: str | None = None, prefix: str = "") -> list[HistoryRow]:
        """Rows in use today, of one level (or all) and codes starting with ``prefix``."""
        return [
            r
            for r in self._current.values()
            if (level is None or r.level == level) and r.code.startswith(prefix)
        ]

    def current_row(self, code: str) -> HistoryRow | None:
        """The row of a code in use today, or ``None``."""
        return self._current.get(code)

    def rows_of(self, code: str) -> list[HistoryRow]:
        """Every row of a code, oldest first."""
        return sorted(self._by_code.get(code, []), key=lambda r: r.start)

    def current_named(self, name: str, prefix: str, level: str = "county") -> list[HistoryRow]:
        """Current units of ``level`` named ``name`` whose codes start with ``prefix``."""
        key = normalise_name(name)
        return [r for r in self.current(level, prefix) if r.name == key]

    # ------------------------------------------------------------------ old units

    def old_units(self, level: str) -> list[OldUnit]:
        """Every row of ``level`` no longer in use, with the current codes it became.

        Rows that lead to no current code (a 地区 dissolved without recorded successor)
        come with an empty ``current``.
        """
        out = []
        for row in self.rows:
            if row.level != level or row.status == "current":
                continue
            current = self.successors(row)
            immediate = tuple(
                found
                for code in row.successors
                if (found := self._alive_after(code, row.end or row.start)) is not None
            )
            out.append(OldUnit(row, current, immediate))
        return out

    def successors(self, row: HistoryRow) -> tuple[str, ...]:
        """The current codes a row became (itself when in use), sorted."""
        if row.status == "current":
            return (row.code,)
        year = row.end or row.start
        found: set[str] = set()
        for code in row.successors:
            found.update(self._current_of(code, year, frozenset({(row.code, row.start)})))
        return tuple(sorted(found))

    def descendants(self, row: HistoryRow) -> frozenset[tuple[str, int]]:
        """``(code, start)`` of every row ``row`` led to, directly or through others."""
        out: set[tuple[str, int]] = set()
        todo = [row]
        while todo:
            current = todo.pop()
            if current.status == "current":
                continue
            year = current.end or current.start
            for code in current.successors:
                nxt = self._alive_after(code, year)
                if nxt is not None and (nxt.code, nxt.start) not in out:
                    out.add((nxt.code, nxt.start))
                    todo.append(nxt)
        out.discard((row.code, row.start))
        return frozenset(out)

    def donors(self, code: str) -> list[tuple[HistoryRow, int]]:
        """Units that gave territory to ``code`` (partial transfers), with the year."""
        return [
            (row, year)
            for row in self.rows
            for target, year in row.transfers
            if target == code and row.code != code
        ]

    def _alive_after(self, code: str, year: int) -> HistoryRow | None:
        """The row of ``code`` that was in force just after ``year``."""
        rows = self._by_code.get(code, [])
        alive = [r for r in rows if r.start <= year and (r.end is None or r.end > year)]
        if not alive:  # a successor first listed a year late: take the next one to start
            alive = sorted((r for r in rows if r.end is None or r.end > year), key=_start)
        return alive[0] if alive else None

    def _current_of(
        self, code: str, year: int, seen: frozenset[tuple[str, int]]
    ) -> tuple[str, ...]:
        key = (code, year)
        if key in self._memo:
            return self._memo[key]
        row = self._alive_after(code, year)
        if row is None or (row.code, row.start) in seen:
            found: tuple[str, ...] = ()
        elif row.status == "current":
            found = (row.code,)
        else:
            nxt = seen | {(row.code, row.start)}
            later = row.end or year
            found = tuple(
                sorted({c for s in row.successors for c in self._current_of(s, later, nxt)})
            )
        self._memo[key] = found
        return found


def _start(row: HistoryRow) -> int:
    return row.start


def _parse_rows(frame: pd.DataFrame) -> list[HistoryRow]:
    table = frame[list(HISTORY_COLUMNS)].rename(columns=HISTORY_COLUMNS).fillna("").astype(str)
    for col in ("name", "province", "prefecture"):  # NFKC, no whitespace: as normalise_name
        table[col] = table[col].str.normalize("NFKC").str.replace(r"\s+", "", regex=True)
    columns = [table[c].str.strip().tolist() for c in HISTORY_COLUMNS.values()]
    rows = []
    for number, rec in enumerate(zip(*columns, strict=True), start=2):
        code, province, prefecture, name, level, status, start, end, successors = rec
        where = f"code history row {number} ({code!r} {name!r})"
        if not (len(code) == 6 and code.isdigit()) or level not in _LEVELS:
            msg = f"{where}: expected a 6-digit code and a level in {sorted(_LEVELS)}"
            raise ValueError(msg)
        if status not in _STATUSES:
            msg = f"{where}: expected a status in {sorted(_STATUSES)}, got {status!r}"
            raise ValueError(msg)
        first, last = _year(start, where), _year(end, where)
        if first is None or (_STATUSES[status] == "current") != (last is None):
            msg = f"{where}: needs a first year, and a last year exactly when not in use"
            raise ValueError(msg)
        plain, transfers = _successors(successors, last, where)
        rows.append(
            HistoryRow(
                code=code,
                name=name,
                level=_LEVELS[level],
                province=province,
                prefecture=prefecture,
                status=_STATUSES[status],
                start=first,
                end=last,
                successors=plain,
                transfers=transfers,
            )
        )
    return rows


def _year(text: str, where: str) -> int | None:
    if not text:
        return None
    if not text.isdigit():
        msg = f"{where}: {text!r} is not a year"
        raise ValueError(msg)
    return int(text)


def _successors(
    text: str, end: int | None, where: str
) -> tuple[tuple[str, ...], tuple[tuple[str, int], ...]]:
    """Split ``a;b[2014]`` into what the code became at ``end`` and earlier transfers."""
    if not text:
        return (), ()
    plain: list[str] = []
    transfers: list[tuple[str, int]] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        match = _SUCCESSOR.fullmatch(part)
        if match is None:
            msg = f"{where}: successor {part!r} is not a code or code[year]"
            raise ValueError(msg)
        code, year = match[1], match[2]
        if year is None or (end is not None and int(year) == end):
            if code not in plain:
                plain.append(code)
        else:
            transfers.append((code, int(year)))
    return tuple(plain), tuple(transfers)
