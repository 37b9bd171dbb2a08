"""The lookup index of the administrative registry, built once from the reference tables.

Owns turning the reference tables (see :mod:`geoapp.admin.tables`) and the national
code history (:mod:`geoapp.admin.history`) into dictionaries a lookup only reads:
``units[level][adcode]`` and ``hits[level][tier][key]``, where a tier is how a key was
written (``code``, ``exact``, ``short_form``, ``alias``, ``old_name``, ``old_code``).
Old codes and names come from the history; a hand-made row of ``admin_code_changes.csv``
is used only where the history does not cover it, and must agree with it where it
does. Every table is validated here, with an error that names the table, the row and
what was expected. Imports nothing of geoapp outside :mod:`geoapp.admin`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from geoapp.admin.history import CodeHistory, HistoryRow, OldUnit
from geoapp.admin.names import as_adcode, clean_text, is_blank, normalise_name, short_forms
from geoapp.admin.records import LEVELS, Hit, Split, Unit, Zone
from geoapp.admin.tables import code_column, require_columns

__all__ = ["AdminIndex", "build_index"]

# level -> tier -> key -> hits
_Hits = dict[str, dict[str, dict[str, list[Hit]]]]
_Units = dict[str, dict[str, Unit]]


@dataclass(frozen=True, slots=True)
class AdminIndex:
    """What a lookup reads: current units, index hits and development zones."""

    units: _Units
    hits: _Hits
    zones_by_code: dict[str, Zone]
    # level -> old code -> what it became, for old codes leading to no unit of that level
    unplaced: dict[str, dict[str, str]] = field(default_factory=dict)


def build_index(
    divisions: pd.DataFrame,
    *,
    aliases: pd.DataFrame,
    changes: pd.DataFrame,
    zones: pd.DataFrame,
    history: CodeHistory | None = None,
) -> AdminIndex:
    """Validate the reference tables and index every spelling they define.

    Parameters
    ----------
    divisions, aliases, changes, zones : DataFrame
        Layouts of ``admin_divisions.csv``, ``admin_aliases.csv``,
        ``admin_code_changes.csv`` and ``development_zones.csv``; not modified.
    history : CodeHistory, optional
        The national code history: every old code and name that leads to current
        units of ``divisions`` is indexed. Without it only ``changes`` is.

    Returns
    -------
    AdminIndex

    Raises
    ------
    ValueError
        If a table lacks a column or a row is inconsistent (the message says which).
    """
    hits: Any = {level: defaultdict(lambda: defaultdict(list)) for level in LEVELS}
    units = _units_from_divisions(divisions)
    _index_units(hits, units)
    covered: dict[tuple[str, str], tuple[str, ...]] = {}
    unplaced: dict[str, dict[str, str]] = {}
    if history is not None:
        covered = _index_history(hits, units, history, unplaced)
    _index_changes(hits, units, changes, covered)
    zones_by_code = _index_zones(hits, zones)
    _index_aliases(hits, units, zones_by_code, aliases)
    # freeze the defaultdicts so that lookups never create entries
    frozen = {
        level: {tier: dict(keys) for tier, keys in tiers.items()} for level, tiers in hits.items()
    }
    return AdminIndex(units=units, hits=frozen, zones_by_code=zones_by_code, unplaced=unplaced)


def _units_from_divisions(divisions: pd.DataFrame) -> _Units:
    units: _Units = {level: {} for level in LEVELS}
    columns = ["adcode", "name", "level", "province", "province_adcode"]
    require_columns(divisions, [*columns, "prefecture", "prefecture_adcode"], "divisions")
    adcodes = code_column(divisions["adcode"], "divisions.adcode")
    province_codes = code_column(divisions["province_adcode"], "divisions.province_adcode")
    prefecture_codes = code_column(divisions["prefecture_adcode"], "divisions.prefecture_adcode")
    rows = zip(
        adcodes,
        divisions["name"].tolist(),
        divisions["level"].tolist(),
        divisions["province"].tolist(),
        province_codes,
        divisions["prefecture"].tolist(),
        prefecture_codes,
        strict=True,
    )
    for adcode, name, level, province, province_code, prefecture, prefecture_code in rows:
        if level not in LEVELS:
            msg = f"divisions: level {level!r} of {adcode} is not one of {LEVELS}"
            raise ValueError(msg)
        if adcode is None or province_code is None or is_blank(name):
            msg = f"divisions: row {adcode} {name!r} lacks adcode, name or province_adcode"
            raise ValueError(msg)
        if adcode in units[level]:
            msg = f"divisions: adcode {adcode} appears twice at level {level!r}"
            raise ValueError(msg)
        name = normalise_name(name)
        if level == "prefecture":
            prefecture, prefecture_code = name, adcode
        elif level == "province":
            prefecture, prefecture_code = None, None
        elif prefecture_code is None:
            msg = f"divisions: county {adcode} {name} has no prefecture_adcode"
            raise ValueError(msg)
        else:
            prefecture = normalise_name(prefecture)
        units[level][adcode] = Unit(
            adcode=adcode,
            name=name,
            level=level,
            province=normalise_name(province),
            province_adcode=province_code,
            prefecture=prefecture,
            prefecture_adcode=prefecture_code,
        )
    return units


def _index_units(hits: Any, units: _Units) -> None:
    for level, by_code in units.items():
        index = hits[level]
        for unit in by_code.values():
            index["code"][unit.adcode].append(Hit(unit, "code"))
            index["exact"][unit.name].append(Hit(unit, "exact"))
            for form in short_forms(unit.name):
                index["short_form"][form].append(
                    Hit(unit, "short_form", f"short form of {unit.name}")
                )


def _prefecture_named(hits: Any, name: object, province_code: str | None) -> Unit | None:
    """A prefecture by official name or short form, within a province if given."""
    key = normalise_name(name)
    for tiers in (("exact", "short_form"), ("old_name",)):
        found = [
            h.target
            for tier in tiers
            for h in hits["prefecture"][tier].get(key, [])
            if isinstance(h.target, Unit)
            and (province_code is None or h.target.province_adcode == province_code)
        ]
        unique = {u.adcode: u for u in found}
        if unique:
            return next(iter(unique.values())) if len(unique) == 1 else None
    return None


def _change_records(changes: pd.DataFrame) -> list[dict[str, Any]]:
    columns = ["old_code", "old_name", "old_prefecture", "new_code", "new_name"]
    require_columns(changes, [*columns, "new_prefecture", "year"], "changes")
    records = []
    for row in changes.to_dict("records"):
        old_code = as_adcode(row["old_code"])
        new_code = as_adcode(row["new_code"])
        if old_code is None or new_code is None:
            msg = f"changes: row {row} needs 6-digit old_code and new_code"
            raise ValueError(msg)
        records.append({**row, "old_code": old_code, "new_code": new_code})
    return records


def _current_code(
    record: dict[str, Any], counties: dict[str, Unit], successors: dict[str, list[dict[str, Any]]]
) -> str:
    """Follow a chain of code changes to the county-level unit that exists today."""
    current = record["new_code"]
    seen = {record["old_code"]}
    while current not in counties:
        nxt = successors.get(current, [])
        if len(nxt) != 1 or current in seen:
            msg = (
                f"changes: {record['old_code']} {record['old_name']} leads to "
                f"{current}, which is no current county-level unit"
            )
            raise ValueError(msg)
        seen.add(current)
        current = nxt[0]["new_code"]
    return current


def _index_changes(
    hits: Any,
    units: _Units,
    changes: pd.DataFrame,
    covered: dict[tuple[str, str], tuple[str, ...]],
) -> None:
    """Index the hand-made rows the history does not cover; check those it does."""
    counties = units["county"]
    records = _change_records(changes)
    successors: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record["old_code"] != record["new_code"]:
            successors[record["old_code"]].append(record)

    index = hits["county"]
    for record in records:
        current = _current_code(record, counties, successors)
        in_history = covered.get((record["old_code"], normalise_name(record["old_name"])))
        if in_history is not None:
            if in_history != (current,):
                msg = (
                    f"changes: {record['old_code']} {record['old_name']} leads to {current}, "
                    f"but the code history says {', '.join(in_history) or 'nothing current'}"
                )
                raise ValueError(msg)
            continue
        note = (
            f"{record['old_code']} {record['old_name']} ({record['old_prefecture']}) "
            f"became {record['new_code']} {record['new_name']} "
            f"({record['new_prefecture']}) in {_year(record['year'])}"
        )
        unit = counties[current]
        if current != record["new_code"]:
            note += f"; now {unit.label}"
        if record["old_code"] == current:  # renamed in place: say so on code lookups
            index["code"][current] = [Hit(unit, "code", note)]
        old_prefecture = _prefecture_named(
            hits, record["old_prefecture"], record["old_code"][:2] + "0000"
        )
        alt = old_prefecture.adcode if old_prefecture else None
        index["old_code"][record["old_code"]].append(
            Hit(unit, "old_code", note, alt_prefecture=alt)
        )
        old_name = normalise_name(record["old_name"])
        for key in [old_name, *short_forms(old_name)]:
            index["old_name"][key].append(Hit(unit, "old_name", note, alt_prefecture=alt))


def _index_history(
    hits: Any, units: _Units, history: CodeHistory, unplaced: dict[str, dict[str, str]]
) -> dict[tuple[str, str], tuple[str, ...]]:
    """Index every old code and name of the history that leads to current units.

    One current successor: the old code or name resolves to it with a note. Several:
    a :class:`Split`, which only a point can settle. An old unit leading to no unit of
    its level (通化市 222201 became the prefecture 220500) is not indexed; its code goes
    into ``unplaced`` with what it became, for the error to say. Returns, per
    ``(code, name)`` of an old county-level unit, its current successors.
    """
    covered: dict[tuple[str, str], tuple[str, ...]] = {}
    for level in ("prefecture", "county"):  # counties name their old prefectures
        index = hits[level]
        renamed: dict[str, tuple[int, Hit]] = {}
        olds = history.old_units(level)
        for old in olds:
            row = old.row
            if level == "county":
                covered[(row.code, row.name)] = old.current
            target = _history_target(old, units[level])
            if target is None:
                if old.current and row.code not in units[level]:
                    became = ", ".join(r.label for r in old.immediate)
                    unplaced.setdefault(level, {})[row.code] = (
                        f"{row.label} became {became} in {row.end}"
                    )
                continue
            note = _history_note(old, target)
            same_code = isinstance(target, Unit) and target.adcode == row.code
            if same_code and (row.end or 0) > renamed.get(row.code, (-1,))[0]:
                renamed[row.code] = (row.end or 0, Hit(target, "code", note))
            _add_old_hits(index, hits, row, target, note, level)
        for code, (_, hit) in renamed.items():  # renamed in place: say so on code lookups
            index["code"][code] = [hit]
        _drop_superseded(index, {(o.row.code, o.row.start): o.row for o in olds}, history)
    return covered


def _add_old_hits(
    index: Any, hits: Any, row: HistoryRow, target: Unit | Split, note: str, level: str
) -> None:
    """Index an old unit's code, name and short forms, with its former prefecture."""
    alt = None
    if level == "county" and row.prefecture not in ("", "直辖"):
        found = _prefecture_named(hits, row.prefecture, row.code[:2] + "0000")
        alt = found.adcode if found else None
    source = (row.code, row.start)
    index["old_code"][row.code].append(
        Hit(target, "old_code", note, alt_prefecture=alt, source=source)
    )
    for key in [row.name, *short_forms(row.name)]:
        index["old_name"][key].append(
            Hit(target, "old_name", note, alt_prefecture=alt, source=source)
        )


