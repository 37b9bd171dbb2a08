"""Nothing is lost (issue 11): for every test register, the report has one line per data
row, and every row is placed in a county of the region or carries a reason."""

from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from geoapp.datasource import default_source
from geoapp.ingest import read_facilities, read_unemployed

UPLOADS = Path(__file__).parent / "fixtures" / "uploads"
REGISTERS = [
    ("facilities_good.xlsx", read_facilities, None),
    ("facilities_messy.xlsx", read_facilities, None),
    ("facilities_custom_headers.xlsx", read_facilities, {"name": "机构全称"}),  # mapped by hand
    ("unemployed_good.csv", read_unemployed, None),
]


def _last_row(path: Path) -> int:
    """The last non-empty row of the first sheet (Excel numbering), read independently."""
    if path.suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
    else:
        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    filled = [i for i, r in enumerate(rows, 1) if any(str(v or "").strip() for v in r)]
    return filled[-1]


@pytest.mark.parametrize(("name", "reader", "columns"), REGISTERS, ids=[r[0] for r in REGISTERS])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_row_is_reported_and_placed_or_explained(name, reader, columns, lang):
    path = UPLOADS / name
    counties = default_source().counties()
    imp = reader(path, counties=counties, lang=lang, columns=columns)
    report = imp.report
    assert len(report) == _last_row(path) - imp.header_rows[-1]
    assert report["row"].tolist() == list(range(imp.header_rows[-1] + 1, _last_row(path) + 1))
    kept = report["status"].isin(["accepted", "flagged"])
    assert report.loc[kept, "adcode"].isin(set(counties["adcode"])).all()
    explained = report.loc[~report["status"].eq("accepted"), "reasons"]
    assert (explained.str.len() > 0).all()
    assert imp.accepted + imp.flagged + imp.rejected + imp.skipped == len(report)
