"""Reading the values of a register's cells: facility types, datums and coordinates.

This module owns how a cell's text becomes a value: a facility type key of
``data/facility_types.toml`` (exact spellings, synonyms and labels, or the synonyms
the text contains when they all belong to one type), a datum of
:data:`geoapp.coords.DATUMS` (``WGS-84``, ``高德``, ``百度地图``, ``国家2000`` ...), and a
coordinate in decimal degrees (numbers, or degrees-minutes(-seconds) text). Parsing
only: converting datums and placing points is :mod:`geoapp.ingest.placement`.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geoapp import i18n
from geoapp.admin import normalise_name
from geoapp.facilities import load_types
from geoapp.ingest.rowlog import Label, Msg, msg, repeated

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "DATUM_HELP",
    "Coded",
    "check_default_datum",
    "coordinate_column",
    "facility_types",
    "join_texts",
    "match_key",
    "match_keys",
    "match_type",
    "parse_coordinate",
    "parse_datum",
    "per_distinct",
    "split_pair",
]

# --------------------------------------------------------------------------- types

_BRACKETS = str.maketrans(
    {
        "【": "(",
        "】": ")",
        "[": "(",
        "]": ")",
        "〔": "(",
        "〕": ")",
        "〈": "(",
        "〉": ")",
        "《": "(",
        "》": ")",
        "{": "(",
        "}": ")",
        "（": "(",
        "）": ")",
    }
)


def match_key(value: Any) -> str:
    """A name or type as compared: :func:`geoapp.admin.normalise_name`, lower case, one
    kind of bracket."""
    text = normalise_name(value).lower()
    return text.translate(_BRACKETS)


def match_keys(values: Any, arrow: Any = None) -> np.ndarray:
    """:func:`match_key` of every value, worked out once per distinct value where values
    repeat. ``arrow``: the same texts as Arrow text, where the caller has them.

    Examples
    --------
    >>> match_keys(["长春（经开）", "长春（经开）", " Ab "]).tolist()
    ['长春(经开)', '长春(经开)', 'ab']
    """
    values = np.asarray(values, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=False) != "string":
        # not all text: factorize would take 1, 1.0 and True (or None and NaN) as one
        return np.array([match_key(v) for v in values], dtype=object)
    if arrow is not None or len(set(values[:1000].tolist())) > 500:
        return _text_keys(values, arrow)  # mostly distinct (names): nothing to share
    codes, distinct = pd.factorize(values)
    return _text_keys(np.asarray(distinct, dtype=object))[codes]


# Text that NFKC leaves as it is and whose key is only a matter of spaces and ASCII case:
# printable ASCII but the brackets match_key changes ([]{}) and the CJK ideographs of
# the basic block and extension A (no compatibility forms, no case, no space among them).
_PLAIN_RE = r"^[\x20-\x5a\x5c\x5e-\x7a\x7c\x7e\x{3400}-\x{4dbf}\x{4e00}-\x{9fff}]*$"


def _text_keys(texts: np.ndarray, arrow: Any = None) -> np.ndarray:
    """:func:`_text_key` of every string of ``texts``: in Arrow's string kernels for the
    plain ones (most names: ideographs, ASCII letters and digits, spaces: the key drops
    the spaces and lowers ASCII), one by one for the others.

    Examples
    --------
    >>> _text_keys(np.array(["长春 Ab", "长春（经开）", "x[1]"], dtype=object)).tolist()
    ['长春ab', '长春(经开)', 'x(1)']
    """
    if len(texts) < 64:  # not worth the kernels
        return np.array([_text_key(v) for v in texts], dtype=object)
    import pyarrow as pa
    import pyarrow.compute as pc

    arrow = pa.array(texts, type=pa.large_string()) if arrow is None else arrow
    plain = pc.match_substring_regex(arrow, _PLAIN_RE).to_numpy(zero_copy_only=False)
    changed = pc.match_substring_regex(arrow, "[ A-Z]").to_numpy(zero_copy_only=False)
    out = texts.copy()  # a plain text without space or capital is its own key
    redo = np.flatnonzero(plain & changed)
    keys = pc.ascii_lower(pc.replace_substring(arrow.take(redo), " ", ""))
    out[redo] = keys.to_numpy(zero_copy_only=False)
    odd = np.flatnonzero(~plain)
    out[odd] = [_text_key(v) for v in texts[odd]]
    return out


def per_distinct(values: Any, function: Callable[[Any], Any]) -> np.ndarray:
    """``function`` of every value, called once per distinct value (and once per
    missing value: None, NaN ... are not taken as one), as an object array.

    Examples
    --------
    >>> per_distinct(["220104", "220104", None], lambda a: f"<{a}>").tolist()
    ['<220104>', '<220104>', '<None>']
    """
    values = np.asarray(values, dtype=object)
    out = np.empty(len(values), dtype=object)
    missing = pd.isna(values)
    codes, distinct = pd.factorize(values[~missing])
    results = np.empty(len(distinct), dtype=object)
    results[:] = [function(v) for v in distinct]
    out[~missing] = results[codes]
    out[missing] = [function(v) for v in values[missing]]
    return out


class Coded:
    """A column of few distinct values (counties, types), factorized once, from which
    text columns are taken: ``texts(function)`` is ``function`` of each row's value as
    Arrow text (the ``str`` dtype), called once per distinct value, ``""`` where the
    value is missing. A million rows' column costs one factorize, then a ``take`` per
    text column, where converting each column of str objects to Arrow costs a pass over
    a million objects.

    Examples
    --------
    >>> coded = Coded(np.array(["220104", None, "220104"], dtype=object))
    >>> coded.texts().tolist(), coded.texts(lambda a: f"<{a}>", rows=[True, False, True]).tolist()
    (['220104', '', '220104'], ['<220104>', '<220104>'])
    """

    def __init__(self, values: Any) -> None:
        self.which, distinct = pd.factorize(np.asarray(values, dtype=object))  # -1: missing
        self.distinct = list(distinct)

    def texts(self, function: Callable[[Any], Any] = str, rows: Any = None) -> Any:
        words = pd.array([str(function(v)) for v in self.distinct] + [""], dtype="str")
        which = self.which if rows is None else self.which[np.asarray(rows)]
        return words.take(np.where(which < 0, len(self.distinct), which))


def join_texts(parts: list[Any], sep: str) -> np.ndarray:
    """Per row, the non-empty texts of ``parts`` (arrays of str, one per part) joined
    with ``sep``: ``sep.join(p for p in row if p)`` without a loop over rows.

    Examples
    --------
    >>> join_texts([["a", "", ""], ["b", "c", ""]], "; ").tolist()
    ['a; b', 'c', '']
    """
    out = np.asarray(parts[0], dtype=object)
    for part in parts[1:]:
        part = np.asarray(part, dtype=object)
        has, more = out != "", part != ""
        out = np.where(has & more, out + sep + part, np.where(has, out, part))
    return out.astype(object)


_BRACKET_RE = re.compile("[" + re.escape("".join(map(chr, _BRACKETS))) + "]")


def _text_key(text: str) -> str:
    """:func:`match_key` of a string, three times faster when, as in most names, the
    NFKC text holds no bracket to change and no zero-width character to drop."""
    key = "".join(unicodedata.normalize("NFKC", text).split()).lower()
    # Zero-width characters are format characters, never printable.
    if key.isprintable() and not _BRACKET_RE.search(key):
        return key
    return match_key(text)


@lru_cache(maxsize=1)
def _type_lookup() -> tuple[dict[str, str], tuple[tuple[str, str], ...], tuple[Label, ...]]:
    """Exact spellings -> type key; (synonym, key) pairs for containment; type labels."""
    exact: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    help_parts = []
    for key, ftype in load_types().items():
        labels = [i18n.t(f"facility_type.{key}", lang) for lang in i18n.LANGUAGES]
        for spelling in (key, key.replace("_", " "), *ftype.synonyms, *labels):
            exact.setdefault(match_key(spelling), key)
        pairs += [(match_key(s), key) for s in ftype.synonyms]
        help_parts.append(Label(f"facility_type.{key}"))
    return exact, tuple(pairs), tuple(help_parts)


def match_type(value: str) -> tuple[str | None, str | None, Msg | None]:
    """(type key, None, None) or (None, reason code, message) for one normalised type.

    Exact spellings first (keys, synonyms, labels); else the synonyms the text contains,
    when they all belong to one type (``阳光家园辅助性就业机构``).
    """
    exact, pairs, accepted = _type_lookup()
    if value in exact:
        return exact[value], None, None
    found = sorted({key for synonym, key in pairs if synonym and synonym in value})
    if len(found) == 1:
        return found[0], None, None
    if found:
        types = [Label(f"facility_type.{k}") for k in found]
        return None, "ambiguous_type", msg("ambiguous_type", value=value, types=types)
    return None, "unknown_type", msg("unknown_type", value=value, accepted=list(accepted))


def facility_types(
    type_txt: np.ndarray, given: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`match_type` over the rows of ``given``, once per distinct spelling.

    Returns the type keys, the reason codes and the messages (None where not given or
    where there is nothing to say).
    """
    n = len(type_txt)
    type_keys = match_keys(type_txt)
    ftype = np.full(n, None, dtype=object)
    code = np.full(n, None, dtype=object)
    error = np.full(n, None, dtype=object)
    which, keys = pd.factorize(type_keys)  # keys are text: one code per distinct spelling
    asked = np.zeros(len(keys), dtype=bool)
    asked[which[given]] = True
    found = np.full((len(keys), 3), None, dtype=object)
    for k in np.flatnonzero(asked):
        found[k] = match_type(keys[k])
    ftype[given], code[given], error[given] = found[which[given]].T
    return ftype, code, error


