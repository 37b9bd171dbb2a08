"""The county choropleth and prefecture borders, drawn from the display TopoJSON.

No streamlit here: builders take data and return folium elements.

Both layers are :class:`TopoLayer` s: the topology is embedded once (the borders layer
reads the counties layer's copy), each layer registers itself as
``window.geoappLayers.<role>`` so that the overlays of :mod:`layers.overlays` can find
the drawn features without shipping them again, and a layer can be made
non-interactive (the borders must not catch the clicks meant for a county).
"""

from __future__ import annotations

import folium
import mapclassify
import numpy as np
import pandas as pd
from folium.template import Template

from geoapp import display
from layers.jsdata import script_json
from layers.safe import FeatureTooltip

COUNTIES = "counties"
PREFECTURES = "prefectures"

# ColorBrewer YlGnBu, 5 classes: sequential and safe for colour-vision deficiencies.
PALETTE = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
NO_DATA = "#d9d9d9"


def class_breaks(values: pd.Series, *, k: int = 5) -> list[float]:
    """Upper bounds of ``k`` quantile classes (fewer when values repeat)."""
    clean = values.dropna().astype(float)
    if clean.empty:
        return []
    k = max(1, min(k, clean.nunique()))
    return [float(b) for b in mapclassify.Quantiles(clean.to_numpy(), k=k).bins]


def class_of(value: float, breaks: list[float]) -> int | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or not breaks:
        return None
    return int(np.searchsorted(breaks, value, side="left").clip(0, len(breaks) - 1))


def legend_rows(breaks: list[float]) -> list[tuple[str, str]]:
    """(colour, range label) per class, for a legend and its text alternative."""
    rows, low = [], None
    palette = _palette(len(breaks))
    for colour, high in zip(palette, breaks, strict=False):
        label = f"≤ {high:,.0f}" if low is None else f"{low:,.0f} – {high:,.0f}"
        rows.append((colour, label))
        low = high
    return rows


def _palette(n: int) -> tuple[str, ...]:
    if n >= len(PALETTE):
        return PALETTE
    idx = np.linspace(0, len(PALETTE) - 1, n).round().astype(int)
    return tuple(PALETTE[i] for i in idx)


def with_properties(topology: dict, values: pd.DataFrame, *, object_name: str = "counties") -> dict:
    """A copy of the topology (sharing its arcs) whose county features carry ``values``
    (indexed by adcode).

    Texts stay as they are: tooltips (:class:`layers.safe.FeatureTooltip`) show them
    with ``textContent``, and the topology reaches the page through
    :func:`layers.jsdata.script_json`.
    """
    # New dicts down to each geometry's properties (what folium's styling writes to);
    # the arcs, large and never written to, are shared with ``topology``.
    objects = {
        name: {
            **obj,
            "geometries": [
                {**geom, "properties": dict(geom.get("properties") or {})}
                for geom in obj.get("geometries", [])
            ],
        }
        for name, obj in topology["objects"].items()
    }
    lookup = values.to_dict(orient="index")
    for geom in objects[object_name]["geometries"]:
        geom["properties"].update(lookup.get(geom["properties"].get("adcode"), {}))
    return {**topology, "objects": objects}


