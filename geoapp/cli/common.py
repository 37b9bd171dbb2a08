"""What the commands share: the usage error, input options and loading, writing output."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from geoapp.coords import DATUMS


def say(key: str, lang: str, *, err: bool = False, **params) -> None:
    """Print the label ``key`` of the i18n table in ``lang``, filled with ``params``
    (on stderr when ``err``): a command's lines in its ``--lang``."""
    from geoapp.i18n import t

    print(t(key, lang).format(**params), file=sys.stderr if err else sys.stdout)


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


def _region(args: argparse.Namespace) -> str:
    """The adcode of the built region ``--region`` names (adcode or name; default 220000).

    Refused in the command's ``--lang``; a command without one (``run``, ``data``,
    ``resolve``) prints English, so its refusal is English too."""
    from geoapp import regions, scope
    from geoapp.i18n import t
    from geoapp.ingest import problem_text

    try:
        return scope.find_region(getattr(args, "region", None) or regions.DEFAULT_REGION)
    except scope.RegionError as exc:
        lang = getattr(args, "lang", None) or "en"
        msg = t("cli.bad_region", lang).format(detail=problem_text(exc, lang))
        raise UsageError(msg) from exc


def _region_policy(args: argparse.Namespace, region: str):
    """The policy of ``--policy`` (default: the region's own), refused when it is about
    another region; a note on stderr when the region is only part of the policy's."""
    from geoapp import policy, scope

    name = scope.region_names().get(region, region)
    key = args.policy or scope.default_policy(region)
    if key is None:
        msg = f"no shipped policy names region {region} {name}; give --policy FILE.toml"
        raise UsageError(msg)
    try:
        pol = policy.load_policy(key)
        note = scope.check_policy_region(pol, region, name)
    except ValueError as exc:  # PolicyError and PolicyRegionError included
        raise UsageError(str(exc)) from exc
    if note:
        print(f"geoapp: note: {note}", file=sys.stderr)
    return pol


def _say_what_is_missing(info, facilities, unemployed, *, given: set[str]) -> None:
    """A region that started empty: say on stderr which data the results lack."""
    where = f"region {info.region_adcode} {info.region_name}"
    if facilities.empty and "facilities" not in given:
        print(
            f"geoapp: note: {where} has no facilities yet: give --facilities PATH or import "
            f"a register (geoapp store import --region {info.region_adcode} ...)",
            file=sys.stderr,
        )
    if unemployed.empty and "unemployed" not in given:
        print(
            f"geoapp: note: {where} has no unemployed-disabled counts: demand columns stay "
            "empty (give --unemployed PATH)",
            file=sys.stderr,
        )


def _load_inputs(args: argparse.Namespace) -> _Inputs:
    """Policy, counties, facilities and counts for gaps/progress/access/site, with import reports."""
    from geoapp import admin, datasource, ingest

    region = _region(args)
    pol = _region_policy(args, region)
    source = _ReadOnce(datasource.default_source(region))
    counties = source.counties()
    info = source.info()
    registry = admin.AdminRegistry.default(counties=counties)
    # Names in registers resolve within the region's province (盘锦市 -> 辽宁省).
    province = str(source.province()["name"].iloc[0])
    reports, sources = [], []
    demo = info.facilities_demo
    if args.facilities:
        imp = _read_register(
            ingest.read_facilities,
            args.facilities,
            args,
            counties=counties,
            registry=registry,
            province=province,
            default_datum=args.datum,
        )
        facilities, demo = imp.facilities, False
        reports.append(("facilities", imp))
        sources.append(str(args.facilities))
    else:
        facilities = source.facilities()
        sources.append(
            "embedded demo facilities"
            if demo
            else "no facilities yet"
            if facilities.empty
            else "stored facilities"
        )
    unemployed_demo = info.unemployed_demo
    if args.unemployed:
        imp = _read_register(
            ingest.read_unemployed,
            args.unemployed,
            args,
            counties=counties,
            registry=registry,
            province=province,
        )
        unemployed, unemployed_demo = imp.counts, False
        reports.append(("unemployed", imp))
        sources.append(str(args.unemployed))
    else:
        unemployed = source.unemployed()
        sources.append(
            "embedded demo unemployed-disabled estimate"
            if unemployed_demo
            else "no unemployed-disabled counts yet"
            if unemployed.empty
            else "stored counts"
        )
    given = {kind for kind, _ in reports}
    _say_what_is_missing(info, facilities, unemployed, given=given)
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


