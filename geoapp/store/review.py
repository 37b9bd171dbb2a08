"""Reviewing submissions, and reading what was submitted: 市级审核、省级汇总.

:class:`ReviewMixin` gives :class:`geoapp.store.Store` the review side of area-scoped
reporting (:mod:`geoapp.store.submissions` has the submitting side):

- :meth:`~ReviewMixin.review`: a reviewer of the area above approves a pending
  submission (its rows replace the area's part of the data current *then*, everything
  outside the area unchanged: a new version) or returns it with a reason.
- :meth:`~ReviewMixin.area_dates`: for a version, each county-level unit's period and
  the submission its data come from.
- :meth:`~ReviewMixin.submissions`, :meth:`~ReviewMixin.submission_rows`,
  :meth:`~ReviewMixin.reporting_status`: what was submitted, the pending rows (for the
  stewards and reviewers of the area), and who has reported for a period.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from geoapp import auth, settings
from geoapp.localised import AccessDenied, Word
from geoapp.schema import FACILITY_COLUMNS, UNEMPLOYED_COLUMNS
from geoapp.store.areas import AreaTree, Period
from geoapp.store.backend import Connection, read_frame
from geoapp.store.encoding import check_dataset, timestamp
from geoapp.store.errors import StoreError
from geoapp.store.parts import VersionWriter
from geoapp.store.status import reporting_status

__all__ = ["ReviewMixin"]

_ROWS = {"facilities": "submission_facilities", "unemployed": "submission_unemployed"}
_COLUMNS = {"facilities": FACILITY_COLUMNS, "unemployed": UNEMPLOYED_COLUMNS}


class ReviewMixin(VersionWriter):
    """The store's review side. The store provides ``region``, ``_backend``,
    ``_transaction``, ``_current``, ``_insert_version``, ``_audit``, and from
    :class:`~geoapp.store.submissions.SubmissionsMixin` ``area_tree``, ``_home``,
    ``_in_units`` and ``_decide``."""

    if TYPE_CHECKING:  # provided by Store (the rest: VersionWriter)

        def area_tree(self) -> AreaTree: ...

        def _home(self, user: auth.User) -> str: ...

        def _in_units(self, units: list[str]) -> tuple[str, list[str]]: ...

        @staticmethod
        def _decide(con: Connection, sid: int, decision: str, **kw) -> None: ...

    def _check_reviewer(self, user: object, area: str, *, action: str) -> auth.User:
        reviewer = auth.require_role(user, ("reviewer",), action=action)
        tree = self.area_tree()
        home = self._home(reviewer)
        if not tree.may_review(home, area):
            msg = (
                f"{reviewer.name} reviews for {home} {tree.name(home)}; a submission for "
                f"{area} {tree.name(area)} is reviewed by "
                f"{tree.reviewer_area(area)} {tree.name(tree.reviewer_area(area))}"
            )
            above = tree.reviewer_area(area)
            raise AccessDenied(
                msg, key="problem.access.review_area", name=reviewer.name, home=home,
                home_name=tree.name(home), area=area, area_name=tree.name(area),
                reviewer=above, reviewer_name=tree.name(above),
            )  # fmt: skip
        return reviewer

    # -- reviewing --------------------------------------------------------------------------

    def review(
        self, submission_id: int, *, user: object, approve: bool, reason: str = ""
    ) -> int | None:
        """Approve (returns the new version id) or return (returns None, ``reason``
        required) a pending submission.

        Raises
        ------
        PermissionError
            Not a reviewer, or the submission's area is not strictly inside theirs.
        StoreError
            No such submission, or it is not pending (approved, returned, superseded).
        """
        reason = str(reason or "").strip()
        if not approve and not reason:
            msg = "a returned submission needs a reason the submitter can act on"
            raise StoreError(msg, key="problem.store.return_reason")
        info = self._submission(int(submission_id))
        verb = "approve" if approve else "return"
        reviewer = self._check_reviewer(user, info["area"], action=f"{verb} submissions")
        with self._transaction(write=True) as con:
            status = self._status(con, int(submission_id))
            if status != "pending":
                msg = f"submission {submission_id} is {status}, not pending; nothing to review"
                state = Word(f"submission_status.{status}", status)
                raise StoreError(
                    msg, key="problem.store.not_pending", id=submission_id, status=state
                )
            if approve:
                return self._approve(con, int(submission_id), who=reviewer.name, reason=reason)
            self._decide(con, int(submission_id), "returned", who=reviewer.name, reason=reason)
            self._audit(
                con, at=timestamp(), who=reviewer.name, action="return",
                dataset=info["dataset"], note=reason, area=info["area"],
                period=info["period"], submission_id=int(submission_id),
            )  # fmt: skip
        return None

    @staticmethod
    def _status(con: Connection, sid: int) -> str:
        row = con.execute(
            "SELECT decision FROM decisions WHERE submission_id = ? "
            "ORDER BY decision_id DESC LIMIT 1",
            (sid,),
        ).fetchone()
        return "pending" if row is None else str(row[0])

    def _submission(self, sid: int) -> dict:
        with self._transaction() as con:
            frame = read_frame(con, "SELECT * FROM submissions WHERE submission_id = ?", (sid,))
        if frame.empty:
            msg = f"no submission {sid} in {self._backend.name}"
            raise StoreError(msg, key="problem.store.no_submission", id=sid)
        return frame.iloc[0].to_dict()

    def _approve(
        self, con: Connection, sid: int, *, who: str, reason: str, action: str = "approve"
    ) -> int:
        """Inside a write transaction: the submission's rows replace its area's part of
        the current data (a new version); the decision, dates and audit with it."""
        fields = ("dataset", "area", "period", "as_of", "file_name", "submitted_by")
        fields += ("file_sha256", "file_size", "accepted", "flagged", "rejected", "note")
        sub = dict(
            zip(
                fields,
                con.execute(
                    f"SELECT {', '.join(fields)} FROM submissions WHERE submission_id = ?",
                    (sid,),
                ).fetchone(),
                strict=True,
            )
        )
        dataset, units = sub["dataset"], self.area_tree().units(sub["area"])
        parent = self._current(con, dataset)
        where, params = self._in_units(units)
        keep = f"version_id = ?{where.replace(' IN ', ' NOT IN ')}" if where else "1 = 0"
        keep_params = (parent, *params) if where else ()
        kept = con.execute(f"SELECT COUNT(*) FROM {dataset} WHERE {keep}", keep_params).fetchone()
        new = con.execute(
            f"SELECT COUNT(*) FROM {_ROWS[dataset]} WHERE submission_id = ?", (sid,)
        ).fetchone()
        geom = dataset == "facilities" and self._backend.writes_geometry  # else generated
        columns = ("geom, " if geom else "") + ", ".join(_COLUMNS[dataset])

        def fill(vid: int) -> None:
            con.execute(
                f"INSERT INTO {dataset} (version_id, {columns}) SELECT ?, {columns} "
                f"FROM {dataset} WHERE {keep} ORDER BY fid",
                (vid, *keep_params),
            )
            con.execute(
                f"INSERT INTO {dataset} (version_id, {columns}) SELECT ?, {columns} "
                f"FROM {_ROWS[dataset]} WHERE submission_id = ? ORDER BY fid",
                (vid, sid),
            )

        text = (
            f"submission {sid} ({sub['area']} {sub['period']}) by {sub['submitted_by']}, "
            f"approved by {who}" + (f": {reason}" if reason else "")
        )
        counts = tuple(
            int(sub[c] if sub[c] is not None else 0) for c in ("accepted", "flagged", "rejected")
        )
        vid = self._insert_version(
            con, dataset, None, as_of=sub["as_of"], who=who, action=action,
            file_name=sub["file_name"] or f"submission {sid}", file_bytes=None,
            file_digest=(sub["file_size"], sub["file_sha256"]), counts=counts,
            note=sub["note"] if action == "upload" else text,
            row_count=int(kept[0]) + int(new[0]), fill=fill,
            audit_extra={"area": sub["area"], "period": sub["period"], "submission_id": sid},
        )  # fmt: skip
        self._decide(con, sid, "approved", who=who, reason=reason, version_id=vid)
        self._write_area_dates(con, dataset, vid, parent, units, sub, sid)
        return vid

    # -- dates ------------------------------------------------------------------------------

    def _dates_of(self, con: Connection, dataset: str, vid: int) -> pd.DataFrame:
        frame = read_frame(
            con,
            "SELECT adcode, period, as_of, submission_id FROM area_dates "
            "WHERE dataset = ? AND version_id = ? ORDER BY adcode",
            (dataset, vid),
        )
        if not frame.empty:
            return frame
        # A version made before area-scoped reporting: every unit at its as_of.
        (as_of,) = con.execute(
            "SELECT as_of FROM versions WHERE dataset = ? AND version_id = ?", (dataset, vid)
        ).fetchone()
        units = self.area_tree().units(self.region)
        return pd.DataFrame(
            {
                "adcode": units,
                "period": str(Period.of_date(as_of)),
                "as_of": as_of,
                "submission_id": pd.array([None] * len(units), dtype="Int64"),
            }
        )

    def _write_area_dates(
        self,
        con: Connection,
        dataset: str,
        vid: int,
        parent: int,
        units: list[str],
        sub: dict,
        sid: int,
    ) -> None:
        before = self._dates_of(con, dataset, parent)
        kept = before[~before["adcode"].isin(units)]
        rows = [
            (dataset, vid, a, p, d, None if pd.isna(s) else int(s))
            for a, p, d, s in kept[["adcode", "period", "as_of", "submission_id"]].itertuples(
                index=False
            )
        ]
        rows += [(dataset, vid, a, sub["period"], sub["as_of"], sid) for a in units]
        con.executemany(
            "INSERT INTO area_dates (dataset, version_id, adcode, period, as_of, submission_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    def area_dates(self, dataset: str, version_id: int | None = None) -> pd.DataFrame:
        """Where each unit's data in a version (the current one by default) comes from:
        ``adcode, period, as_of, submission_id`` (<NA> for data from before submissions)."""
        check_dataset(dataset)
        with self._transaction() as con:
            vid = self._current(con, dataset) if version_id is None else int(version_id)
            return self._dates_of(con, dataset, vid)

    # -- reading ----------------------------------------------------------------------------

    def submissions(self, *, period: object = None, dataset: str | None = None) -> pd.DataFrame:
        """Every submission, oldest first, with its status: ``submission_id, dataset,
        area, period, as_of, submitted_at, submitted_by, file_name, accepted, flagged,
        rejected, row_count, closes, note, status, decided_at, decided_by, reason,
        version_id``."""
        where, params = [], []
        if period is not None:
            where.append("s.period = ?")
            params.append(str(Period.parse(period)))
        if dataset is not None:
            where.append("s.dataset = ?")
            params.append(check_dataset(dataset))
        sql = (
            "SELECT s.submission_id, s.dataset, s.area, s.period, s.as_of, s.submitted_at, "
            "s.submitted_by, s.file_name, s.accepted, s.flagged, s.rejected, s.row_count, "
            "s.closes, s.note, COALESCE(d.decision, 'pending') AS status, "
            "d.at AS decided_at, d.who AS decided_by, COALESCE(d.reason, '') AS reason, "
            "d.version_id FROM submissions s LEFT JOIN decisions d ON d.decision_id = "
            "(SELECT MAX(decision_id) FROM decisions x WHERE x.submission_id = s.submission_id)"
            + (" WHERE " + " AND ".join(where) if where else "")
            + " ORDER BY s.submission_id"
        )
        with self._transaction() as con:
            frame = read_frame(con, sql, params)
        frame["version_id"] = frame["version_id"].astype("Int64")
        return frame

    def submission_rows(self, submission_id: int, *, user: object) -> pd.DataFrame:
        """The rows a submission brings (a steward or reviewer whose area overlaps it):
        the preview of pending data, never part of the current data."""
        info = self._submission(int(submission_id))
        who = auth.require_role(user, auth.EDITING_ROLES, action="see submitted rows")
        tree, home = self.area_tree(), self._home(who)
        if not (tree.contains(home, info["area"]) or tree.contains(info["area"], home)):
            msg = f"{who.name} works for {home}; submission {submission_id} is for {info['area']}"
            raise AccessDenied(
                msg, key="problem.access.rows_area", name=who.name, home=home,
                home_name=tree.name(home), id=submission_id, area=info["area"],
                area_name=tree.name(info["area"]),
            )  # fmt: skip
        columns = ", ".join(_COLUMNS[info["dataset"]])
        with self._transaction() as con:
            return read_frame(
                con,
                f"SELECT {columns} FROM {_ROWS[info['dataset']]} WHERE submission_id = ? "
                "ORDER BY fid",
                (int(submission_id),),
            )

    def reporting_status(self, period: object, *, dataset: str = "facilities") -> pd.DataFrame:
        """Every county-level unit's reporting state for ``period`` (see
        :func:`geoapp.store.status.reporting_status`); due :data:`settings.DUE_DAYS` after
        the quarter."""
        quarter = Period.parse(period)
        subs = self.submissions(period=quarter, dataset=dataset)
        return reporting_status(
            self.area_tree(), subs, str(quarter), due=quarter.due(settings.DUE_DAYS)
        )
