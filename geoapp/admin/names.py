"""Register spellings as matching keys: normalisation, adcodes and short forms.

Owns the text rules of the administrative registry: how a spelling is normalised
(:func:`normalise_name`), when a value is a 6-digit adcode (:func:`as_adcode`), which
short forms an official name has (:func:`short_forms`) and what counts as blank. Imports
nothing of geoapp.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata

import pandas as pd

__all__ = [
    "ETHNIC_GROUPS",
    "as_adcode",
    "clean_text",
    "is_blank",
    "normalise_name",
    "short_forms",
]

# The 56 ethnic groups of China, as they appear in the names of autonomous units.
ETHNIC_GROUPS: tuple[str, ...] = (
    "汉族",
    "蒙古族",
    "回族",
    "藏族",
    "维吾尔族",
    "苗族",
    "彝族",
    "壮族",
    "布依族",
    "朝鲜族",
    "满族",
    "侗族",
    "瑶族",
    "白族",
    "土家族",
    "哈尼族",
    "哈萨克族",
    "傣族",
    "黎族",
    "傈僳族",
    "佤族",
    "畲族",
    "高山族",
    "拉祜族",
    "水族",
    "东乡族",
    "纳西族",
    "景颇族",
    "柯尔克孜族",
    "土族",
    "达斡尔族",
    "仫佬族",
    "羌族",
    "布朗族",
    "撒拉族",
    "毛南族",
    "仡佬族",
    "锡伯族",
    "阿昌族",
    "普米族",
    "塔吉克族",
    "怒族",
    "乌孜别克族",
    "俄罗斯族",
    "鄂温克族",
    "德昂族",
    "保安族",
    "裕固族",
    "京族",
    "塔塔尔族",
    "独龙族",
    "鄂伦春族",
    "赫哲族",
    "门巴族",
    "珞巴族",
    "基诺族",
)

# Names of autonomous units use the group with or without 族 (博尔塔拉蒙古自治州); 各族
# stands for several groups (龙胜各族自治县).
_ETHNIC_ALTERNATIVES = sorted(
    set(ETHNIC_GROUPS) | {g[:-1] for g in ETHNIC_GROUPS} | {"各族"},
    key=len,
    reverse=True,
)
_ETHNIC = "(?:" + "|".join(map(re.escape, _ETHNIC_ALTERNATIVES)) + ")"
_AUTONOMOUS_RE = re.compile(rf"^(?P<place>.{{2,}}?)(?:{_ETHNIC})+自治(?P<suffix>[区州县旗])$")
_ETHNIC_ONLY_RE = re.compile(rf"^(?P<group>{_ETHNIC})自治(?P<suffix>[区州县旗])$")
# Longest first; only the first matching suffix is stripped.
_SUFFIXES = ("特别行政区", "自治区", "地区", "林区", "省", "市", "县", "区", "州", "盟", "旗")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))
_CODE_RE = re.compile(r"(\d{6})(?:\.0+|000000)?")


def normalise_name(text: object) -> str:
    """Normalise a register spelling for matching.

    NFKC (full-width letters, digits and brackets become half-width), then every
    whitespace character (including the ideographic space U+3000) and zero-width
    character is removed, wherever it is.

    Parameters
    ----------
    text : object
        Anything; it is converted with ``str``.

    Returns
    -------
    str
        The normalised key ('' for blank input).
    """
    folded = unicodedata.normalize("NFKC", str(text)).translate(_ZERO_WIDTH)
    return "".join(folded.split())


def as_adcode(value: object) -> str | None:
    """Read a 6-digit adcode given as text, int or integral float.

    Parameters
    ----------
    value : object
        ``220104``, ``"220104"``, ``"２２０１０４"``, ``220104.0`` (Excel) or the 12-digit
        statistical form ``"220104000000"``.

    Returns
    -------
    str or None
        The 6-digit code, or ``None`` when the value is not a code.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        number = int(value)
        return f"{number:06d}" if 100000 <= number <= 999999 else None
    if isinstance(value, numbers.Real):
        number = float(value)
        if math.isfinite(number) and number.is_integer() and 100000 <= number <= 999999:
            return f"{int(number):06d}"
        return None
    if not isinstance(value, str):
        return None
    match = _CODE_RE.fullmatch(normalise_name(value))
    return match.group(1) if match else None


def short_forms(name: str) -> list[str]:
    """Short forms a register may use for an official name.

    Ethnic-autonomy parts (one of the 56 groups, with or without 族, then 自治) are
    dropped, and one administrative suffix (市, 县, 区, 州, 盟, 旗, 省, 地区, 自治区 ...) is
    stripped where at least two characters remain.

    Parameters
    ----------
    name : str
        Official name, e.g. ``长白朝鲜族自治县``.

    Returns
    -------
    list of str
        Distinct short forms, the name itself excluded, e.g. ``['长白县', '长白']``.

    Examples
    --------
    >>> short_forms("延边朝鲜族自治州")
    ['延边州', '延边']
    >>> short_forms("公主岭市")
    ['公主岭']
    """
    name = normalise_name(name)
    forms: list[str] = [name]
    autonomous = _AUTONOMOUS_RE.match(name)
    if autonomous:
        forms.append(autonomous["place"] + autonomous["suffix"])
    else:
        ethnic_only = _ETHNIC_ONLY_RE.match(name)
        if ethnic_only:  # 鄂温克族自治旗 -> 鄂温克旗, 东乡族自治县 -> 东乡县
            forms.append(ethnic_only["group"].removesuffix("族") + ethnic_only["suffix"])
    for form in list(forms):
        for suffix in _SUFFIXES:
            if form.endswith(suffix):
                rest = form[: -len(suffix)]
                if len(rest) >= 2 and not rest.endswith("自治"):
                    forms.append(rest)
                break
    out: list[str] = []
    for form in forms[1:]:
        if form != name and form not in out:
            out.append(form)
    return out


def is_blank(value: object) -> bool:
    """Whether a cell holds nothing: None, NaN, pd.NA, NaT or only whitespace."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        if pd.isna(value):  # pd.NA, NaT, numpy nan
            return True
    except (TypeError, ValueError):
        return False
    return isinstance(value, str) and normalise_name(value) == ""


def clean_text(value: object) -> str | None:
    """A cell as stripped text, ``None`` when blank."""
    return None if is_blank(value) else str(value).strip()
