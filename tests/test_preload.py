"""The links ``geoapp run`` adds to Streamlit's page (pages/preload.py): the first screen's
code and the map's files asked for at once, not one round of requests after another.

Chunk closures on a hand-made folder of four modules, the middleware on a hand-made
ASGI app, the names against the installed Streamlit, the map files against the map the
overview really hands to its component.
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest
from test_serve import file_app, get

from geoapp.paths import ROOT
from pages import preload

INDEX = (
    b"<html><head><title>Streamlit</title>\n"
    b'<script type="module" crossorigin src="./static/js/index.AAA.js"></script>\n'
    b'<link rel="modulepreload" crossorigin href="./static/js/core.CCC.js">\n'
    b"</head><body></body></html>"
)


@pytest.fixture
def js_dir(tmp_path):
    """Selectbox imports core and menu, menu imports core; Other is imported by nobody."""
    files = {
        "Selectbox.S1.js": 'import{a}from"./core.CCC.js";import"./menu.M1.js";export{}',
        "menu.M1.js": 'import{a as b}from"./core.CCC.js";export{b}',
        "core.CCC.js": "export const a=1",
        "Other.O1.js": 'import"./core.CCC.js"',
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_a_chunk_closure_follows_imports_once_each(js_dir):
    assert preload.chunk_closure(js_dir, ["Selectbox"]) == [
        "Selectbox.S1.js",
        "core.CCC.js",
        "menu.M1.js",
    ]
    assert preload.chunk_closure(js_dir, ["Missing"]) == []
    assert preload.missing_chunks(js_dir, ["Selectbox", "Missing", "Other"]) == ["Missing"]


def test_links_leave_out_what_the_page_preloads_already(monkeypatch, js_dir):
    monkeypatch.setattr(preload, "ELEMENT_CHUNKS", ("Selectbox",))
    monkeypatch.setattr(preload, "MAP_FILES", ("app/static/vendor/leaflet/leaflet.js",))
    lines = preload.links(INDEX, js_dir).decode().split("\n    ")
    assert lines == [
        '<link rel="modulepreload" crossorigin href="./static/js/Selectbox.S1.js">',
        '<link rel="modulepreload" crossorigin href="./static/js/menu.M1.js">',
        '<link rel="prefetch" href="./app/static/vendor/leaflet/leaflet.js">',
    ]
    assert preload.with_links(INDEX, b"<X>").count(b"<X>\n  </head>") == 1
    assert preload.with_links(b"<p>no head</p>", b"<X>") == b"<p>no head</p>"


@pytest.mark.parametrize(
    ("base_url", "path", "linked"),
    [
        ("", "/", True),
        ("", "/overview", True),
        ("", "/progress", False),  # no map there: its first visit stays as light as it was
        ("", "/gaps", False),
        ("geoapp", "/geoapp/", True),
        ("geoapp", "/geoapp/overview", True),
        ("geoapp", "/", False),
    ],
)
def test_the_middleware_adds_links_to_the_overview_page_only(js_dir, base_url, path, linked):
    app, _ = file_app(INDEX, media="text/html; charset=utf-8")
    middleware = preload.PreloadedIndex(app, js_dir=js_dir, base_url=base_url)
    status, headers, body = get(middleware, path)
    assert status == 200 and int(headers["content-length"]) == len(body)
    assert (
        b'<link rel="prefetch" href="./app/static/vendor/leaflet/leaflet.js">' in body
    ) is linked
    assert (body == INDEX) is not linked


def test_other_answers_on_the_overview_path_pass_through(js_dir):
    """Other HTML (a component's page), scripts and errors are left as they were."""
    other = INDEX.replace(b"./static/js/index.", b"./static/js/main.")
    for body, status, media in (
        (other, 200, "text/html"),
        (INDEX, 200, "application/javascript"),
        (INDEX, 404, "text/html"),
    ):
        app, _ = file_app(body, status=status, media=media)
        _, _, got = get(preload.PreloadedIndex(app, js_dir=js_dir), "/")
        assert got == body


def test_the_installed_streamlit_has_every_chunk_named():
    """An upgrade that renames an element's chunk fails here, not silently slower."""
    assert preload.missing_chunks(preload.streamlit_js_dir()) == []
    closure = preload.chunk_closure(preload.streamlit_js_dir(), preload.ELEMENT_CHUNKS)
    assert len(closure) > len(preload.ELEMENT_CHUNKS)


def test_the_map_files_are_those_the_overview_map_loads():
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=300).run()
    assert not at.exception
    (component,) = at.get("component_instance")
    args = json.loads(component.proto.json_args)
    loaded = [url.removeprefix("/") for url in args["js_links"] + args["css_links"]]
    assert loaded == list(preload.MAP_FILES)