def _drop_superseded(
    index: Any, rows: dict[tuple[str, int], HistoryRow], history: CodeHistory
) -> None:
    """A name or code reused by a unit's own successor means that successor.

    扶余县 (222321, 1981-1987, now split between 宁江区 and 扶余市) became, through
    扶余市 and 扶余区, the 扶余县 of 1995-2013 (now 扶余市): a register writing 扶余县
    means the later one. Unrelated units sharing a name (郊区 ...) stay ambiguous.
    """
    for tier in ("old_code", "old_name"):
        for key, found in index[tier].items():
            sources = {h.source for h in found if h.source is not None}
            if len(sources) < 2:
                continue
            later = {s: history.descendants(rows[s]) & sources for s in sources}
            kept = [h for h in found if h.source is None or not later[h.source]]
            if len(kept) < len(found):
                index[tier][key] = kept


def _history_target(old: OldUnit, current: dict[str, Unit]) -> Unit | Split | None:
    found = [current.get(code) for code in old.current]
    if not found or any(unit is None for unit in found):
        return None
    units = tuple(u for u in found if u is not None)
    if len(units) == 1:
        return units[0]
    row = old.row
    return Split(row.code, row.name, row.place, row.end or row.start, units)


def _history_note(old: OldUnit, target: Unit | Split) -> str:
    """``220381 公主岭市 (四平市) became 220184 公主岭市 (长春市) in 2020`` and the like."""
    row = old.row
    became = ", ".join(r.label for r in old.immediate)
    if isinstance(target, Split):
        verb = "was split" if len(old.immediate) > 1 else f"became {became}"
        shown = ", ".join(u.label for u in target.successors)
        return (
            f"{row.label} {verb} in {row.end}; its territory now lies in "
            f"{len(target.successors)} units: {shown}"
        )
    note = f"{row.label} became {became or target.label} in {row.end}"
    if [r.code for r in old.immediate] != [target.adcode]:
        note += f"; now {target.label}"
    return note


