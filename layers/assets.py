"""Serve the maps' scripts, stylesheets and fonts from the app, never from a CDN.

folium links Leaflet, jQuery, Bootstrap, Font Awesome, the awesome-markers, marker
clusters, topojson, ... from public CDNs: each element class lists its links in
``default_js`` / ``default_css`` (``folium.folium._default_js`` for the Map). No CDN is
reachable on a government intranet, so those files are vendored under
``static/vendor/`` (``scripts/vendor_assets.py``; Streamlit serves ``./static/`` at
``/app/static/`` with ``server.enableStaticServing``) and :func:`localize` points every
element of a map at them::

    fmap = base_map(...)            # add every layer, marker, cluster, control first
    localize(fmap)                  # raises CdnAssetError if a link has no local copy
    st_folium(fmap, ...)

streamlit-folium renders the map in an iframe served from ``/component/...``: it drops
the header's ``<script src>``/``<link>`` tags and instead loads the ``default_js`` /
``default_css`` lists it collects from the element tree itself, which is why the
rewrite happens on the elements (not on the rendered HTML) and why the URLs are
absolute paths. Behind a reverse proxy with ``server.baseUrlPath = "geoapp"`` pass
``base_url="/geoapp/app/static/vendor"``. Feature groups handed to ``st_folium`` through
``feature_group_to_add`` are not in the map's tree: localize them too.

This module does not import streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from branca.element import CssLink, Element, JavascriptLink, MacroElement
from folium import Map
from folium.template import Template

__all__ = [
    "CDN_TO_VENDOR",
    "DEFAULT_BASE_URL",
    "VENDOR_DIR",
    "CdnAssetError",
    "LeafletImagePath",
    "cdn_urls_in",
    "local_url",
    "localize",
    "missing_vendor_files",
    "vendor_paths_in",
]

VENDOR_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor"
DEFAULT_BASE_URL = "/app/static/vendor"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "[::1]"})

_LEAFLET_IMAGES = "leaflet/images/"
_JSDELIVR = "https://cdn.jsdelivr.net"
_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs"

#: Every CDN URL with a local copy -> its path under static/vendor/. The URLs are
#: spelled exactly as folium 0.20 writes them; scripts/vendor_assets.py refuses to
#: build if a target here is not vendored.
CDN_TO_VENDOR: Mapping[str, str] = MappingProxyType(
    {
        # folium.Map (folium.folium._default_js / _default_css)
        f"{_JSDELIVR}/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet/leaflet.js",
        f"{_JSDELIVR}/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet/leaflet.css",
        "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
        f"{_JSDELIVR}/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": (
            "bootstrap/js/bootstrap.bundle.min.js"
        ),
        f"{_JSDELIVR}/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": (
            "bootstrap/css/bootstrap.min.css"
        ),
        "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": (
            "bootstrap3-glyphicons/css/bootstrap-glyphicons.css"
        ),
        f"{_JSDELIVR}/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": (
            "fontawesome-free/css/all.min.css"
        ),
        f"{_CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": (
            "leaflet.awesome-markers/leaflet.awesome-markers.min.js"
        ),
        f"{_CDNJS}/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": (
            "leaflet.awesome-markers/leaflet.awesome-markers.css"
        ),
        f"{_JSDELIVR}/gh/python-visualization/folium/folium/templates/"
        "leaflet.awesome.rotate.min.css": "folium/leaflet.awesome.rotate.min.css",
        # the same jQuery, as the timestamped plugins spell it
        f"{_CDNJS}/jquery/3.7.1/jquery.min.js": "jquery/jquery.min.js",
        # folium.TopoJson
        f"{_CDNJS}/topojson/1.6.9/topojson.min.js": "topojson-client/topojson-client.min.js",
        # folium.plugins.MarkerCluster, FastMarkerCluster
        f"{_CDNJS}/leaflet.markercluster/1.1.0/leaflet.markercluster.js": (
            "leaflet.markercluster/leaflet.markercluster.js"
        ),
        f"{_CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.css": (
            "leaflet.markercluster/MarkerCluster.css"
        ),
        f"{_CDNJS}/leaflet.markercluster/1.1.0/MarkerCluster.Default.css": (
            "leaflet.markercluster/MarkerCluster.Default.css"
        ),
        # folium.plugins.FeatureGroupSubGroup
        "https://unpkg.com/leaflet.featuregroup.subgroup@1.0.2/dist/"
        "leaflet.featuregroup.subgroup.js": (
            "leaflet.featuregroup.subgroup/leaflet.featuregroup.subgroup.js"
        ),
        # folium.plugins.Fullscreen
        f"{_JSDELIVR}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js": (
            "leaflet.fullscreen/Control.FullScreen.js"
        ),
        f"{_JSDELIVR}/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.css": (
            "leaflet.fullscreen/Control.FullScreen.css"
        ),
    }
)


class CdnAssetError(LookupError):
    """Links to remote assets that have no local copy under static/vendor/."""

    def __init__(self, urls: Iterable[str], *, where: Mapping[str, str] | None = None):
        self.urls = sorted(set(urls))
        where = where or {}
        lines = [f"  {u}" + (f"  (from {where[u]})" if u in where else "") for u in self.urls]
        super().__init__(
            f"{len(self.urls)} asset URL(s) of the map have no local copy, and no CDN is "
            "reachable from the dashboard:\n"
            + "\n".join(lines)
            + "\nVendor them: add the npm package to package.json and the files to "
            "scripts/vendor_assets.py, map each URL in layers/assets.py CDN_TO_VENDOR, "
            "run `python scripts/vendor_assets.py` and commit static/vendor/."
        )


def _is_remote(url: str) -> bool:
    parts = urlsplit(url.strip())
    if parts.scheme in ("http", "https") or (not parts.scheme and url.strip().startswith("//")):
        return (parts.hostname or "") not in LOCAL_HOSTS
    return False  # a path on this server (or data:, blob:)


def local_url(url: str, *, base_url: str = DEFAULT_BASE_URL) -> str:
    """The local URL serving ``url``; local URLs come back unchanged.

    Raises :class:`CdnAssetError` for a remote URL with no vendored copy.
    """
    if not _is_remote(url):
        return url
    try:
        rel = CDN_TO_VENDOR[url.strip()]
    except KeyError:
        raise CdnAssetError([url]) from None
    return f"{base_url.rstrip('/')}/{rel}"


def _walk(element: Element) -> Iterator[Element]:
    seen: set[int] = set()
    stack = [element]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        yield node
        stack.extend(reversed(list(getattr(node, "_children", {}).values())))
        # a Figure keeps header/html/script as attributes; a DualMap its two maps
        for attr in ("header", "html", "script", "m1", "m2"):
            child = getattr(node, attr, None)
            if isinstance(child, Element):
                stack.append(child)


def _colormap_class() -> type | None:
    try:
        from branca.colormap import ColorMap
    except ImportError:  # pragma: no cover
        return None
    return ColorMap


# What some elements link while rendering, outside default_js / default_css:
# branca's colour maps (folium.Choropleth legends, LinearColormap.add_to(map)) add d3
# in their render(), and streamlit-folium adds two d3 URLs for each of them by hand.
_COLORMAP_LINKS = (
    "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js",
    "https://d3js.org/d3.v4.min.js",
)


class LeafletImagePath(MacroElement):
    """Sets ``L.Icon.Default.imagePath`` before any marker of the map is made.

    Leaflet finds its default marker images through leaflet.css; streamlit-folium
    adds the stylesheets only after the scripts, so when the first default marker is
    made the CSS may not apply yet and Leaflet falls back to a path cut from the
    <link> (``.../leafletmarker-icon.png``: a 404, and a CDN request had it been
    folium's link). :func:`localize` puts this element first among a map's children.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            L.Icon.Default.imagePath = {{ this.image_path|tojson }};
        {% endmacro %}
        """
    )

    def __init__(self, image_path: str):
        super().__init__()
        self._name = "LeafletImagePath"
        self.image_path = image_path


def localize(element: Element, *, base_url: str = DEFAULT_BASE_URL) -> Element:
    """Point every asset link of ``element``'s tree at the vendored copies.

    Walks the whole tree from ``element.get_root()`` (the Figure once the map is in
    one, else ``element`` itself): each element's ``default_js`` / ``default_css``
    becomes an instance list of local URLs (the class lists are never modified), and
    ``JavascriptLink`` / ``CssLink`` elements already in a header get a local ``url``.
    Each folium Map also gets a :class:`LeafletImagePath` as first child, so
    that Leaflet's default marker images come from the vendored copy.
    Call it after the last child is added and before rendering; calling it again
    is harmless. All-or-nothing: if any remote URL has no local copy, nothing is
    changed and :class:`CdnAssetError` lists every such URL with the element
    that links it. Returns ``element``.
    """
    root = element.get_root() if hasattr(element, "get_root") else element
    colormap = _colormap_class()
    missing: dict[str, str] = {}
    updates: list[tuple[Element, str, object]] = []

    def mapped(url: str, owner: Element) -> str:
        try:
            return local_url(url, base_url=base_url)
        except CdnAssetError:
            missing.setdefault(url, type(owner).__name__)
            return url

    for node in _walk(root):
        for attr in ("default_js", "default_css"):
            links = getattr(node, attr, None)
            if links:
                updates.append((node, attr, [(name, mapped(url, node)) for name, url in links]))
        if isinstance(node, (JavascriptLink, CssLink)) and isinstance(node.url, str):
            updates.append((node, "url", mapped(node.url, node)))
        if colormap is not None and isinstance(node, colormap):
            for url in _COLORMAP_LINKS:
                missing.setdefault(url, f"{type(node).__name__} (d3 for the legend)")
    if missing:
        raise CdnAssetError(missing, where=missing)
    for node, attr, value in updates:
        setattr(node, attr, value)
    image_path = f"{base_url.rstrip('/')}/{_LEAFLET_IMAGES}"
    for node in list(_walk(root)):
        if isinstance(node, Map):
            node.add_child(LeafletImagePath(image_path), name="leaflet_image_path", index=0)
    return element


# Namespace identifiers that look like URLs but are never fetched.
_NAMESPACES = (
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1999/xlink",
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/XML/1998/namespace",
)
_ABSOLUTE_RE = re.compile(r"https?://[^\s\"'<>()\\`]+", re.IGNORECASE)
# protocol-relative URLs only where a resource is loaded: src=, href=, url()
_RELATIVE_RE = re.compile(
    r"""(?:\b(?:src|href)\s*=\s*["']?|url\(\s*["']?)(//[^\s"'<>()\\]+)""",
    re.IGNORECASE,
)


def cdn_urls_in(html: str, *, allowed_hosts: Iterable[str] = LOCAL_HOSTS) -> list[str]:
    """Every http(s) or protocol-relative URL in ``html`` whose host is not allowed.

    In order of first appearance, without duplicates. For tests of rendered maps: a
    localized tile-less map must give ``[]`` (tile layers, image overlays and links
    in attributions count as well: anything that names another host).
    """
    allowed = {h.lower() for h in allowed_hosts}
    hits = [(m.start(), m.group(0)) for m in _ABSOLUTE_RE.finditer(html)]
    hits += [(m.start(1), m.group(1)) for m in _RELATIVE_RE.finditer(html)]
    found: dict[str, None] = {}
    for _, url in sorted(hits):
        url = url.rstrip(".,;")
        if url.startswith(_NAMESPACES):
            continue
        host = (urlsplit(url if "://" in url else "http:" + url).hostname or "").lower()
        if host not in allowed:
            found.setdefault(url, None)
    return list(found)


def vendor_paths_in(html: str, *, base_url: str = DEFAULT_BASE_URL) -> list[str]:
    """The static/vendor/-relative paths ``html`` refers to under ``base_url``."""
    prefix = re.escape(base_url.rstrip("/") + "/")
    return list(dict.fromkeys(re.findall(prefix + r"""([^\s"'<>()\\?#]+)""", html)))


def missing_vendor_files(paths: Iterable[str] | None = None) -> list[str]:
    """Those of ``paths`` (default: every target of CDN_TO_VENDOR) not on disk."""
    paths = CDN_TO_VENDOR.values() if paths is None else paths
    return sorted({p for p in paths if not (VENDOR_DIR / p).is_file()})
