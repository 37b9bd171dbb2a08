"""The fields a register may have, the headings they go by, and finding the header row.

This module owns the field synonyms of the three kinds of table (facility registers,
unemployed-disabled counts, demand points), the fields each needs (and the ones worth a
warning when missing), and header detection: the header is the row (or a group row above
a sub-header row, 坐标 over 经度/纬度) among the first :data:`HEADER_SEARCH_ROWS` rows whose
headings name the most fields and give all the required ones. A heading is read, in
order: as mapped by the user (``columns``); as a synonym (compared by
:func:`~geoapp.ingest.headings.header_key`, a parenthesised suffix such as 经度（E）or
市（州）also tried without it); by its family
(:func:`~geoapp.ingest.headings.family_field`: 所属县（市、区）, 所在地区, X坐标 ...). A
column whose heading says nothing may still be the county or prefecture column by its
values (:data:`VALUE_SHARE` of them units of the region, :func:`region_units`). The
:class:`Header` carries one :class:`~geoapp.ingest.headings.HeaderNote` per column: how
it was read, or that it is unused and the field it most resembles.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from geoapp.admin import AdminLookupError, as_adcode
from geoapp.ingest.headings import HeaderNote, closest_field, family_field, header_key
from geoapp.ingest.tables import RegisterError, Table

if TYPE_CHECKING:
    from geoapp.admin import AdminRegistry

__all__ = [
    "COUNT_FIELDS",
    "COUNT_USEFUL",
    "DEMAND_FIELDS",
    "FACILITY_FIELDS",
    "FACILITY_USEFUL",
    "HEADER_SEARCH_ROWS",
    "VALUE_SAMPLE",
    "VALUE_SHARE",
    "Header",
    "UnitShare",
    "find_header",
    "header_key",
    "missing_fields",
    "region_units",
]

HEADER_SEARCH_ROWS = 30
# A column of unknown heading is the county (prefecture) column when at least VALUE_SHARE
# of its first VALUE_SAMPLE non-blank values are county-level units (prefectures) of the
# region.
VALUE_SAMPLE = 50
VALUE_SHARE = 0.8

# Field -> header spellings (compared after NFKC, lower case, spaces and * : _ - . removed;
# a parenthesised suffix such as 经度（E）or 市（州）is also tried without it).
FACILITY_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("名称", "机构名称", "单位名称", "基地名称", "设施名称", "name", "facility name"),
    "type": (
        "类型",
        "机构类型",
        "类别",
        "机构类别",
        "设施类型",
        "type",
        "facility_type",
        "category",
    ),
    "subtype": ("子类型", "细分类型", "subtype"),
    "city": ("市州", "市(州)", "城市", "地市", "所在市州", "所属市州", "市", "city", "prefecture"),
    "county": (
        "县区",
        "县(市、区)",
        "县(市,区)",
        "区县",
        "县市区",
        "所在县区",
        "所属县区",
        "县",
        "county",
        "district",
    ),
    "address": ("地址", "详细地址", "机构地址", "所在地", "address"),
    "lon": ("经度", "lon", "lng", "long", "longitude", "x"),
    "lat": ("纬度", "lat", "latitude", "y"),
    "coords": ("坐标", "经纬度", "经纬度坐标", "coordinates", "lonlat"),
    "datum": ("坐标系", "坐标系统", "坐标类型", "datum", "crs"),
    "facility_id": ("编号", "机构编号", "登记编号", "facility_id", "id"),
    "note": ("备注", "说明", "note", "notes", "remarks"),
}
COUNT_FIELDS: dict[str, tuple[str, ...]] = {
    "adcode": ("行政区划代码", "区划代码", "代码", "行政代码", "adcode", "code"),
    "city": FACILITY_FIELDS["city"],
    "county": (*FACILITY_FIELDS["county"], "名称", "地区", "区域", "单位", "name"),
    "count": (
        "未就业残疾人数",
        "失业残疾人数",
        "未就业人数",
        "人数",
        "未就业残疾人",
        "unemployed_disabled",
        "unemployed",
        "count",
    ),
    "note": FACILITY_FIELDS["note"],
}
DEMAND_FIELDS: dict[str, tuple[str, ...]] = {
    "name": (
        "名称",
        "地名",
        "乡镇",
        "村",
        "乡镇名称",
        "村名",
        "需求点",
        "name",
        "place",
        "town",
        "village",
    ),
    "count": (*COUNT_FIELDS["count"], "需求", "需求人数", "demand", "people"),
    "lon": FACILITY_FIELDS["lon"],
    "lat": FACILITY_FIELDS["lat"],
    "coords": FACILITY_FIELDS["coords"],
    "datum": FACILITY_FIELDS["datum"],
    "city": FACILITY_FIELDS["city"],
    "county": FACILITY_FIELDS["county"],
    "note": FACILITY_FIELDS["note"],
}

# What each kind of table must have: every entry is a tuple of fields of which at least
# one (``lon+lat`` counts as one) must be present.
FACILITY_REQUIRED = (("name",), ("type",), ("lon+lat", "coords", "county", "address"))
COUNT_REQUIRED = (("count",), ("adcode", "county"))
DEMAND_REQUIRED = (("count",), ("lon+lat", "coords"))
# What a steward should be warned about when no column gives it (same form as above).
FACILITY_USEFUL = (
    ("name",),
    ("type",),
    ("county",),
    ("city",),
    ("address",),
    ("lon+lat", "coords"),
)
COUNT_USEFUL = (("count",), ("adcode", "county"))

_PAREN_RE = re.compile(r"\([^()]*\)")
_NUMBER_RE = re.compile(r"[\d\s.,+\-()/:]+")
# How a column was read, as HeaderNote keys; the rank orders the ways (a lower one wins
# when two columns give the same field).
_HOW = ("header.note.override", "header.note.synonym", "header.note.family", "header.note.values")
_VALUE_FIELDS = {"county": "county", "city": "prefecture"}  # field -> unit level

# (values, level) -> (share of the sampled non-blank values that are units of the
# region at that level, how many were sampled); see :func:`region_units`.
UnitShare = Callable[[Sequence[Any], str], tuple[float, int]]


@dataclass(frozen=True)
class Header:
    """Where the header is and what its columns hold.

    ``notes`` says, column by column, how each heading was read or that it is unused
    (with the field it most resembles), as i18n keys and parameters.
    """

    rows: tuple[int, ...]  # 0-based
    columns: dict[str, int]  # field -> 0-based column
    labels: dict[str, str]  # field -> header text
    ignored: tuple[str, ...]
    notes: tuple[HeaderNote, ...] = ()


class _Labeller:
    """Recognise header cells as fields, user overrides first."""

    def __init__(self, fields: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str]):
        self.fields = frozenset(fields)
        self.synonyms: dict[str, str] = {}
        for name, spellings in fields.items():
            for spelling in (name, *spellings):
                self.synonyms.setdefault(header_key(spelling), name)
        self.overrides = {header_key(text): name for name, text in overrides.items()}

    def __call__(self, value: Any) -> tuple[str, int] | None:
        key = header_key(value)
        if not key:
            return None
        if key in self.overrides:
            return self.overrides[key], 0
        if key in self.synonyms:
            return self.synonyms[key], 1
        bare = _PAREN_RE.sub("", key)
        if bare and bare in self.synonyms:
            return self.synonyms[bare], 1
        family = family_field(value)
        if family is not None and family[0] in self.fields:
            return family[0], 2
        return None


def find_header(
    table: Table,
    fields: Mapping[str, tuple[str, ...]],
    overrides: Mapping[str, str] | None,
    *,
    required: tuple[tuple[str, ...], ...],
    what: str,
    units: UnitShare | None = None,
) -> Header:
    """Find the header: one row, or a group row above a sub-header row (坐标 / 经度 纬度).

    ``required`` lists alternatives that must all be satisfied: each entry is a tuple of
    fields of which at least one (``lon+lat`` counts as one) must be present. The best
    candidate names the most fields (a lone lon or lat counts one less), then comes
    first, then is the shorter block. With ``units`` (:func:`region_units`), a column
    whose heading names no field is the county or prefecture column when its values say
    so (:func:`_by_values`); a block that lacks a required field only for want of that
    column qualifies then too.

    Raises
    ------
    RegisterError
        No row qualifies; the message says what the best row had and what is needed.
    """
    overrides = _checked_overrides(fields, overrides)
    label = _Labeller(fields, {k: str(v) for k, v in overrides.items()})
    rows = table.rows[:HEADER_SEARCH_ROWS]
    labelled = [[label(v) for v in row] for row in rows]
    candidates, partial = _candidates(rows, labelled, required)
    if overrides:
        candidates = [c for c in candidates if set(overrides) <= set(c[-1].columns)]
    # A lone lon or lat (a column headed x or y) does not make a better header.
    candidates = [
        (c[0] + (("lon" in c[-1].columns) != ("lat" in c[-1].columns)), *c[1:]) for c in candidates
    ]
    chosen = min(candidates, key=lambda c: c[:3])[-1] if candidates else partial
    if chosen is not None and units is not None:
        chosen = _by_values(table, chosen, fields, units)
    if (
        chosen is None
        or _missing(chosen.columns, required)
        or not set(overrides) <= set(chosen.columns)
    ):
        raise _no_header(
            table,
            fields,
            overrides,
            required=required,
            what=what,
            searched=len(rows),
            partial=partial,
        )
    return Header(
        rows=chosen.rows,
        columns=chosen.columns,
        labels=chosen.texts,
        ignored=_ignored(rows, chosen.rows, set(chosen.columns.values())),
        notes=_notes(rows, chosen, fields, label),
    )


def _checked_overrides(
    fields: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str] | None
) -> dict[str, str]:
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(fields))
    if unknown:
        msg = f"columns: unknown field(s) {unknown}; fields are {list(fields)}"
        raise RegisterError(msg)
    return overrides


@dataclass(frozen=True)
class _Block:
    """A header block and what its columns give."""

    rows: tuple[int, ...]  # 0-based rows of the block
    columns: dict[str, int]  # field -> 0-based column
    ranks: dict[str, int]  # field -> how it was read (an index into _HOW)
    texts: dict[str, str]  # field -> heading text
    shares: dict[str, tuple[float, int]]  # field read by its values -> (share, sampled)


def _candidates(
    rows: list[list[Any]], labelled: list[list[Any]], required: tuple[tuple[str, ...], ...]
) -> tuple[list[tuple], _Block | None]:
    """Header blocks that give every required field, as sortable tuples
    ``(-fields, row, block length, block)``; and the block that named the most fields
    (the first of them), for value detection and the error message when none qualifies."""
    candidates = []
    partial: _Block | None = None
    for r in range(len(rows)):
        blocks: list[tuple[int, ...]] = [(r,)]
        if r + 1 < len(rows) and _is_subheader(rows[r], rows[r + 1], labelled[r], labelled[r + 1]):
            blocks.append((r, r + 1))
        for rows_of_block in blocks:
            block = _block_mapping(rows, labelled, rows_of_block)
            if not block.columns:
                continue
            if partial is None or len(block.columns) > len(partial.columns):
                partial = block
            if not _missing(block.columns, required):
                candidates.append((-len(block.columns), r, len(rows_of_block), block))
    return candidates, partial


def _block_mapping(
    rows: list[list[Any]], labelled: list[list[Any]], block: tuple[int, ...]
) -> _Block:
    """Field -> column, how it was read, and its heading text, of a header block."""
    best: dict[str, tuple[int, int]] = {}  # field -> (priority, column)
    for col in range(len(rows[block[0]]) if rows else 0):
        found = None
        for r in reversed(block):  # the lower (more specific) row wins
            if labelled[r][col] is not None:
                found = labelled[r][col]
                break
        if found is None:
            continue
        name, priority = found
        if name not in best or (priority, col) < best[name]:
            best[name] = (priority, col)
    if "lon" in best and "lat" in best:
        best.pop("coords", None)
    ordered = sorted(best.items(), key=lambda kv: kv[1][1])
    return _Block(
        rows=block,
        columns={name: col for name, (_, col) in ordered},
        ranks={name: rank for name, (rank, _) in ordered},
        texts={name: _heading(rows, block, col) for name, (_, col) in ordered},
        shares={},
    )


def _heading(rows: list[list[Any]], block: tuple[int, ...], col: int) -> str:
    """A column's heading text over the rows of the block (``坐标/经度``)."""
    parts = [str(rows[r][col]).strip() for r in block if rows[r][col] is not None]
    return "/".join(dict.fromkeys(parts))


