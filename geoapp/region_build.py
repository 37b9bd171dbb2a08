"""Building a region end to end: boundaries, display layer and metadata, all or nothing.

Owns what ``geoapp data boundaries`` does: build the region's layers
(:func:`geoapp.regions.build_region`), find the display tolerance, and write the
GeoPackage and the TopoJSON into a temporary directory beside the target, moved into
place only once both are complete. On any error the temporary directory is removed and
the region that was there before, if any, is left as it was.

The tolerance is the largest of :data:`TOLERANCES_M` whose shipped borders stay within
:data:`geoapp.display.MAX_DEVIATION_M` of the true ones (the display contract). The
candidates are bisected, which assumes that a larger tolerance never strays less (it
removes more vertices); the chosen one is then checked on the quantized TopoJSON that
ships, and the next smaller one taken if quantization pushed it over the limit. Each
check measures every unit at :data:`COARSE_STEP_M` and again at
:data:`geoapp.display`'s 25 m only the units that could hold the largest value, so
the Hausdorff figure checked is that of :func:`geoapp.display.border_deviation_m` at
25 m (see :func:`max_deviation_m`).

Imports :mod:`geoapp.regions` and :mod:`geoapp.display`; only the command line imports
it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import shapely

from geoapp import display, regions
from geoapp.paths import REGIONS_DIR

TOLERANCES_M = (1000.0, 700.0, 500.0, 400.0, 300.0, 250.0, 200.0, 150.0, 100.0, 50.0)
COARSE_STEP_M = 200.0
FINE_STEP_M = 25.0
QUANTIZATIONS = (display.DEFAULT_QUANTIZATION, 10 * display.DEFAULT_QUANTIZATION)


@dataclass(frozen=True)
class Trial:
    """One tolerance tried: how far its borders strayed (symmetric Hausdorff, metres)."""

    tolerance_m: float
    hausdorff_m: float

    @property
    def ok(self) -> bool:
        return self.hausdorff_m <= display.MAX_DEVIATION_M


@dataclass(frozen=True)
class BuildResult:
    """A completed build: the region, its two files, the tolerance and how it was found."""

    region: regions.Region
    gpkg: Path
    topojson: Path
    tolerance_m: float
    trials: tuple[Trial, ...]
    report: display.DisplayReport
    seconds: float

    def tolerance_line(self) -> str:
        tried = ", ".join(
            f"{t.tolerance_m:g} m: {t.hausdorff_m:,.0f} m {'ok' if t.ok else 'too far'}"
            for t in sorted(self.trials, key=lambda t: -t.tolerance_m)
        )
        return (
            f"display tolerance {self.tolerance_m:g} m: the largest of "
            f"{', '.join(f'{t:g}' for t in TOLERANCES_M)} m whose borders stay within "
            f"{display.MAX_DEVIATION_M:,.0f} m of the true ones (tried {tried})"
        )


def max_deviation_m(
    original: gpd.GeoDataFrame,
    simplified: gpd.GeoDataFrame,
    *,
    coarse_step_m: float = COARSE_STEP_M,
    step_m: float = FINE_STEP_M,
) -> tuple[float, float]:
    """``(deviation_m, hausdorff_m)``: the largest of each over the units, in metres.

    The Hausdorff figure is that of :func:`geoapp.display.border_deviation_m` at
    ``step_m``, found faster: every unit is measured at ``coarse_step_m`` first. A
    densified border is within half a step of every border point, and distances move
    by no more than the points do, so a unit's true figure lies between its coarse
    one and that plus ``coarse_step_m / 2``; only the units whose upper bound reaches
    the largest coarse figure are measured again at ``step_m``. The one-way
    ``deviation_m`` is exact to ``step_m`` for those units and to ``coarse_step_m``
    for the others (at most ``coarse_step_m / 2`` below the true value).
    """
    coarse = display.border_deviation_m(original, simplified, step_m=coarse_step_m)
    near = coarse["hausdorff_m"] + coarse_step_m / 2 >= coarse["hausdorff_m"].max()
    codes = set(coarse.loc[near, "adcode"])
    fine = display.border_deviation_m(
        original[original["adcode"].isin(codes)],
        simplified[simplified["adcode"].isin(codes)],
        step_m=step_m,
    )
    rest = coarse.loc[~near, "deviation_m"]
    deviation = max(float(fine["deviation_m"].max()), float(rest.max()) if len(rest) else 0.0)
    return deviation, float(fine["hausdorff_m"].max())


def find_tolerance(
    counties: gpd.GeoDataFrame, *, tolerances: Sequence[float] = TOLERANCES_M
) -> tuple[float, list[Trial]]:
    """The largest tolerance whose simplified borders keep the deviation limit.

    Returns it with every trial made. Raises a ValueError when even the smallest
    candidate strays too far.
    """
    order = sorted(set(tolerances), reverse=True)
    trials: dict[float, Trial] = {}

    def ok(i: int) -> bool:
        tolerance = order[i]
        if tolerance not in trials:
            simplified = display.simplify_coverage(counties, tolerance_m=tolerance)
            trials[tolerance] = Trial(tolerance, max_deviation_m(counties, simplified)[1])
        return trials[tolerance].ok

    lo, hi = 0, len(order)  # first index that keeps the limit, bisected
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    if lo == len(order):
        worst = trials[order[-1]]
        msg = (
            f"no display tolerance of {', '.join(f'{t:g}' for t in order)} m keeps the "
            f"borders within {display.MAX_DEVIATION_M:.0f} m: at {worst.tolerance_m:g} m "
            f"they stray {worst.hausdorff_m:.0f} m"
        )
        raise ValueError(msg)
    return order[lo], list(trials.values())


def shipped_display(
    counties: gpd.GeoDataFrame, prefectures: gpd.GeoDataFrame, *, tolerance_m: float
) -> tuple[dict, display.DisplayReport]:
    """The display topology at one tolerance and the report measured on what ships.

    The steps of :func:`geoapp.display.build_display`, measured with
    :func:`max_deviation_m`; the limit is not checked here. The topology is quantized
    on the first grid of :data:`QUANTIZATIONS` on which every decoded polygon is valid:
    the default grid (about 5 m across 浙江) folds 定海区's smallest islands onto
    themselves, a ten times finer one does not.

    Raises
    ------
    ValueError
        When no grid gives valid polygons.
    """
    simplified = display.simplify_coverage(counties, tolerance_m=tolerance_m)
    prefs = display.dissolve_prefectures(simplified, prefectures)
    for quantization in QUANTIZATIONS:
        topology = display.to_topojson(simplified, prefs, quantization=quantization)
        text = display.dumps(topology)
        shipped = _decoded_counties(text)
        if shipped.is_valid.all():
            break
    else:
        bad = shipped.loc[~shipped.is_valid, "adcode"].tolist()
        msg = f"the display polygons of {bad} are invalid on every grid of {QUANTIZATIONS}"
        raise ValueError(msg)
    deviation, hausdorff = max_deviation_m(counties, shipped)
    metric = shipped.to_crs(display.fitted_crs(shipped)).geometry.values
    report = display.DisplayReport(
        raw_geojson_bytes=display._geojson_bytes(counties),
        topojson_bytes=len(text.encode()),
        raw_vertices=int(shapely.get_num_coordinates(counties.geometry.values).sum()),
        display_vertices=int(shapely.get_num_coordinates(shipped.geometry.values).sum()),
        max_deviation_m=deviation,
        max_hausdorff_m=hausdorff,
        all_valid=True,
        coverage_valid=bool(shapely.coverage_is_valid(metric)),
        overlap_m2=display.overlap_area_m2(shipped),
    )
    return topology, report


def _decoded_counties(text: str) -> gpd.GeoDataFrame:
    """The county polygons a TopoJSON text decodes to (through GDAL, as the map reads)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "display.topojson"
        path.write_text(text, encoding="utf-8")
        return display.read_topojson_layer(path, "counties")


