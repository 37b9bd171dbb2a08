"""Area-scoped submissions and their review: 县级填报、市级审核、省级汇总.

:class:`SubmissionsMixin` gives :class:`geoapp.store.Store` the reporting side
(``../shared/REPORTING.md``):

- :meth:`~SubmissionsMixin.submit`: a steward's rows for one area and one quarter. Rows
  that place outside the area are not taken (each is reported with its row number and
  the unit it placed in); facilities of the area the rows no longer list are *closed* by
  the submission and must be confirmed by their number (:class:`ConfirmationNeeded`
  otherwise). A newer submission for the same area and period supersedes a pending one.
- Review (:mod:`geoapp.store.review`): a reviewer of the area above approves (the
  area's rows replace the area's part of the current data, everything outside it
  unchanged: a new version) or returns it with a reason. With review off
  (:data:`geoapp.settings.REVIEW_REQUIRED`) a submission is approved when accepted.

Who may do what is checked here, on every write, against the accounts file as it is
now (:func:`geoapp.auth.require_role`): the page only shows what the store allows.
Pending rows never change what :meth:`Store.facilities` returns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from geoapp import auth, regions, settings
from geoapp.localised import AccessDenied, Word
from geoapp.schema import FACILITY_COLUMNS, UNEMPLOYED_COLUMNS
from geoapp.store.areas import AreaTree, Period
from geoapp.store.backend import Connection, read_frame
from geoapp.store.encoding import (
    check_dataset,
    check_facility_frame,
    check_unemployed_frame,
    facility_records,
    timestamp,
    unemployed_records,
)
from geoapp.store.errors import ConfirmationNeeded, StoreError
from geoapp.store.parts import VersionWriter

__all__ = ["Part", "Submission", "SubmissionsMixin", "rows_outside"]

_ROWS = {"facilities": "submission_facilities", "unemployed": "submission_unemployed"}
_COLUMNS = {"facilities": FACILITY_COLUMNS, "unemployed": UNEMPLOYED_COLUMNS}


@dataclass(frozen=True, eq=False)
class Part:
    """One register of a submission, with what the audit log records of its file.

    ``counts`` are the reader's (accepted, flagged, rejected); rows placed outside the
    area are moved from accepted to rejected. ``row_numbers`` are the register rows of
    the frame's rows, to name those placed outside.
    """

    dataset: str
    frame: pd.DataFrame
    file_name: str = ""
    file_bytes: bytes | None = None
    counts: tuple[int, int, int] | None = None
    row_numbers: list | None = None

    def audit(self, outside: pd.DataFrame) -> dict:
        """The submission's file and row counts, for :meth:`_insert_submission`."""
        n = len(self.frame)
        accepted, flagged, rejected = self.counts or (n, 0, 0)
        moved = len(outside)
        return {
            "dataset": self.dataset,
            "file_name": self.file_name,
            "file_bytes": self.file_bytes,
            "counts": (max(accepted - moved, 0), flagged, rejected + moved),
        }


@dataclass(frozen=True, eq=False)
class Submission:
    """What :meth:`SubmissionsMixin.submit` stored.

    ``status`` is ``"pending"`` (waiting for review) or ``"approved"`` (review off:
    ``version_id`` is the version it made current). ``closes`` lists the area's current
    rows the submission leaves out; ``outside`` the rows it did not take because they
    place outside the area (``row, name, adcode, county, prefecture``).
    """

    submission_id: int
    dataset: str
    area: str
    area_name: str
    period: str
    status: str
    version_id: int | None
    rows: int
    closes: pd.DataFrame = field(repr=False)
    outside: pd.DataFrame = field(repr=False)


