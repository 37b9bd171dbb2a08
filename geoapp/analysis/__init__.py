"""Analysis: what the data say against a policy, as tables, sheets and files.

This package owns the measures of DOMAIN.md, one module per concept:
:mod:`~geoapp.analysis.coverage` (gaps per unit), :mod:`~geoapp.analysis.reports` (gap
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

from geoapp.analysis import (
    access,
    candidate_sites,
    coverage,
    covering,
    preview,
    profile,
    reports,
    siting,
    siting_result,
)
from geoapp.analysis.access import county_access, demand_grid
from geoapp.analysis.coverage import GapResult, assign_counties, compute_gaps, filter_units
from geoapp.analysis.preview import diff_gap_tables, gap_changes
from geoapp.analysis.profile import CountyProfile, county_profile
from geoapp.analysis.reports import GapList, build_gap_list, gap_list_file
from geoapp.analysis.siting import SitingError, SitingResult, suggest_sites

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
    "preview",
    "profile",
    "reports",
    "siting",
    "siting_result",
    "suggest_sites",
]
