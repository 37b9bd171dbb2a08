"""The administrative registry: what a register writes -> a current unit of China.

This module owns the mapping from the spellings found in facility registers (full names,
short forms, explicit aliases, old names and codes, development zones) to the current
6-digit adcode of a county-level unit, a prefecture or a province. It reads the reference
tables ``admin_divisions.csv``, ``admin_aliases.csv``, ``admin_code_changes.csv`` and
``development_zones.csv``; it never guesses: a name that fits several units, or a
development zone without coordinates, is an error that says why.

``admin_aliases.csv`` columns: ``alias, adcode, kind, prefecture_adcode, within, note``.

- ``kind`` is ``county``, ``prefecture`` or ``province`` (``adcode`` is a current unit of
  that level), ``dev_zone`` (``adcode`` is a code of ``development_zones.csv``) or
  ``special_area`` (no ``adcode``; ``within`` lists, space-separated, the legal counties
  the area overlaps; rows with the same ``within`` are one area, named by its first row).
- ``prefecture_adcode``, when filled, makes the alias *local*: it only matches when the
  lookup's prefecture context is that prefecture (``经开区`` means 长春经济技术开发区 only
  in 长春市). Without a prefecture context a local alias of a development zone is still
  placed when a point is given (the point's county must lie in the alias's prefecture);
  otherwise it is an :class:`AmbiguousUnit` that asks for the prefecture.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
import shapely

from geoapp.paths import reference_path

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "ETHNIC_GROUPS",
    "AdminLookupError",
    "AdminRegistry",
    "AmbiguousUnit",
    "Resolution",
    "UndecidableUnit",
    "UnknownUnit",
    "as_adcode",
    "normalise_name",
    "short_forms",
]

Level = Literal["county", "prefecture", "province"]
Via = Literal["exact", "code", "short_form", "alias", "old_name", "old_code", "dev_zone_point"]
LEVELS: tuple[str, ...] = ("county", "prefecture", "province")
LEVEL_WORDS = {
    "county": "county-level unit",
    "prefecture": "prefecture-level unit",
    "province": "province-level unit",
}

# The 56 ethnic groups of China, as they appear in the names of autonomous units.
ETHNIC_GROUPS: tuple[str, ...] = (
    "汉族", "蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族",
    "满族", "侗族", "瑶族", "白族", "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族",
    "佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族", "纳西族", "景颇族", "柯尔克孜族",
    "土族", "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族", "锡伯族",
    "阿昌族", "普米族", "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族",
    "保安族", "裕固族", "京族", "塔塔尔族", "独龙族", "鄂伦春族", "赫哲族", "门巴族",
    "珞巴族", "基诺族",
)  # fmt: skip

# Names of autonomous units use the group with or without 族 (博尔塔拉蒙古自治州); 各族
# stands for several groups (龙胜各族自治县).
_ETHNIC_ALTERNATIVES = sorted(
    {g for g in ETHNIC_GROUPS} | {g[:-1] for g in ETHNIC_GROUPS} | {"各族"},
    key=len,
    reverse=True,
)
_ETHNIC = "(?:" + "|".join(map(re.escape, _ETHNIC_ALTERNATIVES)) + ")"
_AUTONOMOUS_RE = re.compile(rf"^(?P<place>.{{2,}}?)(?:{_ETHNIC})+自治(?P<suffix>[区州县旗])$")
_ETHNIC_ONLY_RE = re.compile(rf"^(?P<group>{_ETHNIC})自治(?P<suffix>[区州县旗])$")
# Longest first; only the first matching suffix is stripped.
_SUFFIXES = ("特别行政区", "自治区", "地区", "林区", "省", "市", "县", "区", "州", "盟", "旗")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_CODE_RE = re.compile(r"(\d{6})(?:\.0+|000000)?")
_TIERS_FOR_CODES = ("code", "old_code")
_TIERS_FOR_NAMES = ("exact", "alias", "short_form", "old_name")
_MAX_CANDIDATES = 5


# --------------------------------------------------------------------------- errors


class AdminLookupError(ValueError):
    """A register's spelling could not be turned into exactly one current unit.

    Attributes
    ----------
    given : object
        The value exactly as it was given.
    candidates : tuple of str
        Units it might mean, formatted like ``长春市朝阳区 (220104)``.
    """

    def __init__(self, message: str, *, given: object, candidates: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.given = given
        self.candidates: tuple[str, ...] = tuple(candidates)


class UnknownUnit(AdminLookupError):
    """Nothing in scope matches; ``candidates`` holds the closest names."""


class AmbiguousUnit(AdminLookupError):
    """Several units match; ``candidates`` lists all of them."""


class UndecidableUnit(AdminLookupError):
    """A development zone or special area that only coordinates can place."""


# --------------------------------------------------------------------------- result


@dataclass(frozen=True, slots=True)
class Resolution:
    """One register spelling resolved to a current unit.

    Attributes
    ----------
    adcode : str
        Current 6-digit code of the unit.
    name : str
        Current official name.
    prefecture_adcode, prefecture : str or None
        The prefecture-level unit it belongs to (itself for a prefecture; ``None`` for a
        province).
    province : str
        Name of its province-level unit.
    via : str
        How it was found: ``exact``, ``code``, ``short_form``, ``alias``, ``old_name``,
        ``old_code`` or ``dev_zone_point``.
    note : str
        Human-readable explanation (renamed units, zones, split inputs); may be empty.
    """

    adcode: str
    name: str
    prefecture_adcode: str | None
    prefecture: str | None
    province: str
    via: Via
    note: str = ""


# --------------------------------------------------------------------------- text rules


def normalise_name(text: object) -> str:
    """Normalise a register spelling for matching.

    NFKC (full-width letters, digits and brackets become half-width), then every
    whitespace character (including the ideographic space U+3000) and zero-width
    character is removed, wherever it is.

    Parameters
    ----------
    text : object
        Anything; it is converted with ``str``.

    Returns
    -------
    str
        The normalised key ('' for blank input).
    """
    folded = unicodedata.normalize("NFKC", str(text)).translate(_ZERO_WIDTH)
    return "".join(folded.split())


def as_adcode(value: object) -> str | None:
    """Read a 6-digit adcode given as text, int or integral float.

    Parameters
    ----------
    value : object
        ``220104``, ``"220104"``, ``"２２０１０４"``, ``220104.0`` (Excel) or the 12-digit
        statistical form ``"220104000000"``.

    Returns
    -------
    str or None
        The 6-digit code, or ``None`` when the value is not a code.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        number = int(value)
        return f"{number:06d}" if 100000 <= number <= 999999 else None
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isfinite(number) and number.is_integer() and 100000 <= number <= 999999:
            return f"{int(number):06d}"
        return None
    if not isinstance(value, str):
        return None
    match = _CODE_RE.fullmatch(normalise_name(value))
    return match.group(1) if match else None


