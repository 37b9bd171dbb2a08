"""One language at a time (issue 14, item 3).

Every page is drawn with AppTest in Chinese and in English. In Chinese no English word
(four or more Latin letters) may show, except names and formats a reader meets as they
are (Excel, GeoJSON, OpenStreetMap ...) and command lines; in English no Chinese may show
except data values: place and facility names, the policies' document numbers and
clauses, and the few policy terms the English labels quote on purpose (力争, 各县（市）
...). Figures carry thousands separators in every table and metric. The exported files
say where their data came from in their own language (openpyxl on real files).
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache

import openpyxl
import pandas as pd
import pytest
import toys
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from geoapp import cli, facilities, i18n, policy, provenance, scope
from geoapp.analysis import reports, siting
from geoapp.datasource import default_source
from geoapp.paths import ROOT

ENTRY = str(ROOT / "streamlit_app.py")

#: Latin words a Chinese page may show as they are: product and format names, a key.
ALLOWED_LATIN = {
    "Excel",
    "GeoJSON",
    "GeoPackage",
    "XLSX",
    "Ctrl",
    "OpenStreetMap",
    "MCLP",
    "Python",
    "Debian",
    "Language",  # the language switch names itself in both languages: 语言 / Language
}
#: [en] labels that quote Chinese on purpose: the policy's own words, names a reader
#: meets in Chinese (高德, 天地图, a register's 坐标系 heading), the switch's own name.
EN_GLOSSES = {
    "strength.mandatory",
    "strength.aspirational",
    "gaps.strength_help",
    "filter.reading",
    "filter.reading_help",
    "data.datum_help",
    "basemap.tianditu",
    "basemap.amap",
    "lang.label",
    "template.example_street",
    "facility_type.beautiful_workshop",
}

_LATIN_WORD = re.compile(r"(?<![A-Za-z0-9_./=?:@{\\-])[A-Za-z]{4,}(?![A-Za-z0-9_./=?:}\\-])")
_COMMAND = re.compile(r"\b(?:geoapp|pip|apt-get)(?: [-A-Za-z0-9_{}]+)*")
_CJK = re.compile(r"[\u3400-\u9fff]")
_MARKUP = re.compile(r"<style>.*?</style>|<[^>]+>", re.S)


def english_words(text: str) -> list[str]:
    """The English words of ``text`` a Chinese reader should not meet."""
    plain = _COMMAND.sub(" ", re.sub(r"\\(.)", r"\1", html.unescape(_MARKUP.sub(" ", text))))
    return [w for w in _LATIN_WORD.findall(plain) if w not in ALLOWED_LATIN]


@lru_cache(maxsize=1)
def _data_values() -> re.Pattern[str]:
    """Chinese that an English page may show: data values and the deliberate glosses."""
    src = default_source()
    values = {"中文"}
    values |= set(src.counties()[["name", "prefecture"]].to_numpy().ravel())
    fac = src.facilities()
    values |= set(fac[["name", "subtype", "address", "county", "prefecture"]].to_numpy().ravel())
    values |= set(scope.region_names().values())
    for key in policy.list_policies():
        pol = policy.load_policy(key)
        values |= {pol.document, pol.region_name, *(r.clause for r in pol.rules)}
        values |= {t.clause for t in pol.people_targets}
    en = i18n.load_table()["en"]
    values |= {m for k in EN_GLOSSES for m in re.findall(r"[\u3400-\u9fff（）〔〕/]+", en[k])}
    words = sorted((str(v) for v in values if v and _CJK.search(str(v))), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, words)))


def chinese_left(text: str) -> list[str]:
    """Chinese in ``text`` once the data values and glosses are taken out."""
    return _CJK.findall(_data_values().sub(" ", text))


# --- what a page shows --------------------------------------------------------------------


_TEXT_ELEMENTS = ("title", "header", "subheader", "markdown", "caption")
_ALERTS = ("info", "warning", "error", "success")
_WIDGETS = (
    "selectbox",
    "radio",
    "checkbox",
    "toggle",
    "button",
    "download_button",
    "text_input",
    "number_input",
    "multiselect",
    "date_input",
)


def visible_texts(at: AppTest) -> list[str]:
    """Every text a reader sees: headings, markdown, alerts, metrics, widget labels, help
    and options, table headers and text cells."""
    out = [str(e.value) for kind in (*_TEXT_ELEMENTS, *_ALERTS) for e in at.get(kind)]
    out += [str(x) for m in at.metric for x in (m.label, m.value)]
    out += [e.label for kind in ("expander", "tab") for e in at.get(kind)]
    for kind in _WIDGETS:
        for widget in at.get(kind):
            out += [str(widget.label), widget.proto.help]
            out += [str(o) for o in getattr(widget, "options", ())]
    for frame in [d.value for d in at.dataframe] + [t.value for t in at.table]:
        out += [str(c) for c in frame.columns]
        for column in frame.columns:
            if not pd.api.types.is_numeric_dtype(frame[column]):
                out += [str(v) for v in frame[column].dropna().unique()]
    return [text for text in out if text]


def shown_cells(table) -> list:
    """The cells of an ``st.table`` as shown: a styled table's display values."""
    styled = table.proto.arrow_data.styler.display_values
    frame = convert_arrow_bytes_to_pandas_df(styled) if styled else table.value
    return list(frame.to_numpy().ravel())


