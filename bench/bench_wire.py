"""Benchmark: bytes on the wire per page, and the overview's first draw against the naive page.

Starts this app (``geoapp run``) and ``bench/naive_app.py`` as ``bench/bench_map.py``
does, then, in headless Debian Chromium:

1. **bytes per page** on a cold first visit (a fresh browser context, empty cache) of the
   overview (until the 60 counties and the markers are drawn) and the progress page
   (until its plotly charts are drawn), then 1.5 s without network activity:

   * ``wire``: every byte the server sent on the page's TCP connections, counted by a
     small proxy in front of the server (HTTP headers, compressed bodies, websocket
     frames as sent, i.e. after permessage-deflate when the server compresses them);
   * ``cdp``: the same visit as Chromium's DevTools protocol reports it, per kind of
     resource: ``Network.loadingFinished`` ``encodedDataLength`` (bytes received for
     the request, headers included) and ``Network.webSocketFrameReceived`` payload
     lengths (after decompression: what the frames carry, not what they cost);

2. **first draw**: from navigation start until, inside the st_folium iframe, the county
   paths and the markers are in the map (``bench_map.READY_JS``), ours and naive
   alternating, a fresh context each time; the median of each and their ratio.

The machine is shared: read the ratio, not the seconds. Writes the figures as JSON to
``bench/results/`` (not tracked). Run from anywhere (about two minutes)::

    python bench/bench_wire.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_map  # the servers, the browser's options, READY_JS

ROOT = bench_map.ROOT
RESULTS_DIR = bench_map.RESULTS_DIR
QUIET_S = 1.5  # a visit is over after this long without network activity
MiB = 1024 * 1024
#: Plotly charts the progress page draws for the embedded default (targets, by
#: prefecture, per facility, history).
PROGRESS_CHARTS = 4
PLOTS_DRAWN_JS = """
(n) => document.querySelectorAll('.js-plotly-plot .main-svg').length >= n
    && !!document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')
"""


# --- a byte-counting proxy -----------------------------------------------------------------


class CountingProxy:
    """A TCP proxy on a free loopback port counting the bytes the server sends back."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = bench_map.free_port()
        self.down = 0  # server -> browser
        self.up = 0  # browser -> server
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def reset(self) -> None:
        self.down = self.up = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", self.port)
        )
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()

    async def _client(self, reader, writer) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(
            self._pipe(reader, up_writer, "up"), self._pipe(up_reader, writer, "down")
        )

    async def _pipe(self, reader, writer, direction: str) -> None:
        try:
            while data := await reader.read(65536):
                setattr(self, direction, getattr(self, direction) + len(data))
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()


# --- one cold visit, in bytes --------------------------------------------------------------


def _kind(url: str, mime: str) -> str:
    path = url.split("?", 1)[0]
    if "/component/" in path:
        return "component iframe"
    if "/app/static/vendor/" in path:
        return "map assets (static/vendor)"
    if "font" in mime or path.endswith((".woff", ".woff2", ".ttf")):
        return "fonts"
    if "plotly" in path:
        return "plotly"
    if "/static/" in path:
        return "streamlit bundle"
    return "other http"


def visit_bytes(browser, url: str, proxy: CountingProxy, *, ready: tuple[str, object]) -> dict:
    """Bytes of one cold visit of ``url`` (through ``proxy``) until ``ready`` holds."""
    context = browser.new_context(viewport=bench_map.VIEWPORT)
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        requests: dict[str, tuple[str, str]] = {}
        by_kind: dict[str, int] = defaultdict(int)
        files: dict[str, int] = {}
        ws = {"frames": 0, "bytes": 0}
        last = [time.monotonic()]

        def on_response(e: dict) -> None:
            requests[e["requestId"]] = (e["response"]["url"], e["response"].get("mimeType", ""))
            last[0] = time.monotonic()

        def on_finished(e: dict) -> None:
            url_, mime = requests.get(e["requestId"], ("?", ""))
            size = int(e["encodedDataLength"])
            by_kind[_kind(url_, mime)] += size
            files[url_.split("?", 1)[0]] = files.get(url_.split("?", 1)[0], 0) + size
            last[0] = time.monotonic()

        def on_frame(e: dict) -> None:
            r = e["response"]
            data = r["payloadData"]
            n = len(base64.b64decode(data)) if r["opcode"] == 2 else len(data.encode())
            ws["frames"] += 1
            ws["bytes"] += n
            last[0] = time.monotonic()

        cdp.on("Network.responseReceived", on_response)
        cdp.on("Network.loadingFinished", on_finished)
        cdp.on("Network.webSocketFrameReceived", on_frame)
        cdp.send("Network.enable")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        proxy.reset()
        started = time.monotonic()
        page.goto(url, wait_until="commit")
        js, arg = ready
        page.wait_for_function(js, arg=arg, polling=200, timeout=180_000)
        while time.monotonic() - last[0] < QUIET_S:
            page.wait_for_timeout(200)
        drawn_s = last[0] - started
        by_kind["websocket frames (payload)"] = ws["bytes"]
        cdp_total = sum(by_kind.values())
    finally:
        context.close()
    time.sleep(0.3)  # let the proxy see the connections close
    return {
        "wire_bytes": proxy.down,
        "sent_bytes": proxy.up,
        "cdp_bytes": cdp_total,
        "cdp_by_kind": dict(sorted(by_kind.items(), key=lambda kv: -kv[1])),
        "websocket_frames": ws["frames"],
        "largest_files": dict(sorted(files.items(), key=lambda kv: -kv[1])[:8]),
        "seconds_until_quiet": round(drawn_s, 2),
    }


