"""County polygons of the administrative registry: which legal county holds a point.

Owns the optional county layer a registry places development zones and special areas
with: checking it against the current units, :meth:`CountyPolygons.locate` (vectorised)
and :meth:`CountyPolygons.county_at` (one point, with an error that says why it has no
single answer). Imports nothing of geoapp outside :mod:`geoapp.admin`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from geoapp.admin.errors import UndecidableUnit
from geoapp.admin.records import Unit, labels
from geoapp.admin.tables import code_column, require_columns

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["CountyPolygons", "is_blank_point"]


@dataclass(frozen=True, slots=True)
class CountyPolygons:
    """County polygons (EPSG:4326, spatially indexed) and the unit of each row."""

    frame: gpd.GeoDataFrame
    units: list[Unit]

    @classmethod
    def from_frame(
        cls, counties: gpd.GeoDataFrame, county_units: dict[str, Unit]
    ) -> CountyPolygons:
        """Check a county layer against the current county-level units and index it.

        Parameters
        ----------
        counties : GeoDataFrame
            Columns ``adcode`` and ``geometry``; another CRS than EPSG:4326 is
            reprojected (a copy), no CRS is taken as lon/lat.
        county_units : dict
            Current county-level units by adcode.
        """
        require_columns(counties, ["adcode", "geometry"], "counties")
        if counties.crs is not None and counties.crs.to_epsg() != 4326:
            counties = counties.to_crs(4326)  # a copy: the caller's frame is untouched
        codes = code_column(counties["adcode"], "counties.adcode")
        unknown = [c for c in codes if c not in county_units]
        if unknown:
            msg = f"counties: adcodes {unknown[:10]} are no current county-level units"
            raise ValueError(msg)
        frame = counties[["geometry"]].reset_index(drop=True)
        frame.sindex  # noqa: B018 - build the spatial index once, here
        return cls(frame, [county_units[c] for c in codes])

    def locate(self, lon: Any, lat: Any) -> np.ndarray:
        """Adcodes of the polygons containing points; ``None`` where not exactly one."""
        x = np.atleast_1d(np.asarray(lon, dtype=float))
        y = np.atleast_1d(np.asarray(lat, dtype=float))
        out = np.full(x.shape, None, dtype=object)
        finite = np.isfinite(x) & np.isfinite(y)
        if not finite.any():
            return out
        # Points sorted by longitude: each prepared county polygon tests only the points
        # of its bounding box. contains_xy, like the "contains" predicate, leaves out
        # points on a border, which stay undecided, as do points two polygons contain.
        order = np.flatnonzero(finite)[np.argsort(x[finite], kind="stable")]
        xs, ys = x[order], y[order]
        geoms = self.frame.geometry.to_numpy()
        shapely.prepare(geoms)  # GEOS keeps it with the geometry: once per polygon
        hits = np.zeros(len(order), dtype=np.int32)
        found = np.full(len(order), -1)
        for g, (x0, y0, x1, y1) in enumerate(shapely.bounds(geoms)):
            lo, hi = np.searchsorted(xs, x0, "left"), np.searchsorted(xs, x1, "right")
            near = lo + np.flatnonzero((ys[lo:hi] >= y0) & (ys[lo:hi] <= y1))
            inside = near[shapely.contains_xy(geoms[g], xs[near], ys[near])]
            hits[inside] += 1
            found[inside] = g
        codes = np.array([u.adcode for u in self.units], dtype=object)
        single = hits == 1
        out[order[single]] = codes[found[single]]
        return out

    def county_at(self, given: object, point: object) -> tuple[Unit, float, float]:
        """The one county holding ``point``, with its lon and lat.

        Raises
        ------
        UndecidableUnit
            If the point is malformed, lies in no polygon or on a boundary.
        """
        lon, lat = _point_xy(given, point)
        geoms = self.frame.geometry.to_numpy()
        hits = self.frame.sindex.query(shapely.Point(lon, lat), predicate="intersects")
        polys = hits.tolist()
        if len(polys) > 1:
            polys = [g for g in polys if shapely.contains_xy(geoms[g], lon, lat)]
        if len(polys) == 1:
            return self.units[polys[0]], lon, lat
        if not len(hits):
            msg = f"point ({lon}, {lat}) lies in no county polygon"
        else:
            names = labels(self.units[g] for g in hits.tolist())
            msg = f"point ({lon}, {lat}) lies on the boundary of {', '.join(names)}"
        raise UndecidableUnit(f"{given!r}: {msg}", given=given)


def is_blank_point(point: object) -> bool:
    """Whether no point was given (``None`` or a NaN cell)."""
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
