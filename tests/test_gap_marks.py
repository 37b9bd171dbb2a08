"""Tests for geoapp.analysis.gap_marks: what a map marks and its one-line headline.

A toy province 测试省 (990000) of two prefectures and four county-level units:

    990100 甲市: 990102 东区 (district)   rural help base 1
                 990121 乙县 (county)     auxiliary 1, incubation 2
    990200 丙市: 990281 丁市 (city)       nothing
                 990222 戊县 (county)     auxiliary 1, rural help base 1

Rules: aux-county (mandatory, ≥1 auxiliary institution per county or city, districts
excluded), inc-prefecture (mandatory, ≥2 incubation bases per prefecture), rural-county
(aspirational, ≥1 rural help base per unit, districts included). By hand:

- mandatory: 丁市 lacks 1 auxiliary institution; 丙市 has 0 of 2 incubation bases
  (甲市 has its 2, in 乙县). So 1 county, 1 prefecture; missing 2 incubation, 1 auxiliary.
- aspirational: 乙县 and 丁市 lack a rural help base: 2 counties, 2 missing.
"""

from __future__ import annotations

import pandas as pd
import pytest
import toys

from geoapp.analysis.coverage import compute_gaps
from geoapp.analysis.gap_marks import GapMarks, gap_headline, gap_marks, unit_gap_text

UNITS = pd.DataFrame(
    [
        ("990102", "东区", "990100", "甲市", "district"),
        ("990121", "乙县", "990100", "甲市", "county"),
        ("990281", "丁市", "990200", "丙市", "county_level_city"),
        ("990222", "戊县", "990200", "丙市", "county"),
    ],
    columns=["adcode", "name", "prefecture_adcode", "prefecture", "unit_kind"],
)
FACILITIES = pd.DataFrame(
    [
        ("990102", "rural_help_base"),
        ("990121", "auxiliary_institution"),
        ("990121", "incubation_base"),
        ("990121", "incubation_base"),
        ("990222", "auxiliary_institution"),
        ("990222", "rural_help_base"),
    ],
    columns=["adcode", "facility_type"],
)


@pytest.fixture(scope="module")
def result():
    policy = toys.policy(
        toys.rule(
            "aux-county",
            "auxiliary_institution",
            "county",
            unit_kinds=("county", "autonomous_county", "county_level_city"),
        ),
        toys.rule("inc-prefecture", "incubation_base", "prefecture", value=2),
        toys.rule(
            "rural-county",
            "rural_help_base",
            "county",
            unit_kinds=("district", "county", "autonomous_county", "county_level_city"),
            strength="aspirational",
        ),
    )
    unemployed = toys.unemployed({"990102": 500, "990121": 300, "990281": 400, "990222": 100})
    return compute_gaps(policy, counties=UNITS, facilities=FACILITIES, unemployed=unemployed)


def test_mandatory_marks_counties_and_prefectures_apart(result):
    marks = gap_marks(result)
    assert marks == GapMarks(
        selection="mandatory",
        counties=("990281",),
        prefectures=("990200",),
        # the most missing first: 2 incubation bases, then 1 auxiliary institution
        missing={"incubation_base": 2, "auxiliary_institution": 1},
        rows_in_scope=5,  # aux-county: 乙县 丁市 戊县; inc-prefecture: 甲市 丙市
    )
    assert marks.units == 2


def test_aspirational_and_single_rule_selections(result):
    aspirational = gap_marks(result, "aspirational")
    assert aspirational.counties == ("990121", "990281")
    assert aspirational.prefectures == ()
    assert aspirational.missing == {"rural_help_base": 2}
    assert aspirational.rows_in_scope == 4
    rule = gap_marks(result, "inc-prefecture")
    assert (rule.counties, rule.prefectures, rule.missing) == (
        (),
        ("990200",),
        {"incubation_base": 2},
    )
    assert gap_marks(result, "no-such-rule").rows_in_scope == 0


def test_a_prefecture_or_a_county_is_summed_up_alone(result):
    jia = gap_marks(result, prefecture="990100")
    assert (jia.units, jia.rows_in_scope) == (0, 2)  # 乙县's aux row, 甲市's own row
    ding = gap_marks(result, county="990281", prefecture="990200")
    assert (ding.counties, ding.prefectures) == (("990281",), ("990200",))
    wu = gap_marks(result, county="990222", prefecture="990200")
    assert (wu.counties, wu.prefectures) == ((), ("990200",))


def test_headline_in_both_languages(result):
    marks = gap_marks(result)
    assert gap_headline(marks, scope="测试省") == (
        "测试省：1 个县级单位、1 个市（州）未达到约束性要求，"
        "缺 2 个残疾人创业孵化基地、1 个残疾人辅助性就业机构"
    )
    assert gap_headline(marks, scope="Toy", lang="en") == (
        "Toy: 1 county-level unit and 1 prefecture below the mandatory rules; "
        "missing 2 × Entrepreneurship incubation base, 1 × Auxiliary employment institution"
    )
    aspirational = gap_marks(result, "aspirational")
    assert gap_headline(aspirational, scope="测试省") == (
        "测试省：2 个县级单位未达到倡导性要求，缺 2 个农村残疾人就业帮扶基地"
    )
    assert gap_headline(aspirational, scope="Toy", lang="en").startswith(
        "Toy: 2 county-level units below the aspirational rules"
    )


def test_headline_when_nothing_fails_or_no_rule_applies(result):
    assert gap_headline(gap_marks(result, prefecture="990100"), scope="甲市") == (
        "甲市：所有单位均达到约束性要求"
    )
    # 东区 is a district: no mandatory county rule reads it literally (its prefecture's
    # rule is not asked for here: no prefecture given)
    district = gap_marks(result, county="990102")
    assert gap_headline(district, scope="东区") == "东区：这里没有单位适用约束性要求"
    assert gap_headline(district, scope="东区", lang="en") == (
        "东区: no unit here is subject to the mandatory rules"
    )


def test_unit_gap_text_says_what_each_county_misses(result):
    units = UNITS.set_index(pd.Index([10, 11, 12, 13]))
    before = units.copy()
    text = unit_gap_text(result, "mandatory", units)
    assert text.tolist() == [
        "无缺口",  # 东区: out of the aux rule, 甲市 has its incubation bases
        "无缺口",  # 乙县
        "缺 1 个残疾人辅助性就业机构、所属市（州）缺 2 个残疾人创业孵化基地",  # 丁市
        "所属市（州）缺 2 个残疾人创业孵化基地",  # 戊县
    ]
    assert text.index.tolist() == [10, 11, 12, 13]
    pd.testing.assert_frame_equal(units, before)
    english = unit_gap_text(result, "mandatory", units, lang="en")
    assert english[12] == (
        "short 1 × Auxiliary employment institution, "
        "prefecture short 2 × Entrepreneurship incubation base"
    )
    assert english[10] == "no gap"
