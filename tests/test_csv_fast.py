"""The fast CSV path (pyarrow, by columns) against the csv module's path (issue 11, part 5).

:func:`geoapp.ingest.tables._read_csv_fast` must either decline a file or give exactly
the table the csv module's path gives: the same cells (str, None where empty or only
whitespace), rows, Excel row numbers, width, trailing blank rows dropped and encoding.
Each case below is a tiny CSV text whose cells can be read off by eye; the random cases
cover what the hand-made ones miss.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest

from geoapp.datasource import default_source
from geoapp.ingest import RegisterError, read_facilities, read_table, tables
from geoapp.ingest.fields import FACILITY_FIELDS, find_header
from geoapp.ingest.rows import data_frame
from geoapp.ingest.tables import ColumnRows, Table

NAME = "<uploaded data>"


def csv_module_table(data: bytes, monkeypatch: pytest.MonkeyPatch) -> Table | str:
    """What the csv module's path reads, or the message it refuses the file with."""
    with monkeypatch.context() as m:
        m.setattr(tables, "FAST_CSV", False)
        try:
            return tables._read_csv(data, NAME)
        except RegisterError as exc:
            return f"refused: {exc}"


def compare(data: bytes, monkeypatch: pytest.MonkeyPatch) -> str:
    """``"fast"`` when the fast path reads ``data`` exactly as the csv module's path,
    ``"declined"`` when it leaves the file to that path; fails otherwise."""
    fast = tables._read_csv_fast(data, NAME)
    slow = csv_module_table(data, monkeypatch)
    if fast is None:
        return "declined"
    assert isinstance(slow, Table), slow
    assert isinstance(fast.rows, ColumnRows)
    assert [list(r) for r in fast.rows] == slow.rows
    assert [fast.rows[i] for i in range(len(slow.rows))] == slow.rows
    assert (fast.name, fast.encoding, fast.sheet) == (slow.name, slow.encoding, slow.sheet)
    return "fast"


BOM = b"\xef\xbb\xbf"

# (id, file content, the path it takes, the rows the csv module reads)
CASES = [
    ("plain", "名称,类型\n甲,乙\n", "fast", [["名称", "类型"], ["甲", "乙"]]),
    ("quoted comma", 'a,b\n"x,y",2\n', "fast", [["a", "b"], ["x,y", "2"]]),
    ("doubled quotes", 'a,b\n"say ""hi""",2\n', "fast", [["a", "b"], ['say "hi"', "2"]]),
    ("LF in quotes", 'a,b\n"two\nlines",2\n', "fast", [["a", "b"], ["two\nlines", "2"]]),
    ("CRLF", 'a,b\r\n"two\r\nlines",2\r\n', "fast", [["a", "b"], ["two\r\nlines", "2"]]),
    ("mixed ends", "a,b\r\n1,2\n3,4\r\n", "fast", [["a", "b"], ["1", "2"], ["3", "4"]]),
    ("lone CR", "a,b\r1,2\r", "declined", [["a", "b"], ["1", "2"]]),
    ("lone CR in quotes", 'a,b\n"x\ry",2\n', "declined", [["a", "b"], ["x\ry", "2"]]),
    ("empty line first", "\na,b\n1,2\n", "declined", [[None, None], ["a", "b"], ["1", "2"]]),
    ("empty line inside", "a,b\n\n1,2\n", "fast", [["a", "b"], [None, None], ["1", "2"]]),
    ("empty lines last", "a,b\n1,2\n\n\r\n\n", "fast", [["a", "b"], ["1", "2"]]),
    ("blank row last", "a,b\n1,2\n , \n", "fast", [["a", "b"], ["1", "2"]]),
    ("only blank", " , \n,\n", "fast", []),
    (
        "whitespace cells",
        'a,b,c,d\n , \t,\u3000,""\n"" ,"\t",x y, z \n',
        "fast",
        [["a", "b", "c", "d"], [None, None, None, None], [None, None, "x y", " z "]],
    ),
    ("full-width space", "a,b\n\u3000x\u3000,y\n", "fast", [["a", "b"], ["\u3000x\u3000", "y"]]),
    ("tabs", "a\tb\n1,5\t2\n", "fast", [["a", "b"], ["1,5", "2"]]),
    ("semicolons", "a;b;c\n1;2;3\n", "fast", [["a", "b", "c"], ["1", "2", "3"]]),
    ("trailing delimiter", "a,b,\n1,2,\n", "fast", [["a", "b", None], ["1", "2", None]]),
    ("no final newline", "a,b\n1,2", "fast", [["a", "b"], ["1", "2"]]),
    (
        "ragged",
        "a,b\n1\n1,2,3\n",
        "declined",
        [["a", "b", None], ["1", None, None], ["1", "2", "3"]],
    ),
    ("one column", "a\n1\n\n 2 \n", "fast", [["a"], ["1"], [None], [" 2 "]]),
    ("formula", "a,b\n=1+1,@x\n", "fast", [["a", "b"], ["=1+1", "@x"]]),
    (
        "not numbers",
        "a,b,c,d,e,f\n007,NA,null,1e5,1 000,true\n",
        "fast",
        [["a", "b", "c", "d", "e", "f"], ["007", "NA", "null", "1e5", "1 000", "true"]],
    ),
    ("text after quote", 'a,b\n"x"y,"z" \n', "fast", [["a", "b"], ["xy", "z "]]),
    ("quote inside text", 'a,b\nx"y, "z"\n', "fast", [["a", "b"], ['x"y', ' "z"']]),
    ("open quote at end", 'a,b\n1,"x\n', "fast", [["a", "b"], ["1", "x\n"]]),
]


