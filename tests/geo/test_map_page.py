"""geo.map_page: the page plumbing every map page shares (vendored assets, stable ids, safe script JSON)."""

from __future__ import annotations

import json
import re

import folium.plugins
import geopandas as gpd
import pytest
import shapely

from geo import map_page


def _page(extent: gpd.GeoDataFrame | None = None, code: str = "console.log({map});") -> folium.Map:
    m = map_page.new_map("Peta <uji> & coba", map_page.OSM, extent, zoom=14)
    m.add_child(map_page.Script(code))
    return map_page.finish(m, "static/vendor/")


def test_title_is_escaped_and_page_is_indonesian_first():
    page = map_page.render_html(_page())
    assert "<title>Peta &lt;uji&gt; &amp; coba</title>" in page
    assert '<html lang="id">' in page


def test_script_gets_the_map_variable_and_only_vendored_assets():
    page = map_page.render_html(_page())
    name = re.search(r"var (map_p\d{4}) = L\.map", page).group(1)
    assert f"console.log({name});" in page
    links = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', page)
    assert links == ["static/vendor/leaflet/leaflet.js", "static/vendor/leaflet/leaflet.css"]


def test_an_asset_without_a_vendored_copy_is_refused():
    m = _page()
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(ValueError, match="no vendored copy"):
        map_page.localise_assets(m, "vendor/")


def test_two_equal_pages_render_byte_identical_and_rendering_twice_changes_nothing():
    m = _page()
    first = map_page.render_html(m)
    assert map_page.render_html(m) == first
    assert map_page.render_html(_page()) == first
    assert not re.findall(r"_[0-9a-f]{32}\b", first)


def test_extent_fits_bounds_and_a_single_point_centres_the_map():
    box = gpd.GeoDataFrame(geometry=[shapely.box(106.80, -6.20, 106.82, -6.18)], crs=4326)
    assert "fitBounds" in map_page.render_html(_page(box)) and "[-6.2, 106.8], [-6.18, 106.82]" in \
        map_page.render_html(_page(box))
    point = gpd.GeoDataFrame(geometry=[shapely.Point(106.81, -6.19)], crs=4326)
    page = map_page.render_html(_page(point))
    assert "fitBounds" not in page and "[-6.19, 106.81]" in page


@pytest.mark.parametrize("value", ["</script><script>alert(1)</script>", "<!-- x", "a & b", "\u2028\u2029"])
def test_script_json_cannot_close_the_element_and_round_trips(value):
    text = map_page.script_json({"v": value})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"v": value}
    assert map_page.js_bytes(json.dumps([value]).encode()) == map_page.script_json([value])