def unformatted_figures(at: AppTest) -> list[str]:
    """Numeric table columns without a thousands-separator format, and metric or table
    figures of four or more digits written without one."""
    bad = []
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        for name in frame.value.columns:
            values = frame.value[name]
            if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
                continue
            fmt = config.get(str(name), {}).get("type_config", {}).get("format") or ""
            if "," not in fmt:
                bad.append(f"column {name}: format {fmt!r}")
    code = i18n.t("col.adcode", "zh"), i18n.t("col.adcode", "en")
    figures = [str(m.value) for m in at.metric if m.label not in code]  # 220623 is a code
    figures += [str(v) for t in at.table for v in shown_cells(t)]
    bad += [f"figure {v}" for v in figures if re.fullmatch(r"[+-]?\d{4,}(\.\d+)?", v)]
    return bad


PAGES = {
    "overview": ({}, None),
    "gaps": ({"prefecture": "220600"}, None),
    "progress": ({}, None),
    "profile": ({"county": "220623"}, None),
    "siting": ({"prefecture": "220600"}, "siting_run"),
    "data": ({}, None),
}


def draw(page: str, lang: str) -> AppTest:
    params, click = PAGES[page]
    at = AppTest.from_file(ENTRY, default_timeout=240)
    for key, value in {"lang": lang, **params}.items():
        at.query_params[key] = value
    at.switch_page(f"pages/{page}.py")
    at.run()
    if click:
        at.button(key=click).click().run()
    assert not at.exception
    return at


@pytest.mark.parametrize("page", list(PAGES))
def test_a_chinese_page_shows_no_english_and_groups_its_figures(page):
    at = draw(page, "zh")
    found = {text[:80]: words for text in visible_texts(at) if (words := english_words(text))}
    assert found == {}
    assert unformatted_figures(at) == []


@pytest.mark.parametrize("page", list(PAGES))
def test_an_english_page_shows_chinese_only_in_data_values(page):
    at = draw(page, "en")
    found = {text[:80]: left for text in visible_texts(at) if (left := chinese_left(text))}
    assert found == {}
    assert unformatted_figures(at) == []


def test_the_checks_catch_the_defects_of_the_issue():
    # The four mixed texts of issue 14 as they were shown before.
    assert english_words("created from the embedded demo data") == [
        "created",
        "from",
        "embedded",
        "demo",
        "data",
    ]
    assert english_words("2 rows; 需求点为规则网格的格网中心; demo data") == [
        "rows",
        "demo",
        "data",
    ]
    assert chinese_left("Policy: 吉林省促进残疾人就业三年行动实施方案（2025-2027年）") != []
    assert chinese_left("Sites for 白山市 (the sidebar's prefecture)") == []
    # Names, formats and command lines are not English prose.
    assert english_words("与命令行 geoapp gaps --all 相同；下载 Excel（.xlsx）或 GeoJSON") == []


# --- the figures and the labels behind the pages -----------------------------------------


