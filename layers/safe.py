"""Text from outside reaches a map as data, never as template or script source.

Two holes in the libraries this package builds on, closed here once for every map:

1. **Rendered text is templated again.** branca renders each element's macro and
   wraps the *output* in ``Element(output)``, whose constructor compiles its argument
   as a Jinja template; folium does the same in ``Map.render``, ``Popup.render``,
   ``Vega``, ... So a facility named ``{{ lipsum.__globals__ ... }}`` ran on the
   server when the map rendered, and ``{% raw %}`` broke it for everyone.
   :func:`install` makes the text given to ``Element(...)`` literal: it is put into
   the page exactly as it is, never parsed. Templates that elements define on their
   class (``_template``) or load by name are untouched. The one place in branca that
   passes real template source to the constructor (``Div.html``) is kept working.
   ``layers`` calls :func:`install` on import, so every map the project builds has it.
2. **Tooltips as markup in a JavaScript template literal.** ``folium.Tooltip`` writes
   its text raw between backticks (``${...}`` runs, a quote breaks the map) and
   ``folium.GeoJsonTooltip`` sets feature properties as ``innerHTML``. Use
   :class:`TextTooltip` and :class:`FeatureTooltip` instead: the text travels as JSON
   (:func:`layers.jsdata.script_json`) and is put into the page with ``textContent``.

This module does not import streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence

import branca.element
from branca.element import MacroElement
from folium.template import Template
from jinja2 import Template as JinjaTemplate

from layers.jsdata import script_json

__all__ = ["FeatureTooltip", "LiteralTemplate", "TextTooltip", "install", "installed"]


class LiteralTemplate:
    """Stands in for a Jinja template whose output is its own text, unparsed."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = str(text)

    def render(self, *args: object, **kwargs: object) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"LiteralTemplate({self.text[:40]!r})"


_ORIGINAL_INIT = branca.element.Element.__init__
_ORIGINAL_SETSTATE = branca.element.Element.__setstate__
_ORIGINAL_DIV_INIT = branca.element.Div.__init__
# branca's Div renders its children through a template given to Element(); it is
# library source, not text from outside.
_DIV_HTML = (
    "{% for name, element in this._children.items() %}{{element.render(**kwargs)}}{% endfor %}"
)


def _literal_init(self, template: str | None = None, template_name: str | None = None) -> None:
    _ORIGINAL_INIT(self, None, template_name)
    self._template_str = None
    self._literal_text = None
    if template is not None:
        self._literal_text = str(template)
        self._template = LiteralTemplate(template)


def _literal_setstate(self, state: dict) -> None:
    _ORIGINAL_SETSTATE(self, state)
    if state.get("_literal_text") is not None:
        self._template = LiteralTemplate(state["_literal_text"])


def _div_init(self, *args: object, **kwargs: object) -> None:
    _ORIGINAL_DIV_INIT(self, *args, **kwargs)
    self.html._literal_text = None
    self.html._template = JinjaTemplate(_DIV_HTML)


def install() -> None:
    """Make text handed to ``branca.element.Element(...)`` literal (idempotent).

    Raises RuntimeError if the installed branca no longer works the way this relies
    on (the check renders ``{{7*7}}`` and expects it back unchanged).
    """
    element = branca.element.Element
    if element.__init__ is not _literal_init:
        element.__init__ = _literal_init
        element.__setstate__ = _literal_setstate
        branca.element.Div.__init__ = _div_init
    if not installed():
        msg = (
            "branca renders text given to Element() as a template and the guard in "
            "layers.safe no longer applies; check the installed branca version"
        )
        raise RuntimeError(msg)


def installed() -> bool:
    """True when text given to ``Element(...)`` comes back unparsed."""
    probe = "{{ 7*7 }}{% raw %}{#"
    return branca.element.Element(probe).render() == probe


class TextTooltip(MacroElement):
    """A tooltip of plain text on its parent layer (a marker, a circle, a path).

    The text is sent as JSON and set with ``textContent``: markup, ``${...}`` and
    template syntax in it are shown as typed. ``options``: Leaflet tooltip options.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.bindTooltip(function () {
                var box = document.createElement("div");
                box.textContent = {{ this.text_json }};
                return box;
            }, {{ this.options_json }});
        {% endmacro %}
        """
    )

    def __init__(self, text: object, *, sticky: bool = True, **options: object):
        super().__init__()
        self._name = "TextTooltip"
        self.text = "" if text is None else str(text)
        self.text_json = script_json(self.text)
        self.options_json = script_json({"sticky": sticky, **options})


class FeatureTooltip(MacroElement):
    """A tooltip for each feature of a GeoJSON / TopoJSON layer, built with ``textContent``.

    Shows ``fields`` of the feature's properties as a two-column table headed by
    ``aliases`` (or the bare values with ``labels=False``). ``localize``: numbers
    formatted with the browser's ``toLocaleString`` (thousands separators).
    streamlit-folium reads a clicked feature's tooltip as the returned element's
    ``innerText``, which this keeps.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.bindTooltip(function (layer) {
                var fields = {{ this.fields_json }};
                var aliases = {{ this.aliases_json }};
                var props = (layer.feature && layer.feature.properties) || {};
                function show(value) {
                    if (value === null || value === undefined) { return ""; }
                    {%- if this.localize %}
                    if (typeof value === "number") { return value.toLocaleString(); }
                    {%- endif %}
                    return typeof value === "object" ? JSON.stringify(value) : String(value);
                }
                var box = document.createElement("div");
                {%- if this.labels %}
                var table = document.createElement("table");
                fields.forEach(function (field, i) {
                    var row = table.insertRow();
                    var head = document.createElement("th");
                    head.textContent = aliases[i];
                    head.style.textAlign = "left";
                    head.style.paddingRight = "0.6em";
                    row.appendChild(head);
                    row.insertCell().textContent = show(props[field]);
                });
                box.appendChild(table);
                {%- else %}
                box.textContent = fields.map(function (f) { return show(props[f]); }).join(" ");
                {%- endif %}
                return box;
            }, {{ this.options_json }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        fields: Sequence[str],
        *,
        aliases: Sequence[str] | None = None,
        labels: bool = True,
        localize: bool = False,
        sticky: bool = True,
        **options: object,
    ):
        super().__init__()
        self._name = "FeatureTooltip"
        fields = [str(f) for f in fields]
        aliases = [str(a) for a in (aliases if aliases is not None else fields)]
        if len(aliases) != len(fields):
            msg = f"{len(fields)} fields but {len(aliases)} aliases"
            raise ValueError(msg)
        self.labels = labels
        self.localize = localize
        self.fields_json = script_json(fields)
        self.aliases_json = script_json(aliases)
        self.options_json = script_json({"sticky": sticky, **options})
