"""The province brief: two A4 pages in PDF that a leader prints or projects in a meeting.

Page 1 is the region's map with the units that fail a mandatory rule of the policy, a
legend and a one-line summary; page 2 the progress against the region-wide targets,
the largest gaps and where the data come from (demo data said plainly). The CLI's
``geoapp brief`` and the progress page's download button both call :func:`brief_file`
on the gap list they already build (:func:`geoapp.analysis.reports.build_gap_list`),
so the brief shows the pages' own numbers.

Modules: :mod:`~geoapp.brief.content` (the texts and numbers, no drawing),
:mod:`~geoapp.brief.fonts` (the embedded Chinese font), :mod:`~geoapp.brief.layout`
(text placed in millimetres) and :mod:`~geoapp.brief.render` (the pages, matplotlib).
It may import geoapp.analysis, display, facilities, i18n, policy, provenance and schema; never
geoapp.store, geoapp.datasource (data come in as a :class:`geoapp.schema.DataSource`)
or streamlit. matplotlib and fontTools are imported only when a brief is made.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd

from geoapp.analysis.reports import GapList, build_gap_list
from geoapp.i18n import DEFAULT_LANGUAGE
from geoapp.policy import Policy, load_policy
from geoapp.schema import DataSource

__all__ = ["MEDIA_TYPE", "BriefFontError", "brief_file", "build_brief", "font_problem"]

MEDIA_TYPE = "application/pdf"


def __getattr__(name: str):
    if name == "BriefFontError":  # without importing fontTools for every caller
        from geoapp.brief.fonts import BriefFontError

        return BriefFontError
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def font_problem(lang: str = DEFAULT_LANGUAGE) -> str | None:
    """None when a Chinese font for the brief is at hand, else what to install (in ``lang``)."""
    from geoapp.brief.fonts import BriefFontError, find_font

    try:
        find_font("中文", lang=lang)
    except BriefFontError as exc:
        return str(exc)
    return None


def brief_file(
    gaps: GapList,
    *,
    source: DataSource,
    policy: Policy | str | Path,
    lang: str = DEFAULT_LANGUAGE,
    generated_at: datetime | None = None,
) -> bytes:
    """The brief of a whole-region gap list as PDF bytes.

    Parameters
    ----------
    gaps : GapList
        From :func:`~geoapp.analysis.reports.build_gap_list` for ``policy``, without a
        prefecture or county filter (the brief is about the whole region).
    source : DataSource
        The region's display boundaries and its name.
    policy : Policy, str or Path
        The policy of ``gaps`` (its period and mandatory rules).
    lang : {"zh", "en"}
        One language for the whole brief.

    Raises
    ------
    BriefFontError
        When no Chinese font can be found (see :mod:`geoapp.brief.fonts`).
    """
    from geoapp.brief.content import brief_content
    from geoapp.brief.render import render_pdf

    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    prefectures = source.display_layer("prefectures")
    content = brief_content(
        gaps,
        policy=pol,
        info=source.info(),
        prefectures=pd.DataFrame(prefectures[["adcode", "name"]]),
        lang=lang,
        generated_at=generated_at,
    )
    return render_pdf(
        content,
        counties=source.display_layer("counties"),
        prefectures=prefectures,
        created=generated_at,
    )


def build_brief(
    source: DataSource,
    *,
    policy: Policy | str | Path,
    reading: str = "literal",
    lang: str = DEFAULT_LANGUAGE,
    facilities: tuple[pd.DataFrame, str] | None = None,
    unemployed: tuple[pd.DataFrame, str] | None = None,
    generated_at: datetime | None = None,
) -> bytes:
    """The gap list of ``source`` against ``policy`` (as ``geoapp gaps`` builds it), as a brief.

    ``facilities`` and ``unemployed`` replace the source's data as in
    :func:`~geoapp.analysis.reports.build_gap_list`.
    """
    pol = policy if isinstance(policy, Policy) else load_policy(policy)
    gaps = build_gap_list(
        source, policy=pol, reading=reading, facilities=facilities, unemployed=unemployed
    )
    return brief_file(gaps, source=source, policy=pol, lang=lang, generated_at=generated_at)
