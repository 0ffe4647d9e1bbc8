"""The production configuration starts gunicorn, warms the cache in the master and serves requests."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.web import city

GUNICORN = Path(sys.executable).with_name("gunicorn")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, method: str = "GET", body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, data


@pytest.fixture
def gunicorn(gpkg_city, tmp_path):
    if not GUNICORN.exists():
        pytest.skip("gunicorn is not installed in this environment")
    port = _port()
    env = dict(os.environ, PETATPS_DB=gpkg_city, PETATPS_HOME=str(tmp_path), PETATPS_BIND=f"127.0.0.1:{port}",
               PETATPS_WORKERS="2", PETATPS_THREADS="2", PETATPS_SECRET_KEY="gunicorn-test",
               PETATPS_NIK_KEY=city.NIK_KEY.decode(), PETATPS_ACCESS_LOG="1", PETATPS_WARM="all")
    proc = subprocess.Popen([str(GUNICORN), "-c", str(ROOT / "web" / "gunicorn.conf.py"), "web.app:create_app()"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if _get(port, "/healthz")[0] == 200:
                break
        except OSError:
            time.sleep(0.2)
    yield port, proc
    proc.terminate()
    proc.wait(20)


def test_serves_with_the_production_config(gunicorn):
    port, proc = gunicorn
    status, body = _get(port, "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert _get(port, "/tiles/tps/14/13052/8476.mvt")[0] == 200
    status, body = _get(port, "/api/v1/lookup", "POST", json.dumps({"nik": "3171011505900001"}).encode(),
                        {"Content-Type": "application/json"})
    assert status == 200 and json.loads(body)["tps"]["id"] == "3171011001001"
    proc.terminate()
    log = proc.communicate(timeout=20)[0].decode()
    assert "POST /api/v1/lookup" in log and "3171011505900001" not in log
