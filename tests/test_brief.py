"""The meeting brief: two A4 pages, fonts embedded, the pages' own numbers in one language.

A hand-made region (two prefectures, three counties) gives numbers to check on paper;
one run of ``geoapp brief`` on the embedded Jilin data checks the whole command.
"""

from __future__ import annotations

import re
from datetime import datetime

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geoapp import brief
from geoapp.analysis.gap_marks import gap_headline, gap_marks
from geoapp.analysis.reports import build_gap_list
from geoapp.brief import fonts
from geoapp.brief.content import brief_content
from geoapp.brief.layout import wrap
from geoapp.cli import main
from geoapp.datasource import default_source
from geoapp.policy import PeopleTarget, Policy, Rule
from geoapp.schema import SourceInfo

pypdf = pytest.importorskip("pypdf")

A4_PT = (595.28, 841.89)
CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]")
WHEN = datetime(2025, 10, 8, 9, 30)


# --- a hand-made region ----------------------------------------------------------------
# 东州 (990100): 甲县 (county, 100 people, one auxiliary institution) and 乙区 (district,
# 2,500 people); 西州 (990200): 丙县 (county, 1,200 people, one incubation base).
# Rules: every county (not district) at least 1 auxiliary institution, every prefecture
# at least 1 incubation base (both mandatory), and 4 auxiliary institutions region-wide.
# So 丙县 fails the county rule, 东州 the prefecture rule; 乙区 is out of scope (literal).


class ToySource:
    region_adcode = "990000"

    def __init__(self) -> None:
        self._counties = gpd.GeoDataFrame(
            {
                "adcode": ["990101", "990102", "990201"],
                "name": ["甲县", "乙区", "丙县"],
                "prefecture_adcode": ["990100", "990100", "990200"],
                "prefecture": ["东州", "东州", "西州"],
                "unit_kind": ["county", "district", "county"],
            },
            geometry=[
                box(125, 43, 125.5, 43.5),
                box(125.5, 43, 126, 43.5),
                box(126, 43, 126.5, 43.5),
            ],
            crs=4326,
        )

    def counties(self) -> gpd.GeoDataFrame:
        return self._counties

    def prefectures(self) -> gpd.GeoDataFrame:
        frame = self._counties.dissolve("prefecture_adcode", as_index=False)
        return frame[["prefecture_adcode", "prefecture", "geometry"]].rename(
            columns={"prefecture_adcode": "adcode", "prefecture": "name"}
        )

    def display_layer(self, name: str) -> gpd.GeoDataFrame:
        return self.counties() if name == "counties" else self.prefectures()

    def facilities(self) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(
            {
                "facility_type": ["auxiliary_institution", "incubation_base"],
                "adcode": ["990101", "990201"],
            },
            geometry=[Point(125.2, 43.2), Point(126.2, 43.2)],
            crs=4326,
        )

    def unemployed(self) -> pd.DataFrame:
        return pd.DataFrame(
            {"adcode": ["990101", "990102", "990201"], "unemployed_disabled": [100, 2500, 1200]}
        )

    def info(self) -> SourceInfo:
        return SourceInfo("990000", "示例省", "hand-made", True, True, "2025-09-30")


def _rule(rule_id, facility_type, level, value, strength, unit_kinds=()) -> Rule:
    return Rule(
        rule_id, facility_type, level, "at_least", value, strength, "一(一)1", "至少", unit_kinds
    )


TOY_POLICY = Policy(
    key="toy-2025-2027",
    title="示例省三年行动方案（2025-2027年）",
    document="示例〔2025〕1号",
    issuer="示例",
    period_start=2025,
    period_end=2027,
    region_adcode="990000",
    region_name="示例省",
    seed="",
    rules=(
        _rule("aux-county", "auxiliary_institution", "county", 1, "mandatory", ("county",)),
        _rule("inc-prefecture", "incubation_base", "prefecture", 1, "mandatory"),
        _rule("aux-province", "auxiliary_institution", "province", 4, "target"),
    ),
    people_targets=(PeopleTarget("jobs-new", "新增就业", "at_least", 12000, "一(二)1", "新增"),),
    title_en="Toy province three-year plan (2025-2027)",
)


def _text(pdf: bytes) -> list[str]:
    from io import BytesIO

    return [page.extract_text() for page in pypdf.PdfReader(BytesIO(pdf)).pages]


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture(scope="module")
def toy_zh() -> bytes:
    return brief.build_brief(ToySource(), policy=TOY_POLICY, lang="zh", generated_at=WHEN)


