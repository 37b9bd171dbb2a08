"""Accessibility: an axe-core audit of every page (and of the map's iframe), and the
sidebar filter reached and used with the keyboard alone.

axe-core is vendored in tests/vendor/axe-core/ (version and hashes in its
MANIFEST.json); it is injected into the pages under test, never served by the app.
Violations of impact "serious" or "critical" fail; all violations are printed (run
with ``-s`` to see the moderate and minor ones too).
"""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from e2e_support import (
    PAGES,
    REPO,
    expand_to_content,
    map_frame,
    metrics,
    open_page,
    page_url,
    query_params,
    wait_for_app,
    wait_for_content,
)

from geoapp import datasource

pytestmark = pytest.mark.e2e

AXE_DIR = REPO / "tests" / "vendor" / "axe-core"
AXE = AXE_DIR / "axe.min.js"
BLOCKING = {"serious", "critical"}
VIEWPORT_WIDTH = 1366

#: axe rules switched off, by id, each with the element and the reason. Empty: every
#: rule runs. (Before adding one here, try streamlit_config.toml: the caption contrast
#: of Streamlit's default theme, say, is fixed there with theme.textColor.)
EXCLUDED_RULES: dict[str, str] = {}


def test_vendored_axe_matches_its_manifest():
    manifest = json.loads((AXE_DIR / "MANIFEST.json").read_text(encoding="utf-8"))
    digest = base64.b64encode(hashlib.sha256(AXE.read_bytes()).digest()).decode()
    assert manifest["files"]["axe.min.js"] == f"sha256-{digest}"
    assert AXE.read_text(encoding="utf-8").startswith(f"/*! axe v{manifest['version']}")
    assert (AXE_DIR / "LICENSE").is_file()


def run_axe(target) -> list[dict]:
    """axe.run() in ``target`` (a Page or a Frame); the violations, compactly."""
    if not target.evaluate("() => typeof window.axe !== 'undefined'"):
        target.add_script_tag(path=str(AXE))
    return target.evaluate(
        """async (excluded) => {
            const rules = Object.fromEntries(excluded.map(id => [id, {enabled: false}]));
            const r = await axe.run(document, {resultTypes: ['violations'], iframes: false, rules});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target.join(' '), html: n.html.slice(0, 160),
                                          summary: n.failureSummary}))}));
        }""",
        list(EXCLUDED_RULES),
    )


def describe(where: str, violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(
            f"[{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} node(s)) - {where}"
        )
        for n in v["nodes"][:10]:
            summary = " / ".join(s.strip() for s in (n["summary"] or "").splitlines()[1:3])
            lines.append(f"    {n['target']}\n      {n['html']}\n      {summary}")
    return "\n".join(lines)


@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_no_serious_or_critical_violation(app_url, page, name):
    url = page_url(app_url, name)
    open_page(page, url)
    wait_for_content(page, has_map=True if name == "overview" else None)
    # All content on screen: axe leaves the colour contrast of scrolled-away text
    # undecided ("incomplete"), so grow the window to the content's height.
    expand_to_content(page, VIEWPORT_WIDTH, 768)
    wait_for_content(page)

    results = {"page": run_axe(page)}
    # Component iframes (the st_folium map) are separate documents: audit them too.
    for i, frame in enumerate(
        f for f in page.frames if f != page.main_frame and f.url.startswith(app_url)
    ):
        results[f"iframe {i} {frame.url.split('?')[0].removeprefix(app_url)}"] = run_axe(frame)

    report = "\n".join(describe(f"{name} {where}", v) for where, v in results.items() if v)
    print(f"\naxe on {url}:\n{report or '  no violations'}")
    blocking = {where: [v for v in vs if v["impact"] in BLOCKING] for where, vs in results.items()}
    blocking = {k: v for k, v in blocking.items() if v}
    assert not blocking, f"axe: serious/critical violations on {url}:\n" + "\n".join(
        describe(f"{name} {where}", v) for where, v in blocking.items()
    )


FILTER = "市（州）"
MAX_TABS = 25


def test_the_prefecture_filter_is_reached_and_used_by_keyboard_alone(app_url, page):
    counties = datasource.default_source().counties()
    open_page(page, app_url + "/")
    map_frame(page)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")

    presses, focused = 0, None
    for presses in range(1, MAX_TABS + 1):  # noqa: B007 - reported after the loop
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => { const e = document.activeElement;"
            " return e ? [e.tagName, e.getAttribute('role'), e.getAttribute('aria-label')] : null; }"
        )
        if focused and focused[2] == FILTER:
            break
    assert focused and focused[2] == FILTER, (
        f"the {FILTER} filter was not focused after {MAX_TABS} Tab presses; last: {focused}"
    )
    assert focused[:2] == ["INPUT", "combobox"], focused
    print(f"\n{FILTER} filter focused after {presses} Tab press(es)")

    # Open the list and move to the first prefecture ("全部" is the current choice).
    chosen = None
    for _ in range(4):
        page.keyboard.press("ArrowDown")
        chosen = page.evaluate(
            """() => { const box = document.activeElement;
                const id = box.getAttribute('aria-activedescendant');
                const opt = id && document.getElementById(id);
                return opt ? opt.textContent.trim() : null; }"""
        )
        if chosen and chosen != "全部":
            break
    assert chosen and chosen != "全部", (
        f"ArrowDown did not move to a prefecture (active option: {chosen})"
    )
    page.keyboard.press("Enter")

    code = counties.loc[counties["prefecture"] == chosen, "prefecture_adcode"].iloc[0]
    page.wait_for_url(f"**prefecture={code}**")
    wait_for_app(page)
    page.wait_for_function(
        "(n) => [...document.querySelectorAll('[data-testid=\"stMetricValue\"]')].some(e => e.innerText.trim() === n)",
        arg=str((counties["prefecture"] == chosen).sum()),
    )
    assert query_params(page)["prefecture"] == code
    assert metrics(page)["县级单位"] == str((counties["prefecture"] == chosen).sum())
    assert page.get_by_role("combobox", name=FILTER, exact=True).input_value() == chosen
