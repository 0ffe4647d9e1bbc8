"""Folium page plumbing shared by every petatps map page: base map, vendored assets, page template.

:func:`new_map` starts a page (Bahasa Indonesia first, a table below the map), :class:`Script` adds a
block of page JavaScript, :func:`finish` points every JS/CSS link at the vendored copies and numbers
element ids in tree order, and :func:`render_html` gives the page text — byte-identical for the same
data. An asset with no vendored copy raises instead of reaching a CDN. The builders of the map pages
themselves are in :mod:`geo.maps` and :mod:`geo.coverage_page`.
"""

from __future__ import annotations

import dataclasses
import html
import re

import folium
import geopandas as gpd
import orjson
from branca.element import Element, Figure
from folium.elements import JSCSSMixin, MacroElement
from folium.template import Template


@dataclasses.dataclass(frozen=True)
class BaseMap:
    """The raster base map: tile URL template, attribution (HTML) and its highest zoom."""

    url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    attribution: str = ('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
                        'contributors')
    max_zoom: int = 19


OSM = BaseMap()
# folium asset name -> vendored file (relative to the assets prefix)
ASSETS = {
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/MarkerCluster.Default.css",
}
UNUSED_ASSETS = frozenset({"jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css",
                           "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css"})
JAKARTA = (-6.2, 106.83)
_STABLE_ID = re.compile(r"p\d{4,}")

_PAGE = Template("""<!DOCTYPE html>
<html lang="id">
<head>
<meta charset="utf-8">
<title>{{ this.title }}</title>
{{ this.header.render(**kwargs) }}
<style>
body{font-family:system-ui,sans-serif;line-height:1.4}
.ptps-head,.ptps-body{padding:.5rem 1rem}.ptps-head h1{font-size:1.3rem;margin:.2rem 0}
.ptps-body table{border-collapse:collapse;font-size:.9rem}
.ptps-body th,.ptps-body td{border:1px solid #bbb;padding:.2rem .4rem;text-align:left;vertical-align:top}
.ptps-legend{background:#fff;padding:.4rem;font-size:.8rem;line-height:1.5}
.ptps-legend i{display:inline-block;width:1rem;height:.8rem;margin-right:.3rem;border:1px solid #999}
</style>
</head>
<body>
{{ this.page_top }}
{{ this.html.render(**kwargs) }}
{{ this.page_bottom }}
</body>
<script>
{{ this.script.render(**kwargs) }}
</script>
</html>
""")

# ``{map}`` in the code is the map's variable, resolved at render time (ids are renumbered late).
_SCRIPT = """{% macro script(this, kwargs) %}
{{ this.code | replace("{map}", this._parent.get_name()) }}
{% endmacro %}"""


class Script(MacroElement):
    """A block of page JavaScript (data embedded as escaped JSON)."""

    _template = Template(_SCRIPT)

    def __init__(self, code: str):
        super().__init__()
        self._name = "PetaTps"
        self.code = code



def render_html(m: folium.Map) -> str:
    """The whole page of a map built here, as text (deterministic for the same data)."""
    fig = m.get_root()
    _stabilise_ids(fig)
    # Rendering fills the figure's header/html/script; restore them so a second render is equal.
    saved = {part: getattr(fig, part)._children.copy() for part in ("header", "html", "script")}
    try:
        return fig.render()
    finally:
        for part, children in saved.items():
            getattr(fig, part)._children = children


def localise_assets(m: folium.Map, assets: str) -> None:
    """Point every JS/CSS link of the map at the vendored files under ``assets``.

    folium's unused defaults (jQuery, Bootstrap, ...) are dropped; an asset with no vendored
    copy raises ``ValueError`` rather than reaching for a CDN.
    """
    for el in _walk(m.get_root()):
        if isinstance(el, JSCSSMixin):
            el.default_js = _local(type(el).default_js, assets)
            el.default_css = _local(type(el).default_css, assets)




def new_map(title: str, base_map: BaseMap, extent: gpd.GeoDataFrame | None, zoom: int = 11) -> folium.Map:
    fig = Figure(title=html.escape(title))  # folium writes the title into <title> unescaped
    fig._template = _PAGE
    fig.page_top = fig.page_bottom = ""
    m = folium.Map(location=JAKARTA, zoom_start=zoom, tiles=None, height="72vh", control_scale=True)
    fig.add_child(m)
    folium.TileLayer(tiles=base_map.url, attr=base_map.attribution, max_zoom=base_map.max_zoom,
                     name="Peta dasar / Base map").add_to(m)
    if extent is not None and len(extent) and not extent.geometry.is_empty.all():
        w, s, e, n = (round(float(v), 6) for v in extent.total_bounds)
        if (w, s) == (e, n):
            m.location = [s, w]
        else:
            m.fit_bounds([[s, w], [n, e]], max_zoom=zoom)
    return m


def finish(m: folium.Map, assets: str) -> folium.Map:
    localise_assets(m, assets)
    _stabilise_ids(m.get_root())
    return m



def _local(links: list[tuple[str, str]], assets: str) -> list[tuple[str, str]]:
    out = []
    for name, url in links:
        if name in UNUSED_ASSETS:
            continue
        if name not in ASSETS:
            raise ValueError(f"map asset {name!r} ({url}) has no vendored copy; add it to "
                             f"web/static/vendor and geo.map_page.ASSETS instead of loading it from a CDN")
        out.append((name, assets + ASSETS[name]))
    return out


def _walk(el: Element):
    # The element tree only: figure.header/html/script hold render output, rebuilt on each render.
    yield el
    for child in list(el._children.values()):
        yield from _walk(child)


def _stabilise_ids(root: Element) -> None:
    # folium ids are random hex: number them in tree order so equal maps render equal bytes.
    # Numbered elements keep their id, so elements folium adds while rendering shift nothing.
    elements = list(_walk(root))
    taken = [int(el._id[1:]) for el in elements if _STABLE_ID.fullmatch(el._id)]
    n = max(taken, default=-1) + 1
    for el in elements:
        if not _STABLE_ID.fullmatch(el._id):
            el._id, n = f"p{n:04d}", n + 1


def script_json(obj) -> str:
    """JSON text safe inside a <script> element (``<``, ``>``, ``&`` escaped)."""
    return js_bytes(orjson.dumps(obj))


def js_bytes(data: bytes) -> str:
    # JSON inside <script>: escape what could close the element or start a comment.
    return (data.decode().replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))

