"""The one place every feature reads boundaries, facilities and counts from.

Pages, the CLI and the engines ask a :class:`DataSource` for data and never open files
themselves, so the versioned store and the imports of later work plug in here without
touching them. :class:`EmbeddedSource` serves what ships in ``data/``: the built region
layers and the demo datasets. :class:`StoreSource`, the default (:func:`default_source`),
takes the same boundaries but the current versions of the facilities and counts from
the versioned store (:mod:`geoapp.store`), which starts as a copy of the demo datasets.

Only the embedded region (Jilin, 220000) has demo data. Any other built region starts
empty: no facilities and no counts until a register is uploaded, and its population
only when a census table under ``data/reference`` (``*_county_population_2020.csv``)
covers its counties (:func:`population_table`); none otherwise, never another region's.

Frames returned:

- ``counties()``: ``adcode, name, prefecture_adcode, prefecture, unit_kind, area_km2,
  geometry`` (EPSG:4326).
- ``prefectures()``, ``province()``: ``adcode, name, area_km2, geometry``.
- ``facilities()``: ``facility_id, name, facility_type, subtype, prefecture, county,
  adcode, address, lon, lat, datum, is_demo, note, geometry`` (EPSG:4326, WGS84).
- ``unemployed()``: ``adcode, prefecture, county, unemployed_disabled, is_demo, method``.
- ``population()``: ``adcode, prefecture, county, pop2020`` (2020 census, county rows).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from geoapp import regions
from geoapp.paths import DEMO_DIR, REFERENCE_DIR, REGIONS_DIR
from geoapp.schema import (
    DEMO_AS_OF,
    FACILITY_COLUMNS,
    FACILITY_TEXT_COLUMNS,
    DataSource,
    SourceInfo,
)

if TYPE_CHECKING:
    from geoapp.store import Store

__all__ = [
    "FACILITY_COLUMNS",
    "SOURCES",
    "DataSource",
    "EmbeddedSource",
    "SourceInfo",
    "StoreSource",
    "default_source",
    "population_table",
    "topology_json",
]

_TEXT = dict.fromkeys(FACILITY_TEXT_COLUMNS, str)


class EmbeddedSource:
    """Data shipped in the repository: built boundaries plus the demo datasets."""

    def __init__(
        self,
        region_adcode: str = regions.DEFAULT_REGION,
        *,
        regions_dir: Path | None = None,
        demo_dir: Path | None = None,
    ) -> None:
        self.region_adcode = str(region_adcode)
        self._regions_dir = regions_dir or REGIONS_DIR
        self._demo_dir = demo_dir or DEMO_DIR

    def __repr__(self) -> str:
        return f"EmbeddedSource({self.region_adcode!r})"

    # boundaries -----------------------------------------------------------------
    def counties(self) -> gpd.GeoDataFrame:
        return regions.read_layer(self.region_adcode, "counties", directory=self._regions_dir)

    def prefectures(self) -> gpd.GeoDataFrame:
        return regions.read_layer(self.region_adcode, "prefectures", directory=self._regions_dir)

    def province(self) -> gpd.GeoDataFrame:
        return regions.read_layer(self.region_adcode, "province", directory=self._regions_dir)

    def display_topology(self) -> dict:
        from geoapp import display  # the topojson reader: not for a CSV run of the CLI

        return display.read_display(self.region_adcode, directory=self._regions_dir)

    def display_layer(self, name: str) -> gpd.GeoDataFrame:
        """The simplified ``counties`` or ``prefectures`` as polygons (for light exports)."""
        from geoapp import display

        path = display.display_path(self.region_adcode, directory=self._regions_dir)
        return display.read_topojson_layer(path, name)

    # registers ------------------------------------------------------------------
    def _demo_file(self, kind: str) -> Path | None:
        """The region's demo file of ``kind``; None for a region without demo data."""
        path = self._demo_dir / f"{self.region_adcode}_{kind}.csv"
        return path if path.is_file() else None

    def facilities(self) -> gpd.GeoDataFrame:
        """The region's demo facilities; none (an empty frame) for a region without."""
        path = self._demo_file("facilities")
        if path is None:
            from geoapp.store.encoding import facility_frame  # the store: only when needed

            return facility_frame([])
        frame = pd.read_csv(path, dtype=_TEXT, keep_default_na=False)
        frame["is_demo"] = frame["is_demo"].astype(str).str.lower().eq("true")
        frame = frame[list(FACILITY_COLUMNS)]
        return gpd.GeoDataFrame(
            frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
        )

    def unemployed(self) -> pd.DataFrame:
        """The region's demo counts; none (an empty frame) for a region without."""
        path = self._demo_file("unemployed_disabled")
        if path is None:
            from geoapp.store.encoding import unemployed_frame

            return unemployed_frame([])
        frame = pd.read_csv(path, dtype={"adcode": str})
        frame["is_demo"] = frame["is_demo"].astype(str).str.lower().eq("true")
        return frame

    def population(self) -> pd.DataFrame:
        """The 2020 census population of the region's counties, from its own table."""
        return population_table(self.counties()["adcode"])

    # provenance -----------------------------------------------------------------
    def seed_provenance(self) -> tuple[str, Mapping[str, Path]]:
        """What a store created from this source records: a label and the demo file each
        dataset is read from (:class:`geoapp.store.SeedProvenance`)."""
        kinds = {"facilities": "facilities", "unemployed": "unemployed_disabled"}
        files = {d: path for d, k in kinds.items() if (path := self._demo_file(k)) is not None}
        return ("embedded demo data" if files else "no embedded data for this region"), files

    def info(self) -> SourceInfo:
        meta = regions.read_metadata(self.region_adcode, directory=self._regions_dir)
        facilities = self.facilities()
        unemployed = self.unemployed()
        data_date = DEMO_AS_OF if facilities["is_demo"].any() else "unknown"
        return SourceInfo(
            region_adcode=self.region_adcode,
            region_name=meta.get("region_name", self.region_adcode),
            boundaries=f"{meta.get('source', '')} {meta.get('source_version', '')}, "
            f"{meta.get('source_datum', '')} → {meta.get('stored_datum', '')}",
            facilities_demo=bool(facilities["is_demo"].any()),
            unemployed_demo=bool(unemployed["is_demo"].any()),
            data_date=data_date,
        )

    def describe(self) -> list[str]:
        info = self.info()
        counties = self.counties()
        facilities = self.facilities()
        unemployed = self.unemployed()
        lines = [
            f"region: {info.region_name} ({info.region_adcode})",
            f"boundaries: {info.boundaries}; {len(self.prefectures())} prefecture-level, "
            f"{len(counties)} county-level units",
            f"facilities: {len(facilities)} ({int(facilities['is_demo'].sum())} demo)"
            + ("" if len(facilities) else ": none yet, upload a register"),
            (
                f"unemployed disabled: {int(unemployed['unemployed_disabled'].sum()):,} in "
                f"{len(unemployed)} of {len(counties)} county-level units"
                + (" (demo estimate)" if info.unemployed_demo else "")
                if len(unemployed)
                else "unemployed disabled: no counts yet, upload them"
            ),
            f"population (2020 census): {len(self.population())} of {len(counties)} "
            "county-level units",
            f"data date: {info.data_date}",
        ]
        for ftype, n in facilities["facility_type"].value_counts().sort_index().items():
            lines.append(f"  {ftype}: {n}")
        return lines


