"""Benchmark: the map overview against the same page written naively.

Starts two Streamlit servers on free loopback ports, this app (``python -m geoapp.cli run
--port N``) and ``bench/naive_app.py`` (raw GeoJSON from the GeoPackage, one
``folium.Marker`` per facility, ``st_folium`` with its defaults), plus the floor,
``bench/floor_app.py`` (one empty ``st_folium`` map: what any Streamlit map page pays),
and measures, with the median of several repetitions, interleaved (ours, naive, floor,
ours, ...) so that a change of load on this shared machine falls on all three alike:

1. **load**: headless Chromium, a fresh browser context each time: from navigation start
   until, inside the st_folium iframe, the 60 county paths and the facility markers (or
   their clusters) are in the map;
2. **filter redraw**: after picking 吉林市 in the sidebar, from the click on the option
   until the map shows the prefecture (zoomed in, counties and markers drawn);
3. **pan/zoom reruns**: websocket messages the page sends to the server while the user
   drags the map and zooms with the wheel (each one a script rerun), once per app;
4. **server rerun**: ``AppTest.run()`` after a prefecture change, caches warm;
5. **payload**: bytes of the map script the page ships, and of its county layer.

Prints a table with the ratios (naive / ours) and writes the figures as JSON to
``bench/results/`` (not tracked). Both servers are stopped at the end, also on error.
Run from anywhere (about two minutes)::

    python bench/bench_map.py [--repeat 5] [--server-repeat 8]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from geoapp import launcher  # noqa: E402  (after the sys.path line above)

RESULTS_DIR = ROOT / "bench" / "results"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1366, "height": 900}
PREFECTURE = ("220200", "吉林市")
N_COUNTIES = 60

# Evaluated in the top page: performance.now() (ms since navigation start) once an
# st_folium iframe whose map is zoomed to at least ``minZoom`` has the county paths and
# ``markers`` marker elements (icons or clusters), else false.
READY_JS = """
(arg) => {
    for (const frame of document.querySelectorAll('iframe')) {
        let w;
        try { w = frame.contentWindow; } catch (e) { continue; }
        if (!w || !w.map || !w.document) { continue; }
        if (w.map.getZoom() < arg.minZoom) { continue; }
        const d = w.document;
        const paths = d.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive').length;
        const markers = d.querySelectorAll('.leaflet-marker-pane > *').length;
        if (paths >= arg.paths && markers >= arg.markers) { return performance.now(); }
    }
    return false;
}
"""
MAP_ZOOM_JS = """
() => { for (const f of document.querySelectorAll('iframe')) {
    try { if (f.contentWindow.map) { return f.contentWindow.map.getZoom(); } } catch (e) {} }
    return null; }
"""
# A point of the map on a county and off every marker, so that dragging pans the map.
FREE_POINT_JS = """
() => { for (let y = 150; y < 450; y += 23) { for (let x = 120; x < 600; x += 29) {
    const el = document.elementFromPoint(x, y);
    if (el && el.tagName.toLowerCase() === 'path') { return [x, y]; } } }
    return [null, null]; }
"""
ARM_CLICK_JS = """
() => { window.__benchClick = null; window.__benchArmed = true;
    if (!window.__benchListening) {
        window.__benchListening = true;
        document.addEventListener('click', () => {
            if (window.__benchArmed) { window.__benchClick = performance.now(); window.__benchArmed = false; }
        }, true);
    } }
"""


# --- servers -----------------------------------------------------------------------------


free_port, stop = launcher.free_port, launcher.stop


def start(cmd: list[str], *, cwd: Path, log: Path, env: dict | None = None) -> subprocess.Popen:
    return launcher.start_background(cmd, cwd=cwd, log=log, env=env)


def wait_ready(port: int, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    launcher.wait_healthy(port, proc, log, timeout=timeout)


def start_servers(stack: ExitStack, tmp: Path) -> dict[str, int]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    ours_port = free_port()
    ours = start(
        [sys.executable, "-m", "geoapp.cli", "run", "--port", str(ours_port)],
        cwd=ROOT,
        log=tmp / "ours.log",
        env=env,
    )
    stack.callback(stop, ours)
    ports = {"ours": ours_port}
    for name in ("naive", "floor"):
        ports[name] = free_port()
        process = _start_plain(name, ports[name], tmp, env)
        stack.callback(stop, process)
        wait_ready(ports[name], process, tmp / f"{name}.log")
    wait_ready(ours_port, ours, tmp / "ours.log")
    return ports


def _start_plain(name: str, port: int, tmp: Path, env: dict) -> subprocess.Popen:
    """``streamlit run bench/<name>_app.py`` with Streamlit's defaults."""
    # Streamlit serves ./static next to the entry script: give the app the same files.
    app_dir = tmp / name
    app_dir.mkdir()
    shutil.copy(ROOT / "bench" / f"{name}_app.py", app_dir / f"{name}_app.py")
    (app_dir / "static").symlink_to(ROOT / "static", target_is_directory=True)
    return start(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(app_dir / f"{name}_app.py"),
            f"--server.port={port}",
            "--server.address=127.0.0.1",
            "--server.headless=true",
            "--server.enableStaticServing=true",
            "--server.fileWatcherType=none",
            "--browser.gatherUsageStats=false",
            "--client.toolbarMode=viewer",
        ],
        cwd=ROOT,
        log=tmp / f"{name}.log",
        env=env,
    )