@pytest.fixture(scope="module")
def toy_en() -> bytes:
    return brief.build_brief(ToySource(), policy=TOY_POLICY, lang="en", generated_at=WHEN)


def _reader(pdf: bytes):
    from io import BytesIO

    return pypdf.PdfReader(BytesIO(pdf))


def _fonts(pdf: bytes) -> dict[str, tuple[str, set[str]]]:
    """Base font name -> (subtype of the font program's holder, FontFile keys present)."""
    found = {}
    for page in _reader(pdf).pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            holder = (
                font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            )
            descriptor = holder["/FontDescriptor"].get_object()
            files = {k for k in ("/FontFile", "/FontFile2", "/FontFile3") if k in descriptor}
            found[str(font["/BaseFont"])] = (str(holder["/Subtype"]), files)
    return found


# --- the PDF --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_two_a4_pages(lang, toy_zh, toy_en):
    pages = _reader(toy_zh if lang == "zh" else toy_en).pages
    assert len(pages) == 2
    for page in pages:
        box_ = page.mediabox
        assert (float(box_.width), float(box_.height)) == pytest.approx(A4_PT, abs=0.5)


def test_every_font_is_embedded_and_the_chinese_one_is_truetype(toy_zh):
    found = _fonts(toy_zh)
    assert found
    assert all(files for _, files in found.values()), found
    chinese = [name for name in found if "GeoappBrief" in name]
    assert chinese  # the subset of Noto Sans SC (or a system CJK font), renamed
    # TrueType outlines in a TrueType slot: a CFF font there makes viewers refuse the PDF
    assert all(found[name] == ("/CIDFontType2", {"/FontFile2"}) for name in chinese)


def test_page_one_says_who_fails_and_page_two_the_numbers(toy_zh):
    one, two = (_flat(t) for t in _text(toy_zh))
    # by hand: 丙县 lacks its auxiliary institution, 东州 its incubation base
    assert (
        _flat(
            "示例省：1 个县级单位、1 个市（州）未达到约束性要求，缺 1 个残疾人创业孵化基地、"
            "1 个残疾人辅助性就业机构"
        )
        in one
    )
    # people behind them: 东州 (100 + 2,500) and 丙县 (1,200), with a thousands separator
    assert "约束性缺口涉及的未就业残疾人：3,800人（演示估算）" in one
    assert "演示数据" in one and "演示数据" in two
    assert "2025-09-30" in one and "2025-09-30" in two
    assert "演示数据，非真实登记" in two
    # 1 auxiliary institution of 4 region-wide; the people target of 12,000
    assert "1/≥4（25%）" in two
    assert "≥12,000人" in two
    # the gap table in rank order: 东州 (2,600 people) before 丙县 (1,200)
    assert two.index("（全市/州）") < two.index("丙县")
    assert "2,600" in two and "1,200" in two


def test_the_summary_is_the_overviews_headline():
    source = ToySource()
    gaps = build_gap_list(source, policy=TOY_POLICY)
    content = brief_content(
        gaps,
        policy=TOY_POLICY,
        info=source.info(),
        prefectures=pd.DataFrame(source.prefectures()[["adcode", "name"]]),
        lang="zh",
        generated_at=WHEN,
    )
    marks = gap_marks(gaps.result, "mandatory")
    assert (marks.counties, marks.prefectures) == (("990201",), ("990100",))
    assert content.summary == gap_headline(marks, scope="示例省", lang="zh")
    assert [(m.level, m.units) for m in content.map_marks] == [
        ("county", (("990201", "丙县"),)),
        ("prefecture", (("990100", "东州"),)),
    ]


def test_english_headings_have_no_chinese(toy_en):
    source = ToySource()
    content = brief_content(
        build_gap_list(source, policy=TOY_POLICY),
        policy=TOY_POLICY,
        info=source.info(),
        prefectures=pd.DataFrame(source.prefectures()[["adcode", "name"]]),
        lang="en",
    )
    text = _flat(" ".join(_text(toy_en)))
    for heading in content.headings():
        heading = heading.format(shown=2)
        assert not CJK.search(heading), heading
        assert _flat(heading) in text
    assert "Toyprovincethree-yearplan(2025-2027)" in text  # the policy's English title
    assert "Demodata,notrealregisters" in text


# --- the command ----------------------------------------------------------------------


