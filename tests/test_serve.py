"""What ``geoapp run`` changes in Streamlit's server (pages/serve.py): bytes on the wire.

Streamlit's own JavaScript gzipped once and kept (:class:`pages.serve.CompressedStatic`,
driven here with a hand-made ASGI app that answers one file), component arguments as
UTF-8 JSON, and one real server started as the launcher starts it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gzip
import re
import urllib.request

import pytest

from geoapp import launcher
from pages import serve

SCRIPT = b"var a = 1;\n" * 200  # 2,200 bytes of JavaScript


def file_app(body: bytes = SCRIPT, *, status: int = 200, media: str = "application/javascript"):
    """An ASGI app answering every request with ``body`` in two parts; and its calls."""
    calls: list[str] = []

    async def app(scope, receive, send):
        calls.append(scope["path"])
        headers = [
            (b"content-type", media.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"etag", b'"v1"'),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        half = len(body) // 2
        await send({"type": "http.response.body", "body": body[:half], "more_body": True})
        await send({"type": "http.response.body", "body": body[half:]})

    return app, calls


def get(
    app, path: str, *, method: str = "GET", extensions: dict | None = None, **headers: str
) -> tuple[int, dict, bytes]:
    """Status, headers (lower-case names) and body of one request to ``app``."""
    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "root_path": "",
        "headers": [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
        "extensions": extensions or {},
    }
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    # In a thread of its own: when the browser tests ran first in this session,
    # Playwright's event loop is still running in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start, *bodies = sent
    names = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], names, b"".join(m.get("body", b"") for m in bodies)


def test_a_bundle_file_is_gzipped_once_and_kept(monkeypatch):
    packed = []
    compress = gzip.compress
    monkeypatch.setattr(
        serve.gzip, "compress", lambda *a, **k: packed.append(1) or compress(*a, **k)
    )
    app, calls = file_app()
    middleware = serve.CompressedStatic(app)
    for _ in range(2):
        status, headers, body = get(middleware, "/static/js/index.abc.js", accept_encoding="gzip")
        assert status == 200
        assert headers["content-encoding"] == "gzip" and headers["vary"] == "Accept-Encoding"
        assert gzip.decompress(body) == SCRIPT
        assert int(headers["content-length"]) == len(body) < 200  # 2,200 bytes of repeats
        assert headers["etag"] == '"v1"'
    assert calls == ["/static/js/index.abc.js"] * 2 and len(packed) == 1  # compressed once


@pytest.mark.parametrize(
    ("path", "request_headers", "app_options"),
    [
        ("/static/js/a.js", {}, {}),  # no Accept-Encoding
        ("/static/js/a.js", {"accept_encoding": "deflate, br"}, {}),
        ("/static/js/a.js", {"accept_encoding": "gzip;q=0"}, {}),
        ("/static/js/a.js", {"accept_encoding": "gzip", "range": "bytes=0-99"}, {}),
        ("/app/static/vendor/x.js", {"accept_encoding": "gzip"}, {}),  # Streamlit gzips these
        ("/static/js/a.js", {"accept_encoding": "gzip"}, {"body": b"x" * 999}),  # too small
        ("/static/media/font.woff2", {"accept_encoding": "gzip"}, {"media": "font/woff2"}),
        ("/static/js/a.js", {"accept_encoding": "gzip"}, {"status": 304}),
    ],
)
def test_what_passes_through_unchanged(path, request_headers, app_options):
    app, _ = file_app(**app_options)
    status, headers, body = get(serve.CompressedStatic(app), path, **request_headers)
    assert status == app_options.get("status", 200)
    assert "content-encoding" not in headers
    assert body == app_options.get("body", SCRIPT)


def test_a_head_request_passes_through():
    app, calls = file_app()
    _, headers, _ = get(serve.CompressedStatic(app), "/static/a.js", method="HEAD")
    assert calls == ["/static/a.js"] and "content-encoding" not in headers


def test_under_a_base_url_path_only_its_static_folder_is_compressed():
    app, _ = file_app()
    middleware = serve.CompressedStatic(app, base_url="/geoapp/")
    _, under, _ = get(middleware, "/geoapp/static/js/a.js", accept_encoding="gzip")
    _, outside, _ = get(middleware, "/static/js/a.js", accept_encoding="gzip")
    assert under.get("content-encoding") == "gzip" and "content-encoding" not in outside


@pytest.mark.parametrize(
    ("middleware", "path"),
    [(serve.CompressedStatic, "/static/js/a.js"), (serve.PreloadedIndex, "/")],
)
def test_the_middleware_asks_for_the_bytes_not_for_a_file_to_send(middleware, path):
    """Without ``pathsend`` a file answer comes as body messages, which it can rewrite."""
    app, calls = file_app()
    extensions = []

    async def recording(scope, receive, send):
        extensions.append(sorted(scope["extensions"]))
        await app(scope, receive, send)

    offered = {"http.response.pathsend": {}, "http.response.trailers": {}}
    status, _, _ = get(middleware(recording), path, extensions=offered, accept_encoding="gzip")
    assert status == 200 and calls == [path]
    assert extensions == [["http.response.trailers"]]


def test_component_arguments_are_utf8_json(monkeypatch):
    from streamlit.components.v1 import custom_component

    monkeypatch.setattr(custom_component, "json", custom_component.json)  # restored after
    serve.utf8_component_args()
    text = custom_component.json.dumps({"name": "吉林省"})
    assert text == '{"name": "吉林省"}'
    assert len(text.encode()) == 12 + 3 * 3  # 6 bytes (\uXXXX) a character before
    # a lone surrogate cannot be UTF-8: it stays an escape
    assert custom_component.json.dumps(["\ud800"]) == '["\\ud800"]'


def test_streamlit_middleware_gets_the_compression(monkeypatch):
    from streamlit.web.server.starlette import starlette_app

    monkeypatch.setattr(
        starlette_app, "create_streamlit_middleware", starlette_app.create_streamlit_middleware
    )
    serve.compress_static_files()
    added = [m.cls for m in starlette_app.create_streamlit_middleware()[-2:]]
    assert added == [serve.CompressedStatic, serve.PreloadedIndex]


def test_the_dashboard_server_sends_its_bundle_gzipped(tmp_path):
    """The server ``geoapp run`` starts: Streamlit's index script gzipped, the same bytes."""
    assert "--server.enableWebsocketCompression=true" in launcher.config_flags()
    port = launcher.free_port()
    log = tmp_path / "serve.log"
    process = launcher.start_background(launcher.streamlit_command(server_port=port), log=log)
    try:
        launcher.wait_healthy(port, process, log, timeout=120)
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(base + "/", timeout=30) as r:
            page = r.read().decode()
        script = re.search(r'src="\./(static/js/index\.[^"]+\.js)"', page).group(1)
        # the first screen's element code is asked for by the page itself (pages/preload.py)
        assert re.search(r'rel="modulepreload" crossorigin href="\./static/js/Selectbox\.', page)
        assert '<link rel="prefetch" href="./app/static/vendor/leaflet/leaflet.js">' in page

        def fetch(encoding: str):
            request = urllib.request.Request(
                f"{base}/{script}", headers={"Accept-Encoding": encoding}
            )
            with urllib.request.urlopen(request, timeout=30) as r:
                return r.headers.get("Content-Encoding"), r.read()

        (plain_encoding, plain), (packed_encoding, packed) = fetch("identity"), fetch("gzip")
    finally:
        launcher.stop(process)
    assert plain_encoding is None and packed_encoding == "gzip"
    assert gzip.decompress(packed) == plain and len(packed) < len(plain) / 2
