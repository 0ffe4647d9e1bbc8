"""geo.maps: local assets only, deterministic HTML, accessible bilingual pages, honest precision."""

from __future__ import annotations

import json
import re
from pathlib import Path

import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import maps
from geo.errors import CRSError, NotFoundError
from geo.schema import conform

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "maps"
URL = re.compile(r"https?://[^\s\"'<>\\)&]+")
ALLOWED_URLS = {maps.OSM.url, "https://www.openstreetmap.org/copyright"}


def _read(layer: str) -> gpd.GeoDataFrame:
    doc = json.loads((FIXTURES / f"{layer}.geojson").read_text())
    return conform(gpd.GeoDataFrame.from_features(doc, crs=4326), layer)


@pytest.fixture(scope="module")
def city() -> dict[str, gpd.GeoDataFrame]:
    return {layer: _read(layer) for layer in ("kelurahan", "rw", "tps")}


@pytest.fixture(scope="module")
def overview(city) -> str:
    return maps.render_html(maps.overview_map(city["kelurahan"], city["tps"], assets="../vendor/",
                                              data_version="v7"))


@pytest.fixture(scope="module")
def kel_page(city) -> str:
    m = maps.kelurahan_map("3171011002", city["kelurahan"], city["tps"], rw=city["rw"], data_version="v7")
    return maps.render_html(m)


def _marker_rows(page: str) -> list[list]:
    # The kelurahan page embeds its markers as one JSON array (JSON escapes are valid JS escapes).
    return json.loads(re.search(r"var d = (\[.*?\]), g = L\.featureGroup", page, re.DOTALL).group(1))


# --- assets -------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["overview", "kel_page"])
def test_no_url_but_the_base_map_and_its_attribution(page, request):
    html = request.getfixturevalue(page)
    assert set(URL.findall(html)) <= ALLOWED_URLS
    assert maps.OSM.url in html


def test_scripts_and_styles_are_the_vendored_files(overview, kel_page):
    links = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', overview)
    assert links == ["../vendor/leaflet/leaflet.js", "../vendor/leaflet/leaflet.css",
                     "../vendor/leaflet.markercluster/MarkerCluster.Default.css"]
    vendor = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor"
    assert all((vendor / link.removeprefix("../vendor/")).is_file() for link in links)
    assert re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', kel_page) == [
        "../../vendor/leaflet/leaflet.js", "../../vendor/leaflet/leaflet.css"]
    for word in ("jquery", "bootstrap", "font-awesome", "fontawesome", "awesome-markers", "cdn"):
        assert word not in overview.lower()


def test_a_plugin_without_vendored_copy_is_refused(city):
    m = maps.overview_map(city["kelurahan"], city["tps"])
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(ValueError, match="no vendored copy"):
        maps.localise_assets(m, "vendor/")


def test_base_map_is_a_parameter(city):
    base = maps.BaseMap(url="https://tiles.example.go.id/{z}/{x}/{y}.png", attribution="Pemprov DKI", max_zoom=18)
    html = maps.render_html(maps.overview_map(city["kelurahan"], city["tps"], base_map=base))
    assert set(URL.findall(html)) == {base.url}
    assert "Pemprov DKI" in html


# --- determinism ----------------------------------------------------------------------------------

def test_same_data_gives_byte_identical_html(city, overview, kel_page):
    again = maps.render_html(maps.overview_map(city["kelurahan"], city["tps"].iloc[::-1].copy(),
                                               assets="../vendor/", data_version="v7"))
    assert again == overview
    m = maps.kelurahan_map("3171011002", city["kelurahan"], city["tps"], rw=city["rw"], data_version="v7")
    assert maps.render_html(m) == kel_page
    assert maps.render_html(m) == kel_page  # rendering twice changes nothing


def test_no_random_element_ids(overview):
    names = set(re.findall(r"\b[a-z_]+_([0-9a-f]{32})\b", overview))
    assert not names


# --- overview -------------------------------------------------------------------------------------