def short_forms(name: str) -> list[str]:
    """Short forms a register may use for an official name.

    Ethnic-autonomy parts (one of the 56 groups, with or without 族, then 自治) are
    dropped, and one administrative suffix (市, 县, 区, 州, 盟, 旗, 省, 地区, 自治区 ...) is
    stripped where at least two characters remain.

    Parameters
    ----------
    name : str
        Official name, e.g. ``长白朝鲜族自治县``.

    Returns
    -------
    list of str
        Distinct short forms, the name itself excluded, e.g. ``['长白县', '长白']``.

    Examples
    --------
    >>> short_forms("延边朝鲜族自治州")
    ['延边州', '延边']
    >>> short_forms("公主岭市")
    ['公主岭']
    """
    name = normalise_name(name)
    forms: list[str] = [name]
    autonomous = _AUTONOMOUS_RE.match(name)
    if autonomous:
        forms.append(autonomous["place"] + autonomous["suffix"])
    else:
        ethnic_only = _ETHNIC_ONLY_RE.match(name)
        if ethnic_only:  # 鄂温克族自治旗 -> 鄂温克旗, 东乡族自治县 -> 东乡县
            forms.append(ethnic_only["group"].removesuffix("族") + ethnic_only["suffix"])
    for form in list(forms):
        for suffix in _SUFFIXES:
            if form.endswith(suffix):
                rest = form[: -len(suffix)]
                if len(rest) >= 2 and not rest.endswith("自治"):
                    forms.append(rest)
                break
    out: list[str] = []
    for form in forms[1:]:
        if form != name and form not in out:
            out.append(form)
    return out


def _blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        if pd.isna(value):  # pd.NA, NaT, numpy nan
            return True
    except (TypeError, ValueError):
        return False
    return isinstance(value, str) and normalise_name(value) == ""


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, slots=True)
class _Unit:
    adcode: str
    name: str
    level: str
    province: str
    province_adcode: str
    prefecture: str | None
    prefecture_adcode: str | None

    @property
    def label(self) -> str:
        parent = self.province if self.level == "prefecture" else self.prefecture
        if self.level == "province" or not parent or parent == self.name:
            return f"{self.name} ({self.adcode})"
        return f"{parent}{self.name} ({self.adcode})"


@dataclass(frozen=True, slots=True)
class _Zone:
    """A development zone or special area: a name that is not a legal county."""

    code: str | None
    name: str
    kind: str  # "dev_zone" | "special_area"
    prefecture_adcodes: frozenset[str]
    province_adcodes: frozenset[str]
    label: str
    within: frozenset[str] | None = None

    def admits(self, county: _Unit) -> bool:
        if self.within is not None:
            return county.adcode in self.within
        return county.prefecture_adcode in self.prefecture_adcodes

    @property
    def what(self) -> str:
        return "a development zone" if self.kind == "dev_zone" else "a special area"


@dataclass(frozen=True, slots=True)
class _Hit:
    target: _Unit | _Zone
    via: str
    note: str = ""
    only_prefecture: str | None = None  # local alias: valid only in this prefecture
    alt_prefecture: str | None = None  # old names/codes: the former prefecture


@dataclass(slots=True)
class _Scope:
    province: _Unit | None = None
    prefecture: _Unit | None = None

    def text(self) -> str:
        unit = self.prefecture or self.province
        return f" in {unit.name}" if unit else ""


@dataclass(slots=True)
class _Misses:
    """What a failed lookup saw, to explain the failure."""

    out_of_scope: list[_Hit] = field(default_factory=list)
    needs_prefecture: list[_Hit] = field(default_factory=list)


# --------------------------------------------------------------------------- registry


def _labels(targets: Iterable[_Unit | _Zone]) -> list[str]:
    out: list[str] = []
    for target in targets:
        if target.label not in out:
            out.append(target.label)
    return out


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        msg = f"{what} lacks columns {missing}; it has {list(frame.columns)}"
        raise ValueError(msg)


