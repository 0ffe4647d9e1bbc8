"""The coverage output folder: files, small-count suppression, determinism, the officer page in Chromium,
and the real Pemilu 2024 TPS list of Jakarta Utara (DPT counts, no voter list)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from geo.coverage import coverage
from geo.coverage_report import SMALL, suppress_small, write_coverage
from tests.conftest import IN_CI, ROOT
from tests.fixtures.coverage import tiny_city

CHROMIUM = "/usr/bin/chromium"
VERSION = "2024-02-14-test"
FILES = {"tps.csv", "rt.csv", "rw.csv", "kelurahan.csv", "gaps.csv", "suggestions.csv", "merges.csv", "stages.csv",
         "coverage.gpkg", "index.html", "report.json"} | {
    f"coverage_{n}.geojson" for n in ("tps", "rt", "rw", "kelurahan", "gaps", "suggestions", "merges")}


@pytest.fixture(scope="module")
def city():
    return tiny_city.load()


@pytest.fixture(scope="module")
def result(city):
    return coverage(city["voters"], city["tps"], city["rt"], city["rw"], city["kelurahan"],
                    candidates=city["candidates"], stages=city["stages"])


@pytest.fixture(scope="module")
def folder(result, tmp_path_factory):
    out = tmp_path_factory.mktemp("coverage")
    report = write_coverage(result, out, data_version=VERSION)
    return out, report


def _csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# --- files ---------------------------------------------------------------------------------------------

def test_every_file_is_written_and_reported(folder):
    out, report = folder
    assert {p.name for p in out.iterdir()} == FILES
    assert set(report.figures["files"]) == FILES - {"report.json"}
    assert all(size > 0 for size in report.figures["files"].values())


def test_tps_and_gaps_csv_have_the_officer_columns(folder):
    out, _ = folder
    tps, gaps = _csv(out / "tps.csv"), _csv(out / "gaps.csv")
    assert {"kode_tps", "kode_kel", "voters_dpt", "voters_nearest", "cap_use", "flags", "lon", "lat"} <= set(tps)
    assert {"kode_kel", "rw", "rt", "level", "voters", "dist_nearest_m", "reason", "severity"} <= set(gaps)
    rw_gap = gaps[gaps["reason"] == "rw_no_tps_nearby"].iloc[0]
    assert (rw_gap["rw"], rw_gap["rt"], rw_gap["level"]) == ("2", "", "rw")       # RT empty for an RW gap
    assert len(gaps) == 8 and "wkt" not in gaps and "geometry" not in gaps


def test_geopackage_has_the_layers_with_single_geometry_types(folder):
    out, _ = folder
    layers = dict(pyogrio.list_layers(out / "coverage.gpkg"))
    assert layers == {"tps": "Point", "rt": "MultiPolygon", "rw": "MultiPolygon", "kelurahan": "MultiPolygon",
                      "gaps": "MultiPolygon", "suggestions": "Point", "merges": "LineString",
                      "catchments": "MultiPolygon", "service_areas": "MultiPolygon"}
    gaps = pyogrio.read_dataframe(out / "coverage.gpkg", layer="gaps")
    assert gaps.crs.to_epsg() == 4326 and len(gaps) == 8
    rw = pyogrio.read_dataframe(out / "coverage_rw.geojson")
    assert set(rw["coverage"]) == {"covered", "gap", "partial", "unknown", "no_tps"}


def test_small_counts_are_suppressed_everywhere(folder):
    out, _ = folder
    rt = _csv(out / "rt.csv").set_index("kode")
    small = rt.loc["3171011001-003-003"]                # 3 voters, all beyond the threshold
    assert (small["voters"], small["voters_beyond_nearest"]) == (SMALL, SMALL)
    assert small["share_beyond_nearest"] == "" and small["dist_dpt_mean_m"] == ""
    for name in ("tps.csv", "rt.csv", "rw.csv", "kelurahan.csv", "gaps.csv", "suggestions.csv", "merges.csv",
                 "stages.csv"):
        table = _csv(out / name)
        for col in [c for c in table if c.startswith(("voters", "dpt", "population", "dps", "loaded", "change_"))]:
            numbers = pd.to_numeric(table[col], errors="coerce").abs()
            assert not numbers.between(1, 4).any(), f"{name}:{col}"
    stages = _csv(out / "stages.csv").set_index("kode_kel")
    assert stages.loc["3171011003", ["change_dps_dpt", "pct_dps_dpt"]].tolist() == [SMALL, ""]
    page = (out / "index.html").read_text()
    assert "&lt;5" in page


def test_suppression_rules():
    frame = pd.DataFrame({"voters": [0, 3, 7, None], "share": [0.0, 0.5, 0.2, None], "change": [-2, 5, -9, 0]})
    out = suppress_small(frame, {"voters": ["share"], "change": []})
    assert out["voters"].tolist()[:3] == ["0", SMALL, "7"] and pd.isna(out["voters"].iloc[3])
    assert pd.isna(out["share"].iloc[1]) and out["share"].iloc[2] == 0.2
    assert out["change"].tolist() == [SMALL, "5", "-9", "0"]


def test_no_personal_data_reaches_the_files(folder, city):
    out, _ = folder
    keys = set(city["voters"]["voter_key"])
    for path in out.iterdir():
        if path.suffix in (".csv", ".geojson", ".html", ".json"):
            text = path.read_text()
            assert not any(k in text for k in list(keys)[:50]), path.name
            assert "voter_key" not in text and "nama_masked" not in text


def test_same_result_gives_byte_identical_files(result, folder, tmp_path):
    out, _ = folder
    write_coverage(result, tmp_path, data_version=VERSION)
    for name in FILES - {"report.json"}:       # report.json holds the analysis' start and end times
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name


def test_the_page_is_self_contained(folder):
    out, _ = folder
    page = (out / "index.html").read_text()
    urls = set(re.findall(r"""(?:src|href)=["']?([^"' >]+)""", page))
    remote = {u for u in urls if re.match(r"(https?:)?//", u)}
    assert remote <= {"https://www.openstreetmap.org/copyright", "https://leafletjs.com"}   # attribution links
    assert "vendor/" not in " ".join(urls) and "L.canvas()" in page
    assert "https://tile.openstreetmap.org/{z}/{x}/{y}.png" in page
    assert page.count("<table>") >= 5 and "SDN Alpha 01" in page


def test_no_voter_list_writes_the_files_it_can(city, tmp_path):
    out = coverage(None, city["tps"], rw=city["rw"], kelurahan=city["kelurahan"])
    write_coverage(out, tmp_path, data_version=VERSION)
    assert len(_csv(tmp_path / "rt.csv")) == 0 and len(_csv(tmp_path / "tps.csv")) == 6
    assert "no voter list" in (tmp_path / "index.html").read_text()


# --- the page in Chromium ------------------------------------------------------------------------------

@pytest.mark.browser
def test_page_opens_fast_offline_and_shows_map_and_tables(folder):
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} missing (CI=true: browser tests must run)")
        pytest.skip(f"{CHROMIUM} missing")
    from playwright.sync_api import sync_playwright

    out, _ = folder
    tiles, elsewhere, errors = [], [], []
    basemap = re.compile(r"^https://tile\.openstreetmap\.org/\d+/\d+/\d+\.png$")

    def route(r):
        url = r.request.url
        if url.startswith("file://"):
            return r.continue_()
        if basemap.match(url):
            tiles.append(url)
            return r.fulfill(status=204)
        elsewhere.append(url)
        return r.abort()

    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.route("**/*", route)
        page.on("pageerror", lambda e: errors.append(str(e)))
        started = time.perf_counter()
        page.goto((out / "index.html").as_uri(), wait_until="load")
        page.wait_for_selector(".leaflet-container canvas")
        seconds = time.perf_counter() - started
        loaded_ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        page.screenshot(path=str(artifacts / "coverage-index.png"), full_page=True)
        assert page.locator(".leaflet-control-layers").is_visible()
        assert page.locator("#gaps table tbody tr").count() == 8
        assert "Usulan lokasi TPS" in page.locator("#sites").inner_text()
        page.locator(".leaflet-control-layers-base input").nth(1).check()    # the other choropleth
        browser.close()
    assert errors == [] and elsewhere == [] and tiles
    assert loaded_ms < 3000, f"the page took {loaded_ms:.0f} ms to load"       # the browser's own clock
    assert seconds < 10, f"{seconds:.1f} s until the map was drawn"             # plus Playwright's overhead


