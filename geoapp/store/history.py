"""Comparing stored versions: facility diffs, gaps closed and opened, history over time.

:class:`HistoryMixin` gives :class:`geoapp.store.Store` its analytics:
``diff_facilities`` (:func:`geoapp.store.diff.diff_facility_frames` on two versions),
``diff_gaps`` (the gap engine on two versions, compared by
:func:`geoapp.analysis.preview.diff_gap_tables`, the one gap diff of geoapp) and
``history``, whose steps are functions here: :func:`history_units`
checks the counties (and the prefecture asked for), :func:`read_facility_counts` reads
the versions in effect and their facility counts per county and type inside the
store's read transaction, and :func:`history_table` (a pure function) lays them out
against the province-level rules of the policy.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from geoapp.analysis.coverage import compute_gaps
from geoapp.analysis.preview import diff_gap_tables
from geoapp.facilities import FACILITY_TYPES
from geoapp.policy import Policy, load_policy
from geoapp.store.backend import Connection, read_frame
from geoapp.store.diff import MOVE_THRESHOLD_M, FacilityDiff, diff_facility_frames

__all__ = [
    "HISTORY_COLUMNS",
    "HistoryMixin",
    "history_table",
    "history_units",
    "read_facility_counts",
]

#: The columns of :meth:`geoapp.store.Store.history`, in order.
HISTORY_COLUMNS = [
    "as_of",
    "version_id",
    "is_current",
    "is_demo",
    "facility_type",
    "actual",
    "target",
    "comparison",
    "strength",
    "rule_id",
    "scope",
    "scope_adcode",
]


class HistoryMixin:
    """The store's comparisons over its versions. The store provides ``facilities``,
    ``unemployed`` (a version's rows) and ``_transaction`` (a read snapshot)."""

    if TYPE_CHECKING:  # provided by Store

        def facilities(self, version_id: int | None = None) -> gpd.GeoDataFrame: ...

        def unemployed(self, version_id: int | None = None) -> pd.DataFrame: ...

        def _transaction(
            self, *, write: bool = False
        ) -> contextlib.AbstractContextManager[Connection]: ...

    def diff_facilities(
        self, a: int, b: int, *, threshold_m: float = MOVE_THRESHOLD_M
    ) -> FacilityDiff:
        """Facilities added, removed, moved (> ``threshold_m``) and changed from version
        ``a`` to version ``b``; see :func:`diff_facility_frames`."""
        return diff_facility_frames(
            self.facilities(a), self.facilities(b), threshold_m=threshold_m, versions=(a, b)
        )

    def diff_gaps(
        self,
        a: int,
        b: int,
        *,
        policy: Policy | str | Path,
        counties: pd.DataFrame,
        reading: str = "literal",
        unemployed: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Gaps closed and opened from facility version ``a`` to ``b``.

        Both versions go through :func:`geoapp.analysis.coverage.compute_gaps` with the
        same policy, reading, counties and counts (``unemployed``: the current counts by default). A
        gap is a row with a shortfall, as in the gap list. Returns one row per change:
        ``change`` ("closed" or "opened"), ``rule_id, strength, level, facility_type,
        adcode, prefecture_adcode, city, county, unit_kind, required, actual_before,
        actual_after, shortfall_before, shortfall_after, unemployed_disabled, clause``;
        closed first, then by the policy's strength order and adcode
        (:func:`geoapp.analysis.preview.diff_gap_tables`).
        """
        counts = self.unemployed() if unemployed is None else unemployed
        tables = [
            compute_gaps(
                policy,
                counties=counties,
                facilities=self.facilities(v),
                unemployed=counts,
                reading=reading,
            ).table
            for v in (a, b)
        ]
        return diff_gap_tables(*tables)

    def history(
        self,
        *,
        policy: Policy | str | Path,
        counties: pd.DataFrame,
        prefecture: str | None = None,
        all_versions: bool = False,
    ) -> pd.DataFrame:
        """Facilities per type over time, against the policy's province targets.

        One row per facility-version date and facility type (every type of
        :data:`~geoapp.facilities.FACILITY_TYPES`, zeros included), oldest first:
        ``as_of, version_id, is_current, is_demo, facility_type, actual, target,
        comparison, strength, rule_id, scope, scope_adcode``.

        For each ``as_of`` date the version in effect is used: the current version if it
        has that date, else the latest version of that date (a corrected re-upload
        replaces the first one); ``all_versions=True`` gives every version instead.
        Facilities count by their ``adcode`` among ``counties`` (as the gap engine counts
        them). With ``prefecture`` (a 6-digit adcode) only that prefecture's counties
        count, and ``target`` is NA (policy targets are province-wide); without it,
        ``target`` is the province-level rule's number (NA for types without one).
        """
        pol = policy if not isinstance(policy, (str, Path)) else load_policy(policy)
        units = history_units(counties, prefecture=prefecture)
        with self._transaction() as con:
            versions, counts = read_facility_counts(con, all_versions=all_versions)
        return history_table(versions, counts, units=units, policy=pol, prefecture=prefecture)


def history_units(counties: pd.DataFrame, *, prefecture: str | None = None) -> pd.DataFrame:
    """``adcode, prefecture_adcode`` of the counties that count (those of ``prefecture``
    only, when given); ValueError for missing columns or an unknown prefecture."""
    missing = [c for c in ("adcode", "prefecture_adcode") if c not in counties.columns]
    if missing:
        msg = f"counties lack column(s) {missing}; it has {list(counties.columns)}"
        raise ValueError(msg)
    units = pd.DataFrame(
        {
            "adcode": counties["adcode"].astype(str),
            "prefecture_adcode": counties["prefecture_adcode"].astype(str),
        }
    )
    if prefecture is not None:
        if str(prefecture) not in set(units["prefecture_adcode"]):
            known = sorted(set(units["prefecture_adcode"]))
            msg = f"prefecture {prefecture!r} is not among the counties' prefectures {known}"
            raise ValueError(msg)
        units = units[units["prefecture_adcode"] == str(prefecture)]
    return units


def read_facility_counts(
    con: Connection, *, all_versions: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Inside a read transaction: the facility versions to show (``version_id, as_of,
    is_current, is_demo``; per ``as_of`` the current version, else the latest, unless
    ``all_versions``) and their facilities per county and type (``version_id, adcode,
    facility_type, n``). The empty first version of a region that started without data
    is left out once another version is current: it records no past, only a start."""
    versions = read_frame(
        con,
        "SELECT v.version_id, v.as_of, (c.version_id IS NOT NULL) AS is_current, "
        "(SELECT COALESCE(MAX(CASE WHEN is_demo THEN 1 ELSE 0 END), 0) FROM facilities f "
        " WHERE f.version_id = v.version_id) AS is_demo "
        'FROM versions v LEFT JOIN "current" c '
        "ON c.dataset = v.dataset AND c.version_id = v.version_id "
        "WHERE v.dataset = 'facilities' "
        "AND NOT (v.parent IS NULL AND v.row_count = 0 AND c.version_id IS NULL) "
        "ORDER BY v.version_id",
    )
    if not all_versions:
        versions = versions.sort_values(["as_of", "is_current", "version_id"])
        versions = versions.drop_duplicates("as_of", keep="last")
    wanted = versions["version_id"].tolist()
    counts = read_frame(
        con,
        f"SELECT version_id, adcode, facility_type, COUNT(*) AS n FROM facilities "
        f"WHERE version_id IN ({', '.join('?' * len(wanted))}) "
        "GROUP BY version_id, adcode, facility_type",
        [int(v) for v in wanted],
    )
    return versions, counts


def history_table(
    versions: pd.DataFrame,
    counts: pd.DataFrame,
    *,
    units: pd.DataFrame,
    policy: Policy,
    prefecture: str | None = None,
) -> pd.DataFrame:
    """One row per version and facility type (zeros included), oldest first, in
    :data:`HISTORY_COLUMNS`: the facilities among ``units`` against the province-level
    rule of each type (no target for a prefecture: policy targets are province-wide)."""
    counts = counts[counts["adcode"].isin(units["adcode"])]
    actual = counts.groupby(["version_id", "facility_type"])["n"].sum()
    grid = versions.merge(pd.DataFrame({"facility_type": list(FACILITY_TYPES)}), how="cross")
    grid["actual"] = [
        int(actual.get((v, t), 0))
        for v, t in zip(grid["version_id"], grid["facility_type"], strict=True)
    ]
    province_scope = prefecture is None
    rules = _province_rules(policy) if province_scope else {}

    def rule_value(ftype: str, attr: str) -> Any:
        rule = rules.get(ftype)
        return getattr(rule, attr) if rule is not None else None

    grid["target"] = pd.array(
        [rule_value(t, "value") for t in grid["facility_type"]], dtype="Int64"
    )
    for attr, column in (("comparison", "comparison"), ("strength", "strength"), ("id", "rule_id")):
        grid[column] = [rule_value(t, attr) or "" for t in grid["facility_type"]]
    grid["scope"] = "province" if province_scope else "prefecture"
    grid["scope_adcode"] = policy.region_adcode if province_scope else str(prefecture)
    grid["is_current"] = grid["is_current"].astype(bool)
    grid["is_demo"] = grid["is_demo"].astype(bool)
    grid["version_id"] = grid["version_id"].astype("int64")
    ordered = grid.sort_values(["as_of", "version_id"], kind="stable")
    return ordered[HISTORY_COLUMNS].reset_index(drop=True)


def _province_rules(policy: Policy) -> dict[str, Any]:
    """The first province-level rule of each facility type."""
    rules: dict[str, Any] = {}
    for r in policy.rules:
        if r.level == "province":
            rules.setdefault(r.facility_type, r)
    return rules
