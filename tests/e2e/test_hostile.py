"""Hostile names, addresses and file names through every page, in a real browser.

A register whose names and addresses are template syntax, script, markup and odd
Unicode is accepted into a store of its own, and the dashboard is started on that store
(and on accounts of its own). Every page is opened; on each, and in the map's iframe:

* no dialog opens and no payload ran (each one would set ``window.__pwned``);
* no element the payloads would inject (``[data-pwned]``) exists;
* the server executed no template (``{{ lipsum ... }}`` would create a file);
* the page shows no error and the map draws its 60 counties;
* a hostile facility's popup shows its name literally.

A steward then signs in and uploads the same register on the data page: the preview,
its map and its tooltips must hold too.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_support import (
    assert_no_app_error,
    map_frame,
    open_page,
    page_url,
    wait_for_content,
    wait_for_element,
)

PASSWORD = "correct horse battery staple"
STEWARD = "hostile_steward"


def _payloads(canary: Path) -> list[str]:
    """One hostile text per kind of hole; each would set window.__pwned if it ran."""
    return [
        "X{{7*7}}Y",
        "A{% raw %}B{% endraw %}",
        "C{#D",
        "{{ lipsum.__globals__.os.open(" + repr(str(canary)) + ", 65) }}",
        "${window.__pwned='template-literal'}",
        "`);window.__pwned='backtick';(`",
        "\"');window.__pwned='quote';//",
        "</script><script>window.__pwned='script'</script>",
        "<img src=x data-pwned=1 onerror=\"window.__pwned='img'\">",
        "[link](javascript:window.__pwned='md') :material/lock: $x^2$ <b data-pwned=1>b</b>",
        "line\u2028separator\u2029paragraph",
        "\u202etxet-ltr\u202c zero\u200bwidth\u200d",
        "长" * 10_000,
    ]


FILE_NAME = "{{7*7}}<img src=x data-pwned=1 onerror=window.__pwned='file'>`${1}`.csv"


def _register(payloads: list[str]) -> bytes:
    """The embedded demo register in Chinese headers; the hostile texts replace the names
    and addresses of the first auxiliary employment institutions (one per county)."""
    from geoapp import i18n
    from geoapp.paths import DEMO_DIR

    with open(DEMO_DIR / "220000_facilities.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    seen: set[str] = set()
    hostile = iter(payloads)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["编号", "名称", "类型", "市（州）", "县（市、区）", "地址", "经度", "纬度"])
    for row in rows:
        name, address = row["name"], row["address"]
        if row["facility_type"] == "auxiliary_institution" and row["adcode"] not in seen:
            text = next(hostile, None)
            if text is not None:
                seen.add(row["adcode"])
                name, address = text, text[::-1]
        label = i18n.t(f"facility_type.{row['facility_type']}", "zh")
        writer.writerow(
            [
                row["facility_id"],
                name,
                label,
                row["prefecture"],
                row["county"],
                address,
                row["lon"],
                row["lat"],
            ]
        )
    assert next(hostile, None) is None, "more payloads than counties with an institution"
    return ("\ufeff" + out.getvalue()).encode("utf-8")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A store whose current facilities carry the payloads, and the app started on it."""
    from geoapp import auth, launcher
    from geoapp.datasource import EmbeddedSource
    from geoapp.store import Store

    state = tmp_path_factory.mktemp("hostile-var")
    canary = state / "template-ran"
    payloads = _payloads(canary)
    data = _register(payloads)
    accounts = state / "accounts.toml"
    auth.add_user(STEWARD, PASSWORD, role="steward", path=accounts)
    user = auth.verify(STEWARD, PASSWORD, path=accounts)
    env_saved = os.environ.get("GEOAPP_ACCOUNTS")
    os.environ["GEOAPP_ACCOUNTS"] = str(accounts)
    os.environ["GEOAPP_REVIEW"] = "off"  # the payloads must be current data, not pending
    try:
        store = Store.open(state / "geoapp.gpkg", region="220000", seed=EmbeddedSource("220000"))
        result = store.upload(
            data,
            file_name=FILE_NAME,
            dataset="facilities",
            as_of="2026-09-30",
            user=user,
            counties=EmbeddedSource("220000").counties(),
        )
    finally:
        os.environ.pop("GEOAPP_REVIEW", None)
        if env_saved is None:
            os.environ.pop("GEOAPP_ACCOUNTS", None)
        else:
            os.environ["GEOAPP_ACCOUNTS"] = env_saved
    names = set(store.facilities()["name"])
    assert result.version_id is not None
    assert set(payloads) <= names, sorted(set(payloads) - names)

    port = launcher.free_port()
    log = state / "streamlit.log"
    env = {
        **os.environ,
        "GEOAPP_STORE": str(state / "geoapp.gpkg"),
        "GEOAPP_ACCOUNTS": str(accounts),
        "PYTHONPATH": str(launcher.ROOT),
    }
    process = launcher.start_background(
        launcher.streamlit_command(server_port=port), log=log, env=env
    )
    try:
        launcher.wait_healthy(port, process, log, timeout=60)
        yield {
            "url": f"http://127.0.0.1:{port}",
            "payloads": payloads,
            "canary": canary,
            "register": data,
            "log": log,
        }
    finally:
        launcher.stop(process)


