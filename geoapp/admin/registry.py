"""The administrative registry object: reference tables and county polygons, one API.

Owns :class:`AdminRegistry`, which builds the lookup index once (from the tables of
:mod:`geoapp.admin.tables` or frames the caller hands it) and answers lookups one at a
time (:meth:`~AdminRegistry.resolve`), for a whole register column
(:meth:`~AdminRegistry.resolve_many`) or for points (:meth:`~AdminRegistry.locate`).
The algorithms live in :mod:`geoapp.admin.resolve`. Imports nothing of geoapp outside
:mod:`geoapp.admin`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geoapp.admin.cache import default_index
from geoapp.admin.counties import CountyPolygons
from geoapp.admin.errors import AdminLookupError
from geoapp.admin.history import CodeHistory
from geoapp.admin.index import build_index
from geoapp.admin.names import is_blank
from geoapp.admin.records import LEVELS, Level, Resolution, Unit
from geoapp.admin.resolve import lookup_scope, resolve_name
from geoapp.admin.tables import (
    load_aliases,
    load_code_changes,
    load_development_zones,
    load_divisions,
    require_columns,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["AdminRegistry"]

_OUT_COLUMNS = ["adcode", "name", "prefecture_adcode", "prefecture", "province", "via"]


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
    history : CodeHistory or DataFrame, optional
        The national code history (the layout of ``admin_code_history.csv``, read
        when omitted): the source of old codes and names. A row of ``changes`` it
        covers must agree with it and adds nothing. Pass an empty frame with the
        right columns to use none.

    Notes
    -----
    All lookup dictionaries are built here; a lookup is a few dictionary reads. Over
    the reference tables (no table given) they are built once and then read back from
    the user's cache folder (:mod:`geoapp.admin.cache`), with the same result. Only a
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
        history: CodeHistory | pd.DataFrame | None = None,
    ) -> None:
        given = (divisions, aliases, changes, zones, history)
        if all(table is None for table in given):  # the reference tables: prepared once
            self._index = default_index()
        else:
            if not isinstance(history, CodeHistory):
                history = CodeHistory.default() if history is None else CodeHistory(history)
            self._index = build_index(
                load_divisions() if divisions is None else divisions,
                aliases=load_aliases() if aliases is None else aliases,
                changes=load_code_changes() if changes is None else changes,
                zones=load_development_zones() if zones is None else zones,
                history=history,
            )
        self._counties = (
            None
            if counties is None
            else CountyPolygons.from_frame(counties, self._index.units["county"])
        )

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
        return self._counties.locate(lon, lat)

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
        _check_level(level)
        scope = lookup_scope(self._index, prefecture=prefecture, province=province, level=level)
        found = resolve_name(
            self._index,
            self._counties,
            name,
            level=level,
            scope=scope,
            point=point,
            split_depth=2,
        )
        return found.resolution()

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
            prefecture_adcode, prefecture, province, via, note, error, error_type,
            error_candidates``. ``adcode`` is NaN and ``error`` holds the (English) message
            where a row failed, ``error_candidates`` the units it might mean.

        Raises
        ------
        ValueError
            If a named column is missing or ``province`` / ``level`` is invalid (these
            concern the whole call, not a row).
        """
        _check_many_arguments(frame, name_col, prefecture_col, lon_col, lat_col, level)
        lookup_scope(self._index, prefecture=None, province=province, level=level)  # fail fast
        # Each distinct (name, prefecture, point) is resolved once, for its first row.
        cols = [name_col, prefecture_col, lon_col, lat_col]
        key, first = distinct_rows([None if c is None else frame[c].to_numpy() for c in cols])
        values = [[None] * len(first) if c is None else frame[c].iloc[first].tolist() for c in cols]
        rows = [
            self._row(
                name,
                prefecture=prefecture,
                province=province,
                point=None if is_blank(lon) or is_blank(lat) else (lon, lat),
                level=level,
            )
            for name, prefecture, lon, lat in zip(*values, strict=True)
        ]
        distinct = pd.DataFrame(
            rows, columns=[*_OUT_COLUMNS, "note", "error", "error_type", "error_candidates"]
        )
        result = distinct.take(key).set_axis(frame.index)
        return result.astype(object).where(result.notna(), np.nan)

    def spellings(self, adcodes: Iterable[str], *, level: Level = "county") -> dict[str, set[str]]:
        """Every spelling the index knows for the units ``adcodes``: official names,
        short forms, aliases and old names (normalised) -> the adcodes among them it
        may mean. What an address scan looks for; the lookup itself stays
        :meth:`resolve`'s.

        Examples
        --------
        >>> found = AdminRegistry.default().spellings(["220623", "220721"])
        >>> found["长白县"], found["前郭县"]
        ({'220623'}, {'220721'})
        """
        _check_level(level)
        wanted = set(adcodes)
        out: dict[str, set[str]] = {}
        for keys in self._index.hits[level].values():
            for key, hits in keys.items():
                for hit in hits:
                    target = hit.target
                    if isinstance(target, Unit) and target.adcode in wanted:
                        out.setdefault(key, set()).add(target.adcode)
        return out

    def _row(
        self, name: object, *, prefecture: object, province: object, point: object, level: Level
    ) -> dict[str, Any]:
        """One output row of :meth:`resolve_many`: the resolution or the error."""
        row: dict[str, Any] = dict.fromkeys(_OUT_COLUMNS)
        try:
            r = self.resolve(
                name, prefecture=prefecture, province=province, point=point, level=level
            )
        except AdminLookupError as exc:
            row.update(
                note=None,
                error=str(exc),
                error_type=type(exc).__name__,
                error_candidates=exc.candidates,
            )
        else:
            row.update(
                {c: getattr(r, c) for c in _OUT_COLUMNS},
                note=r.note,
                error=None,
                error_type=None,
                error_candidates=None,
            )
        return row