def test_the_county_table_groups_thousands_like_the_headline():
    at = draw("overview", "zh")
    config = json.loads(at.dataframe[0].proto.columns)
    assert config["常住人口（2020）"]["type_config"]["format"] == "%,d"  # 657682 -> 657,682
    assert config["未就业残疾人数"]["type_config"]["format"] == "%,d"
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", at.metric[2].value)


def test_english_labels_quote_chinese_only_on_purpose():
    english = i18n.load_table()["en"]
    quoting = {key for key, text in english.items() if _CJK.search(text)}
    assert sorted(quoting - EN_GLOSSES) == []


def test_chinese_labels_have_no_english_words():
    chinese = i18n.load_table()["zh"]
    found = {k: w for k, v in chinese.items() if (w := english_words(re.sub(r"\{\w*\}", "", v)))}
    assert found == {}


def test_every_policy_has_an_english_title():
    for key in policy.list_policies():
        pol = policy.load_policy(key)
        assert pol.title_in("zh") == pol.title and _CJK.search(pol.title)
        assert not _CJK.search(pol.title_in("en")), key
    jilin = policy.load_policy("jilin-2025-2027")
    assert jilin.title_in("en").startswith("Jilin Province three-year action plan")


def test_map_badges_are_latin_letters_in_english_one_per_type():
    assert [t.mark for t in facilities.types_in("zh").values()] == list("孵帮按辅校坊")
    assert [t.mark for t in facilities.types_in("en").values()] == list("IRMAVW")


def test_the_english_map_and_its_legend_show_the_latin_badges():
    at = draw("overview", "en")
    (component,) = at.get("component_instance")
    script = json.loads(component.proto.json_args)["script"]
    assert '"mark":"A"' in script and '"mark":"辅"' not in script
    assert '"demo":"demo data"' in script
    legend = " ".join(m.value for m in at.markdown)
    assert ">A</span>Auxiliary employment institution" in legend


# --- recorded provenance, in the reader's language --------------------------------------


@pytest.mark.parametrize(
    ("note", "zh", "en"),
    [
        (
            "created from the embedded demo data",
            "由内置演示数据创建",
            "created from the embedded demo data",
        ),
        (
            "created empty: no embedded data for this region",
            "创建时为空（本地区没有内置数据）",
            "created empty: no embedded data for this region",
        ),
        (
            "no valid row: no version made. 第三季度",
            "没有有效行，未生成版本。第三季度",
            "no valid row: no version made. 第三季度",
        ),
        (
            "facilities: version 2 -> 1. wrong file",
            "设施登记表：由版本 2 回滚到版本 1。wrong file",
            "Facility register: version 2 -> 1. wrong file",
        ),
        (
            "as_of 2025-10-01 is not a quarter end (03-31, 06-30, 09-30, 12-31); recorded as given",
            "截至日期 2025-10-01 不是季度末（03-31、06-30、09-30、12-31），按所填日期记录",
            "as_of 2025-10-01 is not a quarter end (03-31, 06-30, 09-30, 12-31); recorded as given",
        ),
        ("第二季度登记表", "第二季度登记表", "第二季度登记表"),  # a steward's own note
    ],
)
def test_stored_notes_read_in_the_page_language(note, zh, en):
    assert provenance.note_text(note, "zh") == zh
    assert provenance.note_text(note, "en") == en


def test_the_data_page_notes_and_writer_follow_the_language():
    for lang, note, who in (("zh", "由内置演示数据创建", "系统"), ("en", None, "system")):
        at = draw("data", lang)
        versions = at.dataframe[0].value
        notes = set(versions[versions.columns[-1]])
        assert notes == {note or "created from the embedded demo data"}
        assert set(versions[versions.columns[-3]]) == {who}


# --- exports: the sources row and the siting file ------------------------------------------


def about_rows(path, sheet: str) -> dict:
    book = openpyxl.load_workbook(path)
    return {row[0]: row[1] for row in book[sheet].iter_rows(values_only=True)}


