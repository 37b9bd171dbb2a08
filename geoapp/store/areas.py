"""Reporting areas and periods: which units an area covers, and what a quarter means.

A submission is for one *area* — the region, one of its prefectures, or one
county-level unit — and one *period*, a quarter such as ``2026Q1``. :class:`AreaTree`
knows the region's units (from its county layer: ``adcode, name, prefecture_adcode,
prefecture``) and answers the questions the store asks on every write: is this area
in the region, which county-level units does it cover, does one area contain another,
who reviews it. :class:`Period` parses a quarter and gives its as-of date (the
quarter's last day) and its due date.

Pure: frames in, answers out; nothing here opens a file.

Examples
--------
>>> import pandas as pd
>>> tree = AreaTree("990000", "Toy", pd.DataFrame({
...     "adcode": ["990101", "990102", "990201"], "name": ["A1", "A2", "B1"],
...     "prefecture_adcode": ["990100", "990100", "990200"],
...     "prefecture": ["A", "A", "B"]}))
>>> tree.units("990100"), tree.level("990201"), tree.reviewer_area("990201")
(['990101', '990102'], 'county', '990200')
>>> tree.contains("990000", "990102"), tree.contains("990100", "990201")
(True, False)
>>> Period.parse("2026q1").as_of, Period.parse("2026Q1").due(15)
('2026-03-31', '2026-04-15')
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from geoapp.localised import Localised, Word

__all__ = ["AreaError", "AreaTree", "Period"]

LEVELS = ("region", "prefecture", "county")


class AreaError(Localised, ValueError):
    """An area or period that is not usable; the message says what is accepted (and
    ``key``/``params`` the same for the user's language)."""


class AreaTree:
    """The areas of one region: the region, its prefectures and its county-level units.

    Parameters
    ----------
    region : str
        The region's adcode (a province, a prefecture-level city or one county unit).
    region_name : str
    units : DataFrame
        One row per county-level unit: ``adcode, name, prefecture_adcode, prefecture``.
    """

    def __init__(self, region: str, region_name: str, units: pd.DataFrame) -> None:
        self.region = str(region)
        self.region_name = str(region_name)
        frame = units[["adcode", "name", "prefecture_adcode", "prefecture"]].astype(str)
        self._units = frame.sort_values("adcode").reset_index(drop=True)
        self._prefectures = dict(zip(frame["prefecture_adcode"], frame["prefecture"], strict=False))
        # A region that is one prefecture (or one county) has no prefecture level of
        # its own: its prefecture code is the region.
        self._prefectures.pop(self.region, None)
        self._names = dict(zip(frame["adcode"], frame["name"], strict=True))

    def __repr__(self) -> str:
        return f"AreaTree({self.region!r}, {len(self._units)} units)"

    @property
    def unit_table(self) -> pd.DataFrame:
        """The county-level units, by adcode (a copy)."""
        return self._units.copy()

    def check(self, area: object) -> str:
        """``area`` as an adcode of this region; AreaError naming what exists otherwise."""
        code = str(area).strip() if area is not None else ""
        if code == self.region or code in self._prefectures or code in self._names:
            return code
        pref = ", ".join(f"{c} {n}" for c, n in sorted(self._prefectures.items()))
        msg = (
            f"area {code!r} is not in region {self.region} {self.region_name}; give the "
            f"region ({self.region}), a prefecture ({pref or 'none'}) or a county-level "
            "unit's adcode"
        )
        prefectures = [f"{c} {n}" for c, n in sorted(self._prefectures.items())]
        raise AreaError(
            msg, key="problem.area.unknown", area=code, region=self.region,
            region_name=self.region_name,
            prefectures=prefectures or Word("problem.word.none", "none"),
        )  # fmt: skip

    def level(self, area: str) -> str:
        """``"region"``, ``"prefecture"`` or ``"county"``."""
        code = self.check(area)
        if code == self.region:
            return "region"
        return "prefecture" if code in self._prefectures else "county"

    def name(self, area: str) -> str:
        code = self.check(area)
        if code == self.region:
            return self.region_name
        return self._prefectures.get(code) or self._names[code]

    def units(self, area: str) -> list[str]:
        """The county-level units the area covers, sorted by adcode."""
        code = self.check(area)
        frame = self._units
        if code == self.region:
            return frame["adcode"].tolist()
        mask = (frame["prefecture_adcode"] == code) | (frame["adcode"] == code)
        return frame.loc[mask, "adcode"].tolist()

    def contains(self, outer: str, inner: str) -> bool:
        """Whether area ``outer`` covers area ``inner`` (an area contains itself)."""
        return set(self.units(inner)) <= set(self.units(outer))

    def parent(self, area: str) -> str | None:
        """The area one level up (None for the region)."""
        code = self.check(area)
        if code == self.region:
            return None
        if code in self._prefectures:
            return self.region
        pref = self._units.loc[self._units["adcode"] == code, "prefecture_adcode"].iloc[0]
        return pref if pref in self._prefectures else self.region

    def reviewer_area(self, area: str) -> str:
        """The area whose reviewers approve a submission for ``area``: its parent, or the
        region itself for a submission of the whole region (no higher level exists)."""
        return self.parent(area) or self.region

    def may_review(self, reviewer_area: str, area: str) -> bool:
        """Whether a reviewer of ``reviewer_area`` may approve a submission for ``area``:
        areas strictly inside theirs, and the region itself for the region's reviewers."""
        if not self.contains(reviewer_area, area):
            return False
        return reviewer_area != area or area == self.region

    def prefecture_of(self, adcodes: pd.Series) -> pd.Series:
        """Each unit's prefecture adcode (the region's for units outside any prefecture)."""
        lookup = dict(zip(self._units["adcode"], self._units["prefecture_adcode"], strict=True))
        pref = adcodes.astype(str).map(lookup)
        return pref.where(pref.isin(list(self._prefectures)), self.region)


_PERIOD = re.compile(r"\s*(\d{4})\s*[Qq]\s*([1-4])\s*")


@dataclass(frozen=True, order=True)
class Period:
    """A reporting quarter."""

    year: int
    quarter: int

    @classmethod
    def parse(cls, value: object) -> Period:
        """``2026Q1`` (case and spaces ignored), or a Period; AreaError otherwise."""
        if isinstance(value, Period):
            return value
        m = _PERIOD.fullmatch(str(value)) if value is not None else None
        if m is None or not 2000 <= int(m.group(1)) <= 2100:
            msg = f"period {value!r} is not a quarter; write it as 2026Q1 (year, Q, 1-4)"
            raise AreaError(msg, key="problem.area.period", period=str(value)[:40])
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of_date(cls, day: object) -> Period:
        """The quarter a date (ISO text or date) falls in."""
        d = date.fromisoformat(str(day)[:10])
        return cls(d.year, (d.month - 1) // 3 + 1)

    def __str__(self) -> str:
        return f"{self.year}Q{self.quarter}"

    @property
    def as_of(self) -> str:
        """The quarter's last day, ISO."""
        month = self.quarter * 3
        return date(self.year, month, calendar.monthrange(self.year, month)[1]).isoformat()

    def due(self, days: int) -> str:
        """The due date: ``days`` after the quarter's last day, ISO."""
        return (date.fromisoformat(self.as_of) + timedelta(days=int(days))).isoformat()
