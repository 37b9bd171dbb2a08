"""The versioned repository: every accepted register becomes a version, never an overwrite.

One GeoPackage file (:func:`geoapp.settings.store_path`, default ``var/geoapp.gpkg``),
or one schema of a PostgreSQL + PostGIS database (``GEOAPP_STORE=postgresql://...``,
:mod:`geoapp.store.postgis`; the backends differ only in :mod:`geoapp.store.backend`),
holds every version of the facility register and of the unemployed-disabled counts, a
pointer to the current version of each, and an audit log. It is created on first open
from the seed data the caller hands to :meth:`Store.open` (version 1 of both datasets,
``as_of`` = the seed's ``info().data_date``, audit event ``init`` by ``system``). A
region without embedded data starts empty: version 1 of both has no row and is dated
the day the store was created. The seed is read before the file is made, so a seed that
cannot be read leaves no file behind.

The file is a real GeoPackage (the tables are in :mod:`geoapp.store.encoding`), so GDAL
and QGIS open it:

=====================  ==========  =================================================
table                  gpkg type   what
=====================  ==========  =================================================
``facilities``         features    every version's facility rows: ``fid``, ``geom``
                                   (POINT, EPSG:4326, GeoPackage binary header + WKB;
                                   NULL without coordinates), ``version_id`` and
                                   :data:`~geoapp.schema.FACILITY_COLUMNS`
``current_facilities`` features    a view: the rows of the current facility version
``unemployed``         attributes  ``fid, version_id`` + :data:`UNEMPLOYED_COLUMNS`
``versions``           attributes  ``dataset, version_id`` (numbered per dataset from
                                   1), ``as_of`` (the quarter the register describes),
                                   ``created_at, created_by, source_file,
                                   source_sha256, row_count, parent, note``
``current``            attributes  ``dataset -> version_id``: the pointer
``audit``              attributes  ``event_id, at, who, action`` (init, upload,
                                   rollback, rejected_upload), ``dataset, file_name,
                                   file_size, file_sha256, accepted, flagged,
                                   rejected, version_id, previous_version, note``
``geoapp_meta``        attributes  ``region``, ``schema_version``
=====================  ==========  =================================================

A PostgreSQL store has the same tables in its region's schema
(:mod:`geoapp.store.postgis_schema`), ``geom`` a PostGIS point that QGIS shows too.
Rows are append-only: triggers refuse UPDATE and DELETE on the version, row and audit
tables; only the ``current`` pointer moves.

Atomicity. Every write (a version with its rows, the pointer and the audit event) is
one transaction, one writer at a time: in the GeoPackage ``BEGIN IMMEDIATE ... COMMIT``
in WAL mode with ``synchronous=FULL`` (a writer killed in the middle leaves uncommitted
pages in the write-ahead log, which SQLite ignores on the next open), in PostgreSQL an
advisory lock on the region (the server rolls a dead writer back). Either way the
previous version stays current and intact. Readers read the pointer and the rows in one
read transaction (a snapshot), so several browser sessions never see half a version,
and they never wait for a writer. Each call takes its own connection, so one
:class:`Store` can be shared between threads (``st.cache_resource``).

Permissions. Uploading, rolling back and reading the audit log take a ``user`` that
must be a signed-in data steward (:func:`geoapp.auth.verify`); anything else raises
:class:`PermissionError`. Reading data and versions is open (the dashboard decides
whether viewing needs sign-in, :data:`geoapp.settings.VIEW_REQUIRES_SIGNIN`).

Uploads (:mod:`geoapp.store.uploads`). :func:`check_upload` refuses, before any
parsing, files over :data:`geoapp.settings.MAX_UPLOAD_BYTES`, names other than
``.csv``/``.xlsx``, content that is not what the name says, zip bombs, workbooks linking
to other workbooks, macros, encrypted parts and XML with a DTD. Workbooks are then read
by :mod:`geoapp.ingest` with openpyxl ``data_only=True`` (the values Excel cached;
formulas are never evaluated) and, with ``defusedxml`` installed, openpyxl parses XML
defensively. Uploaded bytes are never written to disk, and the user's file name is only
a label in the audit log, never a path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd

from geoapp import auth, regions, settings
from geoapp.ingest import check_upload, display_name
from geoapp.localised import AccessDenied, dataset_word
from geoapp.schema import FACILITY_COLUMNS, UNEMPLOYED_COLUMNS, DataSource
from geoapp.store.asof import parse_as_of
from geoapp.store.backend import Backend, Connection, open_backend, read_frame
from geoapp.store.encoding import (
    SCHEMA_VERSION,
    check_dataset,
    check_facility_frame,
    check_unemployed_frame,
    facility_records,
    timestamp,
    unemployed_records,
)
from geoapp.store.errors import StoreError
from geoapp.store.history import HistoryMixin
from geoapp.store.reading import ReadingMixin
from geoapp.store.reporting_schema import upgrade_to_2
from geoapp.store.review import ReviewMixin
from geoapp.store.submissions import SubmissionsMixin
from geoapp.store.uploads import UploadsMixin

__all__ = ["SeedProvenance", "Store"]


@runtime_checkable
class SeedProvenance(Protocol):
    """A seed that can say where its data came from, for the init versions' record.

    ``seed_provenance()`` returns a label (``"embedded demo data"``) and the file each
    dataset was read from (``{"facilities": path, "unemployed": path}``): the versions
    take the file's name and the audit log its size and SHA-256. A seed without it is
    recorded by its ``repr`` and no file.
    """

    def seed_provenance(self) -> tuple[str, Mapping[str, Path]]: ...


def _count(frame: pd.DataFrame | None, row_count: int | None) -> int:
    if row_count is not None:
        return int(row_count)
    if frame is None:  # pragma: no cover - a programming error
        msg = "a version needs its rows: a frame, or fill and row_count"
        raise TypeError(msg)
    return len(frame)


class Store(ReadingMixin, UploadsMixin, SubmissionsMixin, ReviewMixin, HistoryMixin):
    """A versioned store of one region's facilities and unemployed counts: a GeoPackage
    file, or a schema in PostgreSQL + PostGIS.

    Open it with :meth:`Store.open`; see the module docstring for the layout and the
    guarantees.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from geoapp.datasource import EmbeddedSource
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "s.gpkg"
    >>> store = Store.open(path, seed=EmbeddedSource())
    >>> store.current_version("facilities"), len(store.facilities()) > 400
    (1, True)
    """

    def __init__(self, path: str | Path, region: str) -> None:
        self.region = str(region)
        self._backend: Backend = open_backend(path, self.region)
        #: The GeoPackage file; None for a PostgreSQL store (see ``location``).
        self.path: Path | None = getattr(self._backend, "path", None)
        #: Where the store is, for people: the file, or the URL (no password) and schema.
        self.location: str = self._backend.location

    def __repr__(self) -> str:
        return f"Store({self.location!r}, region={self.region!r})"

    @property
    def backend(self) -> str:
        """``"gpkg"`` (a GeoPackage file) or ``"postgis"`` (PostgreSQL + PostGIS)."""
        return self._backend.kind

    def close(self) -> None:
        """Close the connections kept for reuse (PostgreSQL); the store stays usable."""
        self._backend.close()

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        region: str = regions.DEFAULT_REGION,
        seed: DataSource | None = None,
    ) -> Store:
        """Open the store at ``path``, creating it from ``seed`` if needed.

        Parameters
        ----------
        path : path or str, optional
            The GeoPackage (its folder is created if needed), or a ``postgresql://``
            URL (the region's schema ``geoapp_<adcode>`` in that database);
            :func:`geoapp.settings.store_path` of ``region`` by default.
        region : str
            Region adcode; a store holds one region and refuses another.
        seed : DataSource, optional
            Where a new store takes version 1 of both datasets from (e.g. the region's
            :class:`~geoapp.datasource.EmbeddedSource`), dated ``seed.info().data_date``.
            Needed only when the file must be created.

        Raises
        ------
        StoreError
            The file is not a geoapp store, holds another region, or must be created and
            no usable seed was given; the server cannot be reached or refuses.
        """
        target = path if path is not None else settings.store_path(region)
        store = cls(target, str(region))
        store._initialise(seed)
        return store

    def _failure(self, exc: BaseException, doing: str, *, write: bool = False) -> StoreError:
        """The StoreError for a driver failure on this store; raise it ``from exc``."""
        return self._backend.failure(exc, doing, write=write)

    def _connect(self) -> Connection:
        return self._backend.connect()

    @contextlib.contextmanager
    def _transaction(self, *, write: bool = False) -> Iterator[Connection]:
        """One transaction: one writer at a time for writes, a snapshot for reads (the
        pointer and the rows agree); see :mod:`geoapp.store.backend`.

        A driver failure becomes a :class:`StoreError` naming the store and the cause;
        anything raised inside rolls the transaction back and goes on unchanged.
        """
        backend = self._backend
        con = self._connect()
        try:
            try:
                backend.begin(con, write=write)
                yield con
                backend.commit(con)
            except BaseException:
                backend.rollback(con)
                raise
        except backend.errors as exc:
            doing = "write to the store" if write else "read the store"
            raise self._failure(exc, doing, write=write) from exc
        finally:
            backend.release(con)

    def _initialise(self, seed: DataSource | None) -> None:
        """Check an existing store (a read: never waits for a writer) or create one."""
        backend = self._backend
        exists = backend.exists()
        if seed is None and not exists:
            raise self._no_seed()
        seeded = self._read_seed(seed) if seed is not None and not exists else None
        backend.prepare()
        con = self._connect()
        try:
            meta = backend.meta(con)
            if meta is None:
                meta = self._create_once(con, seed, seeded)
            elif meta.get("schema_version") == "1" and meta.get("region") == self.region:
                meta = self._upgrade(con)
        except backend.errors as exc:
            backend.rollback(con)
            raise self._failure(exc, "open the store") from exc
        finally:
            backend.release(con)
        self._check_meta(meta)

    def _upgrade(self, con: Connection) -> dict[str, str]:
        """Bring a schema-1 store (GeoPackage only) to schema 2 (one transaction; another
        process may have done it already)."""
        self._backend.begin(con, write=True)
        try:
            meta = self._backend.meta(con) or {}
            if meta.get("schema_version") == "1":
                upgrade_to_2(con, at=timestamp())
                meta["schema_version"] = SCHEMA_VERSION
            self._backend.commit(con)
        except BaseException:
            self._backend.rollback(con)
            raise
        return meta

    def _no_seed(self) -> StoreError:
        msg = (
            f"{self.location}: no store here yet, and no seed data to create it from; "
            "open it with seed=... (e.g. geoapp.datasource.EmbeddedSource"
            f"({self.region!r}))"
        )
        return StoreError(msg, key="problem.store.no_seed")

    def _create_once(
        self,
        con: Connection,
        seed: DataSource | None,
        seeded: tuple[dict[str, pd.DataFrame], str] | None = None,
    ) -> dict[str, str]:
        """Create the store, unless another process won the race; one writer at a time."""
        if seed is None:
            raise self._no_seed()
        self._backend.begin_create(con)
        try:
            meta = self._backend.meta(con)
            if meta is None:
                self._create(con, seed, seeded or self._read_seed(seed))
                meta = {"region": self.region, "schema_version": SCHEMA_VERSION}
            self._backend.commit(con)
        except BaseException:
            self._backend.rollback(con)
            raise
        return meta

    def _check_meta(self, meta: dict[str, str]) -> None:
        if meta.get("region") != self.region:
            msg = (
                f"{self.location} holds region {meta.get('region')}, not {self.region}; "
                "each region has its own store (settings.store_path)"
            )
            stored = str(meta.get("region"))
            raise StoreError(
                msg, key="problem.store.other_region", stored=stored, region=self.region
            )
        if meta.get("schema_version") != SCHEMA_VERSION:
            msg = (
                f"{self.location}: store schema {meta.get('schema_version')}, this geoapp "
                f"reads schema {SCHEMA_VERSION}"
            )
            found = str(meta.get("schema_version"))
            raise StoreError(msg, key="problem.store.schema", found=found, expected=SCHEMA_VERSION)

    def _read_seed(self, seed: DataSource) -> tuple[dict[str, pd.DataFrame], str]:
        """The seed's datasets in the stored schema, and the date they describe."""
        where = f"{self.location}: cannot create the store for region {self.region}"
        try:
            frames = {
                "facilities": check_facility_frame(seed.facilities()),
                "unemployed": check_unemployed_frame(seed.unemployed()),
            }
        except ValueError as exc:
            seed_error = f"{where}: {exc}"
            raise StoreError(
                seed_error, key="problem.store.seed", region=self.region, detail=exc
            ) from exc
        if all(frame.empty for frame in frames.values()):
            return frames, dt.date.today().isoformat()  # nothing known before this day
        data_date = seed.info().data_date
        try:
            as_of = parse_as_of(data_date)
        except ValueError as exc:
            msg = f"{where}: the seed's data date {data_date!r} is not a date (YYYY-MM-DD)"
            raise StoreError(
                msg, key="problem.store.seed_date", region=self.region, date=str(data_date)[:40]
            ) from exc
        return frames, as_of

    def _create(
        self,
        con: Connection,
        seed: DataSource,
        seeded: tuple[dict[str, pd.DataFrame], str],
    ) -> None:
        frames, as_of = seeded
        label, files = (
            seed.seed_provenance() if isinstance(seed, SeedProvenance) else (repr(seed), {})
        )
        self._backend.create_schema(con, region=self.region, at=timestamp())
        for dataset, frame in frames.items():
            path = files.get(dataset)
            content = path.read_bytes() if path is not None and path.is_file() else None
            self._insert_version(
                con,
                dataset,
                frame,
                as_of=as_of,
                who="system",
                action="init",
                file_name=path.name if path is not None and content is not None else label,
                file_bytes=content,
                counts=(len(frame), 0, 0),
                note=f"created from the {label}" if len(frame) else f"created empty: {label}",
            )

    # -- writing -------------------------------------------------------------------------------

    def _insert_version(
        self,
        con: Connection,
        dataset: str,
        frame: pd.DataFrame | None,
        *,
        as_of: str,
        who: str,
        action: str,
        file_name: str,
        file_bytes: bytes | None,
        counts: tuple[int, int, int],
        note: str,
        row_count: int | None = None,
        fill: Callable[[int], None] | None = None,
        audit_extra: Mapping[str, object] | None = None,
        file_digest: tuple[int | None, str | None] | None = None,
    ) -> int:
        """Inside an open write transaction: the version row, its rows, the pointer, the
        audit event. Returns the new version id.

        The rows are ``frame``'s, or (an approved submission) whatever ``fill(vid)``
        inserts, ``row_count`` of them: the version row is written first and never
        updated.
        """
        now = timestamp()
        sha = hashlib.sha256(file_bytes).hexdigest() if file_bytes is not None else None
        size = len(file_bytes) if file_bytes is not None else None
        if file_digest is not None:  # the file was kept with its submission
            size, sha = file_digest
        row = con.execute(
            'SELECT version_id FROM "current" WHERE dataset = ?', (dataset,)
        ).fetchone()
        parent = int(row[0]) if row else None
        vid = int(
            con.execute(
                "SELECT COALESCE(MAX(version_id), 0) + 1 FROM versions WHERE dataset = ?",
                (dataset,),
            ).fetchone()[0]
        )
        con.execute(
            "INSERT INTO versions (dataset, version_id, as_of, created_at, created_by, "
            "source_file, source_sha256, row_count, parent, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (dataset, vid, as_of, now, who, file_name, sha, _count(frame, row_count), parent, note),
        )
        if fill is not None:
            fill(vid)
        else:
            self._insert_rows(con, dataset, frame, vid)
        self._point(con, dataset, vid, now, first=parent is None)
        self._audit(
            con,
            at=now,
            who=who,
            action=action,
            dataset=dataset,
            file_name=file_name,
            file_size=size,
            file_sha256=sha,
            counts=counts,
            version_id=vid,
            previous_version=parent,
            note=note,
            **(audit_extra or {}),
        )
        return vid

    def _point(self, con: Connection, dataset: str, vid: int, now: str, *, first: bool) -> None:
        """Make ``vid`` the current version of ``dataset`` and date the tables it touched."""
        if first:
            con.execute(
                'INSERT INTO "current" (dataset, version_id, updated_at) VALUES (?, ?, ?)',
                (dataset, vid, now),
            )
        else:
            con.execute(
                'UPDATE "current" SET version_id = ?, updated_at = ? WHERE dataset = ?',
                (vid, now, dataset),
            )
        view = "current_facilities" if dataset == "facilities" else "unemployed"
        self._backend.touch(con, (dataset, "versions", "current", "audit", view), now)

    def _insert_rows(self, con: Connection, dataset: str, frame: pd.DataFrame, vid: int) -> None:
        if dataset == "facilities":
            columns = ("version_id", "geom", *FACILITY_COLUMNS)
            records = facility_records(frame, vid)
        else:
            columns = ("version_id", *UNEMPLOYED_COLUMNS)
            records = unemployed_records(frame, vid)
        self._backend.insert_rows(con, dataset, columns, records)

    @staticmethod
    def _audit(
        con: Connection,
        *,
        at: str,
        who: str,
        action: str,
        dataset: str | None,
        file_name: str | None = None,
        file_size: int | None = None,
        file_sha256: str | None = None,
        counts: tuple[int, int, int] | None = None,
        version_id: int | None = None,
        previous_version: int | None = None,
        note: str = "",
        area: str | None = None,
        period: str | None = None,
        submission_id: int | None = None,
    ) -> None:
        accepted, flagged, rejected = counts if counts is not None else (None, None, None)
        con.execute(
            "INSERT INTO audit (at, who, action, dataset, file_name, file_size, file_sha256, "
            "accepted, flagged, rejected, version_id, previous_version, note, area, period, "
            "submission_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                at,
                who,
                action,
                dataset,
                file_name,
                file_size,
                file_sha256,
                accepted,
                flagged,
                rejected,
                version_id,
                previous_version,
                note,
                area,
                period,
                submission_id,
            ),
        )

    def _record_rejections(
        self,
        user: auth.User,
        events: list[tuple[str, str, bytes | None, tuple[int, int, int] | None, str]],
    ) -> None:
        """``rejected_upload`` events, ``(dataset, file_name, file_bytes, counts, note)``,
        in one transaction."""
        now = timestamp()
        with self._transaction(write=True) as con:
            for dataset, file_name, file_bytes, counts, note in events:
                size = sha = None
                if file_bytes is not None:
                    size, sha = len(file_bytes), hashlib.sha256(file_bytes).hexdigest()
                self._audit(
                    con,
                    at=now,
                    who=user.name,
                    action="rejected_upload",
                    dataset=dataset,
                    file_name=display_name(file_name),
                    file_size=size,
                    file_sha256=sha,
                    counts=counts,
                    previous_version=self._current(con, dataset),
                    note=note,
                )

    def rollback(self, dataset: str, version_id: int, *, user: object, note: str = "") -> None:
        """Make an earlier (or any other) version current again; recorded in the audit log.

        Nothing is deleted: the versions after it stay, and can be made current again.

        Raises
        ------
        PermissionError
            ``user`` is not a signed-in data steward of the whole region.
        StoreError
            No such version, or it is the current one already.
        """
        steward = auth.require_steward(user, action=f"roll back the {dataset}")
        if self._home(steward) != self.region:  # a version is the whole region's data
            msg = (
                f"{steward.name} is a steward of {steward.area}; only a steward of the whole "
                f"region {self.region} may roll back the {dataset}"
            )
            raise AccessDenied(
                msg, key="problem.access.rollback_area", name=steward.name, area=steward.area,
                region=self.region, dataset=dataset_word(dataset),
            )  # fmt: skip
        check_dataset(dataset)
        with self._transaction(write=True) as con:
            vid = self._resolve(con, dataset, version_id)
            previous = self._current(con, dataset)
            if vid == previous:
                msg = (
                    f"{dataset} version {vid} is the current version already; nothing to roll back"
                )
                raise StoreError(
                    msg, key="problem.store.rollback_current", dataset=dataset_word(dataset),
                    version=vid,
                )  # fmt: skip
            now = timestamp()
            con.execute(
                'UPDATE "current" SET version_id = ?, updated_at = ? WHERE dataset = ?',
                (vid, now, dataset),
            )
            text = f"{dataset}: version {previous} -> {vid}" + (f". {note}" if note else "")
            self._audit(
                con,
                at=now,
                who=steward.name,
                action="rollback",
                dataset=dataset,
                version_id=vid,
                previous_version=previous,
                note=text,
            )

    def audit(self, *, user: object) -> pd.DataFrame:
        """The audit log, oldest first (a data steward only): ``event_id, at, who, action,
        dataset, file_name, file_size, file_sha256, accepted, flagged, rejected,
        version_id, previous_version, note``."""
        auth.require_role(user, auth.EDITING_ROLES, action="read the audit log")
        with self._transaction() as con:
            frame = read_frame(con, "SELECT * FROM audit ORDER BY event_id")
        for c in ("file_size", "accepted", "flagged", "rejected", "version_id", "previous_version"):
            frame[c] = frame[c].astype("Int64")
        return frame

    # -- uploads (also a module function) -------------------------------------------------------
    check_upload = staticmethod(check_upload)
