"""JSON for data embedded in the maps' inline scripts."""

from __future__ import annotations

import json
import re
from json.encoder import c_make_encoder, encode_basestring

__all__ = ["script_json"]

# Every character that could end a <script>, start markup, a template literal's
# ``${``, a Jinja ``{{``/``{%``/``{#`` or a line break in old JavaScript. None of them
# is structural in JSON except the braces, which occur only in the encoder's keys and
# strings here, one string at a time.
_RISKY = re.compile("[<>&'`${}\u2028\u2029]")
_ESCAPES = {c: f"\\u{ord(c):04x}" for c in "<>&'`${}\u2028\u2029"}


def _escape(match: re.Match[str]) -> str:
    return _ESCAPES[match.group(0)]


def _string(text: str) -> str:
    quoted = encode_basestring(text)
    return _RISKY.sub(_escape, quoted) if _RISKY.search(quoted) else quoted


def _unsupported(value: object) -> object:
    msg = f"Object of type {type(value).__name__} is not JSON serializable"
    raise TypeError(msg)


def script_json(value: object) -> str:
    """JSON for an inline script: no character in it can end the script or start code.

    In every string ``<``, ``>``, ``&``, ``'``, `````, ``$``, ``{``, ``}`` and
    U+2028/2029 are ``\\uXXXX`` escapes, so that no text can close the ``<script>``,
    start markup, a template literal's ``${`` or a Jinja ``{{``/``{%``/``{#``. Unlike
    Jinja's ``tojson``, Chinese text stays 3 bytes a character instead of a 6-byte
    ``\\uXXXX``. NaN and infinities raise ValueError.

    >>> print(script_json({"name": "{{7*7}}</script>`${x}`"}))
    {"name":"\\u007b\\u007b7*7\\u007d\\u007d\\u003c/script\\u003e\\u0060\\u0024\\u007bx\\u007d\\u0060"}
    >>> json.loads(script_json(["吉林{#", 1.5, None])) == ["吉林{#", 1.5, None]
    True
    """
    if c_make_encoder is None:  # pragma: no cover - CPython always has the C encoder
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: _RISKY.sub(_escape, m.group(0)), text)
    encode = c_make_encoder(None, _unsupported, _string, None, ":", ",", False, False, False)
    return "".join(encode(value, 0))
