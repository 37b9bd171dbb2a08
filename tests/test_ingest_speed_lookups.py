"""The vectorised lookups of reading a register (issue 11, part 5), against the per-row
code they replace, on random tables drawn from a small hand-written pool of spellings.

Each fast path must give exactly what resolving, placing or labelling row by row gives:
the same frame, the same adcodes, the same texts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from geoapp import ingest
from geoapp.admin import AdminRegistry
from geoapp.admin.registry import _hashable, distinct_rows
from geoapp.analysis.preview import reason_words
from geoapp.datasource import default_source
from geoapp.ingest.rowlog import cell_text, cell_texts
from geoapp.ingest.values import join_texts, per_distinct

# Spellings a register writes for a county or a city: names, short forms, codes as text,
# int and float, a development zone (placed only with a point), blanks, rubbish.
NAMES = [
    "朝阳区",
    "长春市朝阳区",
    "长白县",
    "前郭县",
    "220184",
    220184,
    220184.0,
    "长春经开区",
    "净月",
    "通化",
    "不存在县",
    "",
    " ",
    None,
    np.nan,
    True,
]
PREFECTURES = ["长春市", "长春", "白山市", "延边州", "", None, np.nan, 220100]
# (lon, lat): inside 长春 (the dev zones), elsewhere in Jilin, outside, blank
POINTS = [(125.35, 43.88), (125.42, 43.82), (126.0, 42.0), (100.0, 30.0), (np.nan, 43.0)]


@pytest.fixture(scope="module")
def registry() -> AdminRegistry:
    return AdminRegistry.default(counties=default_source().counties())


def random_frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    pick = rng.integers(0, len(POINTS), n)
    return pd.DataFrame(
        {
            "name": pd.Series([NAMES[i] for i in rng.integers(0, len(NAMES), n)], dtype=object),
            "city": pd.Series(
                [PREFECTURES[i] for i in rng.integers(0, len(PREFECTURES), n)], dtype=object
            ),
            "lon": [POINTS[i][0] for i in pick],
            "lat": [POINTS[i][1] for i in pick],
        },
        index=rng.permutation(n) + 100,
    )


def resolve_row_by_row(registry: AdminRegistry, frame: pd.DataFrame, **kwargs) -> pd.DataFrame:
    """The reference, the loop resolve_many had: each row's (name, prefecture, point)
    keyed by :func:`_hashable`, the first row of a key resolving it for all (so a blank
    name's message quotes the first blank)."""
    cache: dict = {}
    rows = []
    for name, city, lon, lat in zip(
        frame["name"].tolist(), frame["city"].tolist(), frame["lon"], frame["lat"], strict=True
    ):
        city = city if kwargs.get("prefecture_col") else None
        point = None if np.isnan(lon) or np.isnan(lat) or not kwargs.get("lon_col") else (lon, lat)
        key = (_hashable(name), _hashable(city), _hashable(point))
        if key not in cache:
            cache[key] = registry._row(
                name,
                prefecture=city,
                province=kwargs.get("province"),
                point=point,
                level=kwargs.get("level", "county"),
            )
        rows.append(cache[key])
    columns = ["adcode", "name", "prefecture_adcode", "prefecture", "province", "via", "note"]
    columns += ["error", "error_type", "error_candidates"]
    result = pd.DataFrame(rows, columns=columns, index=frame.index)
    return result.astype(object).where(result.notna(), np.nan)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"prefecture_col": "city"},
        {"prefecture_col": "city", "lon_col": "lon", "lat_col": "lat", "province": "220000"},
        {"level": "prefecture"},
        {"level": "province"},
    ],
)
def test_resolve_many_is_resolve_row_by_row(registry, kwargs) -> None:
    rng = np.random.default_rng(11)
    for n in (0, 1, 40, 300):
        frame = random_frame(rng, n)
        got = registry.resolve_many(frame, name_col="name", **kwargs)
        want = resolve_row_by_row(registry, frame, **kwargs)
        pd.testing.assert_frame_equal(got, want)


def test_distinct_rows_keeps_types_apart_and_blanks_together() -> None:
    names = np.array(["1", 1, 1.0, True, "", " ", None, np.nan, "1"], dtype=object)
    key, first = distinct_rows([names, None, None, None])
    # "1" and 1 and 1.0 and True are four lookups; every blank is one; the last "1" repeats
    assert key.tolist() == [0, 1, 2, 3, 4, 4, 4, 4, 0]
    assert first.tolist() == [0, 1, 2, 3, 4]


def test_distinct_rows_a_point_is_blank_when_one_coordinate_is() -> None:
    names = np.array(["朝阳区"] * 4, dtype=object)
    lon = np.array([125.3, 125.3, np.nan, 125.3])
    lat = np.array([43.8, 43.9, 43.8, np.nan])
    key, first = distinct_rows([names, None, lon, lat])
    assert key.tolist() == [0, 1, 2, 2]
    assert first.tolist() == [0, 1, 2]


CELLS = [" 长春 ", "\u3000朝阳区\xa0", "\x1c x \x1f", "", "  ", "a\tb", None, np.nan, pd.NA]
CELLS += [1.0, 2.5, 220102.0, 1e16, -3.0, np.float64(5.0), 7, True, pd.Timestamp("2025-01-02")]


@pytest.mark.parametrize("pool", [CELLS[:6], CELLS[:9], CELLS, [None, np.nan], CELLS[9:]])
def test_cell_texts_is_cell_text_of_every_cell(pool) -> None:
    rng = np.random.default_rng(5)
    for n in (0, 1, 50):
        column = pd.Series([pool[i] for i in rng.integers(0, len(pool), n)], dtype=object)
        got = cell_texts(column)
        assert got.dtype == object
        assert got.tolist() == [cell_text(v) for v in column.to_numpy()]


