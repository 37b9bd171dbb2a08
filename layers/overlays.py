"""What changes with the sidebar and the chosen rule: focus, coverage gaps, the view.

:class:`Highlight` draws the counties that fail a rule with a hatch, and the
prefectures that fail a prefecture-level rule with dots, each with a thick dashed
outline (so that the gap does not rest on colour alone), outlines
the filtered units with a solid line, and fits the map to them. It builds its shapes
in the browser from the features the county and prefecture layers already drew
(``window.geoappLayers``, see :class:`layers.counties.TopoLayer`), so it ships adcodes,
not geometry: put it in a ``folium.FeatureGroup`` handed to ``st_folium`` as
``feature_group_to_add``, and a filter or rule change swaps this small group without
reloading the map. It also works as an ordinary child of a map (rendered HTML).

The hatch and the dots are SVG ``<pattern>`` s (:class:`HatchPattern`, added by
:func:`layers.map.base_map`) that stylesheet rules put on every path of class
``geoapp-gap`` and ``geoapp-gap-prefecture``. No streamlit here.
"""

from __future__ import annotations

from collections.abc import Iterable

from branca.element import MacroElement
from folium.template import Template

__all__ = [
    "FOCUS_STYLE",
    "GAP_COLOUR",
    "GAP_STYLE",
    "HATCH_ID",
    "PREFECTURE_GAP_STYLE",
    "HatchPattern",
    "Highlight",
    "gap_swatch_css",
    "prefecture_gap_swatch_css",
]

# PiYG magenta: apart from every hue of the YlGnBu choropleth and of the Okabe-Ito
# facility colours; the hatch and the dashes carry the meaning without it.
GAP_COLOUR = "#c51b7d"
HATCH_ID = "geoapp-hatch"
DOTS_ID = "geoapp-dots"
GAP_CLASS = "geoapp-gap"
PREFECTURE_GAP_CLASS = "geoapp-gap-prefecture"
HALO_STYLE = {"color": "#ffffff", "weight": 6, "opacity": 0.85, "fill": False}
GAP_STYLE = {
    "color": GAP_COLOUR,
    "weight": 3.5,
    "dashArray": "9 6",
    "lineCap": "butt",
    "fill": True,
    "fillOpacity": 1,
    "className": GAP_CLASS,
}
# A prefecture's gap is about the prefecture as a whole: dots, not the counties' hatch,
# and a longer dash, drawn under the counties' marks.
PREFECTURE_GAP_STYLE = {
    **GAP_STYLE,
    "weight": 4,
    "dashArray": "14 7",
    "className": PREFECTURE_GAP_CLASS,
}
FOCUS_STYLE = {"color": "#000000", "weight": 3, "fill": False}


class HatchPattern(MacroElement):
    """Defines the gap patterns once per page: SVG patterns and the rules that apply them.

    Counties: diagonal stripes of :data:`GAP_COLOUR`, each with a light edge so that
    they stay visible on the darkest class, and gaps between them through which the
    county's own colour shows. Prefectures: dots of the same colour with a light ring.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                if (document.getElementById({{ this.pattern_id|tojson }})) { return; }
                var svg = '<svg xmlns="http://www.w3.org/2000/svg" aria-hidden="true" width="0" height="0" '
                    + 'style="position:absolute;width:0;height:0;overflow:hidden"><defs>'
                    + '<pattern id="' + {{ this.pattern_id|tojson }} + '" patternUnits="userSpaceOnUse" '
                    + 'width="10" height="10" patternTransform="rotate(45)">'
                    + '<rect x="0" y="0" width="3.5" height="10" fill="' + {{ this.colour|tojson }} + '"/>'
                    + '<rect x="3.5" y="0" width="1.5" height="10" fill="#ffffff" fill-opacity="0.8"/>'
                    + '</pattern>'
                    + '<pattern id="' + {{ this.dots_id|tojson }} + '" patternUnits="userSpaceOnUse" '
                    + 'width="12" height="12">'
                    + '<circle cx="6" cy="6" r="3.2" fill="' + {{ this.colour|tojson }} + '" '
                    + 'stroke="#ffffff" stroke-opacity="0.8" stroke-width="1.2"/>'
                    + '</pattern></defs></svg>';
                document.body.insertAdjacentHTML("beforeend", svg);
                var style = document.createElement("style");
                style.textContent = "path." + {{ this.css_class|tojson }} + "{fill:url(#"
                    + {{ this.pattern_id|tojson }} + ");fill-opacity:1}"
                    + "path." + {{ this.prefecture_class|tojson }} + "{fill:url(#"
                    + {{ this.dots_id|tojson }} + ");fill-opacity:1}";
                document.head.appendChild(style);
            })();
        {% endmacro %}
        """
    )

    def __init__(self, *, colour: str = GAP_COLOUR):
        super().__init__()
        self._name = "HatchPattern"
        self.pattern_id = HATCH_ID
        self.css_class = GAP_CLASS
        self.dots_id = DOTS_ID
        self.prefecture_class = PREFECTURE_GAP_CLASS
        self.colour = colour


