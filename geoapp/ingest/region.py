"""The region a register is read against, and resolving the units its rows name.

This module owns :class:`Region` (the counties a register's rows may fall in, their
names and prefectures, the registry that resolves names) and the lookups through
:class:`~geoapp.admin.AdminRegistry` that every reader shares: declared county names
(with the declared city as context), adcodes, prefecture and province names
(subtotal rows), and addresses (read by ``cpca``, the district then resolved through
the registry).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geoapp.admin import AdminRegistry, as_adcode, normalise_name

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "Region",
    "addresses",
    "build_region",
    "column_values",
    "resolve",
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
    """``resolve_many`` over some rows (it caches repeated spellings)."""
    frame = pd.DataFrame({"name": names.to_numpy(dtype=object)}, index=names.index, dtype=object)
    kwargs: dict[str, Any] = {}
    if prefectures is not None:
        frame["prefecture"] = prefectures.to_numpy(dtype=object)
        kwargs["prefecture_col"] = "prefecture"
    if lon is not None:
        frame["lon"], frame["lat"] = lon, lat
        kwargs.update(lon_col="lon", lat_col="lat")
    return region.registry.resolve_many(
        frame,
        name_col="name",
        province=region.province,
        level=level,  # type: ignore[arg-type]
        **kwargs,
    )


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
        errors[mask] = column_values(res["error"])
    return codes, errors


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


def addresses(region: Region, texts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """County adcodes (or errors) of addresses: cpca reads them, the registry resolves
    the district it finds, with cpca's city as prefecture context."""
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
    has = pd.notna(district)
    for i in np.flatnonzero(~has):
        read = "".join(v for v in (province[i], city[i]) if v)
        errors[i] = "names no county-level unit" + (f" (read as {read})" if read else "")
    if has.any():
        idx = texts.index[has]
        context = np.where(city == "市辖区", None, city)
        res = resolve(
            region,
            pd.Series(district[has], index=idx, dtype=object),
            pd.Series(context[has], index=idx, dtype=object),
        )
        codes[has] = column_values(res["adcode"])
        errors[has] = column_values(res["error"])
    return codes, errors
