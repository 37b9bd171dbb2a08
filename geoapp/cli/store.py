"""``geoapp user ...`` and ``geoapp store ...``: accounts and the versioned store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from geoapp.cli import reporting
from geoapp.cli.common import LANG_OPTION, REGION_HELP, UsageError, say
from geoapp.cli.session import _open_store, _print_table, _read_password, _sign_in
from geoapp.coords import DATUMS


def _refused(exc: BaseException, args: argparse.Namespace) -> UsageError:
    """The exit-2 error for a refusal of the store or the accounts, in the command's
    ``--lang``."""
    from geoapp.ingest import problem_text

    return UsageError(problem_text(exc, args.lang))


def _cmd_user_add(args: argparse.Namespace) -> int:
    from geoapp import auth, settings
    from geoapp.i18n import t

    prompt = t("cli.new_password", args.lang).format(name=args.name)
    password = _read_password(args, prompt, confirm=True)
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
        raise _refused(exc, args) from exc
    where = args.accounts or settings.ACCOUNTS_PATH
    area = t("cli.user_area", args.lang).format(area=args.area) if args.area else ""
    role = t(f"role.{args.role}", args.lang)
    say("cli.user_added", args.lang, role=role, name=args.name, area=area, path=where)
    return 0


def _cmd_store_info(args: argparse.Namespace) -> int:
    from geoapp import provenance, store
    from geoapp.i18n import t

    st = _open_store(args)
    try:
        versions, integrity = st.versions(), st.integrity_check()
    except store.StoreError as exc:
        raise _refused(exc, args) from exc
    lang = args.lang
    say("cli.store_location", lang, location=st.location, region=st.region)
    for dataset in ("facilities", "unemployed"):
        rows = versions[versions["dataset"] == dataset]
        cur = rows[rows["is_current"]].iloc[0]
        say(
            "cli.store_dataset", lang, dataset=t(f"dataset.{dataset}", lang), n=len(rows),
            version=cur["version_id"], as_of=cur["as_of"], rows=cur["row_count"],
            who=provenance.who_text(cur["created_by"], lang), at=cur["created_at"],
            empty="" if cur["row_count"] else t("cli.store_empty", lang),
        )  # fmt: skip
    result = t("cli.integrity_ok", lang) if integrity == "ok" else integrity
    say("cli.store_integrity", lang, result=result)
    return 0


def _cmd_store_versions(args: argparse.Namespace) -> int:
    from geoapp import store

    st = _open_store(args)
    try:
        table = st.versions(args.dataset)
    except store.StoreError as exc:
        raise _refused(exc, args) from exc
    _print_table(_shown(table.drop(columns=["source_sha256"]), "version", args.lang))
    return 0


def _cmd_store_audit(args: argparse.Namespace) -> int:
    from geoapp import store

    st = _open_store(args)
    user = _sign_in(args)
    try:
        table = st.audit(user=user)
    except (PermissionError, store.StoreError) as exc:
        raise _refused(exc, args) from exc
    table = table.assign(
        file_sha256=table["file_sha256"].str[:12],
        **{c: table[c].astype("Int64") for c in ("submission_id",) if c in table},
    )
    _print_table(_shown(table, "audit", args.lang))
    return 0


def _shown(table, heading: str, lang: str):
    """A table of versions or of the audit log as a person reads it in ``lang``: the
    columns headed ``<heading>.<column>``; datasets, actions, the system writer and
    the recorded notes in words; ids, dates, counts and hashes as stored."""
    from geoapp import provenance
    from geoapp.i18n import label_map

    words = {"dataset": label_map("dataset", lang), "action": label_map("action", lang)}
    columns = {c: table[c].map(lambda v, w=w: w.get(v, v)) for c, w in words.items() if c in table}
    columns["note"] = table["note"].map(lambda n: provenance.note_text(n, lang))
    for who in ("created_by", "who"):
        if who in table:
            columns[who] = table[who].map(lambda w: provenance.who_text(w, lang))
    if "is_current" in table:
        columns["is_current"] = table["is_current"].map({True: "✔", False: ""})
    shown = table.assign(**columns).astype(object)
    shown = shown.where(shown.notna(), "")  # no <NA> for a version without a parent
    return shown.rename(columns=lambda c: _heading(heading, c, lang))


def _heading(heading: str, column: str, lang: str) -> str:
    from geoapp.i18n import load_table

    return load_table()[lang].get(f"{heading}.{column}", column)


def _cmd_store_rollback(args: argparse.Namespace) -> int:
    from geoapp import store
    from geoapp.i18n import t

    st = _open_store(args)
    user = _sign_in(args)
    try:
        st.rollback(args.dataset, args.version, user=user, note=args.note)
    except (PermissionError, store.StoreError) as exc:
        raise _refused(exc, args) from exc
    dataset = t(f"dataset.{args.dataset}", args.lang)
    say("cli.rolled_back", args.lang, dataset=dataset, version=args.version)
    return 0


def _import_files(args: argparse.Namespace):
    """The registers given and their date, each file there: else a :class:`UsageError`."""
    from geoapp import store
    from geoapp.i18n import t

    files = [
        (d, p) for d, p in (("facilities", args.facilities), ("unemployed", args.unemployed)) if p
    ]
    if not files:
        raise UsageError(t("cli.give_files", args.lang))
    try:
        as_of = store.parse_as_of(args.as_of)
    except ValueError as exc:
        msg = t("cli.bad_as_of", args.lang).format(value=args.as_of, detail=exc)
        raise UsageError(msg) from exc
    for _, path in files:
        if not path.is_file():
            raise UsageError(t("cli.no_such_file", args.lang).format(path=path))
    return files, as_of


def _cmd_store_import(args: argparse.Namespace) -> int:
    from geoapp import admin, datasource, store

    files, as_of = _import_files(args)
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
            lang=args.lang,
        )
    except (PermissionError, store.UploadError, store.StoreError, OSError) as exc:
        raise _refused(exc, args) from exc
    status = 0
    for dataset, path in files:
        if not _report_import(results[dataset], path, args.lang):
            status = 2
    return status


def _report_import(result, path: Path, lang: str) -> bool:
    """The import's summary on stdout, its flagged and rejected rows and, when no version
    was made, why, on stderr, all in ``lang``; whether a version was made."""
    from geoapp import provenance
    from geoapp.i18n import t

    print(result.summary(lang))
    report = result.imported.report
    line = t("cli.report_row", lang)
    for r in report[report["status"].isin(["flagged", "rejected"])].itertuples(index=False):
        status = t(f"row_status.{r.status}", lang)
        print(line.format(row=r.row, status=status, reasons=r.reasons), file=sys.stderr)
    if result.version_id is not None or result.pending:  # pending: said by the summary
        return True
    if result.withheld:
        why = provenance.note_text(f"not stored: {result.withheld}.", lang)
    else:
        why = t("cli.no_valid_row", lang)
    dataset = t(f"dataset.{result.dataset}", lang)
    msg = t("cli.no_version_made", lang).format(path=path, why=why, dataset=dataset)
    print(f"geoapp: error: {msg}", file=sys.stderr)
    return False


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
    ua.add_argument("--lang", **LANG_OPTION)
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
    si.add_argument("--lang", **LANG_OPTION)
    common(si, sign_in=False)
    si.set_defaults(func=_cmd_store_info)

    sv = s_sub.add_parser("versions", help="every version, oldest first")
    sv.add_argument("--lang", **LANG_OPTION)
    common(sv, sign_in=False)
    sv.add_argument("--dataset", choices=("facilities", "unemployed"))
    sv.set_defaults(func=_cmd_store_versions)

    sa = s_sub.add_parser("audit", help="the audit log (data stewards and reviewers)")
    sa.add_argument("--lang", **LANG_OPTION)
    common(sa, sign_in=True)
    sa.set_defaults(func=_cmd_store_audit)

    sr = s_sub.add_parser(
        "rollback", help="make another version current (recorded in the audit log)"
    )
    sr.add_argument("dataset", choices=("facilities", "unemployed"))
    sr.add_argument("version", type=int)
    sr.add_argument("--note", default="")
    sr.add_argument("--lang", **LANG_OPTION)
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
    sm.add_argument("--lang", **LANG_OPTION)
    common(sm, sign_in=True)
    sm.set_defaults(func=_cmd_store_import)

    reporting.add_parsers(s_sub, common)
