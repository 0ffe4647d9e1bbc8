"""geo.export: bundle layout, byte-identical re-export, relative URLs, TileJSON, reports, and a
browser test of the bundle over a local server with every other host blocked."""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import threading
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo import export, maps, tiles
from geo.schema import conform
from geo.tiles import TileOptions

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "maps"
URL = re.compile(r"https?://[^\s\"'<>\\)&]+")
ALLOWED_URLS = {maps.OSM.url, "https://www.openstreetmap.org/copyright"}
CHROMIUM = "/usr/bin/chromium"


def _read(layer: str) -> gpd.GeoDataFrame:
    doc = json.loads((FIXTURES / f"{layer}.geojson").read_text())
    return conform(gpd.GeoDataFrame.from_features(doc, crs=4326), layer)


@pytest.fixture(scope="module")
def city() -> dict[str, gpd.GeoDataFrame]:
    return {layer: _read(layer) for layer in ("kelurahan", "rw", "tps")}


@pytest.fixture(scope="module")
def bundle(city, tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("bundle")
    report = export.export_bundle(out, tps=city["tps"], kelurahan=city["kelurahan"], rw=city["rw"],
                                  data_version="2024.1")
    return out, report


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- layout and determinism ---------------------------------------------------------------------

def test_bundle_layout(bundle):
    out, _ = bundle
    for rel in ("maps/overview.html", "maps/kelurahan/3171011001.html", "maps/kelurahan/3171011004.html",
                "geojson/tps.geojson", "geojson/kelurahan.geojson", "geojson/rw.geojson",
                "tiles/tps/tilejson.json", "tiles/tps/tilejson-geojson.json", "tiles/kelurahan/tilejson.json",
                "tiles/rw/tilejson.json", "embed.html", "petatps-embed.js", "manifest.json",
                "vendor/leaflet/leaflet.js", "vendor/leaflet/LICENSE", "vendor/leaflet.markercluster/MIT-LICENCE.txt",
                "vendor/README.md"):
        assert (out / rel).is_file(), rel
    assert not (out / "maps" / "tps").exists()


def test_re_export_is_byte_identical(bundle, city, tmp_path):
    out, _ = bundle
    export.export_bundle(tmp_path, tps=city["tps"].iloc[::-1].copy(), kelurahan=city["kelurahan"], rw=city["rw"],
                         data_version="2024.1")
    assert _tree(tmp_path) == _tree(out)


def test_re_export_in_place_removes_stale_tiles(city, tmp_path):
    export.export_tiles(tmp_path, tps=city["tps"], data_version="a1")
    before = _tree(tmp_path)
    stale = tmp_path / "tiles" / "tps" / "17" / "1" / "1.geojson"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"{}")
    export.export_tiles(tmp_path, tps=city["tps"], data_version="a1")
    assert not stale.exists() and _tree(tmp_path) == before


def test_re_export_keeps_files_it_does_not_manage(city, tmp_path):
    export.export_bundle(tmp_path, tps=city["tps"], kelurahan=city["kelurahan"], data_version="a1")
    before = _tree(tmp_path)
    mine = {"README.md": b"our site", "maps/about.html": b"<p>about</p>", "tiles/notes.txt": b"notes",
            "geojson/extra.geojson": b"{}"}
    for rel, body in mine.items():
        (tmp_path / rel).write_bytes(body)
    (tmp_path / "tiles" / "tps" / "99.txt").write_bytes(b"inside a managed folder: replaced")
    export.export_bundle(tmp_path, tps=city["tps"], kelurahan=city["kelurahan"], data_version="a1")
    assert _tree(tmp_path) == {**before, **mine}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".petatps-tmp-")]


def test_a_failed_export_leaves_the_previous_one(city, tmp_path):
    export.export_bundle(tmp_path, tps=city["tps"], kelurahan=city["kelurahan"], data_version="a1")
    before = _tree(tmp_path)
    with pytest.raises(ValueError, match="unknown tile format"):    # found after the maps and GeoJSON
        export.export_bundle(tmp_path, tps=city["tps"], kelurahan=city["kelurahan"], data_version="b2",
                             formats=("geojson", "png"))
    assert _tree(tmp_path) == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".petatps-tmp-")]


def test_tile_files_are_exactly_the_non_empty_tiles(bundle, city):
    out, _ = bundle
    index = tiles.TileIndex.from_frame(city["tps"], "tps", areas=city["kelurahan"])
    expected = {f"{z}/{x}/{y}.{fmt}" for z, x, y in index.pyramid() for fmt in ("geojson", "mvt")}
    written = {p.relative_to(out / "tiles" / "tps").as_posix() for p in (out / "tiles" / "tps").rglob("*.*")
               if not p.name.startswith("tilejson")}
    assert written == expected
    z, x, y = next(index.pyramid())
    assert (out / "tiles" / "tps" / f"{z}/{x}/{y}.geojson").read_bytes() == index.geojson(z, x, y)


# --- URLs ---------------------------------------------------------------------------------------

