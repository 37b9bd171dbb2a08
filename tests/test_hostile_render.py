"""Text from outside never becomes template or script source when a map renders.

The browser suite (tests/e2e/test_hostile.py) drives every page; these tests pin the
mechanisms one by one on rendered HTML: literal branca elements, script JSON, text
tooltips, and that no page hands outside text to folium's own tooltip or popup.
"""

from __future__ import annotations

import ast
import json
import pickle
import re
from pathlib import Path

import branca.element
import folium
import pytest

import layers  # noqa: F401 - installs the literal elements, as every page does
from layers import safe
from layers.facilities import FacilityMarkers
from layers.jsdata import script_json

REPO = Path(__file__).resolve().parent.parent

HOSTILE = [
    "X{{7*7}}Y",
    "A{% raw %}B",
    "C{#D",
    "${alert(document.domain)}",
    "`);alert(1);(`",
    "\"');alert(1);//",
    "</script><script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "line\u2028sep\u2029para",
    "\u202eRTL\u202c zero\u200bwidth",
    "长" * 10_000,
]


def _render(element_builder) -> str:
    fmap = folium.Map(tiles=None)
    group = folium.FeatureGroup().add_to(fmap)
    element_builder(group)
    return fmap.get_root().render()


def test_the_issue_reproduction_no_longer_executes_the_name():
    html = _render(
        lambda g: FacilityMarkers(
            [[43.0, 125.0, "X{{7*7}}Y", "", "", "", False]], colour="#000", mark="a", label="t"
        ).add_to(g)
    )
    assert "X49Y" not in html
    rows = json.loads(re.search(r"var rows = (\[.*?\]);\n", html).group(1))
    assert rows[0][2] == "X{{7*7}}Y"


def test_plain_folium_elements_are_not_templated_twice_either():
    fmap = folium.Map(tiles=None)
    folium.Marker([43, 125], tooltip="X{{7*7}}Y", popup="P{{6*7}}Q").add_to(fmap)
    html = fmap.get_root().render()
    assert "X49Y" not in html and "P42Q" not in html
    assert "X{{7*7}}Y" in html


def test_a_template_that_reads_the_server_runs_nothing(tmp_path):
    canary = tmp_path / "ran"
    name = "{{ lipsum.__globals__.os.open(" + repr(str(canary)) + ", 65) }}"
    fmap = folium.Map(tiles=None)
    folium.Marker([43, 125], tooltip=name).add_to(fmap)
    FacilityMarkers([[43, 125, name, "", "", "", 0]], colour="#000", mark="a", label="t").add_to(
        fmap
    )
    fmap.get_root().render()
    assert not canary.exists()


@pytest.mark.parametrize("text", ["{% raw %}", "{% endraw %}", "{#", "{{", "{% if %}"])
def test_broken_template_syntax_renders_as_text(text):
    fmap = folium.Map(tiles=None)
    folium.Marker([43, 125], tooltip=text).add_to(fmap)
    assert text in fmap.get_root().render()


def test_literal_elements_survive_pickling_and_divs_still_render_children():
    element = branca.element.Element("{{ 7*7 }}")
    assert pickle.loads(pickle.dumps(element)).render() == "{{ 7*7 }}"
    div = branca.element.Div()
    div.html.add_child(branca.element.Element("<p>inside</p>"))
    figure = branca.element.Figure()
    figure.add_child(div)
    assert "<p>inside</p>" in figure.render()
    assert safe.installed()


@pytest.mark.parametrize("text", HOSTILE)
def test_script_json_has_nothing_a_script_or_template_could_read(text):
    encoded = script_json({"name": text, text[:20]: [text]})
    assert json.loads(encoded) == {"name": text, text[:20]: [text]}
    for risky in ("<", ">", "&", "`", "$", "{{", "{%", "{#", "'", "\u2028", "\u2029"):
        assert risky not in encoded[1:-1].replace('{"', "").replace('"}', ""), risky


@pytest.mark.parametrize("text", HOSTILE)
def test_text_tooltip_sends_json_and_sets_text_content(text):
    html = _render(
        lambda g: (
            folium.CircleMarker([43, 125], radius=3).add_child(safe.TextTooltip(text)).add_to(g)
        )
    )
    found = re.search(r"box\.textContent = (.*?);\n", html).group(1)
    assert json.loads(found) == text
    assert "innerHTML" not in html and "`" not in found


def test_feature_tooltip_builds_cells_with_text_content():
    data = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [125, 43]},
                "properties": {"name": HOSTILE[7], "n": 1234},
            }
        ],
    }
    html = _render(
        lambda g: (
            folium.GeoJson(data)
            .add_child(
                safe.FeatureTooltip(["name", "n"], aliases=["名称", HOSTILE[6]], localize=True)
            )
            .add_to(g)
        )
    )
    assert "row.insertCell().textContent = show(props[field])" in html
    assert HOSTILE[6] not in html and "<img src=x" not in html
    with pytest.raises(ValueError, match="2 fields but 1 aliases"):
        safe.FeatureTooltip(["a", "b"], aliases=["x"])


def _calls(path: Path) -> list[tuple[str, int]]:
    """(what, line) for each use of folium's own text tooltip or popup in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            if name in {"Tooltip", "Popup", "GeoJsonTooltip", "GeoJsonPopup"}:
                found.append((name, node.lineno))
            found += [
                (f"{k.arg}=", node.lineno) for k in node.keywords if k.arg in {"tooltip", "popup"}
            ]
    return found


@pytest.mark.parametrize(
    "path",
    sorted([*REPO.glob("pages/*.py"), *REPO.glob("layers/*.py"), *REPO.glob("geoapp/*.py")]),
    ids=lambda p: str(p.relative_to(REPO)),
)
def test_no_module_hands_text_to_folium_s_own_tooltips_or_popups(path):
    # folium.Tooltip writes its text raw into a JavaScript template literal and
    # GeoJsonTooltip sets properties as innerHTML: use layers.safe instead.
    assert _calls(path) == []