@pytest.mark.parametrize(
    ("text", "path", "rows"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_fast_path_reads_as_the_csv_module_or_declines(text, path, rows, monkeypatch) -> None:
    data = text.encode()
    slow = csv_module_table(data, monkeypatch)
    assert isinstance(slow, Table) and slow.rows == rows
    assert compare(data, monkeypatch) == path
    assert read_table(data, sheet=None).rows == rows


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (BOM + "名称,类型\r\n甲,乙\r\n".encode(), "utf-8-sig"),
        ("名称,类型\r\n甲,\u3000\r\n".encode("gb18030"), "gb18030"),
        ("名称\t类型\r\n甲\t乙\r\n".encode("utf-16"), "utf-16"),  # Excel's "Unicode text"
        ("名称\t类型\r\n甲\t乙\r\n".encode("utf-16-be"), None),  # no mark: not UTF-16
    ],
    ids=["BOM", "GB18030", "UTF-16", "UTF-16 without mark"],
)
def test_fast_path_reads_every_encoding_as_the_csv_module(data, encoding, monkeypatch) -> None:
    slow = csv_module_table(data, monkeypatch)
    if encoding is None:
        assert isinstance(slow, str) and compare(data, monkeypatch) == "declined"
        return
    assert isinstance(slow, Table) and slow.encoding == encoding
    assert slow.rows[0] == ["名称", "类型"] and slow.rows[1][0] == "甲"
    assert compare(data, monkeypatch) == "fast"


def test_text_that_is_not_utf8_after_the_sample_goes_to_the_csv_module(monkeypatch) -> None:
    lines = "名称,类型\n" + "甲,乙\n" * 10_000  # 80 kB: past the 32 kB decoded to sniff
    gbk_tail = lines.encode() + "丙,丁\n".encode("gb18030")
    assert compare(gbk_tail, monkeypatch) == "declined"
    assert compare(BOM + gbk_tail, monkeypatch) == "declined"
    assert isinstance(csv_module_table(BOM + gbk_tail, monkeypatch), str)  # refused
    assert compare((lines + "丙,丁\n").encode("gb18030"), monkeypatch) == "fast"


