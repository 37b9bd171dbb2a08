"""Addresses are read inside the region (issue 11): a short form at the start resolves
through the registry, and an address without a province never lands in another one."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from geoapp.datasource import default_source
from geoapp.ingest import read_facilities
from geoapp.ingest.region import addresses, build_region, scan_addresses


@pytest.fixture(scope="module")
def region():
    return build_region(default_source().counties(), None, None, points=False)


@pytest.mark.parametrize(
    ("address", "adcode"),
    [
        ("长白县长白镇新华街12号", "220623"),  # the issue's address: cpca alone says 重庆市
        ("前郭县平凤乡", "220721"),  # an alias of 前郭尔罗斯蒙古族自治县
        ("吉林省长白县长白镇", "220623"),
        ("白山市长白县新华街", "220623"),
        ("通化县快大茂镇", "220521"),  # 通化县, not the prefecture 通化市
        ("通化市东昌区新华街", "220502"),
        ("长春朝阳区人民大街1号", "220104"),  # a prefecture short form, then the district
        ("朝阳区人民大街1号", "220104"),  # 朝阳区 is in Jilin only once
        ("延边州延吉市公园路", "222401"),
        ("抚松县松江河镇", "220621"),
    ],
)
def test_an_address_lands_in_its_county_of_the_region(region, address, adcode):
    codes, errors = addresses(region, pd.Series([address]))
    assert (codes[0], errors[0]) == (adcode, None)


@pytest.mark.parametrize(
    ("address", "zh"),
    [
        ("江津区几江街道", "可读作重庆市江津区，但那不在本区域"),
        ("海淀区中关村大街", "可读作北京市海淀区，但那不在本区域"),
        ("前进乡平安村", "未写出县级单位"),
    ],
)
def test_an_address_without_a_province_never_lands_in_another(region, address, zh):
    codes, errors = addresses(region, pd.Series([address]))
    assert codes[0] is None
    assert zh in errors[0].text("zh")


def test_the_declared_prefecture_is_the_context(region):
    # 朝阳区 alone is Changchun's; the scan reads the prefecture the address writes.
    found = scan_addresses(region, pd.Series(["吉林省白山市长白县新华街", "前郭县平凤乡"]))
    assert found.fillna("").values.tolist() == [["白山市", "长白县"], ["", "前郭县"]]
    codes, _ = addresses(region, pd.Series(["长白县新华街"]), pd.Series(["白山市"]))
    assert codes.tolist() == ["220623"]


def test_the_issue_register_puts_every_row_in_jilin(tmp_path):
    """The register of the issue: no coordinates, the address only; none lands in Chongqing
    and every row is in its county or carries a reason."""
    rows = [
        ["序号", "机构名称", "机构类别", "详细地址"],
        [1, "长白县残疾人辅助性就业机构", "辅助性就业机构", "长白县长白镇新华街12号"],
        [2, "前郭县盲人按摩所", "盲人按摩", "前郭县平凤乡"],
        [3, "江津区美丽工坊", "美丽工坊", "江津区几江街道"],
        [4, "某某孵化基地", "孵化基地", "人民大街5号"],
    ]
    path = tmp_path / "r.csv"
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        csv.writer(f).writerows(rows)
    counties = default_source().counties()
    result = read_facilities(path, counties=counties)
    report = result.report.set_index("row")
    assert len(report) == 4  # nothing lost
    assert report.loc[2, "adcode"] == "220623" and report.loc[2, "status"] == "flagged"
    assert report.loc[3, "adcode"] == "220721"
    assert report.loc[4, "status"] == "rejected"
    assert "不在本区域" in report.loc[4, "reasons"]
    assert report.loc[5, "status"] == "rejected" and report.loc[5, "reasons"]
    assert set(result.facilities["adcode"]) == {"220623", "220721"}
    assert not result.facilities["adcode"].str.startswith("50").any()
