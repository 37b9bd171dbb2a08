"""JSON for data embedded in the maps' inline scripts."""

from __future__ import annotations

import json

__all__ = ["script_json"]


def script_json(value: object) -> str:
    """JSON for an inline script: UTF-8 text, but ``<``, ``>``, ``&`` and line separators escaped.

    Like Jinja's ``tojson``, nothing in it can close the ``<script>`` or start markup;
    unlike it, Chinese text stays 3 bytes a character instead of a 6-byte ``\\uXXXX``.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text
