#!/usr/bin/env python3
"""Benchmark: DPT load rate into both stores, next to a plain COPY of the same file.

    python scripts/bench/load.py [--quick] [--rows N] [--db URL]

Generates a DPT of N rows (default 1,000,000; --quick 100,000) with geo.generate, then measures in the
same run, each in a fresh subprocess (so peak memory is the load's own):
  - baseline: a plain PostgreSQL ``COPY`` of the raw CSV into a text table (no validation, no hashing);
  - ``petatps load dpt`` into PostGIS (validate, hash, COPY, replace by kelurahan, commit);
  - ``petatps load dpt`` into the embedded GeoPackage.
Targets (issue 2): PostGIS >= 100,000 rows/s, GeoPackage >= 50,000 rows/s, peak memory < 1.5 GB.
Ends with one JSON line of the figures. Needs PETATPS_TEST_DB or --db (a PostGIS URL; see scripts/pg-env).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


def child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter; return its JSON result plus its peak RSS (MB).

    The peak counts the process and, added on top, the largest of its own children (the DPT
    loader's hashing helper), so it bounds what the load held at any moment.
    """
    code += ("\nimport resource as _r; print(json.dumps({'peak_kb': _r.getrusage(_r.RUSAGE_SELF).ru_maxrss, "
             "'children_kb': _r.getrusage(_r.RUSAGE_CHILDREN).ru_maxrss}))")
    out = subprocess.run([PY, "-c", code, *args], check=True, capture_output=True, text=True, cwd=ROOT)
    lines = out.stdout.strip().splitlines()
    result = json.loads(lines[-2])
    peak = json.loads(lines[-1])
    result["peak_mb"] = round((peak["peak_kb"] + peak["children_kb"]) / 1024, 1)
    return result


COPY_BASELINE = r"""
import json, sys, time, psycopg
url, path, table = sys.argv[1:4]
with psycopg.connect(url) as conn:
    cols = open(path, encoding="utf-8").readline().strip().split(",")
    conn.execute(f'CREATE UNLOGGED TABLE "{table}" (' + ", ".join(f'"{c}" text' for c in cols) + ")")
    t = time.perf_counter()
    with conn.cursor().copy(f'COPY "{table}" FROM STDIN WITH (FORMAT csv, HEADER true)') as cp, open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            cp.write(block)
    conn.commit()
    dt = time.perf_counter() - t
    n = conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    conn.execute(f'DROP TABLE "{table}"')
print(json.dumps({"rows": n, "seconds": dt}))
"""

PETATPS_LOAD = r"""
import json, sys, time
from pathlib import Path
from geo.imports import import_dpt
from geo.store import open_store
db, home, path = sys.argv[1:4]
store = open_store(db or None, home)
store.init()
t = time.perf_counter()
rep = import_dpt(store, path, key=b"bench-key", reports_dir=Path(home) / "reports")
dt = time.perf_counter() - t
store.close()
print(json.dumps({"rows": rep.rows_read, "loaded": rep.rows_loaded, "rejected": rep.rows_rejected, "seconds": dt}))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100,000 rows (under a minute)")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--db", default=os.environ.get("PETATPS_TEST_DB"))
    args = ap.parse_args()
    if not args.db:
        sys.exit("need a PostGIS URL: --db or PETATPS_TEST_DB (eval \"$(scripts/pg-env)\")")
    rows = args.rows or (100_000 if args.quick else 1_000_000)
    sys.path.insert(0, str(ROOT))
    from geo.generate import generate_city

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="petatps-bench-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        generate_city(tmp / "city", voters=rows, seed=1, kode=None, dirty=True)
        gen_s = time.perf_counter() - t
        dpt = tmp / "city" / "dpt.csv"
        n_lines = sum(1 for _ in dpt.open("rb")) - 1
        schema = "bench_" + uuid.uuid4().hex[:8]
        sep = "&" if "?" in args.db else "?"
        pg = f"{args.db}{sep}schema={schema}"
        base = child(COPY_BASELINE, args.db, str(dpt), "bench_copy_" + uuid.uuid4().hex[:8])
        pgres = child(PETATPS_LOAD, pg, str(tmp / "home-pg"), str(dpt))
        gpres = child(PETATPS_LOAD, "", str(tmp / "home-gpkg"), str(dpt))
        _drop_schema(args.db, schema)
    fig = {
        "rows": n_lines,
        "generate_s": round(gen_s, 2),
        "copy_baseline_rows_per_s": round(base["rows"] / base["seconds"]),
        "postgis_rows_per_s": round(pgres["rows"] / pgres["seconds"]),
        "postgis_vs_copy": round((pgres["rows"] / pgres["seconds"]) / (base["rows"] / base["seconds"]), 3),
        "postgis_peak_mb": pgres["peak_mb"],
        "gpkg_rows_per_s": round(gpres["rows"] / gpres["seconds"]),
        "gpkg_vs_copy": round((gpres["rows"] / gpres["seconds"]) / (base["rows"] / base["seconds"]), 3),
        "gpkg_peak_mb": gpres["peak_mb"],
        "rejected": pgres["rejected"],
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],  # before, after
        "targets_met": {
            "postgis_100k_per_s": pgres["rows"] / pgres["seconds"] >= 100_000,
            "gpkg_50k_per_s": gpres["rows"] / gpres["seconds"] >= 50_000,
            "peak_under_1500_mb": max(pgres["peak_mb"], gpres["peak_mb"]) < 1500,
        },
    }
    print(f"DPT rows: {fig['rows']:,} (generated in {fig['generate_s']} s); load average "
          f"{fig['load_average_1m'][0]} before, {fig['load_average_1m'][1]} after")
    print(f"plain COPY (baseline):  {fig['copy_baseline_rows_per_s']:>10,} rows/s")
    print(f"petatps -> PostGIS:     {fig['postgis_rows_per_s']:>10,} rows/s  ({fig['postgis_vs_copy']:.2f}× COPY)  "
          f"peak {fig['postgis_peak_mb']} MB")
    print(f"petatps -> GeoPackage:  {fig['gpkg_rows_per_s']:>10,} rows/s  ({fig['gpkg_vs_copy']:.2f}× COPY)  "
          f"peak {fig['gpkg_peak_mb']} MB")
    print(json.dumps(fig))
    return 0


def _drop_schema(url: str, schema: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