def display_layer(
    counties: gpd.GeoDataFrame,
    prefectures: gpd.GeoDataFrame,
    *,
    tolerances: Sequence[float] = TOLERANCES_M,
) -> tuple[dict, display.DisplayReport, float, list[Trial]]:
    """The display topology at the largest tolerance whose shipped borders keep the limit."""
    tolerance, trials = find_tolerance(counties, tolerances=tolerances)
    for candidate in sorted((t for t in set(tolerances) if t <= tolerance), reverse=True):
        topology, report = shipped_display(counties, prefectures, tolerance_m=candidate)
        if report.max_hausdorff_m <= display.MAX_DEVIATION_M:
            trials = [t for t in trials if t.tolerance_m != candidate]
            return topology, report, candidate, [*trials, Trial(candidate, report.max_hausdorff_m)]
        trials.append(Trial(candidate, report.max_hausdorff_m))
    msg = (
        f"no display tolerance of {', '.join(f'{t:g}' for t in sorted(tolerances))} m keeps "
        f"the shipped borders within {display.MAX_DEVIATION_M:.0f} m"
    )
    raise ValueError(msg)


def build(
    *,
    province: str | None = None,
    city: str | None = None,
    region: str | None = None,
    directory: Path | None = None,
    tolerances: Sequence[float] = TOLERANCES_M,
) -> BuildResult:
    """Build a region's layers and display layer and write both, or nothing at all.

    Parameters
    ----------
    province, city, region : str, optional
        What to build, as for :func:`geoapp.regions.build_region`.
    directory : Path, optional
        Where the region goes (``data/regions`` by default).
    tolerances : sequence of float
        Candidate display tolerances in metres.

    Raises
    ------
    ValueError
        An unknown region, or no tolerance that keeps the deviation limit; nothing
        is written.
    """
    started = time.perf_counter()
    built = regions.build_region(province=province, city=city, region=region)
    topology, report, tolerance, trials = display_layer(
        built.counties, built.prefectures, tolerances=tolerances
    )
    meta = {
        "display_tolerance_m": f"{tolerance:g}",
        "display_max_hausdorff_m": f"{report.max_hausdorff_m:.0f}",
        "display_tolerance_trials": "; ".join(
            f"{t.tolerance_m:g} m -> {t.hausdorff_m:.0f} m" for t in trials
        ),
        "display_deviation_limit_m": f"{display.MAX_DEVIATION_M:g}",
        "display_quantization": str(_quantization(topology)),
    }
    gpkg, topojson_path = write_all(built, topology, meta, directory=directory)
    seconds = time.perf_counter() - started
    return BuildResult(
        built, gpkg, topojson_path, tolerance, tuple(trials), report, round(seconds, 1)
    )