# --- the real data -------------------------------------------------------------------------------------

@pytest.mark.real_data
def test_real_jakarta_utara_lists_every_tps_over_the_cap(real_data, tmp_path):
    from geo.boundaries import read_boundaries
    from geo.geocode import geocode_tps
    from geo.stations import read_tps

    kel, _ = read_boundaries(real_data / "cahyadsn-wilayah_boundaries" / "dki_kelurahan.geojson", "kelurahan")
    rw, _ = read_boundaries(real_data / "inasafe-inasafe_data" / "dki_rw_2012.geojson", "rw")
    listing = real_data / "gigit-pemilu-2024-31-dki-jakarta" / "tps_pemilu2024_pilpres_dki.csv"
    tps, _ = read_tps(listing)
    utara = tps[tps["kode_kel"].str.startswith("3172")]
    placed, _ = geocode_tps(utara, kel, rw)
    result = coverage(None, placed, rw=rw, kelurahan=kel, kode="3172")
    report = write_coverage(result, tmp_path, data_version=VERSION)

    raw = pd.read_csv(listing, dtype=str, keep_default_na=False)
    raw = raw[raw["kode_kel"].str.startswith("3172")]
    over = set(raw.loc[pd.to_numeric(raw["dpt"], errors="coerce") > 300, "kode_tps"])
    written = _csv(tmp_path / "tps.csv")
    assert set(written.loc[written["over_cap"] == "True", "kode_tps"]) == over
    assert result.report.figures["tps_over_cap"] == len(over) == (written["flags"].str.contains("over_capacity")).sum()
    gaps = _csv(tmp_path / "gaps.csv")
    assert set(gaps.loc[gaps["reason"] == "overloaded_tps", "kode_tps"]) == over
    assert len(written) == len(raw) and report.figures["rows"]["kelurahan"] == 31
    assert any("no voter list" in n for n in result.report.notes)
