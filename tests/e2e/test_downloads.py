"""The gap page's download buttons deliver the files a planner opens."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from e2e_support import open_page, page_url
from openpyxl import load_workbook

pytestmark = pytest.mark.e2e

CHANGBAI = "长白朝鲜族自治县"  # 220623: the demo's deliberate mandatory gap
AUXILIARY = "残疾人辅助性就业机构"  # facility_type.auxiliary_institution (zh)
BUTTON_TEXT = {
    "xlsx": re.compile(r"xlsx|excel", re.IGNORECASE),
    "csv": re.compile(r"\bcsv\b", re.IGNORECASE),
    "geojson": re.compile(r"geojson", re.IGNORECASE),
}


def _download(page, fmt: str, tmp_path: Path) -> Path:
    """Click the download button of ``fmt`` and save what the browser receives."""
    # Streamlit 1.67 draws a button with help= twice (a hidden copy sized for the
    # tooltip), so only the visible one counts.
    keyed = page.locator(f".st-key-gaps_download_{fmt} button:visible")
    button = (
        keyed
        if keyed.count()
        else page.get_by_role("button", name=BUTTON_TEXT[fmt]).locator("visible=true")
    )
    assert button.count() == 1, f"expected one {fmt} download button, found {button.count()}"
    with page.expect_download(timeout=30_000) as info:
        button.click()
    download = info.value
    assert download.failure() is None, download.failure()
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.suffix == f".{fmt}", download.suggested_filename
    return target


@pytest.fixture
def gaps_page(app_url, page):
    open_page(page, page_url(app_url, "gaps"))
    return page


def test_xlsx_download_is_a_labelled_workbook_with_changbai_s_gap(gaps_page, tmp_path):
    path = _download(gaps_page, "xlsx", tmp_path)
    book = load_workbook(path)
    assert book.sheetnames == ["缺口清单", "说明"], book.sheetnames

    sheet = book["缺口清单"]
    header = [c.value for c in sheet[1]]
    for label in ("行政区划代码", "市（州）", "县（市、区）", "设施类型", "约束力", "缺口"):
        assert label in header, f"{label!r} not in the header row {header}"
    assert sheet.freeze_panes == "A2", "the header row should stay frozen"
    assert all(c.font.bold for c in sheet[1] if c.value), "header cells should be bold"

    rows = [
        dict(zip(header, r, strict=False)) for r in sheet.iter_rows(min_row=2, values_only=True)
    ]
    assert rows, "the gap list is empty"
    changbai = [r for r in rows if r["县（市、区）"] == CHANGBAI and r["设施类型"] == AUXILIARY]
    assert changbai, f"no {AUXILIARY} gap for {CHANGBAI} among {len(rows)} rows"
    assert changbai[0]["行政区划代码"] == "220623"
    assert changbai[0]["缺口"] and changbai[0]["缺口"] >= 1

    about = {r[0]: r[1] for r in book["说明"].iter_rows(values_only=True) if r and r[0]}
    assert "字面" in str(about.get("解读口径")) or about.get("解读口径") == "literal", about
    assert about.get("数据性质") == "演示数据，非真实登记", about
    assert about.get("行数") == str(len(rows)), about
    assert "吉政办发" in str(about.get("文号")), about


def test_csv_download_is_the_machine_readable_gap_list(gaps_page, tmp_path):
    # The CSV is the CLI's contract (geoapp gaps --format csv): coded headers and
    # values; the XLSX is the labelled one for people.
    raw = _download(gaps_page, "csv", tmp_path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 byte-order mark, so that Excel reads Chinese"
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert rows and {"adcode", "county", "facility_type", "shortfall", "reading"} <= set(rows[0])
    changbai = [
        r for r in rows if r["adcode"] == "220623" and r["facility_type"] == "auxiliary_institution"
    ]
    assert changbai and changbai[0]["county"] == CHANGBAI
    assert {r["reading"] for r in rows} == {"literal"}


def test_geojson_download_is_a_feature_collection_with_changbai(gaps_page, tmp_path):
    data = json.loads(_download(gaps_page, "geojson", tmp_path).read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection" and data["features"]
    codes = {str(f["properties"].get("adcode")) for f in data["features"]}
    assert "220623" in codes
    assert all(f["geometry"] for f in data["features"])
