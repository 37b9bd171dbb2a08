"""What the store commands share: reading a password, signing in, opening the store of
``--region``, and printing a table (:mod:`geoapp.cli.store`, :mod:`geoapp.cli.reporting`)."""

from __future__ import annotations

import argparse
import getpass
import sys

from geoapp.cli.common import UsageError

__all__ = ["_open_store", "_print_table", "_read_password", "_sign_in"]


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
    """The store of ``--region`` (adcode or name); a region without embedded data gets an
    empty store on first use."""
    from geoapp import datasource, store
    from geoapp.cli.common import _region

    region = _region(args)
    try:
        return store.Store.open(args.store, region=region, seed=datasource.EmbeddedSource(region))
    except store.StoreError as exc:
        raise UsageError(str(exc)) from exc


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
