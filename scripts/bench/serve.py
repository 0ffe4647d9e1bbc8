"""Web server benchmark: gunicorn on 127.0.0.1 under a bounded load of 8 connections.

Usage::

    .venv/bin/python scripts/bench/serve.py [--quick] [--duration 10] [--db postgresql://...]

Data: the real DKI kelurahan (../shared/data/real) and the real Pemilu 2024 TPS list (30,766 codes
with their DPT) placed at seeded random points inside their kelurahan (the list has no coordinates),
loaded into a fresh PostGIS schema (``--db``, else ``$PETATPS_TEST_DB``; without either, a GeoPackage).

Measured in one run, each for ``--duration`` seconds at 8 connections (``wrk -t1 -c8`` when the Debian
``wrk`` package is installed, else a bounded Python keep-alive client):

1. ``/ping``: fixed bytes through the whole stack — the ceiling of this server on this machine;
2. the densest z14 TPS tile (MVT, gzip), cached: goal >= 1,500 req/s and >= 70 % of the ceiling;
3. the same tile built on demand (a second server with ``PETATPS_TILE_CACHE=0``: every request cuts
   the tile: by SQL (ST_AsMVT, geo.tile_source) on PostGIS, from the in-memory index on a GeoPackage): goal >= 500 req/s;
   then, on that server, every non-empty z14-16 TPS tile of the city in a seeded random order (``on_demand_mix``:
   distinct tiles, as map clients ask for them; nothing can be served from a cache);
4. ``/api/v1/nearest`` at random points over Jakarta: goal >= 300 req/s;
each with p50 <= 15 ms and p99 <= 50 ms. Ends with one JSON line of the figures.
``--quick``: Jakarta Pusat (3171) only and 3 s per run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from geo.schema import conform  # noqa: E402
from geo.tiles import lonlat_to_tile  # noqa: E402

REAL = ROOT.parent / "shared" / "data" / "real"
BOUNDARIES = REAL / "cahyadsn-wilayah_boundaries"
TPS_LIST = REAL / "gigit-pemilu-2024-31-dki-jakarta" / "tps_pemilu2024_pilpres_dki.csv"
GOALS = {"cached_tile_rps": 1500, "ceiling_share": 0.70, "on_demand_tile_rps": 500, "nearest_rps": 300,
         "p50_ms": 15, "p99_ms": 50}
NEAREST_LUA = """
math.randomseed(7)
request = function()
  local lat = -6.30 + math.random() * 0.16
  local lon = 106.72 + math.random() * 0.22
  return wrk.format("GET", string.format("/api/v1/nearest?lat=%.5f&lon=%.5f", lat, lon))