def _quantization(topology: dict) -> int:
    """The grid a quantized topology was encoded on (its ``transform``'s scale)."""
    bbox = topology.get("bbox")
    scale = topology.get("transform", {}).get("scale")
    if not bbox or not scale:
        return 0
    return round((bbox[2] - bbox[0]) / scale[0]) + 1


def write_all(
    region: regions.Region, topology: dict, meta: dict[str, str], *, directory: Path | None
) -> tuple[Path, Path]:
    """Write the GeoPackage and the TopoJSON beside the targets, then swap them in.

    Both files are written into a fresh temporary directory in ``directory``; only
    when both are complete are they moved over the targets, and a failure while
    moving puts the previous files back. The temporary directory is always removed.
    """
    folder = directory or REGIONS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".build-{region.adcode}-", dir=folder))
    try:
        new = [
            regions.write_region(region, directory=work, extra=meta),
            display.write_display(topology, region.adcode, directory=work),
        ]
        targets = [
            regions.region_path(region.adcode, directory=folder),
            display.display_path(region.adcode, directory=folder),
        ]
        _swap_in(new, targets, backup=work / "previous")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return targets[0], targets[1]


def _swap_in(new: list[Path], targets: list[Path], *, backup: Path) -> None:
    """Move each new file over its target; on failure restore every target as it was."""
    backup.mkdir()
    saved: list[tuple[Path, Path]] = []
    for target in targets:
        if target.exists():  # a hard link keeps the target in place until it is replaced
            keep = backup / target.name
            try:
                os.link(target, keep)
            except OSError:  # no hard links on this file system
                shutil.copy2(target, keep)
            saved.append((keep, target))
    moved: list[Path] = []
    try:
        for source, target in zip(new, targets, strict=True):
            _move(source, target)
            moved.append(target)
    except BaseException:
        for target in moved:
            target.unlink(missing_ok=True)
        for keep, target in saved:
            os.replace(keep, target)
        raise


def _move(source: Path, target: Path) -> None:
    os.replace(source, target)
