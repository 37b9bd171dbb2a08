"""What the commands share: the usage error, input options and loading, writing output."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geoapp.coords import DATUMS


class UsageError(Exception):
    """Input the command cannot use at all: reported on stderr with exit code 2."""


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
    province = (
        info.region_name
        if len(info.region_adcode) == 6 and info.region_adcode.endswith("0000")
        else None
    )
    reports, sources = [], []
    facilities, demo = source.facilities(), info.facilities_demo
    if args.facilities:
        try:
            imp = ingest.read_facilities(
                args.facilities,
                counties=counties,
                registry=registry,
                province=province,
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
        sources.append(
            "embedded demo unemployed-disabled estimate" if unemployed_demo else "embedded counts"
        )
    return _Inputs(
        pol,
        source,
        counties,
        registry,
        province,
        facilities,
        unemployed,
        demo or unemployed_demo,
        reports,
        sources,
        info,
    )


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


def _resolve_area(args: argparse.Namespace, registry, province):
    from geoapp import admin

    pref_code = county_code = None
    try:
        if args.city:
            pref_code = registry.resolve(args.city, province=province, level="prefecture").adcode
        if args.county:
            county_code = registry.resolve(
                args.county, prefecture=args.city, province=province
            ).adcode
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
        imp = ingest.read_demand(
            args.demand,
            counties=counties,
            registry=registry,
            province=province,
            default_datum=args.datum,
        )
    except (ingest.RegisterError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    _write_import_reports([("demand", imp)], args.out, strict=args.strict)
    if imp.demand.empty or imp.demand["demand"].sum() <= 0:
        raise UsageError(f"{args.demand}: no usable demand point (every row rejected or 0 people)")
    return imp.demand, [*sources, str(args.demand)]


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
    p.add_argument(
        "--policy",
        default="jilin-2025-2027",
        help="policy name under data/policies, or a file path",
    )
    p.add_argument(
        "--facilities", type=Path, help="facility register (CSV or XLSX); default: embedded data"
    )
    p.add_argument(
        "--unemployed",
        type=Path,
        help="unemployed-disabled counts (CSV or XLSX); default: embedded",
    )
    p.add_argument(
        "--datum",
        choices=DATUMS,
        default="wgs84",
        help="datum of register coordinates without a 坐标系 column (default wgs84)",
    )
    p.add_argument(
        "--strict", action="store_true", help="fail (exit 2) if any register row is rejected"
    )
    p.add_argument(
        "--lang", choices=("zh", "en"), default="zh", help="labels of XLSX and text output"
    )
    p.add_argument("--out", type=Path, help="output file; default: standard output")


DEMAND_HELP = (
    "demand points (CSV or XLSX: 名称/name, 人数/demand, 经度/纬度 or lon/lat, "
    "optional 坐标系/datum) instead of the default county grid"
)


def _path(text: str) -> Path:
    return Path(text)
