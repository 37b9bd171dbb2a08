"""What a column heading says: its compared forms, the heading families, the closest field.

This module owns how a heading is compared with the field synonyms of
:mod:`geoapp.ingest.fields`:

- :func:`header_key`, the exact comparison (NFKC, lower case, no spaces or ``* : _ - .``);
- :func:`family_field`, the families a Chinese office writes (所属县（市、区）, 区（县、市）,
  所在地区, 城市名称, X坐标, 经度（E）, 基地类型, 详细地址 ...), recognised by normalising the
  heading (brackets, separators, a 所属/所在/归属/隶属 prefix and a 名称/名 suffix
  removed) and reading what is left, rather than by listing every spelling;
- :func:`closest_field`, the field whose synonym an unused heading most resembles;
- :class:`HeaderNote`, what header detection says about one column, as an i18n key of
  ``data/i18n.toml`` and its parameters.

It imports :mod:`geoapp.i18n` only (to render a note).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from geoapp.i18n import t

__all__ = [
    "HeaderNote",
    "closest_field",
    "family_field",
    "family_key",
    "header_key",
]

# Characters an area heading is made of once its prefix and suffix are gone: 县（市、区）
# is 县市区, 市（州）is 市州, 地区, 城市, 县级, 旗 (Inner Mongolia's counties), 盟.
_AREA_CHARS = frozenset("县区市州地城盟旗级")
_AREA_UNITS = frozenset("县区市州盟旗")
_PREFIXES = ("所属", "所在", "归属", "隶属")
# What a facility is called in a heading such as 孵化基地名称 or 机构类型.
_ENTITIES = (
    "机构",
    "单位",
    "基地",
    "设施",
    "企业",
    "组织",
    "场所",
    "工坊",
    "学校",
    "院校",
    "中心",
    "之家",
    "家园",
    "站点",
)
_ADDRESS_WORDS = ("详细", "具体", "实际", "办公", "经营", "注册", "通讯", "通信", "联系")
_LON_WORDS = frozenset(("经度", "东经", "经", "e", "x", "lon", "lng", "long", "longitude"))
_LAT_WORDS = frozenset(("纬度", "北纬", "纬", "n", "y", "lat", "latitude"))
_BRACKETS_AND_SEPARATORS = re.compile(r"[\s*:_\-.()\[\]{}<>【】〔〕《》〈〉「」、,，/;；|\\]+")


def header_key(value: Any) -> str:
    """A heading as compared with the synonyms: NFKC, lower case, no spaces or ``* : _ - .``."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).lower()
    return re.sub(r"[\s*:_\-.]+", "", text)


