"""``geoapp store submit|review|submissions|status``: area-scoped reporting from the shell.

县级填报、市级审核、省级汇总 as commands: a steward submits a register for an area and a
quarter, a reviewer of the area above approves or returns it, and anyone can see the
submissions and who has reported for a period. Output in ``--lang`` (Chinese by
default); bad input, a refused permission or closures not confirmed are exit 2 with the
reason on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geoapp.cli.common import LANG_OPTION, UsageError, say
from geoapp.coords import DATUMS

_DATASETS = ("facilities", "unemployed")


def _refused(exc: BaseException, lang: str) -> UsageError:
    """The exit-2 error for a refusal of the store, the areas, the edits or the accounts,
    in ``lang`` (:func:`geoapp.ingest.problem_text`)."""
    from geoapp.ingest import problem_text

    return UsageError(problem_text(exc, lang))


def _files(args: argparse.Namespace) -> dict[str, tuple[str, bytes]]:
    """The registers given, read: dataset -> (file name, bytes); else a
    :class:`UsageError` in ``--lang``."""
    from geoapp.i18n import t

    given = [(d, p) for d, p in (("facilities", args.facilities), ("unemployed", args.unemployed))]
    given = [(d, p) for d, p in given if p]
    if not given:
        raise UsageError(t("cli.give_files", args.lang))
    for _, path in given:
        if not path.is_file():
            raise UsageError(t("cli.no_such_file", args.lang).format(path=path))
    try:
        return {d: (p.name, p.read_bytes()) for d, p in given}
    except OSError as exc:
        detail = f"{exc.filename}: {exc.strerror}" if exc.strerror else exc
        raise UsageError(t("cli.cannot_read_register", args.lang).format(detail=detail)) from exc


def _closures_refused(exc, st, area: str, lang: str) -> None:
    """List what a submission would close, and say how to confirm it."""
    name = st.area_tree().name(area)
    say("cli.closes", lang, err=True, n=exc.count, area_name=name)
    from geoapp.i18n import t

    shown = exc.closes.head(50)
    if "facility_type" in shown:
        shown = shown.assign(
            facility_type=[t(f"facility_type.{k}", lang) for k in shown["facility_type"]]
        )
    for row in shown.itertuples(index=False):
        print("  " + "  ".join(str(v) for v in row), file=sys.stderr)
    if exc.count > 50:
        print(f"  … {exc.count - 50:,}", file=sys.stderr)
    raise UsageError(t("cli.closes_confirm", lang).format(n=exc.count))


def _report_submission(st, sub, lang: str) -> None:
    from geoapp.i18n import t

    dataset = t(f"dataset.{sub.dataset}", lang)
    say(
        "cli.submitted", lang, id=sub.submission_id, area_name=sub.area_name, area=sub.area,
        period=sub.period, rows=f"{sub.rows:,}", dataset=dataset,
    )  # fmt: skip
    for row in sub.outside.itertuples(index=False):
        say(
            "cli.outside_row", lang, err=True, row=row.row if row.row is not None else "?",
            name=row.name, county=row.county or row.adcode, prefecture=row.prefecture,
            area_name=sub.area_name,
        )  # fmt: skip
    if sub.status == "pending":
        reviewer = st.area_tree().reviewer_area(sub.area)
        say(
            "cli.submission_pending", lang, reviewer=reviewer,
            reviewer_name=st.area_tree().name(reviewer),
        )  # fmt: skip
    else:
        say("cli.submission_current", lang, dataset=dataset, version=sub.version_id)


def _cmd_submit(args: argparse.Namespace) -> int:
    from geoapp import admin, datasource, store
    from geoapp.cli.session import _open_store, _sign_in
    from geoapp.store.areas import AreaError, Period
    from geoapp.store.errors import ConfirmationNeeded

    files = _files(args)
    try:
        period = Period.parse(args.period)
        as_of = store.parse_as_of(args.as_of) if args.as_of else period.as_of
    except (AreaError, ValueError) as exc:
        raise _refused(exc, args.lang) from exc
    st = _open_store(args)
    user = _sign_in(args)
    counties = datasource.EmbeddedSource(st.region).counties()
    confirm = (
        dict.fromkeys(files, args.confirm_closures) if args.confirm_closures is not None else None
    )
    try:
        area = st.area_tree().check(args.area or user.area or st.region)
        results = st.upload_many(
            files, as_of=as_of, user=user, counties=counties,
            registry=admin.AdminRegistry.default(counties=counties), default_datum=args.datum,
            note=args.note, lang=args.lang, area=area, period=period, confirm_closures=confirm,
        )  # fmt: skip
    except ConfirmationNeeded as exc:
        _closures_refused(exc, st, area, args.lang)
    except (PermissionError, AreaError, store.UploadError, store.StoreError) as exc:
        raise _refused(exc, args.lang) from exc
    status = 0
    for dataset, result in results.items():
        if result.submission is None:
            print(result.summary(args.lang), file=sys.stderr)
            raise UsageError(_not_submitted(files[dataset][0], result, args.lang))
        _report_submission(st, result.submission, args.lang)
    return status


def _not_submitted(file_name: str, result, lang: str) -> str:
    """Why a register made no submission, in ``lang``: another file of the import had no
    valid row (``withheld``), or this one had none."""
    from geoapp import provenance
    from geoapp.i18n import t

    if result.withheld:
        why = provenance.note_text(f"not stored: {result.withheld}.", lang)
    else:
        why = t("cli.no_valid_row", lang)
    return t("cli.not_submitted", lang).format(file=file_name, why=why)


def _cmd_review(args: argparse.Namespace) -> int:
    from geoapp import store
    from geoapp.cli.session import _open_store, _sign_in
    from geoapp.i18n import t

    st = _open_store(args)
    user = _sign_in(args)
    approve = args.decision == "approve"
    try:
        info = st.submissions().set_index("submission_id")
        if args.submission not in info.index:
            msg = f"no submission {args.submission}; see geoapp store submissions"
            missing = store.StoreError(msg, key="problem.store.no_submission", id=args.submission)
            raise _refused(missing, args.lang)
        version = st.review(args.submission, user=user, approve=approve, reason=args.reason)
    except (PermissionError, store.StoreError) as exc:
        raise _refused(exc, args.lang) from exc
    dataset = t(f"dataset.{info.loc[args.submission, 'dataset']}", args.lang)
    if approve:
        say("cli.approved", args.lang, id=args.submission, dataset=dataset, version=version)
    else:
        say("cli.returned", args.lang, id=args.submission, reason=args.reason)
    return 0


def _cmd_submissions(args: argparse.Namespace) -> int:
    from geoapp.cli.session import _open_store, _print_table
    from geoapp.i18n import t
    from geoapp.store.areas import AreaError

    st = _open_store(args)
    try:
        table = st.submissions(period=args.period, dataset=args.dataset)
    except AreaError as exc:
        raise _refused(exc, args.lang) from exc
    if table.empty:
        say("cli.no_submissions", args.lang)
        return 0
    tree = st.area_tree()
    table = table.assign(
        area=[f"{a} {tree.name(a)}" for a in table["area"]],
        dataset=[t(f"dataset.{d}", args.lang) for d in table["dataset"]],
        status=[t(f"submission_status.{s}", args.lang) for s in table["status"]],
        submitted_at=table["submitted_at"].str[:16],
        decided_by=table["decided_by"].fillna(""),  # nobody yet while it waits for review
    )
    columns = ["submission_id", "dataset", "area", "period", "submitted_by", "submitted_at"]
    _print_table(table[[*columns, "row_count", "closes", "status", "decided_by", "reason"]])
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from geoapp import settings
    from geoapp.cli.session import _open_store, _print_table
    from geoapp.store.areas import AreaError, Period
    from geoapp.store.status import reporting_rates, status_summary, status_table, status_workbook

    st = _open_store(args)
    try:
        period = Period.parse(args.period)
        status = st.reporting_status(period, dataset=args.dataset)
    except AreaError as exc:
        raise _refused(exc, args.lang) from exc
    rates = reporting_rates(status, st.area_tree())
    due = period.due(settings.DUE_DAYS)
    if args.out:
        try:
            status_workbook(
                status, rates, args.out, period=str(period), due=due, dataset=args.dataset,
                lang=args.lang,
            )  # fmt: skip
        except (OSError, ValueError) as exc:
            raise UsageError(f"{args.out}: {exc}") from exc
        print(args.out, file=sys.stderr)
    else:
        _print_table(status_table(status, args.lang))
    print(status_summary(rates, period=str(period), due=due, lang=args.lang))
    return 0


def _cmd_edit(args: argparse.Namespace) -> int:
    from geoapp import datasource, store
    from geoapp.cli.session import _open_store, _sign_in
    from geoapp.store.areas import AreaError, Period
    from geoapp.store.edits import Edit, EditError, apply_edit

    try:
        period = Period.parse(args.period)
    except AreaError as exc:
        raise _refused(exc, args.lang) from exc
    edit = Edit(
        args.action, facility_id=args.id or "", name=args.name or "",
        facility_type=args.type or "", lon=args.lon, lat=args.lat, address=args.address or "",
        closed_on=args.closed_on or "", reason=args.reason or "",
    )  # fmt: skip
    st = _open_store(args)
    user = _sign_in(args)
    counties = datasource.EmbeddedSource(st.region).counties()
    try:
        sub = apply_edit(st, edit, user=user, period=period, counties=counties)
    except (EditError, PermissionError, AreaError, store.StoreError) as exc:
        raise _refused(exc, args.lang) from exc
    _report_submission(st, sub, args.lang)
    return 0


def add_parsers(s_sub, common) -> None:
    """``store submit|review|submissions|status`` under ``geoapp store``."""
    lang = LANG_OPTION

    sb = s_sub.add_parser(
        "submit", help="submit a register for an area and a quarter (县级填报; reviewed above)"
    )
    sb.add_argument("--facilities", type=Path, help="facility register (.csv or .xlsx)")
    sb.add_argument("--unemployed", type=Path, help="unemployed-disabled counts (.csv or .xlsx)")
    sb.add_argument("--area", help="adcode of the area (default: the steward's own area)")
    sb.add_argument("--period", required=True, help="the quarter reported, e.g. 2026Q1")
    sb.add_argument("--as-of", help="the date the register describes (default: quarter end)")
    sb.add_argument(
        "--confirm-closures",
        type=int,
        metavar="N",
        help="confirm that the submission closes N current rows of the area it no longer lists",
    )
    sb.add_argument("--datum", choices=DATUMS, default="wgs84", help="datum of bare coordinates")
    sb.add_argument("--note", default="")
    sb.add_argument("--lang", **lang)
    common(sb, sign_in=True)
    sb.set_defaults(func=_cmd_submit)

    rv = s_sub.add_parser("review", help="approve or return a pending submission (reviewers)")
    rv.add_argument("decision", choices=("approve", "return"))
    rv.add_argument("submission", type=int, help="the submission's number")
    rv.add_argument("--reason", default="", help="why (required to return)")
    rv.add_argument("--lang", **lang)
    common(rv, sign_in=True)
    rv.set_defaults(func=_cmd_review)

    ss = s_sub.add_parser("submissions", help="every submission with its status")
    ss.add_argument("--period", help="only this quarter, e.g. 2026Q1")
    ss.add_argument("--dataset", choices=_DATASETS)
    ss.add_argument("--lang", **lang)
    common(ss, sign_in=False)
    ss.set_defaults(func=_cmd_submissions)

    ed = s_sub.add_parser(
        "edit", help="add, close, move or rename one facility (a submission of its county)"
    )
    ed.add_argument("action", choices=("add", "close", "move", "rename"))
    ed.add_argument("--id", help="the facility's id (close, move, rename)")
    ed.add_argument("--name", help="the name (add, rename)")
    ed.add_argument("--type", help="the facility type key (add), e.g. beautiful_workshop")
    ed.add_argument("--lon", type=float, help="WGS84 longitude (add, move)")
    ed.add_argument("--lat", type=float, help="WGS84 latitude (add, move)")
    ed.add_argument("--address", help="the address (add)")
    ed.add_argument("--closed-on", help="the date it closed, e.g. 2026-02-01 (close)")
    ed.add_argument("--reason", help="why it closed (close)")
    ed.add_argument("--period", required=True, help="the quarter reported, e.g. 2026Q1")
    ed.add_argument("--lang", **lang)
    common(ed, sign_in=True)
    ed.set_defaults(func=_cmd_edit)

    st = s_sub.add_parser("status", help="reporting status (报送情况) of a quarter")
    st.add_argument("--period", required=True, help="the quarter, e.g. 2026Q1")
    st.add_argument("--dataset", choices=_DATASETS, default="facilities")
    st.add_argument("--out", type=Path, help="write it as an Excel workbook (.xlsx)")
    st.add_argument("--lang", **lang)
    common(st, sign_in=False)
    st.set_defaults(func=_cmd_status)
