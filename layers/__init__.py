"""Map layers of the dashboard (folium).

Importing this package makes text given to ``branca.element.Element(...)`` literal
(:func:`layers.safe.install`): branca and folium wrap every rendered macro in such an
element and would otherwise run any ``{{ ... }}`` a facility name carries as a Jinja
template on the server.
"""

from layers import safe as _safe

_safe.install()
