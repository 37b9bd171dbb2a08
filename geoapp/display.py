"""The display version of a region's boundaries: a simplified coverage shipped as TopoJSON.

The raw county layer of Jilin is about 6.4 MB of GeoJSON, too heavy for a map page. The
counties are simplified *as a coverage* (GEOS's coverage simplifier, through shapely), so
neighbours keep one shared border (no slivers, no overlaps), in a metric projection
fitted to the region so that the tolerance is in metres. Prefectures are dissolved
from the simplified counties, so their borders lie exactly on county borders. Both are
encoded in one TopoJSON file, which stores each shared border once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
import topojson

from geoapp.paths import REGIONS_DIR

DEFAULT_TOLERANCE_M = 300.0
DEFAULT_QUANTIZATION = 100_000
MAX_DEVIATION_M = 1_000.0
COUNTY_PROPERTIES = ("adcode", "name", "prefecture_adcode", "prefecture", "unit_kind")


def fitted_crs(frame: gpd.GeoDataFrame) -> pyproj.CRS:
    """A Lambert azimuthal equal-area projection centred on the frame's extent.

    One projection for the whole region: distances and areas in metres stay within a
    fraction of a percent across a province, where UTM would split Jilin in two zones.
    """
    minx, miny, maxx, maxy = frame.to_crs(4326).total_bounds
    lon0, lat0 = (minx + maxx) / 2, (miny + maxy) / 2
    return pyproj.CRS.from_proj4(
        f"+proj=laea +lat_0={lat0:.4f} +lon_0={lon0:.4f} +datum=WGS84 +units=m +no_defs"
    )


def simplify_coverage(
    counties: gpd.GeoDataFrame, *, tolerance_m: float = DEFAULT_TOLERANCE_M
) -> gpd.GeoDataFrame:
    """Simplify county polygons together so that shared borders stay shared.

    Returns a new GeoDataFrame in EPSG:4326 with the same rows and columns.
    """
    crs = fitted_crs(counties)
    metric = counties.to_crs(crs)
    simplified = shapely.coverage_simplify(metric.geometry.values, tolerance_m)
    return metric.set_geometry(simplified).to_crs(4326)


def dissolve_prefectures(counties: gpd.GeoDataFrame, prefectures: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Prefecture polygons as the union of their (simplified) counties.

    ``coverage_union`` keeps the counties' vertices, so every prefecture border
    coincides with county borders exactly.
    """
    geoms = {
        code: shapely.coverage_union_all(group.geometry.values)
        for code, group in counties.groupby("prefecture_adcode")
    }
    out = prefectures.drop(columns="geometry").copy()
    out = out[out["adcode"].isin(geoms)]
    return gpd.GeoDataFrame(out, geometry=[geoms[c] for c in out["adcode"]], crs=4326)


def to_topojson(
    counties: gpd.GeoDataFrame,
    prefectures: gpd.GeoDataFrame,
    *,
    quantization: int = DEFAULT_QUANTIZATION,
) -> dict:
    """Encode counties and prefectures as one quantized TopoJSON topology."""
    county_cols = [c for c in COUNTY_PROPERTIES if c in counties] + ["geometry"]
    pref_cols = ["adcode", "name", "geometry"]
    topo = topojson.Topology(
        [counties[county_cols].reset_index(drop=True), prefectures[pref_cols].reset_index(drop=True)],
        object_name=["counties", "prefectures"],
        prequantize=quantization,
        topology=True,
        toposimplify=False,
    )
    return json.loads(topo.to_json())


def dumps(topology: dict) -> str:
    """Serialise compactly; Chinese names stay UTF-8 rather than \\u escapes."""
    return json.dumps(topology, ensure_ascii=False, separators=(",", ":"))


def display_path(adcode: str, *, directory: Path | None = None) -> Path:
    return (directory or REGIONS_DIR) / f"{adcode}.topojson"


def read_topojson_layer(path: Path, layer: str) -> gpd.GeoDataFrame:
    """Decode one object of a TopoJSON file back to polygons (through GDAL)."""
    frame = gpd.read_file(path, layer=layer)
    frame = frame.set_crs(4326, allow_override=True)
    for col in ("adcode", "prefecture_adcode"):
        if col in frame:
            frame[col] = frame[col].astype(str)
    return frame


@dataclass(frozen=True)
class DisplayReport:
    """What the simplification cost and saved: the figures a closing note reports."""

    raw_geojson_bytes: int
    topojson_bytes: int
    raw_vertices: int
    display_vertices: int
    max_deviation_m: float
    max_hausdorff_m: float
    all_valid: bool
    coverage_valid: bool
    overlap_m2: float

    def lines(self) -> list[str]:
        return [
            f"raw county layer (GeoJSON): {self.raw_geojson_bytes / 1024:,.0f} KiB, "
            f"{self.raw_vertices:,} vertices",
            f"display TopoJSON (counties + prefectures): {self.topojson_bytes / 1024:,.1f} KiB, "
            f"{self.display_vertices:,} county vertices",
            f"max distance of a simplified border point from the true border: "
            f"{self.max_deviation_m:,.0f} m (symmetric Hausdorff {self.max_hausdorff_m:,.0f} m)",
            f"all geometries valid: {self.all_valid}; coverage valid: {self.coverage_valid}; "
            f"total overlap between neighbours: {self.overlap_m2:,.1f} m²",
        ]


