"""The vectorised paths of reading a register and writing its report (issue 11, part 5).

Each test builds a tiny table by hand and checks the fast path gives exactly what the
cell-by-cell code gave: the CSV bytes pandas writes, the cells the csv module reads,
the keys :func:`~geoapp.ingest.values.match_key` gives, the ids and flags of
:func:`~geoapp.ingest.duplicates.facility_ids`; and that writing CSV needs no openpyxl.
"""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from geoapp import export
from geoapp.csvtext import csv_chunks
from geoapp.ingest import RegisterError, read_table
from geoapp.ingest.duplicates import facility_ids
from geoapp.ingest.rowlog import RowLog
from geoapp.ingest.values import coordinate_column, match_key, match_keys


def pandas_csv(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_csv(buffer, index=False, encoding="utf-8", lineterminator="\r\n")
    return buffer.getvalue()


# ------------------------------------------------------------------ CSV writing


def test_csv_text_quotes_like_the_csv_module() -> None:
    frame = pd.DataFrame(
        {
            "名称": ["a,b", 'say "x"', "two\nlines", "cr\ronly", "", None, "=1+1"],
            "row": [2, 3, 4, 5, 6, 7, 8],
        }
    )
    text = b"".join(csv_chunks(frame)).decode()
    assert text.split("\r\n")[:3] == ["名称,row", '"a,b",2', '"say ""x""",3']
    assert '"two\nlines",4\r\n"cr\ronly",5\r\n,6\r\n,7\r\n=1+1,8\r\n' in text
    assert text.encode() == pandas_csv(frame)


def test_csv_text_of_one_column_writes_an_empty_field_as_two_quotes() -> None:
    frame = pd.DataFrame({"note": ["a", "", None]})
    assert b"".join(csv_chunks(frame)) == b'note\r\na\r\n""\r\n""\r\n' == pandas_csv(frame)


@pytest.mark.parametrize(
    "column",
    [
        pd.Series(["x", None, "y,z"], dtype="str"),
        pd.Series([1, None, -3], dtype="Int64"),
        pd.Series([10**12, -5, 0]),
        pd.Series([None, None, None], dtype=object),
    ],
    ids=["str", "Int64", "int64", "all-missing"],
)
def test_csv_text_matches_pandas_for_text_and_whole_numbers(column) -> None:
    frame = pd.DataFrame({"a": ["1", '"', "\r\n"], "b": column})
    assert b"".join(csv_chunks(frame)) == pandas_csv(frame)


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"x": [0.5]}),
        pd.DataFrame({"x": [True]}),
        pd.DataFrame({"x": ["a", 1]}),
        pd.DataFrame({"x": []}),
        pd.DataFrame({0: ["a"]}),
    ],
    ids=["float", "bool", "mixed", "no rows", "label not text"],
)
def test_csv_text_leaves_other_tables_to_pandas(frame) -> None:
    assert csv_chunks(frame) is None


def test_to_csv_writes_what_pandas_would(tmp_path) -> None:
    report = pd.DataFrame({"row": [2, 3], "reasons": ["=cmd", "a, b"], "lon": ["-1", None]})
    export.to_csv(report, tmp_path / "report.csv")
    written = (tmp_path / "report.csv").read_bytes()
    assert written == "\ufeffrow,reasons,lon\r\n2,'=cmd,'-1\r\n3,\"a, b\",\r\n".encode()
    assert written == "\ufeff".encode() + pandas_csv(export.neutralise(report))


# ------------------------------------------------------------------ neutralise


def test_neutralise_keeps_dtypes_missing_values_and_other_objects() -> None:
    frame = pd.DataFrame(
        {
            "obj": pd.Series(["=1", None, 5, b"=b", float("nan"), "ok"], dtype=object),
            "text": pd.Series(["-2", "x", None, "@a", "\tb", "+"], dtype="str"),
            "n": [-1, 2, 3, 4, 5, 6],
        }
    ).set_axis([7, 7, 8, 8, 9, 9])  # repeated labels
    out = export.neutralise(frame)
    assert out["obj"].tolist()[:4] == ["'=1", None, 5, b"=b"]
    assert out["obj"].dtype == object and np.isnan(out["obj"].iloc[4])
    assert out["text"].tolist()[:2] == ["'-2", "x"] and pd.isna(out["text"].iloc[2])
    assert out["text"].tolist()[3:] == ["'@a", "'\tb", "'+"]
    assert out["text"].dtype == frame["text"].dtype
    assert out["n"].tolist() == [-1, 2, 3, 4, 5, 6]
    assert frame["obj"].iloc[0] == "=1"  # the input is untouched


