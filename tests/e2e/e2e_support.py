"""Helpers of the end-to-end tests: pages, waiting for Streamlit, the map iframe.

Imported by the tests of this folder (pytest puts the folder on ``sys.path``; there is
no ``__init__.py``). Fixtures live in ``conftest.py``.

Every wait is on what a test then asserts: the script run over, the map's Leaflet
paths in its iframe, the charts' SVG, images and fonts loaded, the layout no longer
moving. None waits on network idle (a page keeps its websocket open, and on a loaded
machine late font and health requests can keep the network busy past any timeout)
and none sleeps a fixed time. Timeouts are generous (two cores shared with other work)
but bounded, and a timeout says what was not drawn.
"""

from __future__ import annotations

import ast
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Frame, Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

REPO = Path(__file__).resolve().parents[2]
ENTRY = REPO / "streamlit_app.py"

#: The dashboard's pages: name -> query string that opens a meaningful view.
PAGES: dict[str, str] = {
    "overview": "",
    "gaps": "",
    "progress": "",
    "profile": "county=220623",  # 长白朝鲜族自治县, the demo's deliberate gap
    "data": "",  # signed out: the read-only versions and comparison
    "siting": "prefecture=220600",  # 白山市: the distance map with fewer demand points
}
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
APP_IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
#: What ui.guarded shows when a page body raised (data/i18n.toml error.generic, zh).
GENERIC_ERROR = "页面出错"
#: The running app's log (set by the app_url fixture), quoted when a page breaks.
APP_LOG: Path | None = None
#: A page's script run, a first visit on a cold cache (siting's distances) included.
SCRIPT_TIMEOUT_MS = 90_000
#: What the browser draws after the run: the map in its iframe, charts, images, fonts.
DRAW_TIMEOUT_MS = 60_000
#: Interval of the few waits whose condition is a Python predicate (polled, not slept).
POLL_MS = 250
MAP_IFRAME = "iframe[title*='st_folium'], iframe[src*='st_folium']"
#: Inside a map's iframe: Leaflet loaded and something drawn on the map.
LEAFLET_DRAWN = (
    ".leaflet-container .leaflet-overlay-pane path, .leaflet-container .leaflet-marker-pane > *"
)


# --- pages ---------------------------------------------------------------------------


#: Three new facilities of 长白朝鲜族自治县, as a steward's register (the review flow and
#: the proxy test submit it; 长白's 2 demo facilities are not in it).
CHANGBAI_REGISTER = (
    "机构名称,机构类别,经度,纬度\n"
    "长白测试辅助性就业机构,辅助性就业机构,128.2,41.42\n"
    "长白测试工坊,美丽工坊,128.19,41.43\n"
    "长白测试孵化基地,残疾人创业孵化基地,128.18,41.44\n"
).encode()


def _registered_pages() -> dict[str, dict]:
    """``st.Page("pages/x.py", ...)`` calls of streamlit_app.py: x -> keyword arguments."""
    tree = ast.parse(ENTRY.read_text(encoding="utf-8"))
    found: dict[str, dict] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "Page"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            name = Path(node.args[0].value).stem
            found[name] = {
                k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)
            }
    return found


def page_url_path(name: str) -> str:
    """The page's URL path as registered in streamlit_app.py; skips if not there yet.

    A page exists for these tests when ``pages/<name>.py`` exists *and* the entry
    script registers it with ``st.Page("pages/<name>.py", ...)``; the URL path is its
    ``url_path=`` (Streamlit's default: the file name). The default page is served at
    ``/`` (Streamlit answers its url_path with "page not found").
    """
    if not (REPO / "pages" / f"{name}.py").is_file():
        pytest.skip(f"pages/{name}.py does not exist yet")
    registered = _registered_pages()
    if name not in registered:
        pytest.skip(f"pages/{name}.py exists but streamlit_app.py does not register it yet")
    options = registered[name]
    if options.get("default"):
        return ""
    return options.get("url_path") or name


def page_url(base_url: str, name: str, query: str | None = None) -> str:
    path = page_url_path(name)
    query = PAGES.get(name, "") if query is None else query
    return f"{base_url}/{path}" + (f"?{query}" if query else "")


