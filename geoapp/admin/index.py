"""The lookup index of the administrative registry, built once from the reference tables.

Owns turning the four tables (see :mod:`geoapp.admin.tables`) into dictionaries a
lookup only reads: ``units[level][adcode]`` and ``hits[level][tier][key]``, where a tier
is how a key was written (``code``, ``exact``, ``short_form``, ``alias``, ``old_name``,
``old_code``). Every table is validated here, with an error that names the table, the
row and what was expected. Imports nothing of geoapp outside :mod:`geoapp.admin`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pandas as pd

from geoapp.admin.names import as_adcode, clean_text, is_blank, normalise_name, short_forms
from geoapp.admin.records import LEVELS, Hit, Unit, Zone
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


def build_index(
    divisions: pd.DataFrame,
    *,
    aliases: pd.DataFrame,
    changes: pd.DataFrame,
    zones: pd.DataFrame,
) -> AdminIndex:
    """Validate the reference tables and index every spelling they define.

    Parameters
    ----------
    divisions, aliases, changes, zones : DataFrame
        Layouts of ``admin_divisions.csv``, ``admin_aliases.csv``,
        ``admin_code_changes.csv`` and ``development_zones.csv``; not modified.

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
    _index_changes(hits, units, changes)
    zones_by_code = _index_zones(hits, zones)
    _index_aliases(hits, units, zones_by_code, aliases)
    # freeze the defaultdicts so that lookups never create entries
    frozen = {
        level: {tier: dict(keys) for tier, keys in tiers.items()} for level, tiers in hits.items()
    }
    return AdminIndex(units=units, hits=frozen, zones_by_code=zones_by_code)


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
    found = [
        h.target
        for tier in ("exact", "short_form")
        for h in hits["prefecture"][tier].get(key, [])
        if province_code is None or h.target.province_adcode == province_code
    ]
    unique = {u.adcode: u for u in found}
    return next(iter(unique.values())) if len(unique) == 1 else None


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


def _index_changes(hits: Any, units: _Units, changes: pd.DataFrame) -> None:
    counties = units["county"]
    records = _change_records(changes)
    successors: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        if record["old_code"] != record["new_code"]:
            successors[record["old_code"]].append(record)

    index = hits["county"]
    for record in records:
        note = (
            f"{record['old_code']} {record['old_name']} ({record['old_prefecture']}) "
            f"became {record['new_code']} {record['new_name']} "
            f"({record['new_prefecture']}) in {_year(record['year'])}"
        )
        current = _current_code(record, counties, successors)
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
