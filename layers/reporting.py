"""The reporting-status layer (报送情况): every county-level unit by where its report for
a quarter stands, in colour *and* in line style and a symbol, so that no meaning rests
on colour alone.

========================  ==========  =============  ======
state                     fill        outline        symbol
========================  ==========  =============  ======
``approved_on_time``      green       solid          ✓
``approved_late``         sky blue    solid, thick   ✓!
``pending``               orange      dotted         …
``returned``              vermillion  dash-dot       ↩
``not_submitted``         white       dashed         ✗
========================  ==========  =============  ======

The colours are the Okabe-Ito palette (safe for the common colour-vision
deficiencies). Names reach the map only through :class:`layers.safe.FeatureTooltip`
(as JSON, shown with ``textContent``); the symbols are fixed text of this module.
"""

from __future__ import annotations

import folium
import geopandas as gpd
import pandas as pd

from layers.counties import COUNTIES, TopoLayer, with_properties
from layers.safe import FeatureTooltip

__all__ = ["STATE_STYLE", "status_layer", "status_symbols"]

#: state -> (fill colour, dash array or None, outline weight, symbol)
STATE_STYLE = {
    "approved_on_time": ("#009E73", None, 1.2, "✓"),
    "approved_late": ("#56B4E9", None, 2.6, "✓!"),
    "pending": ("#E69F00", "2 4", 2.0, "…"),
    "returned": ("#D55E00", "8 4 2 4", 2.4, "↩"),
    "not_submitted": ("#FFFFFF", "6 4", 1.6, "✗"),
}


def status_layer(
    topology: dict, status: pd.DataFrame, *, name: str, labels: dict[str, str], aliases: list[str]
) -> TopoLayer:
    """Counties styled by ``status["state"]`` with a tooltip of name and state.

    ``status``: ``adcode, name, state`` (:func:`geoapp.store.status.reporting_status`);
    ``labels``: state -> its words in the page's language; ``aliases``: the tooltip's
    two headings (unit, status).
    """
    table = status[["adcode", "name", "state"]].copy()
    table["state_text"] = [
        f"{STATE_STYLE[s][3]} {labels.get(s, s)}" for s in table["state"]
    ]  # the symbol first: the tooltip carries the state without colour too
    states = dict(zip(table["adcode"], table["state"], strict=True))
    topo = with_properties(topology, table.set_index("adcode", drop=False))

    def style(feature: dict) -> dict:
        fill, dash, weight, _ = STATE_STYLE[
            states.get(feature["properties"].get("adcode"), "not_submitted")
        ]
        return {
            "fillColor": fill,
            "fillOpacity": 0.7,
            "color": "#222222",
            "weight": weight,
            "dashArray": dash,
        }

    layer = TopoLayer(
        topo, object_path=f"objects.{COUNTIES}", name=name, role=COUNTIES, style_function=style
    )
    FeatureTooltip(["name", "state_text"], aliases=aliases, localize=True).add_to(layer)
    return layer


def status_symbols(
    counties: gpd.GeoDataFrame, status: pd.DataFrame, *, name: str
) -> folium.FeatureGroup:
    """A symbol (✓, ✓!, …, ↩, ✗) inside each unit (``counties``: ``adcode, geometry``,
    WGS84): the state readable on a grey-scale print or by a colour-blind reader."""
    group = folium.FeatureGroup(name=name)
    states = dict(zip(status["adcode"], status["state"], strict=True))
    points = counties.geometry.representative_point()
    for adcode, point in zip(counties["adcode"], points, strict=True):
        symbol = STATE_STYLE[states.get(adcode, "not_submitted")][3]
        folium.Marker(
            (point.y, point.x),
            icon=folium.DivIcon(
                html=(
                    '<div aria-hidden="true" style="font:700 14px sans-serif;color:#111;'
                    'text-shadow:0 0 3px #fff,0 0 3px #fff;transform:translate(-50%,-50%)">'
                    f"{symbol}</div>"
                ),
                icon_size=(24, 16),
                icon_anchor=(0, 0),
            ),
            interactive=False,
        ).add_to(group)
    return group