def _code_column(series: pd.Series, what: str) -> list[str | None]:
    out: list[str | None] = []
    for value in series.tolist():
        if _blank(value):
            out.append(None)
            continue
        code = as_adcode(value)
        if code is None:
            msg = f"{what}: {value!r} is not a 6-digit adcode"
            raise ValueError(msg)
        out.append(code)
    return out


def _text(value: object) -> str | None:
    return None if _blank(value) else str(value).strip()


class AdminRegistry:
    """Resolve register spellings to current administrative units of China.

    Parameters
    ----------
    divisions : DataFrame, optional
        ``adcode, name, level, province, province_adcode, prefecture,
        prefecture_adcode`` (the layout of ``admin_divisions.csv``, read when omitted).
    counties : GeoDataFrame, optional
        County polygons with columns ``adcode`` and ``geometry`` (``name``,
        ``prefecture_adcode``, ``prefecture`` may be present; names come from
        ``divisions``), in EPSG:4326 (another CRS is reprojected; no CRS is taken as
        lon/lat). Needed only to place development zones by coordinates. The datum is
        the caller's business: points and polygons must share it (WGS84 vs GCJ-02).
    aliases, changes, zones : DataFrame, optional
        Layouts of ``admin_aliases.csv``, ``admin_code_changes.csv`` and
        ``development_zones.csv``; each is read from ``data/reference`` when omitted.
        Pass an empty frame with the right columns to use none.

    Notes
    -----
    All lookup dictionaries are built here; a lookup is a few dictionary reads. Only a
    failed lookup scans names, to suggest the closest ones. Inputs are never modified.
    """

    def __init__(
        self,
        divisions: pd.DataFrame | None = None,
        *,
        counties: gpd.GeoDataFrame | None = None,
        aliases: pd.DataFrame | None = None,
        changes: pd.DataFrame | None = None,
        zones: pd.DataFrame | None = None,
    ) -> None:
        if divisions is None:
            divisions = _read_reference("admin_divisions.csv")
        if aliases is None:
            aliases = _read_reference("admin_aliases.csv")
        if changes is None:
            changes = _read_reference("admin_code_changes.csv")
        if zones is None:
            zones = _read_reference("development_zones.csv")

        # level -> tier -> key -> hits
        self._index: dict[str, dict[str, dict[str, list[_Hit]]]] = {
            level: defaultdict(lambda: defaultdict(list)) for level in LEVELS
        }
        self._units: dict[str, dict[str, _Unit]] = {level: {} for level in LEVELS}
        self._load_divisions(divisions)
        self._index_units()
        self._load_changes(changes)
        self._zones_by_code = self._load_zones(zones)
        self._load_aliases(aliases)
        # freeze the defaultdicts so that lookups never create entries
        self._index = {
            level: {tier: dict(keys) for tier, keys in tiers.items()}
            for level, tiers in self._index.items()
        }
        self._counties, self._county_units = self._load_counties(counties)

    # ------------------------------------------------------------------ construction

    @classmethod
    def default(cls, counties: gpd.GeoDataFrame | None = None) -> AdminRegistry:
        """Registry over the reference tables in ``data/reference``.

        Parameters
        ----------
        counties : GeoDataFrame, optional
            County polygons for placing development zones (see the class docstring).

        Returns
        -------
        AdminRegistry
        """
        return cls(counties=counties)

    def _load_divisions(self, divisions: pd.DataFrame) -> None:
        columns = ["adcode", "name", "level", "province", "province_adcode"]
        _require_columns(divisions, [*columns, "prefecture", "prefecture_adcode"], "divisions")
        adcodes = _code_column(divisions["adcode"], "divisions.adcode")
        province_codes = _code_column(divisions["province_adcode"], "divisions.province_adcode")
        prefecture_codes = _code_column(
            divisions["prefecture_adcode"], "divisions.prefecture_adcode"
        )
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
            if adcode is None or province_code is None or _blank(name):
                msg = f"divisions: row {adcode} {name!r} lacks adcode, name or province_adcode"
                raise ValueError(msg)
            if adcode in self._units[level]:
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
            self._units[level][adcode] = _Unit(
                adcode=adcode,
                name=name,
                level=level,
                province=normalise_name(province),
                province_adcode=province_code,
                prefecture=prefecture,
                prefecture_adcode=prefecture_code,
            )

    def _index_units(self) -> None:
        for level, units in self._units.items():
            index = self._index[level]
            for unit in units.values():
                index["code"][unit.adcode].append(_Hit(unit, "code"))
                index["exact"][unit.name].append(_Hit(unit, "exact"))
                for form in short_forms(unit.name):
                    index["short_form"][form].append(
                        _Hit(unit, "short_form", f"short form of {unit.name}")
                    )

    def _prefecture_named(self, name: object, province_code: str | None) -> _Unit | None:
        """A prefecture by official name or short form, within a province if given."""
        key = normalise_name(name)
        hits = [
            h.target
            for tier in ("exact", "short_form")
            for h in self._index["prefecture"][tier].get(key, [])
            if province_code is None or h.target.province_adcode == province_code
        ]
        unique = {u.adcode: u for u in hits}
        return next(iter(unique.values())) if len(unique) == 1 else None

    def _load_changes(self, changes: pd.DataFrame) -> None:
        columns = ["old_code", "old_name", "old_prefecture", "new_code", "new_name"]
        _require_columns(changes, [*columns, "new_prefecture", "year"], "changes")
        counties = self._units["county"]
        records = []
        for row in changes.to_dict("records"):
            old_code = as_adcode(row["old_code"])
            new_code = as_adcode(row["new_code"])
            if old_code is None or new_code is None:
                msg = f"changes: row {row} needs 6-digit old_code and new_code"
                raise ValueError(msg)
            records.append({**row, "old_code": old_code, "new_code": new_code})
        successors: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in records:
            if record["old_code"] != record["new_code"]:
                successors[record["old_code"]].append(record)

        index = self._index["county"]
        for record in records:
            note = (
                f"{record['old_code']} {record['old_name']} ({record['old_prefecture']}) "
                f"became {record['new_code']} {record['new_name']} "
                f"({record['new_prefecture']}) in {_year(record['year'])}"
            )
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
            unit = counties[current]
            if current != record["new_code"]:
                note += f"; now {unit.label}"
            if record["old_code"] == current:  # renamed in place: say so on code lookups
                index["code"][current] = [_Hit(unit, "code", note)]
            old_prefecture = self._prefecture_named(
                record["old_prefecture"], record["old_code"][:2] + "0000"
            )
            alt = old_prefecture.adcode if old_prefecture else None
            index["old_code"][record["old_code"]].append(
                _Hit(unit, "old_code", note, alt_prefecture=alt)
            )
            old_name = normalise_name(record["old_name"])
            for key in [old_name, *short_forms(old_name)]:
                index["old_name"][key].append(_Hit(unit, "old_name", note, alt_prefecture=alt))

    def _load_zones(self, zones: pd.DataFrame) -> dict[str, _Zone]:
        _require_columns(zones, ["code", "name", "prefecture"], "zones")
        out: dict[str, _Zone] = {}
        for row in zones.to_dict("records"):
            code = as_adcode(row["code"])
            if code is None:
                msg = f"zones: {row['code']!r} is not a 6-digit code"
                raise ValueError(msg)
            prefecture = self._prefecture_named(row["prefecture"], code[:2] + "0000")
            if prefecture is None:
                msg = f"zones: prefecture {row['prefecture']!r} of {code} is not a prefecture"
                raise ValueError(msg)
            name = normalise_name(row["name"])
            zone = _Zone(
                code=code,
                name=name,
                kind="dev_zone",
                prefecture_adcodes=frozenset({prefecture.adcode}),
                province_adcodes=frozenset({prefecture.province_adcode}),
                label=f"{prefecture.name}{name} ({code})",
            )
            out[code] = zone
            index = self._index["county"]
            index["code"][code].append(_Hit(zone, "code"))
            index["exact"][name].append(_Hit(zone, "exact"))
        return out

    def _load_aliases(self, aliases: pd.DataFrame) -> None:
        _require_columns(aliases, ["alias", "adcode", "kind"], "aliases")
        special: dict[frozenset[str], _Zone] = {}
        for number, row in enumerate(aliases.to_dict("records"), start=2):
            alias = normalise_name(row["alias"])
            kind = str(row["kind"]).strip()
            code = None if _blank(row["adcode"]) else as_adcode(row["adcode"])
            local = row.get("prefecture_adcode")
            local_code = None if _blank(local) else as_adcode(local)
            where = f"aliases row {number} ({row['alias']!r})"
            if not alias:
                msg = f"{where}: empty alias"
                raise ValueError(msg)
            if not _blank(local) and local_code not in self._units["prefecture"]:
                msg = f"{where}: prefecture_adcode {local!r} is no prefecture"
                raise ValueError(msg)
            note = _text(row.get("note")) or ""
            if kind in LEVELS:
                target: _Unit | _Zone | None = self._units[kind].get(code or "")
                level = kind
            elif kind == "dev_zone":
                target = self._zones_by_code.get(code or "")
                level = "county"
            elif kind == "special_area":
                within = frozenset((_text(row.get("within")) or "").split())
                if not within or not within <= self._units["county"].keys():
                    msg = f"{where}: 'within' must list current county adcodes, got {within}"
                    raise ValueError(msg)
                if within not in special:
                    counties = [self._units["county"][c] for c in sorted(within)]
                    special[within] = _Zone(
                        code=None,
                        name=alias,
                        kind="special_area",
                        prefecture_adcodes=frozenset(c.prefecture_adcode for c in counties),
                        province_adcodes=frozenset(c.province_adcode for c in counties),
                        label=f"{alias} (no adcode; overlaps "
                        + ", ".join(c.name for c in counties)
                        + ")",
                        within=within,
                    )
                target = special[within]
                level = "county"
            else:
                kinds = [*LEVELS, "dev_zone", "special_area"]
                msg = f"{where}: kind {kind!r} is not one of {kinds}"
                raise ValueError(msg)
            if target is None:
                msg = f"{where}: adcode {row['adcode']!r} is no current {kind}"
                raise ValueError(msg)
            text = f"alias {alias} of {target.name}" + (f" ({note})" if note else "")
            self._index[level]["alias"][alias].append(
                _Hit(target, "alias", text, only_prefecture=local_code)
            )

    def _load_counties(
        self, counties: gpd.GeoDataFrame | None
    ) -> tuple[gpd.GeoDataFrame | None, list[_Unit]]:
        if counties is None:
            return None, []
        _require_columns(counties, ["adcode", "geometry"], "counties")
        if counties.crs is not None and counties.crs.to_epsg() != 4326:
            counties = counties.to_crs(4326)  # a copy: the caller's frame is untouched
        codes = _code_column(counties["adcode"], "counties.adcode")
        unknown = [c for c in codes if c not in self._units["county"]]
        if unknown:
            msg = f"counties: adcodes {unknown[:10]} are no current county-level units"
            raise ValueError(msg)
        frame = counties[["geometry"]].reset_index(drop=True)
        frame.sindex  # noqa: B018 - build the spatial index once, here
        return frame, [self._units["county"][c] for c in codes]

    # ------------------------------------------------------------------ points

    def locate(self, lon: Any, lat: Any) -> np.ndarray:
        """Adcodes of the county polygons containing points (vectorised).

        Parameters
        ----------
        lon, lat : float or array-like
            Longitudes and latitudes, in the datum of the county polygons.

        Returns
        -------
        numpy.ndarray of object
            One adcode per point; ``None`` where the point is in no polygon, on a
            boundary between polygons, or not finite.

        Raises
        ------
        ValueError
            If the registry has no county polygons.
        """
        if self._counties is None:
            msg = "this registry has no county polygons (AdminRegistry(counties=...))"
            raise ValueError(msg)
        x = np.atleast_1d(np.asarray(lon, dtype=float))
        y = np.atleast_1d(np.asarray(lat, dtype=float))
        out = np.full(x.shape, None, dtype=object)
        finite = np.isfinite(x) & np.isfinite(y)
        if not finite.any():
            return out
        points = shapely.points(x[finite], y[finite])
        where = np.flatnonzero(finite)
        # Query the county polygons against a tree of the points: GEOS prepares each
        # polygon once, which is ~20x faster than testing every point against raw
        # polygons. "contains" leaves out points on a border, which stay undecided.
        poly_pos, point_pos = shapely.STRtree(points).query(
            self._counties.geometry.to_numpy(), predicate="contains"
        )
        hits = np.bincount(point_pos, minlength=len(points))
        single = hits[point_pos] == 1
        codes = np.array([u.adcode for u in self._county_units], dtype=object)
        out[where[point_pos[single]]] = codes[poly_pos[single]]
        return out

    def _county_at(self, given: object, point: object) -> tuple[_Unit, float, float]:
        lon, lat = _point_xy(given, point)
        geoms = self._counties.geometry.to_numpy()
        hits = self._counties.sindex.query(shapely.Point(lon, lat), predicate="intersects")
        polys = hits.tolist()
        if len(polys) > 1:
            polys = [g for g in polys if shapely.contains_xy(geoms[g], lon, lat)]
        if len(polys) == 1:
            return self._county_units[polys[0]], lon, lat
        if not len(hits):
            msg = f"point ({lon}, {lat}) lies in no county polygon"
        else:
            names = _labels(self._county_units[g] for g in hits.tolist())
            msg = f"point ({lon}, {lat}) lies on the boundary of {', '.join(names)}"
        raise UndecidableUnit(f"{given!r}: {msg}", given=given)

    # ------------------------------------------------------------------ lookup

    def resolve(
        self,
        name: object,
        *,
        prefecture: object = None,
        province: object = None,
        point: object = None,
        level: Level = "county",
    ) -> Resolution:
        """Resolve one register spelling to a current unit.

        Parameters
        ----------
        name : str or int
            What the register wrote: a name, short form, alias, old name, 6-digit code
            (text, int or float) or development zone; a prefecture/province prefix
            (``长春市朝阳区``) is understood.
        prefecture : str or int, optional
            Prefecture context (``长春``, ``长春市``, ``延边州``, ``220100`` ...), resolved
            with the same rules; only for ``level="county"``.
        province : str or int, optional
            Province context (``吉林省``, ``吉林``, ``220000``); units outside it are
            excluded.
        point : tuple of float or shapely Point, optional
            ``(lon, lat)`` of the facility. Used only to place a development zone or
            special area in the legal county that contains it.
        level : {"county", "prefecture", "province"}
            The level of unit wanted.

        Returns
        -------
        Resolution

        Raises
        ------
        UnknownUnit
            Nothing in scope matches; the message lists the closest names.
        AmbiguousUnit
            Several units match and the context does not choose.
        UndecidableUnit
            A development zone or special area without a usable point.
        """
        if level not in LEVELS:
            msg = f"level must be one of {LEVELS}, not {level!r}"
            raise ValueError(msg)
        scope = self._scope(prefecture=prefecture, province=province, level=level)
        found = self._resolve(name, level=level, scope=scope, point=point, split_depth=2)
        return found.resolution()

    def _scope(self, *, prefecture: object, province: object, level: str) -> _Scope:
        scope = _Scope()
        if not _blank(province):
            scope.province = self._resolve(
                province, level="province", scope=_Scope(), point=None, split_depth=0
            ).unit
        if not _blank(prefecture):
            if level != "county":
                msg = f"a prefecture context only applies to level='county', not {level!r}"
                raise ValueError(msg)
            scope.prefecture = self._resolve(
                prefecture, level="prefecture", scope=scope, point=None, split_depth=2
            ).unit
        return scope

    def _resolve(
        self, given: object, *, level: str, scope: _Scope, point: object, split_depth: int
    ) -> _Resolved:
        if _blank(given):
            msg = f"no name given ({given!r})"
            raise UnknownUnit(msg, given=given)
        code = as_adcode(given)
        key = code or normalise_name(given)
        tiers = _TIERS_FOR_CODES if code else _TIERS_FOR_NAMES
        index = self._index[level]
        misses = _Misses()
        for tier in tiers:
            hits = index.get(tier, {}).get(key)
            if not hits:
                continue
            in_scope = [h for h in hits if self._admit(h, scope, point, misses)]
            if in_scope:
                return self._decide(given, key, in_scope, level=level, scope=scope, point=point)
        split_candidates: list[str] = []
        if not code and split_depth > 0:
            found = self._resolve_split(
                given, key, level=level, scope=scope, point=point,
                split_depth=split_depth, candidates=split_candidates,
            )  # fmt: skip
            if found is not None:
                return found
        raise self._failure(given, key, code, level, scope, misses, split_candidates)

    def _admit(self, hit: _Hit, scope: _Scope, point: object, misses: _Misses) -> bool:
        target = hit.target
        if hit.only_prefecture is not None:
            if scope.prefecture is None:
                if isinstance(target, _Zone) and not _blank_point(point):
                    # the point's county decides; _place_zone checks the prefecture
                    if self._in_province(target, scope):
                        return True
                    misses.out_of_scope.append(hit)
                    return False
                misses.needs_prefecture.append(hit)
                return False
            if scope.prefecture.adcode != hit.only_prefecture:
                misses.out_of_scope.append(hit)
                return False
        ok = self._in_province(target, scope) and self._in_prefecture(target, scope)
        if not ok and hit.alt_prefecture is not None and scope.prefecture is not None:
            ok = hit.alt_prefecture == scope.prefecture.adcode
        if not ok:
            misses.out_of_scope.append(hit)
        return ok

    @staticmethod
    def _in_province(target: _Unit | _Zone, scope: _Scope) -> bool:
        if scope.province is None:
            return True
        code = scope.province.adcode
        if isinstance(target, _Zone):
            return code in target.province_adcodes
        return target.province_adcode == code

    @staticmethod
    def _in_prefecture(target: _Unit | _Zone, scope: _Scope) -> bool:
        if scope.prefecture is None:
            return True
        code = scope.prefecture.adcode
        if isinstance(target, _Zone):
            return code in target.prefecture_adcodes
        return target.prefecture_adcode == code

    def _decide(
        self,
        given: object,
        key: str,
        hits: list[_Hit],
        *,
        level: str,
        scope: _Scope,
        point: object,
    ) -> _Resolved:
        first: dict[int, _Hit] = {}
        for hit in hits:
            first.setdefault(id(hit.target), hit)
        chosen = list(first.values())
        units = [h for h in chosen if isinstance(h.target, _Unit)]
        zones = [h for h in chosen if isinstance(h.target, _Zone)]
        word = LEVEL_WORDS[level]
        if zones and not units:
            return self._place_zone(given, [h.target for h in zones], point)
        if len(chosen) > 1:
            labels = _labels(h.target for h in chosen)
            msg = (
                f"{given!r} matches {len(labels)} {word}s{scope.text()}: {', '.join(labels)}; "
                "give the prefecture (or province), or the full name, to choose"
            )
            raise AmbiguousUnit(msg, given=given, candidates=labels)
        hit = units[0]
        unit = hit.target
        if level == "county" and hit.via == "short_form":
            self._check_not_prefecture(given, key, unit, scope)
        return _Resolved(unit, hit.via, hit.note)

    def _check_not_prefecture(self, given: object, key: str, unit: _Unit, scope: _Scope) -> None:
        """A bare short form like 通化 may mean the prefecture 通化市 as well as 通化县."""
        index = self._index["prefecture"]
        others = [
            h.target
            for tier in ("exact", "short_form")
            for h in index.get(tier, {}).get(key, [])
            if h.target.adcode != unit.adcode
            and self._in_province(h.target, scope)
            and (scope.prefecture is None or scope.prefecture.adcode == h.target.adcode)
        ]
        if others:
            labels = _labels([*others, unit])
            msg = (
                f"{given!r} may mean the prefecture-level {', '.join(_labels(others))} "
                f"or the county-level {unit.label}; write the full name"
            )
            raise AmbiguousUnit(msg, given=given, candidates=labels)

    def _place_zone(self, given: object, zones: list[_Zone], point: object) -> _Resolved:
        labels = _labels(zones)
        if len(zones) == 1:
            what = f"{given!r} is {labels[0]}, {zones[0].what} and not a legal county-level unit"
        else:
            what = f"{given!r} may mean {', '.join(labels)}; none is a legal county-level unit"
        if _blank_point(point):
            msg = (
                f"{what}: coordinates are needed to place it in the legal county that "
                "contains it; give the facility's point (lon, lat)"
            )
            raise UndecidableUnit(msg, given=given, candidates=labels)
        if self._counties is None:
            msg = (
                f"{what}: it can only be placed by coordinates, and this registry has no "
                "county polygons (AdminRegistry(counties=...))"
            )
            raise UndecidableUnit(msg, given=given, candidates=labels)
        try:
            county, lon, lat = self._county_at(given, point)
        except UndecidableUnit as exc:
            msg = f"{what}; {str(exc).removeprefix(f'{given!r}: ')}"
            raise UndecidableUnit(msg, given=given, candidates=labels) from None
        fitting = [z for z in zones if z.admits(county)]
        if not fitting:
            places = sorted({self._zone_place(z) for z in zones})
            msg = (
                f"{what}: point ({lon}, {lat}) lies in {county.label}, outside "
                f"{' / '.join(places)} where it lies; check the coordinates and their datum"
            )
            raise UndecidableUnit(msg, given=given, candidates=[*labels, county.label])
        zone = fitting[0]
        note = f"{zone.label} is not a legal county; point ({lon}, {lat}) lies in {county.label}"
        return _Resolved(county, "dev_zone_point", note)

    def _zone_place(self, zone: _Zone) -> str:
        if zone.within is not None:
            return ", ".join(self._units["county"][c].label for c in sorted(zone.within))
        return ", ".join(self._units["prefecture"][c].name for c in sorted(zone.prefecture_adcodes))

    def _resolve_split(
        self,
        given: object,
        key: str,
        *,
        level: str,
        scope: _Scope,
        point: object,
        split_depth: int,
        candidates: list[str],
    ) -> _Resolved | None:
        """Read ``吉林省长春市朝阳区`` as province / prefecture prefixes plus a name."""
        found: dict[str, tuple[_Resolved, str]] = {}
        for cut in range(2, len(key) - 1):
            prefix, rest = key[:cut], key[cut:]
            options: list[tuple[_Scope, str, int]] = []
            if split_depth >= 2:
                province = self._context_unit(prefix, "province")
                if province is not None and (
                    scope.province is None or scope.province.adcode == province.adcode
                ):
                    options.append((_Scope(province, scope.prefecture), province.name, 1))
            if level == "county":
                prefecture = self._context_unit(prefix, "prefecture")
                if (
                    prefecture is not None
                    and self._in_province(prefecture, scope)
                    and (scope.prefecture is None or scope.prefecture.adcode == prefecture.adcode)
                ):
                    options.append((_Scope(scope.province, prefecture), prefecture.name, 0))
            for sub_scope, shown, depth in options:
                try:
                    result = self._resolve(
                        rest, level=level, scope=sub_scope, point=point, split_depth=depth
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
            labels = _labels(r.unit for r, _ in found.values())
            msg = f"{given!r} can be read as {', '.join(labels)}; separate the names"
            raise AmbiguousUnit(msg, given=given, candidates=labels)
        result, shown = next(iter(found.values()))
        if result.note.startswith("read as "):
            note = f"read as {shown} + {result.note.removeprefix('read as ')}"
        else:
            note = f"read as {shown} + {result.unit.name}" + (
                f"; {result.note}" if result.note else ""
            )
        return _Resolved(result.unit, result.via, note)

    def _context_unit(self, prefix: str, level: str) -> _Unit | None:
        index = self._index[level]
        targets = {
            h.target.adcode: h.target
            for tier in ("exact", "short_form", "alias")
            for h in index.get(tier, {}).get(prefix, [])
            if isinstance(h.target, _Unit) and h.only_prefecture is None
        }
        return next(iter(targets.values())) if len(targets) == 1 else None

    def _failure(
        self,
        given: object,
        key: str,
        code: str | None,
        level: str,
        scope: _Scope,
        misses: _Misses,
        split_candidates: list[str],
    ) -> AdminLookupError:
        word = LEVEL_WORDS[level]
        if misses.needs_prefecture:
            parts = []
            for hit in misses.needs_prefecture:
                place = self._units["prefecture"][hit.only_prefecture]
                parts.append(f"{hit.target.label} in {place.name}")
            labels = _labels(h.target for h in misses.needs_prefecture)
            msg = (
                f"{given!r} is a local name whose meaning depends on the prefecture: "
                f"{', '.join(dict.fromkeys(parts))}; give the prefecture"
            )
            if any(isinstance(h.target, _Zone) for h in misses.needs_prefecture):
                msg += " (development zones also need the facility's coordinates)"
            return AmbiguousUnit(msg, given=given, candidates=labels)
        if misses.out_of_scope:
            labels = _labels(h.target for h in misses.out_of_scope)
            msg = (
                f"no {word}{scope.text()} matches {given!r}; it matches "
                f"{', '.join(labels)} elsewhere"
            )
            return UnknownUnit(msg, given=given, candidates=labels)
        for other in LEVELS:
            if other == level:
                continue
            tiers = _TIERS_FOR_CODES if code else ("exact", "alias", "short_form")
            others = [
                h.target
                for tier in tiers
                for h in self._index[other].get(tier, {}).get(key, [])
                if self._in_province(h.target, scope)
            ]
            if others:
                labels = _labels(others)
                msg = f"{given!r} is the {LEVEL_WORDS[other]} {', '.join(labels)}, not a {word}"
                return UnknownUnit(msg, given=given, candidates=labels)
        if code:
            msg = f"no {word} has the code {given!r}{scope.text()}"
            return UnknownUnit(msg, given=given)
        labels = split_candidates or self._closest(key, level, scope)
        shown = ", ".join(labels) if labels else "none"
        msg = f"no {word}{scope.text()} matches {given!r}; closest: {shown}"
        return UnknownUnit(msg, given=given, candidates=labels)

    def _closest(self, key: str, level: str, scope: _Scope) -> list[str]:
        """Up to five units whose names (or short forms, aliases) are nearest to ``key``."""
        pool: dict[str, list[_Unit | _Zone]] = defaultdict(list)
        for tier in ("exact", "alias", "short_form", "old_name"):
            for name, hits in self._index[level].get(tier, {}).items():
                for hit in hits:
                    target = hit.target
                    if self._in_province(target, scope) and self._in_prefecture(target, scope):
                        pool[name].append(target)
        labels: list[str] = []
        for match in difflib.get_close_matches(key, list(pool), n=10, cutoff=0.6):
            for label in _labels(pool[match]):
                if label not in labels:
                    labels.append(label)
        return labels[:_MAX_CANDIDATES]

    # ------------------------------------------------------------------ tables

    def resolve_many(
        self,
        frame: pd.DataFrame,
        *,
        name_col: str,
        prefecture_col: str | None = None,
        lon_col: str | None = None,
        lat_col: str | None = None,
        province: object = None,
        level: Level = "county",
    ) -> pd.DataFrame:
        """Resolve a whole register column; failures are reported per row, never raised.

        Parameters
        ----------
        frame : DataFrame
            The register; it is not modified.
        name_col : str
            Column with what the register wrote for the unit.
        prefecture_col : str, optional
            Column with the prefecture (city) context of each row.
        lon_col, lat_col : str, optional
            Columns with the facility's coordinates (used for development zones).
        province : str or int, optional
            Province context for every row.
        level : {"county", "prefecture", "province"}
            Level of unit wanted.

        Returns
        -------
        DataFrame
            Indexed like ``frame``, one row per input row, with columns ``adcode, name,
            prefecture_adcode, prefecture, province, via, note, error, error_type``.
            ``adcode`` is NaN and ``error`` holds the message where a row failed.

        Raises
        ------
        ValueError
            If a named column is missing or ``province`` / ``level`` is invalid (these
            concern the whole call, not a row).
        """
        columns = [c for c in (name_col, prefecture_col, lon_col, lat_col) if c is not None]
        _require_columns(frame, columns, "frame")
        if (lon_col is None) != (lat_col is None):
            msg = "give both lon_col and lat_col, or neither"
            raise ValueError(msg)
        if level not in LEVELS:
            msg = f"level must be one of {LEVELS}, not {level!r}"
            raise ValueError(msg)
        self._scope(prefecture=None, province=province, level=level)  # fail fast

        n = len(frame)
        names = frame[name_col].tolist()
        prefectures = frame[prefecture_col].tolist() if prefecture_col else [None] * n
        lons = frame[lon_col].tolist() if lon_col else [None] * n
        lats = frame[lat_col].tolist() if lat_col else [None] * n
        out_columns = ["adcode", "name", "prefecture_adcode", "prefecture", "province", "via"]
        rows: list[dict[str, Any]] = []
        cache: dict[tuple[Any, ...], dict[str, Any]] = {}
        for name, prefecture, lon, lat in zip(names, prefectures, lons, lats, strict=True):
            point = None if _blank(lon) or _blank(lat) else (lon, lat)
            cache_key = (_hashable(name), _hashable(prefecture), _hashable(point))
            row = cache.get(cache_key)
            if row is None:
                row = {c: None for c in out_columns}
                try:
                    r = self.resolve(
                        name, prefecture=prefecture, province=province, point=point, level=level
                    )
                except AdminLookupError as exc:
                    row.update(note=None, error=str(exc), error_type=type(exc).__name__)
                else:
                    row.update(
                        {c: getattr(r, c) for c in out_columns},
                        note=r.note,
                        error=None,
                        error_type=None,
                    )
                cache[cache_key] = row
            rows.append(row)
        result = pd.DataFrame(
            rows, columns=[*out_columns, "note", "error", "error_type"], index=frame.index
        )
        return result.astype(object).where(result.notna(), np.nan)


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True, slots=True)
class _Resolved:
    unit: _Unit
    via: str
    note: str = ""

    def resolution(self) -> Resolution:
        unit = self.unit
        return Resolution(
            adcode=unit.adcode,
            name=unit.name,
            prefecture_adcode=unit.prefecture_adcode,
            prefecture=unit.prefecture,
            province=unit.province,
            via=self.via,  # type: ignore[arg-type]
            note=self.note,
        )


def _read_reference(name: str) -> pd.DataFrame:
    return pd.read_csv(reference_path(name), dtype=str, keep_default_na=False, na_values=[""])


def _year(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _hashable(value: object) -> object:
    if _blank(value):
        return None
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return (type(value).__name__, value)


def _blank_point(point: object) -> bool:
    return point is None or (isinstance(point, float) and math.isnan(point))


def _point_xy(given: object, point: object) -> tuple[float, float]:
    try:
        if isinstance(point, shapely.Point):
            lon, lat = float(point.x), float(point.y)
        else:
            lon, lat = (float(v) for v in point)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        msg = f"{given!r}: point {point!r} is not a (lon, lat) pair"
        raise UndecidableUnit(msg, given=given) from None
    if not (math.isfinite(lon) and math.isfinite(lat)):
        msg = f"{given!r}: point ({lon}, {lat}) is not finite"
        raise UndecidableUnit(msg, given=given)
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        msg = f"{given!r}: point ({lon}, {lat}) is not (lon, lat); are the two swapped?"
        raise UndecidableUnit(msg, given=given)
    return lon, lat