def family_key(value: Any) -> str:
    """A heading as its family is read: :func:`header_key` without brackets (their text
    kept) or separators: 县（市、区）→ 县市区, 经度（E）→ 经度e."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).lower()
    return _BRACKETS_AND_SEPARATORS.sub("", text)


def family_field(value: Any) -> tuple[str, str] | None:
    """The field a heading's family names, and the part of it that decided.

    The rules, in order (on :func:`family_key`):

    1. Coordinates: 经 and 纬 together (经纬度, 坐标（经度、纬度）) is the one-column
       ``coords``; a heading containing 经度 / 纬度, or one of 东经, 北纬, x, y, lng, lat
       ... once 坐标 is removed (X坐标, 坐标Y), is ``lon`` / ``lat``.
    2. A prefix 所属, 所在, 归属 or 隶属 and a suffix 名称 or 名 are removed. What is left
       is an area when it is made of 县区市州地城盟旗级 only and names a unit: with 县 or
       旗 it is the ``county`` (县区, 区县, 县市区, 县级), else with 地 the ``city`` (地区,
       地市), else with 区 the ``county``, else (市州, 城市, 州市, 盟) the ``city``.
    3. After a prefix only an area or an address (所在地址) is read: 所属单位 is the
       organisation a facility belongs to, not its name.
    4. ``name``: a 名称 / 名 suffix after nothing or after a word for a facility (机构,
       单位, 基地 ...); ``type``: 类别, 类型, 种类 or 分类 after nothing or such a word;
       ``address``: 地址, 地点 or 住址 after nothing, such a word or 详细, 具体, 通讯 ...

    Returns
    -------
    (field, stem) or None
        ``stem`` is the normalised part the decision read (县市区 for 所属县（市、区）).

    Examples
    --------
    >>> family_field("所属县（市、区）")
    ('county', '县市区')
    >>> family_field("所在地区")
    ('city', '地区')
    >>> family_field("孵化基地名称")
    ('name', '孵化基地')
    >>> family_field("所属单位") is None
    True
    """
    key = family_key(value)
    if not key:
        return None
    found = _coordinate_family(key)
    if found is not None:
        return found
    stem, prefixed = key, False
    for prefix in _PREFIXES:
        if stem.startswith(prefix) and len(stem) > len(prefix):
            stem, prefixed = stem[len(prefix) :], True
            break
    base = _strip_suffix(stem, ("名称", "名"))
    area = _area_field(base)
    if area is not None:
        return area, base
    if prefixed:
        return ("address", stem) if stem.endswith(("地址", "地点", "住址")) else None
    return _facility_family(stem)


def _coordinate_family(key: str) -> tuple[str, str] | None:
    if "经" in key and "纬" in key:
        return "coords", key
    bare = key.replace("坐标", "") or key
    if "经度" in key or bare in _LON_WORDS:
        return "lon", bare
    if "纬度" in key or bare in _LAT_WORDS:
        return "lat", bare
    return None


def _strip_suffix(text: str, suffixes: tuple[str, ...]) -> str:
    for suffix in suffixes:
        if text.endswith(suffix):
            return text[: -len(suffix)]
    return text


def _area_field(stem: str) -> str | None:
    chars = set(stem)
    if not stem or not chars <= _AREA_CHARS or not chars & _AREA_UNITS:
        return None
    if "县" in chars or "旗" in chars:
        return "county"
    if "地" in chars:
        return "city"
    return "county" if "区" in chars else "city"


def _facility_family(key: str) -> tuple[str, str] | None:
    """``name``, ``type`` or ``address`` by the heading's ending (rule 4)."""

    def names_facility(rest: str, *, more: tuple[str, ...] = ()) -> bool:
        return rest == "" or rest.endswith(_ENTITIES) or rest in more

    for suffix in ("名称", "名"):
        rest = key[: -len(suffix)]
        if key.endswith(suffix) and names_facility(rest):
            return "name", rest or key
    for suffix in ("类别", "类型", "种类", "分类"):
        rest = key[: -len(suffix)]
        if key.endswith(suffix) and names_facility(rest):
            return "type", rest or key
    for suffix in ("地址", "地点", "住址"):
        rest = key[: -len(suffix)]
        if key.endswith(suffix) and names_facility(rest, more=_ADDRESS_WORDS):
            return "address", rest or key
    return None


def closest_field(value: Any, fields: Mapping[str, Iterable[str]]) -> str | None:
    """The field with the synonym most like the heading (difflib ratio ≥ 0.6), or None.

    >>> closest_field("机构全称", {"name": ("机构名称",), "address": ("地址",)})
    'name'
    """
    key = header_key(value)
    if not key:
        return None
    spellings: dict[str, str] = {}
    for name, synonyms in fields.items():
        for spelling in (name, *synonyms):
            spellings.setdefault(header_key(spelling), name)
    match = difflib.get_close_matches(key, list(spellings), n=1, cutoff=0.6)
    return spellings[match[0]] if match else None


@dataclass(frozen=True)
class HeaderNote:
    """What header detection says about one column: an i18n key and its parameters.

    ``params`` holds plain data (the heading as written, a field key, numbers);
    :meth:`text` renders it, the field key ``field`` shown by its label.
    """

    key: str  # e.g. "header.note.family"
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "zh") -> str:
        """The note in ``lang``: ``t(key, lang).format(**params)`` with field labels."""
        params = dict(self.params)
        if "field" in params:
            params["field"] = t(f"field.{params['field']}", lang)
        return t(self.key, lang).format(**params)
