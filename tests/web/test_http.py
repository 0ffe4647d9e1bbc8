"""Compression of larger text responses; the fixed-bytes ping."""

from __future__ import annotations

import gzip

import pytest

from web.http import brotli, encode


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


def test_fast_encoding_round_trips_and_trades_a_little_size():
    data = b"".join(b'{"kode_tps":"3171011001%03d","dpt":%d,"location_source":"coordinates"}' % (i, 150 + i % 90)
                    for i in range(800))
    fast, default = encode(data, "gzip", fast=True), encode(data, "gzip")
    assert gzip.decompress(fast) == gzip.decompress(default) == data
    assert len(default) <= len(fast) < len(data) / 4
    assert encode(data, None, fast=True) is data
    if brotli is None:
        pytest.skip("brotli not installed")
    assert brotli.decompress(encode(data, "br", fast=True)) == data
