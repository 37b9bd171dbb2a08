"""``geoapp template facilities|unemployed``: a blank register to fill in, as ``.xlsx``."""

from __future__ import annotations

import argparse
from pathlib import Path

from geoapp.cli.common import REGION_HELP, _emit

# The kinds of geoapp.ingest.template.KINDS, spelled out so that ``--help`` needs no
# openpyxl (tests check that the two agree).
KINDS = ("facilities", "unemployed")


def _cmd_template(args: argparse.Namespace) -> int:
    from geoapp import regions
    from geoapp.cli.common import _region
    from geoapp.ingest import template

    region = _region(args)  # adcode or name of a built region
    counties = regions.read_layer(region, "counties")
    name = regions.read_metadata(region).get("region_name", region)
    data = template.template_bytes(
        args.kind, counties=counties, region_name=name, region_adcode=region, lang=args.lang
    )
    _emit(data, args.out, binary=True)
    return 0


def add_parsers(sub) -> None:
    """``template facilities|unemployed [--region R] [--lang zh|en] --out F.xlsx``."""
    p = sub.add_parser(
        "template",
        help="a blank register (.xlsx) with drop-down lists and a 填写说明 sheet",
        description=(
            "Write a blank register for the region: contract headers, drop-down lists of "
            "facility types, prefectures, counties and datums, number checks, and a sheet "
            "of instructions. The unemployed template lists every county, to fill the counts."
        ),
    )
    p.add_argument("kind", choices=KINDS)
    p.add_argument("--region", help=REGION_HELP)
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="headers and instructions")
    p.add_argument("--out", type=Path, required=True, help="the .xlsx file to write")
    p.set_defaults(func=_cmd_template)
