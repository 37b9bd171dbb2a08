"""Benchmark: a register built to make duplicate detection quadratic, as a whole process.

``geoapp gaps --facilities F`` is timed as a user runs it (a new process each time, wall
time and peak memory of the process from ``resource.getrusage``) on two registers of the
same size written into a temporary folder:

* **same name**: ``--rows`` rows that all carry one name and type at random points in
  长春市, the shape that made the old self-join by name take 110 s and 6.9 GB for 8,000
  rows (every row compared with every other);
* **distinct names**: the same rows, each with its own name (no duplicate candidates):
  the floor.

The ratio same / distinct is the figure to quote: it stays near 1 when the work per
name group is O(n log n). Writes JSON to ``bench/results/bench_duplicates.json``.

Run from the repository root::

    python bench/bench_duplicates.py [--rows 8000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GEOAPP = [sys.executable, "-m", "geoapp.cli"]


def write_register(path: Path, rows: int, *, same_name: bool, seed: int = 1) -> None:
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8-sig") as f:
        writer = csv.writer(f)
        writer.writerow(["名称", "类型", "市（州）", "县（市、区）", "经度", "纬度"])
        for i in range(rows):
            lon, lat = 125.0 + rng.random() * 0.5, 43.6 + rng.random() * 0.4
            name = "同名残疾人按摩店" if same_name else f"残疾人按摩店{i}"
            writer.writerow([name, "盲人按摩机构", "长春市", "", f"{lon:.6f}", f"{lat:.6f}"])


def run_once(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak MiB) of one ``geoapp`` process."""
    env = {**os.environ, "GEOAPP_SOURCE": "embedded", "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([*GEOAPP, *args], env=env, capture_output=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        msg = f"geoapp {' '.join(args)} exited {done.returncode}: {done.stderr.decode()[-500:]}"
        raise RuntimeError(msg)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        files = {kind: Path(tmp) / f"{kind}.csv" for kind in ("same_name", "distinct")}
        for kind, path in files.items():
            write_register(path, args.rows, same_name=kind == "same_name")
        run_once(["gaps", "--facilities", str(files["distinct"])])  # warm the disk cache
        walls: dict[str, list[float]] = {k: [] for k in files}
        peaks: dict[str, float] = dict.fromkeys(files, 0.0)
        for _ in range(args.repeat):  # alternate, so that drift hits both alike
            for kind, path in files.items():
                wall, peak = run_once(["gaps", "--facilities", str(path)])
                walls[kind].append(wall)
                peaks[kind] = max(peaks[kind], peak)
    result = {
        "rows": args.rows,
        "repeat": args.repeat,
        "median_wall_s": {k: statistics.median(v) for k, v in walls.items()},
        "ratio_same_over_distinct": statistics.median(
            a / b for a, b in zip(walls["same_name"], walls["distinct"], strict=True)
        ),
        "note": "peak_mib is the largest child process so far (getrusage), an upper bound",
        "peak_mib": peaks,
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_duplicates.json").write_text(json.dumps(result, indent=2))
    for kind in files:
        print(f"{kind:10s} median {result['median_wall_s'][kind]:.2f} s")
    print(f"same name / distinct names: {result['ratio_same_over_distinct']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
