"""县级填报、市级审核 in a real browser: a county steward submits a register, the
reviewer above approves it, and the leaders' overview changes only after approval.

The app runs on a store and accounts of its own (review on, the default), so the other
browser tests keep the demo data they expect.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from e2e_support import (
    CHANGBAI_REGISTER,
    assert_no_app_error,
    metrics,
    open_page,
    page_url,
    sign_in,
)

PASSWORD = "review-flow-password"
REGISTER = CHANGBAI_REGISTER
ACCEPT = "接受并报送（3 行）"
NAMES = ["长白测试孵化基地", "长白测试工坊", "长白测试辅助性就业机构"]


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    from geoapp import auth, launcher

    state = tmp_path_factory.mktemp("review-var")
    accounts = state / "accounts.toml"
    auth.add_user("cb_steward", PASSWORD, role="steward", area="220623", path=accounts)
    auth.add_user("bs_reviewer", PASSWORD, role="reviewer", area="220600", path=accounts)
    port = launcher.free_port()
    log = state / "streamlit.log"
    env = {
        **os.environ,
        "GEOAPP_STORE": str(state / "geoapp.gpkg"),
        "GEOAPP_ACCOUNTS": str(accounts),
        "PYTHONPATH": str(launcher.ROOT),
    }
    env.pop("GEOAPP_REVIEW", None)
    process = launcher.start_background(
        launcher.streamlit_command(server_port=port), log=log, env=env
    )
    try:
        launcher.wait_healthy(port, process, log, timeout=60)
        yield f"http://127.0.0.1:{port}", state / "geoapp.gpkg"
    finally:
        launcher.stop(process)


def _facility_count(page, app: str) -> str:
    open_page(page, page_url(app, "overview"))
    page.wait_for_selector('[data-testid="stMetric"]', timeout=90_000)
    return metrics(page)["就业服务设施"]


def test_the_overview_changes_only_after_the_prefecture_approves(app, browser):
    from geoapp.store import Store

    app, store_path = app
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    try:
        assert _facility_count(page, app) == "478"
        open_page(page, page_url(app, "data"))
        sign_in(page, "cb_steward", PASSWORD)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').wait_for(
            state="attached", timeout=60_000
        )
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
            files=[{"name": "长白.csv", "mimeType": "text/csv", "buffer": REGISTER}]
        )
        closes = page.get_by_text("本次报送将关闭 长白朝鲜族自治县（220623） 的 2 个设施")
        closes.wait_for(timeout=120_000)
        page.get_by_text("我已核对，确认关闭（删除）这 2 条").click()
        accept = page.get_by_role("button", name=ACCEPT)
        try:
            accept.wait_for(timeout=30_000)
        except Exception:
            page.screenshot(path="/tmp/review_flow_fail.png", full_page=True)
            raise
        page.wait_for_function(
            "() => [...document.querySelectorAll('button')].some("
            f"b => b.innerText.includes('{ACCEPT}') && !b.disabled)",
            timeout=30_000,
        )
        accept.click()
        page.get_by_text("已报送第 1 号").first.wait_for(timeout=60_000)
        assert_no_app_error(page)
        assert _facility_count(page, app) == "478"  # pending: nothing changed for leaders
    finally:
        context.close()

    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = context.new_page()
    try:
        open_page(page, page_url(app, "data"))
        sign_in(page, "bs_reviewer", PASSWORD)
        page.get_by_role("button", name="审核通过").wait_for(timeout=60_000)
        page.get_by_role("button", name="审核通过").click()
        page.get_by_text("第 1 号已审核通过").first.wait_for(timeout=60_000)
        assert_no_app_error(page)
        assert _facility_count(page, app) == "479"  # 2 closed, 3 added in 长白
        current = Store.open(store_path).facilities()
        assert sorted(current.loc[current["adcode"] == "220623", "name"]) == NAMES
    finally:
        context.close()