def test_overview_groups_tps_from_compact_arrays(overview):
    assert overview.count("L.marker(") == 2  # a group and a single TPS, built for what is in view
    data = json.loads(re.search(r"var d = (\[[-0-9,]*\])", overview).group(1))
    assert len(data) == 26 * 7  # located TPS x 7 integers
    groups = json.loads(re.search(r", A = (\{.*?\});", overview).group(1))
    assert sorted(map(int, groups)) == list(range(maps.OVERVIEW_MIN_ZOOM, maps.OVERVIEW_SINGLE_ZOOM))
    for flat in groups.values():
        assert sum(flat[2::3]) == 26  # every located TPS in one group per zoom


def test_overview_choropleth_legend_and_kelurahan_table(overview):
    assert maps.NO_TPS_COLOUR in overview  # kelurahan 3171011004 has no located TPS, but one TPS row
    assert "TPS per kelurahan" in overview
    table = overview[overview.index("<table>"):]
    assert table.count("<tr><td>") == 4
    assert '<a href="kelurahan/3171011001.html">Gambir Contoh</a>' in table
    assert "<td>12</td>" in table


def test_overview_without_kelurahan_links(city):
    html = maps.render_html(maps.overview_map(city["kelurahan"], city["tps"], kelurahan_pages=None))
    assert "kelurahan/3171011001.html" not in html


# --- kelurahan page -------------------------------------------------------------------------------

def test_kelurahan_page_has_every_located_tps_with_title_and_alt(kel_page):
    rows = _marker_rows(kel_page)
    assert len(rows) == 8
    assert rows[0][2].startswith("TPS 001, Jl. &lt;script&gt;")
    assert "title: r[2], alt: r[2]" in kel_page


def test_popup_is_bilingual_with_the_fixed_facts(kel_page):
    popup = _marker_rows(kel_page)[3][3]
    for text in ("Alamat / Address", "RT/RW", "DPT (pemilih terdaftar / registered voters)</b>: 204 (L 100, P 104)",
                 "Jam / Hours</b>: 07:00–13:00", "KPPS (petugas / officers)</b>: 7",
                 "Akses disabilitas / Disability access</b>: ya / yes", "titik koordinat / surveyed coordinates"):
        assert text in popup


def test_precision_is_shown_honestly(kel_page):
    rows = {r[2][:7]: r for r in _marker_rows(kel_page)}
    assert rows["TPS 002"][4] == 150.0 and "perkiraan dari alamat RT" in rows["TPS 002"][3]
    assert rows["TPS 003"][4] == 600.0 and "pusat kelurahan" in rows["TPS 003"][3]
    assert rows["TPS 004"][4] == 0  # surveyed coordinates: no circle
    assert "L.circle(" in kel_page


def test_unknown_values_are_said_not_invented(kel_page):
    first = _marker_rows(kel_page)[0][3]
    assert "DPT (pemilih terdaftar / registered voters)</b>: tidak diketahui / unknown" in first
    second = _marker_rows(kel_page)[1][3]
    assert "Disability access</b>: tidak diketahui / unknown" in second


def test_address_is_escaped_everywhere(kel_page):
    assert "<script>alert" not in kel_page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in kel_page  # the table


def test_table_alternative_lists_every_tps_including_unlocated(city):
    m = maps.kelurahan_map("3171011003", city["kelurahan"], city["tps"])
    html = maps.render_html(m)
    table = html[html.index("<table>"):]
    assert table.count("<tr><td>") == 7
    assert "belum diketahui / not yet known" in table
    assert len(_marker_rows(html)) == 6


def test_page_language_and_outlines(kel_page):
    assert kel_page.startswith('<!DOCTYPE html>\n<html lang="id">')
    assert '<span lang="en">' in kel_page and "<title>TPS Kelurahan Cideng Contoh</title>" in kel_page
    assert kel_page.count("L.geoJSON(") == 1  # kelurahan outline; the RW layer belongs to 3171011001


def test_rw_outlines_are_drawn_for_their_kelurahan(city):
    html = maps.render_html(maps.kelurahan_map("3171011001", city["kelurahan"], city["tps"], rw=city["rw"]))
    assert html.count("L.geoJSON(") == 2 and "RW 004" in html


def test_wrong_crs_is_refused(city):
    with pytest.raises(CRSError, match="tps"):
        maps.overview_map(city["kelurahan"], city["tps"].to_crs(32748))


