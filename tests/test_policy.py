"""Tests for geoapp.policy: the shipped policy files and the validation of malformed ones."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from geoapp.facilities import FACILITY_TYPES
from geoapp.policy import (
    DEFAULT_POLICY,
    POLICY_DIR,
    READINGS,
    PolicyError,
    list_policies,
    load_policy,
    rule_unit_kinds,
)
from geoapp.regions import UNIT_KINDS

SHIPPED = [
    "jiangjin-2022-2024",
    "jilin-2020",
    "jilin-2022-2024",
    "jilin-2025-2027",
    "panjin-2022-2024",
]
SEEDS_DIR = Path(os.environ.get("GEOAPP_SEEDS_DIR", "/work/shared/seeds"))

# A small valid policy; each malformed case below changes one line of it.
VALID = """\
key = "toy"
title = "测试方案"
document = "测试〔2025〕1号"
issuer = "测试办公室"
period = { start = 2025, end = 2027 }
region = { adcode = "990000", name = "测试省" }
seed = "toy.txt"

[[rules]]
id = "aux-county"
facility_type = "auxiliary_institution"
level = "county"
unit_kinds = ["county", "county_level_city"]
broad_reading_adds = ["district"]
comparison = "at_least"
value = 1
strength = "mandatory"
clause = "二(二)4"
quote = "各县（市）至少建立1个残疾人辅助性就业机构"

[[rules]]
id = "inc-prefecture"
facility_type = "incubation_base"
level = "prefecture"
comparison = "at_least"
value = 1
strength = "aspirational"
clause = "二(二)3"
quote = "各市（州）至少稳定发展1个"

