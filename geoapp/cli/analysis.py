"""``geoapp gaps``, ``progress``, ``access`` and ``site``: the analyses on the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geoapp import i18n
from geoapp.cli.common import (
    DEMAND_HELP,
    UsageError,
    _about_sheet,
    _add_input_options,
    _demand,
    _emit,
    _load_inputs,
    _positive,
    _resolve_area,
    _write_import_reports,
)


def _cmd_gaps(args: argparse.Namespace) -> int:
    from geoapp.analysis import reports

    inp = _load_inputs(args)
    _write_import_reports(inp.imports, args.out, strict=args.strict)
    sources = inp.sources
    reading = "broad" if args.include_districts else "literal"
    pref_code, county_code = _resolve_area(args, inp.registry, inp.province)
    # The dashboard's download buttons go through the same two calls: same options, same file.
    try:
        gaps = reports.build_gap_list(
            inp.source,
            policy=inp.policy,
            reading=reading,
            prefecture=pref_code,
            county=county_code,
            all_rows=args.all,
            facilities=(inp.facilities, sources[0]) if args.facilities else None,
            unemployed=(inp.unemployed, sources[1]) if args.unemployed else None,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    data = reports.gap_list_file(gaps, args.format, source=inp.source, lang=args.lang)
    prov = gaps.result.provenance()
    note = i18n.t("cli.gaps_note", args.lang).format(
        policy=prov["policy_key"],
        region=prov["region"],
        rows=f"{len(gaps.rows):,}",
        reading=prov[f"reading_{args.lang}"],
        demo=i18n.t("cli.demo_suffix", args.lang) if gaps.demo else "",
    )
    _emit(data, args.out, binary=args.format != "csv")
    print(note, file=sys.stderr)
    if not inp.policy.rules:  # 盘锦's plan counts people only: say what it does set
        from geoapp.policy import COMPARISON_TABLE

        targets = "; ".join(
            f"{t.label} {COMPARISON_TABLE[t.comparison].sign}{t.value:,} {t.unit}"
            for t in inp.policy.people_targets
        )
        targets = targets or i18n.t("cli.none", args.lang)
        text = i18n.t("cli.no_rules", args.lang).format(policy=inp.policy.key, targets=targets)
        print(text, file=sys.stderr)
    return 0


def _cmd_progress(args: argparse.Namespace) -> int:
    from geoapp.analysis import coverage, reports

    inp = _load_inputs(args)
    _write_import_reports(inp.imports, args.out, strict=args.strict)
    sources = inp.sources
    try:
        result = coverage.compute_gaps(
            inp.policy, counties=inp.counties, facilities=inp.facilities, unemployed=inp.unemployed
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if args.format == "text":
        text = reports.progress_text(result, lang=args.lang)
        if inp.demo:
            text += "\n(" + ("演示数据" if args.lang == "zh" else "demo data") + ")"
        _emit((text + "\n").encode("utf-8"), args.out, binary=False)
        return 0
    data = reports.progress_file(
        result,
        args.format,
        as_of=inp.info.data_date,
        demo=inp.demo,
        sources=sources,
        lang=args.lang,
    )
    _emit(data, args.out, binary=args.format != "csv")
    return 0


def _cmd_access(args: argparse.Namespace) -> int:
    from geoapp import export
    from geoapp.analysis import access, siting
    from geoapp.facilities import FACILITY_TYPES

    inp = _load_inputs(args)
    _write_import_reports(inp.imports, args.out, strict=args.strict)
    sources = inp.sources
    for name, value in (
        ("--radius-km", args.radius_km),
        ("--cell-km", args.cell_km),
        ("--circuity", args.circuity),
    ):
        _positive(name, value)
    types = FACILITY_TYPES if args.type == "all" else (args.type,)
    pref_code, county_code = _resolve_area(args, inp.registry, inp.province)
    demand, sources = _demand(
        args, inp.counties, inp.registry, inp.province, inp.unemployed, sources
    )
    try:
        table = access.county_access(
            demand,
            inp.facilities,
            inp.counties,
            radius_km=args.radius_km,
            circuity=args.circuity,
            facility_types=types,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    prefecture_of = inp.counties.set_index("adcode")["prefecture_adcode"]
    if pref_code:
        table = table[table["adcode"].map(prefecture_of) == pref_code]
    if county_code:
        table = table[table["adcode"] == county_code]
    table = table.reset_index(drop=True).round(
        {
            "people": 1,
            "within_radius": 1,
            "share_within": 4,
            "mean_km": 2,
            "p90_km": 2,
            "fca_per_10k": 4,
        }
    )
    assumption = (
        access.DEMAND_ASSUMPTION[args.lang].format(cell_km=args.cell_km)
        if args.demand is None
        else siting.demand_assumption(demand, args.lang)
    )
    if args.format == "csv":
        data = export.to_bytes("csv", table)
    elif args.format == "xlsx":
        meta = _about_sheet(
            {
                "assumption": assumption,
                "radius_km": args.radius_km,
                "circuity": args.circuity,
                "2SFCA": "supply 1 per facility, catchment = radius (PySAL access two_stage_fca); "
                "county value = demand-weighted mean of its points, per 10,000 people",
                "sources": "; ".join(sources),
                "demo data": "yes" if inp.demo else "no",
                "as of": inp.info.data_date,
            }
        )
        data = export.to_bytes(
            "xlsx", table, headers={}, meta=meta, sheet_name="access", meta_sheet_name="about"
        )
    else:
        layer = inp.source.display_layer("counties")[["adcode", "geometry"]]
        data = export.to_bytes("geojson", layer.merge(table, on="adcode", how="inner"))
    _emit(data, args.out, binary=args.format != "csv")
    demo = i18n.t("cli.demo_suffix", args.lang) if inp.demo else ""
    note = i18n.t("cli.access_note", args.lang)
    print(note.format(rows=f"{len(table):,}", assumption=assumption, demo=demo), file=sys.stderr)
    return 0


def _cmd_site(args: argparse.Namespace) -> int:
    from geoapp.analysis import siting

    inp = _load_inputs(args)
    _write_import_reports(inp.imports, args.out, strict=args.strict)
    sources = inp.sources
    for name, value in (
        ("--radius-km", args.radius_km),
        ("--cell-km", args.cell_km),
        ("--circuity", args.circuity),
    ):
        _positive(name, value)
    reading = "broad" if args.include_districts else "literal"
    demand, sources = _demand(
        args, inp.counties, inp.registry, inp.province, inp.unemployed, sources
    )
    try:
        cands = siting.candidates(
            args.candidates, counties=inp.counties, demand=demand, cell_km=args.candidate_km or None
        )
        result = siting.suggest_sites(
            args.type,
            args.k,
            radius_km=args.radius_km,
            policy=inp.policy,
            counties=inp.counties,
            facilities=inp.facilities,
            unemployed=inp.unemployed,
            demand=demand,
            candidates=cands,
            reading=reading,
            circuity=args.circuity,
        )
    except ValueError as exc:  # SitingError included
        raise UsageError(str(exc)) from exc
    summary = result.summary
    # The dashboard's download buttons call the same function: same options, same bytes.
    data = siting.site_file(result, args.format, lang=args.lang, sources=sources, demo=inp.demo)
    _emit(data, args.out, binary=args.format != "csv")
    for note in result.warnings:
        print(f"geoapp: warning: {note.text(args.lang)}", file=sys.stderr)
    print(
        f"{summary['facility_type']}, k={summary['k']}, {summary['radius_km']:g} km: covered "
        f"{summary['covered_before']:,.0f} -> {summary['covered_after']:,.0f} of "
        f"{summary['people_total']:,.0f} (greedy {summary['covered_after_greedy']:,.0f}); "
        f"mandatory gaps closed {summary['gaps_closed']}/{summary['mandatory_gaps']}; "
        f"solver {summary['solver']}; {summary['runtime_s']:.1f} s"
        + ("; demo data" if inp.demo else ""),
        file=sys.stderr,
    )
    print(result.assumptions[args.lang][0], file=sys.stderr)
    return 0


def add_parsers(sub) -> None:
    """``gaps``, ``progress``, ``access`` and ``site``."""
    g = sub.add_parser("gaps", help="coverage gaps against a policy")
    _add_input_options(g)
    g.add_argument("--city", help="only this prefecture-level unit (name or code)")
    g.add_argument("--county", help="only this county-level unit (name or code)")
    g.add_argument(
        "--include-districts",
        action="store_true",
        help="broad reading: 各县（市） includes city districts (default: literal, excludes them)",
    )
    g.add_argument("--all", action="store_true", help="every rule and unit, not only shortfalls")
    g.add_argument("--format", choices=("csv", "xlsx", "geojson", "gpkg"), default="csv")
    g.set_defaults(func=_cmd_gaps)

    pr = sub.add_parser("progress", help="region-wide targets: actual against target")
    _add_input_options(pr)
    pr.add_argument("--format", choices=("text", "csv", "xlsx"), default="text")
    pr.set_defaults(func=_cmd_progress)

    from geoapp.facilities import FACILITY_TYPES

    ac = sub.add_parser("access", help="distance to the nearest facility and 2SFCA, per county")
    _add_input_options(ac)
    ac.add_argument("--type", choices=("all", *FACILITY_TYPES), default="all")
    ac.add_argument(
        "--radius-km",
        type=float,
        default=30.0,
        help="'within reach' and the 2SFCA catchment, km (default 30)",
    )
    ac.add_argument(
        "--cell-km", type=float, default=5.0, help="demand grid spacing, km (default 5)"
    )
    ac.add_argument("--demand", type=Path, help=DEMAND_HELP)
    ac.add_argument(
        "--circuity",
        type=float,
        default=1.0,
        help="road / straight-line distance factor (default 1.0)",
    )
    ac.add_argument("--city", help="only this prefecture-level unit (name or code)")
    ac.add_argument("--county", help="only this county-level unit (name or code)")
    ac.add_argument("--format", choices=("csv", "xlsx", "geojson"), default="csv")
    ac.set_defaults(func=_cmd_access)

    si = sub.add_parser("site", help="suggest sites for new facilities (gaps first, then coverage)")
    _add_input_options(si)
    si.add_argument("--type", choices=FACILITY_TYPES, required=True)
    si.add_argument("--k", type=int, required=True, help="number of new sites")
    si.add_argument("--radius-km", type=float, required=True, help="service radius, km")
    si.add_argument(
        "--candidates",
        choices=("seats", "grid", "both"),
        default="both",
        help="candidate sites: county seats, grid cells or both (default)",
    )
    si.add_argument(
        "--candidate-km",
        type=float,
        default=20.0,
        help="spacing of grid candidates, km (default 20; 0 = every demand cell)",
    )
    si.add_argument(
        "--cell-km", type=float, default=5.0, help="demand grid spacing, km (default 5)"
    )
    si.add_argument("--demand", type=Path, help=DEMAND_HELP)
    si.add_argument("--circuity", type=float, default=1.0)
    si.add_argument(
        "--include-districts",
        action="store_true",
        help="broad reading of 各县（市） for the mandatory gaps",
    )
    si.add_argument("--format", choices=("csv", "xlsx", "geojson"), default="csv")
    si.set_defaults(func=_cmd_site)