@pytest.mark.parametrize(
    ("lang", "sheet", "key", "sources", "policy_title"),
    [
        (
            "zh",
            "说明",
            "数据来源文件",
            "内置演示设施数据; 内置未就业残疾人数（演示估算）",
            "吉林省促进残疾人就业三年行动实施方案（2025-2027年）",
        ),
        (
            "en",
            "About",
            "Source files",
            "embedded demo facilities; embedded demo unemployed-disabled estimate",
            "Jilin Province three-year action plan for promoting the employment of persons "
            "with disabilities (2025-2027)",
        ),
    ],
)
def test_gap_xlsx_names_its_sources_in_its_language(
    tmp_path, capsys, lang, sheet, key, sources, policy_title
):
    out = tmp_path / f"gaps-{lang}.xlsx"
    assert (
        cli.main(
            ["gaps", "--city", "白山市", "--format", "xlsx", "--lang", lang, "--out", str(out)]
        )
        == 0
    )
    about = about_rows(out, sheet)
    assert about[key] == sources
    assert about["政策" if lang == "zh" else "Policy"] == policy_title
    # The dashboard's file is built by the same core call.
    gaps = reports.build_gap_list(default_source(), prefecture="220600")
    data = reports.gap_list_file(gaps, "xlsx", source=default_source(), lang=lang)
    page_file = tmp_path / "page.xlsx"
    page_file.write_bytes(data)
    assert about_rows(page_file, sheet)[key] == sources
    err = capsys.readouterr().err
    assert ("；演示数据" in err and "rows" not in err) if lang == "zh" else "; demo data" in err


@pytest.fixture
def toy_sites() -> siting.SitingResult:
    """Two counties in two prefectures, k = 1 for two county gaps: one site, one warning."""
    counties = toys.counties(
        ("990101", "甲县", "990100", "county", (0, 0, 10, 10)),
        ("990201", "乙县", "990200", "county", (10, 0, 20, 10)),
    )
    fac = toys.facilities([(50, 50)], ["beautiful_workshop"], [""])
    dem = toys.demand([(5, 5), (15, 5)], [100, 900], ["990101", "990201"])
    return siting.suggest_sites(
        "incubation_base",
        1,
        radius_km=10.0,
        policy=toys.policy(
            toys.rule("inc-county", "incubation_base", "county", unit_kinds=("county",))
        ),
        counties=counties,
        facilities=fac,
        unemployed=toys.unemployed({"990101": 100, "990201": 900}),
        demand=dem,
        candidates=siting.candidates(
            "none", counties=counties, extra_points=toys.points([(5, 5), (15, 5)])
        ),
    )


def test_siting_xlsx_in_chinese_has_no_english(tmp_path, toy_sites):
    path = tmp_path / "sites.xlsx"
    path.write_bytes(
        siting.site_file(toy_sites, "xlsx", lang="zh", sources=["embedded demo data"], demo=True)
    )
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["建议站点", "说明"]
    header = [c.value for c in book["建议站点"][1]]
    assert header[:4] == ["方案", "顺序", "目的", "经度"]
    assert [c.value for c in book["建议站点"][2]][:3] == ["最优", 1, "补缺口"]
    about = about_rows(path, "说明")
    assert about["数据来源文件"] == "内置演示数据"
    assert about["演示数据"] == "是"
    assert about["设施类型"] == "残疾人创业孵化基地"
    assert about["提示 1"].startswith("新增站点数 k = 1 不足以补齐全部约束性缺口")
    found = {k: w for k, v in about.items() if (w := english_words(f"{k} {v}"))}
    assert found == {}


def test_siting_warnings_are_english_for_the_cli_and_chinese_for_a_page(toy_sites):
    (note,) = toy_sites.warnings
    assert "k = 1 is too small" in note  # the CLI's text, as before
    assert note.text("zh") == (
        "新增站点数 k = 1 不足以补齐全部约束性缺口：补齐全部 2 个可补的缺口需要 2 个站点；"
        "已补齐 1 个，尚余 1 个"
    )
    with pytest.raises(siting.SitingError) as error:
        siting.check_request(
            "incubation_base",
            0,
            **dict.fromkeys(("counties", "facilities", "unemployed", "demand", "candidates")),
            radius_km=1.0,
            circuity=1.0,
            policy="jilin-2025-2027",
            reading="literal",
        )
    assert error.value.text("zh") == "新增站点数 k 须为不小于 1 的整数（现为 0）"
    assert str(error.value) == "k (the number of new sites) must be a whole number >= 1, got 0"
