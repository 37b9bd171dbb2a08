"""The versioned data store: every accepted register becomes a version, never an overwrite.

Owns the store and everything about it, in a GeoPackage file (the default) or in a
PostgreSQL + PostGIS database (``GEOAPP_STORE=postgresql://...``): where it lives and
how its transactions run on each (:mod:`~geoapp.store.backend`,
:mod:`~geoapp.store.postgis`, :mod:`~geoapp.store.postgis_schema`), the encoding of
versions in the file (:mod:`~geoapp.store.encoding`), the repository with its
transactions, rollback and audit log (:mod:`~geoapp.store.repository`), reading the
versions and their rows (:mod:`~geoapp.store.reading`), uploads as new versions
(:mod:`~geoapp.store.uploads`), the facility diff (:mod:`~geoapp.store.diff`) and
comparisons over the versions (:mod:`~geoapp.store.history`). SQLite and PostgreSQL
failures become :class:`StoreError` (:mod:`~geoapp.store.errors`); ``as_of`` dates
are parsed in :mod:`~geoapp.store.asof`.

May import: :mod:`geoapp.schema` (column sets, datasets, the DataSource contract),
:mod:`geoapp.auth`, :mod:`geoapp.regions`, :mod:`geoapp.settings`,
:mod:`geoapp.facilities`, :mod:`geoapp.policy`, the analysis
(:mod:`geoapp.analysis.coverage`, :mod:`geoapp.analysis.preview`) and the ingest side
(:mod:`geoapp.ingest`). It never imports :mod:`geoapp.datasource` or
:mod:`geoapp.demo`: the seed data of a new store are handed to :meth:`Store.open`.
Must not be imported by the ingest or the analysis packages (they come before it).
"""

from geoapp.ingest import (  # the upload gate; store.check_upload etc. stay valid
    MAX_COMPRESSION_RATIO,
    MAX_UNCOMPRESSED_BYTES,
    UploadError,
    check_upload,
    display_name,
)
from geoapp.schema import ACTIONS, DATASETS, UNEMPLOYED_COLUMNS
from geoapp.store.asof import AsOfWarning, as_of_note, parse_as_of
from geoapp.store.diff import MOVE_THRESHOLD_M, FacilityDiff, diff_facility_frames
from geoapp.store.errors import StoreError
from geoapp.store.repository import SeedProvenance, Store
from geoapp.store.uploads import UploadResult

__all__ = [
    "ACTIONS",
    "DATASETS",
    "MAX_COMPRESSION_RATIO",
    "MAX_UNCOMPRESSED_BYTES",
    "MOVE_THRESHOLD_M",
    "UNEMPLOYED_COLUMNS",
    "AsOfWarning",
    "FacilityDiff",
    "SeedProvenance",
    "Store",
    "StoreError",
    "UploadError",
    "UploadResult",
    "as_of_note",
    "check_upload",
    "diff_facility_frames",
    "display_name",
    "parse_as_of",
]
