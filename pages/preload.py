"""What the first screen needs, asked for by the page itself: no waterfall of requests.

Streamlit's page (``index.html``) loads its core bundle, then each element's code only
when the first element of that kind arrives from the server: the selectbox's code once
the sidebar's first selectbox is drawn, the table's once the first table is, the
component frame's once the map is. Each of those is a round of requests (a chunk, then
the chunks it imports), one after the other, on the way to the map. Then the map's frame
(streamlit-folium) loads its own bundle and, one script at a time, Leaflet and its
plugins.

:class:`PreloadedIndex` adds to ``index.html``, before ``</head>``:

* ``<link rel="modulepreload">`` for the element chunks the overview draws
  (:data:`ELEMENT_CHUNKS`) and every chunk they import, read from Streamlit's own
  files (:func:`chunk_closure`), minus those the page preloads already;
* ``<link rel="prefetch">`` for the map's scripts and styles (:data:`MAP_FILES`), so
  that the map's frame finds them in the browser's cache instead of loading them one
  after the other.

Only the overview's page gets them (``/``, ``/overview``): the other pages have no map,
and their first visit would carry bytes they never use.

It and :class:`pages.serve.CompressedStatic` are :class:`RewritingMiddleware`: which
requests they take, and how they ask Streamlit for the bytes to rewrite, written once
(here, because serve imports this module and not the other way round).

The names come from the installed Streamlit at start-up; a chunk
that an upgrade renamed is missing from the links (``tests/test_serve.py`` names it),
the page works as before, only slower.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]


def header(headers: Headers, name: bytes) -> str:
    """The value of header ``name`` (lower case) in an ASGI header list, or ''."""
    return next((v.decode("latin-1") for k, v in headers if k.lower() == name), "")


class RewritingMiddleware:
    """Base of geoapp's ASGI middleware (this module's and :mod:`pages.serve`'s): the GET
    requests that :meth:`takes` go to :meth:`respond`, every other request to the app
    unchanged.

    ``takes`` sees the path without the app's ``root_path``; ``respond`` gets the scope
    without the ``pathsend`` extension, so that a file response sends its bytes as body
    messages, which it can read and rewrite.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def takes(self, path: str, headers: Headers) -> bool:
        """Whether a GET of ``path`` with ``headers`` is this middleware's."""
        raise NotImplementedError

    async def respond(self, scope: Message, receive: Receive, send: Send) -> None:
        """Answer a request it takes, calling ``self.app`` for the answer to rewrite."""
        raise NotImplementedError

    def _applies(self, scope: Message) -> bool:
        if scope["type"] != "http" or scope.get("method") != "GET":
            return False
        path, root = scope.get("path", ""), scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        return self.takes(path, scope.get("headers", []))

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        extensions = {k: v for k, v in scope.get("extensions", {}).items() if "pathsend" not in k}
        await self.respond({**scope, "extensions": extensions}, receive, send)


#: Element chunks of Streamlit's frontend the overview draws on its first screen:
#: page links, radio and select boxes, HTML and metrics, markdown with HTML, the map's
#: component frame, the table and the table's search box.
ELEMENT_CHUNKS = (
    "PageLink",
    "Radio",
    "Selectbox",
    "Html",
    "Metric",
    "rehype-raw",
    "ComponentInstance",
    "DataFrame",
    "TextInput",
)
#: Files the overview's map frame loads, relative to the app's root URL (checked
#: against the page's map in tests/test_serve.py).
MAP_FILES = (
    "app/static/vendor/leaflet/leaflet.js",
    "app/static/vendor/topojson-client/topojson-client.min.js",
    "app/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
    "app/static/vendor/leaflet.featuregroup.subgroup/leaflet.featuregroup.subgroup.js",
    "app/static/vendor/leaflet/leaflet.css",
    "app/static/vendor/leaflet.markercluster/MarkerCluster.css",
    "app/static/vendor/leaflet.markercluster/MarkerCluster.Default.css",
)
#: Where the overview is: the app's root and its own page's path.
OVERVIEW_PATHS = ("/", "/overview", "/overview/")
#: The marker of Streamlit's own page: only that HTML gets the links.
INDEX_MARKER = b'<script type="module" crossorigin src="./static/js/index.'
_IMPORT = re.compile(r"""(?:from|import)\s*["']\./([\w.\-]+\.js)["']""")
_PRELOADED = re.compile(rb'rel="modulepreload" crossorigin href="\./static/js/([\w.\-]+\.js)"')


