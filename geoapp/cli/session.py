"""What the store commands share: reading a password, signing in, opening the store of
``--region``, and printing a table (:mod:`geoapp.cli.store`, :mod:`geoapp.cli.reporting`)."""

from __future__ import annotations

import argparse
import getpass
import sys

from geoapp.cli.common import UsageError

__all__ = ["_open_store", "_print_table", "_read_password", "_sign_in"]


def _lang(args: argparse.Namespace) -> str:
    return getattr(args, "lang", None) or "zh"


def _read_password(args: argparse.Namespace, prompt: str, *, confirm: bool = False) -> str:
    """The password from one line of stdin (--password-stdin) or a hidden prompt."""
    from geoapp.i18n import t

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(prompt)
    if confirm and getpass.getpass(t("cli.password_again", _lang(args))) != password:
        raise UsageError(t("cli.passwords_differ", _lang(args)))
    return password


def _accounts_problem(exc: Exception, lang: str) -> str:
    """An accounts file or a sign-in that cannot be used, in ``lang``: the throttle in
    the table's words, any other accounts error through :func:`geoapp.ingest.problem_text`."""
    from geoapp.auth.signin import SignInThrottled
    from geoapp.i18n import t
    from geoapp.ingest import problem_text

    if isinstance(exc, SignInThrottled) and lang != "en":
        return t("signin.throttled", lang).format(minutes=exc.minutes, time=f"{exc.until:%H:%M}")
    return problem_text(exc, lang)


def _sign_in(args: argparse.Namespace):
    from geoapp import auth
    from geoapp.i18n import t

    lang = _lang(args)
    try:
        password = _read_password(args, t("cli.password", lang).format(name=args.user))
        user = auth.verify(args.user, password)
    except auth.AccountsError as exc:
        raise UsageError(_accounts_problem(exc, lang)) from exc
    if user is None:
        raise UsageError(t("cli.sign_in_failed", lang).format(name=args.user))
    return user


def _open_store(args: argparse.Namespace):
    """The store of ``--region`` (adcode or name); a region without embedded data gets an
    empty store on first use. A store that cannot be opened is said in ``--lang``."""
    from geoapp import datasource, store
    from geoapp.cli.common import _region
    from geoapp.ingest import problem_text

    region = _region(args)
    try:
        return store.Store.open(args.store, region=region, seed=datasource.EmbeddedSource(region))
    except store.StoreError as exc:
        raise UsageError(problem_text(exc, _lang(args))) from exc


def _print_table(frame) -> None:
    import pandas as pd

    with pd.option_context(
        "display.max_rows",
        None,
        "display.max_columns",
        None,
        "display.width",
        200,
        "display.max_colwidth",
        60,
    ):
        print(frame.to_string(index=False))
