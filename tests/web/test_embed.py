"""/embed: a framable map page for configured origins only, and its snippet."""

from __future__ import annotations

import pytest


def test_embed_page(client):
    r = client.get("/embed?kode=3171")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://smartcity.example" in csp and "X-Frame-Options" not in r.headers
    assert "data-bounds='[106.8, -6.25, 106.83, -6.24]'" in html
    assert "/tiles/tps/{z}/{x}/{y}.geojson?v=" in html and "vendor/leaflet/leaflet.js" in html
    assert 'data-tps-url="/tps/"' in html


def test_embed_without_frame_origins_allows_only_self(make_app):
    r = make_app(frame_origins=()).test_client().get("/embed?kode=317102")
    assert r.headers["Content-Security-Policy"].endswith("frame-ancestors 'self'")


@pytest.mark.parametrize("query, code", [("", 400), ("?kode=31", 400), ("?kode=abc", 400), ("?kode=3172", 404)])
def test_embed_errors(client, query, code):
    assert client.get("/embed" + query).status_code == code


def test_snippet(client):
    html = client.get("/embed/snippet?kode=31.71.01").get_data(as_text=True)
    assert "&lt;iframe src=&#34;http://localhost/embed?kode=317101&#34;" in html
    assert 'referrerpolicy=&#34;no-referrer&#34;' in html
