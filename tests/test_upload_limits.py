"""Work per upload is bounded: duplicate detection, the sheet budget and the upload gate.

Every file here is generated for the test and written to disk (CSV, XLSX, hostile
workbooks), then read as a steward's upload would be: through the register readers,
``Store.upload`` or the ``geoapp`` command in a subprocess.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pyproj
import pytest

from geoapp import auth, ingest, settings
from geoapp.datasource import EmbeddedSource, default_source
from geoapp.ingest import RegisterError, duplicates, read_facilities
from geoapp.store import Store, UploadError, check_upload

# Versions and uploads, not review: a submission is approved when it is accepted.
pytestmark = pytest.mark.usefixtures("review_off")

GEOD = pyproj.Geod(ellps="WGS84")
DUNHUA = "222403"  # 敦化市: the county with the largest inscribed circle (~34 km)
CENTRE = (128.3286, 43.5715)
NAME, TYPE = "阳光家园盲人按摩中心", "盲人按摩"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def counties():
    return default_source().counties()


@pytest.fixture(scope="module")
def registry(counties):
    from geoapp.admin import AdminRegistry

    return AdminRegistry.default(counties=counties)


@pytest.fixture
def spy(monkeypatch):
    """The findings of every duplicate search (how many distances were computed)."""
    found = []
    real = duplicates.find_duplicates

    def record(*args, **kwargs):
        found.append(real(*args, **kwargs))
        return found[-1]

    monkeypatch.setattr(duplicates, "find_duplicates", record)
    return found


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    lines = [",".join(header)] + [",".join("" if v is None else str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def grid_sites(n: int, spacing_m: float) -> list[tuple[float, float]]:
    """``n`` points ``spacing_m`` apart on a square grid around the middle of 敦化市."""
    side = int(np.ceil(np.sqrt(n)))
    sites = []
    for k in range(n):
        east, north = (k % side - side / 2) * spacing_m, (k // side - side / 2) * spacing_m
        lon, lat, _ = GEOD.fwd(CENTRE[0], CENTRE[1], 90.0, east)
        lon, lat, _ = GEOD.fwd(lon, lat, 0.0, north)
        sites.append((round(float(lon), 7), round(float(lat), 7)))
    return sites


def run_geoapp(*args: str) -> subprocess.CompletedProcess:
    code = "import sys; from geoapp.cli import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def rezip(data: bytes, replace: dict[str, bytes]) -> bytes:
    """A copy of the workbook ``data`` with parts replaced or added."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename not in replace:
                dst.writestr(info, src.read(info))
        for name, content in replace.items():
            dst.writestr(name, content)
    return out.getvalue()