def test_unknown_kelurahan_or_tps_raise(city):
    with pytest.raises(NotFoundError, match="3171019999"):
        maps.kelurahan_map("3171019999", city["kelurahan"], city["tps"])
    with pytest.raises(NotFoundError, match="3171011001999"):
        maps.tps_map("3171011001999", city["tps"])


def test_single_tps_page_opens_its_popup(city):
    html = maps.render_html(maps.tps_map("3171011002003", city["tps"], kelurahan=city["kelurahan"]))
    rows = _marker_rows(html)
    assert len(rows) == 1 and rows[0][4] == 600.0
    assert "openPopup()" in html and "<h1>TPS 003 (3171011002003)</h1>" in html


def test_single_unlocated_tps_page_still_renders(city):
    html = maps.render_html(maps.tps_map("3171011004001", city["tps"], kelurahan=city["kelurahan"]))
    assert _marker_rows(html) == [] and "belum diketahui / not yet known" in html


# --- size -----------------------------------------------------------------------------------------

def _synthetic_city(n_tps: int = 30_766, n_kel: int = 267) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    side = int(np.ceil(np.sqrt(n_kel)))
    cells = [(i % side, i // side) for i in range(n_kel)]
    size = 0.3 / side
    kode = [f"3171{i // 20 + 1:02d}{1001 + i % 20}" for i in range(n_kel)]
    boxes = [shapely.box(106.7 + cx * size, -6.35 + cy * size, 106.7 + (cx + 1) * size, -6.35 + (cy + 1) * size)
             for cx, cy in cells]
    kel = conform(gpd.GeoDataFrame({"kode": kode, "nama": [f"Kelurahan {i}" for i in range(n_kel)]},
                                   geometry=boxes, crs=4326), "kelurahan")
    rng = np.random.default_rng(0)
    which = np.sort(rng.integers(0, n_kel, n_tps))
    no = pd.Series(which).groupby(which).cumcount().to_numpy() + 1
    lon = 106.7 + (np.array([cells[w][0] for w in which]) + rng.random(n_tps)) * size
    lat = -6.35 + (np.array([cells[w][1] for w in which]) + rng.random(n_tps)) * size
    frame = pd.DataFrame({"kode_kel": np.array(kode)[which], "no_tps": no, "dpt": rng.integers(150, 300, n_tps),
                          "location_source": "coordinates", "precision_m": 10.0})
    frame["kode_tps"] = frame["kode_kel"] + pd.Series(no).map("{:03d}".format)
    return kel, conform(gpd.GeoDataFrame(frame, geometry=shapely.points(lon, lat), crs=4326), "tps")


def test_overview_of_30766_tps_is_under_2_mb():
    kel, tps = _synthetic_city()
    html = maps.render_html(maps.overview_map(kel, tps))
    assert len(html.encode()) < 2_000_000
    assert len(json.loads(re.search(r"var d = (\[[-0-9,]*\])", html).group(1))) == 30_766 * 7
    groups = json.loads(re.search(r", A = (\{.*?\});", html).group(1))
    assert all(sum(flat[2::3]) == 30_766 for flat in groups.values())


@pytest.mark.real_data
def test_overview_of_the_real_city_is_under_2_mb(real_data):
    raw = gpd.read_file(real_data / "cahyadsn-wilayah_boundaries" / "dki_kelurahan.geojson")
    kel = conform(raw.rename(columns={"kode_kemendagri": "kode"}).to_crs(4326), "kelurahan")
    listing = pd.read_csv(real_data / "gigit-pemilu-2024-31-dki-jakarta" / "tps_pemilu2024_pilpres_dki.csv",
                          dtype={"kode_tps": str, "kode_kel": str}, usecols=["kode_tps", "kode_kel", "no_tps", "dpt"])
    listing = listing.sort_values("kode_tps").reset_index(drop=True)
    counts = listing.groupby("kode_kel").size()
    polys = kel.set_index("kode").geometry.loc[counts.index]
    points = shapely.get_parts(polys.sample_points(size=counts.to_numpy(), rng=0).values)
    assert len(points) == len(listing) == 30_766
    tps = conform(gpd.GeoDataFrame(listing.assign(dpt=listing["dpt"].astype("Int32")), geometry=points, crs=4326),
                  "tps")
    html = maps.render_html(maps.overview_map(kel, tps))
    assert len(html.encode()) < 2_000_000
