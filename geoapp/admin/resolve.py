"""The resolving algorithm of the administrative registry, as functions over its index.

Owns how one register spelling becomes one current unit: the lookup scope
(:func:`lookup_scope`), the tiers tried in order (codes, then exact names, aliases,
short forms, old names), the prefixes read off ``吉林省长春市朝阳区``, placing a
development zone or a split old unit by its point, and the error that explains a
failure (with the closest names; never for a split, whose successors are all named). :class:`~geoapp.admin.registry.AdminRegistry` calls these functions; they never
import it. Imports nothing of geoapp outside :mod:`geoapp.admin`.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from typing import cast

from geoapp.admin.counties import CountyPolygons, is_blank_point
from geoapp.admin.errors import AdminLookupError, AmbiguousUnit, UndecidableUnit, UnknownUnit
from geoapp.admin.index import AdminIndex
from geoapp.admin.names import as_adcode, is_blank, normalise_name
from geoapp.admin.records import (
    LEVEL_WORDS,
    LEVELS,
    Hit,
    Misses,
    Resolved,
    Scope,
    Split,
    Unit,
    Zone,
    labels,
)

__all__ = ["lookup_scope", "resolve_name"]

_TIERS_FOR_CODES = ("code", "old_code")
_TIERS_FOR_NAMES = ("exact", "alias", "short_form", "old_name")
_MAX_CANDIDATES = 5


def lookup_scope(index: AdminIndex, *, prefecture: object, province: object, level: str) -> Scope:
    """Resolve the province and prefecture context of a lookup."""
    scope = Scope()
    if not is_blank(province):
        scope.province = resolve_name(
            index, None, province, level="province", scope=Scope(), point=None, split_depth=0
        ).unit
    if not is_blank(prefecture):
        if level != "county":
            msg = f"a prefecture context only applies to level='county', not {level!r}"
            raise ValueError(msg)
        scope.prefecture = resolve_name(
            index, None, prefecture, level="prefecture", scope=scope, point=None, split_depth=2
        ).unit
    return scope


def resolve_name(
    index: AdminIndex,
    counties: CountyPolygons | None,
    given: object,
    *,
    level: str,
    scope: Scope,
    point: object,
    split_depth: int,
) -> Resolved:
    """Resolve one spelling within ``scope``; ``split_depth`` bounds prefix reading.

    Raises
    ------
    AdminLookupError
        An :class:`UnknownUnit`, :class:`AmbiguousUnit` or :class:`UndecidableUnit`
        whose message says why.
    """
    if is_blank(given):
        msg = f"no name given ({given!r})"
        raise UnknownUnit(msg, given=given)
    code = as_adcode(given)
    key = code or normalise_name(given)
    tiers = _TIERS_FOR_CODES if code else _TIERS_FOR_NAMES
    by_tier = index.hits[level]
    misses = Misses()
    for tier in tiers:
        hits = by_tier.get(tier, {}).get(key)
        if not hits:
            continue
        in_scope = [h for h in hits if _admit(h, scope, point, misses)]
        if in_scope:
            return _decide(
                index, counties, given, key, in_scope, level=level, scope=scope, point=point
            )
    split_candidates: list[str] = []
    if not code and split_depth > 0:
        found = _resolve_split(
            index,
            counties,
            given,
            key,
            level=level,
            scope=scope,
            point=point,
            split_depth=split_depth,
            candidates=split_candidates,
        )
        if found is not None:
            return found
    raise _failure(index, given, key, code, level, scope, misses, split_candidates)


def _admit(hit: Hit, scope: Scope, point: object, misses: Misses) -> bool:
    target = hit.target
    if hit.only_prefecture is not None:
        if scope.prefecture is None:
            if isinstance(target, Zone) and not is_blank_point(point):
                # the point's county decides; _place_zone checks the prefecture
                if _in_province(target, scope):
                    return True
                misses.out_of_scope.append(hit)
                return False
            misses.needs_prefecture.append(hit)
            return False
        if scope.prefecture.adcode != hit.only_prefecture:
            misses.out_of_scope.append(hit)
            return False
    ok = _in_province(target, scope) and _in_prefecture(target, scope)
    if not ok and hit.alt_prefecture is not None and scope.prefecture is not None:
        ok = hit.alt_prefecture == scope.prefecture.adcode
    if not ok:
        misses.out_of_scope.append(hit)
    return ok


def _in_province(target: Unit | Zone | Split, scope: Scope) -> bool:
    if scope.province is None:
        return True
    code = scope.province.adcode
    if isinstance(target, (Zone, Split)):
        return code in target.province_adcodes
    return target.province_adcode == code


def _in_prefecture(target: Unit | Zone | Split, scope: Scope) -> bool:
    if scope.prefecture is None:
        return True
    code = scope.prefecture.adcode
    if isinstance(target, (Zone, Split)):
        return code in target.prefecture_adcodes
    return target.prefecture_adcode == code


def _decide(
    index: AdminIndex,
    counties: CountyPolygons | None,
    given: object,
    key: str,
    hits: list[Hit],
    *,
    level: str,
    scope: Scope,
    point: object,
) -> Resolved:
    first: dict[object, Hit] = {}
    for hit in hits:
        first.setdefault(_target_key(hit.target), hit)
    chosen = list(first.values())
    zones = [h for h in chosen if isinstance(h.target, Zone)]
    word = LEVEL_WORDS[level]
    if zones and len(zones) == len(chosen):
        return _place_zone(index, counties, given, [h.target for h in zones], point)
    if len(chosen) > 1:
        found = labels(h.target for h in chosen)
        msg = (
            f"{given!r} matches {len(found)} {word}s{scope.text()}: {', '.join(found)}; "
            "give the prefecture (or province), or the full name, to choose"
        )
        raise AmbiguousUnit(msg, given=given, candidates=found)
    hit = chosen[0]
    if isinstance(hit.target, Split):
        return _place_split(counties, given, hit, hit.target, point)
    unit = cast(Unit, hit.target)  # zones were placed and splits settled above
    if level == "county" and hit.via == "short_form":
        _check_not_prefecture(index, given, key, unit, scope)
    return Resolved(unit, hit.via, hit.note)


def _target_key(target: Unit | Zone | Split) -> object:
    """Two hits on the same unit, or on splits into the same units, are one answer."""
    if isinstance(target, Unit):
        return ("unit", target.level, target.adcode)
    if isinstance(target, Split):
        return ("split", tuple(u.adcode for u in target.successors))
    return ("zone", id(target))


def _place_split(
    counties: CountyPolygons | None, given: object, hit: Hit, split: Split, point: object
) -> Resolved:
    """An old unit now in several: the point chooses, or the lookup refuses.

    Never one successor as "the closest": all are named, and the message asks for the
    facility's coordinates or address.
    """
    found = labels(split.successors)
    what = f"{given!r} is an old unit: {hit.note}"
    if is_blank_point(point) or counties is None:
        why = "" if is_blank_point(point) else " (this registry has no county polygons)"
        msg = (
            f"{what}; give the facility's coordinates (lon, lat) or its address to "
            f"choose one of them{why}; none is assumed"
        )
        raise AmbiguousUnit(msg, given=given, candidates=found)
    try:
        county, lon, lat = counties.county_at(given, point)
    except UndecidableUnit as exc:
        msg = f"{what}; {str(exc).removeprefix(f'{given!r}: ')}"
        raise AmbiguousUnit(msg, given=given, candidates=found) from None
    if county.adcode not in {u.adcode for u in split.successors}:
        msg = (
            f"{what}; point ({lon}, {lat}) lies in {county.label}, in none of them: "
            "check the coordinates and their datum"
        )
        raise AmbiguousUnit(msg, given=given, candidates=[*found, county.label])
    return Resolved(county, hit.via, f"{hit.note}; point ({lon}, {lat}) lies in {county.label}")


def _check_not_prefecture(
    index: AdminIndex, given: object, key: str, unit: Unit, scope: Scope
) -> None:
    """A bare short form like 通化 may mean the prefecture 通化市 as well as 通化县."""
    by_tier = index.hits["prefecture"]
    others = [
        h.target
        for tier in ("exact", "short_form")
        for h in by_tier.get(tier, {}).get(key, [])
        if h.target.adcode != unit.adcode
        and _in_province(h.target, scope)
        and (scope.prefecture is None or scope.prefecture.adcode == h.target.adcode)
    ]
    if others:
        found = labels([*others, unit])
        msg = (
            f"{given!r} may mean the prefecture-level {', '.join(labels(others))} "
            f"or the county-level {unit.label}; write the full name"
        )
        raise AmbiguousUnit(msg, given=given, candidates=found)


def _place_zone(
    index: AdminIndex,
    counties: CountyPolygons | None,
    given: object,
    zones: list[Zone],
    point: object,
) -> Resolved:
    found = labels(zones)
    if len(zones) == 1:
        what = f"{given!r} is {found[0]}, {zones[0].what} and not a legal county-level unit"
    else:
        what = f"{given!r} may mean {', '.join(found)}; none is a legal county-level unit"
    if is_blank_point(point):
        msg = (
            f"{what}: coordinates are needed to place it in the legal county that "
            "contains it; give the facility's point (lon, lat)"
        )
        raise UndecidableUnit(msg, given=given, candidates=found)
    if counties is None:
        msg = (
            f"{what}: it can only be placed by coordinates, and this registry has no "
            "county polygons (AdminRegistry(counties=...))"
        )
        raise UndecidableUnit(msg, given=given, candidates=found)
    try:
        county, lon, lat = counties.county_at(given, point)
    except UndecidableUnit as exc:
        msg = f"{what}; {str(exc).removeprefix(f'{given!r}: ')}"
        raise UndecidableUnit(msg, given=given, candidates=found) from None
    fitting = [z for z in zones if z.admits(county)]
    if not fitting:
        places = sorted({_zone_place(index, z) for z in zones})
        msg = (
            f"{what}: point ({lon}, {lat}) lies in {county.label}, outside "
            f"{' / '.join(places)} where it lies; check the coordinates and their datum"
        )
        raise UndecidableUnit(msg, given=given, candidates=[*found, county.label])
    zone = fitting[0]
    note = f"{zone.label} is not a legal county; point ({lon}, {lat}) lies in {county.label}"
    return Resolved(county, "dev_zone_point", note)


def _zone_place(index: AdminIndex, zone: Zone) -> str:
    if zone.within is not None:
        return ", ".join(index.units["county"][c].label for c in sorted(zone.within))
    return ", ".join(index.units["prefecture"][c].name for c in sorted(zone.prefecture_adcodes))


def _split_options(
    index: AdminIndex, prefix: str, *, level: str, scope: Scope, split_depth: int
) -> list[tuple[Scope, str, int]]:
    """Narrower scopes ``prefix`` can stand for: (scope, name shown, split depth left)."""
    options: list[tuple[Scope, str, int]] = []
    if split_depth >= 2:
        province = _context_unit(index, prefix, "province")
        if province is not None and (
            scope.province is None or scope.province.adcode == province.adcode
        ):
            options.append((Scope(province, scope.prefecture), province.name, 1))
    if level == "county":
        prefecture = _context_unit(index, prefix, "prefecture")
        if (
            prefecture is not None
            and _in_province(prefecture, scope)
            and (scope.prefecture is None or scope.prefecture.adcode == prefecture.adcode)
        ):
            options.append((Scope(scope.province, prefecture), prefecture.name, 0))
    return options


def _resolve_split(
    index: AdminIndex,
    counties: CountyPolygons | None,
    given: object,
    key: str,
    *,
    level: str,
    scope: Scope,
    point: object,
    split_depth: int,
    candidates: list[str],
) -> Resolved | None:
    """Read ``吉林省长春市朝阳区`` as province / prefecture prefixes plus a name."""
    found: dict[str, tuple[Resolved, str]] = {}
    for cut in range(2, len(key) - 1):
        prefix, rest = key[:cut], key[cut:]
        options = _split_options(index, prefix, level=level, scope=scope, split_depth=split_depth)
        for sub_scope, shown, depth in options:
            try:
                result = resolve_name(
                    index,
                    counties,
                    rest,
                    level=level,
                    scope=sub_scope,
                    point=point,
                    split_depth=depth,
                )
            except UnknownUnit as exc:
                if not candidates:
                    candidates.extend(exc.candidates)
                continue
            except AdminLookupError as exc:
                inner = str(exc).removeprefix(f"{rest!r} ")
                if inner.startswith("read as "):
                    text = f"{given!r} read as {shown} + {inner.removeprefix('read as ')}"
                else:
                    text = f"{given!r} read as {shown} + {rest}: {exc}"
                raise type(exc)(text, given=given, candidates=exc.candidates) from None
            found.setdefault(result.unit.adcode, (result, shown))
    if not found:
        return None
    if len(found) > 1:
        readings = labels(r.unit for r, _ in found.values())
        msg = f"{given!r} can be read as {', '.join(readings)}; separate the names"
        raise AmbiguousUnit(msg, given=given, candidates=readings)
    result, shown = next(iter(found.values()))
    if result.note.startswith("read as "):
        note = f"read as {shown} + {result.note.removeprefix('read as ')}"
    else:
        note = f"read as {shown} + {result.unit.name}" + (f"; {result.note}" if result.note else "")
    return Resolved(result.unit, result.via, note)


def _context_unit(index: AdminIndex, prefix: str, level: str) -> Unit | None:
    by_tier = index.hits[level]
    targets = {
        h.target.adcode: h.target
        for tier in ("exact", "short_form", "alias")
        for h in by_tier.get(tier, {}).get(prefix, [])
        if isinstance(h.target, Unit) and h.only_prefecture is None
    }
    return next(iter(targets.values())) if len(targets) == 1 else None


def _failure(
    index: AdminIndex,
    given: object,
    key: str,
    code: str | None,
    level: str,
    scope: Scope,
    misses: Misses,
    split_candidates: list[str],
) -> AdminLookupError:
    word = LEVEL_WORDS[level]
    if misses.needs_prefecture:
        return _needs_prefecture(index, given, misses.needs_prefecture)
    if misses.out_of_scope:
        found = labels(h.target for h in misses.out_of_scope)
        msg = f"no {word}{scope.text()} matches {given!r}; it matches {', '.join(found)} elsewhere"
        return UnknownUnit(msg, given=given, candidates=found)
    for other in LEVELS:
        if other == level:
            continue
        tiers = _TIERS_FOR_CODES if code else ("exact", "alias", "short_form")
        others = [
            h.target
            for tier in tiers
            for h in index.hits[other].get(tier, {}).get(key, [])
            if _in_province(h.target, scope)
        ]
        if others:
            found = labels(others)
            msg = f"{given!r} is the {LEVEL_WORDS[other]} {', '.join(found)}, not a {word}"
            return UnknownUnit(msg, given=given, candidates=found)
    if code:
        msg = f"no {word} has the code {given!r}{scope.text()}"
        became = index.unplaced.get(level, {}).get(code)
        if became:
            msg += f": {became}, not a {word}; give the {word} the facility lies in"
        return UnknownUnit(msg, given=given)
    found = split_candidates or _closest(index, key, level, scope)
    shown = ", ".join(found) if found else "none"
    msg = f"no {word}{scope.text()} matches {given!r}; closest: {shown}"
    return UnknownUnit(msg, given=given, candidates=found)


def _needs_prefecture(index: AdminIndex, given: object, hits: list[Hit]) -> AmbiguousUnit:
    """Local aliases matched, but no prefecture context says which one applies."""
    parts = []
    for hit in hits:
        place = index.units["prefecture"][hit.only_prefecture]
        parts.append(f"{hit.target.label} in {place.name}")
    found = labels(h.target for h in hits)
    msg = (
        f"{given!r} is a local name whose meaning depends on the prefecture: "
        f"{', '.join(dict.fromkeys(parts))}; give the prefecture"
    )
    if any(isinstance(h.target, Zone) for h in hits):
        msg += " (development zones also need the facility's coordinates)"
    return AmbiguousUnit(msg, given=given, candidates=found)


def _closest(index: AdminIndex, key: str, level: str, scope: Scope) -> list[str]:
    """Up to five units whose names (or short forms, aliases) are nearest to ``key``."""
    pool: dict[str, list[Unit | Zone]] = defaultdict(list)
    for tier in ("exact", "alias", "short_form", "old_name"):
        for name, hits in index.hits[level].get(tier, {}).items():
            for hit in hits:
                target = hit.target
                if _in_province(target, scope) and _in_prefecture(target, scope):
                    pool[name].append(target)
    found: list[str] = []
    for match in difflib.get_close_matches(key, list(pool), n=10, cutoff=0.6):
        for label in labels(pool[match]):
            if label not in found:
                found.append(label)
    return found[:_MAX_CANDIDATES]
