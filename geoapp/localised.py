"""Errors a user reads in their own language: an i18n key and its parameters.

An error of the core (the store's :class:`~geoapp.store.StoreError`, the reporting
areas' :class:`~geoapp.store.areas.AreaError`, the edits'
:class:`~geoapp.store.edits.EditError`, the accounts' :class:`AccessDenied`) keeps its
English message, which logs, tests and ``--lang en`` read, and carries ``key`` and
``params``: an entry of the i18n table saying the same, which is what a Chinese reader
is shown (:func:`geoapp.ingest.rowlog.problem_text` renders both). A parameter that
is itself a word (a role, a dataset, what the user tried to do) is a :class:`Word`,
rendered in the reader's language too; :class:`OneOf` is a list of alternatives.

Imports nothing from geoapp: the accounts, the store and the ingest side all use it.

Examples
--------
>>> exc = AccessDenied("sign in to submit data", key="problem.access.sign_in",
...                    action=action_word("submit data"))
>>> isinstance(exc, PermissionError), str(exc), exc.params["action"].key
(True, 'sign in to submit data', 'doing.submit_data')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "AccessDenied",
    "Localised",
    "OneOf",
    "Word",
    "action_word",
    "dataset_word",
    "role_word",
]


class Localised(Exception):
    """An error with an English message and, where the raise site gives them, an i18n
    ``key`` (the whole key, e.g. ``problem.store.no_version``) and its ``params``."""

    def __init__(self, message: str = "", *, key: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


class AccessDenied(Localised, PermissionError):
    """Not allowed: nobody signed in, the wrong role or the wrong area. A PermissionError,
    so every ``except PermissionError`` still catches it."""


@dataclass(frozen=True)
class Word:
    """A parameter that is a label of the i18n table; ``text`` (English) where the table
    has no ``key``, so that a phrase the table does not know yet still reads."""

    key: str
    text: str

    def __str__(self) -> str:
        return self.text


class OneOf(tuple):
    """Alternatives, joined with 或 / "or" (a list is joined with 、 / ", ")."""

    __slots__ = ()


def action_word(action: str) -> Word:
    """What the user tried to do, as the word ``doing.<action in snake case>``.

    >>> action_word("roll back the facilities")
    Word(key='doing.roll_back_the_facilities', text='roll back the facilities')
    """
    slug = re.sub(r"[^a-z0-9]+", "_", str(action).lower()).strip("_")
    return Word(f"doing.{slug}", str(action))


def role_word(role: str) -> Word:
    """An account's role as the word ``role.<role>``."""
    return Word(f"role.{role}", str(role))


def dataset_word(dataset: str) -> Word:
    """A dataset (facilities, unemployed) as the word ``dataset.<dataset>``."""
    return Word(f"dataset.{dataset}", str(dataset))
