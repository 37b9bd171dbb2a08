"""Benchmark: a prefecture's submission against uploading the whole province, both stores.

What is measured
----------------
A Jilin store holding ``--facilities`` (default 100,000) current facilities, spread
over the 60 counties (random but reproducible rows, seed 0), on each backend: a
GeoPackage file in a temporary folder (WAL, ``synchronous=FULL``) and PostgreSQL +
PostGIS (a throwaway server started by ``tests/pg_server.py`` with its default
durability: fsync on, synchronous commit). Review is on, as deployed; each row below
is one call, timed with ``time.perf_counter``, first call and best of ``--repeat``:

``province upload``
    A province steward submits all ``--facilities`` rows for the region, and a
    province reviewer approves: the new version replaces the whole register (what an
    upload did before area-scoped submissions).
``prefecture submission``
    长春市's steward submits ``--rows`` (default 5,000) rows for 长春市, and a province
    reviewer approves: 长春市's part is replaced, the other eight prefectures' rows are
    copied into the new version inside the database.
``read province``
    ``Store.facilities()``: the current version, ``--facilities`` rows, as the
    dashboard reads it.

Submit and approve are timed apart too. Each repeat runs a province upload, a read
(so that every read sees exactly ``--facilities`` rows) and a prefecture submission.

How to read it
--------------
``prefecture / province`` is the prefecture submission's time over the province
upload's, per backend: what area-scoped reporting costs or saves against replacing the
province. ``postgis / gpkg`` compares the backends, per row. Results also go to
``bench/results/bench_store.json`` (untracked).

Run from the repository root::

    .venv/bin/python bench/bench_store.py [--facilities 100000] [--rows 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import numpy as np  # noqa: E402 - after the sys.path lines above
import pandas as pd  # noqa: E402

from geoapp import auth, settings  # noqa: E402
from geoapp.datasource import EmbeddedSource  # noqa: E402
from geoapp.store import Store  # noqa: E402

PASSWORD = "benchmark password"
CHANGCHUN = "220100"
TYPES = ("incubation_base", "rural_help_base", "massage_institution", "auxiliary_institution")


def facility_rows(counties: pd.DataFrame, n: int, *, seed: int, prefix: str) -> pd.DataFrame:
    """``n`` facilities spread over ``counties`` (each near its representative point)."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(counties), n)
    units = counties.iloc[pick].reset_index(drop=True)
    points = units.geometry.representative_point()
    return pd.DataFrame(
        {
            "facility_id": [f"{prefix}-{i}" for i in range(n)],
            "name": [f"设施{i}" for i in range(n)],
            "facility_type": np.array(TYPES)[rng.integers(0, len(TYPES), n)],
            "subtype": "",
            "prefecture": units["prefecture"].to_numpy(),
            "county": units["name"].to_numpy(),
            "adcode": units["adcode"].to_numpy(),
            "address": "某街道" + pd.Series(rng.integers(1, 999, n)).astype(str) + "号",
            "lon": np.round(points.x.to_numpy() + rng.normal(0, 0.05, n), 6),
            "lat": np.round(points.y.to_numpy() + rng.normal(0, 0.05, n), 6),
            "datum": "wgs84",
            "is_demo": False,
            "note": "",
        }
    )


def accounts(folder: Path) -> dict[str, auth.User]:
    path = folder / "accounts.toml"
    people = {"province": ("steward", ""), "changchun": ("steward", CHANGCHUN)}
    people["reviewer"] = ("reviewer", "")
    for name, (role, area) in people.items():
        auth.add_user(name, PASSWORD, role=role, area=area, path=path)
    return {name: auth.verify(name, PASSWORD, path=path) for name in people}


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run_backend(location: str | Path, frames: dict, users: dict, repeat: int) -> dict:
    """Times (seconds, one list per step) of the steps on one store."""
    started = time.perf_counter()
    st = Store.open(location, seed=EmbeddedSource())
    settings.REVIEW_REQUIRED = False
    st.submit("facilities", frames["province"], user=users["province"], period="2025Q4",
              confirm_closures=True)  # fmt: skip
    settings.REVIEW_REQUIRED = True
    setup = time.perf_counter() - started
    times: dict[str, list[float]] = {}

    def submit_and_approve(name: str, frame: pd.DataFrame, who: str, area: str | None) -> None:
        holder = {}

        def submit() -> None:
            holder["sub"] = st.submit(
                "facilities", frame, user=users[who], area=area, period="2026Q1",
                confirm_closures=True,
            )  # fmt: skip

        def approve() -> None:
            st.review(holder["sub"].submission_id, user=users["reviewer"], approve=True)

        t_submit, t_approve = timed(submit), timed(approve)
        times.setdefault(f"{name}: submit", []).append(t_submit)
        times.setdefault(f"{name}: approve", []).append(t_approve)
        times.setdefault(name, []).append(t_submit + t_approve)

    for _ in range(repeat + 1):  # the first round is the cold one
        submit_and_approve("province upload", frames["province"], "province", None)
        rows = len(st.facilities())
        assert rows == len(frames["province"]), rows
        times.setdefault("read province", []).append(timed(st.facilities))
        submit_and_approve("prefecture submission", frames["prefecture"], "changchun", CHANGCHUN)
    versions = len(st.versions("facilities"))
    st.close()
    return {"setup_s": setup, "versions": versions, "times": times}


def report(results: dict, args: argparse.Namespace) -> None:
    steps = list(next(iter(results.values()))["times"])
    width = max(map(len, steps))
    head = "".join(f"  {b + ' first':>13}  {b + ' best':>12}" for b in results)
    print(f"\n{'step':{width}}{head}  {'postgis/gpkg':>12}")
    best = {b: {s: min(r["times"][s][1:]) for s in steps} for b, r in results.items()}
    for step in steps:
        cells = "".join(
            f"  {results[b]['times'][step][0]:13.3f}  {best[b][step]:12.3f}" for b in results
        )
        ratio = best["postgis"][step] / best["gpkg"][step] if len(results) == 2 else float("nan")
        print(f"{step:{width}}{cells}  {ratio:12.2f}")
    print()
    for b in results:
        share = best[b]["prefecture submission"] / best[b]["province upload"]
        print(
            f"{b}: prefecture submission ({args.rows:,} rows) / province upload "
            f"({args.facilities:,} rows) = {share:.2f}; read {args.facilities:,} rows "
            f"{best[b]['read province']:.2f} s; setup {results[b]['setup_s']:.1f} s; "
            f"{results[b]['versions']} versions at the end"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facilities", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["gpkg", "postgis"])
    args = parser.parse_args(argv)

    import pg_server

    counties = EmbeddedSource().counties()
    frames = {
        "province": facility_rows(counties, args.facilities, seed=0, prefix="P"),
        "prefecture": facility_rows(
            counties[counties["prefecture_adcode"] == CHANGCHUN], args.rows, seed=1, prefix="C"
        ),
    }
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        users = accounts(Path(tmp))
        for backend in args.backends:
            if backend == "gpkg":
                results[backend] = run_backend(Path(tmp) / "bench.gpkg", frames, users, args.repeat)
                continue
            server = pg_server.start(durable=True)
            try:
                results[backend] = run_backend(server.database("bench"), frames, users, args.repeat)
            finally:
                server.stop()
    report(results, args)
    out = ROOT / "bench" / "results" / "bench_store.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps(
            {"args": vars(args), "machine": platform.platform(), "results": results}, indent=1
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
