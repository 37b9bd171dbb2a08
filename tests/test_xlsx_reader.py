"""Reading ``.xlsx`` registers with calamine: the cells openpyxl's reading gave, never a
formula evaluated.

Every workbook here is a real file written by openpyxl; a few have their sheet XML
edited afterwards to hold what Excel writes and openpyxl does not (a cached formula
value, an error cell, a number past 2**53 written in full).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import openpyxl
import pytest

from geoapp.ingest import RegisterError, read_table
from geoapp.ingest import xlsx as xlsx_module

HEAD = ["名称", "类型", "县（市、区）", "经度", "纬度"]


def _save(wb: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _edit_sheet(data: bytes, edits: dict[bytes, bytes]) -> bytes:
    """The workbook with its first sheet's XML changed by plain replacements."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            part = zin.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                for old, new in edits.items():
                    assert old in part, old
                    part = part.replace(old, new)
            zout.writestr(item.filename, part)
    return out.getvalue()


def _register(*rows: list) -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "登记表"
    ws.append(HEAD)
    for row in rows:
        ws.append(row)
    return wb


def test_values_come_out_as_written():
    wb = _register(
        ["助残中心", "职业培训机构", "朝阳区", 125, 43.5],
        ["  ", "007", "编号", 7, 0.15],
        [True, False, "前后 ", 1e20, -3],
    )
    wb.active["E3"].number_format = "0%"
    # an 18-digit ID typed as a number by another writer: past 2**53, kept exact
    data = _edit_sheet(_save(wb), {b"<v>7</v>": b"<v>110101199001011234</v>"})
    table = read_table(data, sheet=None)
    assert table.sheet == "登记表"
    assert table.rows[1] == ["助残中心", "职业培训机构", "朝阳区", 125, 43.5]
    # whitespace only is blank; leading zeros stay text
    assert table.rows[2] == [None, "007", "编号", 110101199001011234, 0.15]
    assert table.rows[3] == [True, False, "前后 ", 1e20, -3]
    # 125 written as an integer is an int, as openpyxl gives it (calamine says 125.0)
    assert [type(v) for v in table.rows[1][3:]] == [int, float]
    assert type(table.rows[3][3]) is float and type(table.rows[3][4]) is int


def test_dates_times_and_durations():
    wb = _register(
        [dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 8, 30), dt.time(8, 30), 1.5, 45000]
    )
    ws = wb.active
    ws["D2"].number_format = "[h]:mm"
    ws["E2"].number_format = 'yyyy"年"m"月"d"日"'
    row = read_table(_save(wb), sheet=None).rows[1]
    assert row == [
        dt.datetime(2024, 1, 2),  # a date cell is a datetime, as openpyxl gives it
        dt.datetime(2024, 1, 2, 8, 30),
        dt.time(8, 30),
        dt.timedelta(hours=36),
        dt.datetime(2023, 3, 15),
    ]


def test_merged_group_header_is_filled():
    wb = openpyxl.Workbook()
    ws = wb.active
    for col, text in enumerate(["名称", "县（市、区）", "坐标"], start=1):
        ws.cell(1, col, text)
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:B2")
    ws.merge_cells("C1:D1")
    ws["C2"], ws["D2"] = "经度", "纬度"
    ws.append(["助残中心", "朝阳区", 125.3, 43.9])
    table = read_table(_save(wb), sheet=None)
    assert table.rows == [
        ["名称", "县（市、区）", "坐标", "坐标"],
        ["名称", "县（市、区）", "经度", "纬度"],
        ["助残中心", "朝阳区", 125.3, 43.9],
    ]
    assert set(table.merged) == {(0, 0, 1, 0), (0, 1, 1, 1), (0, 2, 0, 3)}


