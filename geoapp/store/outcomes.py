"""What an upload gives back (:class:`UploadResult`) and a checked version waiting for
its transaction (:class:`Pending`, made by :func:`pending`)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from geoapp.ingest import CountImport, FacilityImport, display_name
from geoapp.store.encoding import check_facility_frame, check_unemployed_frame
from geoapp.store.submissions import Submission

__all__ = ["Pending", "UploadResult", "pending"]


@dataclass(frozen=True, eq=False)
class UploadResult:
    """What :meth:`Store.upload` did with a file.

    ``version_id`` is None when the register had no valid row (no version was made; the
    attempt is in the audit log), or, in :meth:`Store.upload_many`, when another file of
    the same import was not usable: ``withheld`` then says which. ``imported`` is the
    reader's result, with its row-by-row ``report`` and ``summary()``; ``as_of_note``
    says when the date is unusual.
    """

    dataset: str
    file_name: str
    kind: str
    version_id: int | None
    as_of: str
    as_of_note: str | None
    imported: FacilityImport | CountImport
    withheld: str | None = None
    submission: Submission | None = None

    @property
    def accepted(self) -> bool:
        """Whether the register changed the current data (approved at once)."""
        return self.version_id is not None

    @property
    def pending(self) -> bool:
        """Whether the register waits for review (stored, not yet current)."""
        return self.submission is not None and self.submission.status == "pending"

    def summary(self, lang: str | None = None) -> str:
        """What happened to the file: the reader's report, then what the store made of it.

        In ``lang`` (``"zh"`` or ``"en"``); without one, both languages, a line each."""
        if lang is not None:
            return self._summary_in(lang)
        lines = [self.imported.summary()]
        if self.version_id is None and self.withheld:
            lines.append("同一次导入的其他文件未被接受，本文件也未生成新版本。")
            lines.append(f"No {self.dataset} version was made: {self.withheld}.")
        elif self.pending:
            sub = self.submission
            lines.append(
                f"已报送（第 {sub.submission_id} 号，{sub.area_name} {sub.period}），等待审核；"
                "审核通过前不改变当前数据。"
            )
            lines.append(
                f"Submitted as no. {sub.submission_id} ({sub.area} {sub.period}), waiting for "
                "review; the current data change only when it is approved."
            )
        elif self.version_id is None:
            lines.append("没有有效行，未生成新版本。")
            lines.append(f"No valid row: no {self.dataset} version was made.")
        else:
            zh = {"facilities": "设施", "unemployed": "未就业残疾人数"}[self.dataset]
            lines.append(f"已生成{zh}第 {self.version_id} 版（截至 {self.as_of}）。")
            lines.append(
                f"{self.dataset} version {self.version_id} (as of {self.as_of}) is now current."
            )
        if self.as_of_note:
            lines.append(self.as_of_note)
        return "\n".join(lines)

    def _summary_in(self, lang: str) -> str:
        from geoapp import provenance
        from geoapp.i18n import t

        dataset = t(f"dataset.{self.dataset}", lang)
        lines = [self.imported.summary(lang)]
        if self.version_id is None and self.withheld:
            why = provenance.note_text(f"not stored: {self.withheld}.", lang)
            lines.append(t("upload.withheld", lang).format(dataset=dataset, why=why))
        elif self.pending:
            sub = self.submission
            lines.append(
                t("upload.pending", lang).format(
                    id=sub.submission_id, area_name=sub.area_name, period=sub.period
                )
            )
        elif self.version_id is None:
            lines.append(t("upload.no_valid_row", lang).format(dataset=dataset))
        else:
            lines.append(
                t("upload.current", lang).format(
                    dataset=dataset, version=self.version_id, as_of=self.as_of
                )
            )
        if self.as_of_note:
            lines.append(provenance.note_text(self.as_of_note, lang))
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class Pending:
    """A checked version waiting for its transaction, with what the audit log records."""

    dataset: str
    frame: pd.DataFrame
    file_name: str
    file_bytes: bytes | None
    counts: tuple[int, int, int]
    note: str
    row_numbers: list | None = None


def pending(
    dataset: str,
    frame: pd.DataFrame,
    *,
    file_name: str,
    file_bytes: bytes | None,
    counts: tuple[int, int, int],
    note: str,
    row_numbers: list | None = None,
) -> Pending:
    """Check a version's rows and audit fields; TypeError/ValueError for anything off."""
    accepted, flagged, rejected = (int(c) for c in counts)
    if min(accepted, flagged, rejected) < 0:
        msg = f"accepted, flagged and rejected must be >= 0, got {(accepted, flagged, rejected)}"
        raise ValueError(msg)
    if file_bytes is not None and not isinstance(file_bytes, (bytes, bytearray, memoryview)):
        msg = f"file_bytes must be the uploaded bytes (or None), got {type(file_bytes).__name__}"
        raise TypeError(msg)
    check = check_facility_frame if dataset == "facilities" else check_unemployed_frame
    return Pending(
        dataset=dataset,
        frame=check(frame),
        file_name=display_name(file_name),
        file_bytes=bytes(file_bytes) if file_bytes is not None else None,
        counts=(accepted, flagged, rejected),
        note=note,
        row_numbers=row_numbers,
    )