def test_pyarrow_refuses_the_utf8_that_python_refuses() -> None:
    """Past the sniffed sample, pyarrow's check of UTF-8 stands in for Python's codec."""
    import pyarrow as pa

    def python_reads(data: bytes) -> bool:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True

    def arrow_reads(data: bytes) -> bool:
        try:
            pa.array([data], pa.binary()).cast(pa.string())
        except pa.ArrowInvalid:
            return False
        return True

    rng = random.Random(11)
    edge = [b"\xed\xa0\x80", b"\xc0\x80", b"\xf4\x90\x80\x80", b"\xe0\x80\x80", b"\xef\xbf\xbf"]
    noise = [bytes(rng.choice([0x41, *range(0x80, 0x100)]) for _ in range(4)) for _ in range(3000)]
    for data in edge + noise:
        assert arrow_reads(data) == python_reads(data), data


def test_a_nul_past_the_binary_check_goes_to_the_csv_module(monkeypatch) -> None:
    data = ("a,b\n" + "1,2\n" * 2000 + "1,x\x00\n").encode()
    slow = csv_module_table(data, monkeypatch)
    assert isinstance(slow, Table) and slow.rows[-1] == ["1", "x\x00"]
    assert compare(data, monkeypatch) == "declined"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a,b\n1,2\n" + ",".join(["x"] * 300) + "\n", "row 3: 300 columns"),
        ((",".join(["x"] * 300) + "\n") * 2, "row 1: 300 columns"),
        ("a,b\n1,x\x00\n", "binary content"),
        ("a,b\n" + "1,2\n" * 11, "at least 11 rows"),
        ("a\n" + "x" * 131_073 + "\n", "field larger than field limit"),
    ],
    ids=["columns", "wide", "NUL", "rows", "field size"],
)
def test_what_the_csv_module_refuses_is_left_to_it(text, message, monkeypatch) -> None:
    monkeypatch.setenv("GEOAPP_MAX_UPLOAD_BYTES", "1000")  # 10 rows
    data = text.encode()
    assert tables._read_csv_fast(data, NAME) is None
    with pytest.raises(RegisterError, match=message):
        read_table(data, sheet=None)


RANDOM_PIECES = ["a", "中", ",", '"', "\n", "\r\n", "\t", " ", "\u3000", '""', "=1", "007"]


def random_csv(rng: random.Random) -> str:
    """A small CSV: rows of cells, some quoted, some ending in text after the quote."""
    delimiter = rng.choice([",", ",", "\t", ";"])
    width, end = rng.randint(1, 4), rng.choice(["\n", "\r\n"])

    def cell() -> str:
        text = "".join(rng.choice(RANDOM_PIECES) for _ in range(rng.randint(0, 4)))
        if rng.random() < 0.4:
            return '"' + text.replace('"', '""') + '"' + rng.choice(["", "", " ", "b", '"'])
        if rng.random() < 0.7:
            for special in (delimiter, "\n", "\r", '"'):
                text = text.replace(special, "")
        return text

    lines = [delimiter.join(cell() for _ in range(width)) for _ in range(rng.randint(1, 5))]
    if rng.random() < 0.2:
        lines.insert(rng.randint(0, len(lines)), "")
    return end.join(lines) + rng.choice(["", end, end + end])


def test_random_csv_texts_read_as_the_csv_module_or_declined(monkeypatch) -> None:
    rng = random.Random(11)
    taken = {"fast": 0, "declined": 0}
    for _ in range(400):
        text = random_csv(rng) if rng.random() < 0.8 else random_text(rng)
        encoding = rng.choice(["utf-8", "utf-8", "utf-8-sig", "gb18030", "utf-16"])
        taken[compare(text.encode(encoding), monkeypatch)] += 1
    assert taken["fast"] >= 100  # the comparison is not empty


def test_a_file_of_many_blocks_reads_as_the_csv_module(monkeypatch) -> None:
    """Past pyarrow's largest block the text is cut into blocks; quoted line breaks may
    fall on a cut (blocks of 1 MB here)."""
    monkeypatch.setattr(tables, "_MAX_BLOCK", 1 << 20)
    rng = random.Random(7)
    cells = ['"甲\r\n乙"', '"a,""b"""', "中文", "", " ", '"x\ny"', "007"]
    lines = ["名称,类型,地址"] + [",".join(rng.choices(cells, k=3)) for _ in range(120_000)]
    data = "\r\n".join(lines).encode()
    assert len(data) > 2**21 and compare(data, monkeypatch) == "fast"


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(RANDOM_PIECES) for _ in range(rng.randint(1, 30)))


