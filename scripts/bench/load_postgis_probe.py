"""Probe: load a synthetic DPT (voters layer) into PostGIS via PostgisStore.load, against a plain COPY.

    PETATPS_TEST_DB=postgresql://... .venv/bin/python scripts/bench/load_postgis_probe.py [--rows 1000000]

Both runs use the same rows: the baseline COPYs the already-encoded CSV into an unindexed table
(the floor any loader pays); the store run includes encoding, staging, scope delete, indexes and commit.
Works in a throwaway schema, dropped at the end. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import uuid

import numpy as np
import pandas as pd
import sqlalchemy as sa
from psycopg import sql

from geo import schema
from geo.store import postgis


def voters(n: int, seed: int = 1) -> pd.DataFrame:
    """``n`` synthetic voters over 267 kelurahan, ~270 per TPS (vectorized)."""
    rng = np.random.default_rng(seed)
    ids = pd.Series(np.arange(n), dtype="int64").astype("string")
    kel = pd.Series(3171011001 + rng.integers(0, 267, n), dtype="int64").astype("string")
    tps = kel + pd.Series(1 + rng.integers(0, 30, n)).astype("string").str.zfill(3)
    frame = pd.DataFrame({
        "voter_key": ids.str.zfill(32), "kk_key": (ids.str[:-1]).str.zfill(32), "nama_masked": "S*** R*****",
        "jenis_kelamin": np.where(rng.random(n) < 0.5, "L", "P"), "tahun_lahir": rng.integers(1940, 2007, n),
        "kode_kel": kel, "rw": rng.integers(1, 20, n), "rt": rng.integers(1, 15, n),
        "alamat": "Jl. Kenari II No. 5", "kode_tps": tps,
    })
    return schema.conform(frame, "voters").sort_values("kode_kel", ignore_index=True)


def plain_copy(store: postgis.PostgisStore, frame: pd.DataFrame) -> float:
    data = [postgis._csv(frame.iloc[i:i + 100_000], "voters") for i in range(0, len(frame), 100_000)]
    plain = postgis.layer_table("voters", sa.MetaData(), staging=True)
    with store._transaction("plain copy") as conn:
        plain.create(conn)
        started = time.perf_counter()
        statement = sql.SQL("COPY {} FROM STDIN (FORMAT csv)").format(sql.Identifier(plain.name))
        with conn.connection.driver_connection.cursor() as cur, cur.copy(statement) as copy:
            for chunk in data:
                copy.write(chunk)
        return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--chunk", type=int, default=100_000)
    args = ap.parse_args()
    frame = voters(args.rows)
    store = postgis.PostgisStore(os.environ["PETATPS_TEST_DB"], schema="bench_" + uuid.uuid4().hex[:8])
    try:
        store.init()
        copy_s = plain_copy(store, frame)
        started = time.perf_counter()
        chunks = (frame.iloc[i:i + args.chunk] for i in range(0, len(frame), args.chunk))
        store.load("voters", chunks)
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        chunks = (frame.iloc[i:i + args.chunk] for i in range(0, len(frame), args.chunk))
        store.load("voters", chunks)
        reload_s = time.perf_counter() - started
        started = time.perf_counter()
        rows = sum(len(c) for c in store.iter_read("voters"))
        read_s = time.perf_counter() - started
    finally:
        with store._transaction("drop bench schema") as conn:
            conn.execute(sa.schema.DropSchema(store.schema, cascade=True))
        store.close()
    print(json.dumps({"rows": args.rows, "plain_copy_rows_s": round(args.rows / copy_s),
                      "load_rows_s": round(args.rows / first_s), "reload_rows_s": round(args.rows / reload_s),
                      "iter_read_rows_s": round(rows / read_s), "load_vs_copy": round(copy_s / first_s, 2)}))


if __name__ == "__main__":
    main()
