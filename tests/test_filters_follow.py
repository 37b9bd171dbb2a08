"""Filters follow the user: every sidebar link, and the profile's list of units, carry
the view (region, prefecture, county, policy, reading, language) in its URL.

Through Streamlit's AppTest. 白山市 is 220600 and its 6 county-level units are 浑江区,
江源区, 抚松县, 靖宇县, 长白朝鲜族自治县 and 临江市; 长白朝鲜族自治县 is 220623.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from streamlit.testing.v1 import AppTest

from geoapp import i18n
from geoapp.paths import ROOT

ENTRY = str(ROOT / "streamlit_app.py")
BAISHAN = ["浑江区", "江源区", "抚松县", "靖宇县", "长白朝鲜族自治县", "临江市"]


def run(page: str | None = None, **params: str) -> AppTest:
    at = AppTest.from_file(ENTRY, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    if page:
        at.switch_page(f"pages/{page}.py")
    return at.run()


def links(at: AppTest) -> list[tuple[str, str, dict[str, str]]]:
    """(label, page, query parameters) of every st.page_link of the page."""
    return [
        (
            link.proto.label,
            link.proto.page,
            {k: v[0] for k, v in parse_qs(link.proto.query_string).items()},
        )
        for link in at.page_link
    ]


def test_every_sidebar_link_carries_the_view():
    view = {
        "prefecture": "220600",
        "county": "220623",
        "policy": "jilin-2022-2024",
        "reading": "broad",
        "lang": "en",
    }
    at = run(**view, gap_rule="aspirational")
    assert not at.exception
    menu = links(at)  # the overview has no other page links
    labels = {label for label, _, _ in menu}
    assert {"Map overview", "Coverage gaps", "Targets and progress", "County profile"} <= labels
    assert {"Siting", "Data"} <= labels and len(menu) >= 6
    # the overview's own choice of marks stays on the overview
    assert all(query == view for _, _, query in menu), menu


def test_the_links_carry_what_the_page_put_into_the_url():
    """The menu is drawn again once the page has run: a link with only ?county= gets
    the county's prefecture from the page's filters, and so do the links.

    (AppTest drops the entry script's sidebar elements from its tree after a rerun, so
    a filter changed by a widget is followed in the browser: tests/e2e/test_overview_arrival.py.)
    """
    at = run(county="220623")
    assert at.query_params["prefecture"] in ("220600", ["220600"])
    assert {tuple(sorted(q.items())) for _, _, q in links(at)} == {
        (("county", "220623"), ("prefecture", "220600"))
    }


@pytest.mark.parametrize("page", ["gaps", "profile", "progress", "siting"])
def test_a_link_opens_the_same_filters_on_its_page(page):
    """What a click on a sidebar link does: the page, with the link's parameters."""
    start = run(prefecture="220600", county="220623", lang="en")
    (query,) = {tuple(sorted(q.items())) for _, p, q in links(start) if p == page}
    at = run(page, **dict(query))
    assert not at.exception
    assert at.sidebar.selectbox(key="filter_prefecture").value == "220600"
    assert at.sidebar.selectbox(key="filter_county").value == "220623"
    assert [t.value for t in at.title] == [i18n.t(f"{page}.title", "en")]
    if page == "profile":
        assert at.header[0].value.startswith("长白朝鲜族自治县")


def test_the_profile_without_a_county_lists_the_prefectures_units():
    at = run("profile", prefecture="220600", lang="en")
    assert not at.exception
    assert any(s.value.startswith("County-level units of 白山市") for s in at.subheader)
    units = [(label, query) for label, page, query in links(at) if "county" in query]
    assert sorted(label for label, _ in units) == sorted(BAISHAN)
    # each link opens that unit's profile and keeps the rest of the view
    assert all(query["prefecture"] == "220600" and query["lang"] == "en" for _, query in units)
    assert dict(units)["长白朝鲜族自治县"]["county"] == "220623"
    assert not at.table  # a list to pick from, no profile yet


def test_the_profile_without_any_filter_lists_every_unit_by_prefecture():
    at = run("profile")
    units = [label for label, page, query in links(at) if "county" in query]
    assert len(units) == 60
    headings = [m.value for m in at.markdown if m.value.startswith("**")]
    assert len(headings) == 9 and headings[0] == "**长春市**"


def test_a_link_to_another_county_of_the_same_page_is_followed():
    """The profile's list links to the profile itself: the URL's county must win over
    the sidebar widget's value of the previous run."""
    at = run("profile", prefecture="220600", county="220623")
    assert at.header[0].value.startswith("长白朝鲜族自治县")
    at.query_params["county"] = "220621"  # a click on 抚松县
    at.run()
    assert not at.exception
    assert at.header[0].value.startswith("抚松县")
    assert at.sidebar.selectbox(key="filter_county").value == "220621"