end
"""


# --- data -------------------------------------------------------------------------------------

def city(kota: str | None, seed: int = 0) -> dict[str, gpd.GeoDataFrame]:
    """Real boundaries, and the real TPS list at random points inside their kelurahan."""
    kel = gpd.read_file(BOUNDARIES / "dki_kelurahan.geojson").rename(columns={"kode_kemendagri": "kode"})
    kel = conform(kel.to_crs(4326), "kelurahan")
    listing = pd.read_csv(TPS_LIST, dtype={"kode_tps": str, "kode_kel": str},
                          usecols=["kode_tps", "kode_kel", "no_tps", "dpt", "dpt_l", "dpt_p"])
    if kota:
        kel = kel[kel["kode"].str.startswith(kota)].reset_index(drop=True)
        listing = listing[listing["kode_kel"].str.startswith(kota)]
    listing = listing[listing["kode_kel"].isin(kel["kode"])].sort_values("kode_tps").reset_index(drop=True)
    counts = listing.groupby("kode_kel").size()
    polygons = kel.set_index("kode").geometry.loc[counts.index]
    points = shapely.get_parts(polygons.sample_points(size=counts.to_numpy(), rng=seed).values)
    # sample_points gives each kelurahan's points in turn, in the (sorted) order of the listing
    tps = gpd.GeoDataFrame(listing.assign(nama=[f"TPS {n:03d}" for n in listing["no_tps"]],
                                          jam_buka="07:00", jam_tutup="13:00", kpps=7,
                                          location_source="coordinates", precision_m=5.0),
                           geometry=points, crs=4326)
    return {"kelurahan": kel, "tps": conform(tps, "tps")}


def load_store(db: str | None, frames: dict, home: Path) -> tuple[str, object]:
    """Load the frames into a fresh PostGIS schema (or a GeoPackage); return (URL, cleanup)."""
    if db:
        from geo.store.postgis import PostgisStore

        schema = "bench_serve_" + uuid.uuid4().hex[:8]
        store = PostgisStore(db, schema=schema)
        url = f"{db}{'&' if '?' in db else '?'}schema={schema}"
    else:
        from geo.store.gpkg import GpkgStore

        store = GpkgStore(home / "petatps.gpkg")
        url = f"gpkg://{home / 'petatps.gpkg'}"
    store.init()
    for layer, frame in frames.items():
        store.load(layer, [frame])
    version = store.data_version()

    def cleanup():
        if db:
            import sqlalchemy as sa

            engine = sa.create_engine(db)
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()
        store.close()

    return url, version, cleanup


def tile_mix(tps: gpd.GeoDataFrame, zooms=(14, 15, 16), seed: int = 7) -> list[str]:
    """``z/x/y`` of every tile of ``zooms`` holding a TPS, in a seeded random order."""
    paths = []
    for z in zooms:
        x, y = lonlat_to_tile(tps.geometry.x.to_numpy(), tps.geometry.y.to_numpy(), z)
        keys = np.unique(x * 2 ** z + y)
        paths += [f"{z}/{k // 2 ** z}/{k % 2 ** z}" for k in keys.tolist()]
    random.Random(seed).shuffle(paths)
    return paths


def mix_lua(paths: list[str], suffix: str) -> str:
    """A wrk script asking for ``/tiles/tps/<path><suffix>`` in turn, round the list."""
    table = ",".join(f'"{p}"' for p in paths)
    return (f"local paths = {{{table}}}\nlocal i = 0\n"
            "request = function()\n  i = i % #paths + 1\n"
            f'  return wrk.format("GET", "/tiles/tps/" .. paths[i] .. "{suffix}")\nend\n')


def densest_tile(tps: gpd.GeoDataFrame, z: int = 14) -> tuple[int, int, int, int]:
    x, y = lonlat_to_tile(tps.geometry.x.to_numpy(), tps.geometry.y.to_numpy(), z)
    keys, counts = np.unique(x * 2 ** z + y, return_counts=True)
    best = keys[np.argmax(counts)]
    return z, int(best // 2 ** z), int(best % 2 ** z), int(counts.max())


# --- server -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_url: str, home: Path, **env_extra) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = dict(os.environ, PETATPS_DB=db_url, PETATPS_HOME=str(home), PETATPS_BIND=f"127.0.0.1:{port}",
               PETATPS_WORKERS="2", PETATPS_ACCESS_LOG="0", PETATPS_SECRET_KEY="bench", PETATPS_WARM="layers",
               PETATPS_LOG_LEVEL="warning")
    env.update({k: str(v) for k, v in env_extra.items()})
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.Popen([str(gunicorn), "-c", str(ROOT / "web" / "gunicorn.conf.py"), "web.app:create_app()"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if get(port, "/healthz")[0] == 200:
                return proc, port
        except OSError:
            time.sleep(0.3)
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {proc.stderr.read().decode()[-2000:]}")
    raise RuntimeError("gunicorn did not answer /healthz within 180 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()


def get(port: int, path: str, headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers or {})
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


# --- CPU accounting --------------------------------------------------------------------------------
# On a shared machine requests/s move with the other load; the CPU time each request costs does not
# (much). Each run also reports it: the gunicorn processes, the PostgreSQL backends of the server
# (application_name petatps*) and the load generator, in CPU milliseconds per request.

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rpartition(")")[2].split()[1]) == pid:
                kids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return kids


class CpuProbe:
    """CPU seconds of the server (gunicorn master and workers) and of its database backends."""

    def __init__(self, server_pid: int, db: str | None):
        self.server_pid, self.db = server_pid, db

    def _backends(self) -> list[int]:
        if not self.db:
            return []
        import psycopg

        with psycopg.connect(self.db.split("?")[0], autocommit=True) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'petatps%%' "
                                "AND datname = current_database()").fetchall()
        return [r[0] for r in rows]

    def sample(self) -> dict[str, dict[int, float]]:
        web = [self.server_pid, *_children(self.server_pid)]
        return {"web": {p: _cpu_s(p) for p in web}, "db": {p: _cpu_s(p) for p in self._backends()}}

    @staticmethod
    def spent(before: dict, after: dict) -> dict[str, float]:
        return {k: sum(v - before[k].get(p, 0.0) for p, v in after[k].items()) for k in after}


# --- load generators ------------------------------------------------------------------------------

def run_wrk(port: int, path: str, duration: int, script: str | None, workdir: Path) -> dict:
    cmd = ["wrk", "-t1", "-c8", f"-d{duration}s", "--latency", "-H", "Accept-Encoding: gzip"]
    if script:
        lua = workdir / "bench.lua"
        lua.write_text(script)
        cmd += ["-s", str(lua)]
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([*cmd, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_s = after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: _ms(re.search(rf"^\s+{p}%\s+([\d.]+\w+)", out, re.M).group(1)) for p in ("50", "99")}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": round(rps), "p50_ms": lat["50"], "p99_ms": lat["99"], "requests": total,
            "non_2xx": int(errors.group(1)) if errors else 0, "client": "wrk -t1 -c8", "client_cpu_s": client_s}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return round(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)


def run_python(port: int, path: str, duration: int, nearest: bool, paths: list[str] | None = None) -> dict:
    """Eight keep-alive connections from threads (fallback when wrk is not installed)."""
    latencies, errors, stop = [], [0], time.perf_counter() + duration
    rng = random.Random(7)
    cpu0 = time.process_time()
    turn = iter(range(10 ** 12))

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        local = []
        while time.perf_counter() < stop:
            p = (f"/api/v1/nearest?lat={-6.30 + rng.random() * 0.16:.5f}&lon={106.72 + rng.random() * 0.22:.5f}"
                 if nearest else paths[next(turn) % len(paths)] if paths else path)
            t0 = time.perf_counter()
            conn.request("GET", p, headers={"Accept-Encoding": "gzip"})
            r = conn.getresponse()
            r.read()
            local.append(time.perf_counter() - t0)
            errors[0] += r.status >= 400
        latencies.extend(local)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    lat = np.array(latencies) * 1000
    return {"rps": round(len(lat) / elapsed), "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2), "requests": len(lat), "non_2xx": errors[0],
            "client": "python threads x8", "client_cpu_s": time.process_time() - cpu0}


def ensure_wrk() -> bool:
    """Install Debian's ``wrk`` when missing and running as root (nothing installed by hand survives a
    fresh machine); ``False`` when it is still missing (the Python client is used then)."""
    if shutil.which("wrk"):
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: installing Debian wrk", file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], env=env, check=False, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") is not None


def measure(port: int, path: str, duration: int, workdir: Path, probe: CpuProbe, *, nearest: bool = False,
            mix: list[str] | None = None) -> dict:
    """One run; ``mix``: tile paths (``z/x/y``) asked for in turn, ``path`` giving the suffix (``.mvt?v=``).
    Adds the CPU milliseconds per request (web, db, client) and the req/s those would allow on
    this machine's cores with nothing else running (``rps_if_alone``)."""
    suffix = path
    warm = f"/tiles/tps/{mix[-1]}{suffix}" if mix else path
    for _ in range(20):                                   # warm the worker caches (the last tile of a mix)
        get(port, warm if not nearest else "/api/v1/nearest?lat=-6.2&lon=106.8", {"Accept-Encoding": "gzip"})
    before = probe.sample()
    if shutil.which("wrk"):
        script = NEAREST_LUA if nearest else mix_lua(mix, suffix) if mix else None
        r = run_wrk(port, "/" if mix else path, duration, script, workdir)
    else:
        r = run_python(port, path, duration, nearest, [f"/tiles/tps/{p}{suffix}" for p in mix] if mix else None)
    spent = {**CpuProbe.spent(before, probe.sample()), "client": r.pop("client_cpu_s")}
    per = {k: round(v * 1000 / max(r["requests"], 1), 3) for k, v in spent.items()}
    per["total"] = round(sum(per.values()), 3)
    r["cpu_ms_per_request"] = per
    r["rps_if_alone"] = round((os.cpu_count() or 1) * 1000 / per["total"]) if per["total"] else None
    return r


