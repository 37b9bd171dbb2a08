"""Benchmark: access measures and siting on Jilin, by demand-grid size and by k.

What is measured
----------------
Inputs: the embedded Jilin counties (60), facilities (478 demo, six types) and the demo
unemployed-disabled estimate (67,489 people).

``access`` cases
    :func:`geoapp.analysis.access.demand_grid` at ``cell_km`` 10 / 5 / 2, then
    :func:`geoapp.analysis.access.county_access` for **every facility type** at 30 km (nearest
    distance, within-radius share, mean/p90 and PySAL ``access`` 2SFCA).
``site`` cases
    The same grid, candidates = the 60 county seats + a 20 km candidate grid (about 540
    sites: "several hundred"), then :func:`geoapp.analysis.siting.suggest_sites` for
    ``auxiliary_institution`` (two mandatory demo gaps) at 30 km: set covering, spopt
    MCLP (pulp CBC), ordering and the greedy comparison. Grid 10 / 5 / 2 km at k = 10;
    k = 5 / 10 / 20 at 5 km; and every facility type at 5 km, k = 10.

Each case runs in its own fresh subprocess; time is wall time of the measured calls
(imports and data loading excluded, the one-off import of spopt included in neither),
memory is the subprocess's peak resident set (``ru_maxrss``, so it includes Python,
geopandas and the data: compare rows, not absolute values).

Usage: ``python bench/bench_siting.py [--quick]`` (``--quick`` skips the 2 km siting
case). Writes ``bench/results/bench_siting.json`` and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))
RADIUS_KM = 30.0
CANDIDATE_KM = 20.0


def _case(kind: str, cell_km: float, k: int, ftype: str) -> dict:
    sys.path.insert(0, str(ROOT))
    import spopt.locate  # noqa: F401  (import cost is not the model's)

    from geoapp.analysis import access, siting
    from geoapp.datasource import EmbeddedSource

    src = EmbeddedSource()
    counties, unemployed, facilities = src.counties(), src.unemployed(), src.facilities()
    started = time.perf_counter()
    demand = access.demand_grid(counties, unemployed, cell_km=cell_km)
    out: dict = {"demand_points": len(demand)}
    if kind == "access":
        table = access.county_access(demand, facilities, counties, radius_km=RADIUS_KM)
        out["rows"] = len(table)
    else:
        cands = siting.candidates("both", counties=counties, demand=demand, cell_km=CANDIDATE_KM)
        result = siting.suggest_sites(
            ftype,
            k,
            radius_km=RADIUS_KM,
            policy="jilin-2025-2027",
            counties=counties,
            facilities=facilities,
            unemployed=unemployed,
            demand=demand,
            candidates=cands,
        )
        s = result.summary
        out.update(
            candidates=len(cands),
            mclp_rows=s["mclp_rows"],
            solver=s["solver"],
            covered_before=round(s["covered_before"]),
            covered_after=round(s["covered_after"]),
            covered_greedy=round(s["covered_after_greedy"]),
            gaps_closed=s["gaps_closed"],
        )
    out["seconds"] = round(time.perf_counter() - started, 2)
    out["peak_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 0)
    return out


def _run(kind: str, cell_km: float, k: int = 0, ftype: str = "all") -> dict:
    cmd = [sys.executable, __file__, "--case", kind, str(cell_km), str(k), ftype]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=ROOT)
    if proc.returncode != 0:
        return {
            "kind": kind,
            "cell_km": cell_km,
            "k": k,
            "type": ftype,
            "error": proc.stderr.strip().splitlines()[-1:],
        }
    return {"kind": kind, "cell_km": cell_km, "k": k, "type": ftype, **json.loads(proc.stdout)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", nargs=4, metavar=("KIND", "CELL_KM", "K", "TYPE"))
    parser.add_argument("--quick", action="store_true", help="skip the 2 km siting case")
    args = parser.parse_args()
    if args.case:
        kind, cell, k, ftype = args.case
        print(json.dumps(_case(kind, float(cell), int(k), ftype)))
        return
    from geoapp.facilities import FACILITY_TYPES

    aux = "auxiliary_institution"
    plan = [("access", c, 0, "all") for c in (10.0, 5.0, 2.0)]
    plan += [("site", c, 10, aux) for c in (10.0, 5.0) + (() if args.quick else (2.0,))]
    plan += [("site", 5.0, k, aux) for k in (5, 20)]
    plan += [("site", 5.0, 10, t) for t in FACILITY_TYPES if t != aux]
    rows = []
    for case in plan:
        row = _run(*case)
        rows.append(row)
        print(json.dumps(row, ensure_ascii=False), file=sys.stderr)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_siting.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    print(
        "| case | grid km | k | type | demand pts | candidates | MCLP rows | s | peak MB | covered before -> optimal / greedy |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(
                f"| {r['kind']} | {r['cell_km']:g} | {r['k']} | {r['type']} | error: {r['error']} |"
            )
            continue
        cov = (
            f"{r['covered_before']:,} -> {r['covered_after']:,} / {r['covered_greedy']:,}"
            if r["kind"] == "site"
            else ""
        )
        print(
            f"| {r['kind']} | {r['cell_km']:g} | {r['k'] or ''} | {r['type']} | "
            f"{r['demand_points']:,} | {r.get('candidates', '')} | {r.get('mclp_rows', '')} | "
            f"{r['seconds']} | {r['peak_mb']:.0f} | {cov} |"
        )


if __name__ == "__main__":
    main()