def small_workbook() -> bytes:
    wb = openpyxl.Workbook()
    wb.active.append(["名称", "类型", "县（市、区）"])
    wb.active.append([NAME, TYPE, "敦化市"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def wide_sheet_xml(rows: int, columns: int, *, dimension: bool) -> bytes:
    """Sheet XML of ``rows`` x ``columns`` numbers, as a hostile writer makes it."""
    letters = [openpyxl.utils.get_column_letter(c) for c in range(1, columns + 1)]
    body = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{col}{r}"><v>{r}</v></c>' for col in letters) + "</row>"
        for r in range(1, rows + 1)
    )
    dim = f'<dimension ref="A1:{letters[-1]}{rows}"/>' if dimension else ""
    return (
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"{dim}<sheetData>{body}</sheetData></worksheet>"
    ).encode()


# --- duplicate detection ---------------------------------------------------------------------


def test_8000_rows_of_one_name_4000_sites_each_twice(tmp_path, counties, registry, spy):
    """4,000 sites 250 m apart, each written twice (the copy 35 m north): every copy is a
    duplicate of its site, every site stays, and each row is compared with a few others."""
    sites = grid_sites(4000, 250.0)
    rows = []
    for lon, lat in sites:
        copy_lon, copy_lat, _ = GEOD.fwd(lon, lat, 0.0, 35.0)
        rows += [[NAME, TYPE, lon, lat], [NAME, TYPE, round(copy_lon, 7), round(copy_lat, 7)]]
    path = write_csv(tmp_path / "same_name.csv", ["名称", "类型", "经度", "纬度"], rows)
    assert path.stat().st_size > 300_000

    tracemalloc.start()
    try:
        r = read_facilities(path, counties=counties, registry=registry, lang="en")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert (r.accepted, r.rejected, r.flagged) == (4000, 4000, 0)
    assert set(r.facilities["adcode"]) == {DUNHUA}
    report = r.report.set_index("row")
    assert report.loc[3, "reasons"] == "duplicate of row 2 (same name, 35 m apart)"
    assert report.loc[8001, "reasons"] == "duplicate of row 8000 (same name, 35 m apart)"
    assert (report.loc[2::2, "status"] == "accepted").all()
    # The old self-join computed 8000 * 7999 / 2 = 31,996,000 distances and took 4.6 GB.
    assert spy[-1].compared <= 20 * 8000
    assert peak < 300 * 2**20


def test_8000_copies_of_one_row_are_each_compared_once(tmp_path, counties, registry, spy):
    lon, lat = CENTRE
    path = write_csv(
        tmp_path / "copies.csv", ["名称", "类型", "经度", "纬度"], [[NAME, TYPE, lon, lat]] * 8000
    )
    r = read_facilities(path, counties=counties, registry=registry, lang="en")
    assert (r.accepted, r.rejected) == (1, 7999)
    assert set(r.report["reasons"].iloc[1:]) == {"duplicate of row 2 (same name, 0 m apart)"}
    assert spy[-1].compared == 7999  # each copy against the one original, nothing else


def test_8000_rows_without_coordinates_in_one_county_compute_no_distance(
    tmp_path, counties, registry, spy
):
    path = write_csv(
        tmp_path / "county.csv", ["名称", "类型", "县（市、区）"], [[NAME, TYPE, "敦化市"]] * 8000
    )
    r = read_facilities(path, counties=counties, registry=registry, lang="en")
    assert (r.accepted + r.flagged, r.rejected) == (1, 7999)
    assert (
        r.report["reasons"]
        .iloc[-1]
        .startswith("duplicate of row 2 (same name and type in the same county")
    )
    assert spy[-1].compared == 0


def test_a_duplicate_is_no_original_for_the_rows_after_it(tmp_path, counties, registry):
    """Rows 2, 3, 4 on a line 150 m apart: 3 is a duplicate of 2; 4 is 300 m from 2 and
    only 150 m from the duplicate 3, so it is another facility. 5, of another type, 100 m
    from 4, is flagged nearby; 6, without coordinates in the same county, is a duplicate
    of 2, the first original."""
    a = CENTRE
    b = GEOD.fwd(*a, 90.0, 150.0)[:2]
    c = GEOD.fwd(*a, 90.0, 300.0)[:2]
    d = GEOD.fwd(*c, 0.0, 100.0)[:2]
    rows = [
        [NAME, TYPE, None, *a],
        [NAME, TYPE, None, *b],
        [NAME, TYPE, None, *c],
        [NAME, "阳光家园", None, *d],
        [NAME, TYPE, "敦化市", None, None],
    ]
    path = write_csv(tmp_path / "chain.csv", ["名称", "类型", "县（市、区）", "经度", "纬度"], rows)
    report = read_facilities(path, counties=counties, registry=registry, lang="en").report
    assert report["status"].tolist() == ["accepted", "rejected", "accepted", "flagged", "rejected"]
    assert report["reasons"].iloc[1] == "duplicate of row 2 (same name, 150 m apart)"
    assert (
        "same name as row 4 (Blind massage institution), 100 m apart" in report["reasons"].iloc[3]
    )
    assert (
        report["reasons"]
        .iloc[4]
        .startswith("duplicate of row 2 (same name and type in the same county")
    )


# --- the sheet budget --------------------------------------------------------------------------


def test_the_budget_follows_the_upload_limit():
    assert ingest.max_rows(20_000_000) == 200_000
    assert ingest.MAX_COLUMNS == 256
    assert ingest.shape_problem(rows=200_000, columns=256, max_bytes=20_000_000) is None


@pytest.mark.parametrize("dimension", [True, False], ids=["declared", "undeclared"])
def test_a_sheet_16384_columns_wide_is_refused_before_openpyxl_reads_it(
    tmp_path, monkeypatch, counties, registry, dimension
):
    sheet = wide_sheet_xml(50, 16384, dimension=dimension)
    data = rezip(small_workbook(), {"xl/worksheets/sheet1.xml": sheet})
    path = tmp_path / "wide.xlsx"
    path.write_bytes(data)
    assert len(data) > 1_000_000
    expected = "XFD50: 16,384 columns" if dimension else "cell IW1: at least 257 columns"
    with pytest.raises(UploadError, match=f"{expected}, over the limit of 256 columns"):
        check_upload("wide.xlsx", data)
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("cells were parsed"))
    with pytest.raises(RegisterError, match=r"wide\.xlsx: .*over the limit of 256 columns"):
        read_facilities(path, counties=counties, registry=registry, lang="en")


