"""The gaps a map marks, and the one sentence that sums them up.

A map of coverage gaps shows one *selection* of rules at a time: every mandatory rule
(the fact a leader must see first, and the overview's default), every aspirational
rule, or a single rule by its id. From a :class:`~geoapp.analysis.coverage.GapResult`
and a selection this module derives the units to mark, county-level and prefecture-level
apart (they are drawn apart), the facilities missing per type, a per-county text for
the table beside the map, and the headline above it::

    吉林省：2 个县级单位、1 个市（州）未达到约束性要求，缺 2 个残疾人辅助性就业机构、1 个残疾人创业孵化基地

(the most missing type first). A unit is marked when it has a shortfall
(``shortfall > 0``), as in the gap list. Pure functions of the result and the i18n
table; no streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geoapp.analysis.coverage import GapResult, filter_units
from geoapp.facilities import FACILITY_TYPES
from geoapp.i18n import DEFAULT_LANGUAGE, t

__all__ = ["STRENGTH_SELECTIONS", "GapMarks", "gap_headline", "gap_marks", "unit_gap_text"]

#: Selections that take every rule of one strength; anything else is a rule id.
STRENGTH_SELECTIONS = ("mandatory", "aspirational")


@dataclass(frozen=True)
class GapMarks:
    """The units failing a selection of rules and what they miss.

    ``counties`` and ``prefectures`` are adcodes (sorted); ``missing`` maps a facility
    type to the facilities missing (the sum of the shortfalls), in the order of
    :data:`geoapp.facilities.FACILITY_TYPES`; ``rows_in_scope`` counts the rule-and-unit
    rows of the selection, met or not (0: the policy has no such rule here).
    """

    selection: str
    counties: tuple[str, ...]
    prefectures: tuple[str, ...]
    missing: dict[str, int]
    rows_in_scope: int

    @property
    def units(self) -> int:
        return len(self.counties) + len(self.prefectures)


def _selected(result: GapResult, selection: str) -> pd.DataFrame:
    """The rows of ``selection``: by strength for a strength, else by rule id."""
    table = result.table
    column = "strength" if selection in STRENGTH_SELECTIONS else "rule_id"
    return table[table[column] == selection]


def gap_marks(
    result: GapResult,
    selection: str = "mandatory",
    *,
    prefecture: str | None = None,
    county: str | None = None,
) -> GapMarks:
    """The units of ``result`` that fail ``selection`` and the facilities they miss.

    ``selection``: ``"mandatory"``, ``"aspirational"`` or a rule id (a rule with no row
    in ``result`` marks nothing). ``prefecture`` (adcode): only that prefecture's own
    rows and its counties'; ``county`` (adcode): only that county's rows and those of
    ``prefecture``, its prefecture, whose prefecture-level rules it shares.

    Examples
    --------
    >>> from geoapp.datasource import default_source
    >>> from geoapp.analysis.coverage import compute_gaps
    >>> src = default_source()
    >>> result = compute_gaps("jilin-2025-2027", counties=src.counties(),
    ...                       facilities=src.facilities(), unemployed=src.unemployed())
    >>> marks = gap_marks(result)
    >>> marks.counties, marks.prefectures
    (('220623', '220822'), ('220400',))
    >>> marks.missing
    {'auxiliary_institution': 2, 'incubation_base': 1}
    >>> gap_marks(result, prefecture="220600").counties
    ('220623',)
    """
    if county:
        result = filter_units(result, adcode=[c for c in (county, prefecture) if c])
    elif prefecture:
        result = filter_units(result, prefecture=prefecture)
    rows = _selected(result, selection)
    short = rows[rows["shortfall"] > 0]
    prefecture = short["unit_kind"] == "prefecture"
    per_type = short.groupby("facility_type")["shortfall"].sum()
    return GapMarks(
        selection=selection,
        counties=tuple(sorted(set(short.loc[~prefecture, "adcode"].astype(str)))),
        prefectures=tuple(sorted(set(short.loc[prefecture, "adcode"].astype(str)))),
        # most missing first, then in the order of the types
        missing=dict(
            sorted(
                ((k, int(per_type[k])) for k in FACILITY_TYPES if per_type.get(k, 0) > 0),
                key=lambda item: -item[1],
            )
        ),
        rows_in_scope=len(rows),
    )


def _what(selection: str, lang: str) -> str:
    key = selection if selection in STRENGTH_SELECTIONS else "rule"
    return t(f"marks.what.{key}", lang)


def _count(n: int, key: str, lang: str) -> str:
    return t(f"{key}_one" if n == 1 else key, lang).format(n=n)


def gap_headline(marks: GapMarks, *, scope: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """One sentence for ``marks``: how many units fail, and what they miss in all.

    ``scope`` names the area summed up (a region, prefecture or county name).

    Examples
    --------
    >>> marks = GapMarks("mandatory", ("220623", "220822"), ("220400",),
    ...                  {"auxiliary_institution": 2, "incubation_base": 1}, 69)
    >>> gap_headline(marks, scope="吉林省")
    '吉林省：2 个县级单位、1 个市（州）未达到约束性要求，缺 2 个残疾人辅助性就业机构、1 个残疾人创业孵化基地'
    >>> gap_headline(marks, scope="Jilin", lang="en")
    'Jilin: 2 county-level units and 1 prefecture below the mandatory rules; missing 2 × Auxiliary employment institution, 1 × Entrepreneurship incubation base'
    """
    what = _what(marks.selection, lang)
    if marks.rows_in_scope == 0:
        return t("marks.headline_no_rules", lang).format(scope=scope, what=what)
    if marks.units == 0:
        return t("marks.headline_none", lang).format(scope=scope, what=what)
    units = [
        _count(n, key, lang)
        for n, key in (
            (len(marks.counties), "marks.counties"),
            (len(marks.prefectures), "marks.prefectures"),
        )
        if n
    ]
    missing = t("marks.list_sep", lang).join(
        t("marks.missing_item", lang).format(n=n, facility=t(f"facility_type.{k}", lang))
        for k, n in marks.missing.items()
    )
    return t("marks.headline", lang).format(
        scope=scope, units=t("marks.units_sep", lang).join(units), what=what, missing=missing
    )


def unit_gap_text(
    result: GapResult, selection: str, units: pd.DataFrame, *, lang: str = DEFAULT_LANGUAGE
) -> pd.Series:
    """Per county of ``units`` (``adcode, prefecture_adcode``; indexed like it): what it
    misses under ``selection``, its prefecture's shortfalls included, or "no gap".

    Examples
    --------
    >>> from geoapp.datasource import default_source
    >>> from geoapp.analysis.coverage import compute_gaps
    >>> src = default_source()
    >>> result = compute_gaps("jilin-2025-2027", counties=src.counties(),
    ...                       facilities=src.facilities(), unemployed=src.unemployed())
    >>> units = pd.DataFrame({"adcode": ["220623", "220402", "220621"],
    ...                       "prefecture_adcode": ["220600", "220400", "220600"]})
    >>> unit_gap_text(result, "mandatory", units).tolist()
    ['缺 1 个残疾人辅助性就业机构', '所属市（州）缺 1 个残疾人创业孵化基地', '无缺口']
    """
    rows = _selected(result, selection)
    short = rows[rows["shortfall"] > 0]
    prefecture = short["unit_kind"] == "prefecture"
    sep = t("marks.list_sep", lang)
    # One message per failing row: the rows that need words, not every county.
    texts = [
        t("marks.unit_prefecture_short" if pref else "marks.unit_short", lang).format(
            n=int(n), facility=t(f"facility_type.{ftype}", lang)
        )
        for pref, n, ftype in zip(
            prefecture, short["shortfall"], short["facility_type"], strict=True
        )
    ]
    said = short.assign(_text=texts)
    own = said[~prefecture].groupby("adcode")["_text"].agg(sep.join)
    theirs = said[prefecture].groupby("adcode")["_text"].agg(sep.join)
    mine = units["adcode"].astype(str).map(own).astype("string")
    prefectures = units["prefecture_adcode"].astype(str).map(theirs).astype("string")
    between = (mine.notna() & prefectures.notna()).map({True: sep, False: ""})
    joined = mine.fillna("") + between + prefectures.fillna("")
    return joined.where(joined != "", t("marks.unit_ok", lang)).astype(object).rename("gap")