def test_no_url_leaves_the_bundle_but_base_map_and_attribution(bundle):
    out, _ = bundle
    for path in out.rglob("*"):
        if path.suffix in (".html", ".js", ".json", ".geojson") and "vendor" not in path.parts:
            assert set(URL.findall(path.read_text())) <= ALLOWED_URLS, path


def test_every_link_is_relative_and_resolves(bundle):
    out, _ = bundle
    for page in [out / "embed.html", *sorted((out / "maps").rglob("*.html"))]:
        markup = re.sub(r"<script>.*?</script>", "", page.read_text(), flags=re.DOTALL)  # inline code is not markup
        for link in re.findall(r'(?:src|href)="([^"]+)"', markup):
            assert not link.startswith(("/", "http:", "https:", "//")), (page, link)
            if "{" not in link:
                target = (page.parent / link.split("?")[0]).resolve()
                assert target.is_file(), (page, link)


# --- TileJSON, GeoJSON, manifest ------------------------------------------------------------------

def test_tilejson_documents(bundle):
    out, _ = bundle
    doc = json.loads((out / "tiles" / "tps" / "tilejson.json").read_text())
    assert doc["tilejson"] == "3.0.0" and doc["scheme"] == "xyz"
    assert doc["tiles"] == ["{z}/{x}/{y}.mvt?v=2024.1"]
    assert (doc["minzoom"], doc["maxzoom"]) == (10, 17)
    assert doc["vector_layers"][0]["id"] == "tps" and "tps_count" in doc["vector_layers"][0]["fields"]
    west, south, east, north = doc["bounds"]
    assert 106.80 < west < east < 106.84 and -6.20 < south < north < -6.16
    geo = json.loads((out / "tiles" / "tps" / "tilejson-geojson.json").read_text())
    assert geo["tiles"] == ["{z}/{x}/{y}.geojson?v=2024.1"] and "vector_layers" not in geo
    kel = json.loads((out / "tiles" / "kelurahan" / "tilejson.json").read_text())
    assert (kel["minzoom"], kel["maxzoom"]) == (10, 14)


def test_geojson_files_and_manifest(bundle):
    out, _ = bundle
    kel = json.loads((out / "geojson" / "kelurahan.geojson").read_text())
    counts = {f["id"]: f["properties"]["tps_count"] for f in kel["features"]}
    assert counts == {"3171011001": 12, "3171011002": 8, "3171011003": 7, "3171011004": 1}
    assert len(json.loads((out / "geojson" / "tps.geojson").read_text())["features"]) == 28
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["data_version"] == "2024.1" and manifest["figures"]["maps"]["pages"] == 5  # overview + 4 kelurahan


def test_embed_page_gives_copy_paste_snippets(bundle):
    out, _ = bundle
    page = (out / "embed.html").read_text()
    assert "&lt;iframe src=&quot;maps/overview.html&quot;" in page
    assert "PetaTPS.map(" in page and "tiles/tps/{z}/{x}/{y}.geojson?v=2024.1" in page


# --- reports ------------------------------------------------------------------------------------

def test_bundle_report(bundle):
    _, report = bundle
    assert report.kind == "export bundle" and report.balanced and report.rows_read == 28
    assert report.warning_counts["no location yet: not in the tiles"] == 2
    unlocated = {p.value for p in report.warnings if p.reason == "no location yet: not in the tiles"}
    assert unlocated == {"3171011003007", "3171011004001"}
    assert report.figures["tiles"]["tps_capped_tiles"] == 0
    json.loads(report.to_json())


def test_capped_tiles_are_reported(tmp_path):
    rng = np.random.default_rng(3)
    n = 400
    lon, lat = rng.uniform(106.80, 106.81, n), rng.uniform(-6.19, -6.18, n)
    tps = conform(gpd.GeoDataFrame({"kode_tps": [f"3171011001{i:03d}" for i in range(n)], "kode_kel": "3171011001",
                                    "no_tps": range(n)}, geometry=shapely.points(lon, lat), crs=4326), "tps")
    report = export.export_tiles(tmp_path, tps=tps, data_version="c1",
                                 options={"tps": TileOptions(zooms=(13, 14, 15), feature_cap=100)})
    capped = [p for p in report.warnings if p.reason.startswith("tile feature cap 100 hit")]
    assert capped and report.figures["tps_capped_tiles"] == len(capped)
    assert capped[0].file.startswith("tiles/tps/13/") and int(capped[0].value) > 100
    assert "served as grid aggregates" in capped[0].reason


@pytest.mark.parametrize("version", ["", "a b", "v1?x", "../x", '"'])
def test_unsafe_data_version_is_refused(city, tmp_path, version):
    with pytest.raises(ValueError, match="data_version"):
        export.export_geojson(tmp_path, tps=city["tps"], data_version=version)


def test_unknown_tile_format_is_refused(city, tmp_path):
    with pytest.raises(ValueError, match="pbf"):
        export.export_tiles(tmp_path, tps=city["tps"], data_version="v1", formats=("pbf",))


