"""Analysis: what the data say against a policy, as tables, sheets and files.

This package owns the measures of DOMAIN.md, one module per concept:
:mod:`~geoapp.analysis.coverage` (gaps per unit), :mod:`~geoapp.analysis.gap_marks`
(the gaps a map marks and their headline), :mod:`~geoapp.analysis.reports` (gap
lists and progress tables as files), :mod:`~geoapp.analysis.profile` (the county
sheet), :mod:`~geoapp.analysis.preview` (what an upload would change),
:mod:`~geoapp.analysis.access` (distances, catchments, 2SFCA) and
:mod:`~geoapp.analysis.siting` (where next), with the siting's covering models in
:mod:`~geoapp.analysis.covering`, its candidates in
:mod:`~geoapp.analysis.candidate_sites` and its result and files in
:mod:`~geoapp.analysis.siting_result`.

It may import geoapp.schema, policy, facilities, regions, display, coords, export,
i18n, geoapp.admin and geoapp.ingest (the registers); never geoapp.store,
geoapp.datasource, geoapp.demo or the pages: data come in as frames (or a
:class:`geoapp.schema.DataSource`), so the store, the CLI and the pages import this
package, not the other way round. Modules inside it import one another by their full
module path (``from geoapp.analysis.coverage import ...``), never through this
``__init__``.
"""

import importlib
from typing import Any

# Submodules and names load on first use (PEP 562), so that a command that needs only
# the gap list does not import the siting's solvers or the access engine's SciPy.
_SUBMODULES = (
    "access",
    "candidate_sites",
    "coverage",
    "covering",
    "gap_marks",
    "preview",
    "profile",
    "reports",
    "siting",
    "siting_result",
)
_NAMES = {
    "county_access": "access",
    "demand_grid": "access",
    "GapResult": "coverage",
    "assign_counties": "coverage",
    "compute_gaps": "coverage",
    "filter_units": "coverage",
    "diff_gap_tables": "preview",
    "gap_changes": "preview",
    "CountyProfile": "profile",
    "county_profile": "profile",
    "GapList": "reports",
    "build_gap_list": "reports",
    "gap_list_file": "reports",
    "SitingError": "siting",
    "SitingResult": "siting",
    "suggest_sites": "siting",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


__all__ = [
    "CountyProfile",
    "GapList",
    "GapResult",
    "SitingError",
    "SitingResult",
    "access",
    "assign_counties",
    "build_gap_list",
    "candidate_sites",
    "compute_gaps",
    "county_access",
    "county_profile",
    "coverage",
    "covering",
    "demand_grid",
    "diff_gap_tables",
    "filter_units",
    "gap_changes",
    "gap_list_file",
    "gap_marks",
    "preview",
    "profile",
    "reports",
    "siting",
    "siting_result",
    "suggest_sites",
]