# --- main -------------------------------------------------------------------------------------

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="Jakarta Pusat only, 3 s per run")
    ap.add_argument("--duration", type=int, default=None, help="seconds per run (default 10, quick 3)")
    ap.add_argument("--db", default=os.environ.get("PETATPS_TEST_DB"), help="PostGIS URL (else a GeoPackage)")
    args = ap.parse_args()
    duration = args.duration or (3 if args.quick else 10)
    ensure_wrk()
    frames = city("3171" if args.quick else None)
    z, x, y, dense = densest_tile(frames["tps"])
    mix = tile_mix(frames["tps"])
    figures = {"mix_tiles": len(mix), "load_average_before": round(os.getloadavg()[0], 2), "tps": len(frames["tps"]), "kelurahan": len(frames["kelurahan"]), "tile": f"{z}/{x}/{y}",
               "tile_tps": dense, "duration_s": duration, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="petatps-bench-serve-") as tmp:
        work = Path(tmp)
        url, version, cleanup = load_store(args.db, frames, work)
        figures["store"] = "postgis" if args.db else "geopackage"
        tile = f"/tiles/tps/{z}/{x}/{y}.mvt?v={version}"
        try:
            proc, port = start_server(url, work)
            try:
                probe = CpuProbe(proc.pid, args.db)
                figures["ceiling"] = measure(port, "/ping", duration, work, probe)
                figures["cached_tile"] = measure(port, tile, duration, work, probe)
                figures["nearest"] = measure(port, "/api/v1/nearest", duration, work, probe, nearest=True)
            finally:
                stop_server(proc)
            proc, port = start_server(url, work, PETATPS_TILE_CACHE=0)
            try:
                probe = CpuProbe(proc.pid, args.db)
                figures["on_demand_tile"] = measure(port, tile, duration, work, probe)
                figures["on_demand_geojson_tile"] = measure(port, tile.replace(".mvt", ".geojson"), duration, work, probe)
                figures["on_demand_mix"] = measure(port, f".mvt?v={version}", duration, work, probe, mix=mix)
            finally:
                stop_server(proc)
        finally:
            cleanup()
    figures["load_average_after"] = round(os.getloadavg()[0], 2)
    report(figures)