def missing_fields(columns: Collection[str], wanted: tuple[tuple[str, ...], ...]) -> list[str]:
    """The first field of each alternative of ``wanted`` that ``columns`` does not give
    (``coords`` for ``lon+lat``): the fields to warn about.

    >>> missing_fields({"name": "机构名称", "lon": "经度", "lat": "纬度"}, FACILITY_USEFUL)
    ['type', 'county', 'city', 'address']
    """
    return [
        "coords" if options[0] == "lon+lat" else options[0]
        for options, gap in zip(wanted, _gaps(columns, wanted), strict=True)
        if gap
    ]


def _missing(columns: Collection[str], required: tuple[tuple[str, ...], ...]) -> list[str]:
    """The required alternatives the columns do not satisfy."""
    return [
        " or ".join(options)
        for options, gap in zip(required, _gaps(columns, required), strict=True)
        if gap
    ]


def _gaps(columns: Collection[str], wanted: tuple[tuple[str, ...], ...]) -> list[bool]:
    return [
        not any(
            (o == "lon+lat" and "lon" in columns and "lat" in columns) or o in columns
            for o in options
        )
        for options in wanted
    ]


def _ignored(rows: list[list[Any]], block: tuple[int, ...], used: set[int]) -> tuple[str, ...]:
    """Heading texts of the columns no field is read from."""
    return tuple(
        _heading(rows, block, col)
        for col in range(len(rows[block[0]]))
        if col not in used and any(rows[r][col] is not None for r in block)
    )


