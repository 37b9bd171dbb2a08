"""Reading the store: the current pointer, the versions and a version's rows.

:class:`ReadingMixin` gives :class:`geoapp.store.Store` its read side:
``current_version``, ``versions``, ``facilities``, ``unemployed``, ``version_info`` and
``integrity_check``, and the helpers the write side shares (``_current``: the pointer,
``_resolve``: a version id checked against the versions of a dataset). Every read runs
in one read transaction of the store (a snapshot), so the pointer and the rows agree.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geoapp.localised import dataset_word
from geoapp.schema import FACILITY_COLUMNS, UNEMPLOYED_COLUMNS
from geoapp.store.backend import Backend, Connection, read_frame
from geoapp.store.encoding import check_dataset, facility_frame, unemployed_frame
from geoapp.store.errors import StoreError

__all__ = ["ReadingMixin"]


class ReadingMixin:
    """The store's read side. The store provides ``_backend`` (where it lives) and
    ``_transaction`` (a read snapshot)."""

    if TYPE_CHECKING:  # provided by Store
        _backend: Backend

        def _transaction(
            self, *, write: bool = False
        ) -> contextlib.AbstractContextManager[Connection]: ...

    @staticmethod
    def _current(con: Connection, dataset: str) -> int:
        row = con.execute(
            'SELECT version_id FROM "current" WHERE dataset = ?', (dataset,)
        ).fetchone()
        if row is None:  # pragma: no cover - created with the store
            msg = f"the store has no current {dataset} version"
            raise StoreError(msg, key="problem.store.no_current", dataset=dataset_word(dataset))
        return int(row[0])

    @staticmethod
    def _version_ids(con: Connection, dataset: str) -> list[int]:
        return [
            int(r[0])
            for r in con.execute(
                "SELECT version_id FROM versions WHERE dataset = ? ORDER BY version_id", (dataset,)
            )
        ]

    def _resolve(self, con: Connection, dataset: str, version_id: int | None) -> int:
        if version_id is None:
            return self._current(con, dataset)
        if isinstance(version_id, bool) or not isinstance(version_id, (int, np.integer)):
            msg = f"version_id must be a whole number, got {version_id!r}"
            raise TypeError(msg)
        known = self._version_ids(con, dataset)
        if int(version_id) not in known:
            msg = f"no {dataset} version {version_id} in {self._backend.name}; versions: {known}"
            raise StoreError(
                msg, key="problem.store.no_version", dataset=dataset_word(dataset),
                version=int(version_id), versions=known,
            )  # fmt: skip
        return int(version_id)

    def current_version(self, dataset: str) -> int:
        """The id of the current version of ``dataset`` ("facilities" or "unemployed")."""
        check_dataset(dataset)
        with self._transaction() as con:
            return self._current(con, dataset)

    def versions(self, dataset: str | None = None) -> pd.DataFrame:
        """Every version, oldest first: ``dataset, version_id, as_of, created_at,
        created_by, source_file, source_sha256, row_count, parent, note, is_current``."""
        if dataset is not None:
            check_dataset(dataset)
        with self._transaction() as con:
            frame = read_frame(
                con,
                "SELECT v.dataset, v.version_id, v.as_of, v.created_at, v.created_by, "
                "v.source_file, v.source_sha256, v.row_count, v.parent, v.note, "
                "(c.version_id IS NOT NULL) AS is_current FROM versions v "
                'LEFT JOIN "current" c ON c.dataset = v.dataset AND c.version_id = v.version_id '
                + ("WHERE v.dataset = ? " if dataset else "")
                + "ORDER BY v.dataset, v.version_id",
                (dataset,) if dataset else (),
            )
        frame["is_current"] = frame["is_current"].astype(bool)
        frame["parent"] = frame["parent"].astype("Int64")
        return frame

    def facilities(self, version_id: int | None = None) -> gpd.GeoDataFrame:
        """A facility version (the current one by default), in the schema of
        :meth:`geoapp.datasource.EmbeddedSource.facilities` (rows in upload order)."""
        columns = ", ".join(FACILITY_COLUMNS)
        with self._transaction() as con:
            vid = self._resolve(con, "facilities", version_id)
            rows = con.execute(
                f"SELECT {columns} FROM facilities WHERE version_id = ? ORDER BY fid", (vid,)
            ).fetchall()
        return facility_frame(rows)

    def unemployed(self, version_id: int | None = None) -> pd.DataFrame:
        """A version of the unemployed-disabled counts (the current one by default):
        ``adcode, prefecture, county, unemployed_disabled, is_demo, method``."""
        columns = ", ".join(UNEMPLOYED_COLUMNS)
        with self._transaction() as con:
            vid = self._resolve(con, "unemployed", version_id)
            rows = con.execute(
                f"SELECT {columns} FROM unemployed WHERE version_id = ? ORDER BY fid", (vid,)
            ).fetchall()
        return unemployed_frame(rows)

    def version_info(self, dataset: str, version_id: int | None = None) -> dict[str, Any]:
        """One row of :meth:`versions` as a dict (the current version by default)."""
        check_dataset(dataset)
        with self._transaction() as con:
            vid = self._resolve(con, dataset, version_id)
        table = self.versions(dataset)
        return table[table["version_id"] == vid].iloc[0].to_dict()

    def integrity_check(self) -> str:
        """``"ok"`` for a sound store: SQLite's ``PRAGMA integrity_check`` of the file, or
        (PostgreSQL) the append-only triggers and the current versions' rows in place."""
        return self._backend.integrity_check()