# --------------------------------------------------------------------------- datums

_DATUM_EXACT = {
    "wgs84": "wgs84",
    "wgs": "wgs84",
    "gps": "wgs84",
    "4326": "wgs84",
    "epsg4326": "wgs84",
    "gcj02": "gcj02",
    "gcj": "gcj02",
    "火星": "gcj02",
    "火星坐标": "gcj02",
    "高德": "gcj02",
    "高德地图": "gcj02",
    "腾讯": "gcj02",
    "腾讯地图": "gcj02",
    "amap": "gcj02",
    "gaode": "gcj02",
    "bd09": "bd09",
    "bd09ll": "bd09",
    "百度": "bd09",
    "百度地图": "bd09",
    "baidu": "bd09",
    "cgcs2000": "cgcs2000",
    "cgcs": "cgcs2000",
    "国家2000": "cgcs2000",
    "2000": "cgcs2000",
    "4490": "cgcs2000",
    "epsg4490": "cgcs2000",
    "天地图": "cgcs2000",
}
_DATUM_WORDS = (
    ("wgs", "wgs84"),
    ("gps", "wgs84"),
    ("gcj", "gcj02"),
    ("火星", "gcj02"),
    ("高德", "gcj02"),
    ("腾讯", "gcj02"),
    ("bd09", "bd09"),
    ("百度", "bd09"),
    ("cgcs", "cgcs2000"),
    ("2000", "cgcs2000"),
    ("天地图", "cgcs2000"),
)
DATUM_HELP = "wgs84 (GPS), gcj02 (高德/火星/腾讯), bd09 (百度), cgcs2000 (国家2000/天地图)"