def _no_header(
    table: Table,
    fields: Mapping[str, tuple[str, ...]],
    overrides: dict[str, str],
    *,
    required: tuple[tuple[str, ...], ...],
    what: str,
    searched: int,
    partial: _Block | None,
) -> RegisterError:
    """The error for a table without a header: what was seen, what is needed."""
    accepted = "; ".join(f"{k}: {', '.join(v[:6])}" for k, v in fields.items())
    need = "; ".join(" or ".join(o) for o in required)
    if partial is None:
        seen = "no recognisable column heading"
    else:
        seen = f"row {partial.rows[0] + 1} has " + ", ".join(
            f"{t}→{k}" for k, t in partial.texts.items()
        )
    extra = ""
    if overrides:
        extra = f"; the columns given ({overrides}) must all be in the header row"
    return RegisterError(
        f"{table.name}: no header row of a {what} found in the first {searched} rows "
        f"({seen}); a header needs {need}{extra}. Accepted headings: {accepted}",
        key={
            "table of unemployed disabled people": "no_header_counts",
            "table of demand points": "no_header_demand",
        }.get(what, "no_header"),
        file=table.name,
        rows=searched,
    )


def _looks_numeric(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float, np.number)):
        return True
    try:
        float(unicodedata.normalize("NFKC", str(value)).strip())
    except ValueError:
        return False
    return True