_PWNED_JS = """() => ({
    pwned: window.__pwned === undefined ? null : String(window.__pwned),
    injected: document.querySelectorAll('[data-pwned]').length,
})"""


def _assert_unharmed(page, dialogs: list[str], hostile: dict, where: str) -> None:
    assert not dialogs, f"{where}: a dialog opened: {dialogs}"
    for frame in page.frames:
        if frame.is_detached():
            continue
        try:
            state = frame.evaluate(_PWNED_JS)
        except Exception:  # a frame navigating away meanwhile
            continue
        assert state == {"pwned": None, "injected": 0}, f"{where} ({frame.url}): {state}"
    assert not hostile["canary"].exists(), f"{where}: the server executed a template"
    assert "TemplateSyntaxError" not in hostile["log"].read_text(errors="replace"), where


def _watch_dialogs(page) -> list[str]:
    dialogs: list[str] = []

    def dismiss(dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", dismiss)
    return dialogs


_POPUP_TEXTS_JS = """async (names) => {
    const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
    const map = window[key];
    const found = {};
    const markers = [];
    map.eachLayer(l => {
        if (l instanceof L.MarkerClusterGroup) { l.getLayers().forEach(m => markers.push(m)); }
        else if (l instanceof L.Marker) { markers.push(l); }
    });
    for (const m of markers) {
        const title = m.options.title;
        if (!names.includes(title) || title in found) { continue; }
        const content = m.getPopup() && m.getPopup().getContent();
        const node = typeof content === 'function' ? content(m) : null;
        found[title] = node ? node.querySelector('b').textContent : null;
    }
    return found;
}"""


MAP_PAGES = {"overview", "siting"}
PAGES = ["overview", "gaps", "progress", "profile", "data", "siting"]


@pytest.mark.parametrize("name", PAGES)
def test_hostile_texts_stay_text_on_every_page(hostile, page, name):
    dialogs = _watch_dialogs(page)
    open_page(page, page_url(hostile["url"], name))
    if name in MAP_PAGES:
        frame = map_frame(page)
        counties = frame.evaluate(
            "() => document.querySelectorAll('.leaflet-container path.leaflet-interactive').length"
        )
        assert counties >= 60, f"{name}: only {counties} shapes drawn"
    # Every image loaded or failed (so an injected onerror would have run) in the page
    # and the map, before looking for what a payload would have done.
    wait_for_content(page)
    assert_no_app_error(page)
    _assert_unharmed(page, dialogs, hostile, name)
    # no table offers its own raw CSV download (client.disableDataExport)
    tables = page.locator('[data-testid="stDataFrame"]')
    shown = [tables.nth(i) for i in range(tables.count()) if tables.nth(i).is_visible()]
    if shown:
        shown[0].hover()
        wait_for_element(
            page.locator('[data-testid="stElementToolbar"] button').first,
            f"{name}: the table's toolbar on hover",
            timeout=30_000,
        )
        labels = page.evaluate(
            """() => [...document.querySelectorAll('[data-testid="stElementToolbar"] button')]
                .map(b => b.getAttribute('aria-label') || b.innerText)"""
        )
        assert not [x for x in labels if "ownload" in x or "下载" in x], labels


def test_overview_popups_show_each_hostile_name_literally(hostile, page):
    dialogs = _watch_dialogs(page)
    open_page(page, page_url(hostile["url"], "overview"))
    frame = map_frame(page)
    names = hostile["payloads"]
    shown = frame.evaluate(_POPUP_TEXTS_JS, names)
    assert shown == {n: n for n in names}
    # the marker's text reaches the DOM too, as an attribute value, never as markup
    frame.evaluate(
        """() => {
            const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
            const map = window[key];
            map.eachLayer(l => { if (l instanceof L.MarkerClusterGroup) { l.getLayers().forEach(m => {
                if (m.getPopup()) { m.openPopup(); m.closePopup(); } }); } });
        }"""
    )
    _assert_unharmed(page, dialogs, hostile, "overview after opening popups")


def test_hostile_region_in_the_url_is_refused_without_creating_a_file(hostile, page):
    before = set(os.listdir(Path(hostile["log"]).parent))
    dialogs = _watch_dialogs(page)
    for value in ("x123", "../../etc/passwd", "{{7*7}}", "<img src=x data-pwned=1>", "999999"):
        from urllib.parse import quote

        page.goto(f"{hostile['url']}/?region={quote(value)}")
        page.wait_for_selector(
            '[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000
        )
        alert = page.locator('[data-testid="stAlertContentError"]').first.inner_text()
        assert "220000" in alert, alert
        assert "49" not in alert.replace("220000", "")
    after = set(os.listdir(Path(hostile["log"]).parent))
    assert after == before, sorted(after - before)
    _assert_unharmed(page, dialogs, hostile, "region parameter")


def test_steward_upload_preview_of_the_hostile_register(hostile, page, tmp_path):
    dialogs = _watch_dialogs(page)
    open_page(page, page_url(hostile["url"], "data"))
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.locator("details summary").filter(has_text="登录").click()
    sidebar.get_by_label("用户名").fill(STEWARD)
    sidebar.get_by_label("密码").fill(PASSWORD)
    sidebar.locator('[data-testid="stFormSubmitButton"] button').click()
    page.wait_for_selector(
        '[data-testid="stFileUploaderDropzoneInput"]', state="attached", timeout=60_000
    )
    upload = tmp_path / "register.csv"
    upload.write_bytes(hostile["register"])
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(
        files=[{"name": FILE_NAME, "mimeType": "text/csv", "buffer": hostile["register"]}]
    )
    # the preview: its counts and its map with one tooltip per facility
    page.wait_for_selector('[data-testid="stMetric"]', timeout=90_000)
    frame = map_frame(page, timeout=90)
    tooltips = frame.evaluate(
        """() => {
            const key = Object.keys(window).find(k => k.startsWith('map_') && window[k] instanceof L.Map);
            const out = [];
            window[key].eachLayer(l => {
                if (l instanceof L.CircleMarker && l.getTooltip()) {
                    const c = l.getTooltip().getContent();
                    out.push(typeof c === 'function' ? c(l).textContent : String(c));
                }
            });
            return out;
        }"""
    )
    names = {t.rsplit(" · ", 1)[0] for t in tooltips}
    assert set(hostile["payloads"]) <= names
    assert_no_app_error(page)
    _assert_unharmed(page, dialogs, hostile, "upload preview")