def test_whitespace_is_what_python_strips() -> None:
    assert "".join(c for c in map(chr, range(0x110000)) if c.isspace()) == tables.WHITESPACE


def test_blank_cells_are_the_ones_str_strip_empties() -> None:
    """The blank test tries its pattern only on cells whose first byte a whitespace
    character can start with: the same answer as ``not cell.strip()`` for every
    whitespace character, alone, in runs and before or after other text."""
    import pyarrow as pa

    rng = random.Random(13)
    others = ["a", "中", "é", "\u2030", "\u3001", "\x00", "😀", "\u200b"]  # near, not space
    pieces = list(tables.WHITESPACE) + others
    cells = ["", *tables.WHITESPACE, *others]
    cells += ["".join(rng.choices(pieces, k=rng.randint(1, 4))) for _ in range(5_000)]
    got = tables._blank_cells(pa.chunked_array([pa.array(cells[:100]), pa.array(cells[100:])]))
    assert got.tolist() == [not c.strip() for c in cells]


# ------------------------------------------------------------------ the view of the rows


def test_column_rows_read_like_lists() -> None:
    table = read_table(b"a,b\n1,\n2, x\n", sheet=None)
    rows = table.rows
    assert isinstance(rows, ColumnRows)
    assert (len(rows), rows[0], rows[-1], rows[1][1]) == (3, ["a", "b"], ["2", " x"], None)
    assert rows[1:] == [["1", None], ["2", " x"]] and rows[1:][1:] == [["2", " x"]]
    assert rows[::2] == [["a", "b"], ["2", " x"]] and not rows[3:] and rows[5:9] == []
    assert rows == [["a", "b"], ["1", None], ["2", " x"]] != rows[:2]
    assert table == Table(NAME, "utf-8", None, [["a", "b"], ["1", None], ["2", " x"]])
    assert rows[1:].column(1).tolist() == [None, " x"]
    assert rows.blank_rows().tolist() == [False, False, False]
    with pytest.raises(IndexError):
        rows[3]
    with pytest.raises(ValueError, match="read-only"):
        rows.column(0)[0] = "z"


def test_data_frame_of_columns_is_the_data_frame_of_rows(monkeypatch) -> None:
    text = "名称,类型,县（市、区）\n甲,工坊,朝阳区\n, ,\n乙,工坊,\n丙,基地,朝阳区\n"
    fast = read_table(text.encode(), sheet=None)
    slow = csv_module_table(text.encode(), monkeypatch)
    fields = ("name", "type", "county", "lon")
    header = find_header(fast, FACILITY_FIELDS, None, required=(("name",),), what="test")
    got, got_blank = data_frame(fast, header, fields)
    want, want_blank = data_frame(slow, header, fields)
    pd.testing.assert_frame_equal(got, want)
    assert got.index.tolist() == [2, 3, 4, 5] and got["lon"].isna().all()
    assert got["type"].tolist() == ["工坊", None, "工坊", "基地"]
    assert got_blank.tolist() == want_blank.tolist() == [False, True, False, False]
    assert got["type"].iloc[0] is got["type"].iloc[2]  # one str per distinct text


EDGES = ["", " ", "\u3000", "\xa0", "\t", "\u2003 ", "\x1f"]  # what str.strip strips