# --- the browser -------------------------------------------------------------------------


def browser_run(
    browser, port: int, *, markers: int, paths: int = N_COUNTIES, pan: bool = False
) -> dict[str, float]:
    """One fresh context: load, then pick the prefecture (or drag and zoom); times in ms.
    With ``paths=0`` (the floor: a map and nothing on it), the load only."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        sent: list[float] = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(time.monotonic())))
        page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
        load = page.wait_for_function(
            READY_JS,
            arg={"minZoom": 0, "paths": paths, "markers": markers},
            polling="raf",
            timeout=180_000,
        ).json_value()
        if not paths:
            return {"load_ms": load}
        time.sleep(1.5)  # let the naive app's first value-rerun settle
        if pan:
            return {"load_ms": load, "messages_on_pan_zoom": _pan_and_zoom(page, sent)}

        zoom_before = page.evaluate(MAP_ZOOM_JS)
        # the prefecture filter by its label (ours shows the policy choice above it)
        page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(
            has_text="市（州）"
        ).first.click()
        page.evaluate(ARM_CLICK_JS)
        page.get_by_role("option", name=PREFECTURE[1], exact=True).click()
        done = page.wait_for_function(
            READY_JS,
            arg={"minZoom": zoom_before + 0.2, "paths": N_COUNTIES, "markers": markers},
            polling="raf",
            timeout=180_000,
        ).json_value()
        return {"load_ms": load, "redraw_ms": done - page.evaluate("window.__benchClick")}
    finally:
        context.close()


def _pan_and_zoom(page, sent: list[float]) -> int:
    """Drag the map and zoom with the wheel; the messages the page sent meanwhile."""
    frame = page.locator("iframe").last
    box = frame.bounding_box()
    x, y = frame.element_handle().content_frame().evaluate(FREE_POINT_JS)
    if x is None:
        x, y = box["width"] / 2, min(box["height"], 500) / 2
    sent.clear()
    page.mouse.move(box["x"] + x, box["y"] + y)
    page.mouse.down()
    page.mouse.move(box["x"] + x + 120, box["y"] + y + 60, steps=8)
    page.mouse.up()
    page.mouse.wheel(0, -300)
    # streamlit-folium reports a move 250 ms after it ends; a busy page (the naive one
    # redraws 10 MB of polygons and 478 markers on a zoom) takes seconds more: wait
    # 12 s, or until 2 s after the last message
    start = time.monotonic()
    while time.monotonic() - start < 12 and not (sent and time.monotonic() - sent[-1] > 2):
        page.wait_for_timeout(250)
    return len(sent)


def browser_figures(ports: dict[str, int], repeat: int, n_facilities: int) -> dict[str, dict]:
    from playwright.sync_api import sync_playwright

    # what each page draws: ours clusters its markers, the naive page has one icon each,
    # the floor draws nothing
    drawn = {"ours": (N_COUNTIES, 1), "naive": (N_COUNTIES, n_facilities), "floor": (0, 0)}
    runs: dict[str, list[dict]] = {name: [] for name in ports}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            # the first load warms each server's caches and is not counted
            pans = {
                name: browser_run(
                    browser,
                    port,
                    paths=drawn[name][0],
                    markers=drawn[name][1],
                    pan=bool(drawn[name][0]),
                )
                for name, port in ports.items()
            }
            # interleaved, so that a change of load on the machine falls on every page alike
            for _ in range(repeat):
                for name, port in ports.items():
                    paths, markers = drawn[name]
                    runs[name].append(browser_run(browser, port, paths=paths, markers=markers))
                    print(f"  {name}: {runs[name][-1]}", flush=True)
        finally:
            browser.close()
    out: dict[str, dict] = {}
    for name, done in runs.items():
        out[name] = {"load_ms": statistics.median(r["load_ms"] for r in done), "runs": done}
        if drawn[name][0]:
            out[name]["redraw_ms"] = statistics.median(r["redraw_ms"] for r in done)
            out[name]["messages_on_pan_zoom"] = pans[name]["messages_on_pan_zoom"]
    return out


# --- the server side ---------------------------------------------------------------------


def server_figures(entry: Path, repeat: int) -> dict[str, float]:
    """Median ``AppTest.run()`` after a prefecture change, and the map payload."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(entry), default_timeout=300)
    at.run()
    at.run()  # caches warm
    times = []
    for i in range(repeat):
        at.sidebar.selectbox(key="filter_prefecture").set_value(["220200", "220600"][i % 2])
        t0 = time.perf_counter()
        at.run()
        times.append((time.perf_counter() - t0) * 1000)
        if at.exception:
            raise RuntimeError(f"{entry.name}: {at.exception}")
    (component,) = at.get("component_instance")
    script = json.loads(component.proto.json_args)["script"]
    return {
        "rerun_ms": statistics.median(times),
        "rerun_runs_ms": times,
        "script_bytes": len(script.encode()),
        "county_layer_bytes": county_layer_bytes(script),
    }


