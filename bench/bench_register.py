"""Benchmark: read and validate a messy 10,000-row facility register.

Writes, into a temporary directory, a register as provincial offices send them: a title
row, a two-row header with 坐标 merged over 经度/纬度, city cells merged down, short county
forms, development zones with coordinates, swapped lon/lat, degrees-minutes text, GCJ-02
and BD-09 rows, duplicates, blank rows, address-only rows, unknown types, points outside
the region. The same rows are also written as a GBK CSV. Then it times
``ingest.read_facilities`` against a bare ``pandas.read_excel`` / ``read_csv`` of the
same file, in the same process, and measures peak traced memory (tracemalloc, which
numpy and pandas report to) in a separate pass so tracing does not slow the timings.

Run from the repository root::

    python bench/bench_register.py [--rows 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geoapp import coords, ingest
from geoapp.admin import AdminRegistry
from geoapp.datasource import default_source

TYPES = {
    "incubation_base": ["残疾人创业孵化基地", "孵化基地", "网络创业孵化基地", "incubation_base"],
    "rural_help_base": ["就业（扶贫）基地", "扶贫基地", "农村残疾人就业帮扶基地"],
    "massage_institution": ["盲人按摩", "保健按摩", "盲人医疗按摩所"],
    "auxiliary_institution": ["阳光家园", "残疾人之家", "辅助性就业机构"],
    "vocational_school": ["特殊教育学校", "职业学校"],
    "beautiful_workshop": ["美丽工坊", "巾帼美丽工坊"],
}
SHORT = {
    "长白朝鲜族自治县": "长白县",
    "前郭尔罗斯蒙古族自治县": "前郭县",
    "伊通满族自治县": "伊通县",
    "公主岭市": "公主岭",
    "九台区": "九台市",
}
ZONES = ["经开区", "净月", "高新区", "汽开区", "长春经开区"]  # all in 长春市
HEADER_TOP = [
    "序号",
    "名称",
    "类型",
    "市（州）",
    "县（市、区）",
    "地址",
    "坐标",
    None,
    "坐标系",
    "备注",
]
HEADER_SUB = [None] * 6 + ["经度", "纬度", None, None]


def dms_text(value: float) -> str:
    deg = int(value)
    minutes_full = (value - deg) * 60
    minutes = int(minutes_full)
    return f"{deg}°{minutes}'{(minutes_full - minutes) * 60:.2f}\""


def make_rows(counties, n: int, seed: int = 7) -> list[list]:
    """``n`` data rows of a messy register (10 columns, as HEADER_TOP)."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(counties), n)
    points = counties.geometry.sample_points(size=int(np.ceil(n / len(counties))) + 2, rng=seed)
    pools = {i: list(points.iloc[i].geoms) for i in range(len(counties))}
    changchun = np.flatnonzero(counties["prefecture"].to_numpy() == "长春市")
    rows: list[list] = []
    types = list(TYPES)
    for i in range(n):
        k = int(pick[i])
        county = counties.iloc[k]
        p = pools[k][i % len(pools[k])]
        lon, lat = round(p.x, 6), round(p.y, 6)
        key = types[int(rng.integers(0, len(types)))]
        type_text = TYPES[key][int(rng.integers(0, len(TYPES[key])))]
        name = (
            f"{county['name']}{type_text}（第{i}号）"
            if rng.random() < 0.5
            else f"{county['name']}　{type_text}{i}"
        )  # full-width brackets and spaces
        city, county_name = county["prefecture"], SHORT.get(county["name"], county["name"])
        address, datum, note = None, None, None
        r = rng.random()
        if r < 0.05:  # development zone named as the county; point in a 长春 district
            k = int(changchun[int(rng.integers(0, len(changchun)))])
            p = pools[k][i % len(pools[k])]
            lon, lat = round(p.x, 6), round(p.y, 6)
            city, county_name = "长春市", ZONES[i % len(ZONES)]
        elif r < 0.07:
            lon, lat = lat, lon  # swapped
        elif r < 0.10:
            lon, lat = dms_text(lon), dms_text(lat)  # degrees-minutes-seconds text
        elif r < 0.20:
            g = coords.wgs84_to_gcj02(lon, lat)
            lon, lat, datum = round(float(g[0]), 6), round(float(g[1]), 6), "高德"
        elif r < 0.22:
            b = coords.wgs84_to_bd09(lon, lat)
            lon, lat, datum = round(float(b[0]), 6), round(float(b[1]), 6), "百度"
        elif r < 0.24:  # address only
            address = f"吉林省{county['prefecture']}{county['name']}人民大街{i}号"
            lon = lat = city = county_name = None
        elif r < 0.25:
            type_text = "就业基地"  # unknown type
        elif r < 0.255:
            lon, lat = 116.397 + rng.random(), 39.909  # outside the region
        elif r < 0.27:
            datum = "WGS84"
            note = "示范"
        rows.append([i + 1, name, type_text, city, county_name, address, lon, lat, datum, note])
        if rng.random() < 0.03 and isinstance(lon, float):  # a duplicate ~30 m away
            rows.append(
                [
                    i + 1,
                    name,
                    type_text,
                    city,
                    county_name,
                    address,
                    round(lon + 0.0003, 6),
                    lat,
                    datum,
                    "重复录入",
                ]
            )
        if rng.random() < 0.01:
            rows.append([None] * 10)
    return rows[:n]


