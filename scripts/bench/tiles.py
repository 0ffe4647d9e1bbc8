"""Tile and map benchmark: the DKI TPS pyramid in both formats, a dense z14 tile, the overview page.

Usage::

    .venv/bin/python scripts/bench/tiles.py [--quick] [--repeat 50]

The TPS layer is the real Pemilu 2024 list (30,766 TPS codes with their DPT) placed at seeded random
points inside their real kelurahan polygons (../shared/data/real; the real list has no coordinates).

1. Pyramid: ``export_tiles`` of the TPS layer, zooms 10-16, GeoJSON and MVT, written to a temporary
   folder (goal: < 60 s), with the index build and each format's encoding timed apart.
2. Dense z14 tile (the z14 tile holding the most TPS): median time of ``TileIndex.geojson`` (goal:
   < 5 ms) next to a naive baseline measured in the same run (a bbox test over every feature, then the
   standard ``json`` module), and the on-demand pure-Python MVT of the same tile (for reference: keep
   it pre-generated).
3. The city overview page (``overview_map`` + ``render_html``): bytes (goal: < 2 MB) and build time.

Ends with one JSON line of the figures. ``--quick``: Jakarta Pusat (3171) only, zooms 10-15.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from geo import geojson, maps, tiles  # noqa: E402
from geo.export import export_tiles  # noqa: E402
from geo.schema import conform  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real"
KELURAHAN = REAL / "cahyadsn-wilayah_boundaries" / "dki_kelurahan.geojson"
TPS_LIST = REAL / "gigit-pemilu-2024-31-dki-jakarta" / "tps_pemilu2024_pilpres_dki.csv"


def synthetic_city(kota: str | None, seed: int = 0) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Real kelurahan and the real TPS list, each TPS at a random point inside its kelurahan."""
    raw = gpd.read_file(KELURAHAN).rename(columns={"kode_kemendagri": "kode"})
    kel = conform(raw.to_crs(4326), "kelurahan")
    listing = pd.read_csv(TPS_LIST, dtype={"kode_tps": str, "kode_kel": str},
                          usecols=["kode_tps", "kode_kel", "no_tps", "dpt", "dpt_l", "dpt_p"])
    if kota:
        kel = kel[kel["kode"].str.startswith(kota)].reset_index(drop=True)
        listing = listing[listing["kode_kel"].str.startswith(kota)]
    listing = listing.sort_values("kode_tps").reset_index(drop=True)
    counts = listing.groupby("kode_kel").size()
    polygons = kel.set_index("kode").geometry.loc[counts.index]
    points = shapely.get_parts(polygons.sample_points(size=counts.to_numpy(), rng=seed).values)
    frame = listing.assign(**{c: listing[c].astype("Int32") for c in ("dpt", "dpt_l", "dpt_p")},
                           location_source="coordinates", precision_m=10.0)
    return kel, conform(gpd.GeoDataFrame(frame, geometry=points, crs=4326), "tps")


def bench_pyramid(tps, kel, zooms) -> dict:
    opts = tiles.TileOptions(zooms=zooms)
    t0 = time.perf_counter()
    index = tiles.TileIndex.from_frame(tps, "tps", areas=kel, options=opts)
    t_index = time.perf_counter() - t0
    pyramid = list(index.pyramid())
    t0 = time.perf_counter()
    for z, x, y in pyramid:
        index.geojson(z, x, y)
    t_geojson = time.perf_counter() - t0
    t0 = time.perf_counter()
    for z, x, y in pyramid:
        index.mvt(z, x, y)
    t_mvt = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        report = export_tiles(tmp, tps=tps, data_version="bench", options={"tps": opts})
        t_export = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in Path(tmp).rglob("*") if p.is_file())
    return {"index_s": round(t_index, 2), "geojson_encode_s": round(t_geojson, 2), "mvt_encode_s": round(t_mvt, 2),
            "export_tiles_s": round(t_export, 2), "tiles": len(pyramid),
            "tiles_per_zoom": report.figures["tps_tiles_per_zoom"], "files": report.figures["files"],
            "megabytes": round(size / 1e6, 1), "capped_tiles": report.figures["tps_capped_tiles"]}, index