@pytest.mark.parametrize("block", [None, 4096], ids=["one block", "many blocks"])
def test_report_texts_from_arrow_are_the_stripped_cells(tmp_path, monkeypatch, block) -> None:
    """The report takes the texts as written from the Arrow columns of the fast path
    (:meth:`Opened.written`): stripped as ``str.strip`` strips, blank cells empty, the
    same report and facilities as the csv module's path, in one block or in several."""
    if block:
        monkeypatch.setattr(tables, "_MAX_BLOCK", block)
    rng = random.Random(5)
    counties = default_source().counties()
    names = ["长春工坊", "Ab 工坊", '"引号"工坊', "（经开）工坊", "x,y 工坊", "two\nlines"]
    cells = {
        "type": ["工疗站", "盲人按摩", "辅助性就业机构", "阳光家园"],
        "county": ["朝阳区", "长白县", "", "长白朝鲜族自治县"],
        "address": ["人民大街1号", "", "新华街 12 号", "长白县长白镇新华街12号"],
        "lon": ["125.3", "", "128.2", " 125.31 "],
        "lat": ["43.8", "", "41.4", "43.81"],
        "datum": ["", "WGS84", "高德", ""],
    }
    header = "名称,类型,县（市、区）,地址,经度,纬度,坐标系"
    lines = [header]
    for i in range(3000):
        row = [rng.choice(names) + str(i)] + [rng.choice(v) for v in cells.values()]
        row = [rng.choice(EDGES) + c + rng.choice(EDGES) for c in row]
        lines.append(",".join(f'"{c.replace(chr(34), chr(34) * 2)}"' for c in row))
    path = tmp_path / "register.csv"
    path.write_bytes("\r\n".join(lines).encode())
    assert isinstance(read_table(path, sheet=None).rows, ColumnRows)
    fast = read_facilities(path, counties=counties)
    monkeypatch.setattr(tables, "FAST_CSV", False)
    slow = read_facilities(path, counties=counties)
    assert fast.report["name"].str.startswith(tuple(names)).all()  # stripped
    assert (fast.report["county"] == "").sum() > 500  # blank cells: empty texts
    pd.testing.assert_frame_equal(fast.report, slow.report)
    columns = [c for c in fast.facilities.columns if c != "geometry"]
    pd.testing.assert_frame_equal(fast.facilities[columns], slow.facilities[columns])


@pytest.mark.parametrize("fast", [True, False], ids=["arrow", "csv module"])
def test_blank_notes_and_subtypes_of_facilities_are_empty_text(tmp_path, monkeypatch, fast):
    """The note and subtype columns outlive the other cells (Opened.release): a blank
    one is "", never "nan" (pandas 3 reads an object column of text as its str dtype,
    a blank as NaN, when the column is set alone)."""
    monkeypatch.setattr(tables, "FAST_CSV", fast)
    path = tmp_path / "notes.csv"
    path.write_text(
        "名称,类型,县（市、区）,经度,纬度,备注,细分类型\n"
        "工坊1,美丽工坊,南关区,125.3,43.8,,\n"
        "工坊2,美丽工坊,南关区,125.31,43.81,有备注,手工\n",
        encoding="utf-8",
    )
    facilities = read_facilities(path, counties=default_source().counties()).facilities
    assert facilities["note"].tolist() == ["", "有备注"]
    assert facilities["subtype"].tolist() == ["", "手工"]


def test_a_plain_register_takes_the_fast_path(tmp_path, monkeypatch) -> None:
    counties = default_source().counties()
    path = tmp_path / "register.csv"
    lines = [
        "名称,类型,县（市、区）,经度,纬度",
        *[f"工坊{i},工疗站,朝阳区,," for i in range(5)],
    ]
    path.write_bytes(BOM + "\r\n".join(lines).encode())
    assert isinstance(read_table(path, sheet=None).rows, ColumnRows)
    fast = read_facilities(path, counties=counties)
    monkeypatch.setattr(tables, "FAST_CSV", False)
    assert isinstance(read_table(path, sheet=None).rows, list)
    slow = read_facilities(path, counties=counties)
    assert fast.report["row"].tolist() == [2, 3, 4, 5, 6]
    assert fast.report["name"].tolist() == [f"工坊{i}" for i in range(5)]
    pd.testing.assert_frame_equal(fast.report, slow.report)
    columns = [c for c in fast.facilities.columns if c != "geometry"]
    pd.testing.assert_frame_equal(fast.facilities[columns], slow.facilities[columns])
