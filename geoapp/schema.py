"""The shared vocabulary: column sets, dataset names, row statuses, the data-source contract.

Every package reads these names from here instead of from each other, so that the
readers (:mod:`geoapp.ingest`), the store (:mod:`geoapp.store`), the data sources
(:mod:`geoapp.datasource`) and the demo generator (:mod:`geoapp.demo`) need not import
one another. This module imports nothing from geoapp.

Frames a :class:`DataSource` returns:

- ``counties()``: ``adcode, name, prefecture_adcode, prefecture, unit_kind, area_km2,
  geometry`` (EPSG:4326).
- ``prefectures()``, ``province()``: ``adcode, name, area_km2, geometry``.
- ``facilities()``: :data:`FACILITY_COLUMNS` + ``geometry`` (EPSG:4326, WGS84).
- ``unemployed()``: :data:`UNEMPLOYED_COLUMNS`.
- ``population()``: ``adcode, prefecture, county, pop2020`` (2020 census, county rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

__all__ = [
    "ACTIONS",
    "DATASETS",
    "DEMO_AS_OF",
    "FACILITY_COLUMNS",
    "FACILITY_TEXT_COLUMNS",
    "STATUSES",
    "UNEMPLOYED_COLUMNS",
    "DataSource",
    "SourceInfo",
]

#: A facility register as every part of geoapp keeps it.
FACILITY_COLUMNS = (
    "facility_id",
    "name",
    "facility_type",
    "subtype",
    "prefecture",
    "county",
    "adcode",
    "address",
    "lon",
    "lat",
    "datum",
    "is_demo",
    "note",
)
#: The facility columns that hold text (the rest: ``lon``, ``lat`` floats, ``is_demo``).
FACILITY_TEXT_COLUMNS = tuple(c for c in FACILITY_COLUMNS if c not in ("lon", "lat", "is_demo"))
#: Unemployed disabled people per county.
UNEMPLOYED_COLUMNS = ("adcode", "prefecture", "county", "unemployed_disabled", "is_demo", "method")
#: The datasets the store versions, in the order they are shown.
DATASETS = ("facilities", "unemployed")
#: What the store's audit log records.
ACTIONS = ("init", "upload", "rollback", "rejected_upload", "submit", "approve", "return")
#: The date the embedded demo datasets describe.
DEMO_AS_OF = "2025-09-30"
#: What a register's row can become, in the order they are reported.
STATUSES = ("accepted", "flagged", "rejected", "skipped")


@runtime_checkable
class DataSource(Protocol):
    """What every reader of geoapp's data relies on."""

    region_adcode: str

    def counties(self) -> gpd.GeoDataFrame: ...
    def prefectures(self) -> gpd.GeoDataFrame: ...
    def province(self) -> gpd.GeoDataFrame: ...
    def display_topology(self) -> dict: ...
    def display_layer(self, name: str) -> gpd.GeoDataFrame: ...
    def facilities(self) -> gpd.GeoDataFrame: ...
    def unemployed(self) -> pd.DataFrame: ...
    def population(self) -> pd.DataFrame: ...
    def info(self) -> SourceInfo: ...


@dataclass(frozen=True)
class SourceInfo:
    """Provenance shown beside every result: which region, which data, how real."""

    region_adcode: str
    region_name: str
    boundaries: str
    facilities_demo: bool
    unemployed_demo: bool
    data_date: str
    #: Where the units' current facilities come from different quarters: ``(area name,
    #: period)`` pairs, latest first (:func:`geoapp.store.status.date_groups`); else ().
    area_periods: tuple[tuple[str, str], ...] = ()

    @property
    def any_demo(self) -> bool:
        return self.facilities_demo or self.unemployed_demo
