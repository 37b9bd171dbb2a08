"""The base map: no tiles by default (the county layer is the map), fitted to a focus."""

from __future__ import annotations

import folium
import geopandas as gpd

from layers import facilities as facility_layers


def base_map(counties: gpd.GeoDataFrame, *, focus: set[str] | None = None) -> folium.Map:
    """A tile-less map fitted to the ``focus`` counties (all when empty)."""
    shown = counties[counties["adcode"].isin(focus)] if focus else counties
    minx, miny, maxx, maxy = shown.total_bounds
    fmap = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, zoom_start=6,
        control_scale=True, attribution_control=False,
    )
    # Without tiles folium sets no zoom range, and marker clusters refuse a map
    # without maxZoom.
    # Fractional zoom lets fit_bounds fill the frame instead of snapping a level out.
    fmap.options.update(max_zoom=14, min_zoom=5, zoom_snap=0.25, zoom_delta=0.5)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    fmap.get_root().header.add_child(folium.Element(facility_layers.MARKER_CSS))
    return fmap