class Highlight(MacroElement):
    """Gap hatching, focus outline and the map view, from adcodes only.

    Parameters
    ----------
    gaps : iterable of str
        Units failing the chosen rule: hatched, dashed outline.
    gap_layer : {"counties", "prefectures"}
        Which registered layer holds them (the rule's level).
    prefecture_gaps : iterable of str
        Prefectures failing a prefecture-level rule, shown beside county ``gaps``
        (all the mandatory rules at once): dotted, longer dashes, drawn first.
    focus : iterable of str
        Units of the sidebar filter: solid outline; the map fits them.
    focus_layer : {"counties", "prefectures"}
        Which registered layer holds them.
    fit : bool
        Fit the map to the focus, or to all counties when there is none.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            (function () {
                var map = window.geoappMap;
                var layers = window.geoappLayers || {};
                var group = {{ this._parent.get_name() }};
                function features(role, codes) {
                    var want = {}, out = [];
                    codes.forEach(function (c) { want[c] = true; });
                    if (layers[role]) {
                        layers[role].eachLayer(function (l) {
                            if (l.feature && want[l.feature.properties.adcode]) { out.push(l.feature); }
                        });
                    }
                    return out;
                }
                function draw(feats, style) {
                    return L.geoJson(feats, {interactive: false, style: function () { return style; }}).addTo(group);
                }
                var prefectureGaps = features("prefectures", {{ this.prefecture_gaps|tojson }});
                if (prefectureGaps.length) {
                    draw(prefectureGaps, {{ this.halo_style|tojson }});
                    draw(prefectureGaps, {{ this.prefecture_gap_style|tojson }});
                }
                var gaps = features({{ this.gap_layer|tojson }}, {{ this.gaps|tojson }});
                if (gaps.length) {
                    draw(gaps, {{ this.halo_style|tojson }});
                    draw(gaps, {{ this.gap_style|tojson }});
                }
                var focus = features({{ this.focus_layer|tojson }}, {{ this.focus|tojson }});
                if (focus.length) {
                    draw(focus, {{ this.halo_style|tojson }});
                    draw(focus, {{ this.focus_style|tojson }});
                }
                {%- if this.fit %}
                var target = focus.length ? L.geoJson(focus).getBounds()
                    : (layers.counties ? layers.counties.getBounds() : null);
                if (map && target && target.isValid()) {
                    map.fitBounds(target, {animate: false, padding: [6, 6]});
                }
                {%- endif %}
            })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        *,
        gaps: Iterable[str] = (),
        gap_layer: str = "counties",
        prefecture_gaps: Iterable[str] = (),
        focus: Iterable[str] = (),
        focus_layer: str = "counties",
        fit: bool = True,
    ):
        super().__init__()
        self._name = "Highlight"
        for layer in (gap_layer, focus_layer):
            if layer not in ("counties", "prefectures"):
                msg = f"layer must be 'counties' or 'prefectures', got {layer!r}"
                raise ValueError(msg)
        self.gaps = sorted({str(c) for c in gaps})
        self.gap_layer = gap_layer
        self.prefecture_gaps = sorted({str(c) for c in prefecture_gaps})
        self.focus = sorted({str(c) for c in focus})
        self.focus_layer = focus_layer
        self.fit = fit
        self.gap_style = GAP_STYLE
        self.prefecture_gap_style = PREFECTURE_GAP_STYLE
        self.focus_style = FOCUS_STYLE
        self.halo_style = HALO_STYLE


def gap_swatch_css(*, size: str = "1.2em") -> str:
    """Inline CSS of a legend swatch that looks like a hatched, dashed gap."""
    return (
        f"display:inline-block;width:{size};height:1em;vertical-align:-.1em;"
        f"border:2px dashed {GAP_COLOUR};"
        f"background:repeating-linear-gradient(45deg,{GAP_COLOUR} 0 3px,"
        "rgba(255,255,255,.8) 3px 4.5px,transparent 4.5px 7px);"
    )


def prefecture_gap_swatch_css(*, size: str = "1.2em") -> str:
    """Inline CSS of a legend swatch that looks like a dotted, dashed prefecture gap."""
    return (
        f"display:inline-block;width:{size};height:1em;vertical-align:-.1em;"
        f"border:2px dashed {GAP_COLOUR};"
        f"background:radial-gradient(circle,{GAP_COLOUR} 0 2.5px,transparent 3px) 0 0/7px 7px;"
    )
