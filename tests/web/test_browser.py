"""Walk-throughs in Debian's chromium: a resident (NIK lookup, browse, use my location) and an officer.

The app runs in a thread on 127.0.0.1 (werkzeug ``make_server``) over the tiny city; every request
to another host is aborted and recorded (the only ones allowed to be attempted are base-map tiles).
Screenshots go to ``test-artifacts/web/``. No browser is ever downloaded.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from geo.accounts import add_account
from tests.conftest import IN_CI, ROOT
from tests.web.conftest import make_config
from web.app import create_app

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "web"
PASSWORD = "kata sandi panjang"
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(tmp_path_factory, gpkg_city):
    from werkzeug.serving import make_server

    home = tmp_path_factory.mktemp("browser-home")
    app = create_app(make_config(gpkg_city, home, lookup_limit="100 per minute"))
    add_account(app.extensions["petatps.config"].accounts_file, "camat.tebet", PASSWORD, "317101")
    srv = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(5)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"{CHROMIUM} missing (CI=true: browser tests must run)")
        pytest.skip(f"{CHROMIUM} not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-background-networking", "--disable-component-update", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture
def page(browser, server, request):
    context = browser.new_context(viewport={"width": 420, "height": 900}, geolocation={"latitude": -6.2468,
                                  "longitude": 106.8099}, permissions=["geolocation"], locale="id-ID")
    pg = context.new_page()
    outside, problems = [], []
    host = urlsplit(server).netloc

    def route(r):
        if urlsplit(r.request.url).netloc == host:
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    pg.route("**/*", route)
    pg.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    pg.on("pageerror", lambda e: problems.append(str(e)))
    yield pg
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert not problems, problems
    assert all("tile.openstreetmap.org" in u for u in outside), outside


def test_resident_finds_tps_by_nik(page, server):
    page.goto(server + "/")
    page.fill("#nik", "3171 0115 0590 0001")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('TPS Anda')")
    assert "S*** R*****" in page.inner_text("main")
    assert "Jl. Contoh No. 1, 1001" in page.inner_text("dl.tps")
    assert "/cari" in page.url and "3171" not in urlsplit(page.url).query
    page.wait_for_selector(".leaflet-marker-icon")
    assert page.get_attribute("a:has-text('OpenStreetMap')", "href").startswith("https://www.openstreetmap.org/")


def test_resident_gets_neutral_answer_then_nearest(page, server):
    page.goto(server + "/?lang=en")
    page.fill("#nik", "3171021212920099")
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('No result to show')")
    page.click("a:has-text('GLODOK')")
    page.wait_for_selector("h1:has-text('Nearest TPS')")
    assert "Your TPS" not in page.inner_text("main")


def test_resident_browses_by_area(page, server):
    page.goto(server + "/")
    page.click("nav >> text=Cari menurut wilayah")
    page.click("text=JAKARTA SELATAN")
    page.click("text=TEBET")
    page.click("text=MENTENG DALAM")
    page.wait_for_selector("table.tps-list")
    assert page.locator("table.tps-list tbody tr").count() == 3
    page.wait_for_selector(".leaflet-marker-icon")
    assert page.locator(".leaflet-marker-icon").count() == 2
    page.click("table.tps-list >> text=TPS 002")
    page.wait_for_selector("h1:has-text('TPS 002')")


def test_resident_uses_location(page, server):
    page.goto(server + "/")
    page.click("button.locate")
    page.wait_for_selector(".near-result a.nearest-link")
    text = page.inner_text(".near-result")
    assert "TPS terdekat" in text and "TPS 002" in text and "TPS Anda ditentukan oleh DPT" in text
    assert page.get_attribute(".near-result a.nearest-link", "href") == "/tps/3171011001002"


def test_officer_logs_in_and_reads_report(page, server):
    page.goto(server + "/petugas/")
    page.fill("#username", "camat.tebet")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("table.summary")
    assert page.locator("table.summary tbody tr").count() == 2
    page.click("table.summary >> text=MENTENG DALAM")
    page.wait_for_selector("table.tps-list")
    assert "no_location" in page.inner_text("table.tps-list")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "officer_report.png"), full_page=True)
    with page.expect_download() as download:
        page.click("text=CSV")
    assert download.value.suggested_filename.startswith("petatps-3171011001-")
    page.goto(server + "/petugas/wilayah/317102")
    assert "403" in page.inner_text("h1") and "di luar wilayah" in page.inner_text("main")


def test_embed_map_loads_tiles(page, server):
    page.goto(server + "/embed?kode=317101")
    page.wait_for_selector(".leaflet-marker-icon", timeout=15000)
    assert page.locator(".leaflet-marker-icon").count() >= 1


def test_pages_work_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    pg = context.new_page()
    pg.goto(server + "/")
    pg.fill("#nik", "3171011505900001")
    pg.click("button[type=submit]")
    assert "TPS Anda" in pg.inner_text("h1") and "Jl. Contoh No. 1" in pg.inner_text("main")
    assert not pg.is_visible("button.locate")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "no_javascript_result.png"), full_page=True)
    context.close()


def test_artifacts_folder_is_ignored():
    assert "test-artifacts/" in (ROOT / ".gitignore").read_text()
    assert os.sep not in "test-artifacts"
