"""Fixtures of the end-to-end tests: the real app, a headless Chromium, recorded pages.

* ``app_url`` (session): the dashboard started exactly as ``geoapp run`` starts it
  (``launcher.streamlit_command``, i.e. with ``streamlit_config.toml``) on a free port;
  stopped, with its children, at the end of the session whatever happens.
* ``browser`` (session): Debian's ``/usr/bin/chromium`` driven by Playwright
  (Playwright's own browser download is not used; ``GEOAPP_CHROMIUM`` overrides the
  path). Missing Chromium is a failure, not a skip: ``make test`` installs it.
* ``page``: a fresh context and page (1366x768, zh-CN) whose every request, failed
  request, 4xx/5xx response, console error and uncaught page error is kept in
  ``page_log`` (same test).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import e2e_support
import pytest
from e2e_support import LOCAL_HOSTS, known_streamlit_noise

CHROMIUM = Path(os.environ.get("GEOAPP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT = 60.0
VIEWPORT = {"width": 1366, "height": 768}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test of this folder drives the browser: mark it e2e."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


# --- the app -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from geoapp import launcher

    port = launcher.free_port()
    log_path = tmp_path_factory.mktemp("app") / "streamlit.log"
    e2e_support.APP_LOG = log_path
    process = launcher.start_background(launcher.streamlit_command(server_port=port), log=log_path)
    try:
        try:
            launcher.wait_healthy(port, process, log_path, timeout=STARTUP_TIMEOUT)
        except RuntimeError as exc:
            pytest.fail(str(exc))
        yield f"http://127.0.0.1:{port}"
    finally:
        launcher.stop(process)


# --- the browser -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: the end-to-end tests need Debian's chromium "
            "(Playwright's own browser download is not used). Install it with "
            "`bash scripts/setup-system.sh` (or run `make test`, which does), or point "
            "GEOAPP_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="geoapp-e2e-chromium-") as tmp:
        # A fresh profile for the session: nothing from a user's Chromium leaks in.
        args = [*CHROMIUM_ARGS, f"--disk-cache-dir={tmp}/cache"]
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=args, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class PageLog:
    """What a page did on the network and in its console."""

    requests: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)
    bad_status: list[tuple[int, str]] = field(default_factory=list)  # (status, url)
    console_errors: list[tuple[str, str]] = field(default_factory=list)  # (text, source url)

    def foreign_requests(self) -> list[str]:
        """Requests to any host but the app's own (data:, blob: and about: excluded)."""
        out = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme in ("data", "blob", "about"):
                continue
            if (parts.hostname or "") not in LOCAL_HOSTS:
                out.append(url)
        return sorted(set(out))

    def problems(self) -> dict[str, list[str]]:
        """Failed requests, 4xx/5xx responses and console errors, as readable lines.

        Streamlit's own two 404s on a directly opened subpage (and the console lines
        they cause) are left out: see e2e_support.known_streamlit_noise.
        """
        return {
            "failed requests": [f"{u} ({why})" for u, why in self.failed],
            "4xx/5xx responses": [
                f"{st} {u}"
                for st, u in self.bad_status
                if not (st == 404 and known_streamlit_noise(u))
            ],
            "console errors": [
                f"{text} @ {src}"
                for text, src in self.console_errors
                if not (text.startswith("Failed to load resource") and known_streamlit_noise(src))
            ],
        }

    def assert_clean(self, where: str) -> None:
        found = {k: v for k, v in self.problems().items() if v}
        assert not found, f"{where}:\n" + "\n".join(
            f"{kind}:\n  " + "\n  ".join(lines) for kind, lines in found.items()
        )

    def clear(self) -> None:
        for items in (self.requests, self.failed, self.bad_status, self.console_errors):
            items.clear()


@pytest.fixture
def page_log() -> PageLog:
    return PageLog()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def context(browser, request: pytest.FixtureRequest, page_log: PageLog) -> Iterator:
    ctx = browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
    )
    ctx.set_default_timeout(30_000)
    # On the context, so that requests of the map's iframe and of workers count too.
    ctx.on("request", lambda r: page_log.requests.append(r.url))
    ctx.on("requestfailed", lambda r: page_log.failed.append((r.url, r.failure or "")))
    ctx.on(
        "response",
        lambda r: page_log.bad_status.append((r.status, r.url)) if r.status >= 400 else None,
    )
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context, request: pytest.FixtureRequest, page_log: PageLog, tmp_path: Path) -> Iterator:
    page = context.new_page()
    page.on("websocket", lambda ws: page_log.requests.append(ws.url))
    page.on(
        "console",
        lambda m: (
            page_log.console_errors.append((m.text, m.location.get("url", "")))
            if m.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda e: page_log.console_errors.append((f"uncaught: {e}", page.url)))
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed and not page.is_closed():
        shot = tmp_path / "failure.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
            print(f"\nscreenshot of the failing page: {shot}")
        except Exception as exc:  # a diagnostic only
            print(f"\n(no failure screenshot: {exc})")
