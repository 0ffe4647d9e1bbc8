"""Resident pages: NIK lookup by POST, neutral answer, browse, TPS page, nearest TPS of a kelurahan."""

from __future__ import annotations

import re

import pytest

from tests.web import city
from tests.web.conftest import csrf_from


def _lookup(client, nik, **extra):
    token = csrf_from(client.get("/").get_data(as_text=True))
    return client.post("/cari", data={"nik": nik, "csrf_token": token, **extra})


def test_home_has_post_form_with_csrf_and_local_assets_only(client):
    r = client.get("/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and '<html lang="id">' in html
    assert re.search(r'<form method="post" action="/cari"', html)
    assert 'name="csrf_token"' in html and 'name="nik"' in html
    assert not re.search(r'<script[^>]+src="(https?:)?//', html) and "<script>" not in html
    assert len(r.data) < 10_000


def test_lookup_found_shows_your_tps(any_client):
    r = _lookup(any_client, "3171011505900001")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert "TPS Anda" in html and "S*** R*****" in html and "TPS 001" in html
    assert "Jl. Contoh No. 1, 1001" in html and "RT 001 / RW 001" in html and "07:00–13:00" in html
    assert "55 m" in html
    assert "openstreetmap.org/directions?route=%3B-6.247%2C106.8025" in html
    assert "google.com/maps/dir/?api=1&amp;destination=-6.247%2C106.8025" in html
    assert "3171011505900001" not in html and "SITI" not in html


def test_lookup_not_in_dpt_is_neutral(client):
    missing = _lookup(client, city.MISSING_NIK).get_data(as_text=True)
    assert "TPS Anda" not in missing and "tidak dapat menampilkan" in missing
    assert 'href="/terdekat/3171021001"' in missing           # kelurahan of the NIK's kecamatan
    assert city.MISSING_NIK not in missing
    # a NIK from a kecamatan that is not in the store: same neutral text, no list
    other = _lookup(client, "3172011505900001").get_data(as_text=True)
    assert "tidak dapat menampilkan" in other and "/terdekat/" not in other


def test_invalid_nik_is_a_form_error(client):
    r = _lookup(client, city.INVALID_NIK)
    html = r.get_data(as_text=True)
    assert r.status_code == 400 and "NIK tidak valid" in html and city.INVALID_NIK not in html


def test_lookup_needs_csrf_and_post(client):
    client.get("/")
    r = client.post("/cari", data={"nik": "3171011505900001"})
    assert r.status_code == 400 and "Formulir kedaluwarsa" in r.get_data(as_text=True)
    assert client.post("/cari", data={"nik": "3171011505900001", "csrf_token": "forged"}).status_code == 400
    assert client.get("/cari?nik=3171011505900001").status_code == 405


def test_english(client):
    r = client.get("/?lang=en")
    assert '<html lang="en">' in r.get_data(as_text=True) and "Find your TPS by NIK" in r.get_data(as_text=True)
    assert "lang=en" in r.headers["Set-Cookie"]
    html = _lookup(client, "3171011505900001").get_data(as_text=True)     # the cookie keeps English
    assert "Your TPS" in html and "Voting hours" in html


def test_browse(client):
    root = client.get("/wilayah").get_data(as_text=True)
    assert 'href="/wilayah/3171"' in root
    kota = client.get("/wilayah/3171").get_data(as_text=True)
    assert "TEBET" in kota and 'href="/wilayah/317102"' in kota
    kel = client.get("/wilayah/3171011001")
    html = kel.get_data(as_text=True)
    assert kel.status_code == 200 and 'href="/wilayah/3171011001-001"' in html
    assert html.count('href="/tps/31710110010') == 3 and "data-points=" in html and "button" in html
    rw = client.get("/wilayah/3171011001-002").get_data(as_text=True)
    assert "/tps/3171011001002" in rw and "/tps/3171011001001" not in rw
    assert 'href="/wilayah/3171011001">MENTENG DALAM' in rw                  # breadcrumbs


@pytest.mark.parametrize("path, code", [("/wilayah/3172", 404), ("/wilayah/31x", 400), ("/tps/3171011001999", 404),
                                        ("/tps/31710110010011", 400), ("/terdekat/3171", 400),
                                        ("/terdekat/3171099999", 404)])
def test_page_errors_are_html(client, path, code):
    r = client.get(path)
    assert r.status_code == code and r.mimetype == "text/html"


def test_tps_page(client):
    html = client.get("/tps/3171011001001").get_data(as_text=True)
    assert "TPS 001" in html and "titik koordinat" in html and "ketelitian ± 10 m" in html
    unplaced = client.get("/tps/3171011001003").get_data(as_text=True)
    assert "belum dipetakan" in unplaced and "data-points" not in unplaced and "directions" not in unplaced


def test_nearest_of_kelurahan_is_labelled_nearest(client):
    html = client.get("/terdekat/3171021001").get_data(as_text=True)
    assert "TPS terdekat" in html and "TPS Anda" not in html and "/tps/3171021001001" in html