def _is_subheader(upper: list, lower: list, upper_l: list, lower_l: list) -> bool:
    """Whether ``lower`` completes ``upper`` as a second header row."""
    if not any(upper_l):
        return False  # a title row above the header is not part of it
    new = False
    for above, value, found in zip(upper, lower, lower_l, strict=True):
        if value is None:
            continue
        if _looks_numeric(value):
            return False  # data, not headings
        if found is not None and value != above:
            new = True
    return new


# --- columns read by their values, and the notes ------------------------------------------
def region_units(
    registry: AdminRegistry,
    *,
    province: object,
    counties: Collection[str],
    prefectures: Collection[str] = (),
) -> UnitShare:
    """A :data:`UnitShare` over the units of a region, for :func:`find_header`'s ``units``.

    A value counts when the registry resolves it (short forms, old names and codes
    included, ``province`` as context) to one of ``counties`` (level ``county``) or to a
    prefecture in ``prefectures`` or holding one of ``counties`` (level ``prefecture``).
    Values that are only digits and punctuation but no adcode (序号, telephone numbers)
    count as misses without a lookup, and the count stops once the misses rule out
    :data:`VALUE_SHARE` (the share returned is then a lower bound): a failed lookup
    looks for the closest names and costs milliseconds.
    """
    inside = {
        "county": frozenset(counties),
        "prefecture": frozenset(prefectures) | {f"{c[:4]}00" for c in counties},
    }

    def share(values: Sequence[Any], level: str) -> tuple[float, int]:
        n = len(values)
        allowed = n - math.ceil(VALUE_SHARE * n)  # misses that still leave VALUE_SHARE
        texts: dict[str, int] = {}
        for value in values:
            text = unicodedata.normalize("NFKC", str(value)).strip()
            texts[text] = texts.get(text, 0) + 1
        hits = misses = 0
        for text, k in texts.items():
            if _is_unit(registry, text, level, province, inside[level]):
                hits += k
            else:
                misses += k
                if misses > allowed:
                    break
        return (hits / n if n else 0.0), n

    return share


