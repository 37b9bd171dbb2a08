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


def dissolve_prefectures(
    counties: gpd.GeoDataFrame, prefectures: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
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
        [
            counties[county_cols].reset_index(drop=True),
            prefectures[pref_cols].reset_index(drop=True),
        ],
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
    for code, ga, gb in zip(
        a["adcode"],
        shapely.boundary(a.geometry.values),
        shapely.boundary(b.geometry.values),
        strict=False,
    ):
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
    inter = shapely.intersection(
        metric.geometry.values[left[keep]], metric.geometry.values[right[keep]]
    )
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
        coverage_valid=bool(
            shapely.coverage_is_valid(shipped.to_crs(fitted_crs(shipped)).geometry.values)
        ),
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


# --- decoding and re-projecting the display topology ----------------------------------------


def decode_arcs(topology: dict) -> list[np.ndarray]:
    """Every arc of a topology as an ``(n, 2)`` array of absolute lon/lat.

    A quantized topology (one with a ``transform``) stores each arc as integer deltas:
    the first position relative to the origin, each next one relative to the one
    before. Decoding is a cumulative sum, then ``scale`` and ``translate``. Without a
    ``transform`` the positions are already absolute. Extra dimensions are dropped.

    Examples
    --------
    >>> topo = {"type": "Topology", "objects": {},
    ...         "transform": {"scale": [0.5, 0.25], "translate": [120.0, 40.0]},
    ...         "arcs": [[[2, 4], [2, 0], [0, -4]]]}
    >>> decode_arcs(topo)[0].tolist()
    [[121.0, 41.0], [122.0, 41.0], [122.0, 40.0]]
    """
    _require_topology(topology)
    transform = topology.get("transform")
    out = []
    for arc in topology.get("arcs", []):
        xy = np.array([p[:2] for p in arc], dtype=np.float64).reshape(-1, 2)
        if transform:
            xy = np.cumsum(xy, axis=0) * transform["scale"] + transform["translate"]
        out.append(xy)
    return out


def topology_to_datum(topology: dict, *, dst: str, src: str = "wgs84", decimals: int = 6) -> dict:
    """The same topology with every position converted from datum ``src`` to ``dst``.

    Web map tiles in GCJ-02 (Amap, Tencent) need the WGS84 boundaries moved by the same
    offset, or borders sit a few hundred metres off the roads and rivers drawn on the
    tiles. The arcs are decoded (see :func:`decode_arcs`), converted in one call of
    :func:`geoapp.coords.convert` and written unquantized: absolute positions rounded
    to ``decimals`` (6: 0.1 m), no ``transform``. Point geometries of the objects are
    converted too, a ``bbox`` is recomputed; arcs keep their order and indices, so
    shared borders stay shared. The input is not modified.

    Parameters
    ----------
    topology : dict
        A TopoJSON topology, quantized or not.
    dst, src : str
        Target and source datum, names as in :data:`geoapp.coords.DATUMS`.
    decimals : int
        Decimal places of the written positions.

    Returns
    -------
    dict
        A new, unquantized topology.

    Raises
    ------
    ValueError
        When ``topology`` is not a TopoJSON Topology or a datum is unknown.

    Examples
    --------
    >>> topo = {"type": "Topology", "objects": {},
    ...         "transform": {"scale": [1e-4, 1e-4], "translate": [125.0, 43.0]},
    ...         "arcs": [[[3000, 8000], [10, 0]]]}
    >>> out = topology_to_datum(topo, dst="gcj02")
    >>> "transform" in out, out["arcs"][0][0]
    (False, [125.306442, 43.802418])
    """
    from geoapp import coords

    arcs = decode_arcs(topology)
    transform = topology.get("transform")
    sizes = [len(a) for a in arcs]
    lon_lat = np.concatenate(arcs) if arcs else np.empty((0, 2))
    lon, lat = coords.convert(lon_lat[:, 0], lon_lat[:, 1], src=src, dst=dst)
    moved = np.round(np.column_stack([lon, lat]), decimals)

    def point(position: list[float]) -> list[float]:
        xy = np.asarray(position[:2], dtype=np.float64)
        if transform:
            xy = xy * transform["scale"] + transform["translate"]
        x, y = coords.convert(xy[0], xy[1], src=src, dst=dst)
        return [round(float(x), decimals), round(float(y), decimals)]

    def geometry(geom: dict) -> dict:
        geom = dict(geom)
        kind = geom.get("type")
        if kind == "GeometryCollection":
            geom["geometries"] = [geometry(g) for g in geom.get("geometries", [])]
        elif kind == "Point":
            geom["coordinates"] = point(geom["coordinates"])
        elif kind == "MultiPoint":
            geom["coordinates"] = [point(p) for p in geom["coordinates"]]
        geom.pop("bbox", None)
        return geom

    out = {k: v for k, v in topology.items() if k not in ("transform", "arcs", "objects", "bbox")}
    out["objects"] = {name: geometry(obj) for name, obj in topology["objects"].items()}
    out["arcs"] = [part.tolist() for part in np.split(moved, np.cumsum(sizes)[:-1])] if arcs else []
    if "bbox" in topology and len(moved):
        out["bbox"] = [*moved.min(axis=0).tolist(), *moved.max(axis=0).tolist()]
    return out


def topology_bounds(topology: dict) -> list[list[float]]:
    """``[[lat_min, lon_min], [lat_max, lon_max]]`` of all arcs, quantized or not.

    The topology's own ``bbox`` (``[x_min, y_min, x_max, y_max]``, which the build and
    :func:`topology_to_datum` write) is read when present, instead of decoding every arc.
    """
    bbox = topology.get("bbox")
    if isinstance(bbox, list | tuple) and len(bbox) == 4 and np.isfinite(bbox).all():
        lon_min, lat_min, lon_max, lat_max = (float(v) for v in bbox)
        return [[lat_min, lon_min], [lat_max, lon_max]]
    arcs = decode_arcs(topology)
    if not arcs:
        msg = "the topology has no arcs, so no bounds"
        raise ValueError(msg)
    xy = np.concatenate(arcs)
    (lon_min, lat_min), (lon_max, lat_max) = xy.min(axis=0), xy.max(axis=0)
    return [[float(lat_min), float(lon_min)], [float(lat_max), float(lon_max)]]


def object_geometries(topology: dict, object_name: str) -> list[tuple[dict, shapely.Geometry]]:
    """``(properties, geometry)`` of each geometry of one object, rings stitched from arcs.

    Arc index ``i`` is used as stored, ``~i`` (a negative index) reversed; each arc after
    the first in a ring starts where the previous ended, so its first position is dropped.
    """
    arcs = decode_arcs(topology)
    try:
        obj = topology["objects"][object_name]
    except KeyError:
        msg = f"the topology has no object {object_name!r}; objects: {sorted(topology['objects'])}"
        raise ValueError(msg) from None

    def ring(indices: list[int]) -> np.ndarray:
        parts = []
        for n, i in enumerate(indices):
            xy = arcs[i] if i >= 0 else arcs[~i][::-1]
            parts.append(xy if n == 0 else xy[1:])
        return np.concatenate(parts)

    def build(geom: dict) -> shapely.Geometry:
        kind = geom.get("type")
        if kind == "Polygon":
            return shapely.Polygon(ring(geom["arcs"][0]), [ring(r) for r in geom["arcs"][1:]])
        if kind == "MultiPolygon":
            return shapely.MultiPolygon(
                [shapely.Polygon(ring(p[0]), [ring(r) for r in p[1:]]) for p in geom["arcs"]]
            )
        if kind == "LineString":
            return shapely.LineString(ring(geom["arcs"]))
        if kind == "MultiLineString":
            return shapely.MultiLineString([ring(a) for a in geom["arcs"]])
        msg = f"object {object_name!r}: geometry type {kind!r} is not supported"
        raise ValueError(msg)

    geoms = obj["geometries"] if obj.get("type") == "GeometryCollection" else [obj]
    return [(dict(g.get("properties", {})), build(g)) for g in geoms]


def _require_topology(topology: object) -> None:
    if not isinstance(topology, dict) or topology.get("type") != "Topology":
        got = topology.get("type") if isinstance(topology, dict) else type(topology).__name__
        msg = f"expected a TopoJSON object with type 'Topology', got {got!r}"
        raise ValueError(msg)
