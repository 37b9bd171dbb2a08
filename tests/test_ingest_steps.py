"""The steps of geoapp.ingest called one by one, on tables small enough to check by eye."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoapp.ingest import RegisterError
from geoapp.ingest.counts import people_counts
from geoapp.ingest.fields import FACILITY_FIELDS, FACILITY_REQUIRED, find_header
from geoapp.ingest.rowlog import RowLog, msg
from geoapp.ingest.rows import data_frame
from geoapp.ingest.tables import Table
from geoapp.ingest.values import check_default_datum, facility_types


def table(*rows) -> Table:
    return Table(name="t.csv", encoding="utf-8", sheet=None, rows=[list(r) for r in rows])


def test_find_header_reads_a_group_row_over_lon_and_lat():
    t = table(
        ("设施登记表", None, None, None),
        ("名称", "类型", "坐标", "坐标"),
        ("名称", "类型", "经度", "纬度"),
        ("甲", "盲人按摩", 125.3, 43.8),
    )
    header = find_header(t, FACILITY_FIELDS, None, required=FACILITY_REQUIRED, what="register")
    assert header.rows == (1, 2)
    assert header.columns == {"name": 0, "type": 1, "lon": 2, "lat": 3}
    assert header.labels["lon"] == "坐标/经度"


def test_find_header_says_what_it_saw_when_a_field_is_missing():
    t = table(("名称", "地址"), ("甲", "长春"))
    with pytest.raises(
        RegisterError, match=r"\(row 1 has 名称→name, 地址→address\); a header needs name; type;"
    ):
        find_header(t, FACILITY_FIELDS, None, required=FACILITY_REQUIRED, what="register")


def test_data_frame_numbers_rows_as_excel_does():
    t = table(("名称", "类型", "县区"), ("甲", "盲人按摩", "南关区"), (None, None, None))
    header = find_header(t, FACILITY_FIELDS, None, required=FACILITY_REQUIRED, what="register")
    frame, blank = data_frame(t, header, ("name", "county", "lon"))
    assert list(frame.index) == [2, 3]
    assert list(frame["name"]) == ["甲", None]
    assert list(frame["lon"]) == [None, None]  # a field without a column reads as blank
    assert list(blank) == [False, True]


def test_the_worst_severity_wins_and_rejections_are_listed_first():
    log = RowLog(3)
    log.add("dms", "flagged", [True, True, False], msg("zero_missing"))
    log.add("no_name", "rejected", [False, True, False], lambda i: msg("continuation", row=i))
    log.add("blank_row", "skipped", [False, False, True], msg("blank_row"))
    assert list(log.status()) == ["flagged", "rejected", "skipped"]
    reasons, codes = log.texts("en")
    assert reasons == [
        "coordinates 0, 0 read as missing",
        "continuation of row 1: its text is joined to that row's address; "
        "coordinates 0, 0 read as missing",
        "blank row",
    ]
    assert codes == ["dms", "no_name;dms", "blank_row"]
    zh, _ = log.texts("zh")  # the same log in Chinese, joined with a full-width ；
    assert zh == [
        "坐标为 0, 0，按未填处理",
        "第 1 行的续行：内容已并入该行地址；坐标为 0, 0，按未填处理",
        "空行",
    ]


def test_a_reason_must_be_a_message_not_text():
    with pytest.raises(TypeError, match="a reason is a Msg"):
        RowLog(1).add("dms", "flagged", [True], "converted")


def test_a_code_repeated_on_a_row_is_listed_once():
    log = RowLog(1)
    log.add("bad_count", "rejected", [True], msg("count_negative", count=-1))
    log.add("bad_count", "rejected", [True], msg("count_not_whole", count=0.5))
    reasons, codes = log.texts("en")
    assert reasons == ["count -1 is negative; count 0.5 is not a whole number"]
    assert codes == ["bad_count"]


def test_people_counts_reads_thousands_and_rejects_fractions_and_negatives():
    column = pd.Series(["1,234 人", 12, "2.5", "-3", None, "x"], dtype=object)
    log = RowLog(len(column))
    number, _ = people_counts(column, np.ones(len(column), dtype=bool), log)
    assert number[:2].tolist() == [1234.0, 12.0]
    assert list(log.status()) == ["accepted", "accepted"] + ["rejected"] * 4
    assert log.texts("en")[0][2:] == [
        "count 2.5 is not a whole number",
        "count -3 is negative",
        "no count",
        "count 'x' is not a number",
    ]


def test_facility_types_reads_synonyms_and_refuses_what_fits_two_types():
    txt = np.array(["盲人按摩", "阳光家园盲人按摩", "咖啡馆", ""], dtype=object)
    ftype, code, _ = facility_types(txt, np.array([True, True, True, False]))
    assert ftype.tolist() == ["massage_institution", None, None, None]
    assert code.tolist() == [None, "ambiguous_type", "unknown_type", None]


@pytest.mark.parametrize(
    ("text", "datum"), [("高德", "gcj02"), ("WGS-84", "wgs84"), ("百度地图", "bd09")]
)
def test_check_default_datum(text, datum):
    assert check_default_datum(text) == datum


def test_check_default_datum_lists_what_is_accepted():
    with pytest.raises(ValueError, match="accepted: wgs84"):
        check_default_datum("墨卡托")
