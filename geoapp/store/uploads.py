"""Uploads into the store: checking and reading registers, then adding them as versions.

:class:`UploadsMixin` gives :class:`geoapp.store.Store` its editing entry points
(``add_facilities``, ``add_unemployed``, ``upload``, ``upload_many``). Every file goes
through :func:`geoapp.ingest.check_upload` and the register readers before
anything is written; the versions of one import are then written in one transaction
by the store (all or nothing), and a refused file leaves a ``rejected_upload`` event.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, NoReturn

import geopandas as gpd
import pandas as pd

from geoapp import auth, ingest
from geoapp.ingest import CountImport, FacilityImport, UploadError, check_upload, display_name
from geoapp.ingest.rowlog import Sentences
from geoapp.localised import Localised
from geoapp.store.areas import Period
from geoapp.store.asof import AsOfWarning, as_of_note, parse_as_of
from geoapp.store.encoding import check_dataset
from geoapp.store.outcomes import Pending, UploadResult, pending
from geoapp.store.submissions import Part, Submission

if TYPE_CHECKING:
    from geoapp.admin import AdminRegistry

__all__ = ["ALL_OR_NOTHING", "ImportRefused", "Pending", "UploadResult", "UploadsMixin", "pending"]

ALL_OR_NOTHING = "the files of one import are stored together or not at all"


class ImportRefused(Localised, UploadError):
    """An import of several files refused because some of them were: ``reasons`` holds
    each refused file's own error, which a reader sees in their language."""