def chunk_closure(js_dir: Path, names: Iterable[str]) -> list[str]:
    """The files of chunks ``names`` (``Selectbox`` -> ``Selectbox.<hash>.js``) in
    ``js_dir`` and of every chunk they import, directly or not, in a stable order."""
    files = {p.name for p in js_dir.glob("*.js")}
    todo = sorted(f for f in files for n in names if f.startswith(f"{n}.") and f.count(".") == 2)
    seen: list[str] = []
    while todo:
        name = todo.pop(0)
        if name in seen or name not in files:
            continue
        seen.append(name)
        todo.extend(_IMPORT.findall((js_dir / name).read_text(encoding="utf-8")))
    return seen


def missing_chunks(js_dir: Path, names: Iterable[str] = ELEMENT_CHUNKS) -> list[str]:
    """Those of ``names`` with no chunk file in ``js_dir`` (renamed by an upgrade)."""
    files = [p.name for p in js_dir.glob("*.js")]
    return [n for n in names if not any(f.startswith(f"{n}.") and f.count(".") == 2 for f in files)]


@cache
def streamlit_js_dir() -> Path:
    import streamlit

    return Path(streamlit.__file__).parent / "static" / "static" / "js"


def links(index_html: bytes, js_dir: Path) -> bytes:
    """The ``<link>`` lines to add to ``index_html``: chunks it does not preload yet,
    then the map's files."""
    already = {m.decode() for m in _PRELOADED.findall(index_html)}
    lines = [
        f'<link rel="modulepreload" crossorigin href="./static/js/{name}">'
        for name in chunk_closure(js_dir, ELEMENT_CHUNKS)
        if name not in already
    ]
    lines += [f'<link rel="prefetch" href="./{path}">' for path in MAP_FILES]
    return "\n    ".join(lines).encode()


def with_links(index_html: bytes, extra: bytes) -> bytes:
    """``index_html`` with ``extra`` before its ``</head>`` (unchanged without one)."""
    head, sep, rest = index_html.partition(b"</head>")
    return head + extra + b"\n  " + sep + rest if sep else index_html


class PreloadedIndex(RewritingMiddleware):
    """ASGI middleware: Streamlit's ``index.html`` answering a GET of the overview (``/``
    or ``/overview``, under ``base_url``) gets the links of :func:`links`; every other
    response passes through unchanged (other pages load what they draw, no map)."""

    def __init__(self, app: ASGIApp, *, js_dir: Path | None = None, base_url: str = ""):
        super().__init__(app)
        self.js_dir = js_dir or streamlit_js_dir()
        base = "/" + base_url.strip("/") if base_url.strip("/") else ""
        self.paths = {f"{base}{p}" for p in OVERVIEW_PATHS}
        self._extra: bytes | None = None

    def takes(self, path: str, headers: Headers) -> bool:
        return path in self.paths

    async def respond(self, scope: Message, receive: Receive, send: Send) -> None:
        start: Message = {}
        chunks: list[bytes] = []
        passing = False

        async def keep(message: Message) -> None:
            nonlocal passing
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                media = header(headers, b"content-type")
                if not media.startswith("text/html") or header(headers, b"content-encoding"):
                    passing = True
                    await send(message)
                    return
                start.update(message)
            elif passing:
                await send(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, keep)
        if passing or not start:
            return
        body = b"".join(chunks)
        if start.get("status") == 200 and INDEX_MARKER in body:
            if self._extra is None:
                self._extra = links(body, self.js_dir)
            body = with_links(body, self._extra)
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})
