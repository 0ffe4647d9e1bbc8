"""Protection: headers and CSP, NIK lookups throttled per client (memory and Redis), NIK never logged."""

from __future__ import annotations

import logging
import re
import socket
import uuid

import pytest

from tests.web import city
from tests.web.conftest import csrf_from
from web.security import NikFilter, content_security_policy

DIGITS16 = re.compile(r"(?<!\d)\d{16}(?!\d)")


def test_security_headers_on_pages_and_api(client):
    for path in ("/", "/wilayah/3171", "/nope", "/api/v1/collections", "/tiles/tps/14/13052/8476.mvt",
                 "/api/v1/nope"):
        r = client.get(path)
        h = r.headers
        assert h["X-Content-Type-Options"] == "nosniff" and h["Referrer-Policy"] == "no-referrer"
        assert h["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert h.get_all("Content-Security-Policy") == [h["Content-Security-Policy"]]
        if r.mimetype == "text/html":
            csp = h["Content-Security-Policy"]
            assert "script-src 'self';" in csp and "object-src 'none'" in csp and "geolocation=(self)" in \
                h["Permissions-Policy"]
        else:                                   # data: nothing may run in its context
            assert h["Content-Security-Policy"].startswith("default-src 'none'")


def test_csp_has_no_external_script_source():
    csp = content_security_policy("https://{s}.tile.example.org/{z}/{x}/{y}.png", "'none'")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data: https://*.tile.example.org"
    assert "http" not in directives["default-src"] + directives["connect-src"]


def _lookups(client, n, nik="3171011505900001"):
    token = csrf_from(client.get("/").get_data(as_text=True))
    codes = []
    for i in range(n):
        if i % 2:
            codes.append(client.post("/api/v1/lookup", json={"nik": nik}).status_code)
        else:
            codes.append(client.post("/cari", data={"nik": nik, "csrf_token": token}).status_code)
    return codes


def test_thirty_lookups_in_a_minute_are_throttled(client):
    codes = _lookups(client, 30)
    assert codes[:10] == [200] * 10 and codes[10:] == [429] * 20      # page and API share "10 per minute"
    r = client.post("/api/v1/lookup", json={"nik": "3171011505900001"})
    assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 60 and r.json["code"] == 429
    token = csrf_from(client.get("/").get_data(as_text=True))
    page = client.post("/cari", data={"nik": "3171011505900001", "csrf_token": token})
    assert page.status_code == 429 and "Terlalu banyak percobaan" in page.get_data(as_text=True)
    # other clients and other pages are not affected
    assert client.get("/api/v1/nearest?lat=-6.245&lon=106.805").status_code == 200
    other = client.post("/api/v1/lookup", json={"nik": "3171011505900001"}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis at 127.0.0.1:6379")
def test_throttling_with_redis_storage_is_shared_between_apps(make_app):
    limit = f"5 per minute;{uuid.uuid4().int % 1000 + 1000} per day"   # a fresh key space per run
    a = make_app(ratelimit_storage="redis://127.0.0.1:6379", lookup_limit=limit).test_client()
    b = make_app(ratelimit_storage="redis://127.0.0.1:6379", lookup_limit=limit).test_client()
    ip = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"}
    codes = [c.post("/api/v1/lookup", json={"nik": city.MISSING_NIK}, environ_base=ip).status_code
             for c in (a, b, a, b, a, b, a)]
    assert codes == [200] * 5 + [429, 429]


def test_nik_never_in_responses_logs_or_urls(make_app, caplog):
    app = make_app(lookup_limit="1000 per minute")
    client = app.test_client()
    caplog.set_level(logging.DEBUG)
    bodies, urls = [], []
    token = csrf_from(client.get("/").get_data(as_text=True))
    for nik in [*city.NIKS, city.MISSING_NIK, city.INVALID_NIK, "3171 0115 0590 0001", "3.17101E+15"]:
        for lang in ("id", "en"):
            r = client.post(f"/cari?lang={lang}", data={"nik": nik, "csrf_token": token})
            bodies.append(r.get_data(as_text=True))
            urls += re.findall(r'(?:href|src|action)="([^"]+)"', bodies[-1])
        r = client.post("/api/v1/lookup", json={"nik": nik, "kode_kel": "3171021001"})
        bodies.append(r.get_data(as_text=True) + str(dict(r.headers)))
    bodies.append(client.post("/cari", data={"nik": "3171011505900001"}).get_data(as_text=True))   # no CSRF
    assert not [b for b in bodies if DIGITS16.search(b)]
    assert not [u for u in urls if DIGITS16.search(u)]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not DIGITS16.search(logged) and "SITI RAHAYU" not in "".join(bodies)


def test_log_filter_masks_sixteen_digit_runs():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "got %s and %s", ("3171011505900001", "1234"), None)
    NikFilter().filter(record)
    assert record.getMessage() == "got <16 digits> and 1234"
    keep = logging.LogRecord("x", logging.INFO, __file__, 1, "tps %s", ("3171011001001",), None)
    NikFilter().filter(keep)
    assert keep.getMessage() == "tps 3171011001001"


def test_post_body_size_is_bounded(client):
    r = client.post("/api/v1/lookup", data=b"x" * 100_000, content_type="application/json")
    assert r.status_code == 413


@pytest.mark.parametrize("path", ["/embed?kode=3171011505900001", "/api/v1/collections/3171011505900001/items",
                                  "/api/v1/nearest?lat=-6.2&lon=106.8&kode_kel=3171011505900001",
                                  "/wilayah/3171011505900001", "/tps/3171011505900001",
                                  "/api/v1/collections/tps/items/3171011505900001"])
def test_errors_never_echo_a_nik(client, path):
    r = client.get(path)
    assert 400 <= r.status_code < 500 and not DIGITS16.search(r.get_data(as_text=True))