def test_a_formula_is_never_evaluated():
    wb = _register(["助残中心", "=1+1", "朝阳区", "=2+3", 43.9])
    data = _edit_sheet(_save(wb), {b"<f>2+3</f><v />": b"<f>2+3</f><v>125.5</v>"})
    table = read_table(data, sheet=None)
    # =1+1 has no cached value: blank, not 2, and flagged; =2+3 gives what Excel cached
    assert table.rows[1] == ["助残中心", None, "朝阳区", 125.5, 43.9]
    assert table.empty_formulas == frozenset({(1, 1)})


def test_error_cells_give_their_text():
    wb = _register(["助残中心", "职业培训机构", "朝阳区", "=1/0", "=NA()"])
    data = _edit_sheet(
        _save(wb),
        {
            b'<c r="D2"><f>1/0</f><v /></c>': b'<c r="D2" t="e"><f>1/0</f><v>#DIV/0!</v></c>',
            b'<c r="E2"><f>NA()</f><v /></c>': b'<c r="E2" t="e"><f>NA()</f><v>#N/A</v></c>',
        },
    )
    assert read_table(data, sheet=None).rows[1][3:] == ["#DIV/0!", "#N/A"]


def test_rows_and_columns_keep_excel_numbers():
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["B3"], ws["C3"] = "名称", "县（市、区）"
    ws["B5"], ws["C5"] = "助残中心", "朝阳区"
    ws["C8"] = "   "  # blank rows after the last value are dropped
    ws["F4"].number_format = "0.00"  # an empty styled cell widens the sheet, as before
    rows = read_table(_save(wb), sheet=None).rows
    assert len(rows) == 5
    assert rows[2] == [None, "名称", "县（市、区）", None, None, None]
    assert rows[4][1:3] == ["助残中心", "朝阳区"]


def test_sheets_by_position_and_name_hidden_included():
    wb = _register(["甲", "职业培训机构", "朝阳区", 125.3, 43.9])
    wb.active.sheet_state = "hidden"
    second = wb.create_sheet("第二页")
    second.append(["乙"])
    data = _save(wb)
    assert read_table(data, sheet=None).rows[1][0] == "甲"
    assert read_table(data, sheet=1).rows == [["乙"]]
    assert read_table(data, sheet="第二页").sheet == "第二页"
    with pytest.raises(RegisterError, match=r"no sheet number 2; sheets: \['登记表', '第二页'\]"):
        read_table(data, sheet=2)
    with pytest.raises(RegisterError, match="no sheet '汇总'"):
        read_table(data, sheet="汇总")


def test_not_a_workbook_and_no_worksheet():
    with pytest.raises(RegisterError) as caught:
        read_table(b"PK\x03\x04 not really a zip", sheet=None)
    assert caught.value.key == "not_xlsx"
    data = _save(_register())
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w") as zout:
        for item in zin.infolist():
            part = zin.read(item.filename)
            if item.filename == "xl/workbook.xml":
                part = re.sub(rb"<sheets>.*</sheets>", b"<sheets/>", part)
            zout.writestr(item.filename, part)
    with pytest.raises(RegisterError, match="the workbook has no worksheet") as caught:
        read_table(out.getvalue(), sheet=None)
    assert caught.value.key == "no_sheet"


def test_untrimmed_text_is_read_with_openpyxl(monkeypatch):
    """Spaces kept without xml:space="preserve" are trimmed by calamine: openpyxl reads
    such a workbook, and the cell keeps its spaces as before."""
    wb = _register(["助残中心", "职业培训机构", "朝阳区", 125.3, 43.9])
    data = _edit_sheet(
        _save(wb), {"<t>朝阳区</t>".encode(): " 朝阳区 ".join(["<t>", "</t>"]).encode()}
    )
    used = []
    real = xlsx_module._openpyxl_rows
    monkeypatch.setattr(xlsx_module, "_openpyxl_rows", lambda *a: used.append(a[2]) or real(*a))
    assert read_table(data, sheet=None).rows[1][2] == " 朝阳区 "
    assert used == ["登记表"]
    used.clear()
    read_table(_save(wb), sheet=None)
    assert used == []  # an ordinary workbook never loads openpyxl's reader
