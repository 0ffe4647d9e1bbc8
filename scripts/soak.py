#!/usr/bin/env python
"""Soak test: gunicorn (web/gunicorn.conf.py) on 127.0.0.1 over a demo store, held at a request rate.

Usage::

    .venv/bin/python scripts/soak.py [--duration 120] [--rate 150] [--db postgresql://...] [--voters 5000]

Builds a demo city (geo.demo: generated boundaries, TPS and a synthetic DPT of ``--voters``) into a
temporary GeoPackage (or a fresh schema of ``--db``, dropped at the end), starts gunicorn with the
production config on 127.0.0.1 only, and sends a fixed mix of requests — cached tiles, API pages,
nearest-TPS, TileJSON, pages, NIK lookups (POST), health — at ``--rate`` requests per second for
``--duration`` seconds, from ``--clients`` keep-alive connections. Requests are scheduled open-loop
(request *i* is due at ``start + i / rate``) and latency is measured from the due time, so a server
that falls behind shows in the latency instead of silently lowering the rate. The gunicorn processes'
resident memory is sampled every second.

Bounded by construction: at most ``--duration`` seconds (<= 4 h) and ``--max-requests`` requests, to
127.0.0.1 only. Ends with one JSON line on stdout: requests, achieved rate, errors (any status other
than 200/204/304, or a failed connection: must be 0), p50/p99/max latency, and the memory of the
server processes after warm-up, at the end, its growth and whether it stayed flat. Exit status 0 when
errors == 0 and memory is flat (and p99 <= ``--max-p99-ms`` when given), else 1.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"                       # the only address this script ever talks to
MAX_DURATION_S = 4 * 3600
OK_STATUS = frozenset({200, 204, 304})
# Share of each kind of request in the mix (weights).
MIX = {"tile": 40, "tilejson": 4, "items": 10, "item": 6, "nearest": 14, "page": 10, "lookup": 10, "health": 6}


@dataclass
class Target:
    """What the requests are made of (codes, tiles and NIKs of the demo store)."""

    kelurahan: list[str]
    tps: list[str]
    tiles: list[tuple[int, int, int]]
    bounds: tuple[float, float, float, float]
    niks: list[str] = field(repr=False)
    version: str = ""


# --- arguments ----------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=120.0, help="seconds of load (default 120; at most 4 h)")
    ap.add_argument("--rate", type=float, default=150.0, help="requests per second to hold (default 150)")
    ap.add_argument("--max-requests", type=int, default=2_000_000, help="hard cap on requests sent")
    ap.add_argument("--clients", type=int, default=16, help="keep-alive connections (default 16)")
    ap.add_argument("--warmup", type=float, default=None, help="seconds excluded from the memory baseline "
                    "(default 10%% of the duration, at least 3)")
    ap.add_argument("--voters", type=int, default=5000, help="voters in the demo DPT (default 5000)")
    ap.add_argument("--kode", default="317106", help="area of the demo city (default 317106, Menteng)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--db", default=None, help="PostGIS URL (a fresh schema, dropped after); default a GeoPackage")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    ap.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    ap.add_argument("--rss-tolerance-mb", type=float, default=20.0,
                    help="memory growth (MB, all server processes) still called flat (default 20)")
    ap.add_argument("--max-p99-ms", type=float, default=None, help="also fail when p99 latency exceeds this")
    args = ap.parse_args(argv)
    if not 0 < args.duration <= MAX_DURATION_S:
        ap.error(f"--duration must be in (0, {MAX_DURATION_S}] seconds")
    if not 0 < args.rate <= 10_000:
        ap.error("--rate must be in (0, 10000] requests per second")
    if not 1 <= args.clients <= 256 or args.max_requests < 1 or args.voters < 100:
        ap.error("--clients must be 1..256, --max-requests >= 1, --voters >= 100")
    if args.warmup is None:
        args.warmup = max(3.0, 0.1 * args.duration)
    return args


# --- the demo store -----------------------------------------------------------------------------------

def build_store(args, home: Path) -> tuple[str, Target, callable]:
    """Load the demo city; return (store URL, request targets, cleanup)."""
    import pandas as pd

    from geo.demo import run_demo
    from geo.settings import Settings
    from geo.store import open_store

    schema = None
    if args.db:
        schema = "soak_" + uuid.uuid4().hex[:10]
        url = f"{args.db}{'&' if '?' in args.db else '?'}schema={schema}"
    else:
        url = f"gpkg://{home / 'petatps.gpkg'}"
    settings = Settings(db_url=url, home=home, nik_key=os.environ["PETATPS_NIK_KEY"], env="test")
    store = open_store(url, home)
    store.init()
    run_demo(store, settings, voters=args.voters, seed=args.seed, kode=args.kode)
    target = targets(store, home / "demo-city" / "dpt.csv", seed=args.seed)
    store.close()

    def cleanup():
        if schema:
            import sqlalchemy as sa

            engine = sa.create_engine(args.db.replace("postgresql://", "postgresql+psycopg://", 1))
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()

    del pd
    return url, target, cleanup


def targets(store, dpt_csv: Path, *, seed: int = 7) -> Target:
    """Codes, the non-empty TPS tiles of zooms 12-16 and up to 500 DPT NIKs (kept in memory only)."""
    import pandas as pd

    from geo.tiles import lonlat_to_tile

    tps = store.read("tps")
    placed = tps[tps.geometry.notna() & ~tps.geometry.is_empty]
    lon, lat = placed.geometry.x.to_numpy(), placed.geometry.y.to_numpy()
    tiles = sorted({(z, int(x), int(y)) for z in range(12, 17) for x, y in zip(*lonlat_to_tile(lon, lat, z))})
    from geo.codes import nik_problems

    # Valid NIKs of voters whose DPT TPS is in the list (the generator plants dirty rows: those are
    # the loaders' business, not the server's).
    dpt = pd.read_csv(dpt_csv, dtype=str, usecols=["nik", "kode_kel", "tps"], nrows=20_000, keep_default_na=False)
    known = (dpt["kode_kel"] + dpt["tps"].str.zfill(3)).isin(set(tps["kode_tps"]))
    niks = dpt.loc[known & nik_problems(dpt["nik"].astype("string")).isna().to_numpy(), "nik"]
    niks = niks.sample(frac=1.0, random_state=seed).head(500)
    west, south, east, north = placed.total_bounds
    return Target(kelurahan=sorted(store.read("kelurahan")["kode"]), tps=sorted(placed["kode_tps"]), tiles=tiles,
                  bounds=(float(west), float(south), float(east), float(north)), niks=list(niks),
                  version=store.data_version())


def requests_for(target: Target, n: int, seed: int = 7) -> list[tuple[str, str, bytes | None]]:
    """``n`` requests (method, path, JSON body) in a fixed pseudo-random order of the :data:`MIX`."""
    rng = random.Random(seed)
    kinds = rng.choices(list(MIX), weights=list(MIX.values()), k=n)
    west, south, east, north = target.bounds
    out = []
    for kind in kinds:
        if kind == "tile":
            z, x, y = rng.choice(target.tiles)
            fmt = rng.choice(("mvt", "geojson"))
            out.append(("GET", f"/tiles/tps/{z}/{x}/{y}.{fmt}?v={target.version}", None))
        elif kind == "tilejson":
            out.append(("GET", f"/tiles/{rng.choice(('tps', 'kelurahan', 'rw'))}.json", None))
        elif kind == "items":
            out.append(("GET", f"/api/v1/collections/{rng.choice(('tps', 'kelurahan', 'rw'))}/items?limit=50", None))
        elif kind == "item":
            out.append(("GET", f"/api/v1/collections/tps/items/{rng.choice(target.tps)}", None))
        elif kind == "nearest":
            lat, lon = rng.uniform(south, north), rng.uniform(west, east)
            out.append(("GET", f"/api/v1/nearest?lat={lat:.5f}&lon={lon:.5f}", None))
        elif kind == "page":
            out.append(("GET", rng.choice(("/", f"/wilayah/{rng.choice(target.kelurahan)}",
                                           f"/tps/{rng.choice(target.tps)}")), None))
        elif kind == "lookup":
            # 80 % voters of the DPT, 20 % valid NIKs that are not in it (the neutral answer)
            nik = rng.choice(target.niks) if rng.random() < 0.8 else f"3171060101{rng.randint(0, 99):02d}9{rng.randint(0, 999):03d}"
            out.append(("POST", "/api/v1/lookup", json.dumps({"nik": nik}).encode()))
        else:
            out.append(("GET", "/healthz", None))
    return out


# --- the server ---------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(url: str, home: Path, args) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = dict(os.environ, PETATPS_DB=url, PETATPS_HOME=str(home), PETATPS_BIND=f"{HOST}:{port}",
               PETATPS_WORKERS=str(args.workers), PETATPS_THREADS=str(args.threads), PETATPS_ACCESS_LOG="0",
               PETATPS_SECRET_KEY=secrets.token_hex(16), PETATPS_WARM="all", PETATPS_LOG_LEVEL="warning",
               PETATPS_LOOKUP_LIMIT="1000000 per minute", PETATPS_ENV="test")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "-c", str(ROOT / "web" / "gunicorn.conf.py"), "web.app:create_app()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("gunicorn did not answer /healthz within 300 s")


def stop_server(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Linux /proc)."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        for task in Path(f"/proc/{p}/task").glob("*/children"):
            try:
                todo += [int(c) for c in task.read_text().split()]
            except OSError:
                pass
    return pids


def rss_mb(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


# --- the load -----------------------------------------------------------------------------------------

@dataclass
class Results:
    latency_ms: list[float] = field(default_factory=list)      # from the due time
    service_ms: list[float] = field(default_factory=list)      # from the send
    errors: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)     # error kind -> start of one response body
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)
    sent: int = 0
    elapsed_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, due_ms: float, service_ms: float, error: str | None, body: bytes = b"") -> None:
        with self.lock:
            self.latency_ms.append(due_ms)
            self.service_ms.append(service_ms)
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1
                self.examples.setdefault(error, body[:160].decode("utf-8", "replace"))


def hold_rate(port: int, plan: list, rate: float, clients: int, server_pid: int) -> Results:
    """Send ``plan`` open-loop at ``rate`` per second from ``clients`` threads; sample server memory."""
    results, counter, stop = Results(), itertools.count(), threading.Event()
    start = time.perf_counter() + 0.2

    def client():
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        while True:
            i = next(counter)
            if i >= len(plan):
                break
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            method, path, body = plan[i]
            sent = time.perf_counter()
            error, data = None, b""
            try:
                headers = {"Accept-Encoding": "gzip"}
                if body is not None:
                    headers["Content-Type"] = "application/json"
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if response.status not in OK_STATUS:
                    error = f"HTTP {response.status} {method} {'/'.join(path.split('?')[0].split('/')[:4])}"
            except (OSError, http.client.HTTPException) as exc:
                error = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=30)
            done = time.perf_counter()
            results.record((done - due) * 1000, (done - sent) * 1000, error, data if error else b"")
        conn.close()

    def sampler():
        while not stop.wait(1.0):
            results.rss.append((time.perf_counter() - start, rss_mb(process_tree(server_pid))))

    watcher = threading.Thread(target=sampler, daemon=True)
    watcher.start()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.elapsed_s = time.perf_counter() - start
    results.sent = len(results.latency_ms)
    stop.set()
    watcher.join()
    return results


def summarise(results: Results, *, rate: float, warmup_s: float, tolerance_mb: float) -> dict:
    """The figures of a run (see the module docstring)."""
    import numpy as np

    lat = np.asarray(results.latency_ms) if results.latency_ms else np.zeros(1)
    svc = np.asarray(results.service_ms) if results.service_ms else np.zeros(1)
    samples = [(t, mb) for t, mb in results.rss if t >= warmup_s] or results.rss or [(0.0, 0.0)]
    k = max(1, len(samples) // 5)
    first = float(np.median([mb for _, mb in samples[:k]]))
    last = float(np.median([mb for _, mb in samples[-k:]]))
    times, mbs = np.array([t for t, _ in samples]), np.array([mb for _, mb in samples])
    slope = float(np.polyfit(times, mbs, 1)[0] * 60) if len(samples) >= 3 and np.ptp(times) > 0 else 0.0
    errors = sum(results.errors.values())
    return {
        "requests": results.sent, "duration_s": round(results.elapsed_s, 1), "target_rate": rate,
        "achieved_rate": round(results.sent / max(results.elapsed_s, 1e-9), 1),
        "errors": errors, "error_kinds": dict(sorted(results.errors.items())),
        "error_examples": dict(sorted(results.examples.items())),
        "p50_ms": round(float(np.percentile(lat, 50)), 1), "p99_ms": round(float(np.percentile(lat, 99)), 1),
        "max_ms": round(float(lat.max()), 1), "service_p99_ms": round(float(np.percentile(svc, 99)), 1),
        "rss_after_warmup_mb": round(first, 1), "rss_end_mb": round(last, 1),
        "rss_growth_mb": round(last - first, 1), "rss_slope_mb_per_min": round(slope, 2),
        "rss_samples": len(results.rss), "rss_flat": (last - first) <= tolerance_mb,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    n = min(args.max_requests, int(args.rate * args.duration))
    os.environ.setdefault("PETATPS_NIK_KEY", "petatps-soak-" + secrets.token_hex(16))
    figures = {"cores": os.cpu_count(), "load_average_before": round(os.getloadavg()[0], 2),
               "store": "postgis" if args.db else "geopackage", "voters": args.voters, "kode": args.kode,
               "workers": args.workers, "threads": args.threads, "clients": args.clients}
    with tempfile.TemporaryDirectory(prefix="petatps-soak-") as tmp:
        home = Path(tmp)
        print(f"soak: building the demo city ({args.voters:,} voters, {args.kode})", file=sys.stderr)
        url, target, cleanup = build_store(args, home)
        try:
            proc, port = start_server(url, home, args)
            try:
                print(f"soak: {n:,} requests at {args.rate:g}/s to {HOST}:{port} "
                      f"({len(target.tiles)} tiles, {len(target.tps)} TPS)", file=sys.stderr)
                results = hold_rate(port, requests_for(target, n, args.seed), args.rate, args.clients, proc.pid)
            finally:
                figures["server_exit"] = stop_server(proc)
        finally:
            cleanup()
    figures.update(summarise(results, rate=args.rate, warmup_s=args.warmup, tolerance_mb=args.rss_tolerance_mb))
    figures["load_average_after"] = round(os.getloadavg()[0], 2)
    ok = figures["errors"] == 0 and figures["rss_flat"]
    if args.max_p99_ms is not None:
        figures["max_p99_ms"] = args.max_p99_ms
        ok = ok and figures["p99_ms"] <= args.max_p99_ms
    figures["ok"] = ok
    print(f"soak: {figures['requests']:,} requests in {figures['duration_s']} s ({figures['achieved_rate']}/s), "
          f"{figures['errors']} errors, p50 {figures['p50_ms']} ms, p99 {figures['p99_ms']} ms, memory "
          f"{figures['rss_after_warmup_mb']} -> {figures['rss_end_mb']} MB", file=sys.stderr)
    print(json.dumps(figures, sort_keys=True))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