class TopoLayer(folium.TopoJson):
    """A TopoJSON layer that can share its data, register itself and ignore the mouse.

    ``data_from``: another TopoLayer of the same map, rendered before this one, whose
    embedded topology this layer reads instead of embedding its own copy (then
    ``style`` must be a constant style dict: folium's per-feature styles are written
    into the data when the first layer renders). ``role``: the name under which the
    Leaflet layer is kept in ``window.geoappLayers``. ``interactive``: False for a
    layer drawn above others that must let clicks and tooltips through.
    Works with quantized and unquantized topologies (see
    :func:`geoapp.display.topology_to_datum`).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            {%- if this.data_from is none %}
            var {{ this.get_name() }}_data = {{ this.data_json }};
            {%- else %}
            var {{ this.get_name() }}_data = {{ this.data_from.get_name() }}_data;
            {%- endif %}
            var {{ this.get_name() }} = L.geoJson(
                topojson.feature(
                    {{ this.get_name() }}_data,
                    {{ this.get_name() }}_data{{ this._safe_object_path }}
                ),
                {
                    interactive: {{ this.interactive|tojson }},
                    {%- if this.style is not none %}
                    style: function () { return {{ this.style|tojson }}; },
                    {%- else %}
                    style: function (feature) { return feature.properties.style; },
                    {%- endif %}
                }
            ).addTo({{ this._parent.get_name() }});
            {%- if this.role %}
            window.geoappLayers = window.geoappLayers || {};
            window.geoappLayers[{{ this.role|tojson }}] = {{ this.get_name() }};
            {%- endif %}
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: dict | None,
        object_path: str,
        *,
        data_from: TopoLayer | None = None,
        style: dict | None = None,
        role: str | None = None,
        interactive: bool = True,
        **kwargs,
    ):
        if data is None and data_from is None:
            msg = "TopoLayer needs data or data_from"
            raise ValueError(msg)
        if data_from is not None and style is None:
            msg = "a TopoLayer reading another layer's data needs a constant style"
            raise ValueError(msg)
        super().__init__(data if data is not None else data_from.data, object_path, **kwargs)
        self.data_from = data_from
        self.style = style
        self.role = role
        self.interactive = interactive

    def style_data(self) -> None:
        if self.style is None:
            super().style_data()
        # called by render() right before the template: serialise the styled data once
        self.data_json = script_json(self.data) if self.data_from is None else ""

    def get_bounds(self) -> list[list[float]]:
        return display.topology_bounds(self.data)


def county_choropleth(
    topology: dict,
    table: pd.DataFrame,
    *,
    value_col: str,
    name: str,
    tooltip_fields: list[str],
    tooltip_aliases: list[str],
    highlight: set[str] | None = None,
    fill_opacity: float = 0.75,
) -> tuple[TopoLayer, list[float]]:
    """Counties coloured by ``value_col`` in quantile classes, with tooltips.

    The classes come from the whole ``table``, so that a filtered view keeps the
    colours of the full map. ``highlight``: adcodes drawn with a thick solid outline
    (the meaning is in the line, not only in colour; dashed outlines mean a coverage
    gap, see :mod:`layers.overlays`). ``fill_opacity``: lower it over a basemap.
    The layer registers as ``window.geoappLayers.counties``.
    """
    breaks = class_breaks(table[value_col])
    palette = _palette(len(breaks))
    values = table.set_index("adcode", drop=False)[
        list(dict.fromkeys([value_col, *tooltip_fields]))
    ]
    topo = with_properties(topology, values)
    colours = {
        a: (palette[c] if (c := class_of(v, breaks)) is not None else NO_DATA)
        for a, v in values[value_col].items()
    }
    chosen = highlight or set()

    def style(feature: dict) -> dict:
        code = feature["properties"].get("adcode")
        marked = code in chosen
        return {
            "fillColor": colours.get(code, NO_DATA),
            "fillOpacity": fill_opacity,
            "color": "#000000" if marked else "#555555",
            "weight": 3 if marked else 0.8,
        }

    layer = TopoLayer(
        topo,
        object_path=f"objects.{COUNTIES}",
        name=name,
        role=COUNTIES,
        style_function=style,
    )
    FeatureTooltip(tooltip_fields, aliases=tooltip_aliases, localize=True).add_to(layer)
    return layer, breaks


PREFECTURE_STYLE = {"fill": False, "color": "#111111", "weight": 2.2}


def prefecture_borders(
    topology: dict | None = None, *, name: str, counties: TopoLayer | None = None
) -> TopoLayer:
    """Prefecture outlines, drawn above the counties, not interactive.

    Pass the ``counties`` layer (added to the map before this one) to reuse its
    embedded topology instead of shipping a second copy. The layer registers as
    ``window.geoappLayers.prefectures``.
    """
    return TopoLayer(
        topology,
        object_path=f"objects.{PREFECTURES}",
        data_from=counties,
        style=PREFECTURE_STYLE,
        role=PREFECTURES,
        interactive=False,
        name=name,
        control=False,
    )
