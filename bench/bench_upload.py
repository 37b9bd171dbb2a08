"""Benchmark: a 10,000-row messy XLSX register from upload to a new store version.

Writes the messy register of ``bench/bench_register.py`` (its generator is reused) into
a temporary folder, opens a fresh store there (from the embedded demo data) and times,
per stage, as the dashboard's upload runs them:

1. ``store.check_upload``: size, kind, zip-bomb and external-link checks (no parsing);
2. ``ingest.read_facilities``: parse and validate the workbook;
3. ``Store.add_facilities``: write the version (one transaction) and make it current;

then ``Store.upload`` (all three in one call, as the dashboard calls it), reading the
new version back, and a bare ``pandas.read_excel`` of the same file for comparison.
Times are the first call and the best of ``--repeat``; peak memory is traced
(tracemalloc, which numpy and pandas report to) in a separate call so tracing does not
slow the timings. Nothing is written outside the temporary folder.

Run from the repository root::

    python bench/bench_upload.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_register import make_rows, measure, write_xlsx

from geoapp import auth, ingest, store
from geoapp.admin import AdminRegistry
from geoapp.datasource import EmbeddedSource

PASSWORD = "benchmark password"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    import pandas as pd

    counties = EmbeddedSource().counties()
    registry = AdminRegistry.default(counties=counties)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        xlsx = folder / "register.xlsx"
        t = time.perf_counter()
        write_xlsx(xlsx, make_rows(counties, args.rows))
        data = xlsx.read_bytes()
        print(
            f"wrote {args.rows:,} rows to {xlsx.name} ({len(data) / 2**20:.1f} MiB) in "
            f"{time.perf_counter() - t:.1f} s"
        )

        auth.add_user("bench", PASSWORD, role="steward", path=folder / "accounts.toml")
        user = auth.verify("bench", PASSWORD, path=folder / "accounts.toml")
        t = time.perf_counter()
        st = store.Store.open(folder / "bench.gpkg", seed=EmbeddedSource())
        print(f"new store from the demo data in {time.perf_counter() - t:.2f} s")

        imported = ingest.read_facilities(
            _named(data, xlsx.name), counties=counties, registry=registry
        )
        frame = imported.facilities

        def add() -> int:
            return st.add_facilities(
                frame,
                as_of="2025-12-31",
                user=user,
                file_name=xlsx.name,
                file_bytes=data,
                accepted=imported.accepted,
                flagged=imported.flagged,
                rejected=imported.rejected,
            )

        def upload() -> store.UploadResult:
            return st.upload(
                data,
                file_name=xlsx.name,
                dataset="facilities",
                as_of="2025-12-31",
                user=user,
                counties=counties,
                registry=registry,
            )

        cases = {
            "1 check_upload": lambda: store.check_upload(xlsx.name, data),
            "2 read_facilities": lambda: ingest.read_facilities(
                _named(data, xlsx.name), counties=counties, registry=registry
            ),
            "3 add_facilities (write version)": add,
            "  Store.upload (1+2+3)": upload,
            "  read the version back": lambda: st.facilities(),
            "pandas.read_excel (bare)": lambda: pd.read_excel(xlsx, header=None),
        }
        results = {name: measure(fn, args.repeat) for name, fn in cases.items()}
        versions = st.versions("facilities")
        size = (folder / "bench.gpkg").stat().st_size

    width = max(map(len, results))
    print(f"\n{'stage':{width}}  {'first s':>8}  {'best s':>8}  {'peak MB':>8}")
    for name, (cold, best, peak) in results.items():
        print(f"{name:{width}}  {cold:8.3f}  {best:8.3f}  {peak:8.1f}")
    staged = sum(results[k][1] for k in list(results)[:3])
    base = results["pandas.read_excel (bare)"][1]
    print(f"\nstages 1-3 (best): {staged:.2f} s = {staged / base:.2f}x a bare read_excel")
    print(
        f"{len(frame):,} facilities per version ({imported.accepted:,} accepted, "
        f"{imported.flagged:,} flagged, {imported.rejected:,} rejected); "
        f"{len(versions)} versions in a {size / 2**20:.1f} MiB store"
    )
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return 0


def _named(data: bytes, name: str):
    """The bytes as an uploaded file: a buffer with the user's name as a label."""
    import io

    buffer = io.BytesIO(data)
    buffer.name = name
    return buffer


if __name__ == "__main__":
    sys.exit(main())
