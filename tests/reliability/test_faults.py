"""Faults: the database lost mid-load, a full disk while writing outputs, a reload while the web app
serves, and SIGTERM during a long ``petatps load dpt``. Real stores, real processes; the only
simulation is the full disk (Python-level file writes fail with ENOSPC once a byte budget is spent).
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa

from geo.errors import StoreError
from geo.schema import conform
from tests.corpus import make_corpus as corpus
from tests.reliability.conftest import Cli, assert_one_line_error
from tests.web import city

PETATPS = Path(sys.executable).with_name("petatps")


# --- the database lost in the middle of a load -----------------------------------------------------

def _voters(start: int, n: int, kode_kel: str) -> pd.DataFrame:
    keys = [hashlib.blake2b(str(i).encode(), digest_size=16).hexdigest() for i in range(start, start + n)]
    return conform(pd.DataFrame({"voter_key": keys, "kode_kel": kode_kel, "rw": 1, "rt": 1, "nama_masked": "S*** R*****",
                                 "kode_tps": kode_kel + "001"}), "voters")


def _kill_loader(pg_url: str, schema: str) -> list[int]:
    """Terminate the backend loading into ``schema`` (the one holding its layer lock), from a second connection."""
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            pids = conn.execute(sa.text(
                "SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :schema AND l.mode = 'ShareRowExclusiveLock' AND l.granted"),
                {"schema": schema}).scalars().all()
            for pid in pids:
                conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        return list(pids)
    finally:
        engine.dispose()


@pytest.mark.postgis
@pytest.mark.parametrize("existing", [False, True], ids=["into-empty-layer", "replacing-rows"])
def test_connection_killed_mid_load_rolls_back_and_a_retry_loads_once(pg_url, pg_schema, existing):
    from geo.store.postgis import PostgisStore

    store = PostgisStore(pg_url, schema=pg_schema)
    store.init()
    if existing:
        store.load("voters", [_voters(0, 500, "3171061001"), _voters(500, 500, "3171061002")])
    before, version = store.read("voters"), store.data_version()
    killed = []

    def chunks():
        for k in range(6):
            if k == 3:
                killed.extend(_kill_loader(pg_url, pg_schema))
            yield _voters(10_000 + 1000 * k, 1000, "3171061001")

    with pytest.raises(StoreError) as info:
        store.load("voters", chunks())
    assert len(killed) == 1
    message = str(info.value)
    assert message.startswith("load voters in postgis") and "\n" not in message
    pd.testing.assert_frame_equal(store.read("voters"), before)
    assert store.data_version() == version
    assert store.load("voters", (_voters(10_000 + 1000 * k, 1000, "3171061001") for k in range(6))) == 6000
    after = store.read("voters")
    assert len(after) == after["voter_key"].nunique() == 6000 + (500 if existing else 0)
    assert set(after.loc[after["kode_kel"] == "3171061002", "voter_key"]) == \
        set(before.loc[before["kode_kel"] == "3171061002", "voter_key"])
    store.close()


def test_unreachable_database_is_one_line_without_the_password(tmp_path):
    bad = Cli("postgis", tmp_path / "home", "postgresql://petatps:s3cret@127.0.0.1:1/nowhere")
    line = assert_one_line_error(bad("load", "tps", corpus.base_files(tmp_path)["tps"]), "cannot connect")
    assert "s3cret" not in line


# --- a full disk -----------------------------------------------------------------------------------

class _FullFile:
    """A file object whose writes fail with ENOSPC once the shared byte budget is spent."""

    def __init__(self, raw, budget: list[int], name: str):
        self._raw, self._budget, self._name = raw, budget, name

    def write(self, data):
        size = len(data.encode() if isinstance(data, str) else data)
        if size > self._budget[0]:
            keep = max(self._budget[0], 0)
            self._raw.write(data[:keep])            # the disk takes what fits, then refuses
            self._budget[0] = -1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._name)
        self._budget[0] -= size
        return self._raw.write(data)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def __getattr__(self, name):
        return getattr(self._raw, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._raw.close()

    def __iter__(self):
        return iter(self._raw)


@contextlib.contextmanager
def disk_full(folder: Path, after_bytes: int):
    """Python-level writes of files under ``folder`` fail with ENOSPC after ``after_bytes`` bytes."""
    real_open, budget, folder = builtins.open, [after_bytes], str(Path(folder).resolve())

    def fake_open(file, mode="r", *args, **kwargs):
        raw = real_open(file, mode, *args, **kwargs)
        target = os.path.abspath(os.fsdecode(file)) if isinstance(file, (str, bytes, os.PathLike)) else ""
        if target.startswith(folder) and any(c in mode for c in "wax+"):
            return _FullFile(raw, budget, target)
        return raw

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(builtins, "open", fake_open)
        mp.setattr(io, "open", fake_open)
        mp.setattr(shutil, "_USE_CP_SENDFILE", False)   # copies go through write() too
        yield budget


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def city_cli(tmp_path) -> Cli:
    """A GeoPackage store with the base data of the corpus."""
    cli = Cli("gpkg", tmp_path / "home", None)
    base = corpus.base_files(tmp_path / "base")
    cli.ok("load", "boundaries", base["kelurahan"], "--level", "kelurahan")
    cli.ok("load", "tps", base["tps"])
    cli.ok("load", "dpt", base["dpt"])
    cli.ok("geocode")
    return cli


@pytest.mark.parametrize("kind", ["bundle", "tiles"])
def test_disk_full_during_export_keeps_the_previous_export(city_cli, tmp_path, kind):
    site = tmp_path / "site"
    (site / "tiles").mkdir(parents=True)
    (site / "README.txt").write_bytes(b"not petatps's: must survive")
    (site / "tiles" / "notes.txt").write_bytes(b"nor this")
    city_cli.ok("export", kind, "--out", site, "--zoom", "12-14")
    previous = _tree(site)
    with disk_full(site, after_bytes=sum(map(len, previous.values())) // 3):
        result = city_cli("export", kind, "--out", site, "--zoom", "12-14")
    assert_one_line_error(result, "No space left on device")
    assert _tree(site) == previous
    assert not list(site.glob(".petatps-tmp-*"))                     # no staging folder left behind


def test_disk_full_during_geocode_output_keeps_the_previous_file(city_cli, tmp_path):
    # .csv: written by Python (GDAL writes .geojson/.gpkg itself, out of reach of this simulation).
    out = tmp_path / "out" / "tps.csv"
    city_cli.ok("geocode", "--out", out)
    previous = out.read_bytes()
    with disk_full(out.parent, after_bytes=len(previous) // 2):
        result = city_cli("geocode", "--out", out)
    assert_one_line_error(result, "No space left on device")
    assert out.read_bytes() == previous
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]


def test_disk_full_during_assign_output_keeps_file_and_store(city_cli, tmp_path):
    out = tmp_path / "out" / "assignments.csv"
    city_cli.ok("assign", "--out", out)
    previous, state = out.read_bytes(), city_cli.state()
    with disk_full(out.parent, after_bytes=len(previous) // 2):
        result = city_cli("assign", "--out", out)
    assert_one_line_error(result, "No space left on device")
    assert out.read_bytes() == previous
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]
    assert city_cli.state() == state            # the assignments load rolled back with the file


def test_disk_full_during_coverage_keeps_the_previous_report(city_cli, tmp_path):
    """A second run with another TPS cap writes a new tps.csv (first), then the disk is full: the folder
    must still be the first run's, not a new tps.csv beside old files."""
    out, other = tmp_path / "coverage", tmp_path / "other"
    city_cli.ok("coverage", "--out", out)
    previous = _tree(out)
    city_cli.ok("coverage", "--out", other, "--max-per-tps", "5")
    new_tps = _tree(other)["tps.csv"]
    assert new_tps != previous["tps.csv"]
    with disk_full(out, after_bytes=len(new_tps) + 10):               # tps.csv fits, rt.csv does not
        result = city_cli("coverage", "--out", out, "--max-per-tps", "5")
    assert_one_line_error(result, "No space left on device")
    assert _tree(out) == previous
    assert not list(out.glob(".petatps-tmp-*"))


