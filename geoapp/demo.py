"""The embedded demo datasets: facilities and unemployed-disabled counts per county.

This module owns ``data/demo/``: ``<region>_facilities.csv``,
``<region>_unemployed_disabled.csv`` and the generated ``README.md``. It makes them from
the built county layer (``geoapp.regions.read_layer``) and the 2020 census table, with a
seeded ``numpy.random.default_rng``: the same seed gives byte-identical files.

**Every record made here is a DEMO, not real data** (``is_demo=True``, note
"演示数据 demo record"), with one exception: the three vocational schools that the Jilin
2025-2027 policy (吉政办发〔2025〕16号, clause 二(三)7) names, 长春大学特殊教育学院,
省残疾人中职学校 and 四平盲童学校 (the seed's wording), are real institutions
(``is_demo=False``, ids ``REAL-VOC-000n``). Only their city is known, so each is placed at
a seeded point inside a central urban district of its city (长春市朝阳区 220104,
四平市铁西区 220302) and its ``note`` says the location is approximate (city level only).
A real user replaces all of it with registry data.

Facilities (totals fixed for every seed, all below the 2027 targets of seed 002):

============================  ============  ===========
type                          demo total    2027 target
============================  ============  ===========
incubation_base               55            ~80
rural_help_base               73            ~120
massage_institution           262           >=400
auxiliary_institution         64            ~100
vocational_school             3 real + 4    (named schools)
beautiful_workshop            17            28
============================  ============  ===========

The seed decides where the facilities go (weighted by 2020 population, rural bases by
area) and where each point lies: a uniformly random point strictly inside the county
polygon (rejection sampling, preferring a polygon shrunk by ~0.005 degrees so the point
stays in its county on the simplified display layer too), rounded to 6 decimals, WGS84.
Massage institutions are drawn ``multinomial(262, p)`` with p proportional to population
times 1.6 (districts), 1.2 (county-level cities) or 0.6 (counties), i.e. concentrated in
urban districts and county-level cities.

Gap scenario (deliberate, the same for every seed; each affected record's ``note`` names it):

- *Mandatory county gap* (二(二)4, 各县（市）至少1个辅助性就业机构): 长白朝鲜族自治县
  (220623) and 通榆县 (220822) have no auxiliary_institution; every other county, autonomous
  county and county-level city has at least one.
- *Mandatory prefecture gap* (二(二)3, 各市（州）至少1个创业孵化基地): 辽源市 (220400) has no
  incubation_base in any of its four units; every other prefecture has at least one.
- *Empty districts*: 西安区 (220403) and 二道江区 (220503) get no facility except massage
  institutions.
- *Aspirational gaps* (seeded, listed in the README): 8 of the 39 non-district units have
  no rural_help_base; 11 further units have no incubation_base.

Unemployed disabled people per county, a DEMO ESTIMATE (there are no public per-county
counts): ``pop2020 x 6.34 % x 60 % x 8 % x m``, i.e. 7th-census population 2020 x
disability prevalence 6.34 % (2006 2nd National Sample Survey on Disability) x share of
working age 60 % x share unemployed and registered about 8 %, times a seeded multiplier
``m ~ U[0.8, 1.25]`` per county, rounded to an integer. The five development-zone rows of
the population table (2201 7x, 220871) are not legal counties and are ignored; their
residents live inside legal districts, which are therefore underestimated here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoapp import facilities as _facilities
from geoapp.paths import DEMO_DIR, reference_path
from geoapp.schema import DEMO_AS_OF, FACILITY_COLUMNS, UNEMPLOYED_COLUMNS

__all__ = [
    "FACILITY_TYPES",
    "FACILITY_COLUMNS",
    "UNEMPLOYED_COLUMNS",
    "TARGETS_2027",
    "AUX_GAP_ADCODES",
    "INCUBATION_GAP_PREFECTURE",
    "EMPTY_DISTRICTS",
    "REAL_SCHOOLS",
    "load_population",
    "make_facilities",
    "make_unemployed",
    "summary",
    "gap_report",
    "facilities_csv",
    "unemployed_csv",
    "render_demo",
    "write_demo",
]

# The demo data takes the data of record's schema; it does not define its own.
FACILITY_TYPES = _facilities.FACILITY_TYPES
#: The quarter the demo registers pretend to describe (shown as the data date).
AS_OF = DEMO_AS_OF

#: Province-wide 2027 targets of 吉政办发〔2025〕16号 (seed 002); the demo stays below them.
TARGETS_2027 = {
    "incubation_base": 80,
    "auxiliary_institution": 100,
    "rural_help_base": 120,
    "massage_institution": 400,
    "beautiful_workshop": 28,
}

#: Demo totals per type (vocational_school: demo schools only, the real ones come on top).
DEMO_TOTALS = {
    "incubation_base": 55,
    "rural_help_base": 73,
    "massage_institution": 262,
    "auxiliary_institution": 64,
    "vocational_school": 4,
    "beautiful_workshop": 17,
}

_ID_CODES = {
    "incubation_base": "INC",
    "rural_help_base": "RUR",
    "massage_institution": "MAS",
    "auxiliary_institution": "AUX",
    "vocational_school": "VOC",
    "beautiful_workshop": "BWS",
}

#: The mandatory county gap of the demo: non-district units without auxiliary_institution.
AUX_GAP_ADCODES = {"220623": "长白朝鲜族自治县", "220822": "通榆县"}
#: The mandatory prefecture gap of the demo: a prefecture without incubation_base.
INCUBATION_GAP_PREFECTURE = ("220400", "辽源市")
#: Districts that get no facility but massage institutions.
EMPTY_DISTRICTS = {"220403": "西安区", "220503": "二道江区"}

#: The three real schools named in seed 002 clause 二(三)7: (name, subtype, city, district adcode).
REAL_SCHOOLS = (
    ("长春大学特殊教育学院", "高等院校", "长春市", "220104"),
    ("省残疾人中职学校", "中等职业学校", "长春市", "220104"),
    ("四平盲童学校", "盲校", "四平市", "220302"),
)

POPULATION_TABLES = {"220000": "jilin_county_population_2020.csv"}

DEMO_NOTE = "演示数据 demo record"
PREVALENCE = 0.0634
WORKING_AGE_SHARE = 0.60
UNEMPLOYED_SHARE = 0.08
MULTIPLIER_RANGE = (0.8, 1.25)
METHOD = (
    "演示估算 demo estimate: pop2020 x 6.34% (2006年第二次全国残疾人抽样调查患病率) "
    "x 60% working age x 8% unemployed/registered x seeded U[0.8,1.25]"
)

_NON_DISTRICT = ("county", "autonomous_county", "county_level_city")
_MASSAGE_KIND_FACTOR = {"district": 1.6, "county_level_city": 1.2,
                        "county": 0.6, "autonomous_county": 0.6}
_SHRINK_DEG = 0.005
_RURAL_DISTRICT_MIN_KM2 = 1000.0
_RURAL_DISTRICTS = 6

# Name material (invented words, no real institution is meant).
_BRANDS = (
    "康宁", "明心", "仁和", "益康", "同心", "德馨", "春晖", "福泽", "安康", "惠民",
    "松鹤", "长青", "瑞祥", "济仁", "和顺", "妙手", "顺安", "泰和", "颐和", "康乐",
    "天佑", "怡心", "正源", "健民", "博爱", "融情", "善德", "民康", "乐康", "百福",
    "金泽", "嘉和", "祥瑞", "凯康", "宏福", "惠康", "信和", "永康", "健安", "盛康",
)
_AGRI = (
    "兴农", "丰收", "绿源", "金穗", "黑土地", "稻花香", "富民", "长丰", "沃野", "禾润",
    "鑫源", "万顺", "嘉禾", "宏达", "众旺", "青山", "田园", "福满", "瑞丰", "益农",
)
_RURAL_HOSTS = (
    ("农民专业合作社", "种植专业合作社"),
    ("农民专业合作社", "养殖专业合作社"),
    ("家庭农场", "家庭农场"),
    ("龙头企业", "农业发展有限公司"),
)
_AUX_HOSTS = (
    ("依托阳光家园", "{c}阳光家园辅助性就业机构"),
    ("依托残疾人之家", "{c}残疾人之家辅助性就业机构"),
    ("依托托养机构", "{c}残疾人托养中心辅助性就业机构"),
    ("依托康复机构", "{c}残疾人康复中心辅助性就业机构"),
)
_COMMUNITIES = (
    "幸福", "和谐", "朝阳", "东风", "建设", "光明", "新华", "文化", "团结", "繁荣",
    "民主", "胜利", "育才", "青年", "兴华", "站前",
)
_WORKSHOP_KINDS = ("手工编织", "刺绣", "服装加工", "电商直播", "农产品加工", "串珠工艺", "剪纸")
_ROADS = (
    "人民大街", "解放路", "建设街", "胜利路", "新华路", "文化路", "和平街", "长江路",
    "东风大街", "光明路", "友谊路", "民主街", "兴华路", "繁荣路", "幸福街", "团结路",
    "青年路", "工农路", "站前街", "育才路",
)
_TOWNS = ("新立", "前进", "太平", "永安", "长胜", "兴隆", "红旗", "东升", "双河", "三合",
          "大兴", "福安", "合心", "平安", "永丰")
_VILLAGES = ("靠山", "二道沟", "三家子", "五棵树", "六家子", "王家屯", "腰屯", "东岗",
             "西岭", "南沟", "北甸子", "前进", "红星", "向阳")


# ---------------------------------------------------------------------------- inputs
def load_population(region: str = "220000") -> pd.DataFrame:
    """The region's census table (``adcode, prefecture, county, pop2020``), adcode as text.

    Raises
    ------
    ValueError
        If the region has no embedded population table (only 220000 吉林省 has one).
    """
    if region not in POPULATION_TABLES:
        msg = (
            f"no population table for region {region!r}: demo data can only be made for "
            f"{sorted(POPULATION_TABLES)} (吉林省); for another region supply registry counts"
        )
        raise ValueError(msg)
    return pd.read_csv(reference_path(POPULATION_TABLES[region]), dtype={"adcode": str})


def _county_table(counties: gpd.GeoDataFrame, population: pd.DataFrame) -> pd.DataFrame:
    """Counties (no geometry) sorted by adcode, with pop2020; dev-zone rows dropped."""
    need = {"adcode", "name", "prefecture", "unit_kind", "area_km2"}
    missing_cols = need - set(counties.columns)
    if missing_cols:
        msg = f"counties layer lacks columns {sorted(missing_cols)}"
        raise ValueError(msg)
    if not {"adcode", "pop2020"} <= set(population.columns):
        msg = "population table needs columns adcode and pop2020"
        raise ValueError(msg)
    pop = population[["adcode", "pop2020"]].assign(adcode=lambda d: d["adcode"].astype(str))
    table = (
        pd.DataFrame(counties.drop(columns="geometry", errors="ignore"))
        .assign(adcode=lambda d: d["adcode"].astype(str))
        .merge(pop, on="adcode", how="left")  # rows of population not in counties: ignored
        .sort_values("adcode", kind="stable")
        .reset_index(drop=True)
    )
    absent = table.loc[table["pop2020"].isna(), "adcode"].tolist()
    if absent:
        msg = f"population table has no pop2020 for county adcodes {absent}"
        raise ValueError(msg)
    return table


# ------------------------------------------------------------------------ facilities
def _weights(values: Iterable[float]) -> np.ndarray:
    w = np.asarray(list(values), dtype=float)
    return w / w.sum()


def _choose(rng: np.random.Generator, items: Sequence[str], k: int, weights: Iterable[float],
            *, replace: bool = False) -> list[str]:
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
        parts.append(f"演示缺口场景：{AUX_GAP_ADCODES[adcode]}无残疾人辅助性就业机构"
                     "（二(二)4 各县（市）至少1个，约束性）")
    if prefecture_adcode == INCUBATION_GAP_PREFECTURE[0]:
        parts.append(f"演示缺口场景：{INCUBATION_GAP_PREFECTURE[1]}无残疾人创业孵化基地"
                     "（二(二)3 各市（州）至少1个，约束性）")
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
    out["incubation_base"] = holders + _choose(rng, holders, n_extra, (pop[c] for c in holders),
                                               replace=True)

    # rural help bases: 31 of the 39 non-district units (weighted by area), extras there,
    # plus a few large (rural) districts.
    with_rural = _choose(rng, non_district, len(non_district) - 8, (area[c] for c in non_district))
    big_districts = [c for c in district
                     if c not in EMPTY_DISTRICTS and area[c] >= _RURAL_DISTRICT_MIN_KM2]
    rural_districts = _choose(rng, big_districts, _RURAL_DISTRICTS,
                              (area[c] for c in big_districts))
    n_extra = DEMO_TOTALS["rural_help_base"] - len(with_rural) - len(rural_districts)
    out["rural_help_base"] = (with_rural + rural_districts
                              + _choose(rng, with_rural, n_extra, (area[c] for c in with_rural),
                                        replace=True))

    # massage: multinomial on population x unit-kind factor (urban concentration).
    p = _weights(pop[c] * _MASSAGE_KIND_FACTOR[kind[c]] for c in codes)
    counts = rng.multinomial(DEMO_TOTALS["massage_institution"], p)
    out["massage_institution"] = [c for c, n in zip(codes, counts, strict=True) for _ in range(n)]

    # auxiliary: every non-district unit but the gap ones, extras by population, some districts.
    aux_units = [c for c in non_district if c not in AUX_GAP_ADCODES]
    aux_districts_pool = [c for c in district if c not in EMPTY_DISTRICTS]
    aux_districts = _choose(rng, aux_districts_pool, 12, (pop[c] for c in aux_districts_pool))
    n_extra = DEMO_TOTALS["auxiliary_institution"] - len(aux_units) - len(aux_districts)
    out["auxiliary_institution"] = (aux_units + aux_districts
                                    + _choose(rng, aux_units, n_extra, (pop[c] for c in aux_units),
                                              replace=True))

    # demo special-education schools: the most populous unit of 4 prefectures that have no
    # named real school.
    real_cities = {city for _, _, city, _ in REAL_SCHOOLS}
    pref_name = dict(zip(codes, table["prefecture"], strict=True))
    seats = []
    for pc in sorted(set(pref_code.values())):
        members = [c for c in usable if pref_code[c] == pc]
        if members and pref_name[members[0]] not in real_cities:
            seats.append(max(members, key=lambda c: (pop[c], c)))
    out["vocational_school"] = _choose(rng, seats, DEMO_TOTALS["vocational_school"],
                                       [1.0] * len(seats))

    # beautiful workshops: distinct units by population.
    out["beautiful_workshop"] = _choose(rng, usable, DEMO_TOTALS["beautiful_workshop"],
                                        (pop[c] for c in usable))
    return out


def _prefecture_codes(table: pd.DataFrame) -> dict[str, str]:
    if "prefecture_adcode" in table:
        return dict(zip(table["adcode"], table["prefecture_adcode"].astype(str), strict=True))
    return {c: c[:4] + "00" for c in table["adcode"]}


def _name_rows(table: pd.DataFrame, alloc: dict[str, list[str]],
               rng: np.random.Generator) -> list[dict]:
    """One dict per demo facility (no location yet), in a fixed order."""
    info = table.set_index("adcode")
    pref_code = _prefecture_codes(table)
    used: set[str] = set()
    rows: list[dict] = []

    def add(ftype: str, adcode: str, name: str, subtype: str, address: str) -> None:
        rows.append({
            "name": name, "facility_type": ftype, "subtype": subtype,
            "prefecture": info.at[adcode, "prefecture"], "county": info.at[adcode, "name"],
            "adcode": adcode, "address": address, "is_demo": True,
            "note": _gap_note(adcode, pref_code[adcode]),
        })

    def street(adcode: str) -> str:
        road = _ROADS[rng.integers(len(_ROADS))]
        return (f"吉林省{info.at[adcode, 'prefecture']}{info.at[adcode, 'name']}"
                f"{road}{int(rng.integers(1, 1000))}号")

    def village(adcode: str) -> str:
        town = _TOWNS[rng.integers(len(_TOWNS))]
        vil = _VILLAGES[rng.integers(len(_VILLAGES))]
        return f"吉林省{info.at[adcode, 'prefecture']}{info.at[adcode, 'name']}{town}镇{vil}村"

    def brands(c: str, pool: Sequence[str], fmt: Callable[[str], str]) -> Iterable[str]:
        for b in _permuted(rng, pool):
            yield fmt(b)
        for i in range(2, 100):  # pragma: no cover - only if a county exhausts the pool
            yield fmt(f"第{i}")

    for adcode in sorted(alloc["incubation_base"]):
        c = info.at[adcode, "name"]
        online = bool(rng.random() < 0.3)
        kind = "网络创业孵化基地" if online else ""
        core = "残疾人网络创业孵化基地" if online else "残疾人创业孵化基地"
        name = _unique([f"{c}{core}", *brands(c, _BRANDS, lambda b: f"{c}{b}{core}")], used)
        add("incubation_base", adcode, name, kind, street(adcode))

    for adcode in sorted(alloc["rural_help_base"]):
        c = info.at[adcode, "name"]
        subtype, host = _RURAL_HOSTS[rng.integers(len(_RURAL_HOSTS))]
        name = _unique(brands(c, _AGRI, lambda b: f"{c}{b}{host}农村残疾人就业帮扶基地"), used)
        add("rural_help_base", adcode, name, subtype, village(adcode))

    for adcode in sorted(alloc["massage_institution"]):
        c = info.at[adcode, "name"]
        medical = bool(rng.random() < 0.2)
        model = bool(rng.random() < 0.1)
        core = "盲人医疗按摩所" if medical else "盲人保健按摩店"
        suffix = "（示范）" if model else ""
        subtype = ("医疗按摩" if medical else "保健按摩") + ("（示范）" if model else "")
        name = _unique(brands(c, _BRANDS, lambda b: f"{c}{b}{core}{suffix}"), used)
        add("massage_institution", adcode, name, subtype, street(adcode))

    for adcode in sorted(alloc["auxiliary_institution"]):
        c = info.at[adcode, "name"]
        hosts = [_AUX_HOSTS[i] for i in rng.permutation(len(_AUX_HOSTS))]
        cands = [(s, t.format(c=c)) for s, t in hosts]
        cands += [("依托基层社区", f"{c}{w}社区残疾人辅助性就业机构")
                  for w in _permuted(rng, _COMMUNITIES)]
        for subtype, name in cands:
            if name not in used:
                used.add(name)
                break
        add("auxiliary_institution", adcode, name, subtype, street(adcode))

    for adcode in sorted(alloc["vocational_school"]):
        c = info.at[adcode, "name"]
        name = _unique([f"{c}特殊教育学校"], used)
        add("vocational_school", adcode, name, "特殊教育学校（职业教育）", street(adcode))

    for adcode in sorted(alloc["beautiful_workshop"]):
        c = info.at[adcode, "name"]
        kind = _WORKSHOP_KINDS[rng.integers(len(_WORKSHOP_KINDS))]
        name = _unique([f"{c}美丽工坊", *brands(c, _BRANDS, lambda b: f"{c}{b}美丽工坊")], used)
        add("beautiful_workshop", adcode, name, kind, street(adcode))
    return rows


def _real_rows(table: pd.DataFrame) -> list[dict]:
    info = table.set_index("adcode")
    rows = []
    for name, subtype, city, district in REAL_SCHOOLS:
        if district not in info.index:
            msg = f"counties layer lacks {district}, the district that holds the real school {name}"
            raise ValueError(msg)
        dname = info.at[district, "name"]
        rows.append({
            "name": name, "facility_type": "vocational_school", "subtype": subtype,
            "prefecture": info.at[district, "prefecture"], "county": dname, "adcode": district,
            "address": f"吉林省{city}（具体地址未核实）", "is_demo": False,
            "note": (f"真实机构，见吉政办发〔2025〕16号 二(三)7；"
                     f"位置为近似：仅知所在城市（{city}），点位为{dname}内的演示位置，"
                     "非真实地址 (approximate location, city level only)"),
        })
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


def make_facilities(counties: gpd.GeoDataFrame, *, seed: int,
                    population: pd.DataFrame | None = None) -> gpd.GeoDataFrame:
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
    frame = frame.sort_values(["_type_order", "is_demo", "_real_order", "adcode", "name"],
                              kind="stable", na_position="last").reset_index(drop=True)
    prefix = np.where(frame["is_demo"], "DEMO", "REAL")
    code = frame["facility_type"].map(_ID_CODES)
    serial = frame.groupby([prefix, code], sort=False).cumcount() + 1
    frame.insert(0, "facility_id",
                 [f"{p}-{c}-{n:04d}" for p, c, n in zip(prefix, code, serial, strict=True)])

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
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["lon"], frame["lat"]),
                            crs="EPSG:4326")


# ------------------------------------------------------------------------ unemployed
def make_unemployed(counties: gpd.GeoDataFrame, population: pd.DataFrame, *,
                    seed: int) -> pd.DataFrame:
    """Demo estimate of unemployed disabled people per county (see the module docstring).

    One row per county of ``counties`` (sorted by adcode); population rows that are not
    counties (development zones) are ignored. Columns: :data:`UNEMPLOYED_COLUMNS`.
    """
    table = _county_table(counties, population)
    rng = np.random.default_rng(seed)
    mult = rng.uniform(*MULTIPLIER_RANGE, size=len(table))
    raw = table["pop2020"].to_numpy(float) * PREVALENCE * WORKING_AGE_SHARE * UNEMPLOYED_SHARE
    return pd.DataFrame({
        "adcode": table["adcode"],
        "prefecture": table["prefecture"],
        "county": table["name"],
        "unemployed_disabled": np.maximum(np.rint(raw * mult), 0).astype(np.int64),
        "is_demo": True,
        "method": METHOD,
    })


# --------------------------------------------------------------------------- reports
def summary(facilities: pd.DataFrame) -> pd.DataFrame:
    """Counts per facility type: ``facility_type, real, demo, total, target_2027``."""
    counts = (
        pd.crosstab(facilities["facility_type"], facilities["is_demo"].astype(bool))
        .reindex(index=list(FACILITY_TYPES), columns=[False, True], fill_value=0)
    )
    out = pd.DataFrame({
        "facility_type": list(FACILITY_TYPES),
        "real": counts[False].to_numpy(int),
        "demo": counts[True].to_numpy(int),
    })
    out["total"] = out["real"] + out["demo"]
    out["target_2027"] = out["facility_type"].map(TARGETS_2027).astype("Int64")
    return out


def gap_report(facilities: pd.DataFrame, counties: pd.DataFrame) -> dict[str, list[str]]:
    """Units (``"name (adcode)"``) with no facility of a kind, for the README and tests."""
    have = facilities.groupby("facility_type")["adcode"].agg(set).to_dict()
    units = pd.DataFrame(counties.drop(columns="geometry", errors="ignore")).sort_values("adcode")
    label = [f"{n} ({a})" for n, a in zip(units["name"], units["adcode"], strict=True)]
    non_district = units["unit_kind"].isin(_NON_DISTRICT).to_numpy()

    def lacking(ftype: str, mask: np.ndarray) -> list[str]:
        present = have.get(ftype, set())
        return [lb for lb, a, m in zip(label, units["adcode"], mask, strict=True)
                if m and a not in present]

    pref_have = set(facilities.loc[facilities["facility_type"] == "incubation_base", "prefecture"])
    prefs = units.drop_duplicates("prefecture")
    core = ("incubation_base", "rural_help_base", "auxiliary_institution", "beautiful_workshop")
    district_mask = ~non_district
    districts_missing = [
        lb for lb, a, m in zip(label, units["adcode"], district_mask, strict=True)
        if m and sum(a not in have.get(t, set()) for t in core) >= 3
    ]
    return {
        "non-district units without auxiliary_institution (mandatory)":
            lacking("auxiliary_institution", non_district),
        "prefectures without incubation_base (mandatory)":
            [p for p in prefs["prefecture"] if p not in pref_have],
        "non-district units without rural_help_base (aspirational)":
            lacking("rural_help_base", non_district),
        "county-level units without incubation_base (aspirational)":
            lacking("incubation_base", np.ones(len(units), bool)),
        "districts lacking at least 3 of incubation/rural help/auxiliary/workshop":
            districts_missing,
    }


# ---------------------------------------------------------------------------- output
def facilities_csv(facilities: pd.DataFrame) -> str:
    """The CSV text of a facility frame (geometry dropped, lon/lat with 6 decimals)."""
    return pd.DataFrame(facilities)[list(FACILITY_COLUMNS)].to_csv(
        index=False, float_format="%.6f", lineterminator="\n")


def unemployed_csv(unemployed: pd.DataFrame) -> str:
    """The CSV text of an unemployed-disabled frame."""
    return unemployed[list(UNEMPLOYED_COLUMNS)].to_csv(index=False, lineterminator="\n")


def _readme(region: str, seed: int, facilities: gpd.GeoDataFrame, counties: pd.DataFrame,
            unemployed: pd.DataFrame) -> str:
    table = summary(facilities)
    lines = [
        "# Demo data (generated, do not edit)",
        "",
        "**Demo data: not real, replace with registry data.** Every row with `is_demo=True` is",
        "invented; the only real records are the three schools named in 吉政办发〔2025〕16号",
        "二(三)7, whose location is approximate (city level only).",
        "",
        f"Made by `geoapp data demo` (`geoapp/demo.py`) for region {region} with seed {seed};",
        "the same seed rewrites these files byte for byte. Coordinates are WGS84 (`datum=wgs84`),",
        "random points strictly inside the county polygon of `adcode`.",
        "",
        f"Data date: the demo registers pretend to describe the quarter ending {AS_OF}.",
        "",
        f"- `{region}_facilities.csv`: {len(facilities)} facilities",
        f"- `{region}_unemployed_disabled.csv`: {len(unemployed)} counties, "
        f"{int(unemployed['unemployed_disabled'].sum())} unemployed disabled people in total "
        "(estimate)",
        "",
        "## Facilities per type",
        "",
        "| facility_type | real | demo | total | 2027 target |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in table.itertuples(index=False):
        target = "" if pd.isna(r.target_2027) else str(int(r.target_2027))
        lines.append(f"| {r.facility_type} | {r.real} | {r.demo} | {r.total} | {target} |")
    lines += [
        "",
        "## Gap scenario",
        "",
        "Deliberate for every seed: no auxiliary_institution in "
        + ", ".join(f"{n} ({a})" for a, n in AUX_GAP_ADCODES.items())
        + f"; no incubation_base anywhere in {INCUBATION_GAP_PREFECTURE[1]} "
        f"({INCUBATION_GAP_PREFECTURE[0]}); only massage institutions in "
        + ", ".join(f"{n} ({a})" for a, n in EMPTY_DISTRICTS.items())
        + ". The other gaps below are drawn by the seed.",
        "",
    ]
    for title, units in gap_report(facilities, counties).items():
        lines.append(f"- {title} ({len(units)}): " + (", ".join(units) or "none"))
    lines += [
        "",
        "## Unemployed disabled people (demo estimate)",
        "",
        "There are no public per-county counts. Estimate per county: 2020 census population",
        f"x {PREVALENCE:.2%} disability prevalence (2006 2nd National Sample Survey on Disability)",
        f"x {WORKING_AGE_SHARE:.0%} working age x {UNEMPLOYED_SHARE:.0%} unemployed and registered",
        f"x a seeded multiplier in [{MULTIPLIER_RANGE[0]}, {MULTIPLIER_RANGE[1]}], rounded.",
        "The development-zone rows of the population table are not legal counties and are",
        "ignored (their residents live inside legal districts, which are underestimated here).",
        "",
    ]
    return "\n".join(lines)


def render_demo(*, region: str = "220000", seed: int = 2027) -> dict[str, str]:
    """File name -> text of every demo output (what :func:`write_demo` writes)."""
    population = load_population(region)  # raises ValueError for regions without one
    from geoapp.regions import read_layer

    counties = read_layer(region, "counties")
    facilities = make_facilities(counties, seed=seed, population=population)
    unemployed = make_unemployed(counties, population, seed=seed)
    return {
        f"{region}_facilities.csv": facilities_csv(facilities),
        f"{region}_unemployed_disabled.csv": unemployed_csv(unemployed),
        "README.md": _readme(region, seed, facilities, counties, unemployed),
    }


def write_demo(*, region: str = "220000", seed: int = 2027) -> list[Path]:
    """Write the demo files into ``data/demo`` and return their paths.

    Raises
    ------
    ValueError
        For a region without an embedded population table (only 220000 has one).
    """
    texts = render_demo(region=region, seed=seed)
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts.items():
        path = DEMO_DIR / name
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(text.encode("utf-8"))
        tmp.replace(path)
        paths.append(path)
    return paths
