"""The page's language and text: labels in the chosen language, text made safe for Markdown.

Imported by every other page module; imports nothing of ``pages``.
"""

from __future__ import annotations

import logging
import math

import pandas as pd
import streamlit as st

from geoapp import i18n

log = logging.getLogger("geoapp.ui")


def lang() -> str:
    """The UI language: from the URL (?lang=en), Chinese by default."""
    value = st.query_params.get("lang", i18n.DEFAULT_LANGUAGE)
    return value if value in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE


def t(key: str) -> str:
    return i18n.t(key, lang())


_MARKDOWN = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+-.!|~$:="})


def plain(text: object) -> str:
    """``text`` for a Streamlit markdown string: shown as typed, never as markup.

    Streamlit renders the text of ``st.error``, ``st.caption``, ``st.markdown`` ... as
    Markdown (links, images, ``:material/…:`` icons, LaTeX in ``$``); a backslash before
    every punctuation mark Markdown reads keeps text from files, forms and URLs literal.
    """
    return str(text).translate(_MARKDOWN)


def problem(exc: BaseException) -> str:
    """What a page says about an error of a file, the store or an access, in the page's
    language and safe for Markdown; the store's location never (the log has it)."""
    from geoapp.ingest.rowlog import problem_text

    if getattr(exc, "key", None) == "problem.store.failure":
        log.warning("the store failed: %s", exc)
    return plain(problem_text(exc, lang(), detail=False))


def number(value: object, decimals: int = 0) -> str:
    """A figure as every page writes it, in both languages: thousands separators
    (``67,489``), ``decimals`` places, "—" when unknown.

    Examples
    --------
    >>> number(657682), number(17.66, 1), number(None)
    ('657,682', '17.7', '—')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "—"
    return f"{float(value):,.{decimals}f}"


def t_or(key: str, default: str) -> str:
    """The label for ``key``, or ``default`` when the table has none (labels from data files)."""
    try:
        return t(key)
    except KeyError:
        return default
