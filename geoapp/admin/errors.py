"""The lookup errors of the administrative registry.

A register spelling that cannot be turned into exactly one current unit raises an
:class:`AdminLookupError` subclass whose message says why and whose ``candidates`` list
the units it might mean. Imports nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["AdminLookupError", "AmbiguousUnit", "UndecidableUnit", "UnknownUnit"]


class AdminLookupError(ValueError):
    """A register's spelling could not be turned into exactly one current unit.

    Attributes
    ----------
    given : object
        The value exactly as it was given.
    candidates : tuple of str
        Units it might mean, formatted like ``长春市朝阳区 (220104)``.
    """

    def __init__(self, message: str, *, given: object, candidates: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.given = given
        self.candidates: tuple[str, ...] = tuple(candidates)


class UnknownUnit(AdminLookupError):
    """Nothing in scope matches; ``candidates`` holds the closest names."""


class AmbiguousUnit(AdminLookupError):
    """Several units match; ``candidates`` lists all of them."""


class UndecidableUnit(AdminLookupError):
    """A development zone or special area that only coordinates can place."""