def locate_with_a_tree_of_points(registry: AdminRegistry, lon, lat) -> np.ndarray:
    """The reference, the placement locate had: a tree of Point objects queried with
    the county polygons, "contains", one county or None."""
    polygons = registry._counties
    points = shapely.points(lon, lat)
    out = np.full(len(points), None, dtype=object)
    poly_pos, point_pos = shapely.STRtree(points).query(
        polygons.frame.geometry.to_numpy(), predicate="contains"
    )
    hits = np.bincount(point_pos, minlength=len(points))
    single = hits[point_pos] == 1
    codes = np.array([u.adcode for u in polygons.units], dtype=object)
    out[point_pos[single]] = codes[poly_pos[single]]
    return out


def test_locate_is_the_tree_of_points_on_borders_and_random_points(registry) -> None:
    counties = default_source().counties()
    rng = np.random.default_rng(3)
    corners = shapely.get_coordinates(counties.geometry.boundary.to_numpy())
    corners = corners[rng.choice(len(corners), 3000, replace=False)]
    middles = (corners[:-1] + corners[1:]) / 2  # mostly on a border, some across
    x0, y0, x1, y1 = counties.total_bounds
    scattered = np.c_[rng.uniform(x0 - 1, x1 + 1, 5000), rng.uniform(y0 - 1, y1 + 1, 5000)]
    for xy in (corners, middles, scattered):
        got = registry.locate(xy[:, 0], xy[:, 1])
        assert got.tolist() == locate_with_a_tree_of_points(registry, xy[:, 0], xy[:, 1]).tolist()
    assert all(v is None for v in registry.locate(corners[:, 0], corners[:, 1]))  # on a border
    assert registry.locate([np.nan, 125.3], [43.8, np.inf]).tolist() == [None, None]


TEXTS = ["", "a", "长春", "x; y"]


def test_join_texts_is_the_join_of_the_non_empty_texts_of_each_row() -> None:
    rng = np.random.default_rng(7)
    for n in (0, 1, 60):
        parts = [np.array([TEXTS[i] for i in rng.integers(0, 4, n)], dtype=object) for _ in "abc"]
        want = ["; ".join(p for p in row if p) for row in zip(*parts, strict=True)]
        assert join_texts(parts, "; ").tolist() == want


def test_per_distinct_calls_once_per_value_and_gives_each_row_its_answer() -> None:
    values = np.array(["220104", "220105", "220104", None, np.nan, "220104"], dtype=object)
    calls: list = []

    def label(a):
        calls.append(a)
        return f"<{a}>"

    got = per_distinct(values, label)
    assert got.tolist() == ["<220104>", "<220105>", "<220104>", "<None>", "<nan>", "<220104>"]
    assert calls[:2] == ["220104", "220105"] and len(calls) == 4


def reason_words_row_by_row(codes: pd.Series, lang: str) -> pd.Series:
    """The reference, the per-row map reason_words had."""
    sep = "；" if lang == "zh" else "; "
    words = {c: ingest.reason_label(c, lang) for c in ingest.REASON_LABELS}
    return codes.fillna("").map(
        lambda text: sep.join(words.get(c, c) for c in str(text).split(";") if c)
    )


@pytest.mark.parametrize("dtype", [object, "str"])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_reason_words_is_the_per_row_map(dtype, lang) -> None:
    rng = np.random.default_rng(1)
    pool = ["", "duplicate", "duplicate;dms", "xyz;no_name", None, np.nan, "dms;;swapped"]
    for n in (0, 1, 100):
        codes = pd.Series([pool[i] for i in rng.integers(0, len(pool), n)], dtype=object)
        codes = codes.astype(dtype)
        got, want = reason_words(codes, lang), reason_words_row_by_row(codes, lang)
        pd.testing.assert_series_equal(got, want)
    assert reason_words(pd.Series(["duplicate;dms"]), "zh").tolist() == ["重复；度分秒已转换"]


@pytest.mark.parametrize("with_city", [False, True])
@pytest.mark.parametrize("pool", ["text", "all"])
def test_region_resolve_once_per_text_pair_is_resolve_many_of_every_row(
    registry, with_city, pool
) -> None:
    from geoapp.ingest.region import build_region, resolve

    region = build_region(default_source().counties(), registry, None, points=True)
    rng = np.random.default_rng(5)
    names = NAMES if pool == "all" else [v for v in NAMES if isinstance(v, str) and v.strip()]
    cities = PREFECTURES if pool == "all" else ["长春市", "长春", "白山市", "延边州"]
    for n in (0, 1, 60, 400):
        frame = random_frame(rng, n)
        frame["name"] = pd.Series(
            [names[i] for i in rng.integers(0, len(names), n)], index=frame.index, dtype=object
        )
        frame["city"] = pd.Series(
            [cities[i] for i in rng.integers(0, len(cities), n)], index=frame.index, dtype=object
        )
        city = frame["city"] if with_city else None
        got = resolve(region, frame["name"], city)
        full = pd.DataFrame({"name": frame["name"].to_numpy(dtype=object)}, index=frame.index)
        kwargs = {}
        if with_city:
            full["prefecture"] = frame["city"].to_numpy(dtype=object)
            kwargs["prefecture_col"] = "prefecture"
        want = registry.resolve_many(full, name_col="name", province=region.province, **kwargs)
        pd.testing.assert_frame_equal(got, want)