def county_layer_bytes(script: str) -> int:
    """Bytes of the county data in a map script: the TopoJSON (ours) or the GeoJSON (naive)."""
    ours = re.search(r"var topo_json_\w+_data = (.*?);\n", script)
    if ours:
        return len(ours.group(1).encode())
    naive = re.search(r"geo_json_\w+_add\((\{.*?\})\);\n", script)
    if naive:
        return len(naive.group(1).encode())
    raise ValueError("no county layer found in the map script")


# --- report --------------------------------------------------------------------------------


def report(figures: dict) -> str:
    ours, naive = figures["ours"], figures["naive"]
    rows = [
        ("(1) load until counties + markers drawn", "load_ms", "ms"),
        ("(2) redraw after picking 吉林市", "redraw_ms", "ms"),
        ("    websocket messages on pan + zoom", "messages_on_pan_zoom", ""),
        ("(3) server rerun on a filter change", "rerun_ms", "ms"),
        ("(4) map script shipped", "script_bytes", "B"),
        ("    of which the county layer", "county_layer_bytes", "B"),
    ]
    lines = [f"{'':44}{'ours':>12}{'naive':>12}{'naive/ours':>12}"]
    for label, key, unit in rows:
        a, b = ours[key], naive[key]
        ratio = f"{b / a:.1f}x" if a else ("—" if not b else "∞")
        cells = [_cell(v, unit) for v in (a, b)]
        lines.append(f"{label:44}{cells[0]:>12}{cells[1]:>12}{ratio:>12}")
    floor = figures["floor"]["load_ms"]
    lines.append(
        f"floor (an empty st_folium map, nothing else): load {floor:,.0f} ms; "
        f"ours {ours['load_ms'] / floor:.2f}x the floor, naive {naive['load_ms'] / floor:.2f}x"
    )
    return "\n".join(lines)


def _cell(value: float, unit: str) -> str:
    if unit == "B":
        return f"{value / 1024:,.0f} KiB"
    return f"{value:,.0f}" + (f" {unit}" if unit else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="browser repetitions per app")
    parser.add_argument("--server-repeat", type=int, default=8, help="AppTest reruns per app")
    args = parser.parse_args(argv)

    from geoapp.datasource import default_source

    n_facilities = len(default_source().facilities())
    started = time.monotonic()
    figures: dict[str, dict] = {}
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="geoapp-bench-map-")))
        ports = start_servers(stack, tmp)
        print(f"servers: ours :{ports['ours']}, naive :{ports['naive']}", flush=True)
        browser = browser_figures(ports, args.repeat, n_facilities)
        print("server reruns (AppTest) ...", flush=True)
        server = {
            "ours": server_figures(ROOT / "streamlit_app.py", args.server_repeat),
            "naive": server_figures(ROOT / "bench" / "naive_app.py", args.server_repeat),
        }
        figures = {k: {**browser[k], **server[k]} for k in ("ours", "naive")}
        figures["floor"] = browser["floor"]
    table = report(figures)
    print(table)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"bench_map-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(
        json.dumps(
            {
                "when": datetime.now().isoformat(timespec="seconds"),
                "repeat": args.repeat,
                "server_repeat": args.server_repeat,
                "facilities": n_facilities,
                "viewport": VIEWPORT,
                "seconds": round(time.monotonic() - started, 1),
                "figures": figures,
                "table": table,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    print(f"-> {out.relative_to(ROOT)} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
