"""Demo facilities: seeded counts per county and type, names, points inside counties."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoapp.demo.constants import (
    _AGRI,
    _AUX_HOSTS,
    _BRANDS,
    _COMMUNITIES,
    _ID_CODES,
    _MASSAGE_KIND_FACTOR,
    _NON_DISTRICT,
    _ROADS,
    _RURAL_DISTRICT_MIN_KM2,
    _RURAL_DISTRICTS,
    _RURAL_HOSTS,
    _SHRINK_DEG,
    _TOWNS,
    _VILLAGES,
    _WORKSHOP_KINDS,
    AUX_GAP_ADCODES,
    DEMO_NOTE,
    DEMO_TOTALS,
    EMPTY_DISTRICTS,
    FACILITY_TYPES,
    INCUBATION_GAP_PREFECTURE,
    REAL_SCHOOLS,
)
from geoapp.demo.inputs import _county_table, load_population
from geoapp.schema import FACILITY_COLUMNS


# ------------------------------------------------------------------------ facilities
def _weights(values: Iterable[float]) -> np.ndarray:
    w = np.asarray(list(values), dtype=float)
    return w / w.sum()


def _choose(
    rng: np.random.Generator,
    items: Sequence[str],
    k: int,
    weights: Iterable[float],
    *,
    replace: bool = False,
) -> list[str]:
    """``k`` items drawn by weight (without replacement unless asked), in draw order."""
    if k == 0:
        return []
    idx = rng.choice(len(items), size=k, replace=replace, p=_weights(weights))
    return [items[i] for i in idx]


def _unique(candidates: Iterable[str], used: set[str]) -> str:
    for name in candidates:
        if name not in used:
            used.add(name)
            return name
    msg = "ran out of demo names"  # pragma: no cover - pools are far larger than needed
    raise RuntimeError(msg)


def _permuted(rng: np.random.Generator, pool: Sequence[str]) -> list[str]:
    return [pool[i] for i in rng.permutation(len(pool))]


def _gap_note(adcode: str, prefecture_adcode: str) -> str:
    parts = [DEMO_NOTE]
    if adcode in AUX_GAP_ADCODES:
        parts.append(
            f"演示缺口场景：{AUX_GAP_ADCODES[adcode]}无残疾人辅助性就业机构"
            "（二(二)4 各县（市）至少1个，约束性）"
        )
    if prefecture_adcode == INCUBATION_GAP_PREFECTURE[0]:
        parts.append(
            f"演示缺口场景：{INCUBATION_GAP_PREFECTURE[1]}无残疾人创业孵化基地"
            "（二(二)3 各市（州）至少1个，约束性）"
        )
    if adcode in EMPTY_DISTRICTS:
        parts.append(f"演示缺口场景：{EMPTY_DISTRICTS[adcode]}除盲人按摩机构外无其他设施")
    return "；".join(parts)


def _allocate(table: pd.DataFrame, rng: np.random.Generator) -> dict[str, list[str]]:
    """Adcodes, one entry per facility, for each demo facility type."""
    codes = table["adcode"].tolist()
    pop = dict(zip(codes, table["pop2020"], strict=True))
    area = dict(zip(codes, table["area_km2"], strict=True))
    kind = dict(zip(codes, table["unit_kind"], strict=True))
    pref_code = _prefecture_codes(table)
    district = [c for c in codes if kind[c] == "district"]
    non_district = [c for c in codes if kind[c] in _NON_DISTRICT]
    usable = [c for c in codes if c not in EMPTY_DISTRICTS]
    out: dict[str, list[str]] = {}

    # incubation: one anchor in the most populous unit of every prefecture but the gap one,
    # then more units by population, then extras in units that already have one.
    eligible = [c for c in usable if pref_code[c] != INCUBATION_GAP_PREFECTURE[0]]
    anchors = []
    for pc in sorted({pref_code[c] for c in eligible}):
        members = [c for c in eligible if pref_code[c] == pc]
        anchors.append(max(members, key=lambda c: (pop[c], c)))
    rest = [c for c in eligible if c not in anchors]
    more = _choose(rng, rest, 36, (pop[c] for c in rest))
    holders = anchors + more
    n_extra = DEMO_TOTALS["incubation_base"] - len(holders)
    out["incubation_base"] = holders + _choose(
        rng, holders, n_extra, (pop[c] for c in holders), replace=True
    )

    # rural help bases: 31 of the 39 non-district units (weighted by area), extras there,
    # plus a few large (rural) districts.
    with_rural = _choose(rng, non_district, len(non_district) - 8, (area[c] for c in non_district))
    big_districts = [
        c for c in district if c not in EMPTY_DISTRICTS and area[c] >= _RURAL_DISTRICT_MIN_KM2
    ]
    rural_districts = _choose(
        rng, big_districts, _RURAL_DISTRICTS, (area[c] for c in big_districts)
    )
    n_extra = DEMO_TOTALS["rural_help_base"] - len(with_rural) - len(rural_districts)
    out["rural_help_base"] = (
        with_rural
        + rural_districts
        + _choose(rng, with_rural, n_extra, (area[c] for c in with_rural), replace=True)
    )

    # massage: multinomial on population x unit-kind factor (urban concentration).
    p = _weights(pop[c] * _MASSAGE_KIND_FACTOR[kind[c]] for c in codes)
    counts = rng.multinomial(DEMO_TOTALS["massage_institution"], p)
    out["massage_institution"] = [c for c, n in zip(codes, counts, strict=True) for _ in range(n)]

    # auxiliary: every non-district unit but the gap ones, extras by population, some districts.
    aux_units = [c for c in non_district if c not in AUX_GAP_ADCODES]
    aux_districts_pool = [c for c in district if c not in EMPTY_DISTRICTS]
    aux_districts = _choose(rng, aux_districts_pool, 12, (pop[c] for c in aux_districts_pool))
    n_extra = DEMO_TOTALS["auxiliary_institution"] - len(aux_units) - len(aux_districts)
    out["auxiliary_institution"] = (
        aux_units
        + aux_districts
        + _choose(rng, aux_units, n_extra, (pop[c] for c in aux_units), replace=True)
    )

    # demo special-education schools: the most populous unit of 4 prefectures that have no
    # named real school.
    real_cities = {city for _, _, city, _ in REAL_SCHOOLS}
    pref_name = dict(zip(codes, table["prefecture"], strict=True))
    seats = []
    for pc in sorted(set(pref_code.values())):
        members = [c for c in usable if pref_code[c] == pc]
        if members and pref_name[members[0]] not in real_cities:
            seats.append(max(members, key=lambda c: (pop[c], c)))
    out["vocational_school"] = _choose(
        rng, seats, DEMO_TOTALS["vocational_school"], [1.0] * len(seats)
    )

    # beautiful workshops: distinct units by population.
    out["beautiful_workshop"] = _choose(
        rng, usable, DEMO_TOTALS["beautiful_workshop"], (pop[c] for c in usable)
    )
    return out


def _prefecture_codes(table: pd.DataFrame) -> dict[str, str]:
    if "prefecture_adcode" in table:
        return dict(zip(table["adcode"], table["prefecture_adcode"].astype(str), strict=True))
    return {c: c[:4] + "00" for c in table["adcode"]}


class _Namer:
    """The shared state of naming demo facilities: the county table, the names used so
    far, the rows made so far and the random generator (drawn from in a fixed order)."""

    def __init__(self, table: pd.DataFrame, rng: np.random.Generator) -> None:
        self.info = table.set_index("adcode")
        self.pref_code = _prefecture_codes(table)
        self.used: set[str] = set()
        self.rows: list[dict] = []
        self.rng = rng

    def county(self, adcode: str) -> str:
        return self.info.at[adcode, "name"]

    def add(self, ftype: str, adcode: str, name: str, subtype: str, address: str) -> None:
        self.rows.append(
            {
                "name": name,
                "facility_type": ftype,
                "subtype": subtype,
                "prefecture": self.info.at[adcode, "prefecture"],
                "county": self.info.at[adcode, "name"],
                "adcode": adcode,
                "address": address,
                "is_demo": True,
                "note": _gap_note(adcode, self.pref_code[adcode]),
            }
        )

    def street(self, adcode: str) -> str:
        road = _ROADS[self.rng.integers(len(_ROADS))]
        return (
            f"吉林省{self.info.at[adcode, 'prefecture']}{self.info.at[adcode, 'name']}"
            f"{road}{int(self.rng.integers(1, 1000))}号"
        )

    def village(self, adcode: str) -> str:
        town = _TOWNS[self.rng.integers(len(_TOWNS))]
        vil = _VILLAGES[self.rng.integers(len(_VILLAGES))]
        return (
            f"吉林省{self.info.at[adcode, 'prefecture']}{self.info.at[adcode, 'name']}"
            f"{town}镇{vil}村"
        )

    def brands(self, pool: Sequence[str], fmt: Callable[[str], str]) -> Iterable[str]:
        """Names from ``pool`` in a random order (the permutation is drawn on first use)."""
        for b in _permuted(self.rng, pool):
            yield fmt(b)
        for i in range(2, 100):  # pragma: no cover - only if a county exhausts the pool
            yield fmt(f"第{i}")


def _incubation_bases(n: _Namer, adcodes: Iterable[str]) -> None:
    for adcode in sorted(adcodes):
        c = n.county(adcode)
        online = bool(n.rng.random() < 0.3)
        kind = "网络创业孵化基地" if online else ""
        core = "残疾人网络创业孵化基地" if online else "残疾人创业孵化基地"
        name = _unique(
            [f"{c}{core}", *n.brands(_BRANDS, lambda b, c=c, core=core: f"{c}{b}{core}")],
            n.used,
        )
        n.add("incubation_base", adcode, name, kind, n.street(adcode))


def _rural_help_bases(n: _Namer, adcodes: Iterable[str]) -> None:
    for adcode in sorted(adcodes):
        c = n.county(adcode)
        subtype, host = _RURAL_HOSTS[n.rng.integers(len(_RURAL_HOSTS))]
        name = _unique(
            n.brands(_AGRI, lambda b, c=c, host=host: f"{c}{b}{host}农村残疾人就业帮扶基地"),
            n.used,
        )
        n.add("rural_help_base", adcode, name, subtype, n.village(adcode))


def _massage_institutions(n: _Namer, adcodes: Iterable[str]) -> None:
    for adcode in sorted(adcodes):
        c = n.county(adcode)
        medical = bool(n.rng.random() < 0.2)
        model = bool(n.rng.random() < 0.1)
        core = "盲人医疗按摩所" if medical else "盲人保健按摩店"
        suffix = "（示范）" if model else ""
        subtype = ("医疗按摩" if medical else "保健按摩") + ("（示范）" if model else "")
        name = _unique(
            n.brands(_BRANDS, lambda b, c=c, core=core, suffix=suffix: f"{c}{b}{core}{suffix}"),
            n.used,
        )
        n.add("massage_institution", adcode, name, subtype, n.street(adcode))


def _auxiliary_institutions(n: _Namer, adcodes: Iterable[str]) -> None:
    for adcode in sorted(adcodes):
        c = n.county(adcode)
        hosts = [_AUX_HOSTS[i] for i in n.rng.permutation(len(_AUX_HOSTS))]
        cands = [(s, t.format(c=c)) for s, t in hosts]
        cands += [
            ("依托基层社区", f"{c}{w}社区残疾人辅助性就业机构")
            for w in _permuted(n.rng, _COMMUNITIES)
        ]
        for subtype, name in cands:  # noqa: B007 - the first free name, used after the loop
            if name not in n.used:
                n.used.add(name)
                break
        n.add("auxiliary_institution", adcode, name, subtype, n.street(adcode))


def _vocational_schools(n: _Namer, adcodes: Iterable[str]) -> None:
    for adcode in sorted(adcodes):
        c = n.county(adcode)
        name = _unique([f"{c}特殊教育学校"], n.used)
        n.add("vocational_school", adcode, name, "特殊教育学校（职业教育）", n.street(adcode))


def _beautiful_workshops(n: _Namer, adcodes: Iterable[str]) -> None:
    for adcode in sorted(adcodes):
        c = n.county(adcode)
        kind = _WORKSHOP_KINDS[n.rng.integers(len(_WORKSHOP_KINDS))]
        name = _unique(
            [f"{c}美丽工坊", *n.brands(_BRANDS, lambda b, c=c: f"{c}{b}美丽工坊")], n.used
        )
        n.add("beautiful_workshop", adcode, name, kind, n.street(adcode))


def _name_rows(
    table: pd.DataFrame, alloc: dict[str, list[str]], rng: np.random.Generator
) -> list[dict]:
    """One dict per demo facility (no location yet), in a fixed order: the types one
    after the other, each by adcode (the random draws follow the same order)."""
    n = _Namer(table, rng)
    _incubation_bases(n, alloc["incubation_base"])
    _rural_help_bases(n, alloc["rural_help_base"])
    _massage_institutions(n, alloc["massage_institution"])
    _auxiliary_institutions(n, alloc["auxiliary_institution"])
    _vocational_schools(n, alloc["vocational_school"])
    _beautiful_workshops(n, alloc["beautiful_workshop"])
    return n.rows


def _real_rows(table: pd.DataFrame) -> list[dict]:
    info = table.set_index("adcode")
    rows = []
    for name, subtype, city, district in REAL_SCHOOLS:
        if district not in info.index:
            msg = f"counties layer lacks {district}, the district that holds the real school {name}"
            raise ValueError(msg)
        dname = info.at[district, "name"]
        rows.append(
            {
                "name": name,
                "facility_type": "vocational_school",
                "subtype": subtype,
                "prefecture": info.at[district, "prefecture"],
                "county": dname,
                "adcode": district,
                "address": f"吉林省{city}（具体地址未核实）",
                "is_demo": False,
                "note": (
                    f"真实机构，见吉政办发〔2025〕16号 二(三)7；"
                    f"位置为近似：仅知所在城市（{city}），点位为{dname}内的演示位置，"
                    "非真实地址 (approximate location, city level only)"
                ),
            }
        )
    return rows


def _sampling_area(geom):
    """``geom`` shrunk by ~0.005 degrees (kept if the shrunk part is too small)."""
    shrunk = geom.buffer(-_SHRINK_DEG)
    return shrunk if not shrunk.is_empty and shrunk.area > 0.05 * geom.area else geom


def _point_in(geom, target, rng: np.random.Generator) -> tuple[float, float]:
    """A uniformly random point of ``target``, strictly inside ``geom``, 6 decimals."""
    minx, miny, maxx, maxy = target.bounds
    for _ in range(10_000):
        xs = np.round(rng.uniform(minx, maxx, 32), 6)
        ys = np.round(rng.uniform(miny, maxy, 32), 6)
        ok = shapely.contains_xy(target, xs, ys) & shapely.contains_xy(geom, xs, ys)
        if ok.any():
            i = int(np.argmax(ok))
            return float(xs[i]), float(ys[i])
    msg = "could not sample a point inside the county polygon"  # pragma: no cover
    raise RuntimeError(msg)


def make_facilities(
    counties: gpd.GeoDataFrame, *, seed: int, population: pd.DataFrame | None = None
) -> gpd.GeoDataFrame:
    """The demo facility register of Jilin (plus the three real named schools).

    Parameters
    ----------
    counties
        The region's county layer (``read_layer("220000", "counties")``); not modified.
    seed
        Seed of ``numpy.random.default_rng``; the same seed gives the same frame.
    population
        Census table with ``adcode, pop2020`` (weights); default: the embedded Jilin table.

    Returns
    -------
    GeoDataFrame with columns :data:`FACILITY_COLUMNS` and a Point geometry (EPSG:4326),
    sorted by facility type (order of :data:`FACILITY_TYPES`), then the real schools in the
    order of :data:`REAL_SCHOOLS`, then demo rows by adcode and name.
    """
    if population is None:
        population = load_population("220000")
    table = _county_table(counties, population)
    rng = np.random.default_rng(seed)
    alloc = _allocate(table, rng)
    rows = _real_rows(table) + _name_rows(table, alloc, rng)

    frame = pd.DataFrame(rows)
    frame["_type_order"] = frame["facility_type"].map(FACILITY_TYPES.index)
    real_rank = {school[0]: i for i, school in enumerate(REAL_SCHOOLS)}
    frame["_real_order"] = frame["name"].map(real_rank).where(~frame["is_demo"])
    frame = frame.sort_values(
        ["_type_order", "is_demo", "_real_order", "adcode", "name"],
        kind="stable",
        na_position="last",
    ).reset_index(drop=True)
    prefix = np.where(frame["is_demo"], "DEMO", "REAL")
    code = frame["facility_type"].map(_ID_CODES)
    serial = frame.groupby([prefix, code], sort=False).cumcount() + 1
    frame.insert(
        0, "facility_id", [f"{p}-{c}-{n:04d}" for p, c, n in zip(prefix, code, serial, strict=True)]
    )

    geoms = dict(zip(counties["adcode"].astype(str), counties.geometry, strict=True))
    areas = {a: _sampling_area(geoms[a]) for a in sorted(set(frame["adcode"]))}
    points = [_point_in(geoms[a], areas[a], rng) for a in frame["adcode"]]
    frame["lon"] = [x for x, _ in points]
    frame["lat"] = [y for _, y in points]
    frame["datum"] = "wgs84"
    frame = frame[list(FACILITY_COLUMNS)]
    if frame["name"].duplicated().any() or frame["facility_id"].duplicated().any():
        msg = "demo names or ids are not unique"  # pragma: no cover - guarded by _unique
        raise RuntimeError(msg)
    return gpd.GeoDataFrame(
        frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]), crs="EPSG:4326"
    )