def _is_unit(
    registry: AdminRegistry, text: str, level: str, province: object, inside: frozenset[str]
) -> bool:
    if _NUMBER_RE.fullmatch(text) and as_adcode(text) is None:
        return False
    try:
        found = registry.resolve(text, province=province, level=level)  # type: ignore[arg-type]
    except AdminLookupError:
        return False
    return found.adcode in inside


def _by_values(table: Table, block: _Block, fields: Mapping[str, Any], units: UnitShare) -> _Block:
    """The block with the county (prefecture) column read from its values when no heading
    gives it: the first column, left to right, with a heading that names no field and
    with at least :data:`VALUE_SHARE` of its first :data:`VALUE_SAMPLE` non-blank values
    county-level units (prefectures) of the region."""
    wanted = [f for f in _VALUE_FIELDS if f in fields and f not in block.columns]
    if not wanted:
        return block
    found: dict[str, tuple[int, float, int]] = {}  # field -> (column, share, sampled)
    used = set(block.columns.values())
    body = table.rows[block.rows[-1] + 1 :]
    for col in range(len(table.rows[block.rows[0]])):
        if col in used or not _heading(table.rows, block.rows, col):
            continue
        cells = (row[col] for row in body)
        values = list(itertools.islice((v for v in cells if not _blank(v)), VALUE_SAMPLE))
        for name in wanted:
            if name in found or not values:
                continue
            share, n = units(values, _VALUE_FIELDS[name])
            if share >= VALUE_SHARE:
                found[name] = (col, share, n)
                break
    if not found:
        return block
    columns = {**block.columns, **{f: c for f, (c, _, _) in found.items()}}
    ordered = sorted(columns, key=columns.__getitem__)
    return _Block(
        rows=block.rows,
        columns={f: columns[f] for f in ordered},
        ranks={**block.ranks, **dict.fromkeys(found, len(_HOW) - 1)},
        texts={f: _heading(table.rows, block.rows, columns[f]) for f in ordered},
        shares={f: (s, n) for f, (_, s, n) in found.items()},
    )


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _notes(
    rows: list[list[Any]], block: _Block, fields: Mapping[str, Any], label: _Labeller
) -> tuple[HeaderNote, ...]:
    """One note per column with a heading, left to right: how it was read, or that it is
    unused and what it resembles (the field it names, already read from another column;
    else the closest synonym)."""
    by_col = {col: f for f, col in block.columns.items()}
    notes = []
    for col in range(len(rows[block.rows[0]])):
        heading = _heading(rows, block.rows, col)
        if not heading:
            continue
        cells = [rows[r][col] for r in reversed(block.rows) if rows[r][col] is not None]
        name = by_col.get(col)
        if name is not None:
            rank = block.ranks[name]
            params: dict[str, Any] = {"heading": heading, "field": name}
            if _HOW[rank] == "header.note.family":
                labelling = next(c for c in cells if label(c) is not None)  # lowest wins
                params["stem"] = family_field(labelling)[1]  # type: ignore[index]
            elif _HOW[rank] == "header.note.values":
                share, n = block.shares[name]
                params.update(share=round(100 * share), n=n)
            notes.append(HeaderNote(_HOW[rank], params))
            continue
        named = next((hit[0] for c in cells if (hit := label(c)) is not None), None)
        if named is not None and named in block.columns:
            used = block.texts[named]
            notes.append(
                HeaderNote(
                    "header.note.duplicate", {"heading": heading, "field": named, "used": used}
                )
            )
            continue
        closest = named or closest_field(heading, fields)
        if closest is None:
            notes.append(HeaderNote("header.note.unused", {"heading": heading}))
        else:
            notes.append(HeaderNote("header.note.closest", {"heading": heading, "field": closest}))
    return tuple(notes)
