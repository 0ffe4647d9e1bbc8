"""Officer pages: login with hashed passwords, area scope (403 elsewhere), downloads, session expiry."""

from __future__ import annotations

import io
import time

import pandas as pd
import pytest

from geo.accounts import add_account
from tests.web.conftest import csrf_from

PASSWORD = "kata sandi panjang"


@pytest.fixture
def officer_app(app):
    path = app.extensions["petatps.config"].accounts_file
    add_account(path, "camat.tebet", PASSWORD, "317101")
    add_account(path, "lurah.glodok", PASSWORD, "3171021001")
    return app


def login(client, username, password=PASSWORD):
    token = csrf_from(client.get("/petugas/masuk").get_data(as_text=True))
    return client.post("/petugas/masuk", data={"username": username, "password": password, "csrf_token": token})


def test_pages_need_login(officer_app):
    client = officer_app.test_client()
    r = client.get("/petugas/")
    assert r.status_code == 302 and r.headers["Location"].startswith("/petugas/masuk")
    assert client.get("/petugas/unduh/317101.csv").status_code == 302


def test_login_and_report(officer_app):
    client = officer_app.test_client()
    r = login(client, "camat.tebet")
    assert r.status_code == 302 and r.headers["Location"] == "/petugas/"
    assert "HttpOnly" in r.headers["Set-Cookie"] and "SameSite=Lax" in r.headers["Set-Cookie"]
    html = client.get("/petugas/").get_data(as_text=True)
    assert "MENTENG DALAM" in html and "TEBET TIMUR" in html and "GLODOK" not in html
    kel = client.get("/petugas/wilayah/3171011001")
    text = kel.get_data(as_text=True)
    assert kel.status_code == 200 and kel.headers["Cache-Control"] == "private, no-store"
    assert "no_location" in text and text.count("/tps/3171011001002") == 1


def test_report_lists_the_areas_coverage_gaps_only(officer_app):
    pytest.importorskip("geo.coverage")
    client = officer_app.test_client()
    login(client, "camat.tebet")
    html = client.get("/petugas/?lang=en").get_data(as_text=True)
    assert "Coverage gaps" in html and "TPS without a location" in html
    assert "3171011001003" in html and "3171011002003" in html and "3171021001003" not in html
    kel = client.get("/petugas/wilayah/3171011001?lang=id").get_data(as_text=True)
    assert "Kesenjangan cakupan" in kel and "TPS belum berlokasi" in kel and "&lt;5" in kel   # small count hidden


def test_wrong_password_and_unknown_user(officer_app):
    client = officer_app.test_client()
    for user, pw in (("camat.tebet", "wrong password"), ("nobody", PASSWORD)):
        r = login(client, user, pw)
        assert r.status_code == 401 and "salah" in r.get_data(as_text=True)
    assert client.get("/petugas/").status_code == 302


@pytest.mark.parametrize("path", ["/petugas/wilayah/317102", "/petugas/wilayah/3171021001", "/petugas/wilayah/3171",
                                  "/petugas/unduh/3171021001.csv", "/petugas/unduh/317102.gpkg"])
def test_officer_of_one_kecamatan_cannot_read_another(officer_app, path):
    client = officer_app.test_client()
    login(client, "camat.tebet")
    r = client.get(path)
    assert r.status_code == 403 and b"GLODOK" not in r.data and b"3171021001001" not in r.data


def test_kelurahan_officer_sees_own_kelurahan(officer_app):
    client = officer_app.test_client()
    login(client, "lurah.glodok")
    html = client.get("/petugas/").get_data(as_text=True)
    assert "GLODOK" in html and "over_capacity" in html and "MENTENG" not in html
    assert client.get("/petugas/wilayah/317102").status_code == 403


def test_downloads(officer_app):
    client = officer_app.test_client()
    login(client, "camat.tebet")
    r = client.get("/petugas/unduh/3171011001.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    frame = pd.read_csv(io.BytesIO(r.data), dtype=str)
    assert frame["kode_tps"].tolist() == ["3171011001001", "3171011001002", "3171011001003"]
    g = client.get("/petugas/unduh/317101.gpkg")
    assert g.status_code == 200 and g.data[:15] == b"SQLite format 3"
    assert client.get("/petugas/unduh/317101.xls").status_code == 404
    assert client.get("/petugas/unduh/31.csv").status_code == 400


def test_logout_and_expiry(officer_app):
    client = officer_app.test_client()
    login(client, "camat.tebet")
    token = csrf_from(client.get("/petugas/").get_data(as_text=True))
    assert client.post("/petugas/keluar", data={"csrf_token": token}).status_code == 302
    assert client.get("/petugas/").status_code == 302
    login(client, "camat.tebet")
    with client.session_transaction() as s:
        s["officer_expires"] = time.time() - 1
    r = client.get("/petugas/")
    assert r.status_code == 302 and "expired=1" in r.headers["Location"]
    assert "Sesi berakhir" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_login_is_rate_limited(make_app):
    app = make_app(login_limit="3 per minute")
    client = app.test_client()
    codes = [login(client, "nobody", "wrong password").status_code for _ in range(5)]
    assert codes == [401, 401, 401, 429, 429]
