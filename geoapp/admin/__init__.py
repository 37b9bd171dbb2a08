"""The administrative registry: what a register writes -> a current unit of China.

This package owns the mapping from the spellings found in facility registers (full names,
short forms, explicit aliases, old names and codes, development zones) to the current
6-digit adcode of a county-level unit, a prefecture or a province. It reads the reference
tables ``admin_divisions.csv``, ``admin_aliases.csv``, ``admin_code_history.csv`` (the
national source of old codes and names: every code since 1981 and its successors),
``admin_code_changes.csv`` (hand-made rows, used only where the history has nothing) and
``development_zones.csv``; it never guesses: a name that fits several units, an old unit
split between several, or a development zone without coordinates, is an error that says
why and names every candidate.

It may import :mod:`geoapp.paths`, :mod:`geoapp.schema` and :mod:`geoapp.coords` only
(today just :mod:`geoapp.paths`), and nothing else of geoapp; the ingest, store and
analysis packages and the CLI import it, never the other way round. Modules, each
importing only those listed before it:

- ``names``: normalisation, adcodes, short forms.
- ``errors``: :class:`AdminLookupError` and its subclasses.
- ``records``: :class:`Resolution` and the internal unit / zone / hit records.
- ``tables``: the reference tables as loader functions, and their column checks.
- ``history``: :class:`CodeHistory`, the national code history and its successions.
- ``index``: the lookup dictionaries built from the tables, validating them.
- ``cache``: the index of the reference tables, prepared once and kept in the user's
  cache folder (keyed by the tables' and the package's content).
- ``counties``: county polygons, to place a point in a legal county.
- ``resolve``: the resolving algorithm, as functions over the index.
- ``registry``: :class:`AdminRegistry`, which ties them together.

``admin_aliases.csv`` columns: ``alias, adcode, kind, prefecture_adcode, within, note``.

- ``kind`` is ``county``, ``prefecture`` or ``province`` (``adcode`` is a current unit of
  that level), ``dev_zone`` (``adcode`` is a code of ``development_zones.csv``) or
  ``special_area`` (no ``adcode``; ``within`` lists, space-separated, the legal counties
  the area overlaps; rows with the same ``within`` are one area, named by its first row).
- ``prefecture_adcode``, when filled, makes the alias *local*: it only matches when the
  lookup's prefecture context is that prefecture (``经开区`` means 长春经济技术开发区 only
  in 长春市). Without a prefecture context a local alias of a development zone is still
  placed when a point is given (the point's county must lie in the alias's prefecture);
  otherwise it is an :class:`AmbiguousUnit` that asks for the prefecture.
"""

from __future__ import annotations

from geoapp.admin.errors import AdminLookupError, AmbiguousUnit, UndecidableUnit, UnknownUnit
from geoapp.admin.names import ETHNIC_GROUPS, as_adcode, normalise_name, short_forms
from geoapp.admin.records import Resolution
from geoapp.admin.registry import AdminRegistry

__all__ = [
    "ETHNIC_GROUPS",
    "AdminLookupError",
    "AdminRegistry",
    "AmbiguousUnit",
    "Resolution",
    "UndecidableUnit",
    "UnknownUnit",
    "as_adcode",
    "normalise_name",
    "short_forms",
]