def bytes_figures(browser, ports: dict[str, int], markers: int) -> dict[str, dict]:
    overview_ready = (bench_map.READY_JS, {"minZoom": 0, "paths": bench_map.N_COUNTIES})
    out = {}
    with CountingProxy(ports["ours"]) as ours, CountingProxy(ports["naive"]) as naive:
        base_ours, base_naive = f"http://127.0.0.1:{ours.port}", f"http://127.0.0.1:{naive.port}"
        visits = {
            "overview": (
                f"{base_ours}/",
                ours,
                (overview_ready[0], {**overview_ready[1], "markers": 1}),
            ),
            "progress": (f"{base_ours}/progress", ours, (PLOTS_DRAWN_JS, PROGRESS_CHARTS)),
            "naive overview": (
                f"{base_naive}/",
                naive,
                (overview_ready[0], {**overview_ready[1], "markers": markers}),
            ),
        }
        for name, (url, proxy, ready) in visits.items():
            out[name] = visit_bytes(browser, url, proxy, ready=ready)
            print(f"  {name}: {out[name]['wire_bytes'] / MiB:.2f} MiB on the wire", flush=True)
    return out


# --- first draw, alternating ---------------------------------------------------------------


def first_draw_ms(browser, port: int, markers: int) -> float:
    context = browser.new_context(viewport=bench_map.VIEWPORT)
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/", wait_until="commit")
        return page.wait_for_function(
            bench_map.READY_JS,
            arg={"minZoom": 0, "paths": bench_map.N_COUNTIES, "markers": markers},
            polling="raf",
            timeout=180_000,
        ).json_value()
    finally:
        context.close()


def draw_figures(browser, ports: dict[str, int], markers: dict[str, int], repeat: int) -> dict:
    for name, port in ports.items():  # warm the servers' caches; not counted
        first_draw_ms(browser, port, markers[name])
    runs: dict[str, list[float]] = {name: [] for name in ports}
    for i in range(repeat):
        order = list(ports) if i % 2 == 0 else list(reversed(ports))
        for name in order:
            runs[name].append(first_draw_ms(browser, ports[name], markers[name]))
        print(
            f"  run {i + 1}: " + ", ".join(f"{n} {runs[n][-1]:,.0f} ms" for n in ports), flush=True
        )
    medians = {name: statistics.median(values) for name, values in runs.items()}
    return {
        "median_ms": medians,
        "ratio_naive_over_ours": medians["naive"] / medians["ours"],
        "runs_ms": runs,
    }


# --- report ----------------------------------------------------------------------------------


def report(wire: dict, draw: dict) -> str:
    lines = [f"{'cold first visit':28}{'wire':>10}{'cdp':>10}   biggest parts (cdp)"]
    for name, v in wire.items():
        parts = ", ".join(f"{k} {b / MiB:.2f}" for k, b in list(v["cdp_by_kind"].items())[:4])
        lines.append(
            f"{name:28}{v['wire_bytes'] / MiB:>7.2f} MiB{v['cdp_bytes'] / MiB:>7.2f} MiB   {parts}"
        )
    m = draw["median_ms"]
    lines.append(
        f"first draw (median): ours {m['ours']:,.0f} ms, naive {m['naive']:,.0f} ms, "
        f"naive/ours {draw['ratio_naive_over_ours']:.1f}x"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="alternating first-draw runs")
    args = parser.parse_args(argv)

    from playwright.sync_api import sync_playwright

    from geoapp.datasource import default_source

    n_facilities = len(default_source().facilities())
    markers = {"ours": 1, "naive": n_facilities}  # clusters vs one icon each
    started = time.monotonic()
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="geoapp-bench-wire-")))
        # bench_map also starts its floor page; the bytes and draws here are ours and naive
        ports = {k: v for k, v in bench_map.start_servers(stack, tmp).items() if k != "floor"}
        print(f"servers: ours :{ports['ours']}, naive :{ports['naive']}", flush=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=bench_map.CHROMIUM, args=bench_map.CHROMIUM_ARGS
            )
            try:
                print("first draw, alternating ...", flush=True)
                draw = draw_figures(browser, ports, markers, args.repeat)
                print("bytes per page ...", flush=True)
                wire = bytes_figures(browser, ports, n_facilities)
            finally:
                browser.close()
    table = report(wire, draw)
    print(table)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"bench_wire-{datetime.now():%Y%m%d-%H%M%S}.json"
    payload = {
        "when": datetime.now().isoformat(timespec="seconds"),
        "repeat": args.repeat,
        "facilities": n_facilities,
        "seconds": round(time.monotonic() - started, 1),
        "bytes": wire,
        "first_draw": draw,
        "table": table,
    }
    out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"-> {out.relative_to(ROOT)} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