@lru_cache(maxsize=256)
def parse_datum(value: str) -> str | None:
    """Read a datum as a register writes it: ``WGS-84``, ``高德``, ``百度地图``, ``国家2000`` ...

    Returns
    -------
    str or None
        One of :data:`geoapp.coords.DATUMS`, or None when the text names none (or several).
    """
    key = re.sub(r"[\s\-_:./]+", "", unicodedata.normalize("NFKC", str(value)).lower())
    if key in _DATUM_EXACT:
        return _DATUM_EXACT[key]
    found = {datum for word, datum in _DATUM_WORDS if word in key}
    return found.pop() if len(found) == 1 else None


def check_default_datum(default_datum: str) -> str:
    """The datum ``default_datum`` names; ValueError when it names none."""
    datum = parse_datum(default_datum)
    if datum is None:
        msg = f"default_datum {default_datum!r} is not a datum; accepted: {DATUM_HELP}"
        raise ValueError(msg)
    return datum


# --------------------------------------------------------------------------- coordinates

_NUM = r"\d+(?:\.\d+)?"
_HEM = r"(?:东经|西经|北纬|南纬|[NSEW东西南北])"
_COORD_RE = re.compile(
    rf"^(?P<h1>{_HEM})?\s*(?P<deg>{_NUM})\s*"
    rf"(?:(?:°|º|˚|度)\s*"
    rf"(?:(?P<min>{_NUM})\s*(?:'|分)\s*"
    rf"(?:(?P<sec>{_NUM})\s*(?:\"|''|秒)?)?)?)?"
    rf"\s*(?P<h2>{_HEM})?$"
)
_QUOTES = str.maketrans(
    {"′": "'", "’": "'", "‘": "'", "´": "'", "`": "'", "″": '"', "”": '"', "“": '"', "〃": '"'}
)


@lru_cache(maxsize=65536)
def parse_coordinate(text: str) -> tuple[float, str]:
    """Read one coordinate written as text.

    Parameters
    ----------
    text : str
        ``125.32``, ``E125.32``, ``125.32°``, ``125°19'12.5"``, ``125度19分12.5秒``,
        ``43°53.2'``, ``北纬43°53'`` (full-width characters allowed).

    Returns
    -------
    (float, str)
        The value in decimal degrees and how it was written: ``number``, ``dms``
        (degrees and minutes, with or without seconds) or ``bad`` (value NaN).

    Examples
    --------
    >>> parse_coordinate("125°19'12.5\\"")
    (125.32013888888889, 'dms')
    >>> parse_coordinate("43°53.2'")
    (43.88666666666667, 'dms')
    """
    clean = unicodedata.normalize("NFKC", text).translate(_QUOTES).strip().upper()
    clean = clean.replace("′′", '"')
    match = _COORD_RE.match(clean)
    if match is None:
        return float("nan"), "bad"
    if match["h1"] and match["h2"]:
        return float("nan"), "bad"
    deg, minutes, seconds = match["deg"], match["min"], match["sec"]
    value = float(deg)
    kind = "number"
    if minutes is not None:
        if "." in deg or float(minutes) >= 60 or ("." in minutes and seconds is not None):
            return float("nan"), "bad"
        value += float(minutes) / 60
        kind = "dms"
        if seconds is not None:
            if float(seconds) >= 60:
                return float("nan"), "bad"
            value += float(seconds) / 3600
    hemisphere = match["h1"] or match["h2"] or ""
    if hemisphere in ("S", "W", "西", "南", "西经", "南纬"):
        value = -value
    return value, kind


