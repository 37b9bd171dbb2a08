"""The label table and the facility-type table are data, validated when loaded."""

from __future__ import annotations

import tomllib

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


# ------------------------------------------------------------------ the cached copy


@pytest.fixture
def table_copy(tmp_path, monkeypatch):
    """A copy of the label table and an empty cache folder of this test's own."""
    monkeypatch.setenv("GEOAPP_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "i18n.toml"
    path.write_bytes(i18n.I18N_PATH.read_bytes())
    return path


def _parse_counted(monkeypatch) -> list:
    parsed = []
    real = tomllib.loads
    monkeypatch.setattr(i18n.tomllib, "loads", lambda text: parsed.append(1) or real(text))
    return parsed


def test_the_table_is_parsed_once_then_read_from_its_json_copy(table_copy, monkeypatch):
    want = tomllib.loads(table_copy.read_text(encoding="utf-8"))
    parsed = _parse_counted(monkeypatch)
    first = i18n._parsed(table_copy)
    assert first == want and parsed == [1]
    copies = list((table_copy.parent / "cache").glob("i18n-*.json"))
    assert len(copies) == 1 and copies[0].stat().st_mode & 0o077 == 0  # the user's alone
    assert i18n._parsed(table_copy) == first and parsed == [1]  # from the copy


def test_an_edited_table_is_parsed_again(table_copy, monkeypatch):
    i18n._parsed(table_copy)
    text = table_copy.read_text(encoding="utf-8")
    table_copy.write_text(text.replace("[zh]", '[zh]\n"test.key" = "新"', 1), encoding="utf-8")
    parsed = _parse_counted(monkeypatch)
    assert i18n._parsed(table_copy)["zh"]["test.key"] == "新" and parsed == [1]


@pytest.mark.parametrize("spoil", ["corrupt", "group_writable", "not_a_table"])
def test_a_copy_that_cannot_be_trusted_is_not_read(table_copy, monkeypatch, spoil):
    want = i18n._parsed(table_copy)
    (copy,) = (table_copy.parent / "cache").glob("i18n-*.json")
    if spoil == "corrupt":
        copy.write_text('{"zh": {', encoding="utf-8")
    elif spoil == "group_writable":
        copy.write_text('{"zh": {}, "en": {}}', encoding="utf-8")
        copy.chmod(0o664)
    else:
        copy.write_text('["zh"]', encoding="utf-8")
    parsed = _parse_counted(monkeypatch)
    assert i18n._parsed(table_copy) == want and parsed == [1]


def test_a_cache_folder_that_cannot_be_written_is_no_error(table_copy, monkeypatch):
    blocker = table_copy.parent / "blocker"
    blocker.write_text("a file where the folder would be", encoding="utf-8")
    monkeypatch.setenv("GEOAPP_CACHE_DIR", str(blocker / "cache"))
    assert i18n._parsed(table_copy) == tomllib.loads(table_copy.read_text(encoding="utf-8"))