def _check_level(level: object) -> None:
    if level not in LEVELS:
        msg = f"level must be one of {LEVELS}, not {level!r}"
        raise ValueError(msg)


def _check_many_arguments(
    frame: pd.DataFrame,
    name_col: str,
    prefecture_col: str | None,
    lon_col: str | None,
    lat_col: str | None,
    level: object,
) -> None:
    """Errors that concern a whole :meth:`AdminRegistry.resolve_many` call."""
    columns = [c for c in (name_col, prefecture_col, lon_col, lat_col) if c is not None]
    require_columns(frame, columns, "frame")
    if (lon_col is None) != (lat_col is None):
        msg = "give both lon_col and lat_col, or neither"
        raise ValueError(msg)
    _check_level(level)


def distinct_rows(columns: list[np.ndarray | None]) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of ``(name, prefecture, lon, lat)`` are the same lookup: a key per row
    (0, 1, ... in order of first appearance) and the first row of each key.

    Rows share a key only if their values are equal and of the same type (``1`` and
    ``1.0`` differ), blank values (see :func:`~geoapp.admin.names.is_blank`) being all
    one; a point is blank when either coordinate is. A column given as None is blank.

    Examples
    --------
    >>> key, first = distinct_rows([np.array(["a", "b", "a", " "], dtype=object),
    ...                             None, np.array([1.0, 1.0, 1.0, np.nan]),
    ...                             np.array([2.0, 2.0, 2.0, 2.0])])
    >>> key.tolist(), first.tolist()
    ([0, 1, 0, 2], [0, 1, 3])
    """
    name, prefecture, lon, lat = (_value_codes(c) for c in columns)
    point = np.where((lon < 0) | (lat < 0), -1, _pair_codes(lon, lat))
    key = _pair_codes(_pair_codes(name, prefecture), point)
    _, first = np.unique(key, return_index=True)
    return key, first


def _value_codes(values: np.ndarray | None) -> np.ndarray:
    """Codes equal exactly where :func:`_hashable` keys are: -1 for blank values."""
    if values is None:
        return np.full(0, -1, dtype=np.int64)
    if values.dtype.kind in "fiub":  # numpy numbers: NaN is the only blank
        return pd.factorize(values)[0].astype(np.int64)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        # text and missing values (None, NaN, pd.NA: all blank); blank text joins them
        codes, distinct = pd.factorize(values)
        blank = np.array([*(is_blank(v) for v in distinct), True], dtype=bool)
        return np.where(blank[codes], -1, codes).astype(np.int64)  # code -1: the last
    seen: dict[object, int] = {}
    keys = (_hashable(v) for v in values)
    return np.array([-1 if k is None else seen.setdefault(k, len(seen)) for k in keys], np.int64)


def _pair_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One code per distinct pair of codes, in order of first appearance (an empty ``a``
    or ``b`` is a column of blanks)."""
    n = max(len(a), len(b))
    a = a if len(a) else np.full(n, -1, dtype=np.int64)
    b = b if len(b) else np.full(n, -1, dtype=np.int64)
    pair = (a + 1) * (int(b.max(initial=-1)) + 2) + (b + 1)
    return pd.factorize(pair)[0].astype(np.int64)


def _hashable(value: object) -> object:
    if is_blank(value):
        return None
    try:
        hash(value)
    except TypeError:
        return repr(value)
    return (type(value).__name__, value)
