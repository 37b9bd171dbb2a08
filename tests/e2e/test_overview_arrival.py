"""The overview as a leader meets it, in a real browser: the mandatory gaps marked
without any choice, the whole region and the headline in the first screen, a click on
a county opening its profile, and the filters following the sidebar links.

Waits are on what is asserted (paths drawn, the URL, a heading), never on network idle.
The demo data's mandatory gaps (jilin-2025-2027, literal reading): 通榆县 (220822) and
长白朝鲜族自治县 (220623) lack an auxiliary institution, 辽源市 (220400) an incubation base.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from e2e_support import map_frame, map_state, open_page, select_option, wait_for_app

from geoapp import datasource

pytestmark = pytest.mark.e2e

HEADLINE = (
    "吉林省：2 个县级单位、1 个市（州）未达到约束性要求，"
    "缺 2 个残疾人辅助性就业机构、1 个残疾人创业孵化基地"
)
MAP_IFRAME = 'iframe[title="streamlit_folium.st_folium"]'

# A point of a county's own shape that nothing (a marker, a cluster) covers, in the
# frame's coordinates: what a person would click.
_FREE_POINT = """(name) => {
    const path = [...document.querySelectorAll('path[aria-label]')]
        .find(p => p.getAttribute('aria-label') === name);
    if (!path) return null;
    const r = path.getBoundingClientRect();
    for (let i = 1; i < 12; i++) for (let j = 1; j < 12; j++) {
        const x = r.left + r.width * i / 12, y = r.top + r.height * j / 12;
        if (document.elementFromPoint(x, y) === path) return [x, y];
    }
    return null;
}"""


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture(scope="module")
def region_bounds() -> tuple[float, float, float, float]:
    return tuple(datasource.default_source().counties().total_bounds)


def _marked(frame) -> dict[str, int]:
    frame.wait_for_function(
        "() => document.querySelectorAll('path.geoapp-gap').length"
        " + document.querySelectorAll('path.geoapp-gap-prefecture').length >= 3"
    )
    return frame.evaluate(
        """() => ({
            counties: document.querySelectorAll('path.geoapp-gap').length,
            prefectures: document.querySelectorAll('path.geoapp-gap-prefecture').length,
            patterned: [...document.querySelectorAll('path.geoapp-gap, path.geoapp-gap-prefecture')]
                .filter(p => getComputedStyle(p).fill.startsWith('url(')).length,
            dashed: [...document.querySelectorAll('path.geoapp-gap, path.geoapp-gap-prefecture')]
                .filter(p => (p.getAttribute('stroke-dasharray') || '') !== '').length,
        })"""
    )


@pytest.mark.parametrize("width,height", [(1366, 768), (1024, 768), (1920, 1080)])
def test_arrival_marks_the_mandatory_gaps_within_the_first_screen(
    app_url, page, region_bounds, width, height
):
    page.set_viewport_size({"width": width, "height": height})
    open_page(page, app_url + "/")
    frame = map_frame(page)

    # Hatched counties and a dotted prefecture, each with a dashed outline.
    assert _marked(frame) == {"counties": 2, "prefectures": 1, "patterned": 3, "dashed": 3}
    headline = page.locator(".geoapp-headline")
    assert headline.inner_text().strip() == HEADLINE

    # The headline and the whole map are on the first screen ...
    box = page.locator(MAP_IFRAME).bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, box
    assert box["height"] >= 360, box
    top = headline.bounding_box()
    assert top["y"] >= 0 and top["y"] + top["height"] <= box["y"] + 1, (top, box)
    # ... and so is every county, the southern ones (长白) included.
    state = map_state(frame)
    assert state.contains(region_bounds), (state.bounds, region_bounds)
    south = frame.locator('path[aria-label="长白朝鲜族自治县"]').bounding_box()
    assert box["y"] <= south["y"] and south["y"] + south["height"] <= box["y"] + box["height"]
    assert south["y"] + south["height"] <= height


def test_a_click_on_a_county_opens_its_profile(app_url, page):
    open_page(page, app_url + "/?lang=zh&reading=broad")
    frame = map_frame(page)
    _marked(frame)
    point = frame.evaluate(_FREE_POINT, "长白朝鲜族自治县")
    assert point, "no point of 长白朝鲜族自治县 free of markers"
    origin = page.locator(MAP_IFRAME).bounding_box()
    page.mouse.click(origin["x"] + point[0], origin["y"] + point[1])

    page.wait_for_url(lambda url: "/profile?" in url and "county=220623" in url)
    page.locator("h2", has_text="长白朝鲜族自治县（白山市").wait_for()
    wait_for_app(page)
    assert _query(page.url) == {
        "county": "220623",
        "prefecture": "220600",
        "reading": "broad",
        "lang": "zh",
    }


def test_filters_follow_the_sidebar_links(app_url, page):
    open_page(page, app_url + "/")
    select_option(page, "市（州）", "白山市")
    page.wait_for_url("**prefecture=220600**")
    wait_for_app(page)
    select_option(page, "县（市、区）", "长白朝鲜族自治县")
    page.wait_for_url("**county=220623**")
    wait_for_app(page)
    sidebar = page.locator('[data-testid="stSidebar"]')

    sidebar.get_by_role("link", name="一县一表", exact=True).click()
    page.wait_for_url(lambda url: "/profile?" in url)
    assert _query(page.url) == {"prefecture": "220600", "county": "220623"}
    page.locator("h2", has_text="长白朝鲜族自治县（白山市").wait_for()

    sidebar.get_by_role("link", name="缺口清单", exact=True).click()
    page.wait_for_url(lambda url: "/gaps?" in url)
    assert _query(page.url) == {"prefecture": "220600", "county": "220623"}
    wait_for_app(page)
    assert page.get_by_role("combobox", name="县（市、区）", exact=True).input_value() == (
        "长白朝鲜族自治县"
    )

    # Without a county the profile is a list of the prefecture's units, each a link.
    select_option(page, "县（市、区）", "全部")
    page.wait_for_url(lambda url: "county=" not in url)
    wait_for_app(page)
    sidebar.get_by_role("link", name="一县一表", exact=True).click()
    page.wait_for_url(lambda url: "/profile?" in url)
    assert _query(page.url) == {"prefecture": "220600"}
    page.get_by_role("link", name="抚松县", exact=True).click()
    page.wait_for_url(lambda url: "county=220621" in url)
    assert _query(page.url) == {"prefecture": "220600", "county": "220621"}
    page.locator("h2", has_text="抚松县（白山市").wait_for()


def test_a_language_switch_relabels_the_choices_already_made(app_url, page):
    """A keyed selectbox keeps the label it shows when only its labels change
    (streamlit/streamlit#13788): after 中文 -> English the 地图上标出 box must read
    English, and Chinese again after the switch back."""
    open_page(page, app_url + "/")
    shown = page.get_by_role("combobox", name="地图上标出")
    assert shown.input_value().startswith("约束性缺口")
    page.get_by_text("English", exact=True).first.click()
    page.locator(".geoapp-headline", has_text="below the mandatory rules").wait_for()
    wait_for_app(page)
    assert (
        page.get_by_role("combobox", name="Marked on the map")
        .input_value()
        .startswith("Mandatory gaps")
    )
    page.get_by_text("中文", exact=True).first.click()
    page.locator(".geoapp-headline", has_text="未达到约束性要求").wait_for()
    wait_for_app(page)
    assert shown.input_value().startswith("约束性缺口")
