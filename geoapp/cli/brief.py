"""``geoapp brief``: the two-page A4 PDF of a region against a policy, for meetings."""

from __future__ import annotations

import argparse
import sys

from geoapp.cli.common import (
    UsageError,
    _add_input_options,
    _emit,
    _load_inputs,
    _write_import_reports,
)


def _check_names(args: argparse.Namespace) -> None:
    """``--region`` and ``--policy`` that name nothing, refused in the brief's language."""
    from geoapp import i18n, policy, scope

    lang = args.lang
    sep = i18n.t("brief.list_sep", lang)
    if args.region is not None:
        try:
            scope.find_region(args.region)
        except scope.RegionError as exc:
            built = sep.join(f"{code} {name}" for code, name in scope.region_names().items())
            msg = i18n.t("brief.bad_region", lang).format(value=args.region[:40], built=built)
            raise UsageError(msg) from exc
    if args.policy is not None:
        try:
            policy.policy_path(args.policy)
        except ValueError as exc:
            available = sep.join(policy.list_policies())
            msg = i18n.t("brief.bad_policy", lang).format(
                value=args.policy[:80], available=available
            )
            raise UsageError(msg) from exc


def _cmd_brief(args: argparse.Namespace) -> int:
    from geoapp import brief, i18n
    from geoapp.analysis import reports
    from geoapp.analysis.gap_marks import gap_headline, gap_marks

    lang = args.lang
    _check_names(args)
    try:
        # a malformed policy file, a policy of another region, an unusable register ...
        inp = _load_inputs(args)
        _write_import_reports(inp.imports, args.out, strict=args.strict)
    except UsageError as exc:
        raise UsageError(i18n.t("brief.bad_input", lang).format(detail=exc)) from exc
    # The same gap list as ``geoapp gaps`` and the dashboard build for these options.
    try:
        gaps = reports.build_gap_list(
            inp.source,
            policy=inp.policy,
            reading="broad" if args.include_districts else "literal",
            facilities=(inp.facilities, inp.sources[0]) if args.facilities else None,
            unemployed=(inp.unemployed, inp.sources[1]) if args.unemployed else None,
        )
        data = brief.brief_file(gaps, source=inp.source, policy=inp.policy, lang=lang)
    except brief.BriefFontError as exc:
        raise UsageError(str(exc)) from exc
    except ValueError as exc:
        raise UsageError(i18n.t("brief.bad_input", lang).format(detail=exc)) from exc
    _emit(data, args.out, binary=True)
    marks = gap_marks(gaps.result, "mandatory")
    print(gap_headline(marks, scope=inp.info.region_name, lang=lang), file=sys.stderr)
    return 0


def add_parsers(sub) -> None:
    """``brief``."""
    b = sub.add_parser(
        "brief",
        help="a two-page A4 PDF for meetings: the map of mandatory gaps, progress, top gaps",
    )
    _add_input_options(b)
    b.add_argument(
        "--include-districts",
        action="store_true",
        help="broad reading: 各县（市） includes city districts (default: literal, excludes them)",
    )
    b.set_defaults(func=_cmd_brief)
