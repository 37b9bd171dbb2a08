"""The ``geoapp`` command line: one module per group of commands.

The commands are the top of the import graph: they may import any package of geoapp
(inside the command functions, so that ``geoapp --help`` starts fast), and nothing
imports them. :mod:`~geoapp.cli.data` (run, data, resolve), :mod:`~geoapp.cli.analysis`
(gaps, progress, access, site), :mod:`~geoapp.cli.store` (user, store) and
:mod:`~geoapp.cli.common` (inputs and output they share).

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
import sys
from collections.abc import Sequence

from geoapp.cli import analysis, data, store
from geoapp.cli.common import UsageError

__all__ = ["UsageError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geoapp",
        description="Employment resources for disabled people, county by county, against policy.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    data.add_parsers(sub)
    analysis.add_parsers(sub)
    store.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"geoapp: error: {exc}", file=sys.stderr)
        return 2
