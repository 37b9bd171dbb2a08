"""Policy rules as data: loading and validating the files under ``data/policies``.

A policy is one TOML file per policy document (``jilin-2025-2027.toml`` ...). This module
owns its format, reads it and refuses a malformed file with a :class:`PolicyError` that
names the file, the line when it can be found, the key (``rules[3].strength``) and what
was expected. The coverage engine (:mod:`geoapp.analysis.coverage`) only ever sees validated
:class:`Policy` objects.

File format
-----------
Header keys: ``key`` (must equal the file name without ``.toml``), ``title``,
``document`` (文号; may be ``""`` when the source states none), ``issuer``,
``period = {start, end}`` (years), ``region = {adcode, name}``, ``seed`` (the source
text's file name), an optional ``title_en`` (the title an English page shows; the
Chinese title when absent) and an optional ``note``. Then any number of

``[[rules]]`` (facility counts per unit)
    ``id`` (lower-case, digits and ``-``; unique in the file), ``facility_type`` (a key of
    :data:`geoapp.facilities.FACILITY_TYPES`), ``level`` (``province``, ``prefecture``
    or ``county``), ``comparison`` (``at_least`` = 以上/至少, ``about`` = 左右),
    ``value`` (integer > 0), ``strength`` (``mandatory``, ``aspirational``, ``target``),
    ``clause`` (e.g. ``"二(二)4"``), ``quote`` (the seed's words, verbatim), optional
    ``note``. County-level rules also need ``unit_kinds`` (the kinds of county-level unit
    the literal reading covers, from :data:`geoapp.regions.UNIT_KINDS`) and may give
    ``broad_reading_adds`` (kinds the broad reading adds, e.g. ``["district"]`` for the
    “各县（市）” ambiguity). Prefecture and province rules have neither.

``[[people_targets]]`` (numbers of people, not facilities)
    ``id``, ``label``, ``comparison``, ``value``, ``clause``, ``quote``; optional
    ``unit`` (default ``"人"``), ``strength`` (default ``"target"``) and ``note``.

Ids are unique across rules and people targets, since both appear in one progress table.
"""

from __future__ import annotations

import functools
import math
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from geoapp.facilities import FACILITY_TYPES
from geoapp.paths import DATA_DIR
from geoapp.regions import UNIT_KINDS

__all__ = [
    "COMPARISONS",
    "COMPARISON_TABLE",
    "DEFAULT_POLICY",
    "LEVELS",
    "POLICY_DIR",
    "READINGS",
    "READING_TEXT",
    "STRENGTHS",
    "Comparison",
    "PeopleTarget",
    "Policy",
    "PolicyError",
    "Rule",
    "list_policies",
    "load_policy",
    "rule_unit_kinds",
]

POLICY_DIR = DATA_DIR / "policies"
DEFAULT_POLICY = "jilin-2025-2027"

LEVELS = ("province", "prefecture", "county")


@dataclass(frozen=True)
class Comparison:
    """How a rule's value is compared: its sign, the share of the value that counts as
    met, and its name in each language. Adding a comparison is one row of
    :data:`COMPARISON_TABLE`."""

    key: str
    sign: str
    share: float
    label_zh: str
    label_en: str

    def needed(self, value: float) -> int:
        """The smallest count that meets ``value`` (``about`` 10: 9)."""
        return math.ceil(value * self.share - 1e-9)

    def label(self, lang: str) -> str:
        return self.label_en if lang == "en" else self.label_zh


