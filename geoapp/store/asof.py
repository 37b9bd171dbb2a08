"""The date a version describes (``as_of``): parsing it, and saying when it is unusual."""

from __future__ import annotations

import re
from datetime import date, datetime

__all__ = ["AsOfWarning", "as_of_note", "parse_as_of"]


class AsOfWarning(UserWarning):
    """An ``as_of`` date that is accepted but unusual (not a quarter end, in the future)."""


def parse_as_of(value: object) -> str:
    """The ISO date (``YYYY-MM-DD``) of ``value``: a date, datetime or ISO date text.

    Raises
    ------
    ValueError
        For anything else; the message shows what was given.

    Examples
    --------
    >>> parse_as_of(" 2025-12-31 "), parse_as_of(date(2025, 9, 30))
    ('2025-12-31', '2025-09-30')
    """
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", value):
        try:
            return date.fromisoformat(value.strip()).isoformat()
        except ValueError as exc:
            msg = f"as_of {value!r} is not a valid date ({exc})"
            raise ValueError(msg) from None
    msg = (
        f"as_of {value!r} is not a date; give the quarter end the register describes, "
        "e.g. 2025-12-31"
    )
    raise ValueError(msg)


def as_of_note(as_of: object, *, today: date | None = None) -> str | None:
    """A sentence when ``as_of`` is unusual (not a quarter end, or in the future), else None."""
    day = date.fromisoformat(parse_as_of(as_of))
    notes = []
    if (day.month, day.day) not in ((3, 31), (6, 30), (9, 30), (12, 31)):
        notes.append(
            f"as_of {day} is not a quarter end (03-31, 06-30, 09-30, 12-31); recorded as given"
        )
    if day > (today or date.today()):
        notes.append(f"as_of {day} is in the future")
    return "; ".join(notes) or None