def _segments(line: shapely.Geometry) -> np.ndarray:
    """The straight segments of a (multi)linestring as an array of 2-point lines."""
    parts = shapely.get_parts(line)
    segs = []
    for part in parts:
        xy = shapely.get_coordinates(part)
        segs.append(shapely.linestrings(np.stack([xy[:-1], xy[1:]], axis=1)))
    return np.concatenate(segs)


def _directed_m(source: shapely.Geometry, target: shapely.Geometry, step_m: float) -> float:
    """Largest distance from any point of ``source`` (densified) to ``target``."""
    pts = shapely.points(shapely.get_coordinates(shapely.segmentize(source, step_m)))
    tree = shapely.STRtree(_segments(target))
    _, dist = tree.query_nearest(pts, return_distance=True, all_matches=False)
    return float(dist.max())


def border_deviation_m(
    original: gpd.GeoDataFrame, simplified: gpd.GeoDataFrame, *, step_m: float = 25.0
) -> pd.DataFrame:
    """Per unit: how far the simplified border strays from the true one, in metres.

    ``deviation_m`` is the largest distance from a point of the simplified border to
    the true border, ``hausdorff_m`` the symmetric (Hausdorff) distance, which also
    counts true border points cut off by the simplification. Both borders are
    densified every ``step_m`` metres, so the figures are exact to within that step.
    """
    crs = fitted_crs(original)
    a = original.sort_values("adcode").to_crs(crs)
    b = simplified.sort_values("adcode").to_crs(crs)
    rows = []
    for code, ga, gb in zip(a["adcode"], shapely.boundary(a.geometry.values), shapely.boundary(b.geometry.values)):
        forward = _directed_m(gb, ga, step_m)
        backward = _directed_m(ga, gb, step_m)
        rows.append((code, forward, max(forward, backward)))
    return pd.DataFrame(rows, columns=["adcode", "deviation_m", "hausdorff_m"])


def _geojson_bytes(frame: gpd.GeoDataFrame) -> int:
    """Size of the layer as plain GeoJSON at 6 decimals (0.1 m), the naive way to ship it."""
    rounded = shapely.transform(frame.geometry.values, lambda xy: np.round(xy, 6))
    return len(frame.set_geometry(rounded).to_json(ensure_ascii=False).encode())


def overlap_area_m2(frame: gpd.GeoDataFrame) -> float:
    """Total area where two units of a coverage overlap, in m² (0 for a clean coverage)."""
    metric = frame.to_crs(fitted_crs(frame)).reset_index(drop=True)
    left, right = metric.sindex.query(metric.geometry, predicate="intersects")
    keep = left < right
    if not keep.any():
        return 0.0
    inter = shapely.intersection(metric.geometry.values[left[keep]], metric.geometry.values[right[keep]])
    return float(shapely.area(inter).sum())


def build_display(
    counties: gpd.GeoDataFrame,
    prefectures: gpd.GeoDataFrame,
    *,
    tolerance_m: float = DEFAULT_TOLERANCE_M,
    quantization: int = DEFAULT_QUANTIZATION,
) -> tuple[dict, DisplayReport]:
    """Simplify, encode and measure; refuse a result that breaks the display contract."""
    simplified = simplify_coverage(counties, tolerance_m=tolerance_m)
    prefs = dissolve_prefectures(simplified, prefectures)
    topology = to_topojson(simplified, prefs, quantization=quantization)
    text = dumps(topology)

    # Measure what ships: decode the quantized TopoJSON, not the in-memory polygons.
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "display.topojson"
        path.write_text(text, encoding="utf-8")
        shipped = read_topojson_layer(path, "counties")
    dev = border_deviation_m(counties, shipped)
    report = DisplayReport(
        raw_geojson_bytes=_geojson_bytes(counties),
        topojson_bytes=len(text.encode()),
        raw_vertices=int(shapely.get_num_coordinates(counties.geometry.values).sum()),
        display_vertices=int(shapely.get_num_coordinates(shipped.geometry.values).sum()),
        max_deviation_m=float(dev["deviation_m"].max()),
        max_hausdorff_m=float(dev["hausdorff_m"].max()),
        all_valid=bool(shipped.is_valid.all()),
        coverage_valid=bool(shapely.coverage_is_valid(shipped.to_crs(fitted_crs(shipped)).geometry.values)),
        overlap_m2=overlap_area_m2(shipped),
    )
    if report.max_hausdorff_m > MAX_DEVIATION_M:
        msg = (
            f"simplified borders stray {report.max_hausdorff_m:.0f} m from the true ones "
            f"(limit {MAX_DEVIATION_M:.0f} m): lower tolerance_m (now {tolerance_m})"
        )
        raise ValueError(msg)
    return topology, report


def write_display(topology: dict, adcode: str, *, directory: Path | None = None) -> Path:
    path = display_path(adcode, directory=directory)
    tmp = path.with_suffix(".topojson.tmp")
    tmp.write_text(dumps(topology), encoding="utf-8")
    tmp.replace(path)
    return path


def read_display(adcode: str, *, directory: Path | None = None) -> dict:
    """The display topology of a built region, as a dict ready for the map."""
    path = display_path(adcode, directory=directory)
    if not path.is_file():
        msg = f"no display layer for region {adcode} ({path}); run: geoapp data boundaries"
        raise ValueError(msg)
    return json.loads(path.read_text(encoding="utf-8"))