#: Every comparison a rule or target may use (以上/至少, 左右).
COMPARISON_TABLE: dict[str, Comparison] = {
    "at_least": Comparison("at_least", "≥", 1.0, "不少于（以上/至少）", "At least"),
    "about": Comparison("about", "≈", 0.9, "左右（约）", "About"),
}
COMPARISONS = tuple(COMPARISON_TABLE)
# The order is the priority of a gap list: mandatory gaps first.
STRENGTHS = ("mandatory", "aspirational", "target")
READINGS = ("literal", "broad")
READING_TEXT = {
    "literal": {
        "zh": "字面解读：“各县（市）”不含市辖区",
        "en": "literal reading: 各县（市） excludes city districts",
    },
    "broad": {
        "zh": "宽泛解读：“各县（市）”包含市辖区",
        "en": "broad reading: 各县（市） includes city districts",
    },
}

_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_ADCODE = re.compile(r"^\d{6}$")
_TOML_LINE = re.compile(r"at line (\d+)")


class PolicyError(ValueError):
    """A policy file that cannot be used: which file, where, and what was expected."""

    def __init__(self, file: Path | str, key: str, expected: str, *, line: int | None = None):
        self.file = str(file)
        self.key = key
        self.expected = expected
        self.line = line
        where = f"{self.file}, line {line}" if line else self.file
        super().__init__(f"{where}: {key}: {expected}")