def known_streamlit_noise(url: str) -> bool:
    """The two 404s Streamlit's client causes itself when a subpage is opened directly.

    Opening ``/gaps`` the client cannot tell the page ``gaps`` from an app served
    under the base path ``/gaps``, so it first tries ``/gaps/_stcore/health`` and
    ``/gaps/_stcore/host-config`` (404), then ``/_stcore/...`` (200). Upstream:
    https://github.com/streamlit/streamlit/issues/7074 (open; still so in 1.67).
    Only exactly those two URLs one level below the root are excused.
    """
    return re.fullmatch(r"https?://[^/]+/[^/?#]+/_stcore/(health|host-config)", url) is not None


def query_params(page: Page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}


# --- Streamlit -----------------------------------------------------------------------


def wait_until(target: Page | Frame, js: str, what: str, *, timeout: float, arg=None) -> None:
    """``target.wait_for_function(js)``; a timeout fails saying ``what`` was not reached."""
    try:
        target.wait_for_function(js, arg=arg, timeout=timeout, polling="raf")
    except PlaywrightTimeout:
        url = target.url if not (isinstance(target, Frame) and target.is_detached()) else "?"
        raise AssertionError(f"{url}: {what} (not within {timeout / 1000:.0f}s)") from None


def wait_for_element(locator: Locator, what: str, *, timeout: float, state="visible") -> None:
    """``locator.wait_for(state=...)``; a timeout fails saying ``what`` was not drawn."""
    try:
        locator.wait_for(state=state, timeout=timeout)
    except PlaywrightTimeout:
        raise AssertionError(
            f"{what} was not {state} within {timeout / 1000:.0f}s ({locator})"
        ) from None


def wait_for_app(page: Page, *, timeout: float = SCRIPT_TIMEOUT_MS) -> None:
    """Wait until the script run is over and the page shows no spinner."""
    wait_for_element(
        page.locator(APP_IDLE),
        "the app with its script run over",
        timeout=timeout,
        state="attached",
    )
    wait_until(
        page,
        '() => !document.querySelector(\'[data-testid="stSpinner"], [data-testid="stSkeleton"]\')',
        "a spinner or skeleton is still shown after the script run",
        timeout=timeout,
    )


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    # The first state after load is "initial", then "running", then "notRunning".
    wait_for_element(
        page.locator('[data-testid="stApp"]:not([data-test-script-state="initial"])'),
        f"{url}: the app's first script run",
        timeout=SCRIPT_TIMEOUT_MS,
        state="attached",
    )
    wait_for_app(page)
    assert_no_app_error(page)


def app_log_tail(chars: int = 4000) -> str:
    if APP_LOG is None or not APP_LOG.is_file():
        return "(no app log)"
    return APP_LOG.read_text(errors="replace")[-chars:]


def assert_no_app_error(page: Page) -> None:
    """Fail with the server's log when the page shows an exception or an error box.

    With ``client.showErrorDetails = "none"`` the browser only sees a redacted message
    (an uncaught exception) or the pages' own generic message (``ui.guarded``); the
    traceback is in the app's log. Other st.error boxes are content (a profile's
    mandatory gap) and pass.
    """
    shown = page.evaluate(
        """(generic) => [
            ...[...document.querySelectorAll('[data-testid="stException"]')].map(e => e.innerText.trim()),
            ...[...document.querySelectorAll('[data-testid="stAlertContentError"]')]
                .map(e => e.innerText.trim()).filter(t => t.includes(generic)),
        ]""",
        GENERIC_ERROR,
    )
    if shown:
        raise AssertionError(
            f"{page.url} shows an error: {shown}\n--- app log (tail) ---\n{app_log_tail()}"
        )


def sign_in(page: Page, name: str, password: str) -> None:
    """Sign in through the sidebar's form (the Chinese page)."""
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator("details summary").filter(has_text="登录").click()
    sidebar.get_by_label("用户名").fill(name)
    sidebar.get_by_label("密码").fill(password)
    sidebar.locator('[data-testid="stFormSubmitButton"] button').click()


