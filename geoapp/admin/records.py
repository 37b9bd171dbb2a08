"""The records of the administrative registry: units, zones, index hits and results.

Owns the vocabulary shared by the registry's modules: the levels of unit, the public
:class:`Resolution` and the internal records a lookup works on (:class:`Unit`,
:class:`Zone`, :class:`Split`, :class:`Hit`, :class:`Scope`, :class:`Misses`,
:class:`Resolved`).
Imports nothing of geoapp.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "LEVELS",
    "LEVEL_WORDS",
    "Hit",
    "Level",
    "Misses",
    "Resolution",
    "Resolved",
    "Scope",
    "Split",
    "Unit",
    "Via",
    "Zone",
    "labels",
]

Level = Literal["county", "prefecture", "province"]
Via = Literal["exact", "code", "short_form", "alias", "old_name", "old_code", "dev_zone_point"]
LEVELS: tuple[str, ...] = ("county", "prefecture", "province")
LEVEL_WORDS = {
    "county": "county-level unit",
    "prefecture": "prefecture-level unit",
    "province": "province-level unit",
}


def _by_fields(record: object) -> tuple[type, tuple[object, ...]]:
    """``__reduce__`` of the frozen records: rebuilt by their constructor from their
    fields, twice as fast to unpickle as a frozen dataclass's own ``__setstate__`` (the
    prepared index of :mod:`geoapp.admin.cache` holds some 20,000 of them)."""
    names: tuple[str, ...] = record.__slots__  # type: ignore[attr-defined]
    return type(record), tuple(getattr(record, name) for name in names)


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


@dataclass(frozen=True, slots=True)
class Unit:
    """A current unit of ``admin_divisions.csv``."""

    __reduce__ = _by_fields

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
class Zone:
    """A development zone or special area: a name that is not a legal county."""

    __reduce__ = _by_fields

    code: str | None
    name: str
    kind: str  # "dev_zone" | "special_area"
    prefecture_adcodes: frozenset[str]
    province_adcodes: frozenset[str]
    label: str
    within: frozenset[str] | None = None

    def admits(self, county: Unit) -> bool:
        if self.within is not None:
            return county.adcode in self.within
        return county.prefecture_adcode in self.prefecture_adcodes

    @property
    def what(self) -> str:
        return "a development zone" if self.kind == "dev_zone" else "a special area"


@dataclass(frozen=True, slots=True)
class Split:
    """An old code or name whose territory now lies in several current units.

    No one of them is the answer: only the facility's coordinates (or an address) can
    choose, so a lookup that meets a split without a usable point refuses.
    """

    __reduce__ = _by_fields

    code: str
    name: str
    place: str  # the prefecture (or province) it lay in
    year: int  # when it changed or was retired
    successors: tuple[Unit, ...]

    @property
    def label(self) -> str:
        return f"{self.place}{self.name} ({self.code}, until {self.year})"

    @property
    def province_adcodes(self) -> frozenset[str]:
        return frozenset(u.province_adcode for u in self.successors)

    @property
    def prefecture_adcodes(self) -> frozenset[str]:
        return frozenset(u.prefecture_adcode or "" for u in self.successors)


@dataclass(frozen=True, slots=True)
class Hit:
    """What one index key points to, and how it was found."""

    __reduce__ = _by_fields

    target: Unit | Zone | Split
    via: str
    note: str = ""
    only_prefecture: str | None = None  # local alias: valid only in this prefecture
    alt_prefecture: str | None = None  # old names/codes: the former prefecture
    source: tuple[str, int] | None = None  # old names/codes: (code, first year) in the history


@dataclass(slots=True)
class Scope:
    """The province and prefecture a lookup is confined to."""

    province: Unit | None = None
    prefecture: Unit | None = None

    def text(self) -> str:
        unit = self.prefecture or self.province
        return f" in {unit.name}" if unit else ""


@dataclass(slots=True)
class Misses:
    """What a failed lookup saw, to explain the failure."""

    out_of_scope: list[Hit] = field(default_factory=list)
    needs_prefecture: list[Hit] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Resolved:
    """A lookup's answer before it becomes a public :class:`Resolution`."""

    unit: Unit
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


def labels(targets: Iterable[Unit | Zone | Split]) -> list[str]:
    """Distinct labels of units and zones, in order of first appearance."""
    out: list[str] = []
    for target in targets:
        if target.label not in out:
            out.append(target.label)
    return out