def rows_outside(
    frame: pd.DataFrame, units: list[str], tree: AreaTree, row_numbers: list | None = None
) -> tuple[pd.Series, pd.DataFrame]:
    """The rows of ``frame`` inside ``units`` (a mask) and a table of the others:
    ``row`` (the register's row number when ``row_numbers`` is given), ``name``,
    ``adcode`` and the ``county`` and ``prefecture`` they placed in."""
    inside = frame["adcode"].astype(str).isin(units)
    out = frame.loc[~inside.to_numpy()]
    numbers = (
        [row_numbers[i] for i in (~inside).to_numpy().nonzero()[0]]
        if row_numbers is not None and len(row_numbers) == len(frame)
        else [None] * len(out)
    )
    table = tree.unit_table.set_index("adcode")
    adcodes = out["adcode"].astype(str)
    return inside, pd.DataFrame(
        {
            "row": pd.array(numbers, dtype="Int64"),
            "name": out["name"].astype(str).to_numpy() if "name" in out else "",
            "adcode": adcodes.to_numpy(),
            "county": adcodes.map(table["name"]).fillna("").to_numpy(),
            "prefecture": adcodes.map(table["prefecture"]).fillna("").to_numpy(),
        }
    )


class SubmissionsMixin(VersionWriter):
    """The store's reporting side. The store provides ``region``, ``_backend``,
    ``_transaction``, ``_current``, ``_insert_version`` and ``_audit``."""

    if TYPE_CHECKING:  # provided by Store (the rest: VersionWriter)

        def _approve(self, con: Connection, sid: int, **kw) -> int: ...

    _areas: AreaTree | None = None

    # -- areas ------------------------------------------------------------------------------

    def area_tree(self) -> AreaTree:
        """The region's areas (from its built county layer), read once per store object."""
        if self._areas is None:
            from geoapp import scope  # scope reads the policies; only needed here

            units = regions.read_layer(self.region, "counties")
            name = scope.region_names().get(self.region, self.region)
            self._areas = AreaTree(self.region, name, units)
        return self._areas

    def use_areas(self, tree: AreaTree) -> None:
        """Use ``tree`` as the region's areas (a hand-made region in tests)."""
        if tree.region != self.region:
            msg = f"the areas are of region {tree.region}, the store holds {self.region}"
            raise StoreError(
                msg, key="problem.store.areas_region", areas=tree.region, region=self.region
            )
        self._areas = tree

    def _home(self, user: auth.User) -> str:
        tree = self.area_tree()
        home = user.area or self.region
        try:
            return tree.check(home)
        except ValueError:
            msg = (
                f"{user.name} works for area {home}, which is not in this store's region "
                f"{self.region} {tree.region_name}"
            )
            raise AccessDenied(
                msg, key="problem.access.home_outside", name=user.name, home=home,
                region=self.region, region_name=tree.region_name,
            ) from None  # fmt: skip

    def _check_submitter(self, user: object, area: object) -> tuple[auth.User, str]:
        steward = auth.require_role(user, ("steward",), action="submit data")
        tree = self.area_tree()
        home = self._home(steward)
        code = tree.check(home if area is None or str(area).strip() == "" else area)
        if not tree.contains(home, code):
            msg = (
                f"{steward.name} is a steward of {home} {tree.name(home)}; they may not "
                f"submit for {code} {tree.name(code)}"
            )
            raise AccessDenied(
                msg, key="problem.access.submit_area", name=steward.name, home=home,
                home_name=tree.name(home), area=code, area_name=tree.name(code),
            )  # fmt: skip
        return steward, code

    # -- submitting -------------------------------------------------------------------------

    def closures(self, dataset: str, frame: pd.DataFrame, area: str) -> pd.DataFrame:
        """The area's current rows that ``frame`` does not list: what submitting it would
        close (facilities, by ``facility_id``) or drop (counts, by ``adcode``)."""
        check_dataset(dataset)
        units = self.area_tree().units(area)
        with self._transaction() as con:
            return self._closures(con, dataset, frame, units)

    def _closures(
        self, con: Connection, dataset: str, frame: pd.DataFrame, units: list[str]
    ) -> pd.DataFrame:
        key = "facility_id" if dataset == "facilities" else "adcode"
        shown = (
            "facility_id, name, facility_type, county, adcode"
            if key == "facility_id"
            else ("adcode, prefecture, county, unemployed_disabled")
        )
        where, params = self._in_units(units)
        current = read_frame(
            con,
            f"SELECT {shown} FROM {dataset} WHERE version_id = ?{where} ORDER BY fid",
            (self._current(con, dataset), *params),
        )
        # Object arrays: an Arrow string column's isin converts every value it is given.
        listed = frame[key].astype(str).to_numpy(dtype=object)
        keys = pd.Series(current[key].astype(str).to_numpy(dtype=object), dtype=object)
        gone = ~keys.isin(listed)
        return current[gone.to_numpy()].reset_index(drop=True)

    def _in_units(self, units: list[str]) -> tuple[str, list[str]]:
        """An SQL condition on ``adcode`` (and its parameters) for the units; none for
        the whole region (rows of no unit belong to the region only)."""
        if set(units) == set(self.area_tree().units(self.region)):
            return "", []
        return f" AND adcode IN ({', '.join('?' * len(units))})", list(units)

    def submit(
        self,
        dataset: str,
        frame: pd.DataFrame,
        *,
        user: object,
        period: object,
        area: str | None = None,
        as_of: str | None = None,
        file_name: str = "",
        file_bytes: bytes | None = None,
        counts: tuple[int, int, int] | None = None,
        row_numbers: list | None = None,
        confirm_closures: bool | int | None = None,
        note: str = "",
    ) -> Submission:
        """Submit ``frame`` for ``area`` (default: the steward's own) and ``period``.

        Parameters
        ----------
        dataset : {"facilities", "unemployed"}
        frame : DataFrame
            The rows, in the stored schema (e.g. ``read_facilities(...).facilities``).
        user : geoapp.auth.User
            A signed-in steward whose area contains ``area``.
        period : str
            The quarter, ``2026Q1``; ``as_of`` defaults to its last day.
        row_numbers : list, optional
            The register row of each frame row, to name the rows placed outside.
        confirm_closures : bool or int, optional
            The number of the area's current rows the submission closes, as shown to
            the user (``True``: whatever it is). Without it, closing anything raises
            :class:`ConfirmationNeeded` listing them.

        Raises
        ------
        PermissionError
            Not a steward, or the area is not inside theirs.
        AreaError
            An area outside the region or a period that is not a quarter.
        ConfirmationNeeded
            The submission closes rows and ``confirm_closures`` does not say so.
        StoreError
            No row inside the area; nothing is stored.
        """
        part = Part(dataset, frame, file_name, file_bytes, counts, row_numbers)
        confirm = (
            confirm_closures
            if isinstance(confirm_closures, bool)
            else (None if confirm_closures is None else {dataset: confirm_closures})
        )
        return self.submit_many(
            [part], user=user, period=period, area=area, as_of=as_of,
            confirm_closures=confirm, note=note,
        )[dataset]  # fmt: skip

    def submit_many(
        self,
        parts: list[Part],
        *,
        user: object,
        period: object,
        area: str | None = None,
        as_of: str | None = None,
        confirm_closures: bool | Mapping[str, int] | None = None,
        note: str = "",
    ) -> dict[str, Submission]:
        """Submit the parts of one import (a facility and/or a count register) for one
        area and period, in ONE transaction: all of them or none. As :meth:`submit`;
        ``confirm_closures`` maps a dataset to its confirmed number (or is True)."""
        steward, code = self._check_submitter(user, area)
        quarter = Period.parse(period)
        tree = self.area_tree()
        units = tree.units(code)
        prepared = [self._prepare(part, units, code) for part in parts]
        entry = {"area": code, "period": str(quarter), "as_of": as_of or quarter.as_of}
        entry.update(who=steward.name, note=note, review=settings.REVIEW_REQUIRED)
        results = {}
        with self._transaction(write=True) as con:
            for part, rows, outside in prepared:
                closes = self._closures(con, part.dataset, rows, units)
                confirmed = (
                    confirm_closures
                    if confirm_closures is None or isinstance(confirm_closures, bool)
                    else confirm_closures.get(part.dataset)
                )
                self._check_confirmed(closes, confirmed, code)
                sid = self._insert_submission(
                    con, {**entry, **part.audit(outside)}, rows, len(closes)
                )
                vid = None
                if not entry["review"]:  # accepted is approved: one upload event
                    vid = self._approve(con, sid, who=steward.name, reason="", action="upload")
                results[part.dataset] = Submission(
                    submission_id=sid, dataset=part.dataset, area=code,
                    area_name=tree.name(code), period=str(quarter),
                    status="pending" if vid is None else "approved", version_id=vid,
                    rows=len(rows), closes=closes, outside=outside,
                )  # fmt: skip
        return results

    def _prepare(
        self, part: Part, units: list[str], area: str
    ) -> tuple[Part, pd.DataFrame, pd.DataFrame]:
        """A part's rows in the stored schema, split into those inside the area and a
        table of the others; StoreError when none is inside."""
        check_dataset(part.dataset)
        check = check_facility_frame if part.dataset == "facilities" else check_unemployed_frame
        checked = check(part.frame)
        tree = self.area_tree()
        inside, outside = rows_outside(checked, units, tree, part.row_numbers)
        rows = checked[inside.to_numpy()].reset_index(drop=True)
        if rows.empty:
            msg = (
                f"{part.file_name or part.dataset}: no row lies in {area} {tree.name(area)} "
                f"({len(outside)} placed outside it); nothing was stored"
            )
            raise StoreError(
                msg, key="problem.store.none_inside", area=area,
                file=part.file_name or Word(f"dataset.{part.dataset}", part.dataset),
                area_name=tree.name(area), outside=len(outside),
            )  # fmt: skip
        return part, rows, outside

    def _check_confirmed(self, closes: pd.DataFrame, confirm: bool | int | None, area: str) -> None:
        if closes.empty or confirm is True:
            return
        if confirm is not None and confirm is not False and int(confirm) == len(closes):
            return
        name = self.area_tree().name(area)
        shown = "" if confirm in (None, False) else f" (confirmed {int(confirm)})"
        msg = (
            f"this submission closes {len(closes)} of {name}'s current rows that it does not "
            f"list{shown}; check them and confirm that number (confirm_closures="
            f"{len(closes)}, --confirm-closures {len(closes)})"
        )
        raise ConfirmationNeeded(msg, closes, len(closes), area_name=name)

    def _insert_submission(self, con: Connection, entry: dict, rows, closes: int) -> int:
        data = entry["file_bytes"]
        sha = hashlib.sha256(data).hexdigest() if data is not None else None
        size = len(data) if data is not None else None
        now = timestamp()
        accepted, flagged, rejected = (int(c) for c in entry["counts"])
        cur = con.execute(
            "INSERT INTO submissions (dataset, area, period, as_of, submitted_at, "
            "submitted_by, file_name, file_sha256, file_size, accepted, flagged, rejected, "
            "row_count, closes, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING submission_id",
            (
                entry["dataset"], entry["area"], entry["period"], entry["as_of"], now,
                entry["who"], entry["file_name"], sha, size, accepted, flagged, rejected,
                len(rows), closes, entry["note"],
            ),
        )  # fmt: skip
        sid = int(cur.fetchone()[0])
        dataset = entry["dataset"]
        geom = ("geom",) if dataset == "facilities" else ()
        records = (facility_records if dataset == "facilities" else unemployed_records)(rows, sid)
        self._backend.insert_rows(
            con, _ROWS[dataset], ("submission_id", *geom, *_COLUMNS[dataset]), records
        )
        for (old,) in con.execute(
            "SELECT s.submission_id FROM submissions s WHERE s.dataset = ? AND s.area = ? "
            "AND s.period = ? AND s.submission_id < ? AND NOT EXISTS "
            "(SELECT 1 FROM decisions d WHERE d.submission_id = s.submission_id)",
            (dataset, entry["area"], entry["period"], sid),
        ).fetchall():
            self._decide(con, old, "superseded", who=entry["who"], reason=f"by submission {sid}")
        if not entry["review"]:
            return sid  # the upload event of its approval says it all
        self._audit(
            con, at=now, who=entry["who"], action="submit", dataset=dataset,
            file_name=entry["file_name"], file_size=size, file_sha256=sha,
            counts=(accepted, flagged, rejected), previous_version=self._current(con, dataset),
            note=f"{len(rows)} rows, closes {closes}. {entry['note']}".strip(),
            area=entry["area"], period=entry["period"], submission_id=sid,
        )  # fmt: skip
        return sid

    @staticmethod
    def _decide(
        con: Connection,
        sid: int,
        decision: str,
        *,
        who: str,
        reason: str = "",
        version_id: int | None = None,
    ) -> None:
        con.execute(
            "INSERT INTO decisions (submission_id, at, who, decision, reason, version_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (sid, timestamp(), who, decision, reason, version_id),
        )
