"""The overview map in a real browser: what it draws, what it loads, how filters move it."""

from __future__ import annotations

import pytest
from e2e_support import (
    PAGES,
    map_frame,
    map_state,
    metrics,
    open_page,
    page_url,
    query_params,
    select_option,
    wait_for_app,
    wait_for_content,
    wait_for_dataframe_rows,
    wait_for_map_state,
    wait_for_markers,
)

from geoapp import datasource
from geoapp.facilities import load_types

pytestmark = pytest.mark.e2e

BAISHAN = "220600"  # 白山市: 6 county-level units


@pytest.fixture(scope="module")
def data():
    src = datasource.default_source()
    return src.counties(), src.facilities()


def _county_layer(state, county_codes: set[str]) -> dict:
    """The GeoJSON layer of the choropleth: the one whose features are the counties."""
    layers = [v for v in state.vector if set(v["codes"]) and set(v["codes"]) <= county_codes]
    assert layers, (
        f"no map layer made of county features; layers: {[v['codes'][:3] for v in state.vector]}"
    )
    return max(layers, key=lambda v: len(v["codes"]))


def test_landing_page_draws_60_counties_and_all_478_facilities(app_url, page, data):
    counties, facilities = data
    county_codes = set(counties["adcode"])
    assert len(county_codes) == 60 and len(facilities) == 478  # the embedded data

    open_page(page, app_url + "/")
    frame = map_frame(page)
    state = wait_for_markers(frame, page)

    # County shapes vs prefecture borders. Both are SVG <path>s in the overlay pane.
    # Counting DOM paths is fragile: prefecture borders were path.leaflet-interactive
    # too while folium's TopoJson made every feature interactive (60 + 9 = 69), and are
    # plain unfilled paths (fill="none", no class) since layers/counties.py draws them
    # non-interactive. Leaflet's layer model tells them apart whatever the styling:
    # every path's layer keeps its GeoJSON feature, whose adcode is a county's
    # (220602) or a prefecture's (220600). So: the layer whose features are all
    # counties must hold exactly the 60 counties of the data, each drawn (its path is
    # in the document) and filled; any layer of prefecture features is unfilled lines.
    layer = _county_layer(state, county_codes)
    assert len(layer["codes"]) == 60, f"{len(layer['codes'])} county features"
    assert set(layer["codes"]) == county_codes
    assert layer["drawn"] == 60 and layer["filled"] == 60
    prefecture_codes = set(counties["prefecture_adcode"])
    for v in state.vector:
        # the borders: every prefecture (a prefecture failing a mandatory rule is also
        # drawn, filled with dots, by the gap overlay: tests/e2e/test_overview_arrival.py)
        if set(v["codes"]) == prefecture_codes:
            assert v["filled"] == 0, "prefecture borders should be unfilled lines"
    assert state.interactivePaths >= 60  # the counties answer hover and click

    # Facilities: 478 markers in the marker-cluster group(s), each type's count
    # recognisable by its badge's one-character mark (data/facility_types.toml). At
    # the province-wide view every marker is in view, so the numbers on the cluster
    # icons plus the single badges (.geoapp-marker) add up to all 478.
    types = load_types()
    expected_marks = {
        types[k].mark: n for k, n in facilities["facility_type"].value_counts().items()
    }
    assert sum(state.clusters) == len(facilities) == 478, state.clusters
    assert state.marks == expected_marks
    shown = state.clusterIconSum + state.singleMarkers
    assert shown == 478, (
        f"{state.clusterIconSum} in {state.clusterIcons} cluster icons + "
        f"{state.singleMarkers} single markers = {shown}, expected 478"
    )


@pytest.mark.parametrize("name", list(PAGES))
def test_page_loads_nothing_from_other_hosts_and_logs_no_errors(app_url, page, page_log, name):
    url = page_url(app_url, name)
    open_page(page, url)
    # Every request the page makes comes from what it draws: once the maps, charts,
    # images and fonts are drawn, they have been made (and answered or failed).
    wait_for_content(page, has_map=True if name == "overview" else None)

    foreign = page_log.foreign_requests()
    assert not foreign, f"{url} requested {len(foreign)} URL(s) from other hosts:\n" + "\n".join(
        foreign
    )
    page_log.assert_clean(url)
    assert any(u.startswith(app_url) for u in page_log.requests)  # the recorder works


def _check_baishan_view(page, state, counties) -> None:
    baishan = counties[counties["prefecture_adcode"] == BAISHAN]
    assert len(baishan) == 6
    assert state.contains(tuple(baishan.total_bounds)), (
        f"map bounds {state.bounds} do not show all of 白山市 {tuple(baishan.total_bounds)}"
    )
    names = sorted(baishan["name"])
    rows = wait_for_dataframe_rows(
        page, lambda rs: sorted(r.get("县（市、区）") for r in rs) == names
    )
    assert sorted(r["县（市、区）"] for r in rows) == names
    assert {r["市（州）"] for r in rows} == {"白山市"}
    assert metrics(page)["县级单位"] == "6"
    assert query_params(page).get("prefecture") == BAISHAN


def test_prefecture_filter_zooms_the_map_filters_the_table_and_goes_into_the_url(
    app_url, page, data
):
    counties, _ = data
    open_page(page, app_url + "/")
    before = map_state(map_frame(page))
    assert metrics(page)["县级单位"] == "60"

    select_option(page, "市（州）", "白山市")
    page.wait_for_url(f"**prefecture={BAISHAN}**")
    wait_for_app(page)
    after = wait_for_map_state(page, lambda s: s.zoom > before.zoom)

    assert after.zoom > before.zoom
    assert after.area < before.area / 4, (before.bounds, after.bounds)
    _check_baishan_view(page, after, counties)


def test_a_link_with_the_prefecture_opens_the_same_view(app_url, page, data):
    counties, _ = data
    open_page(page, app_url + "/")
    province = map_state(map_frame(page))

    open_page(page, f"{app_url}/?prefecture={BAISHAN}")
    state = wait_for_map_state(page, lambda s: s.zoom > province.zoom)
    _check_baishan_view(page, state, counties)
    assert page.get_by_role("combobox", name="市（州）", exact=True).input_value() == "白山市"