def coordinate_column(
    series: pd.Series, *, blank: np.ndarray | None = None, text: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Values (float) and kinds ('blank', 'number', 'dms', 'bad') of a coordinate column.

    Numbers are read at once; only the cells that are no number go through
    :func:`parse_coordinate`. ``blank`` (``series.isna()``) and ``text`` (the column
    as Arrow text, as read) save working them out again where the caller has them.
    """
    values = series.to_numpy(dtype=object)
    blank = pd.isna(series).to_numpy() if blank is None else np.asarray(blank, dtype=bool)
    numbers = values  # text and missing cells only (a CSV register): all may be numbers
    if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "empty"):
        # Numbers and text only (a bool or a date is no coordinate): once per type.
        types = pd.Series(values, dtype=object).map(type)
        plain_type = {
            t: issubclass(t, (str, int, float)) and not issubclass(t, bool) for t in set(types)
        }
        numbers = np.where(types.map(plain_type).to_numpy(dtype=bool), values, None)
        numeric = _to_numbers(numbers)
    else:
        numeric = _decimals(values, blank=blank, text=text)
    kinds = repeated("number", len(values))  # np.where would make a str per cell
    kinds[blank] = "blank"
    rest = ~blank & np.isnan(numeric)
    for i in np.flatnonzero(rest):
        numeric[i], kinds[i] = parse_coordinate(str(values[i]))
    return numeric, kinds


def _to_numbers(values: np.ndarray) -> np.ndarray:
    """``pd.to_numeric(errors="coerce")`` as a float array of its own (NaN where no number)."""
    numeric = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    return numeric.to_numpy(dtype=float, copy=True)


# A plain decimal as registers write coordinates (125.319, -0.5, 43): Arrow's cast reads
# it as Python's float() does (both round correctly), so only the rest go to pandas.
_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"


def _decimals(
    values: np.ndarray, *, blank: np.ndarray | None = None, text: Any = None
) -> np.ndarray:
    """:func:`_to_numbers` of text cells (None where blank): plain decimals in Arrow's
    kernels, the others (exponents, spaces, words, DMS) through pandas. ``blank`` is
    ``pd.isna(values)``; ``text``, the cells as Arrow text (blank ones as anything no
    plain decimal is), where the caller has them.

    Examples
    --------
    >>> _decimals(np.array(["125.5", None, "1e2", "43°30'", "-0"], dtype=object)).tolist()
    [125.5, nan, 100.0, nan, -0.0]
    """
    if len(values) < 64:
        return _to_numbers(values)
    import pyarrow as pa
    import pyarrow.compute as pc

    if text is None:
        text = pa.array(values, type=pa.large_string())
    plain = pc.fill_null(pc.match_substring_regex(text, _DECIMAL), False)
    numeric = pc.cast(pc.if_else(plain, text, None), pa.float64()).to_numpy(zero_copy_only=False)
    numeric = numeric.astype(float, copy=True)  # writable, NaN where not plain
    blank = pd.isna(values) if blank is None else blank
    rest = np.flatnonzero(~plain.to_numpy(zero_copy_only=False) & ~blank)
    if len(rest):
        numeric[rest] = _to_numbers(values[rest])
    return numeric


def split_pair(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A single 坐标/经纬度 column: ``125.3,43.8`` -> two columns."""
    lon = np.full(len(series), None, dtype=object)
    lat = np.full(len(series), None, dtype=object)
    for i, value in enumerate(series.to_numpy()):
        if value is None:
            continue
        text = unicodedata.normalize("NFKC", str(value)).strip()
        parts = [p for p in re.split(r"[,，;；/\s]+", text) if p]
        if len(parts) == 2:
            lon[i], lat[i] = parts
        else:
            lon[i], lat[i] = str(value), "?"  # reported as unreadable
    index = series.index
    return pd.Series(lon, index=index, dtype=object), pd.Series(lat, index=index, dtype=object)