def metrics(page: Page) -> dict[str, str]:
    """The st.metric widgets of the page: label -> shown value."""
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('[data-testid="stMetric"]')].map(m => [
            m.querySelector('[data-testid="stMetricLabel"]').innerText.trim(),
            m.querySelector('[data-testid="stMetricValue"]').innerText.trim()]))"""
    )


def dataframe_rows(page: Page, index: int = 0) -> list[dict[str, str]]:
    """Rows of an st.dataframe as rendered (its grid keeps an accessible <table> copy).

    The grid virtualises: only the rows and columns in view are in that table, which is
    enough for short tables such as one prefecture's counties.
    """
    return page.evaluate(
        """(i) => {
            const grid = document.querySelectorAll('[data-testid="stDataFrame"]')[i];
            const rows = [...grid.querySelectorAll('table tr')].map(
                tr => [...tr.querySelectorAll('th, td')].map(c => c.textContent.trim()));
            const [head, ...body] = rows;
            return body.map(r => Object.fromEntries(head.map((h, j) => [h, r[j]])));
        }""",
        index,
    )


def wait_for_dataframe_rows(page: Page, predicate, *, index: int = 0, timeout: float = 15.0):
    """Poll :func:`dataframe_rows` until ``predicate(rows)``: the grid redraws after a rerun."""
    deadline = time.monotonic() + timeout
    rows: list[dict[str, str]] = []
    while time.monotonic() < deadline:
        try:
            rows = dataframe_rows(page, index)
        except Exception:  # the grid is being replaced
            rows = []
        if rows and predicate(rows):
            return rows
        page.wait_for_timeout(POLL_MS)  # a poll of the rows asserted, not a settling sleep
    return rows


def select_option(page: Page, label: str, text: str) -> None:
    """Choose ``text`` in the selectbox labelled ``label``: click, type, Enter."""
    box = page.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.fill(text)
    page.get_by_role("option", name=text, exact=True).wait_for()
    page.keyboard.press("Enter")


# --- the map ---------------------------------------------------------------------------


def map_frame(page: Page, *, timeout: float = DRAW_TIMEOUT_MS / 1000) -> Frame:
    """The st_folium iframe's frame once its Leaflet map has drawn vector paths.

    Waits through the iframe's locator, which follows streamlit-folium replacing the
    iframe after a rerun; a timeout says whether the iframe or its paths were missing.
    """
    deadline = time.monotonic() + timeout
    iframe = page.locator(MAP_IFRAME).first
    paths = iframe.content_frame.locator(".leaflet-container path.leaflet-interactive").first
    while True:
        left = max(1_000.0, (deadline - time.monotonic()) * 1000)
        wait_for_element(iframe, f"{page.url}: the map's iframe", timeout=left, state="attached")
        wait_for_element(
            paths,
            f"{page.url}: the map's county shapes (Leaflet paths)",
            timeout=left,
            state="attached",
        )
        handle = iframe.element_handle(timeout=left)
        frame = handle.content_frame() if handle else None
        if frame is not None and not frame.is_detached():
            try:
                frame.wait_for_function("() => typeof L !== 'undefined'", timeout=left)
                return frame
            except PlaywrightTimeout:
                raise AssertionError(f"{page.url}: Leaflet (L) never loaded in the map") from None
            except Exception:  # the iframe was replaced meanwhile: wait for the new one
                pass
        if time.monotonic() >= deadline:
            raise AssertionError(f"{page.url}: the map's iframe kept being replaced")


# folium names the map variable map_<id>; streamlit-folium renames it to map_div. Either
# way it is a window variable starting with "map_" that holds an L.Map.
_FIND_MAP = """
    const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
    if (!key) throw new Error('no window.map_* variable holds an L.Map');
    const map = window[key];
