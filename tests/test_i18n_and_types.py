"""The label table and the facility-type table are data, validated when loaded."""

from __future__ import annotations

import pytest

from geoapp import facilities, i18n


def test_both_languages_have_the_same_keys():
    table = i18n.load_table()
    assert set(table["zh"]) == set(table["en"])


def test_chinese_is_the_default():
    assert i18n.t("facility_type.auxiliary_institution") == "残疾人辅助性就业机构"
    assert i18n.t("facility_type.auxiliary_institution", "en") == "Auxiliary employment institution"


def test_every_facility_type_and_unit_kind_has_labels():
    for lang in i18n.LANGUAGES:
        assert set(i18n.label_map("facility_type", lang)) == set(facilities.FACILITY_TYPES)
        assert set(i18n.label_map("unit_kind", lang)) == {
            "district",
            "county",
            "autonomous_county",
            "county_level_city",
            "prefecture",
        }


def test_unknown_key_names_it():
    with pytest.raises(KeyError, match="no.such.key"):
        i18n.t("no.such.key")


def test_one_sided_label_is_refused(tmp_path):
    bad = tmp_path / "i18n.toml"
    bad.write_text('[zh]\n"a" = "甲"\n"b" = "乙"\n[en]\n"a" = "A"\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"\['b'\] are in \[zh\] but not in \[en\]"):
        i18n.load_table(bad)


def test_facility_types_have_distinct_colours_and_marks():
    types = facilities.load_types()
    assert list(types) == list(facilities.FACILITY_TYPES)
    assert len({t.colour for t in types.values()}) == 6
    assert len({t.mark for t in types.values()}) == 6
    assert "就业（扶贫）基地" in types["rural_help_base"].synonyms


def test_bad_colour_is_refused_with_the_key(tmp_path):
    text = facilities.TYPES_PATH.read_text(encoding="utf-8").replace('"#0072B2"', '"blue"')
    bad = tmp_path / "types.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"\[incubation_base\] colour 'blue'"):
        facilities.load_types(bad)


def test_counts_by_county_fills_zeros():
    import pandas as pd

    counties = pd.DataFrame({"adcode": ["1", "2", "3"]})
    points = pd.DataFrame(
        {
            "adcode": ["1", "1", "3"],
            "facility_type": ["incubation_base", "massage_institution", "incubation_base"],
        }
    )
    out = facilities.counts_by_county(points, counties).set_index("adcode")
    assert out.loc["1", "incubation_base"] == 1 and out.loc["1", "total"] == 2
    assert out.loc["2", "total"] == 0
    assert out.loc["3", "auxiliary_institution"] == 0
