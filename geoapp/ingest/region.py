"""The region a register is read against, and resolving the units its rows name.

This module owns :class:`Region` (the counties a register's rows may fall in, their
names and prefectures, the registry that resolves names) and the lookups through
:class:`~geoapp.admin.AdminRegistry` that every reader shares: declared county names
(with the declared city as context), adcodes, prefecture and province names
(subtotal rows), and addresses (read by ``cpca``, the district then resolved through
the registry).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geoapp.admin import AdminRegistry, as_adcode, normalise_name, short_forms
from geoapp.ingest.rowlog import Msg, msg

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "Region",
    "addresses",
    "build_region",
    "column_values",
    "lookup_errors",
    "resolve",
    "scan_addresses",
    "subtotal_rows",
    "unit_results",
]


@dataclass(frozen=True)
class Region:
    """The counties of the region, as the readers look them up."""

    registry: AdminRegistry
    province: str | None
    order: tuple[str, ...]  # adcodes in the counties frame's order
    adcodes: frozenset[str]
    name: dict[str, str]
    prefecture: dict[str, str]
    prefecture_adcode: dict[str, str]
    bounds: tuple[float, float, float, float]

    def label(self, adcode: str) -> str:
        prefecture = self.prefecture.get(adcode) or ""
        name = self.name.get(adcode, adcode)
        return name if prefecture in ("", name) else f"{prefecture}{name}"


def build_region(
    counties: gpd.GeoDataFrame, registry: AdminRegistry | None, province: object, *, points: bool
) -> Region:
    """The :class:`Region` of ``counties``; ``points`` says the registry must place points.

    Raises
    ------
    ValueError
        ``counties`` lacks a column, or ``registry`` has no county polygons when
        ``points`` is set.
    """
    missing = [c for c in ("adcode", "name", "prefecture", "geometry") if c not in counties.columns]
    if missing:
        msg = f"counties lacks columns {missing}; it has {list(counties.columns)}"
        raise ValueError(msg)
    if counties.crs is not None and counties.crs.to_epsg() != 4326:
        counties = counties.to_crs(4326)
    if registry is None:
        registry = AdminRegistry.default(counties=counties)
    elif points:
        try:
            registry.locate(np.empty(0), np.empty(0))
        except ValueError:
            msg = (
                "registry has no county polygons; build it with "
                "AdminRegistry.default(counties=counties)"
            )
            raise ValueError(msg) from None
    codes = [as_adcode(c) or str(c) for c in counties["adcode"]]
    if province is None:
        heads = {c[:2] for c in codes}
        province = f"{heads.pop()}0000" if len(heads) == 1 else None
    pref_codes = (
        [as_adcode(c) or "" for c in counties["prefecture_adcode"]]
        if "prefecture_adcode" in counties.columns
        else [""] * len(codes)
    )
    bounds = tuple(float(b) for b in counties.total_bounds) if len(counties) else (0, 0, 0, 0)
    return Region(
        registry=registry,
        province=province,  # type: ignore[arg-type]
        order=tuple(codes),
        adcodes=frozenset(codes),
        name=dict(zip(codes, counties["name"].astype(str), strict=True)),
        prefecture=dict(zip(codes, counties["prefecture"].astype(str), strict=True)),
        prefecture_adcode=dict(zip(codes, pref_codes, strict=True)),
        bounds=bounds,  # type: ignore[arg-type]
    )


def column_values(series: pd.Series) -> np.ndarray:
    """Object values with None for missing ones."""
    out = series.to_numpy(dtype=object)
    return np.where(pd.isna(series).to_numpy(), None, out)


def resolve(
    region: Region,
    names: pd.Series,
    prefectures: pd.Series | None,
    *,
    lon: np.ndarray | None = None,
    lat: np.ndarray | None = None,
    level: str = "county",
) -> pd.DataFrame:
    """``resolve_many`` over some rows.

    A column of a register repeats a few spellings (its counties, with their cities):
    when every name and city is text, the registry sees each distinct pair once and the
    rows take its answer; a pair's answer is the same for every row that writes it.
    """
    texts = {"name": names.to_numpy(dtype=object)}
    kwargs: dict[str, Any] = {}
    if prefectures is not None:
        texts["prefecture"] = prefectures.to_numpy(dtype=object)
        kwargs["prefecture_col"] = "prefecture"
    # object columns, built at once: a column set later would be read as pandas' str
    # (a million cells copied into Arrow, and new str objects for each when read back)
    frame = pd.DataFrame(texts, index=names.index, dtype=object)
    if lon is not None:
        frame["lon"], frame["lat"] = lon, lat
        kwargs.update(lon_col="lon", lat_col="lat")
    groups = None if lon is not None else _text_groups(frame)
    rows = frame if groups is None else frame.iloc[groups[1]]
    res = region.registry.resolve_many(
        rows,
        name_col="name",
        province=region.province,
        level=level,  # type: ignore[arg-type]
        **kwargs,
    )
    return res if groups is None else res.take(groups[0]).set_axis(frame.index)


def _text_groups(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """A group per distinct row of texts and the first row of each group; None unless
    every value is text that is not blank (the registry takes all blanks as one)."""
    codes = []
    for column in frame.columns:
        values = frame[column].to_numpy(dtype=object)
        if pd.api.types.infer_dtype(values, skipna=False) != "string":
            return None
        which, distinct = pd.factorize(values)
        if any(normalise_name(v) == "" for v in distinct):
            return None
        codes.append(which.astype(np.int64))
    key = codes[0]
    for more in codes[1:]:
        key = pd.factorize(key * (int(more.max()) + 1) + more)[0]
    # factorize numbers groups in order of first appearance: a group's first row is
    # where the running maximum of the numbers goes up (np.unique would sort them all)
    return key, np.flatnonzero(np.diff(np.maximum.accumulate(key), prepend=-1) > 0)


def unit_results(
    region: Region,
    frame: pd.DataFrame,
    mask: np.ndarray,
    col: str,
    context: str | None,
    *,
    level: str = "county",
) -> tuple[np.ndarray, np.ndarray]:
    """Adcodes and errors of the rows of ``mask`` (None elsewhere)."""
    n = len(frame)
    codes = np.full(n, None, dtype=object)
    errors = np.full(n, None, dtype=object)
    if mask.any():
        idx = frame.index[mask]
        res = resolve(
            region, frame.loc[idx, col], frame.loc[idx, context] if context else None, level=level
        )
        codes[mask] = column_values(res["adcode"])
        errors[mask] = lookup_errors(res, frame.loc[idx, col])
    return codes, errors


def lookup_errors(res: pd.DataFrame, given: pd.Series) -> np.ndarray:
    """The failed lookups of a ``resolve_many`` result as reasons (None where it resolved).

    English keeps the registry's own detailed message; Chinese says the same in the
    words of the i18n table: not recognised (with the closest names), ambiguous (with
    every unit it might mean) or a zone only coordinates can place.
    """
    out = np.full(len(res), None, dtype=object)
    kinds = res["error_type"].to_numpy(dtype=object)
    texts = res["error"].to_numpy(dtype=object)
    options = res["error_candidates"].to_numpy(dtype=object)
    values = given.to_numpy(dtype=object)
    for i in np.flatnonzero(pd.notna(res["error"]).to_numpy()):
        out[i] = lookup_error(kinds[i], values[i], options[i], texts[i])
    return out


def lookup_error(kind: object, given: object, candidates: object, english: object) -> Msg:
    """One failed lookup as a reason; see :func:`lookup_errors`."""
    found = list(candidates) if isinstance(candidates, (list, tuple)) else []
    key = {
        "AmbiguousUnit": "lookup_ambiguous",
        "UndecidableUnit": "lookup_undecidable",
    }.get(str(kind), "lookup_unknown_closest" if found else "lookup_unknown")
    return msg(key, given="" if given is None else str(given), candidates=found, en=english)


def subtotal_rows(region: Region, frame: pd.DataFrame, mask: np.ndarray, col: str) -> np.ndarray:
    """Rows whose code or exact name is a prefecture or province: subtotals, not counties.

    Short forms do not count: 通化 may mean 通化县 and stays an error to fix.
    """
    out = np.zeros(len(frame), dtype=bool)
    if not mask.any():
        return out
    idx = frame.index[mask]
    names = pd.DataFrame({"name": frame.loc[idx, col].to_numpy(dtype=object)}, index=idx)
    for level in ("prefecture", "province"):
        res = region.registry.resolve_many(
            names,
            name_col="name",
            level=level,  # type: ignore[arg-type]
        )
        out[mask] |= res["via"].isin(["exact", "code"]).to_numpy()
    return out


def addresses(
    region: Region, texts: pd.Series, prefectures: pd.Series | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """County adcodes (or errors) of addresses, read inside the region.

    First the address is scanned for the region's own units: after an optional province
    and prefecture name, a county-level name, short form, alias or old name that the
    registry knows (``长白县长白镇新华街12号`` -> 长白县), resolved by the registry with the
    declared prefecture (else the one the address names) as context. Only the addresses
    that name no unit of the region go to ``cpca``; a reading of cpca's in another
    province counts only when the address writes that province, so an address without
    a province never lands outside the region.
    """
    codes = np.full(len(texts), None, dtype=object)
    errors = np.full(len(texts), None, dtype=object)
    found = scan_addresses(region, texts)
    hit = found["county"].notna().to_numpy()
    if hit.any():
        context = found["prefecture"]
        if prefectures is not None:
            declared = pd.Series(prefectures.to_numpy(dtype=object), index=texts.index)
            context = declared.where(declared.notna(), context)
        res = resolve(region, found.loc[hit, "county"], context[hit])
        codes[hit] = column_values(res["adcode"])
        errors[hit] = lookup_errors(res, found.loc[hit, "county"])
    rest = ~hit
    if rest.any():
        codes[rest], errors[rest] = _cpca_addresses(region, texts[rest])
    return codes, errors


def scan_addresses(region: Region, texts: pd.Series) -> pd.DataFrame:
    """The prefecture and county-level unit an address starts with, as written (NaN
    where it names none of the region's), one vectorised regex over the addresses.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from geoapp.datasource import default_source
    >>> region = build_region(default_source().counties(), None, None, points=False)
    >>> scan_addresses(region, pd.Series(["吉林省白山市长白县新华街", "前郭县平凤乡"])).values.tolist()
    [['白山市', '长白县'], [nan, '前郭县']]
    """
    pattern = _address_pattern(region)
    text = texts.map(normalise_name, na_action="ignore").astype(object)
    found = text.str.extract(pattern)
    return found.reindex(columns=["prefecture", "county"])


def _address_pattern(region: Region) -> str:
    """``^(province)?(prefecture)?(county)``: every spelling the registry knows for the
    region's units, longest first so that 通化县 wins over 通化."""
    registry = region.registry
    counties = registry.spellings(region.adcodes, level="county")
    prefectures = registry.spellings(set(region.prefecture_adcode.values()), level="prefecture")
    provinces = registry.spellings({f"{c[:2]}0000" for c in region.adcodes}, level="province")

    def alternation(keys) -> str:
        keys = sorted((k for k in keys if len(k) >= 2), key=lambda k: (-len(k), k))
        return "|".join(re.escape(k) for k in keys) or "(?!)"

    return (
        f"^(?:{alternation(provinces)})?"
        f"(?P<prefecture>{alternation(prefectures)})?"
        f"(?P<county>{alternation(counties)})"
    )


def _cpca_addresses(region: Region, texts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """cpca's reading of addresses that name no unit of the region, resolved by the
    registry; a reading in a province the address does not write is no reading."""
    # Imported here: cpca loads its address dictionaries on import (about half a
    # second), and most registers have coordinates and never need it.
    import cpca

    text = [normalise_name(a) for a in texts.to_numpy()]
    unique = list(dict.fromkeys(text))
    parsed = cpca.transform(unique)
    parsed.index = pd.Index(unique)
    parsed = parsed.loc[text].reset_index(drop=True)
    province = column_values(parsed["省"])
    city = column_values(parsed["市"])
    district = column_values(parsed["区"])
    codes = np.full(len(text), None, dtype=object)
    errors = np.full(len(text), None, dtype=object)
    own = _province_names(region)
    guessed = np.array(
        [
            p is not None
            and p not in own
            and not any(t.startswith(s) for s in [*short_forms(p), p])
            for p, t in zip(province, text, strict=True)
        ],
        dtype=bool,
    )
    elsewhere = [
        "".join(v for v in (p, c if c != "市辖区" else None, d) if v)
        for p, c, d in zip(province, city, district, strict=True)
    ]
    guessed_unit = guessed & pd.notna(district)  # cpca named a county-level unit elsewhere
    province[guessed] = city[guessed] = district[guessed] = None  # cpca's guess, not the text
    has = pd.notna(district)
    for i in np.flatnonzero(~has):
        read = "".join(v for v in (province[i], city[i]) if v)
        errors[i] = (
            msg("address_elsewhere", read=elsewhere[i])
            if guessed_unit[i]
            else msg("address_read_as", read=read)
            if read
            else msg("address_no_unit")
        )
    if has.any():
        idx = texts.index[has]
        context = np.where(city == "市辖区", None, city)
        res = resolve(
            region,
            pd.Series(district[has], index=idx, dtype=object),
            pd.Series(context[has], index=idx, dtype=object),
        )
        codes[has] = column_values(res["adcode"])
        errors[has] = lookup_errors(res, pd.Series(district[has], index=idx, dtype=object))
    return codes, errors


def _province_names(region: Region) -> set[str]:
    """The names of the region's province(s), as cpca writes them."""
    index = region.registry.spellings({f"{c[:2]}0000" for c in region.adcodes}, level="province")
    return set(index)