@dataclass(frozen=True)
class Rule:
    """A facility-count rule of a policy: ``value`` facilities per unit of ``level``."""

    id: str
    facility_type: str
    level: str
    comparison: str
    value: int
    strength: str
    clause: str
    quote: str
    unit_kinds: tuple[str, ...] = ()
    broad_reading_adds: tuple[str, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class PeopleTarget:
    """A target counted in people (jobs, trainings ...), for the whole policy region."""

    id: str
    label: str
    comparison: str
    value: int
    clause: str
    quote: str
    unit: str = "人"
    strength: str = "target"
    note: str = ""


@dataclass(frozen=True)
class Policy:
    """One policy document, its facility rules and its people targets."""

    key: str
    title: str
    document: str
    issuer: str
    period_start: int
    period_end: int
    region_adcode: str
    region_name: str
    seed: str
    rules: tuple[Rule, ...]
    people_targets: tuple[PeopleTarget, ...] = ()
    note: str = ""
    path: Path | None = field(default=None, compare=False)
    title_en: str = ""

    def title_in(self, lang: str) -> str:
        """The title a page in ``lang`` shows: ``title_en`` in English when the file gives
        one, else the document's own (Chinese) title."""
        return self.title_en if lang == "en" and self.title_en else self.title

    @property
    def period(self) -> str:
        return f"{self.period_start}-{self.period_end}"

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id; ValueError listing the ids when there is none."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        msg = f"policy {self.key} has no rule {rule_id!r}; rules: {[r.id for r in self.rules]}"
        raise ValueError(msg)


def rule_unit_kinds(rule: Rule, reading: str = "literal") -> tuple[str, ...]:
    """The kinds of county-level unit a rule covers under a reading.

    The literal reading is ``rule.unit_kinds``; the broad reading adds
    ``rule.broad_reading_adds``. Prefecture and province rules cover no county-level
    unit and return ``()``.

    Examples
    --------
    >>> aux = Rule("aux-county", "auxiliary_institution", "county", "at_least", 1,
    ...            "mandatory", "二(二)4", "各县（市）至少建立1个",
    ...            unit_kinds=("county", "county_level_city"),
    ...            broad_reading_adds=("district",))
    >>> rule_unit_kinds(aux, "literal")
    ('county', 'county_level_city')
    >>> rule_unit_kinds(aux, "broad")
    ('district', 'county', 'county_level_city')
    """
    if reading not in READINGS:
        msg = f"unknown reading {reading!r}; expected one of {', '.join(READINGS)}"
        raise ValueError(msg)
    kinds = set(rule.unit_kinds)
    if reading == "broad":
        kinds |= set(rule.broad_reading_adds)
    return tuple(k for k in UNIT_KINDS if k in kinds)


def list_policies(*, directory: Path | None = None) -> list[str]:
    """Names of the policies shipped in ``data/policies`` (file names without ``.toml``)."""
    return sorted(p.stem for p in (directory or POLICY_DIR).glob("*.toml"))


def policy_path(name_or_path: str | Path, *, directory: Path | None = None) -> Path:
    """Resolve a policy name (``"jilin-2020"``) or a path to an existing file."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or text.endswith(".toml") or "/" in text or "\\" in text:
        path = Path(name_or_path)
        if not path.is_file():
            msg = f"policy file {path} does not exist"
            raise ValueError(msg)
        return path
    path = (directory or POLICY_DIR) / f"{text}.toml"
    if not path.is_file():
        available = ", ".join(list_policies(directory=directory)) or "none"
        msg = f"unknown policy {text!r}; available policies: {available}"
        raise ValueError(msg)
    return path


def load_policy(
    name_or_path: str | Path = DEFAULT_POLICY, *, directory: Path | None = None
) -> Policy:
    """Read and validate a policy.

    Parameters
    ----------
    name_or_path : str or Path
        A policy name resolved under ``data/policies`` (``"jilin-2025-2027"``), or the
        path of a ``.toml`` file.
    directory : Path, optional
        Where names are resolved instead of ``data/policies``.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the available policies).
    PolicyError
        For a malformed file: the message names the file, the key and what was expected.

    Examples
    --------
    >>> policy = load_policy("jilin-2025-2027")
    >>> policy.document, policy.rule("aux-county").unit_kinds
    ('吉政办发〔2025〕16号', ('county', 'autonomous_county', 'county_level_city'))
    """
    path = policy_path(name_or_path, directory=directory)
    stat = path.stat()
    return _load(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _load(path: Path, mtime_ns: int, size: int) -> Policy:
    """The policy in ``path`` (immutable, so kept: pages ask for it several times a
    run); an edited file has another time or size, so it is read again."""
    text = path.read_text(encoding="utf-8")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        line = int(match.group(1)) if match else None
        raise PolicyError(path, "(TOML syntax)", f"not valid TOML: {exc}", line=line) from None
    return _Validator(path, text).policy(raw)


# --- validation ------------------------------------------------------------------------

_HEADER_REQUIRED = ("key", "title", "document", "issuer", "period", "region", "seed")
_HEADER_OPTIONAL = ("title_en", "note", "rules", "people_targets")
_RULE_REQUIRED = (
    "id",
    "facility_type",
    "level",
    "comparison",
    "value",
    "strength",
    "clause",
    "quote",
)
_RULE_OPTIONAL = ("unit_kinds", "broad_reading_adds", "note")
_TARGET_REQUIRED = ("id", "label", "comparison", "value", "clause", "quote")
_TARGET_OPTIONAL = ("unit", "strength", "note")


def _one_of(choices: Iterable[str]) -> str:
    return "expected one of " + ", ".join(choices)


class _Validator:
    """Checks one parsed file; every error names the key and, when found, its line."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self.context = ""  # " (rule 'aux-county')" while checking that rule

    # errors -------------------------------------------------------------------------
    def fail(self, key: str, expected: str) -> NoReturn:
        raise PolicyError(self.path, key, expected + self.context, line=self._line_of(key))

    def _line_of(self, key: str) -> int | None:
        """Best-effort line of ``rules[2].value``-style keys in the file text."""
        match = re.match(r"^(rules|people_targets)\[(\d+)\](?:\.(\w+))?", key)
        if match:
            table, index, leaf = match.group(1), int(match.group(2)), match.group(3)
            header = re.compile(rf"^\s*\[\[\s*{table}\s*\]\]")
            starts = [i for i, line in enumerate(self.lines) if header.match(line)]
            if index >= len(starts):
                return None
            start = starts[index]
            if leaf:
                leaf_re = re.compile(rf"^\s*{leaf}\s*=")
                for i in range(start + 1, len(self.lines)):
                    if self.lines[i].lstrip().startswith("["):
                        break
                    if leaf_re.match(self.lines[i]):
                        return i + 1
            return start + 1
        top = key.split(".")[0].split("[")[0]
        top_re = re.compile(rf"^\s*{re.escape(top)}\s*=")
        for i, line in enumerate(self.lines):
            if line.lstrip().startswith("["):
                break
            if top_re.match(line):
                return i + 1
        return None

    # generic checks -------------------------------------------------------------------
    def keys(
        self, raw: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...]
    ) -> None:
        if not isinstance(raw, dict):
            self.fail(where or "(file)", f"expected a table, got {type(raw).__name__}")
        prefix = f"{where}." if where else ""
        for key in raw:
            if key not in required + optional:
                self.fail(f"{prefix}{key}", f"unknown key; {_one_of(required + optional)}")
        for key in required:
            if key not in raw:
                self.fail(f"{prefix}{key}", "required key is missing")

    def string(
        self, raw: dict, key: str, where: str, *, empty_ok: bool = False, default: str | None = None
    ) -> str:
        full = f"{where}.{key}" if where else key
        if key not in raw:
            if default is not None:
                return default
            self.fail(full, "required key is missing")
        value = raw[key]
        if not isinstance(value, str):
            self.fail(full, f"expected a string, got {type(value).__name__} {value!r}")
        if not empty_ok and not value.strip():
            self.fail(full, "expected a non-empty string")
        return value

    def integer(self, raw: dict, key: str, where: str, *, positive: bool = True) -> int:
        full = f"{where}.{key}" if where else key
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(full, f"expected an integer, got {type(value).__name__} {value!r}")
        if positive and value <= 0:
            self.fail(full, f"expected an integer > 0, got {value}")
        return value

    def choice(
        self,
        raw: dict,
        key: str,
        where: str,
        choices: tuple[str, ...],
        *,
        default: str | None = None,
    ) -> str:
        value = self.string(raw, key, where, default=default)
        if value not in choices:
            self.fail(f"{where}.{key}", f"{_one_of(choices)}, got {value!r}")
        return value

    def kinds(self, raw: dict, key: str, where: str) -> tuple[str, ...]:
        full = f"{where}.{key}"
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(
                full, f"expected a list of unit kinds ({', '.join(UNIT_KINDS)}), got {value!r}"
            )
        for kind in value:
            if kind not in UNIT_KINDS:
                self.fail(full, f"{_one_of(UNIT_KINDS)} for each item, got {kind!r}")
        if len(set(value)) != len(value):
            self.fail(full, f"expected each unit kind once, got {value!r}")
        return tuple(value)

    def array(self, raw: dict, key: str) -> list:
        value = raw.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.fail(key, f"expected an array of tables ([[{key}]]), got {type(value).__name__}")
        return value

    # the file -------------------------------------------------------------------------
    def policy(self, raw: dict) -> Policy:
        self.keys(raw, "", _HEADER_REQUIRED, _HEADER_OPTIONAL)
        key = self.string(raw, "key", "")
        if key != self.path.stem:
            self.fail(
                "key", f"expected the file name without .toml ({self.path.stem!r}), got {key!r}"
            )
        period, region = raw["period"], raw["region"]
        self.keys(period, "period", ("start", "end"), ())
        start = self.integer(period, "start", "period")
        end = self.integer(period, "end", "period")
        if end < start:
            self.fail("period.end", f"expected a year >= period.start ({start}), got {end}")
        self.keys(region, "region", ("adcode", "name"), ())
        adcode = self.string(region, "adcode", "region")
        if not _ADCODE.match(adcode):
            self.fail("region.adcode", f"expected a 6-digit adcode string, got {adcode!r}")
        rules = tuple(self.rule(r, i) for i, r in enumerate(self.array(raw, "rules")))
        targets = tuple(self.target(t, i) for i, t in enumerate(self.array(raw, "people_targets")))
        if not rules and not targets:
            self.fail("rules", "expected at least one [[rules]] or [[people_targets]] entry")
        seen: dict[str, str] = {}
        for table, items in (("rules", rules), ("people_targets", targets)):
            for i, item in enumerate(items):
                where = f"{table}[{i}].id"
                if item.id in seen:
                    self.fail(
                        where,
                        f"expected a unique id, got {item.id!r} again "
                        f"(first used at {seen[item.id]})",
                    )
                seen[item.id] = where
        return Policy(
            key=key,
            title=self.string(raw, "title", ""),
            document=self.string(raw, "document", "", empty_ok=True),
            issuer=self.string(raw, "issuer", ""),
            period_start=start,
            period_end=end,
            region_adcode=adcode,
            region_name=self.string(region, "name", "region"),
            seed=self.string(raw, "seed", ""),
            rules=rules,
            people_targets=targets,
            note=self.string(raw, "note", "", default=""),
            path=self.path,
            title_en=self.string(raw, "title_en", "", default=""),
        )

    def _ident(self, raw: dict, where: str) -> str:
        ident = self.string(raw, "id", where)
        if not _ID.match(ident):
            self.fail(f"{where}.id", f"expected lower-case letters, digits and '-', got {ident!r}")
        return ident

    def rule(self, raw: Any, index: int) -> Rule:
        where = f"rules[{index}]"
        self.context = f" (rule {raw['id']!r})" if isinstance(raw, dict) and "id" in raw else ""
        self.keys(raw, where, _RULE_REQUIRED, _RULE_OPTIONAL)
        ident = self._ident(raw, where)
        facility_type = self.choice(raw, "facility_type", where, FACILITY_TYPES)
        level = self.choice(raw, "level", where, LEVELS)
        unit_kinds = self.kinds(raw, "unit_kinds", where)
        adds = self.kinds(raw, "broad_reading_adds", where)
        if level == "county":
            if not unit_kinds:
                self.fail(
                    f"{where}.unit_kinds",
                    "a county-level rule needs unit_kinds: "
                    f"a non-empty list of {', '.join(UNIT_KINDS)}",
                )
            overlap = sorted(set(unit_kinds) & set(adds))
            if overlap:
                self.fail(
                    f"{where}.broad_reading_adds",
                    f"expected kinds not already in unit_kinds, got {overlap}",
                )
        else:
            for key in ("unit_kinds", "broad_reading_adds"):
                if key in raw:
                    self.fail(
                        f"{where}.{key}",
                        f"expected no {key} on a {level}-level rule "
                        "(only county-level rules choose unit kinds)",
                    )
        rule = Rule(
            id=ident,
            facility_type=facility_type,
            level=level,
            comparison=self.choice(raw, "comparison", where, COMPARISONS),
            value=self.integer(raw, "value", where),
            strength=self.choice(raw, "strength", where, STRENGTHS),
            clause=self.string(raw, "clause", where),
            quote=self.string(raw, "quote", where),
            unit_kinds=unit_kinds,
            broad_reading_adds=adds,
            note=self.string(raw, "note", where, default=""),
        )
        self.context = ""
        return rule

    def target(self, raw: Any, index: int) -> PeopleTarget:
        where = f"people_targets[{index}]"
        self.context = f" (target {raw['id']!r})" if isinstance(raw, dict) and "id" in raw else ""
        self.keys(raw, where, _TARGET_REQUIRED, _TARGET_OPTIONAL)
        target = PeopleTarget(
            id=self._ident(raw, where),
            label=self.string(raw, "label", where),
            comparison=self.choice(raw, "comparison", where, COMPARISONS),
            value=self.integer(raw, "value", where),
            clause=self.string(raw, "clause", where),
            quote=self.string(raw, "quote", where),
            unit=self.string(raw, "unit", where, default="人"),
            strength=self.choice(raw, "strength", where, STRENGTHS, default="target"),
            note=self.string(raw, "note", where, default=""),
        )
        self.context = ""
        return target
