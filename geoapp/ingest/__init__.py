"""Turning a file into rows with a status: the upload gate and the register readers.

The CLI and the dashboard's upload hand this package what a data steward received (a
path, bytes or an open file: CSV in UTF-8 or GBK/GB18030, or an Excel ``.xlsx``) and get
back what can be used, plus a report with one line per input row that says what became
of it and why, with the row number the steward sees in Excel. Nothing is dropped
silently: every data row ends ``accepted``, ``flagged``, ``rejected`` or ``skipped``
(:data:`geoapp.schema.STATUSES`). Input that cannot be used at all (missing or
unreadable file, unsupported format, no recognisable header, a sheet over the row and
column budget, a file the upload gate refuses) raises :class:`RegisterError`, a
:class:`ValueError` whose message names the file and the problem.

It may import :mod:`geoapp.schema`, :mod:`geoapp.settings`, :mod:`geoapp.paths`,
:mod:`geoapp.coords`, :mod:`geoapp.i18n`, :mod:`geoapp.facilities` and
:mod:`geoapp.admin`; never :mod:`geoapp.store`, :mod:`geoapp.datasource`,
:mod:`geoapp.analysis`, :mod:`geoapp.demo` or the pages, which import it. Modules, each
importing only those listed before it:

- ``gate``: the upload gate (:func:`check_upload`, :class:`UploadError`, the sheet budget).
- ``xlsx``: one sheet of an ``.xlsx`` workbook (cached values read with calamine, merged
  ranges, formulas without a cached value).
- ``tables``: a file to rows of cells (CSV decoding, ``.xlsx`` with merged cells).
- ``headings``: what a heading says (compared forms, families, closest field, notes).
- ``fields``: field synonyms and header detection.
- ``rowlog``: the per-row status log and the words for its reason codes.
- ``values``: facility types, datums and coordinates as written.
- ``region``: the region's counties and resolving unit names through the registry.
- ``rows``: opening a register up to its data rows; blank, heading and total rows.
- ``placement``: placing rows in counties (coordinates, declared county, address).
- ``duplicates``: the duplicate rule and facility ids.
- ``results``: :class:`FacilityImport`, :class:`CountImport`, :class:`DemandImport`.
- ``facilities``: :func:`read_facilities`.
- ``counts``: :func:`read_unemployed` and :func:`read_demand`.
- ``datum_hint``: guessing the datum of a register's coordinates.
- ``template``: blank register templates to fill in (not imported here: it alone writes a
  workbook, and borrows :mod:`geoapp.export`'s XLSX conventions).
"""

from __future__ import annotations

from geoapp.ingest.counts import read_demand, read_unemployed
from geoapp.ingest.datum_hint import CANDIDATES, DatumGuess, guess_datum, guess_datum_from_report
from geoapp.ingest.duplicates import DUPLICATE_DISTANCE_M
from geoapp.ingest.facilities import read_facilities
from geoapp.ingest.fields import (
    COUNT_FIELDS,
    COUNT_USEFUL,
    DEMAND_FIELDS,
    FACILITY_FIELDS,
    FACILITY_USEFUL,
    missing_fields,
)
from geoapp.ingest.gate import (
    MAX_COLUMNS,
    MAX_COMPRESSION_RATIO,
    MAX_UNCOMPRESSED_BYTES,
    MAX_ZIP_MEMBERS,
    ROW_BYTES,
    FileProblem,
    UploadError,
    check_size,
    check_upload,
    display_name,
    max_rows,
    shape_problem,
)
from geoapp.ingest.results import CountImport, DemandImport, FacilityImport
from geoapp.ingest.rowlog import REASON_LABELS, problem_text, reason_label
from geoapp.ingest.tables import RegisterError, Table, read_table
from geoapp.ingest.values import DATUM_HELP, parse_coordinate, parse_datum
from geoapp.schema import STATUSES

__all__ = [
    "CANDIDATES",
    "COUNT_FIELDS",
    "COUNT_USEFUL",
    "DATUM_HELP",
    "DEMAND_FIELDS",
    "DUPLICATE_DISTANCE_M",
    "FACILITY_FIELDS",
    "FACILITY_USEFUL",
    "MAX_COLUMNS",
    "MAX_COMPRESSION_RATIO",
    "MAX_UNCOMPRESSED_BYTES",
    "MAX_ZIP_MEMBERS",
    "REASON_LABELS",
    "ROW_BYTES",
    "STATUSES",
    "CountImport",
    "DatumGuess",
    "DemandImport",
    "FacilityImport",
    "FileProblem",
    "RegisterError",
    "Table",
    "UploadError",
    "check_size",
    "check_upload",
    "display_name",
    "guess_datum",
    "guess_datum_from_report",
    "max_rows",
    "missing_fields",
    "parse_coordinate",
    "parse_datum",
    "problem_text",
    "read_demand",
    "read_facilities",
    "read_table",
    "read_unemployed",
    "reason_label",
    "shape_problem",
]
