"""The county choropleth and prefecture borders, drawn from the display TopoJSON.

No streamlit here: builders take data and return folium elements.
"""

from __future__ import annotations

import copy
import html

import folium
import mapclassify
import numpy as np
import pandas as pd

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
    for colour, high in zip(palette, breaks):
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
    """A copy of the topology whose county features carry ``values`` (indexed by adcode)."""
    topo = copy.deepcopy(topology)
    lookup = values.to_dict(orient="index")
    for geom in topo["objects"][object_name]["geometries"]:
        props = geom.setdefault("properties", {})
        for key, value in lookup.get(props.get("adcode"), {}).items():
            props[key] = html.escape(value) if isinstance(value, str) else value
    return topo


def county_choropleth(
    topology: dict,
    table: pd.DataFrame,
    *,
    value_col: str,
    name: str,
    tooltip_fields: list[str],
    tooltip_aliases: list[str],
    highlight: set[str] | None = None,
) -> tuple[folium.TopoJson, list[float]]:
    """Counties coloured by ``value_col`` in quantile classes, with tooltips.

    ``highlight``: adcodes drawn with a thick dashed outline (meaning carried by the
    line, not only by colour).
    """
    breaks = class_breaks(table[value_col])
    palette = _palette(len(breaks))
    values = table.set_index("adcode")[list(dict.fromkeys([value_col, *tooltip_fields]))]
    topo = with_properties(topology, values)
    colours = {a: (palette[c] if (c := class_of(v, breaks)) is not None else NO_DATA)
               for a, v in values[value_col].items()}
    chosen = highlight or set()

    def style(feature: dict) -> dict:
        code = feature["properties"].get("adcode")
        marked = code in chosen
        return {
            "fillColor": colours.get(code, NO_DATA),
            "fillOpacity": 0.75,
            "color": "#000000" if marked else "#555555",
            "weight": 3 if marked else 0.8,
            "dashArray": "6 4" if marked else None,
        }

    layer = folium.TopoJson(
        topo,
        object_path="objects.counties",
        name=name,
        style_function=style,
        tooltip=folium.GeoJsonTooltip(fields=tooltip_fields, aliases=tooltip_aliases, localize=True),
    )
    return layer, breaks


def prefecture_borders(topology: dict, *, name: str) -> folium.TopoJson:
    """Prefecture outlines, drawn above the counties, not interactive."""
    return folium.TopoJson(
        topology,
        object_path="objects.prefectures",
        name=name,
        style_function=lambda _: {"fill": False, "color": "#111111", "weight": 2.2},
        control=False,
    )