def test_a_wide_sheet_that_hides_its_width_is_refused_at_its_first_row(counties, registry):
    """Bytes handed straight to the reader (no gate): the declared size says A1:C2, the
    first row holds 300 cells; the reader refuses it at that row."""
    xml = wide_sheet_xml(2, 300, dimension=False).replace(
        b"<sheetData>", b'<dimension ref="A1:C2"/><sheetData>'
    )
    data = rezip(small_workbook(), {"xl/worksheets/sheet1.xml": xml})
    message = r"sheet Sheet, row 1: 300 columns, over the limit of 256"
    with pytest.raises(RegisterError, match=message):
        read_facilities(data, counties=counties, registry=registry, lang="en")


def test_a_long_sheet_that_hides_its_length_is_refused_before_reading(monkeypatch):
    monkeypatch.setattr(settings, "MAX_UPLOAD_BYTES", 100_000, raising=False)  # 1,000 rows
    long = rezip(
        small_workbook(), {"xl/worksheets/sheet1.xml": wide_sheet_xml(1_500, 3, dimension=False)}
    )
    with pytest.raises(
        UploadError, match=r"sheet1\.xml has at least 1,\d{3} rows, over the limit of 1,000 rows"
    ):
        check_upload("long.xlsx", long)
    fits = rezip(
        small_workbook(), {"xl/worksheets/sheet1.xml": wide_sheet_xml(900, 3, dimension=False)}
    )
    assert check_upload("fits.xlsx", fits) == "xlsx"


def test_a_csv_over_the_row_budget_is_refused_and_the_refusal_recorded(
    tmp_path, monkeypatch, counties, registry
):
    monkeypatch.setattr(settings, "MAX_UPLOAD_BYTES", 10_000, raising=False)
    lon, lat = CENTRE
    rows = [[f"机构{i}", TYPE, lon, lat] for i in range(150)]
    path = write_csv(tmp_path / "long.csv", ["名称", "类型", "经度", "纬度"], rows)
    assert path.stat().st_size < 10_000
    message = r"long\.csv: 150 lines, over the limit of 100 rows \(the 10\.0 KB upload"
    with pytest.raises(RegisterError, match=message):
        read_facilities(path, counties=counties, registry=registry, lang="en")

    accounts = tmp_path / "accounts.toml"
    auth.add_user("steward1", PASSWORD, role="steward", path=accounts)
    steward = auth.verify("steward1", PASSWORD, path=accounts)
    store = Store.open(tmp_path / "store.gpkg", seed=EmbeddedSource())
    with pytest.raises(UploadError, match=message):
        store.upload(
            path.read_bytes(),
            file_name="long.csv",
            dataset="facilities",
            as_of="2025-12-31",
            user=steward,
            counties=counties,
        )
    event = store.audit(user=steward).iloc[-1]
    assert (event["action"], event["file_name"]) == ("rejected_upload", "long.csv")
    assert "over the limit of 100 rows" in event["note"]
    assert store.current_version("facilities") == 1


# --- the upload gate on the command line -------------------------------------------------------


def test_a_zip_bomb_is_refused_by_geoapp_gaps(tmp_path):
    """A real workbook whose sheet unpacks to 120 MB (spaces between the XML elements)."""
    book = small_workbook()
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    padded = sheet.replace(b"<sheetData>", b"<sheetData>" + b" " * 120_000_000)
    bomb = rezip(book, {"xl/worksheets/sheet1.xml": padded})
    assert len(bomb) < 1_000_000
    path = tmp_path / "bomb.xlsx"
    path.write_bytes(bomb)
    done = run_geoapp("gaps", "--facilities", str(path))
    assert done.returncode == 2, done.stderr
    assert "bomb.xlsx：工作簿结构异常（可能是压缩炸弹" in done.stderr
    done = run_geoapp("gaps", "--facilities", str(path), "--lang", "en")
    assert "bomb.xlsx: refused as a possible zip bomb: it would unpack to 120 MB" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("command", ["gaps", "progress"])
def test_a_workbook_linking_to_another_is_refused_by_the_cli(tmp_path, command):
    link = rezip(small_workbook(), {"xl/externalLinks/externalLink1.xml": b"<externalLink/>"})
    path = tmp_path / "登记表.xlsx"
    path.write_bytes(link)
    done = run_geoapp(command, "--facilities", str(path))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith("geoapp: error: 登记表.xlsx：工作簿链接了其他工作簿")
    done = run_geoapp(command, "--facilities", str(path), "--lang", "en")
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(
        "geoapp: error: 登记表.xlsx: the workbook links to other workbooks"
    )
    assert "Traceback" not in done.stderr


def test_macros_are_refused_when_read_from_a_path(tmp_path, counties, registry):
    path = tmp_path / "宏.xlsm"
    path.write_bytes(rezip(small_workbook(), {"xl/vbaProject.bin": b"\0" * 10}))
    with pytest.raises(RegisterError, match=r"宏\.xlsm: the workbook contains macros"):
        read_facilities(path, counties=counties, registry=registry, lang="en")