class StoreSource(EmbeddedSource):
    """Embedded boundaries; facilities and counts from the store's current versions.

    The store (:class:`geoapp.store.Store`) is opened, and created from the embedded
    demo data if missing (empty for a region without any), on the first read of
    facilities or counts, so boundaries work
    without it. Every read goes to the store: after an upload or a rollback the next
    read returns the new current version (cache at the UI edge keyed on
    ``store.current_version(...)``).

    Parameters
    ----------
    region_adcode : str
    path : path or str, optional
        The store file, or a ``postgresql://`` URL; :func:`geoapp.settings.store_path`
        of the region by default (read when the store is first opened).
    regions_dir, demo_dir : path, optional
        As :class:`EmbeddedSource`.
    """

    def __init__(
        self,
        region_adcode: str = regions.DEFAULT_REGION,
        *,
        path: str | os.PathLike | None = None,
        regions_dir: Path | None = None,
        demo_dir: Path | None = None,
    ) -> None:
        super().__init__(region_adcode, regions_dir=regions_dir, demo_dir=demo_dir)
        self._path = path if path is None or isinstance(path, str) else Path(path)
        self._store: Store | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        where = str(self._store.location if self._store else self._path or "settings.STORE_PATH")
        return f"StoreSource({self.region_adcode!r}, path={where!r})"

    @property
    def store(self) -> Store:
        """The versioned store behind this source (opened, or created, on first use)."""
        with self._lock:
            if self._store is None:
                from geoapp.store import Store

                seed = EmbeddedSource(
                    self.region_adcode, regions_dir=self._regions_dir, demo_dir=self._demo_dir
                )
                self._store = Store.open(self._path, region=self.region_adcode, seed=seed)
            return self._store

    def seed_provenance(self) -> tuple[str, Mapping[str, Path]]:
        """As a seed, this source's data come from its store, not from the demo files."""
        return repr(self), {}

    def facilities(self) -> gpd.GeoDataFrame:
        return self.store.facilities()

    def unemployed(self) -> pd.DataFrame:
        return self.store.unemployed()

    def info(self) -> SourceInfo:
        meta = regions.read_metadata(self.region_adcode, directory=self._regions_dir)
        facilities = self.facilities()
        unemployed = self.unemployed()
        version = self.store.version_info("facilities")
        from geoapp.store.status import date_groups  # the store: only when needed

        periods = date_groups(self.store.area_dates("facilities"), self.store.area_tree())
        return SourceInfo(
            region_adcode=self.region_adcode,
            region_name=meta.get("region_name", self.region_adcode),
            boundaries=f"{meta.get('source', '')} {meta.get('source_version', '')}, "
            f"{meta.get('source_datum', '')} → {meta.get('stored_datum', '')}",
            facilities_demo=bool(facilities["is_demo"].any()),
            unemployed_demo=bool(unemployed["is_demo"].any()),
            data_date=str(version["as_of"]),
            area_periods=tuple(periods),
        )

    def describe(self) -> list[str]:
        lines = super().describe()
        store = self.store
        parts = []
        for dataset in ("facilities", "unemployed"):
            v = store.version_info(dataset)
            parts.append(f"{dataset} version {v['version_id']} (as of {v['as_of']})")
        lines.append(f"store: {store.location}; current " + ", ".join(parts))
        return lines


