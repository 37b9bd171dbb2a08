"""Start Streamlit for geoapp: ``python -m pages.serve run streamlit_app.py [flags]``.

Settled here, before the server starts (``geoapp run``, geoapp/launcher.py, calls this
module):

* **the page mode**: a ``pages/`` folder beside the entry script makes Streamlit fall
  back to its old folder-based page mode until somebody opens ``/``: until then a link
  straight to ``/gaps`` would run that page without the entry script (no layout, no
  language switch). geoapp routes with ``st.navigation`` only.
* **compressed static files**: Streamlit sends its own JavaScript (``/static/...``: 4 MB
  for a first visit, 9 MB with plotly) uncompressed, on purpose: its gzip middleware
  would compress them again on every request. :class:`CompressedStatic` gzips each file
  once, on its first request, and keeps the result: those names are content-hashed, a
  name always has the same bytes. Other responses keep Streamlit's own gzip.
* **the map's text as UTF-8**: a component's arguments (the map's whole script, for
  ``st_folium``) go to the browser as JSON written by ``json.dumps`` with
  ``ensure_ascii=True``, 6 bytes (``\\uXXXX``) for each Chinese character;
  :func:`utf8_component_args` makes it the character's 3 UTF-8 bytes.

* **no waterfall to the map**: :class:`pages.preload.PreloadedIndex` has Streamlit's
  page ask at once for the element code and map files the overview needs, instead of
  one round of requests after another as elements arrive.

Websocket frames are compressed by Streamlit itself (permessage-deflate,
``server.enableWebsocketCompression`` in ``streamlit_config.toml``).
"""

from __future__ import annotations

import asyncio
import gzip
import json
import sys
from typing import Any

from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import cli

from pages.preload import (
    ASGIApp,
    Headers,
    Message,
    PreloadedIndex,
    Receive,
    RewritingMiddleware,
    Send,
)
from pages.preload import header as _header

#: Media types worth compressing; fonts (woff2) and images are compressed already.
COMPRESSIBLE = (
    "application/javascript",
    "text/javascript",
    "text/css",
    "application/json",
    "image/svg+xml",
    "text/plain",
    "text/html",
)
GZIP_LEVEL = 6  # 9 saves 0.2 % of plotly's 1.4 MB and takes twice as long
MINIMUM_SIZE = 1000  # smaller files gain less than the header costs


def _accepts_gzip(headers: Headers) -> bool:
    for token in _header(headers, b"accept-encoding").lower().split(","):
        coding, _, params = token.strip().partition(";")
        if coding.strip() == "gzip":
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


class CompressedStatic(RewritingMiddleware):
    """ASGI middleware: GET responses under ``prefix`` gzipped once and kept in memory.

    Applies to a request for a path under ``prefix`` (``server.baseUrlPath`` included)
    whose client accepts gzip and that asks for no byte range, when the answer is a
    200 of a :data:`COMPRESSIBLE` type of at least :data:`MINIMUM_SIZE` bytes, not
    encoded already. The compressed body is kept by path, ETag and length; anything
    else passes through unchanged.
    """

    def __init__(self, app: ASGIApp, *, prefix: str = "/static/", base_url: str = ""):
        super().__init__(app)
        parts = [p for p in (base_url.strip("/"), prefix.strip("/")) if p]
        self.prefix = "/" + "/".join(parts) + "/"
        self._packed: dict[tuple[str, str, int], bytes] = {}

    def takes(self, path: str, headers: Headers) -> bool:
        return (
            path.startswith(self.prefix)
            and _accepts_gzip(headers)
            and not _header(headers, b"range")
        )

    async def respond(self, scope: Message, receive: Receive, send: Send) -> None:
        start: Message = {}
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, keep)
        body = b"".join(chunks)
        headers = list(start.get("headers", []))
        media = _header(headers, b"content-type").partition(";")[0].strip().lower()
        if (
            start.get("status") != 200
            or media not in COMPRESSIBLE
            or _header(headers, b"content-encoding")
            or len(body) < MINIMUM_SIZE
        ):
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        key = (scope["path"], _header(headers, b"etag"), len(body))
        packed = self._packed.get(key)
        if packed is None:
            packed = await asyncio.to_thread(gzip.compress, body, GZIP_LEVEL, mtime=0)
            self._packed[key] = packed
        headers = [(k, v) for k, v in headers if k.lower() not in (b"content-length", b"vary")]
        headers += [
            (b"content-encoding", b"gzip"),
            (b"content-length", str(len(packed)).encode()),
            (b"vary", b"Accept-Encoding"),
        ]
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": packed})


def compress_static_files() -> None:
    """Put :class:`CompressedStatic` into the middleware of Streamlit's server."""
    from starlette.middleware import Middleware
    from streamlit import config
    from streamlit.web.server.starlette import starlette_app

    streamlit_middleware = starlette_app.create_streamlit_middleware

    def middleware() -> list[Middleware]:
        base_url = config.get_option("server.baseUrlPath") or ""
        return [
            *streamlit_middleware(),
            Middleware(CompressedStatic, base_url=base_url),
            Middleware(PreloadedIndex, base_url=base_url),
        ]

    starlette_app.create_streamlit_middleware = middleware


class _Utf8Json:
    """``json`` for Streamlit's component module: ``dumps`` keeps non-ASCII text as is."""

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)

    @staticmethod
    def dumps(value: Any, **options: Any) -> str:
        text = json.dumps(value, **{"ensure_ascii": False, **options})
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: only an escape can carry it
            return json.dumps(value, **options)
        return text


def utf8_component_args() -> None:
    """Components' arguments as UTF-8 JSON (3 bytes a Chinese character, not 6)."""
    from streamlit.components.v1 import custom_component

    custom_component.json = _Utf8Json()


def main() -> None:
    PagesManager.uses_pages_directory = False
    compress_static_files()
    utf8_component_args()
    sys.argv = ["streamlit", *sys.argv[1:]]
    sys.exit(cli.main())


if __name__ == "__main__":
    main()