def test_disk_full_in_the_reports_folder_never_lies_about_the_load(city_cli, tmp_path):
    """The report file is written after the commit: if the reports disk is full then, the load has
    happened and says so (exit 0, a note), instead of exiting 1 over rows that are in the store."""
    reports = city_cli.home / "reports"
    state = city_cli.state()
    tps = tmp_path / "tps.csv"
    tps.write_bytes(corpus.hostile.t_bom_cp1252())
    with disk_full(reports, after_bytes=0):
        result = city_cli("load", "tps", tps)
    if result.exit_code == 0:
        assert "report file not written" in result.stdout
        assert city_cli.state() != state
    else:  # failed before the commit (the rejected-rows file could not be written): nothing changed
        assert_one_line_error(result, "No space left on device")
        assert city_cli.state() == state


# --- a reload while the web app serves ------------------------------------------------------------

N_TPS = 240


def _tps_frame(dpt: int) -> gpd.GeoDataFrame:
    """``N_TPS`` TPS spread over the three kelurahan of the web test city, all with DPT ``dpt``."""
    i = np.arange(N_TPS)
    kel = np.array(city.KELURAHAN)[i % 3]
    lon = city.LON0 + (i % 3) * city.SIDE + 0.001 + 0.008 * ((i // 3) % 20) / 20
    lat = city.LAT0 + 0.001 + 0.008 * (i // 60) / 4
    frame = pd.DataFrame({"kode_kel": kel, "no_tps": i // 3 + 1, "dpt": dpt, "nama": "TPS",
                          "location_source": "coordinates", "precision_m": 10.0})
    frame["kode_tps"] = frame["kode_kel"] + frame["no_tps"].map("{:03d}".format)
    return conform(gpd.GeoDataFrame(frame, geometry=shapely.points(lon, lat), crs=4326), "tps")


@pytest.fixture(params=["gpkg", "postgis"])
def served(request, tmp_path):
    """(store, app) over each backend holding the web test city with ``N_TPS`` TPS of DPT 100."""
    from geo.settings import Settings
    from geo.store import open_store
    from web.app import create_app
    from web.config import WebConfig

    if request.param == "gpkg":
        url = f"gpkg://{tmp_path / 'petatps.gpkg'}"
    else:
        pg_url, schema = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema")
        url = f"{pg_url}{'&' if '?' in pg_url else '?'}schema={schema}"
    store = open_store(url, tmp_path)
    store.init()
    for layer, frame in city.frames().items():
        if layer != "tps":
            store.load(layer, [frame])
    store.load("tps", [_tps_frame(100)])

    def app(**overrides):
        core = Settings(db_url=url, home=tmp_path, nik_key=city.NIK_KEY.decode(), env="test")
        values = {"core": core, "secret_key": "test", "testing": True, "data_check_seconds": 0.0,
                  "api_max_limit": 1000}
        return create_app(WebConfig(**{**values, **overrides}))

    yield store, app
    store.close()


def test_readers_see_the_old_or_the_new_data_never_a_partial_load(served):
    store, make_app = served
    app = make_app()
    seen, problems, done = [], [], threading.Event()
    tile = "/tiles/kelurahan/14/{}/{}.geojson".format(*_tile_of(city.LON0 + 0.005, city.LAT0 + 0.005, 14))

    def read():
        client = app.test_client()
        while not done.is_set():
            page = client.get("/api/v1/collections/tps/items?limit=1000")
            values = {f["properties"]["dpt"] for f in page.get_json()["features"]}
            totals = {f["properties"]["dpt_total"] for f in client.get(tile).get_json()["features"]}
            seen.append(frozenset(values))
            if len(values) != 1 or not totals <= {100 * N_TPS // 3, 200 * N_TPS // 3}:
                problems.append((values, totals))

    def slow_chunks():
        frame = _tps_frame(200)
        for start in range(0, N_TPS, 20):
            time.sleep(0.05)
            yield frame.iloc[start:start + 20]

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    time.sleep(0.3)
    store.load("tps", slow_chunks())
    deadline = time.monotonic() + 10        # one reader reads the new snapshot; the others answer meanwhile
    while frozenset({200}) not in seen and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    done.set()
    for t in readers:
        t.join()
    assert problems == []
    assert {frozenset({100}), frozenset({200})} <= set(seen)      # the readers saw both versions
    assert seen[-1] == frozenset({200})


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    from geo.tiles import lonlat_to_tile

    x, y = lonlat_to_tile(lon, lat, z)
    return int(x), int(y)


def test_tile_etags_change_with_the_data_version(served):
    store, make_app = served
    client = make_app().test_client()
    x, y = _tile_of(city.LON0 + 0.005, city.LAT0 + 0.005, 15)
    path = f"/tiles/tps/15/{x}/{y}.geojson"
    first = client.get(path)
    etag = first.headers["ETag"]
    assert first.status_code == 200
    assert client.get(path, headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/tiles/tps.json").get_json()["data_version"] == store.data_version()
    store.load("tps", [_tps_frame(200)])
    second = client.get(path, headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["ETag"] != etag
    assert {f["properties"]["dpt"] for f in second.get_json()["features"]} == {200}
    assert client.get("/tiles/tps.json").get_json()["data_version"] == store.data_version()


def test_one_snapshot_never_mixes_two_data_versions(served):
    store, make_app = served
    client = make_app(data_check_seconds=3600.0).test_client()
    old = client.get("/tiles/rw.json?format=geojson").get_json()["data_version"]   # snapshot of version old
    kelurahan = store.read("kelurahan")
    kelurahan["nama"] = "BARU " + kelurahan["nama"]
    store.load("kelurahan", [kelurahan])
    doc = client.get("/tiles/kelurahan.json?format=geojson").get_json()
    names = {f["properties"]["nama"] for f in client.get("/api/v1/collections/kelurahan/items").get_json()["features"]}
    assert doc["data_version"] == old                                  # still serving the old version...
    assert not any(n.startswith("BARU") for n in names)                # ...so never the new names


def test_a_tile_cut_after_a_reload_is_never_served_under_the_old_version(served):
    # PostGIS cuts each tile from the live tables: one cut after a reload, while the snapshot still
    # holds the old version, must not be tagged (or cached as immutable) with the old version.
    from web.tiles import tile_etag

    store, make_app = served
    client = make_app(data_check_seconds=3600.0).test_client()
    old = client.get("/tiles/tps.json?format=geojson").get_json()["data_version"]
    store.load("tps", [_tps_frame(200)])
    x, y = _tile_of(city.LON0 + 0.005, city.LAT0 + 0.005, 16)
    old_tag = f'W/"{tile_etag(old, "tps", 16, x, y, "geojson")}"'
    answers = [client.get(f"/tiles/tps/16/{x}/{y}.geojson?v={old}") for _ in range(2)]
    for r in answers:
        assert r.status_code in (200, 503)                           # 503: the data moved, retry
        if r.status_code == 200:
            dpt = {f["properties"]["dpt"] for f in r.get_json()["features"]}
            assert dpt == ({100} if r.headers["ETag"] == old_tag else {200}), (r.headers["ETag"], dpt)
    if store.kind == "postgis":                                      # cut live: the move is noticed at once
        assert [r.status_code for r in answers] == [503, 200] and answers[1].headers["ETag"] != old_tag
    else:                                                            # the snapshot's own frames: old, whole
        assert [r.headers["ETag"] for r in answers] == [old_tag, old_tag]


# --- SIGTERM during a long load ---------------------------------------------------------------------

def _mid_load(cli: Cli, proc: subprocess.Popen, pg: tuple[str, str] | None, timeout: float = 120.0) -> None:
    """Wait until ``proc`` has been inside its voters load transaction for a while (0.5 s)."""
    deadline, since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the load finished before it could be interrupted"
        writing = _gpkg_writing(cli.home / "petatps.gpkg") if pg is None else bool(_loader_pids(*pg))
        since = (since or time.monotonic()) if writing else None
        if since is not None and time.monotonic() - since > 0.5:
            return
        time.sleep(0.05)
    raise AssertionError("the load never started")


def _gpkg_writing(path: Path) -> bool:
    """True while another connection holds the GeoPackage's write lock (a load transaction is open)."""
    import sqlite3

    if not path.exists():
        return False
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()


def _loader_pids(pg_url: str, schema: str) -> list[int]:
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            return list(conn.execute(sa.text(
                "SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = :schema AND c.relname = 'voters' AND l.mode = 'ShareRowExclusiveLock'"),
                {"schema": schema}).scalars())
    finally:
        engine.dispose()


BIG = 200_000


@pytest.fixture
def big_dpt(tmp_path) -> Path:
    """A 200,000-voter DPT with a few hostile rows near the top (so a rejected-rows file is being written)."""
    rows = corpus.dpt_rows(BIG)
    for i in (3, 5, 8):
        rows[i][0] = "3.17106E+15"
    path = tmp_path / "dpt_big.csv"
    path.write_bytes(corpus.dpt_file(rows))
    return path


def _sigterm_load(cli: Cli, dpt: Path, pg: tuple[str, str] | None) -> subprocess.CompletedProcess:
    args = [str(PETATPS), *cli.args, "load", "dpt", str(dpt), "--chunksize", "1000"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _mid_load(cli, proc, pg)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


@pytest.mark.slow
def test_sigterm_during_a_dpt_load_leaves_store_and_reports_unchanged_and_a_rerun_loads_once(cli, big_dpt, tmp_path,
                                                                                       request):
    base = corpus.base_files(tmp_path / "base")
    cli.ok("load", "boundaries", base["kelurahan"], "--level", "kelurahan")
    cli.ok("load", "tps", base["tps"])
    cli.ok("load", "dpt", base["dpt"])
    state, reports = cli.state(), set((cli.home / "reports").iterdir())
    pg = None
    if cli.backend == "postgis":
        pg = (request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema"))
    interrupted = _sigterm_load(cli, big_dpt, pg)
    assert interrupted.returncode != 0 and "Traceback" not in interrupted.stderr
    assert len(interrupted.stderr.strip().splitlines()) == 1, interrupted.stderr[-2000:]
    assert cli.state() == state
    assert set((cli.home / "reports").iterdir()) == reports       # no half-written rejected-rows file
    rerun = cli.ok("load", "dpt", big_dpt, "--json")
    report = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert report["rows_loaded"] == BIG - 3 and report["rows_rejected"] == 3
    store = cli.store()
    try:
        keys = pd.concat(store.iter_read("voters", chunksize=100_000))["voter_key"]
    finally:
        store.close()
    assert len(keys) == keys.nunique() == BIG - 3