class _ReadOnce:
    """A data source whose boundaries and description are read once per command.

    A command asks for the counties and the source's description while loading its
    inputs and again for its output (the gap list); each read of the region's
    GeoPackage costs a tenth of a second. Each call still gets its own copy of the
    counties. Everything else is the source's own.
    """

    def __init__(self, source: Any) -> None:
        self._source = source
        self._read: dict[str, Any] = {}

    def _once(self, what: str) -> Any:
        if what not in self._read:
            self._read[what] = getattr(self._source, what)()
        return self._read[what]

    def counties(self) -> Any:
        return self._once("counties").copy()

    def province(self) -> Any:
        return self._once("province").copy()

    def info(self) -> Any:
        return self._once("info")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._source, name)

    def __repr__(self) -> str:
        return repr(self._source)


def _read_register(reader, path, args: argparse.Namespace, **options):
    """``reader(path, ...)`` in the language of ``--lang``; an unusable file is a
    :class:`UsageError` (exit 2) saying why in that language."""
    from geoapp import ingest

    lang = getattr(args, "lang", "zh")
    try:
        return reader(path, lang=lang, **options)
    except (ingest.RegisterError, OSError) as exc:
        raise UsageError(ingest.problem_text(exc, lang)) from exc


def _write_import_reports(reports, out: Path | None, *, strict: bool) -> None:
    """Each import's summary on stderr, and its row report (in the import's language)
    beside ``out``, or its rows that were not accepted on stderr when there is no ``out``."""
    from geoapp import export, i18n
    from geoapp.analysis import preview

    for kind, imp in reports:
        print(imp.summary(), file=sys.stderr)
        if out is not None:
            path = out.with_name(f"{out.stem}.{kind}-import-report.csv")
            export.to_csv(preview.report_table(imp.report, imp.lang), path)
            print(i18n.t("cli.import_report", imp.lang).format(path=path), file=sys.stderr)
        else:
            line = i18n.t("cli.report_row", imp.lang)
            bad = imp.report[imp.report["status"] != "accepted"]
            for r in bad.itertuples(index=False):
                status = i18n.t(f"row_status.{r.status}", imp.lang)
                print(line.format(row=r.row, status=status, reasons=r.reasons), file=sys.stderr)
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
    imp = _read_register(
        ingest.read_demand,
        args.demand,
        args,
        counties=counties,
        registry=registry,
        province=province,
        default_datum=args.datum,
    )
    _write_import_reports([("demand", imp)], args.out, strict=args.strict)
    if imp.demand.empty or imp.demand["demand"].sum() <= 0:
        raise UsageError(f"{args.demand}: no usable demand point (every row rejected or 0 people)")
    return imp.demand, [*sources, str(args.demand)]


def _emit(data: bytes, out: Path | None, *, binary: bool) -> None:
    """Write to ``out`` atomically, or to stdout (refusing binary on a terminal).

    ``out``'s folder was checked before the command's work (:func:`geoapp.cli.main`)."""
    if out is None:
        if binary and sys.stdout.isatty():
            raise UsageError("this format is binary: give --out PATH")
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    print(f"wrote {out}", file=sys.stderr)


#: ``--lang`` of the commands that print for a person: Chinese unless English is asked for.
LANG_OPTION = {"choices": ("zh", "en"), "default": "zh", "help": "language of the output"}

REGION_HELP = "a built region: adcode or full name, e.g. 211100 or 盘锦市 (default: 220000 吉林省)"


def _add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--region", help=REGION_HELP)
    p.add_argument(
        "--policy",
        help="policy name under data/policies, or a file path (default: the region's own, "
        "jilin-2025-2027 for 吉林省); a policy of another region is refused",
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