def _index_zones(hits: Any, zones: pd.DataFrame) -> dict[str, Zone]:
    require_columns(zones, ["code", "name", "prefecture"], "zones")
    out: dict[str, Zone] = {}
    for row in zones.to_dict("records"):
        code = as_adcode(row["code"])
        if code is None:
            msg = f"zones: {row['code']!r} is not a 6-digit code"
            raise ValueError(msg)
        prefecture = _prefecture_named(hits, row["prefecture"], code[:2] + "0000")
        if prefecture is None:
            msg = f"zones: prefecture {row['prefecture']!r} of {code} is not a prefecture"
            raise ValueError(msg)
        name = normalise_name(row["name"])
        zone = Zone(
            code=code,
            name=name,
            kind="dev_zone",
            prefecture_adcodes=frozenset({prefecture.adcode}),
            province_adcodes=frozenset({prefecture.province_adcode}),
            label=f"{prefecture.name}{name} ({code})",
        )
        out[code] = zone
        index = hits["county"]
        index["code"][code].append(Hit(zone, "code"))
        index["exact"][name].append(Hit(zone, "exact"))
    return out


def _index_aliases(
    hits: Any, units: _Units, zones_by_code: dict[str, Zone], aliases: pd.DataFrame
) -> None:
    require_columns(aliases, ["alias", "adcode", "kind"], "aliases")
    special: dict[frozenset[str], Zone] = {}
    for number, row in enumerate(aliases.to_dict("records"), start=2):
        alias = normalise_name(row["alias"])
        kind = str(row["kind"]).strip()
        code = None if is_blank(row["adcode"]) else as_adcode(row["adcode"])
        local = row.get("prefecture_adcode")
        local_code = None if is_blank(local) else as_adcode(local)
        where = f"aliases row {number} ({row['alias']!r})"
        if not alias:
            msg = f"{where}: empty alias"
            raise ValueError(msg)
        if not is_blank(local) and local_code not in units["prefecture"]:
            msg = f"{where}: prefecture_adcode {local!r} is no prefecture"
            raise ValueError(msg)
        note = clean_text(row.get("note")) or ""
        if kind in LEVELS:
            target: Unit | Zone | None = units[kind].get(code or "")
            level = kind
        elif kind == "dev_zone":
            target = zones_by_code.get(code or "")
            level = "county"
        elif kind == "special_area":
            target = _special_area(special, units, alias, row, where)
            level = "county"
        else:
            kinds = [*LEVELS, "dev_zone", "special_area"]
            msg = f"{where}: kind {kind!r} is not one of {kinds}"
            raise ValueError(msg)
        if target is None:
            msg = f"{where}: adcode {row['adcode']!r} is no current {kind}"
            raise ValueError(msg)
        text = f"alias {alias} of {target.name}" + (f" ({note})" if note else "")
        hits[level]["alias"][alias].append(Hit(target, "alias", text, only_prefecture=local_code))


def _special_area(
    special: dict[frozenset[str], Zone],
    units: _Units,
    alias: str,
    row: dict[str, Any],
    where: str,
) -> Zone:
    """The special area of an alias row; rows with the same ``within`` share one."""
    within = frozenset((clean_text(row.get("within")) or "").split())
    if not within or not within <= units["county"].keys():
        msg = f"{where}: 'within' must list current county adcodes, got {within}"
        raise ValueError(msg)
    if within not in special:
        counties = [units["county"][c] for c in sorted(within)]
        special[within] = Zone(
            code=None,
            name=alias,
            kind="special_area",
            prefecture_adcodes=frozenset(c.prefecture_adcode for c in counties),
            province_adcodes=frozenset(c.province_adcode for c in counties),
            label=f"{alias} (no adcode; overlaps " + ", ".join(c.name for c in counties) + ")",
            within=within,
        )
    return special[within]


def _year(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()