[[people_targets]]
id = "jobs-new"
label = "新增就业"
comparison = "at_least"
value = 100
clause = "一"
quote = "新增就业100人以上"
"""


def write(tmp_path: Path, text: str, name: str = "toy") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- shipped policies ------------------------------------------------------------------------


def test_shipped_policies_are_listed_and_the_default_is_among_them():
    assert list_policies() == SHIPPED
    assert DEFAULT_POLICY == "jilin-2025-2027"


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_policy_loads(name):
    policy = load_policy(name)
    assert policy.key == name
    assert policy.path == POLICY_DIR / f"{name}.toml"
    assert policy.rules or policy.people_targets
    for rule in policy.rules:
        assert rule.facility_type in FACILITY_TYPES
        assert set(rule.unit_kinds) <= set(UNIT_KINDS)
        assert rule.quote and rule.clause


@pytest.mark.parametrize("name", SHIPPED)
def test_every_quote_is_verbatim_in_its_seed(name):
    policy = load_policy(name)
    seed = SEEDS_DIR / policy.seed
    if not seed.is_file():
        pytest.skip(f"seed texts not available ({seed})")
    text = seed.read_text(encoding="utf-8")
    quotes = [r.quote for r in policy.rules] + [t.quote for t in policy.people_targets]
    missing = [q for q in quotes if q not in text]
    assert missing == []
    if policy.document:
        # The 2022 seed writes the number in traditional characters.
        traditional = policy.document.translate(str.maketrans("办发号", "辦發號"))
        assert policy.document in text or traditional in text


def test_default_policy_matches_the_domain_table():
    policy = load_policy(DEFAULT_POLICY)
    assert policy.document == "吉政办发〔2025〕16号"
    assert (policy.period_start, policy.period_end) == (2025, 2027)
    assert (policy.region_adcode, policy.region_name) == ("220000", "吉林省")
    got = {
        r.id: (r.facility_type, r.level, r.comparison, r.value, r.strength, r.clause)
        for r in policy.rules
    }
    assert got == {
        "inc-prefecture": ("incubation_base", "prefecture", "at_least", 1, "mandatory", "二(二)3"),
        "inc-county": ("incubation_base", "county", "at_least", 1, "aspirational", "二(二)3"),
        "inc-province": ("incubation_base", "province", "about", 80, "target", "二(二)3"),
        "workshop-province": (
            "beautiful_workshop",
            "province",
            "at_least",
            28,
            "aspirational",
            "二(二)3",
        ),
        "aux-county": ("auxiliary_institution", "county", "at_least", 1, "mandatory", "二(二)4"),
        "aux-province": ("auxiliary_institution", "province", "about", 100, "target", "二(二)4"),
        "rural-county": ("rural_help_base", "county", "at_least", 1, "aspirational", "二(三)6"),
        "rural-province": ("rural_help_base", "province", "about", 120, "target", "二(三)6"),
        "massage-province": (
            "massage_institution",
            "province",
            "at_least",
            400,
            "target",
            "二(三)7",
        ),
    }
    non_districts = ("county", "autonomous_county", "county_level_city")
    for rule_id in ("aux-county", "rural-county"):
        assert policy.rule(rule_id).unit_kinds == non_districts
        assert policy.rule(rule_id).broad_reading_adds == ("district",)
    assert policy.rule("inc-county").unit_kinds == UNIT_KINDS
    targets = {t.id: (t.comparison, t.value) for t in policy.people_targets}
    assert targets["jobs-new"] == ("at_least", 25000)
    assert targets["trainings"] == ("about", 30000)
    assert targets["aux-employed"] == ("at_least", 1500)
    assert targets["massage-practitioners"] == ("about", 1500)
    assert targets["workshop-women"] == ("about", 1000)


def test_other_regions_use_the_same_model():
    jiangjin = load_policy("jiangjin-2022-2024")
    (aux,) = jiangjin.rules
    assert (jiangjin.region_adcode, jiangjin.document) == ("500116", "江津府办发〔2023〕15号")
    assert (aux.level, aux.unit_kinds, aux.comparison, aux.value, aux.strength) == (
        "county",
        ("district",),
        "at_least",
        1,
        "mandatory",
    )
    panjin = load_policy("panjin-2022-2024")
    assert panjin.rules == ()
    assert {t.id: t.value for t in panjin.people_targets} == {"jobs-new": 800, "trainings": 1200}
    jilin_2020 = load_policy("jilin-2020")
    assert {(r.level, r.value, r.strength) for r in jilin_2020.rules} == {
        ("prefecture", 1, "aspirational"),
        ("county", 1, "aspirational"),
    }
    assert all(r.note for r in jilin_2020.rules)  # "no number in the text" is recorded


def test_unknown_name_lists_the_available_policies():
    with pytest.raises(ValueError, match="unknown policy 'jilin-2030'") as info:
        load_policy("jilin-2030")
    for name in SHIPPED:
        assert name in str(info.value)


def test_a_path_loads_and_a_missing_path_is_refused(tmp_path):
    assert load_policy(write(tmp_path, VALID)).key == "toy"
    assert load_policy(str(tmp_path / "toy.toml")).title == "测试方案"
    with pytest.raises(ValueError, match="does not exist"):
        load_policy(tmp_path / "nope.toml")


def test_valid_toy_policy_round_trips(tmp_path):
    policy = load_policy(write(tmp_path, VALID))
    aux, inc = policy.rules
    assert aux.unit_kinds == ("county", "county_level_city")
    assert inc.unit_kinds == () and inc.broad_reading_adds == ()
    (jobs,) = policy.people_targets
    assert (jobs.unit, jobs.strength) == ("人", "target")  # defaults
    assert policy.period == "2025-2027"


def test_policies_are_frozen(tmp_path):
    policy = load_policy(write(tmp_path, VALID))
    with pytest.raises(AttributeError):
        policy.rules[0].value = 2  # type: ignore[misc]


# --- readings ---------------------------------------------------------------------------------


def test_rule_unit_kinds_by_reading():
    policy = load_policy(DEFAULT_POLICY)
    aux = policy.rule("aux-county")
    assert rule_unit_kinds(aux, "literal") == ("county", "autonomous_county", "county_level_city")
    assert rule_unit_kinds(aux, "broad") == UNIT_KINDS
    inc = policy.rule("inc-county")
    assert rule_unit_kinds(inc, "literal") == rule_unit_kinds(inc, "broad") == UNIT_KINDS
    assert rule_unit_kinds(policy.rule("inc-prefecture"), "broad") == ()
    assert READINGS == ("literal", "broad")
    with pytest.raises(ValueError, match="expected one of literal, broad"):
        rule_unit_kinds(aux, "wide")


# --- malformed files ---------------------------------------------------------------------------

MALFORMED = {
    "bad strength": (
        ('strength = "aspirational"', 'strength = "must"'),
        "rules[1].strength",
        "expected one of mandatory, aspirational, target, got 'must'",
    ),
    "unknown key": (
        ('clause = "二(二)4"', 'clause = "二(二)4"\ncolour = "red"'),
        "rules[0].colour",
        "unknown key; expected one of id, facility_type",
    ),
    "missing quote": (
        ('quote = "各县（市）至少建立1个残疾人辅助性就业机构"\n', ""),
        "rules[0].quote",
        "required key is missing",
    ),
    "bad facility type": (
        ('facility_type = "incubation_base"', 'facility_type = "incubator"'),
        "rules[1].facility_type",
        (
            "expected one of incubation_base, rural_help_base, massage_institution, "
            "auxiliary_institution, vocational_school, beautiful_workshop, got 'incubator'"
        ),
    ),
    "duplicate id": (
        ('id = "inc-prefecture"', 'id = "aux-county"'),
        "rules[1].id",
        "expected a unique id, got 'aux-county' again (first used at rules[0].id)",
    ),
    "id shared with a people target": (
        ('id = "jobs-new"', 'id = "aux-county"'),
        "people_targets[0].id",
        "expected a unique id",
    ),
    "zero value": (
        ("value = 100", "value = 0"),
        "people_targets[0].value",
        "expected an integer > 0, got 0",
    ),
    "string value": (
        ("value = 100", 'value = "100"'),
        "people_targets[0].value",
        "expected an integer, got str '100'",
    ),
    "float value": (
        ("value = 100", "value = 100.5"),
        "people_targets[0].value",
        "expected an integer, got float 100.5",
    ),
    "bad comparison": (
        ('comparison = "at_least"\nvalue = 100', 'comparison = "more"\nvalue = 100'),
        "people_targets[0].comparison",
        "expected one of at_least, about, got 'more'",
    ),
    "bad level": (
        ('level = "prefecture"', 'level = "city"'),
        "rules[1].level",
        "expected one of province, prefecture, county, got 'city'",
    ),
    "bad unit kind": (
        ('unit_kinds = ["county", "county_level_city"]', 'unit_kinds = ["county", "city"]'),
        "rules[0].unit_kinds",
        (
            "expected one of district, county, autonomous_county, county_level_city for each "
            "item, got 'city'"
        ),
    ),
    "county rule without unit kinds": (
        ('unit_kinds = ["county", "county_level_city"]\n', ""),
        "rules[0].unit_kinds",
        "a county-level rule needs unit_kinds",
    ),
    "prefecture rule with unit kinds": (
        ('level = "prefecture"', 'level = "prefecture"\nunit_kinds = ["county"]'),
        "rules[1].unit_kinds",
        "expected no unit_kinds on a prefecture-level rule",
    ),
    "broad reading repeats a kind": (
        ('broad_reading_adds = ["district"]', 'broad_reading_adds = ["county"]'),
        "rules[0].broad_reading_adds",
        "expected kinds not already in unit_kinds, got ['county']",
    ),
    "empty quote": (
        ('quote = "各市（州）至少稳定发展1个"', 'quote = ""'),
        "rules[1].quote",
        "expected a non-empty string",
    ),
    "missing header key": (
        ('issuer = "测试办公室"\n', ""),
        "issuer",
        "required key is missing",
    ),
    "unknown header key": (
        ('seed = "toy.txt"', 'seed = "toy.txt"\nyear = 2025'),
        "year",
        "unknown key; expected one of key, title, document",
    ),
    "key differs from file name": (
        ('key = "toy"', 'key = "toy-2"'),
        "key",
        "expected the file name without .toml ('toy'), got 'toy-2'",
    ),
    "bad region adcode": (
        ('adcode = "990000"', 'adcode = "99"'),
        "region.adcode",
        "expected a 6-digit adcode string, got '99'",
    ),
    "period backwards": (
        ("period = { start = 2025, end = 2027 }", "period = { start = 2025, end = 2024 }"),
        "period.end",
        "expected a year >= period.start (2025), got 2024",
    ),
    "TOML syntax error": (
        ("value = 100", "value = = 100"),
        "(TOML syntax)",
        "not valid TOML",
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_file_names_file_key_and_expectation(tmp_path, case):
    (old, new), key, expected = MALFORMED[case]
    assert old in VALID, "the case must change the valid text"
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert "toy.toml" in message
    assert f": {key}: " in message
    assert expected in message
    assert isinstance(info.value, ValueError)
    assert (info.value.key, info.value.file) == (key, str(path))


def test_error_gives_the_line_of_the_offending_key(tmp_path):
    text = VALID.replace('strength = "aspirational"', 'strength = "must"')
    path = write(tmp_path, text)
    line = text.splitlines().index('strength = "must"') + 1
    with pytest.raises(PolicyError, match=rf"toy\.toml, line {line}: rules\[1\]\.strength") as info:
        load_policy(path)
    assert info.value.line == line
    assert "(rule 'inc-prefecture')" in str(info.value)


def test_syntax_error_reports_the_line_from_tomllib(tmp_path):
    text = VALID.replace("value = 100", "value = = 100")
    path = write(tmp_path, text)
    line = text.splitlines().index("value = = 100") + 1
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert info.value.line == line
    assert re.search(rf"toy\.toml, line {line}: \(TOML syntax\): not valid TOML", str(info.value))


def test_a_file_with_neither_rules_nor_targets_is_refused(tmp_path):
    header = VALID.split("[[rules]]")[0]
    with pytest.raises(PolicyError, match="expected at least one"):
        load_policy(write(tmp_path, header))