"""

MAP_STATE_JS = (
    "() => {"
    + _FIND_MAP
    + """
    const b = map.getBounds();
    const vector = [], clusters = [], marks = {};
    map.eachLayer(l => {
        if (l instanceof L.GeoJSON) {
            const parts = l.getLayers().filter(f => f.feature);
            vector.push({
                codes: parts.map(f => String(f.feature.properties.adcode)),
                drawn: parts.filter(f => f._path && f._path.isConnected).length,
                filled: parts.filter(f => f._path && f._path.getAttribute('fill') !== 'none').length,
            });
        } else if (typeof L.MarkerClusterGroup !== 'undefined' && l instanceof L.MarkerClusterGroup) {
            const markers = l.getLayers();
            clusters.push(markers.length);
            for (const m of markers) {  // the badge's one-character mark tells the type
                const html = (m.options.icon && m.options.icon.options.html) || '';
                // the badge is a DOM element (its mark set as text), or markup
                const mark = (typeof html === 'string' ? html.replace(/<[^>]*>/g, '')
                                                       : html.textContent).trim();
                marks[mark] = (marks[mark] || 0) + 1;
            }
        }
    });
    const icons = [...document.querySelectorAll('.marker-cluster')];
    return {
        zoom: map.getZoom(),
        bounds: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()],
        vector, clusters, marks,
        clusterIconSum: icons.reduce((s, e) => s + parseInt(e.textContent, 10), 0),
        clusterIcons: icons.length,
        singleMarkers: document.querySelectorAll('.geoapp-marker').length,
        interactivePaths: document.querySelectorAll('path.leaflet-interactive').length,
    };
}"""
)


@dataclass
class MapState:
    zoom: float
    bounds: tuple[float, float, float, float]  # west, south, east, north
    vector: list[dict] = field(default_factory=list)
    clusters: list[int] = field(default_factory=list)  # markers per cluster group
    marks: dict[str, int] = field(default_factory=dict)  # markers per badge mark (type)
    clusterIconSum: int = 0
    clusterIcons: int = 0
    singleMarkers: int = 0
    interactivePaths: int = 0

    @property
    def area(self) -> float:
        w, s, e, n = self.bounds
        return (e - w) * (n - s)

    def contains(self, bbox: tuple[float, float, float, float]) -> bool:
        w, s, e, n = self.bounds
        return w <= bbox[0] and s <= bbox[1] and e >= bbox[2] and n >= bbox[3]


def map_state(frame: Frame) -> MapState:
    state = frame.evaluate(MAP_STATE_JS)
    state["bounds"] = tuple(state["bounds"])
    return MapState(**state)


def wait_for_map_state(page: Page, predicate, *, timeout: float = 30.0) -> MapState:
    """Poll the map (whose iframe streamlit-folium may rebuild) until ``predicate``."""
    deadline = time.monotonic() + timeout
    last: MapState | None = None
    while time.monotonic() < deadline:
        try:
            last = map_state(map_frame(page, timeout=max(1.0, deadline - time.monotonic())))
            if predicate(last):
                return last
        except AssertionError:
            raise
        except Exception:  # the iframe was being replaced
            pass
        page.wait_for_timeout(POLL_MS)  # a poll of the map state asserted, not a sleep
    raise AssertionError(
        f"the map did not reach the expected state within {timeout}s; last: {last}"
    )


def wait_for_markers(frame: Frame, page: Page, *, timeout: float = 30.0) -> MapState:
    """The map state once the marker clusters have put an icon on the map for each marker.

    Meant for a view holding every marker (the province-wide overview).
    """
    try:
        frame.wait_for_function(
            f"() => {{ let s; try {{ s = ({MAP_STATE_JS})(); }} catch (e) {{ return false; }}"
            " const n = s.clusters.reduce((a, b) => a + b, 0);"
            " return n > 0 && s.clusterIconSum + s.singleMarkers >= n; }",
            timeout=timeout * 1000,
            polling="raf",
        )
    except PlaywrightTimeout:
        raise AssertionError(
            f"the marker icons were not all drawn within {timeout}s; map: {map_state(frame)}"
        ) from None
    return map_state(frame)


# --- layout ------------------------------------------------------------------------------


def content_height(page: Page) -> int:
    """Height the window needs to show the main content without scrolling.

    Streamlit scrolls the main area inside its own container (not the document), so a
    "full page" screenshot shows only the viewport: measure the container instead.
    """
    return page.evaluate(
        """() => {
            const main = document.querySelector('[data-testid="stMain"]') || document.body;
            const block = document.querySelector('[data-testid="stMainBlockContainer"]') || main;
            // The bottom of the last element, in the scrolled container's coordinates,
            // plus a margin (Streamlit's own bottom padding is larger than needed).
            const top = main.getBoundingClientRect().top - main.scrollTop;
            let bottom = 0;
            for (const child of block.querySelectorAll(':scope > * , :scope > * > *')) {
                const r = child.getBoundingClientRect();
                if (r.height > 0) bottom = Math.max(bottom, r.bottom - top);
            }
            return Math.ceil(bottom + 48);
        }"""
    )


# The sizes a resize moves: the content's height, each chart's and each iframe's box.
# Stable when two measurements 100 ms apart agree (Leaflet and plotly redraw on resize).
_LAYOUT_SETTLED_JS = """() => {
    const main = document.querySelector('[data-testid="stMainBlockContainer"]') || document.body;
    const boxes = [...document.querySelectorAll('.js-plotly-plot .main-svg, iframe')]
        .map(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; });
    const now = JSON.stringify([main.scrollHeight, window.innerWidth, boxes]);
    const same = window.__geoappLayout === now;
    window.__geoappLayout = now;
    return same;
}"""


def wait_for_layout(page: Page, *, timeout: float = DRAW_TIMEOUT_MS) -> None:
    """Wait until the layout stops moving (after a resize: charts and the map reflow)."""
    page.evaluate("() => { window.__geoappLayout = null; }")
    try:
        page.wait_for_function(_LAYOUT_SETTLED_JS, timeout=timeout, polling=100)
    except PlaywrightTimeout:
        raise AssertionError(
            f"{page.url}: the layout kept moving for {timeout / 1000:.0f}s"
        ) from None


def expand_to_content(page: Page, width: int, min_height: int, *, max_height: int = 12_000) -> int:
    """Grow the viewport to the content's height (two passes: layout may reflow)."""
    height = min_height
    for _ in range(3):
        page.set_viewport_size({"width": width, "height": height})
        wait_for_layout(page)
        needed = min(max(content_height(page), min_height), max_height)
        if needed <= height:
            break
        height = needed
    return height