def naive_tile(features: list[dict], bounds: tuple[float, float, float, float], buffer: float) -> bytes:
    """Baseline: test every feature against the (buffered) tile box, serialise with ``json``."""
    west, south, east, north = bounds
    dx, dy = (east - west) * buffer, (north - south) * buffer
    chosen = [f for f in features
              if west - dx <= f["geometry"]["coordinates"][0] < east + dx
              and south - dy < f["geometry"]["coordinates"][1] <= north + dy]
    return json.dumps({"type": "FeatureCollection", "features": chosen}).encode()


def bench_dense_tile(index: tiles.TileIndex, tps: gpd.GeoDataFrame, repeat: int) -> dict:
    z = 14
    x, y = max(index.tiles(z), key=lambda t: len(index.select(z, *t).ids))
    n = len(index.select(z, x, y).ids)
    # The baseline holds the same features (same tile properties) as plain dicts.
    _, blobs = geojson.feature_blobs(tps, "tps", only=tiles.TILE_PROPERTIES["tps"])
    features = [json.loads(b) for b in blobs]
    ours = _median_ms(lambda: index.geojson(z, x, y), repeat)
    naive = _median_ms(lambda: naive_tile(features, tiles.tile_bounds(z, x, y), tiles.BUFFER / tiles.EXTENT),
                       repeat)
    mvt = _median_ms(lambda: index.mvt(z, x, y), max(3, repeat // 10))
    return {"tile": f"{z}/{x}/{y}", "features": n, "geojson_ms": round(ours, 3), "naive_ms": round(naive, 3),
            "speedup": round(naive / ours, 1), "mvt_on_demand_ms": round(mvt, 1),
            "baseline_features": len(features)}


def bench_overview(kel, tps) -> dict:
    t0 = time.perf_counter()
    html = maps.render_html(maps.overview_map(kel, tps))
    return {"overview_bytes": len(html.encode()), "overview_s": round(time.perf_counter() - t0, 2)}


def _median_ms(fn, repeat: int) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="Jakarta Pusat only, zooms 10-15")
    ap.add_argument("--repeat", type=int, default=50, help="runs of the dense-tile timing (median)")
    args = ap.parse_args(argv)
    if not KELURAHAN.is_file() or not TPS_LIST.is_file():
        sys.exit(f"real data not found under {REAL}")
    zooms = tuple(range(10, 16 if args.quick else 17))
    kel, tps = synthetic_city("3171" if args.quick else None)
    print(f"TPS {len(tps):,} in {len(kel)} kelurahan, zooms {zooms[0]}-{zooms[-1]}")
    pyramid, index = bench_pyramid(tps, kel, zooms)
    print(f"pyramid: {pyramid['tiles']:,} tiles x 2 formats, export {pyramid['export_tiles_s']} s "
          f"(index {pyramid['index_s']} s, GeoJSON {pyramid['geojson_encode_s']} s, MVT {pyramid['mvt_encode_s']} s), "
          f"{pyramid['megabytes']} MB, capped tiles {pyramid['capped_tiles']}; goal < 60 s")
    dense = bench_dense_tile(index, tps, args.repeat)
    print(f"dense z14 tile {dense['tile']} ({dense['features']} TPS): GeoJSON {dense['geojson_ms']} ms median vs "
          f"naive {dense['naive_ms']} ms ({dense['speedup']}x); goal < 5 ms. On-demand MVT "
          f"{dense['mvt_on_demand_ms']} ms (pre-generated in the pyramid)")
    overview = bench_overview(kel, tps)
    print(f"overview page: {overview['overview_bytes'] / 1e6:.2f} MB in {overview['overview_s']} s; goal < 2 MB")
    figures = {"bench": "tiles", "quick": args.quick, "tps": len(tps), "zooms": [zooms[0], zooms[-1]],
               **{f"pyramid_{k}": v for k, v in pyramid.items()}, **{f"dense_{k}": v for k, v in dense.items()},
               **overview}
    print(json.dumps(figures, sort_keys=False))
    return figures


if __name__ == "__main__":
    main()
