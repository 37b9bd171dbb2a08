"""The fields a register may have, the headings they go by, and finding the header row.

This module owns the field synonyms of the three kinds of table (facility registers,
unemployed-disabled counts, demand points), the fields each needs, and header detection:
the header is the row (or a group row above a sub-header row, 坐标 over 经度/纬度) among
the first :data:`HEADER_SEARCH_ROWS` rows whose headings name the most fields and give
all the required ones. Headings are compared after NFKC, lower case, with spaces and
``* : _ - .`` removed; a parenthesised suffix such as 经度（E）or 市（州）is also tried
without it. Fields the user maps by hand (``columns``) win over the synonyms.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from geoapp.ingest.tables import RegisterError, Table

__all__ = [
    "COUNT_FIELDS",
    "DEMAND_FIELDS",
    "FACILITY_FIELDS",
    "HEADER_SEARCH_ROWS",
    "Header",
    "find_header",
    "header_key",
]

HEADER_SEARCH_ROWS = 30

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
    "address": ("地址", "详细地址", "机构地址", "address"),
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

_PAREN_RE = re.compile(r"\([^()]*\)")


def header_key(value: Any) -> str:
    """A heading as compared: NFKC, lower case, no spaces or ``* : _ - .``."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).lower()
    return re.sub(r"[\s*:_\-.]+", "", text)


@dataclass(frozen=True)
class Header:
    """Where the header is and what its columns hold."""

    rows: tuple[int, ...]  # 0-based
    columns: dict[str, int]  # field -> 0-based column
    labels: dict[str, str]  # field -> header text
    ignored: tuple[str, ...]


class _Labeller:
    """Recognise header cells as fields, user overrides first."""

    def __init__(self, fields: Mapping[str, tuple[str, ...]], overrides: Mapping[str, str]):
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
        return None


def find_header(
    table: Table,
    fields: Mapping[str, tuple[str, ...]],
    overrides: Mapping[str, str] | None,
    *,
    required: tuple[tuple[str, ...], ...],
    what: str,
) -> Header:
    """Find the header: one row, or a group row above a sub-header row (坐标 / 经度 纬度).

    ``required`` lists alternatives that must all be satisfied: each entry is a tuple of
    fields of which at least one (``lon+lat`` counts as one) must be present. The best
    candidate names the most fields (a lone lon or lat counts one less), then comes
    first, then is the shorter block.

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
        candidates = [c for c in candidates if set(overrides) <= set(c[4])]
    # A lone lon or lat (a column headed x or y) does not make a better header.
    candidates = [(c[0] + (("lon" in c[4]) != ("lat" in c[4])), *c[1:]) for c in candidates]
    if not candidates:
        raise _no_header(
            table,
            fields,
            overrides,
            required=required,
            what=what,
            searched=len(rows),
            partial=partial,
        )
    _, _, _, block, columns, texts = min(candidates, key=lambda c: c[:3])
    return Header(
        rows=block,
        columns=columns,
        labels=texts,
        ignored=_ignored(rows, block, set(columns.values())),
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


def _candidates(
    rows: list[list[Any]], labelled: list[list[Any]], required: tuple[tuple[str, ...], ...]
) -> tuple[list[tuple], tuple[int, int, dict[str, str]] | None]:
    """Header blocks that give every required field, as sortable tuples
    ``(-fields, row, block length, block, columns, texts)``; and the block that named the
    most fields, (fields, row, texts), for the error message when none qualifies."""
    candidates = []
    partial: tuple[int, int, dict[str, str]] | None = None
    for r in range(len(rows)):
        blocks: list[tuple[int, ...]] = [(r,)]
        if r + 1 < len(rows) and _is_subheader(rows[r], rows[r + 1], labelled[r], labelled[r + 1]):
            blocks.append((r, r + 1))
        for block in blocks:
            columns, texts = _block_mapping(rows, labelled, block)
            if not columns:
                continue
            if partial is None or len(columns) > partial[0]:
                partial = (len(columns), r, texts)
            if not _missing(columns, required):
                candidates.append((-len(columns), r, len(block), block, columns, texts))
    return candidates, partial


def _block_mapping(
    rows: list[list[Any]], labelled: list[list[Any]], block: tuple[int, ...]
) -> tuple[dict[str, int], dict[str, str]]:
    """Field -> column, and field -> heading text, of a header block."""
    best: dict[str, tuple[int, int]] = {}  # field -> (priority, column)
    texts: dict[int, str] = {}
    for col in range(len(rows[block[0]]) if rows else 0):
        found = None
        for r in reversed(block):  # the lower (more specific) row wins
            if labelled[r][col] is not None:
                found = labelled[r][col]
                break
        texts[col] = _heading(rows, block, col)
        if found is None:
            continue
        name, priority = found
        if name not in best or (priority, col) < best[name]:
            best[name] = (priority, col)
    columns = {name: col for name, (_, col) in sorted(best.items(), key=lambda kv: kv[1][1])}
    if "lon" in columns and "lat" in columns:
        columns.pop("coords", None)
    return columns, {name: texts[col] for name, col in columns.items()}


def _heading(rows: list[list[Any]], block: tuple[int, ...], col: int) -> str:
    """A column's heading text over the rows of the block (``坐标/经度``)."""
    parts = [str(rows[r][col]).strip() for r in block if rows[r][col] is not None]
    return "/".join(dict.fromkeys(parts))


def _missing(columns: dict[str, int], required: tuple[tuple[str, ...], ...]) -> list[str]:
    """The required alternatives the columns do not satisfy."""
    missing = []
    for options in required:
        have = any(
            (o == "lon+lat" and "lon" in columns and "lat" in columns) or o in columns
            for o in options
        )
        if not have:
            missing.append(" or ".join(options))
    return missing


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
    partial: tuple[int, int, dict[str, str]] | None,
) -> RegisterError:
    """The error for a table without a header: what was seen, what is needed."""
    accepted = "; ".join(f"{k}: {', '.join(v[:6])}" for k, v in fields.items())
    need = "; ".join(" or ".join(o) for o in required)
    if partial is None:
        seen = "no recognisable column heading"
    else:
        _, r, texts = partial
        seen = f"row {r + 1} has " + ", ".join(f"{t}→{k}" for k, t in texts.items())
    extra = ""
    if overrides:
        extra = f"; the columns given ({overrides}) must all be in the header row"
    return RegisterError(
        f"{table.name}: no header row of a {what} found in the first {searched} rows "
        f"({seen}); a header needs {need}{extra}. Accepted headings: {accepted}"
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