def test_geoapp_brief_on_the_embedded_data(tmp_path, capsys):
    out = tmp_path / "brief.pdf"
    assert main(["brief", "--out", str(out)]) == 0
    pdf = out.read_bytes()
    assert len(_reader(pdf).pages) == 2
    one = _flat(_text(pdf)[0])
    gaps = build_gap_list(default_source())
    mandatory = gaps.rows[gaps.rows["strength"] == "mandatory"]
    counties = mandatory.loc[mandatory["unit_kind"] != "prefecture", "county"].tolist()
    prefectures = mandatory.loc[mandatory["unit_kind"] == "prefecture", "city"].tolist()
    assert (sorted(counties), prefectures) == (["通榆县", "长白朝鲜族自治县"], ["辽源市"])
    headline = gap_headline(gap_marks(gaps.result, "mandatory"), scope="吉林省", lang="zh")
    assert headline.startswith("吉林省：2 个县级单位、1 个市（州）未达到约束性要求")
    assert _flat(headline) in one
    # 辽源市 3,170 + 通榆县 953 + 长白 150
    assert "4,273" in one
    assert "2025-09-30" in one
    err = capsys.readouterr().err
    assert "吉林省：2 个县级单位" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--policy", "nope"], "--policy：没有名为“nope”的政策"),
        (["--policy", "nope", "--lang", "en"], '--policy: there is no policy "nope"'),
        (["--region", "999999"], "--region：“999999”不是已建好的地区"),
        (["--region", "211100", "--policy", "jilin-2025-2027"], "无法生成简报"),
    ],
)
def test_bad_input_is_exit_2_in_the_chosen_language(argv, message, tmp_path, capsys):
    out = tmp_path / "brief.pdf"
    assert main(["brief", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not out.exists()


def test_no_chinese_font_is_exit_2_saying_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(fonts, "_package_font", lambda: None)
    monkeypatch.setattr(fonts, "_system_fonts", list)
    out = tmp_path / "brief.pdf"
    assert main(["brief", "--lang", "en", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "No Chinese font found" in err and "pip install pylopdf-fonts-zh-cn" in err
    assert not out.exists()
    assert brief.font_problem("zh").startswith("找不到中文字体")


# --- the parts --------------------------------------------------------------------------


def test_the_subset_font_has_truetype_outlines_and_its_own_name():
    from io import BytesIO

    from fontTools.ttLib import TTFont

    source = fonts.find_font("吉林", lang="zh")
    font = TTFont(BytesIO(fonts.subset_font(source, "吉林省 2,027", "GeoappBriefTest")))
    assert "glyf" in font and "CFF " not in font
    assert {ord(c) for c in "吉林省2,027"} <= set(font.getBestCmap())
    assert font["name"].getDebugName(1) == "GeoappBriefTest"


def test_wrap_breaks_between_words_and_never_before_a_comma():
    from matplotlib.font_manager import FontProperties

    family = fonts.brief_font("一二三，四 alpha beta gamma", lang="zh")
    prop = FontProperties(family=[family], size=10)
    one_word = wrap("alpha", prop, 100)[0]
    assert one_word == "alpha"
    width = _width(["alpha ", "beta"], prop) + 0.01
    assert wrap("alpha beta gamma", prop, width) == ["alpha beta", "gamma"]
    three = wrap("一二三", prop, 1000)[0]
    assert three == "一二三"
    lines = wrap("一二三，四", prop, _width("一二三", prop) + 0.01)
    assert lines == ["一二三，", "四"]


def _width(pieces, prop) -> float:
    from geoapp.brief.layout import _token_mm

    family, size = tuple(prop.get_family()), prop.get_size_in_points()
    return sum(_token_mm(piece, family, size) for piece in pieces)


# --- the progress page's button ---------------------------------------------------------


def test_progress_page_button_gives_the_commands_brief(monkeypatch):
    from streamlit.runtime.media_file_manager import MediaFileManager
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1 import app_test as app_test_module

    from geoapp.paths import ROOT

    managers: list[MediaFileManager] = []

    class Recording(MediaFileManager):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            managers.append(self)

    monkeypatch.setattr(app_test_module, "MediaFileManager", Recording)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.query_params["lang"] = "en"
    at.switch_page("pages/progress.py")
    at.run()
    assert not at.exception
    (button,) = [b for b in at.get("download_button") if b.proto.id.endswith("progress_brief")]
    assert button.label == "Download the meeting brief (PDF)"
    url = managers[-1].execute_deferred(button.proto.deferred_file_id)
    pdf = managers[-1]._storage.get_file(url.rsplit("/", 1)[-1]).content
    assert len(_reader(pdf).pages) == 2
    one = _flat(_text(pdf)[0])
    gaps = build_gap_list(default_source())
    headline = gap_headline(gap_marks(gaps.result, "mandatory"), scope="吉林省", lang="en")
    assert _flat(headline) in one
