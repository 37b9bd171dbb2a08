"""The ``geoapp`` command line: one module per group of commands.

The commands are the top of the import graph: they may import any package of geoapp
(inside the command functions, so that ``geoapp --help`` starts fast), and nothing
imports them. :mod:`~geoapp.cli.data` (run, data, resolve), :mod:`~geoapp.cli.analysis`
(gaps, progress, access, site), :mod:`~geoapp.cli.brief` (brief),
:mod:`~geoapp.cli.store` (user, store),
:mod:`~geoapp.cli.template` (template) and :mod:`~geoapp.cli.common` (inputs and output
they share).

Subcommands:

- ``geoapp run [--region R]``: start the dashboard with ``streamlit_config.toml``, on
  region R when the address names none.
- ``geoapp data boundaries --province 吉林省 [--city 长春市]``: build a region's layers.
- ``geoapp data divisions``: rebuild the national table of unit names and codes.
- ``geoapp data demo``: regenerate the embedded demo datasets (deterministic).
- ``geoapp data boundaries --region 500116``: a province, prefecture or one county-level
  unit by adcode or name; all or nothing, the simplification tolerance found and reported.
- ``geoapp data info [--region R]``: what is embedded.
- ``geoapp resolve NAME [--prefecture P] [--lon X --lat Y] [--region R]``: what a
  register's name means.
- ``geoapp gaps [--region R] [--policy ...] [--facilities PATH] [--unemployed PATH] ...``:
  the gap list.
- ``geoapp progress [--region R] [--policy ...]``: the region-wide targets.
- ``geoapp access [--type T|all] [--radius-km 30] [--cell-km 5] [--circuity 1.0]``: people
  within reach of the nearest facility, mean/90th-percentile distance and 2SFCA per county.
- ``geoapp site --type T --k N --radius-km R [--candidates seats|grid|both]``: suggested
  sites (mandatory gaps first, then the most people covered), optimal and greedy.
- ``geoapp brief [--region R] [--policy P] [--include-districts] [--lang zh|en] --out F.pdf``:
  the two-page A4 brief for meetings (map of mandatory gaps, progress, top gaps, data
  dates and demo status), from the same gap list as ``geoapp gaps``.
- ``geoapp template facilities|unemployed [--region R] [--lang zh|en] --out F.xlsx``: a
  blank register with drop-down lists (types, prefectures, counties, datums) and 填写说明.
- ``geoapp user add NAME --role steward|viewer [--password-stdin] [--replace] [--lang zh|en]``:
  an account.
- ``geoapp store info|versions [--lang zh|en]``: the versioned store (open to all); these and
  the store commands below print in Chinese unless ``--lang en`` is given.
- ``geoapp store audit --user NAME``: the audit log (a data steward; asks the password).
- ``geoapp store rollback DATASET VERSION --user NAME``: make an earlier version current.
- ``geoapp store import --facilities PATH [--unemployed PATH] --as-of DATE --user NAME``:
  registers as new versions, all in one transaction or none (a file refused or without a
  valid row: exit 2, no version of either; an unusable store file: exit 2).

Exit codes: 0 success (a register with some bad rows still gives its gap list; the
import report goes beside the output or to stderr), 2 unusable input (the message on
stderr says which file, key or value and what was expected; with ``--strict`` also any
rejected row), 1 an unexpected failure.

Every command that reads a region's data takes ``--region`` (a built region's adcode or
full name: 211100, 盘锦市; default 220000 吉林省): gaps, progress, access, site, brief, store *,
template and run. ``--policy`` defaults to the region's own policy; a policy of another
region is refused (exit 2, naming both regions). A region built without embedded data
starts with an empty store; the commands say on stderr what data it still lacks.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from geoapp.cli import analysis, brief, data, store, template
from geoapp.cli.common import UsageError
from geoapp.collector import collector_paused

__all__ = ["UsageError", "build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geoapp",
        description="Employment resources for disabled people, county by county, against policy.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    data.add_parsers(sub)
    analysis.add_parsers(sub)
    brief.add_parsers(sub)
    store.add_parsers(sub)
    template.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    lang = getattr(args, "lang", None) or "zh"
    try:
        _check_out(args, lang)  # before the work: a wrong folder is said at once
        # A command's objects live until it ends and hold few cycles, while each
        # collection walks all of them again: an eighth of the CPU time of `geoapp gaps`
        # on a million rows, same peak memory. Not for `run` (the server).
        with collector_paused(args.command != "run"):
            return int(args.func(args) or 0)
    except UsageError as exc:
        print(f"geoapp: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a file that cannot be written after all (disk full, rights)
        from geoapp import i18n

        detail = f"{exc.filename}: {exc.strerror}" if exc.strerror else str(exc)
        print(
            f"geoapp: error: {i18n.t('cli.os_error', lang).format(detail=detail)}", file=sys.stderr
        )
        return 1


def _check_out(args: argparse.Namespace, lang: str) -> None:
    """Refuse an ``--out`` whose folder does not exist."""
    from pathlib import Path

    out = getattr(args, "out", None)
    if not isinstance(out, Path):
        return
    folder = out.parent
    if not folder.is_dir():
        from geoapp import i18n

        raise UsageError(i18n.t("cli.out_folder", lang).format(out=out, folder=folder))
