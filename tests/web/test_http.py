"""Compression of larger text responses; the fixed-bytes ping."""

from __future__ import annotations

import gzip


def test_large_json_is_gzipped(client):
    plain = client.get("/api/v1/openapi.json")
    r = client.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert r.headers["Content-Encoding"] == "gzip" and gzip.decompress(r.data) == plain.data
    assert "Content-Encoding" not in plain.headers


def test_small_responses_are_not_compressed(client):
    r = client.get("/ping", headers={"Accept-Encoding": "gzip"})
    assert r.data == b"pong" and "Content-Encoding" not in r.headers


def test_cors_on_api(client):
    r = client.get("/api/v1/collections", headers={"Origin": "https://smartcity.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://smartcity.example"
    assert "Access-Control-Allow-Origin" not in client.get("/", headers={"Origin": "https://smartcity.example"}).headers
