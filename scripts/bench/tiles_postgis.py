"""Tiles from PostGIS: a dense z14 TPS tile on demand, next to a naive baseline measured in the same run.

Usage::

    eval "$(scripts/pg-env)"; export PETATPS_TEST_DB
    .venv/bin/python scripts/bench/tiles_postgis.py [--quick] [--repeat 50] [--pyramid] [--db URL]

Data: the real kelurahan and the real Pemilu 2024 TPS list placed at seeded random points inside their
kelurahan (``synthetic_city`` of ``scripts/bench/tiles.py``), loaded into a throwaway schema of the
PostGIS database (dropped at the end).

1. Dense z14 tile (the z14 tile holding the most TPS): median time of ``PostgisStore.tile`` as MVT
   (``ST_AsMVT``) and as GeoJSON (``ST_AsGeoJSON``), each a full round trip from Python (goal: < 10 ms),
   next to the naive baseline (a bbox test over every feature in Python, then the standard ``json``
   module) and, for reference, the in-memory ``TileIndex.geojson`` of the embedded store.
2. ``--pyramid``: ``geo.tile_source.pyramid`` of the TPS layer from PostGIS, zooms 10-16, both formats.

Ends with one JSON line of the figures. ``--quick``: Jakarta Pusat (3171) only.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from geo import geojson, tile_source, tiles
from geo.store.postgis import PostgisStore


def _bench_tiles_module():
    spec = importlib.util.spec_from_file_location("bench_tiles", ROOT / "scripts" / "bench" / "tiles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def bench_dense_tile(store: PostgisStore, index: tiles.TileIndex, tps, naive_tile, repeat: int) -> dict:
    z = 14
    x, y = max(index.tiles(z), key=lambda t: len(index.select(z, *t).ids))
    sel = index.select(z, x, y)
    _, blobs = geojson.feature_blobs(tps, "tps", only=tiles.TILE_PROPERTIES["tps"])
    features = [json.loads(b) for b in blobs]
    bounds, buffer = tiles.tile_bounds(z, x, y), tiles.BUFFER / tiles.EXTENT
    mvt = _median_ms(lambda: store.tile("tps", z, x, y, "mvt"), repeat)
    gj = _median_ms(lambda: store.tile("tps", z, x, y, "geojson"), repeat)
    naive = _median_ms(lambda: naive_tile(features, bounds, buffer), repeat)
    memory = _median_ms(lambda: index.geojson(z, x, y), repeat)
    same = store.tile_data("tps", z, x, y, "mvt")[1].ids == sel.ids
    return {"tile": f"{z}/{x}/{y}", "features": len(sel.ids), "postgis_mvt_ms": round(mvt, 2),
            "postgis_geojson_ms": round(gj, 2), "naive_ms": round(naive, 2),
            "mvt_speedup": round(naive / mvt, 1), "geojson_speedup": round(naive / gj, 1),
            "memory_geojson_ms": round(memory, 3), "same_ids_as_geo_tiles": same}


def bench_pyramid(store: PostgisStore, zooms: tuple[int, ...]) -> dict:
    opts = {"tps": tiles.TileOptions(zooms=zooms)}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = tile_source.pyramid(store, tmp, layers=("tps",), data_version="bench", options=opts)
        seconds = time.perf_counter() - t0
    return {"pyramid_s": round(seconds, 1), "tiles_per_zoom": report.figures["tps_tiles_per_zoom"],
            "files": report.figures["files"], "capped_tiles": report.figures["tps_capped_tiles"]}


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Jakarta Pusat only")
    ap.add_argument("--repeat", type=int, default=50, help="runs of each timing (median)")
    ap.add_argument("--pyramid", action="store_true", help="also time the z10-16 pyramid from PostGIS")
    ap.add_argument("--db", default=os.environ.get("PETATPS_TEST_DB"), help="PostGIS URL (default PETATPS_TEST_DB)")
    args = ap.parse_args(argv)
    if not args.db:
        sys.exit('need a PostGIS URL: --db or PETATPS_TEST_DB (eval "$(scripts/pg-env)")')
    bench = _bench_tiles_module()
    if not bench.KELURAHAN.is_file() or not bench.TPS_LIST.is_file():
        sys.exit(f"real data not found under {bench.REAL}")
    kel, tps = bench.synthetic_city("3171" if args.quick else None)
    schema = "bench_tiles_" + uuid.uuid4().hex[:8]
    store = PostgisStore(args.db, schema=schema)
    try:
        store.init()
        t0 = time.perf_counter()
        store.load("kelurahan", [kel])
        store.load("tps", [tps])
        load_s = time.perf_counter() - t0
        print(f"TPS {len(tps):,} in {len(kel)} kelurahan loaded into PostGIS schema {schema} in {load_s:.1f} s")
        index = tiles.TileIndex.from_frame(tps, "tps", areas=kel)
        dense = bench_dense_tile(store, index, tps, bench.naive_tile, args.repeat)
        print(f"dense z14 tile {dense['tile']} ({dense['features']} TPS) from PostGIS: MVT {dense['postgis_mvt_ms']} ms, "
              f"GeoJSON {dense['postgis_geojson_ms']} ms median vs naive {dense['naive_ms']} ms "
              f"({dense['mvt_speedup']}x, {dense['geojson_speedup']}x); goal < 10 ms. In-memory GeoJSON "
              f"{dense['memory_geojson_ms']} ms; same ids as geo.tiles: {dense['same_ids_as_geo_tiles']}")
        figures = {"bench": "tiles_postgis", "quick": args.quick, "tps": len(tps), "load_s": round(load_s, 1),
                   **{f"dense_{k}": v for k, v in dense.items()}}
        if args.pyramid:
            pyramid = bench_pyramid(store, tuple(range(10, 17)))
            print(f"pyramid z10-16 from PostGIS, both formats: {pyramid['pyramid_s']} s, {pyramid['files']} files")
            figures.update({f"pyramid_{k}": v for k, v in pyramid.items()})
    finally:
        store.close()
        engine = sa.create_engine(args.db)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