def test_single_tps_pages_on_request(city, tmp_path):
    report = export.export_maps(tmp_path, kelurahan=city["kelurahan"], tps=city["tps"], data_version="v1",
                                kelurahan_pages=False, tps_pages=True)
    assert len(list((tmp_path / "maps" / "tps").glob("*.html"))) == 28
    assert report.figures["pages"] == 29 and not (tmp_path / "maps" / "kelurahan").exists()


# --- browser ------------------------------------------------------------------------------------

@pytest.fixture
def served(bundle):
    out, _ = bundle
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def browser_page(served):
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{CHROMIUM} missing (CI=true: browser tests must run)")
        pytest.skip(f"{CHROMIUM} missing")
    from playwright.sync_api import sync_playwright

    base_tiles, elsewhere = [], []
    basemap = re.compile(r"^https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png$")

    def route(r):
        url = r.request.url
        if url.startswith(served):
            return r.continue_()
        if basemap.match(url):
            base_tiles.append(url)
            return r.fulfill(status=204)
        elsewhere.append(url)
        return r.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.route("**/*", route)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield page, served, errors
        browser.close()
    assert elsewhere == [], f"requests left 127.0.0.1: {elsewhere}"
    assert base_tiles, "the base map was never requested"


@pytest.mark.browser
def test_bundle_pages_work_offline_in_chromium(browser_page):
    page, base, errors = browser_page
    page.goto(base + "maps/overview.html")
    page.wait_for_selector(".marker-cluster", timeout=15_000)
    groups = page.locator(".marker-cluster")
    assert sum(int(t) for t in groups.all_inner_texts()) == 26  # every located TPS in some group
    page.locator("path.leaflet-interactive").first.dispatch_event("click")  # groups may cover its centre
    assert "Kelurahan" in page.locator(".leaflet-popup-content").inner_text(timeout=5_000)
    singles = page.locator(".leaflet-marker-icon:not(.marker-cluster)")
    for _ in range(5):  # a group zooms in by two levels, down to single TPS
        if singles.count():
            break
        page.locator(".marker-cluster").first.click()
        page.wait_for_timeout(500)
    single = singles.first
    single.focus()
    page.keyboard.press("Enter")
    assert "DPT (pemilih / voters)" in page.locator(".leaflet-popup-content").inner_text(timeout=5_000)

    page.goto(base + "maps/kelurahan/3171011002.html")
    page.wait_for_selector(".leaflet-marker-icon", timeout=15_000)
    marker = page.locator('.leaflet-marker-icon[alt^="TPS 004"]')
    assert marker.get_attribute("title") == marker.get_attribute("alt")
    marker.focus()
    page.keyboard.press("Enter")  # keyboard users open popups too
    popup = page.locator(".leaflet-popup-content").inner_text(timeout=5_000)
    assert "07:00–13:00" in popup and "TPS 004" in popup
    assert page.locator("table tbody tr").count() == 8

    page.goto(base + "embed.html")
    page.wait_for_selector("#petatps-map path.leaflet-interactive", timeout=15_000)  # low-zoom aggregates
    page.locator("#petatps-map path.leaflet-interactive").first.dispatch_event("click")
    assert "TPS:" in page.locator(".leaflet-popup-content").inner_text(timeout=5_000)
    page.locator(".leaflet-control-zoom-in").click()
    page.locator(".leaflet-control-zoom-in").click()
    page.wait_for_selector("#petatps-map .leaflet-marker-icon", timeout=15_000)  # TPS from z14 tiles
    assert errors == []


@pytest.mark.slow
@pytest.mark.browser
def test_overview_of_30766_tps_is_interactive_quickly(browser_page, bundle):
    from tests.geo.test_maps import _synthetic_city  # the shared synthetic city

    page, base, errors = browser_page
    kel, tps = _synthetic_city()
    out = bundle[0]  # the folder the server serves
    export.export_maps(out / "big", kelurahan=kel, tps=tps, data_version="big", kelurahan_pages=False)
    assert (out / "big" / "maps" / "overview.html").stat().st_size < 2_000_000
    page.goto(base + "big/maps/overview.html")
    page.wait_for_selector(".marker-cluster", timeout=20_000)
    ready_ms = page.evaluate("performance.now()")
    page.locator("path.leaflet-interactive").first.dispatch_event("click")
    page.locator(".leaflet-popup-content").wait_for(timeout=5_000)
    print(f"overview of {len(tps):,} TPS: clusters drawn {ready_ms:.0f} ms after navigation start")
    assert ready_ms < 2_000 and errors == []


def test_kelurahan_without_tps_still_gets_its_linked_page(city, tmp_path):
    tps = city["tps"][city["tps"]["kode_kel"] != "3171011004"]
    export.export_maps(tmp_path, kelurahan=city["kelurahan"], tps=tps, data_version="v1")
    page = (tmp_path / "maps" / "kelurahan" / "3171011004.html").read_text()
    assert "Tidak ada TPS" in page and "0 TPS" in page
    assert 'href="kelurahan/3171011004.html"' in (tmp_path / "maps" / "overview.html").read_text()
