#!/usr/bin/env python3
"""Derive data/wilayah_dki.csv: the 267 DKI Jakarta kelurahan as public facts (codes, names,
parents, centroid, area, voter weight), used by the demo city generator (geo/generate.py).

Sources (read-only, never copied into the repository; only the derived figures below are kept):

* Kelurahan codes, names, parent units and polygons: cahyadsn/wilayah_boundaries
  (https://github.com/cahyadsn/wilayah_boundaries, commit 3c5a796), MIT licence,
  "Copyright (c) 2024 Cahya DSN"; codes and names follow Kepmendagri No 300.2.2-2138 Tahun 2025.
  Only the centroid (computed in EPSG:32748) and the area of each polygon are derived; no polygon
  is copied.
* Voter weight ``dpt_2024``: ``dpt_est_total`` per kelurahan from the Pemilu 2024 KPU SIREKAP public
  snapshot parsed by gigit-pemilu (https://github.com/gigit-pemilu/pemilu-2024-31-dki-jakarta,
  commit c3e2ffa). A public count, used only as a relative weight to spread generated voters.

Usage::

    python scripts/make_wilayah_table.py [--real ../shared/data/real] [--out data/wilayah_dki.csv]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
KELURAHAN = "cahyadsn-wilayah_boundaries/dki_kelurahan.geojson"
SUMMARY = "gigit-pemilu-2024-31-dki-jakarta/kelurahan_summary_pemilu2024_dki.csv"
COLUMNS = ["kode", "nama", "kode_kec", "nama_kec", "kode_kab", "nama_kab", "lon", "lat", "area_km2", "dpt_2024"]
METRIC_EPSG = 32748


def build_table(real: Path) -> pd.DataFrame:
    """One row per kelurahan, sorted by code; centroid in EPSG:4326 (6 decimals, ~0.1 m), area in km²."""
    kel = gpd.read_file(real / KELURAHAN)
    metric = kel.to_crs(METRIC_EPSG)
    centroid = metric.geometry.centroid.to_crs(4326)
    summary = pd.read_csv(real / SUMMARY, dtype={"kode_kel": str})
    weight = summary.set_index("kode_kel")["dpt_est_total"]
    out = pd.DataFrame({
        "kode": kel["kode_kemendagri"].astype(str),
        "nama": kel["nama"],
        "kode_kec": kel["kode_kec"].astype(str),
        "nama_kec": kel["nama_kec"],
        "kode_kab": kel["kode_kab"].astype(str),
        "nama_kab": kel["nama_kab"],
        "lon": centroid.x.round(6),
        "lat": centroid.y.round(6),
        "area_km2": (metric.area / 1e6).round(4),
    })
    out["dpt_2024"] = out["kode"].map(weight).astype("Int64")
    missing = out.loc[out["dpt_2024"].isna(), "kode"].tolist()
    if missing:
        raise SystemExit(f"{SUMMARY}: no dpt_est_total for kelurahan {missing}")
    return out.sort_values("kode").reset_index(drop=True)[COLUMNS]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "real")
    parser.add_argument("--out", type=Path, default=ROOT / "data" / "wilayah_dki.csv")
    args = parser.parse_args(argv)
    table = build_table(args.real)
    table.to_csv(args.out, index=False, lineterminator="\n")
    print(f"wrote {len(table)} kelurahan to {args.out}")


if __name__ == "__main__":
    main()