def report(f: dict) -> None:
    share = f["cached_tile"]["rps"] / max(f["ceiling"]["rps"], 1)
    f["cached_share_of_ceiling"] = round(share, 3)
    print(f"store {f['store']}: {f['tps']:,} TPS in {f['kelurahan']} kelurahan; densest z14 tile {f['tile']} "
          f"({f['tile_tps']} TPS); {f['duration_s']} s per run on {f['cores']} cores (shared: load average "
          f"{f['load_average_before']} before, {f['load_average_after']} after)")
    print(f"  on_demand_mix: the {f['mix_tiles']:,} non-empty z14-16 TPS tiles in turn, cache off")
    for name in ("ceiling", "cached_tile", "on_demand_tile", "on_demand_geojson_tile", "on_demand_mix", "nearest"):
        r = f[name]
        cpu = r["cpu_ms_per_request"]
        print(f"  {name:24s} {r['rps']:6,d} req/s  p50 {r['p50_ms']:6.2f} ms  p99 {r['p99_ms']:6.2f} ms"
              f"  ({r['requests']:,} requests, {r['non_2xx']} non-2xx, {r['client']})\n"
              f"  {'':24s} CPU per request {cpu['total']:.2f} ms (web {cpu['web']:.2f}, db {cpu['db']:.2f}, "
              f"client {cpu['client']:.2f}): {r['rps_if_alone'] or 0:,} req/s if alone on {f['cores']} cores")
    print(f"  cached tile = {share:.0%} of the ceiling")
    checks = {
        "cached_tile_rps": f["cached_tile"]["rps"] >= GOALS["cached_tile_rps"],
        "ceiling_share": share >= GOALS["ceiling_share"],
        "on_demand_tile_rps": f["on_demand_tile"]["rps"] >= GOALS["on_demand_tile_rps"],
        "nearest_rps": f["nearest"]["rps"] >= GOALS["nearest_rps"],
        "latency": all(f[n]["p50_ms"] <= GOALS["p50_ms"] and f[n]["p99_ms"] <= GOALS["p99_ms"]
                       for n in ("cached_tile", "on_demand_tile", "nearest")),
    }
    f["goals_met"] = checks
    print("  goals: " + ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in checks.items()))
    print(json.dumps(f, sort_keys=True))


if __name__ == "__main__":
    main()