def test_writing_csv_needs_no_openpyxl() -> None:
    code = (
        "import sys, io, pandas as pd\n"
        "from geoapp import export\n"
        "export.to_csv(pd.DataFrame({'a': ['=x', 'y']}), io.BytesIO())\n"
        "print('openpyxl' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_header_fill_and_illegal_characters_are_openpyxl_s() -> None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    assert export.HEADER_FILL.fgColor.rgb == "00DDEBF7"
    assert export._ILLEGAL_CHARACTERS_RE.pattern == ILLEGAL_CHARACTERS_RE.pattern


# ------------------------------------------------------------------ CSV reading


def test_csv_blank_cells_are_none_whitespace_or_empty() -> None:
    text = 'a,b,c\r\n1,,x y\r\n"",\u3000, z \r\n"" ,"\t",中\r\n'
    table = read_table(text.encode(), sheet=None)
    assert table.rows == [
        ["a", "b", "c"],
        ["1", None, "x y"],
        [None, None, " z "],
        [None, None, "中"],
    ]


def test_csv_over_the_column_budget_names_the_first_wide_row() -> None:
    rows = ["a,b", "1,2", ",".join(["x"] * 300), ",".join(["y"] * 400)]
    with pytest.raises(RegisterError, match=r"row 3: 300 columns, over the limit of 256"):
        read_table("\n".join(rows).encode(), sheet=None)


def test_csv_over_the_row_budget_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("GEOAPP_MAX_UPLOAD_BYTES", "1000")  # 10 rows
    data = "\n".join(["名称,类型", *["甲,乙"] * 11]).encode()
    with pytest.raises(RegisterError, match=r"at least 11 rows, over the limit of 10 rows"):
        read_table(data, sheet=None)


# ------------------------------------------------------------------ values and ids


def test_match_keys_are_match_key_once_per_spelling() -> None:
    values = ["长春（经开）", "长春（经开）", "【美丽】工坊", " Ab\u3000C ", "a\u200bb", "ＡＢ"]
    assert match_keys(values).tolist() == [
        "长春(经开)",
        "长春(经开)",
        "(美丽)工坊",
        "abc",
        "ab",
        "ab",
    ]
    mixed = np.array(["1", 1, 1.0, True, None], dtype=object)  # 1 == 1.0 == True as keys
    assert match_keys(mixed).tolist() == [match_key(v) for v in mixed]


def test_match_keys_of_many_texts_are_match_key_of_each() -> None:
    """Past 64 distinct texts the plain ones go through Arrow's kernels: the same keys as
    :func:`match_key` one by one, for plain, spaced, capitalised and every odd character
    (full-width, brackets, zero-width, controls, ligatures, an ideograph beyond the BMP)."""
    rng = np.random.default_rng(19)
    alphabet = list(
        "ab AZ09中长春县-#.,·（）()[]{}【】〔〕\u3000\t\nＡ１①ﬁİẞ\u200b\x00\x7f\u00a0\U00020000"
    )
    texts = ["".join(rng.choice(alphabet, rng.integers(0, 9))) for _ in range(5_000)]
    texts += [f"长春市南关区 某街{i}号 Ab" for i in range(200)]  # plain: spaces, capitals
    assert match_keys(texts).tolist() == [match_key(v) for v in texts]
    assert match_keys(["Ab 长春"] * 100).tolist() == ["ab长春"] * 100
    # the same texts given as Arrow text too (a CSV's name column), read once per row
    arrow = pa.array(texts, type=pa.string())
    assert match_keys(texts, arrow).tolist() == [match_key(v) for v in texts]


def test_coordinates_of_a_long_text_column_are_what_pandas_reads() -> None:
    """Past 64 cells, plain decimals go through Arrow's cast: the same floats (sign of
    zero included) as ``pd.to_numeric`` for decimals, odd texts and blanks alike."""
    from geoapp.ingest.values import _decimals

    rng = np.random.default_rng(7)
    odd = [*"0123456789.-+eE ", "", "°", "'", "１", "nan", "inf", "\u3000"]
    texts = ["".join(rng.choice(odd, rng.integers(0, 7))) for _ in range(3_000)]
    texts += [
        f"{v:.{d}f}"
        for v, d in zip(rng.uniform(-180, 180, 3_000), rng.integers(0, 17, 3_000), strict=True)
    ]
    values = np.array([*texts, None, "007", "-0", "125.3190000000000001"], dtype=object)
    got = _decimals(values)
    want = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    assert np.array_equal(got, want, equal_nan=True)
    assert np.array_equal(np.signbit(got), np.signbit(want))
    assert got[-3:].tolist() == [7.0, -0.0, 125.319]


def test_coordinate_column_reads_numbers_and_text_but_no_bools() -> None:
    column = pd.Series(["125.5", 43, 43.5, True, None, "43°30'", "x"], dtype=object)
    values, kinds = coordinate_column(column)
    assert kinds.tolist() == ["number", "number", "number", "bad", "blank", "dms", "bad"]
    assert values[[0, 1, 2, 5]].tolist() == [125.5, 43.0, 43.5, 43.5]


def test_facility_ids_flag_a_repeated_given_id_and_number_generated_ones() -> None:
    frame = pd.DataFrame(
        {"facility_id": ["A", None, "A", None, "B", "A", None]},
        index=pd.Index([5, 6, 7, 8, 9, 10, 11], name="row"),
        dtype=object,
    )
    kept = np.array([1, 1, 1, 1, 0, 1, 1], dtype=bool)  # row 9 (B) was rejected
    keys = np.array(["甲", "乙", "甲", "乙", "丙", "甲", "乙"], dtype=object)
    log = RowLog(7)
    ids = facility_ids(log, frame, kept, keys, np.full(7, "t", object), np.full(7, "220102"))
    generated = ids[1]
    assert generated.startswith("F") and len(generated) == 12
    assert ids.tolist() == ["A", generated, "A", f"{generated}-2", "B", "A", f"{generated}-3"]
    assert log.status().tolist() == ["accepted", "accepted", "flagged"] + ["accepted"] * 2 + [
        "flagged",
        "accepted",
    ]
    reasons, codes = log.texts("en")
    assert codes[2] == codes[5] == "duplicate_id"
    assert "A" in reasons[2] and "5" in reasons[2] and reasons[2] == reasons[5]


def test_repeated_texts_share_one_string_and_keep_their_values() -> None:
    from geoapp.ingest.rows import _shared

    county = np.array(["".join(["南关", "区"]) for _ in range(6)] + [None, np.nan], dtype=object)
    shared = _shared(county)
    assert shared[:6].tolist() == ["南关区"] * 6 and shared[6] is None and np.isnan(shared[7])
    assert len({id(v) for v in shared[:6]}) == 1 < len({id(v) for v in county[:6]})
    numbers = np.array([1, 1.0, True, "1"], dtype=object)  # equal as keys, not as cells
    assert _shared(numbers) is numbers


def test_coordinate_column_given_its_arrow_text_and_blanks_reads_the_same() -> None:
    """A CSV's column comes with its Arrow text (blank cells as written, not missing)
    and its blank mask: the same values and kinds as from the cells alone."""
    rng = np.random.default_rng(23)
    odd = [*"0123456789.-", " ", "", "°", "'", "x", "\u3000"]
    cells = ["".join(rng.choice(odd, rng.integers(0, 8))) for _ in range(2_000)]
    column = pd.Series([c if c.strip() else None for c in cells], dtype=object)
    want = coordinate_column(column)
    blank = column.isna().to_numpy()
    got = coordinate_column(column, blank=blank, text=pa.array(cells, type=pa.string()))
    assert got[1].tolist() == want[1].tolist() and blank.sum() > 100
    np.testing.assert_array_equal(got[0], want[0])


def test_coordinate_column_of_text_only_reads_as_the_mixed_column_does() -> None:
    text = ["125.5", None, "43°30'", "x", " 43.5 ", "１２５", "1_000", "nan", "", "-5"]
    got = coordinate_column(pd.Series(text, dtype=object))
    # the same cells with a number among them take the per-type path
    mixed = coordinate_column(pd.Series([*text, 7], dtype=object))
    assert got[1].tolist() == mixed[1][:-1].tolist()
    np.testing.assert_array_equal(got[0], mixed[0][:-1])


def test_facility_types_is_match_type_of_each_given_spelling() -> None:
    from geoapp.ingest.values import facility_types, match_type

    spellings = np.array(
        ["盲人按摩", "阳光家园", "未知", "辅助性就业 盲人按摩", "", 1], dtype=object
    )
    rng = np.random.default_rng(3)
    texts = spellings[rng.integers(0, len(spellings), 200)]
    given = rng.random(200) < 0.7
    ftype, code, error = facility_types(texts, given)
    keys = match_keys(texts)
    for i in range(200):
        want = match_type(keys[i]) if given[i] else (None, None, None)
        assert (ftype[i], code[i], error[i]) == want


def test_continuation_anchor_is_the_row_by_row_walk() -> None:
    from geoapp.ingest.facilities import _continuation_anchor

    def walk(candidate, record):
        anchor, current = np.full(len(candidate), -1), -1
        for i in range(len(candidate)):
            if candidate[i]:
                anchor[i] = current
            else:
                current = i if record[i] else -1
        return anchor

    rng = np.random.default_rng(7)
    for n in (0, 1, 2, 9, 50):
        for _ in range(40):
            candidate, record = rng.random(n) < 0.5, rng.random(n) < 0.6
            assert (
                _continuation_anchor(candidate, record).tolist() == walk(candidate, record).tolist()
            )


def test_reason_counts_are_the_exploded_value_counts() -> None:
    from geoapp.ingest.results import reason_counts

    rng = np.random.default_rng(1)
    texts = np.array(
        ["", "dms", "swapped;dms", "duplicate", "no_name;dms", "swapped"], dtype=object
    )
    codes = pd.Series(texts[rng.integers(0, len(texts), 500)], dtype="str")
    exploded = codes.str.split(";").explode()
    want = exploded[exploded != ""].value_counts()
    got = reason_counts(codes)
    assert list(got.items()) == list(want.items())  # same order, ties included


def test_a_command_pauses_the_cycle_collector_and_enables_it_again(monkeypatch) -> None:
    import gc

    from geoapp import cli

    seen = []
    monkeypatch.setattr(cli.analysis, "_cmd_progress", lambda args: seen.append(gc.isenabled()))
    assert gc.isenabled()
    assert cli.main(["progress"]) == 0
    assert seen == [False] and gc.isenabled()