class UploadsMixin:
    """The store's editing entry points. The store provides ``submit_many`` (the
    submissions of one import in one transaction) and ``_record_rejections`` (audit
    events)."""

    if TYPE_CHECKING:  # provided by Store

        def submit_many(self, parts: list[Part], **kw) -> dict[str, Submission]: ...

        def _record_rejections(
            self,
            user: auth.User,
            events: list[tuple[str, str, bytes | None, tuple[int, int, int] | None, str]],
        ) -> None: ...

    def _add(
        self,
        dataset: str,
        frame: pd.DataFrame,
        *,
        as_of: object,
        user: object,
        file_name: str,
        file_bytes: bytes | None,
        accepted: int,
        flagged: int,
        rejected: int,
        note: str,
        area: str | None = None,
        period: object = None,
        confirm_closures: bool | int | None = True,
    ) -> int | None:
        steward = auth.require_steward(user, action=f"add a {dataset} version")
        day = parse_as_of(as_of)
        item = pending(
            dataset,
            frame,
            file_name=file_name,
            file_bytes=file_bytes,
            counts=(accepted, flagged, rejected),
            note=note,
        )
        if item.frame.empty:
            reason = f"no valid row: no version made. {note}".strip()
            self._record_rejections(
                steward, [(dataset, item.file_name, item.file_bytes, item.counts, reason)]
            )
            msg = (
                f"{item.file_name}: no valid row ({item.counts[2]} rejected); "
                f"no {dataset} version was made"
            )
            raise UploadError(msg)
        hint = as_of_note(day)
        if hint:
            warnings.warn(hint, AsOfWarning, stacklevel=3)
        done = self._submit_pending(
            steward, day, [item], area=area, period=period, confirm_closures=confirm_closures
        )
        return done[dataset].version_id

    def _submit_pending(
        self,
        user: auth.User,
        as_of: str,
        items: list[Pending],
        *,
        area: str | None,
        period: object,
        confirm_closures: bool | int | Mapping[str, int] | None,
    ) -> dict[str, Submission]:
        """The checked versions of one import as submissions for ``area`` and ``period``
        (by default the steward's area and the quarter of ``as_of``), in one transaction."""
        parts = [
            Part(p.dataset, p.frame, p.file_name, p.file_bytes, p.counts, p.row_numbers)
            for p in items
        ]
        if not isinstance(confirm_closures, (bool, Mapping)) and confirm_closures is not None:
            confirm_closures = {items[0].dataset: int(confirm_closures)}
        return self.submit_many(
            parts,
            user=user,
            period=period if period is not None else Period.of_date(as_of),
            area=area,
            as_of=as_of,
            confirm_closures=confirm_closures,
            note=items[0].note,
        )

    def add_facilities(
        self,
        frame: pd.DataFrame,
        *,
        as_of: object,
        user: object,
        file_name: str,
        file_bytes: bytes | None,
        accepted: int,
        flagged: int,
        rejected: int,
        note: str = "",
        area: str | None = None,
        period: object = None,
        confirm_closures: bool | int | None = True,
    ) -> int | None:
        """Submit a facility register for an area (the steward's by default) and make it
        current once approved; return the version id (None while it waits for review).

        Parameters
        ----------
        frame : DataFrame
            The facility schema (``FACILITY_COLUMNS``; ``geometry`` is ignored, points
            come from ``lon``/``lat``), e.g. ``read_facilities(...).facilities``.
        as_of : date or ISO text
            The date the register describes (a quarter end; others are accepted with an
            :class:`AsOfWarning`).
        user : geoapp.auth.User
            A signed-in data steward; anything else raises PermissionError.
        file_name, file_bytes
            The uploaded file's name (a label only) and content (its size and SHA-256 go
            into the audit log; None for data that did not come from a file).
        accepted, flagged, rejected : int
            The import's row counts, for the audit log.
        note : str

        Raises
        ------
        PermissionError
            ``user`` is not a signed-in data steward.
        UploadError
            ``frame`` has no row: no version is made, a ``rejected_upload`` event is recorded.
        ValueError
            A bad ``as_of`` or a frame outside the schema (nothing is recorded).
        """
        return self._add(
            "facilities",
            frame,
            as_of=as_of,
            user=user,
            file_name=file_name,
            file_bytes=file_bytes,
            accepted=accepted,
            flagged=flagged,
            rejected=rejected,
            note=note,
            area=area,
            period=period,
            confirm_closures=confirm_closures,
        )

    def add_unemployed(
        self,
        frame: pd.DataFrame,
        *,
        as_of: object,
        user: object,
        file_name: str,
        file_bytes: bytes | None,
        accepted: int,
        flagged: int,
        rejected: int,
        note: str = "",
        area: str | None = None,
        period: object = None,
        confirm_closures: bool | int | None = True,
    ) -> int | None:
        """Add a version of the unemployed-disabled counts (``adcode, unemployed_disabled``
        and optionally ``prefecture, county, is_demo, method``, one row per county); as
        :meth:`add_facilities`."""
        return self._add(
            "unemployed",
            frame,
            as_of=as_of,
            user=user,
            file_name=file_name,
            file_bytes=file_bytes,
            accepted=accepted,
            flagged=flagged,
            rejected=rejected,
            note=note,
            area=area,
            period=period,
            confirm_closures=confirm_closures,
        )

    def upload(
        self,
        data: bytes,
        *,
        file_name: str,
        dataset: str,
        as_of: object,
        user: object,
        counties: gpd.GeoDataFrame,
        registry: AdminRegistry | None = None,
        default_datum: str = "wgs84",
        note: str = "",
        max_bytes: int | None = None,
        columns: Mapping[str, str] | None = None,
        lang: str = "zh",
        area: str | None = None,
        period: object = None,
        confirm_closures: bool | int | None = True,
    ) -> UploadResult:
        """Check, read and store an uploaded register: the dashboard's one call.

        :func:`check_upload`, then :func:`geoapp.ingest.read_facilities` (or
        ``read_unemployed``) on the bytes, then :meth:`add_facilities` (or
        ``add_unemployed``). A refused file raises :class:`UploadError` and a register
        with no valid row returns a result with ``version_id=None``; both are recorded in
        the audit log as ``rejected_upload``.

        Raises
        ------
        PermissionError
            ``user`` is not a signed-in data steward (nothing is read or recorded).
        UploadError
            The file is refused (too large, wrong kind, zip bomb, external links ...) or
            unreadable as a register; the message says why.
        ValueError
            A bad ``as_of``, ``dataset`` or ``default_datum``.

        ``columns`` maps fields to headers the detection misses (as the reader's
        ``columns``); ``lang`` is the language of the row reasons kept with the version.
        """
        return self.upload_many(
            {dataset: (file_name, data)},
            as_of=as_of,
            user=user,
            counties=counties,
            registry=registry,
            default_datum=default_datum,
            note=note,
            max_bytes=max_bytes,
            columns={dataset: columns} if columns else None,
            lang=lang,
            area=area,
            period=period,
            confirm_closures=(
                confirm_closures
                if isinstance(confirm_closures, bool) or confirm_closures is None
                else {dataset: confirm_closures}
            ),
        )[dataset]

    def upload_many(
        self,
        files: Mapping[str, tuple[str, bytes]],
        *,
        as_of: object,
        user: object,
        counties: gpd.GeoDataFrame,
        registry: AdminRegistry | None = None,
        default_datum: str = "wgs84",
        note: str = "",
        max_bytes: int | None = None,
        columns: Mapping[str, Mapping[str, str]] | None = None,
        lang: str = "zh",
        area: str | None = None,
        period: object = None,
        confirm_closures: bool | Mapping[str, int] | None = True,
    ) -> dict[str, UploadResult]:
        """Check, read and store the registers of one import together: all or nothing.

        Every file is checked and read (as :meth:`upload` does) before anything is
        written; then all the versions are written in one transaction. If any file is
        refused or has no valid row, no version is made for any of them, and each file
        gets a ``rejected_upload`` event in the audit log saying why.

        Parameters
        ----------
        files : mapping
            Dataset (``"facilities"``, ``"unemployed"``) -> ``(file_name, data)``.
        as_of, user, counties, registry, default_datum, note, max_bytes, lang
            As :meth:`upload`; one ``as_of`` and ``note`` for all the files.
        columns : mapping, optional
            Dataset -> the reader's ``columns`` (field -> header) for that file.
        area, period : str, optional
            The submission's area (default: the steward's own) and quarter (default: that
            of ``as_of``); see :meth:`submit_many`: rows outside the area are not taken.
        confirm_closures : bool or mapping, optional
            Dataset -> the number of closed rows the user saw; True (the default): any;
            None: none (:class:`~geoapp.store.errors.ConfirmationNeeded` otherwise).

        Returns
        -------
        dict
            Dataset -> :class:`UploadResult`, in the order of ``files``. When a file had
            no valid row, every ``version_id`` is None (``withheld`` says why for the
            files that were usable).

        Raises
        ------
        PermissionError
            Not a signed-in steward of the area (nothing is read or recorded).
        UploadError
            A file is refused or unreadable (the message names it); nothing is stored.
        StoreError
            The store cannot be written (disk full, read-only ...); nothing is stored.
        ValueError
            A bad ``as_of``, ``dataset`` or ``default_datum``, or no file.
        """
        steward, day = self._check_import(files, as_of=as_of, user=user)
        options = {"counties": counties, "registry": registry, "default_datum": default_datum}
        options.update(note=note, max_bytes=max_bytes, lang=lang)
        read, refused = self._read_all(files, columns or {}, options)
        empty = [d for d, (_, _, item) in read.items() if item.frame.empty]
        if refused or empty:
            return self._refuse_import(steward, files, read, refused, empty, as_of=day, note=note)
        done = self._submit_pending(
            steward,
            day,
            [item for _, _, item in read.values()],
            area=area,
            period=period,
            confirm_closures=confirm_closures,
        )
        hint = as_of_note(day)
        return {
            d: UploadResult(
                d, item.file_name, kind, done[d].version_id, day, hint, imported,
                submission=done[d],
            )
            for d, (kind, imported, item) in read.items()
        }  # fmt: skip

    def _read_all(
        self,
        files: Mapping[str, tuple[str, bytes]],
        columns: Mapping[str, Mapping[str, str]],
        options: dict,
    ) -> tuple[
        dict[str, tuple[str, FacilityImport | CountImport, Pending]], dict[str, UploadError]
    ]:
        """Every file checked and read: dataset -> (kind, import, pending version), and
        dataset -> why it was refused (its error, with its i18n key)."""
        read, refused = {}, {}
        for dataset, (file_name, data) in files.items():
            try:
                read[dataset] = self._read_upload(
                    dataset, file_name, bytes(data), columns=columns.get(dataset), **options
                )
            except UploadError as exc:
                refused[dataset] = exc
        return read, refused

    @staticmethod
    def _check_import(
        files: Mapping[str, tuple[str, bytes]], *, as_of: object, user: object
    ) -> tuple[auth.User, str]:
        """The steward and the ``as_of`` date of an import, once its datasets are checked:
        PermissionError first (nothing is read), then ValueError."""
        names = list(files)
        action = (
            f"upload a {names[0]} register"
            if len(names) == 1
            else f"upload {' and '.join(names) or 'the'} registers"
        )
        steward = auth.require_steward(user, action=action)
        if not files:
            msg = "no file to upload; give a facilities and/or an unemployed register"
            raise ValueError(msg)
        for dataset in files:
            check_dataset(dataset)
        return steward, parse_as_of(as_of)

    @staticmethod
    def _read_upload(
        dataset: str,
        file_name: str,
        raw: bytes,
        *,
        counties: gpd.GeoDataFrame,
        registry: AdminRegistry | None,
        default_datum: str,
        columns: Mapping[str, str] | None = None,
        lang: str = "zh",
        note: str,
        max_bytes: int | None,
    ) -> tuple[str, FacilityImport | CountImport, Pending]:
        """:func:`check_upload` and the register reader on one file: its kind, the import
        and the checked version. UploadError (naming the file) when it is unusable."""
        label = display_name(file_name)
        kind = check_upload(label, raw, max_bytes=max_bytes)
        buffer = io.BytesIO(raw)
        buffer.name = label  # a label for the import report, never opened as a path
        try:
            if dataset == "facilities":
                imported: FacilityImport | CountImport = ingest.read_facilities(
                    buffer,
                    counties=counties,
                    registry=registry,
                    default_datum=default_datum,
                    columns=columns,
                    lang=lang,
                )
                frame = imported.facilities
            else:
                imported = ingest.read_unemployed(
                    buffer, counties=counties, registry=registry, columns=columns, lang=lang
                )
                frame = imported.counts
        except ingest.RegisterError as exc:
            raise UploadError(str(exc), key=exc.key, **exc.params) from exc
        counts = (imported.accepted, imported.flagged, imported.rejected)
        report = imported.report
        rows = report.loc[report["status"].isin(("accepted", "flagged")), "row"].tolist()
        item = pending(
            dataset, frame, file_name=label, file_bytes=raw, counts=counts, note=note,
            row_numbers=rows,
        )  # fmt: skip
        return kind, imported, item

    def _refuse_import(
        self,
        steward: auth.User,
        files: Mapping[str, tuple[str, bytes]],
        read: dict[str, tuple[str, FacilityImport | CountImport, Pending]],
        refused: dict[str, UploadError],
        empty: list[str],
        *,
        as_of: str,
        note: str,
    ) -> dict[str, UploadResult]:
        """Record why an import stores nothing (one event per file); raise UploadError
        for a refused file, else return results without versions."""
        label = {d: display_name(name) for d, (name, _) in files.items()}
        bad = [*refused, *empty]
        others = {
            d: ", ".join(
                f"{label[b]} has no valid row" if b in empty else f"{label[b]} was refused"
                for b in bad
                if b != d
            )
            for d in files
        }
        events = []
        for dataset, (_, data) in files.items():
            counts = read[dataset][2].counts if dataset in read else None
            if dataset in refused:
                reason = str(refused[dataset])
            elif dataset in empty:
                reason = f"no valid row: no version made. {note}".strip()
            else:
                reason = f"not stored: {others[dataset]}; {ALL_OR_NOTHING}. {note}".strip()
            events.append((dataset, label[dataset], bytes(data), counts, reason))
        self._record_rejections(steward, events)
        if refused:
            _raise_refused(refused, several=len(files) > 1)
        hint = as_of_note(as_of)
        results = {}
        for d, (kind, imported, item) in read.items():
            withheld = None if d in empty else f"{others[d]}; {ALL_OR_NOTHING}"
            results[d] = UploadResult(
                dataset=d,
                file_name=item.file_name,
                kind=kind,
                version_id=None,
                as_of=as_of,
                as_of_note=hint,
                imported=imported,
                withheld=withheld,
            )
        return results


def _raise_refused(refused: dict[str, UploadError], *, several: bool) -> NoReturn:
    """Raise the error of a refused file as it is (its key says it in the reader's
    language), or, when the import had several files, :class:`ImportRefused` with each
    refused file's error and why nothing was stored."""
    if not several:
        raise next(iter(refused.values()))
    msg = "; ".join(str(exc) for exc in refused.values())
    msg += f"; nothing was stored: {ALL_OR_NOTHING}"
    raise ImportRefused(
        msg, key="problem.store.import_refused", reasons=Sentences(refused.values())
    )