def write_xlsx(path: Path, rows: list[list]) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "登记表"
    ws.append(["2025年第三季度残疾人就业服务机构登记表"])
    ws.append(HEADER_TOP)
    ws.append(HEADER_SUB)
    for row in rows:
        ws.append(row)
    ws.merge_cells("A1:J1")
    ws.merge_cells("G2:H2")
    for col in "ABCDEFIJ":
        ws.merge_cells(f"{col}2:{col}3")
    # merge the city down over runs of equal cities, as stewards do
    first = 4
    for r in range(5, len(rows) + 5):
        prev, cur = ws.cell(r - 1, 4).value, ws.cell(r, 4).value if r < len(rows) + 4 else None
        if cur != prev or r - first >= 3:
            if r - 1 > first and prev is not None:
                ws.merge_cells(start_row=first, start_column=4, end_row=r - 1, end_column=4)
            first = r
    wb.save(path)


def write_csv(path: Path, rows: list[list]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([h or "" for h in HEADER_TOP[:6]] + ["经度", "纬度", "坐标系", "备注"])
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    path.write_bytes(buffer.getvalue().encode("gbk"))


def measure(fn: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """(first call s, best of ``repeat`` s, peak traced MB of one more call)."""
    gc.collect()
    t = time.perf_counter()
    fn()
    cold = time.perf_counter() - t
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return cold, best, peak / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    import pandas as pd

    counties = default_source().counties()
    registry = AdminRegistry.default(counties=counties)
    with tempfile.TemporaryDirectory() as tmp:
        xlsx, gbk = Path(tmp) / "register.xlsx", Path(tmp) / "register.csv"
        t = time.perf_counter()
        rows = make_rows(counties, args.rows)
        write_xlsx(xlsx, rows)
        write_csv(gbk, rows)
        print(
            f"wrote {len(rows):,} data rows to {xlsx.name} ({xlsx.stat().st_size / 2**20:.1f} MB) "
            f"and {gbk.name} ({gbk.stat().st_size / 2**20:.1f} MB) in "
            f"{time.perf_counter() - t:.1f} s"
        )

        cases = {
            "pandas.read_excel (bare)": lambda: pd.read_excel(xlsx, header=None),
            "read_facilities xlsx": lambda: ingest.read_facilities(
                xlsx, counties=counties, registry=registry
            ),
            "read_facilities xlsx, new registry": lambda: ingest.read_facilities(
                xlsx, counties=counties
            ),
            "pandas.read_csv gb18030 (bare)": lambda: pd.read_csv(
                gbk, encoding="gb18030", header=None
            ),
            "read_facilities csv (GBK)": lambda: ingest.read_facilities(
                gbk, counties=counties, registry=registry
            ),
        }
        results = {name: measure(fn, args.repeat) for name, fn in cases.items()}
        result = ingest.read_facilities(xlsx, counties=counties, registry=registry)

    width = max(map(len, results))
    print(f"\n{'':{width}}  {'first s':>8}  {'best s':>8}  {'peak MB':>8}")
    for name, (cold, best, peak) in results.items():
        print(f"{name:{width}}  {cold:8.2f}  {best:8.2f}  {peak:8.1f}")
    base = results["pandas.read_excel (bare)"][1]
    print(
        f"\nread_facilities / read_excel (xlsx, best): {results['read_facilities xlsx'][1] / base:.2f}x"
    )
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print()
    print(result.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
