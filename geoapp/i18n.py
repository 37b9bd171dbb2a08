"""Labels in Chinese (the default) and English, from the one table ``data/i18n.toml``.

The facility types' names come from their own table (``data/facility_types.toml``) as
``facility_type.<key>``, the comparisons' from :data:`geoapp.policy.COMPARISON_TABLE` as
``comparison.<key>``. Both languages must carry the same keys: the table is checked when loaded, so a label
added in one language only is an error at start-up, not a blank on a page.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import tomllib
from functools import lru_cache
from pathlib import Path

from geoapp.facilities import load_types
from geoapp.paths import DATA_DIR, cache_dir, own_file
from geoapp.policy import COMPARISON_TABLE

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
I18N_PATH = DATA_DIR / "i18n.toml"


@lru_cache(maxsize=4)
def load_table(path: Path = I18N_PATH) -> dict[str, dict[str, str]]:
    """Read and validate the label table."""
    table = _parsed(path)
    missing = [lang for lang in LANGUAGES if lang not in table]
    if missing:
        msg = f"{path}: missing language section(s) {missing}; expected {list(LANGUAGES)}"
        raise ValueError(msg)
    keys = {lang: set(table[lang]) for lang in LANGUAGES}
    for lang in LANGUAGES:
        for other in LANGUAGES:
            extra = sorted(keys[lang] - keys[other])
            if extra:
                msg = f"{path}: key(s) {extra} are in [{lang}] but not in [{other}]"
                raise ValueError(msg)
    for key, ftype in load_types().items():
        for lang in LANGUAGES:
            table[lang][f"facility_type.{key}"] = ftype.label(lang)
    for key, comparison in COMPARISON_TABLE.items():
        for lang in LANGUAGES:
            table[lang][f"comparison.{key}"] = comparison.label(lang)
    return table


def _parsed(path: Path) -> dict[str, dict[str, str]]:
    """The TOML file as parsed, through a JSON copy in the user's cache folder keyed by
    a SHA-256 of the file's bytes: parsing the TOML costs every command 30-50 ms,
    reading the JSON 2 ms. A copy that is missing, unreadable, not the user's own or
    of other bytes is never an error: the TOML is parsed (and the copy written back
    when the folder can be written)."""
    data = path.read_bytes()
    copy = cache_dir() / f"i18n-{hashlib.sha256(data).hexdigest()[:32]}.json"
    with contextlib.suppress(OSError, ValueError):
        if own_file(copy):
            table = json.loads(copy.read_text(encoding="utf-8"))
            if isinstance(table, dict) and all(isinstance(v, dict) for v in table.values()):
                return table
    table = tomllib.loads(data.decode("utf-8"))
    with contextlib.suppress(OSError):
        copy.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=copy.parent, prefix=".i18n.", delete=False
        ) as f:
            json.dump(table, f, ensure_ascii=False)
        os.replace(f.name, copy)  # readers see no copy or a whole one
    return table


def t(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The label for ``key`` in ``lang``.

    Raises
    ------
    KeyError
        For an unknown key, naming it, so a typo fails loudly in tests.
    """
    table = load_table()
    if lang not in table:
        msg = f"unknown language {lang!r}; expected one of {LANGUAGES}"
        raise ValueError(msg)
    try:
        return table[lang][key]
    except KeyError:
        msg = f"no label {key!r} in {I18N_PATH}"
        raise KeyError(msg) from None


def label_map(prefix: str, lang: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """All labels under ``prefix.`` keyed by the rest, e.g. ``label_map("unit_kind")``."""
    table = load_table()[lang]
    start = prefix + "."
    return {k[len(start) :]: v for k, v in table.items() if k.startswith(start)}


#: The kind of a region by the last character of its Chinese name (自治区 ends in 区 but
#: is a province-level region: looked for first).
_WHOLE_KINDS = (("自治区", "region"), ("省", "province"), ("市", "city"), ("区", "district"),
                ("县", "county"), ("州", "prefecture"), ("盟", "league"), ("旗", "banner"))  # fmt: skip


def whole_area(name: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """How a page says "the whole region" of a policy or data region named ``name``:
    全省 for 吉林省, 全市 for 盘锦市 or 重庆市, 全区 for 江津区; ``province``, ``city``,
    ``district`` in English (as in "province-wide").

    >>> whole_area("吉林省"), whole_area("盘锦市"), whole_area("江津区", "en")
    ('全省', '全市', 'district')
    >>> whole_area("宁夏回族自治区"), whole_area("Toy")
    ('全区', '全域')
    """
    kind = next((k for suffix, k in _WHOLE_KINDS if name.endswith(suffix)), "other")
    return t(f"whole.{kind}", lang)
