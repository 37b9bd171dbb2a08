"""``geoapp user ...`` and ``geoapp store ...``: accounts and the versioned store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geoapp.cli import reporting
from geoapp.cli.common import REGION_HELP, UsageError
from geoapp.cli.session import _open_store, _print_table, _read_password, _sign_in
from geoapp.coords import DATUMS


def _refused(exc: BaseException, args: argparse.Namespace) -> UsageError:
    """The exit-2 error for a refusal of the store or the accounts, in the command's
    ``--lang``. The commands here without one print English throughout (versions, paths,
    integrity), so their refusals stay in English too: one language on one screen."""
    from geoapp.ingest import problem_text

    return UsageError(problem_text(exc, getattr(args, "lang", "en")))


def _cmd_user_add(args: argparse.Namespace) -> int:
    from geoapp import auth, settings

    password = _read_password(args, f"new password for {args.name}: ", confirm=True)
    try:
        auth.add_user(
            args.name,
            password,
            role=args.role,
            area=args.area or "",
            path=args.accounts,
            replace=args.replace,
        )
    except auth.AccountsError as exc:
        raise UsageError(str(exc)) from exc
    where = args.accounts or settings.ACCOUNTS_PATH
    area = f" for area {args.area}" if args.area else ""
    print(f"{args.role} {args.name}{area} -> {where}")
    return 0


def _cmd_store_info(args: argparse.Namespace) -> int:
    from geoapp import store

    st = _open_store(args)
    try:
        versions, integrity = st.versions(), st.integrity_check()
    except store.StoreError as exc:
        raise _refused(exc, args) from exc
    print(f"store: {st.location} (region {st.region})")
    for dataset in ("facilities", "unemployed"):
        rows = versions[versions["dataset"] == dataset]
        cur = rows[rows["is_current"]].iloc[0]
        print(
            f"{dataset}: {len(rows)} version(s); current {cur['version_id']} as of {cur['as_of']}, "
            f"{cur['row_count']} rows, by {cur['created_by']} at {cur['created_at']}"
            + ("" if cur["row_count"] else " (empty: import a register with geoapp store import)")
        )
    print(f"integrity: {integrity}")
    return 0


def _cmd_store_versions(args: argparse.Namespace) -> int:
    from geoapp import store

    st = _open_store(args)
    try:
        table = st.versions(args.dataset)
    except store.StoreError as exc:
        raise _refused(exc, args) from exc
    _print_table(table.drop(columns=["source_sha256"]))
    return 0


def _cmd_store_audit(args: argparse.Namespace) -> int:
    from geoapp import store

    st = _open_store(args)
    user = _sign_in(args)
    try:
        table = st.audit(user=user)
    except (PermissionError, store.StoreError) as exc:
        raise _refused(exc, args) from exc
    _print_table(table.assign(file_sha256=table["file_sha256"].str[:12]))
    return 0


def _cmd_store_rollback(args: argparse.Namespace) -> int:
    from geoapp import store

    st = _open_store(args)
    user = _sign_in(args)
    try:
        st.rollback(args.dataset, args.version, user=user, note=args.note)
    except (PermissionError, store.StoreError) as exc:
        raise _refused(exc, args) from exc
    print(f"{args.dataset}: version {args.version} is current again")
    return 0


def _cmd_store_import(args: argparse.Namespace) -> int:
    from geoapp import admin, datasource, store

    files = [
        (d, p) for d, p in (("facilities", args.facilities), ("unemployed", args.unemployed)) if p
    ]
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
        results = st.upload_many(
            uploads,
            as_of=as_of,
            user=user,
            counties=counties,
            registry=registry,
            default_datum=args.datum,
            note=args.note,
        )
    except (PermissionError, store.UploadError, store.StoreError, OSError) as exc:
        raise _refused(exc, args) from exc
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


def _store_location(text: str) -> Path | str:
    """A GeoPackage path, or a PostgreSQL URL kept as text (a Path would lose its //)."""
    return text if text.strip().lower().startswith(("postgresql://", "postgres://")) else Path(text)


def add_parsers(sub) -> None:
    """``user add`` and ``store info|versions|audit|rollback|import``."""
    password_help = "read the password from the first line of standard input (no prompt)"

    u = sub.add_parser("user", help="accounts of data stewards and viewers")
    u_sub = u.add_subparsers(dest="user_command", required=True)
    ua = u_sub.add_parser("add", help="add an account (asks the password twice)")
    ua.add_argument("name")
    ua.add_argument("--role", choices=("steward", "reviewer", "viewer"), required=True)
    ua.add_argument(
        "--area",
        help="adcode of the area the account works for: a prefecture or a county-level unit "
        "(default: the whole region)",
    )
    ua.add_argument("--password-stdin", action="store_true", help=password_help)
    ua.add_argument("--replace", action="store_true", help="replace an existing account")
    ua.add_argument("--accounts", type=Path, help="accounts file (default: settings.ACCOUNTS_PATH)")
    ua.set_defaults(func=_cmd_user_add)

    s = sub.add_parser("store", help="the versioned data store: versions, audit, rollback, import")
    s_sub = s.add_subparsers(dest="store_command", required=True)

    def common(p: argparse.ArgumentParser, *, sign_in: bool) -> None:
        p.add_argument(
            "--store",
            type=_store_location,
            help="store file or postgresql:// URL (default: settings.store_path)",
        )
        p.add_argument("--region", help=REGION_HELP)
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

    sa = s_sub.add_parser("audit", help="the audit log (data stewards and reviewers)")
    common(sa, sign_in=True)
    sa.set_defaults(func=_cmd_store_audit)

    sr = s_sub.add_parser(
        "rollback", help="make another version current (recorded in the audit log)"
    )
    sr.add_argument("dataset", choices=("facilities", "unemployed"))
    sr.add_argument("version", type=int)
    sr.add_argument("--note", default="")
    common(sr, sign_in=True)
    sr.set_defaults(func=_cmd_store_rollback)

    sm = s_sub.add_parser("import", help="a register as a new version")
    sm.add_argument("--facilities", type=Path, help="facility register (.csv or .xlsx)")
    sm.add_argument("--unemployed", type=Path, help="unemployed-disabled counts (.csv or .xlsx)")
    sm.add_argument(
        "--as-of", required=True, help="the quarter end the register describes, e.g. 2025-12-31"
    )
    sm.add_argument(
        "--datum",
        choices=DATUMS,
        default="wgs84",
        help="datum of coordinates in rows without a 坐标系 value (default wgs84)",
    )
    sm.add_argument("--note", default="")
    common(sm, sign_in=True)
    sm.set_defaults(func=_cmd_store_import)

    reporting.add_parsers(s_sub, common)