#: The census tables under ``data/reference``, one per province (or smaller area).
POPULATION_TABLES = "*_county_population_2020.csv"


def population_table(adcodes: Iterable[str], *, directory: Path | None = None) -> pd.DataFrame:
    """The 2020 census rows (``adcode, prefecture, county, pop2020``) of ``adcodes``.

    Taken from whichever tables under ``data/reference`` (:data:`POPULATION_TABLES`)
    list them; a county no table lists has no row, so a region without a census table
    of its own gets an empty frame rather than another region's figures.
    """
    wanted = {str(code) for code in adcodes}
    frames = [
        pd.read_csv(
            path, dtype={"adcode": str}, usecols=["adcode", "prefecture", "county", "pop2020"]
        )
        for path in sorted((directory or REFERENCE_DIR).glob(POPULATION_TABLES))
    ]
    empty = pd.DataFrame(
        {c: pd.Series(dtype=str) for c in ("adcode", "prefecture", "county")}
        | {"pop2020": pd.Series(dtype="int64")}
    )
    table = pd.concat([empty, *frames], ignore_index=True)
    # Development-zone rows are statistical, not legal counties: only the asked codes stay.
    table = table[table["adcode"].isin(wanted)].drop_duplicates("adcode")
    return table.astype({"pop2020": "int64"}).reset_index(drop=True)


#: ``GEOAPP_SOURCE`` values: where :func:`default_source` takes facilities and counts from.
SOURCES = ("store", "embedded")


def default_source(region_adcode: str | None = None) -> DataSource:
    """The data source the app and CLI use unless told otherwise.

    A :class:`StoreSource` over :func:`geoapp.settings.store_path` (created from the
    embedded demo data on first use); environment ``GEOAPP_SOURCE=embedded`` gives the
    read-only :class:`EmbeddedSource` instead. A region that is not built raises
    :class:`geoapp.regions.RegionError` before any file is touched.
    """
    region = regions.check_region(region_adcode or regions.DEFAULT_REGION)
    choice = os.environ.get("GEOAPP_SOURCE", "").strip().lower() or "store"
    if choice not in SOURCES:
        msg = f"GEOAPP_SOURCE={choice!r} is not a source; expected one of {', '.join(SOURCES)}"
        raise ValueError(msg)
    if choice == "embedded":
        return EmbeddedSource(region)
    return StoreSource(region)


def topology_json(source: DataSource) -> str:
    """The display topology as compact JSON text, as the map ships it."""
    return json.dumps(source.display_topology(), ensure_ascii=False, separators=(",", ":"))