# Images decoded or failed (so an onerror has run) and every font in use loaded.
_IMAGES_AND_FONTS_JS = (
    "() => document.fonts.status === 'loaded' && [...document.images].every(i => i.complete)"
)
_PENDING_IMAGES_JS = "() => [...document.images].filter(i => !i.complete).map(i => i.src)"
_PLOTS_DRAWN_JS = "() => [...document.querySelectorAll('.js-plotly-plot')].every(p => p.querySelector('.main-svg'))"


def _wait_images_and_fonts(target: Page | Frame, where: str, timeout: float) -> None:
    try:
        target.wait_for_function(_IMAGES_AND_FONTS_JS, timeout=timeout, polling="raf")
    except PlaywrightTimeout:
        pending = target.evaluate(_PENDING_IMAGES_JS)
        fonts = target.evaluate("() => document.fonts.status")
        raise AssertionError(
            f"{where}: images or fonts not loaded within {timeout / 1000:.0f}s "
            f"(fonts: {fonts}; images pending: {pending[:5]})"
        ) from None


def wait_for_content(
    page: Page, *, has_map: bool | None = None, timeout: float = DRAW_TIMEOUT_MS
) -> None:
    """Wait for what a page draws after its script run: maps, charts, images, fonts.

    ``has_map=True`` requires a map; by default every map iframe the page holds is
    waited for. Each map must show drawn shapes or markers; each plotly chart its SVG;
    the page and every map iframe their images and fonts.
    """
    wait_for_app(page)
    iframes = page.locator(MAP_IFRAME)
    if has_map:
        wait_for_element(
            iframes.first, f"{page.url}: the map's iframe", timeout=timeout, state="attached"
        )
    for i in range(iframes.count()):
        wait_for_element(
            iframes.nth(i).content_frame.locator(LEAFLET_DRAWN).first,
            f"{page.url}: map {i + 1}'s shapes or markers",
            timeout=timeout,
            state="attached",
        )
    wait_until(page, _PLOTS_DRAWN_JS, "a plotly chart without its SVG", timeout=timeout)
    _wait_images_and_fonts(page, page.url, timeout)
    for i in range(iframes.count()):
        handle = iframes.nth(i).element_handle(timeout=timeout)
        frame = handle.content_frame() if handle else None
        if frame is not None:
            _wait_images_and_fonts(frame, f"{page.url} map {i + 1}", timeout)
    wait_for_app(page)
