"""Personal data (UU 27/2022 PDP): no NIK, KK number or full name of the DPT in any output.

A generated DPT (geo.generate: synthetic people) goes through every command — load, geocode, assign
(nearest and capacity), export, coverage — and every route of the web app is requested, officer pages
and NIK lookups included. Every file written, every CLI output, every response (body and headers) and
every log record is scanned for the DPT's NIKs and KK numbers (anywhere in the bytes), for any
16-digit run in text, and for the unmasked full names. Only the generated input (``demo-city/``)
may hold them. Also: the NIK hash key comes from configuration and production refuses the default key;
``purge_voters`` leaves nothing voter-level behind.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from geo.codes import nik_hash
from geo.errors import ConfigError, InputError
from geo.purge import purge_voters
from geo.settings import DEV_NIK_KEY, Settings
from tests.reliability.conftest import SIXTEEN_DIGITS, Cli, coverage_files
from web.cli import main

KEY = "reliability-test-nik-key-0123456789abcdef"
ENV = {"PETATPS_NIK_KEY": KEY, "PETATPS_ENV": "test"}
PASSWORD = "kata sandi yang panjang"
_DIGIT_RUNS = re.compile(rb"[0-9]{16,}")
_WORDS = re.compile(r"[A-Z][A-Z'.-]*(?: [A-Z][A-Z'.-]*)+")
BINARY = (".gpkg", ".mvt", ".parquet", ".png", ".sqlite")


class Dpt:
    """What must never leak: the NIKs, KK numbers and full names of a DPT file."""

    def __init__(self, path: Path):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        ids = pd.concat([frame["nik"], frame["nkk"]]).str.replace(r"\D", "", regex=True)
        self.ids = {i.encode() for i in ids if len(i) == 16}
        names = frame["nama"].str.upper().str.split().str.join(" ")
        self.names = {n for n in names if len(n.split()) >= 2 and len(n) >= 8}
        self.niks = [n for n in frame["nik"] if len(n) == 16 and n.isdigit()]

    def leaks(self, where: str, data: bytes, *, text: bool) -> list[str]:
        found = []
        for run in _DIGIT_RUNS.findall(data):
            if any(run[i:i + 16] in self.ids for i in range(len(run) - 15)):
                found.append(f"{where}: a DPT NIK/KK number ({run[:6].decode()}…)")
        if text:
            found += [f"{where}: a 16-digit run ({m.group()[:6].decode()}…)" for m in SIXTEEN_DIGITS.finditer(data)]
        decoded = data.decode("utf-8", errors="replace").upper()
        for phrase in _WORDS.findall(decoded):
            words = phrase.split()
            for size in (2, 3, 4):
                for i in range(len(words) - size + 1):
                    if " ".join(words[i:i + size]) in self.names:
                        found.append(f"{where}: the full name {words[i][0]}… of a voter")
        return found


def _files(root: Path, skip: Path) -> list[Path]:
    return [p for p in sorted(root.rglob("*")) if p.is_file() and skip not in p.parents]


def _file_bytes(path: Path) -> bytes:
    if path.suffix == ".parquet":             # compressed pages: scan the values, not the bytes
        return pd.read_parquet(path).to_csv(index=False).encode()
    return path.read_bytes()


@pytest.fixture(scope="module", params=["gpkg", pytest.param("postgis", marks=pytest.mark.slow)])
def pipeline(request, tmp_path_factory):
    """Every command over a generated city; returns (cli, dpt, outputs dict name → bytes)."""
    root = tmp_path_factory.mktemp("pdp")
    db_url = None
    if request.param == "postgis":
        from tests.reliability.conftest import drop_schema

        pg_url = request.getfixturevalue("pg_url")
        schema = "t_pdp_" + str(time.time_ns())[-10:]
        db_url = f"{pg_url}{'&' if '?' in pg_url else '?'}schema={schema}"
        request.addfinalizer(lambda: drop_schema(pg_url, schema))
    cli = Cli(request.param, root / "home", db_url)
    city, out = cli.home / "demo-city", root / "out"
    outputs: dict[str, bytes] = {}

    def run(*args):
        result = cli(*args, env=ENV)
        outputs[f"cli {' '.join(map(str, args))[:60]}: stdout"] = result.stdout_bytes
        outputs[f"cli {' '.join(map(str, args))[:60]}: stderr"] = result.stderr_bytes
        assert result.exit_code == 0, (args, result.stderr[-1500:], result.exception)
        return result

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    request.addfinalizer(lambda: (root.removeHandler(handler), root.setLevel(old_level)))
    run("generate", "--out", city, "--voters", "3000", "--seed", "5", "--kode", "317106")
    for level in ("kota", "kecamatan", "kelurahan", "rw", "rt"):
        run("-vv", "load", "boundaries", city / f"{level}.geojson", "--level", level, "--json")
    run("-vv", "load", "tps", city / "tps.csv", "--json")
    run("-vv", "load", "dpt", city / "dpt.csv", "--json")
    run("-vv", "load", "dpt", city / "dpt.csv")                     # text report too
    run("-vv", "geocode", "--out", out / "tps.csv")
    run("geocode", "--out", out / "tps.gpkg", "--json")
    run("-vv", "assign", "--out", out / "assignments.csv")
    run("assign", "--mode", "capacity", "--out", out / "plan.parquet", "--json")
    run("-vv", "export", "bundle", "--out", out / "site", "--zoom", "12-15")
    run("export", "geojson", "--out", out / "geojson", "--kode", "3171061001")
    run("status", "--json")
    run("officer", "add", "camat.menteng", "--kode", "317106", "--password", PASSWORD)
    run("officer", "list", "--json")
    coverage_files(cli, out / "coverage")
    outputs["log records of the commands"] = "\n".join(f"{r.name} {r.levelname} {r.getMessage()}"
                                                       for r in records).encode()
    assert len(records) > 20
    return cli, Dpt(city / "dpt.csv"), outputs, out


def test_no_personal_data_in_any_command_output_or_file(pipeline, caplog):
    cli, dpt, outputs, out = pipeline
    assert len(dpt.ids) > 3000 and len(dpt.names) > 1000
    files = _files(cli.home, skip=cli.home / "demo-city") + _files(out, skip=out / "none")
    kinds = {p.suffix for p in files}
    assert {".csv", ".json", ".geojson", ".html", ".mvt", ".gpkg", ".parquet"} <= kinds
    leaks = []
    for path in files:
        leaks += dpt.leaks(str(path), _file_bytes(path), text=path.suffix not in BINARY)
    for name, data in outputs.items():
        leaks += dpt.leaks(name, data, text=True)
    _record(f"files-{cli.backend}", files=len(files), megabytes=round(sum(p.stat().st_size for p in files) / 2**20, 1),
            cli_outputs=len(outputs), niks_and_kk=len(dpt.ids), full_names=len(dpt.names), leaks=len(leaks))
    assert leaks == []


def test_the_scanner_finds_what_it_looks_for(pipeline):
    cli, dpt, _outputs, _out = pipeline
    raw = (cli.home / "demo-city" / "dpt.csv").read_bytes()
    found = " ".join(dpt.leaks("dpt.csv", raw[:20_000], text=True))
    assert "a DPT NIK/KK number" in found and "a 16-digit run" in found and "the full name" in found
    name = next(iter(dpt.names))
    assert dpt.leaks("page", f"<td>{name.title()}</td>".encode(), text=True)    # any letter case
    assert not dpt.leaks("page", b"kode_tps 3171061001001, voter_key 8f3a5c0e9b7d4f21a6c3e5b7d9f1a3c5", text=True)


def test_the_store_holds_keyed_hashes_made_with_the_configured_key(pipeline):
    cli, dpt, _outputs, _out = pipeline
    store = cli.store()
    try:
        keys = set(pd.concat(store.iter_read("voters", chunksize=100_000))["voter_key"])
    finally:
        store.close()
    sample = dpt.niks[:200]
    configured = {nik_hash(n, KEY.encode()) for n in sample}
    default = {nik_hash(n, DEV_NIK_KEY.encode()) for n in sample}
    assert len(configured & keys) > 150
    assert not default & keys


# --- the web app ----------------------------------------------------------------------------------

def _route_requests(app, kode_kel: str, kode_tps: str, tile: tuple[int, int, int]) -> list[tuple[str, str]]:
    """(method, path) of every route of ``app`` with real values; fails on a route it does not know."""
    from web.openapi import COLLECTIONS

    z, x, y = tile
    values = {
        "static": ["/static/petatps.css", "/static/petatps.js"],
        "pages.browse": ["/wilayah", "/wilayah/3171", "/wilayah/317106", f"/wilayah/{kode_kel}"],
        "pages.tps_page": [f"/tps/{kode_tps}"],
        "pages.nearest_in_kelurahan": [f"/terdekat/{kode_kel}"],
        "officer.area": [f"/petugas/wilayah/{kode_kel}", "/petugas/wilayah/317106"],
        "officer.download": ["/petugas/unduh/317106.csv", "/petugas/unduh/317106.gpkg",
                             f"/petugas/unduh/{kode_kel}.csv"],
        "api.collection": [f"/api/v1/collections/{c}" for c in COLLECTIONS],
        "api.items": [f"/api/v1/collections/{c}/items?limit=1000" for c in COLLECTIONS],
        "api.item": [f"/api/v1/collections/tps/items/{kode_tps}", f"/api/v1/collections/kelurahan/items/{kode_kel}"],
        "api.nearest": ["/api/v1/nearest?lat=-6.195&lon=106.835"],
        "tiles.tile": [f"/tiles/{layer}/{z}/{x}/{y}.{fmt}" for layer in ("tps", "kelurahan", "kecamatan", "kota", "rw")
                       for fmt in ("geojson", "mvt")],
        "tiles.tilejson": [f"/tiles/{layer}.json" for layer in ("tps", "kelurahan", "rw")],
        "embed.embed": ["/embed?kode=317106"],
        "embed.snippet": ["/embed/snippet?kode=317106"],
    }
    posts = {"pages.lookup", "api.lookup", "officer.login", "officer.logout"}
    requests = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in posts:
            continue
        if rule.arguments:
            assert rule.endpoint in values, f"route {rule.rule} ({rule.endpoint}) is not covered by this test"
            requests += [("GET", p) for p in values[rule.endpoint]]
        elif "GET" in rule.methods:
            requests.append(("GET", rule.rule))
    return requests


def test_no_personal_data_in_any_response_or_log(pipeline, caplog, tmp_path):
    from geo.accounts import accounts_path
    from geo.tiles import lonlat_to_tile
    from tests.web.conftest import csrf_from
    from web.app import create_app
    from web.config import WebConfig

    cli, dpt, _outputs, _out = pipeline
    core = Settings(db_url=cli.db_url or f"gpkg://{cli.home / 'petatps.gpkg'}", home=cli.home, nik_key=KEY,
                    env="test")
    app = create_app(WebConfig(core=core, secret_key="test", testing=True, data_check_seconds=0.0,
                               lookup_limit="1000 per minute", api_max_limit=1000))
    assert accounts_path(cli.home).exists()
    client = app.test_client()
    bodies: dict[str, bytes] = {}
    x, y = lonlat_to_tile(106.835, -6.195, 14)
    kel = "3171061002"
    with caplog.at_level(logging.DEBUG):
        token = csrf_from(client.get("/petugas/masuk").get_data(as_text=True))
        assert client.post("/petugas/masuk", data={"username": "camat.menteng", "password": PASSWORD,
                                                   "csrf_token": token}).status_code == 302
        for method, path in _route_requests(app, kel, f"{kel}001", (14, int(x), int(y))):
            response = client.open(path, method=method)
            assert response.status_code < 500, path
            bodies[path] = response.data + str(response.headers).encode()
        token = csrf_from(client.get("/").get_data(as_text=True))
        for nik in [*dpt.niks[:5], "3171061212920099", "3171069999990001"]:
            r = client.post("/api/v1/lookup", json={"nik": nik})
            bodies[f"POST /api/v1/lookup {nik[:4]}"] = r.data + str(r.headers).encode()
            r = client.post("/cari", data={"nik": nik, "csrf_token": token})
            bodies[f"POST /cari {nik[:4]}"] = r.data + str(r.headers).encode()
        found = client.post("/api/v1/lookup", json={"nik": dpt.niks[0]}).get_json()
        assert found["found"] is True and "*" in found["nama_masked"]
        assert client.post("/petugas/keluar", data={"csrf_token": token}).status_code in (302, 400)
    logs = "\n".join(f"{r.name} {r.levelname} {r.getMessage()}" for r in caplog.records).encode()
    assert len(bodies) > 40 and caplog.records
    leaks = dpt.leaks("log", logs, text=True)
    for where, data in bodies.items():
        binary = where.endswith((".mvt", ".gpkg"))
        leaks += dpt.leaks(where, data, text=not binary)
    _record(f"web-{cli.backend}", requests=len(bodies), log_records=len(caplog.records),
            routes=len(list(app.url_map.iter_rules())), leaks=len(leaks))
    assert leaks == []


def _record(name: str, **figures) -> None:
    """Keep the figures of a scan in test-artifacts/reliability/personal-data.json (docs/reliability.md)."""
    path = Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability" / "personal-data.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    done = json.loads(path.read_text()) if path.exists() else {}
    done[name] = figures
    path.write_text(json.dumps(done, indent=1, sort_keys=True))


# --- configuration --------------------------------------------------------------------------------

def test_production_refuses_the_default_nik_key():
    with pytest.raises(ConfigError, match="PETATPS_NIK_KEY"):
        Settings.from_env({"PETATPS_ENV": "production"})
    with pytest.raises(ConfigError, match="PETATPS_NIK_KEY"):
        Settings.from_env({"PETATPS_ENV": "production", "PETATPS_NIK_KEY": DEV_NIK_KEY})
    assert Settings.from_env({"PETATPS_ENV": "production", "PETATPS_NIK_KEY": KEY}).nik_key == KEY


@pytest.mark.parametrize("key", ["", "abc"])
def test_production_refuses_an_empty_or_short_nik_key(key):
    with pytest.raises(ConfigError, match="PETATPS_NIK_KEY"):
        Settings.from_env({"PETATPS_ENV": "production", "PETATPS_NIK_KEY": key})


def test_app_and_cli_refuse_to_start_in_production_with_the_default_key(monkeypatch, tmp_path):
    from click.testing import CliRunner

    from web.app import create_app
    from web.config import WebConfig

    for name in ("PETATPS_NIK_KEY", "PETATPS_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PETATPS_ENV", "production")
    monkeypatch.setenv("PETATPS_HOME", str(tmp_path))
    monkeypatch.setenv("PETATPS_SECRET_KEY", "a-real-session-secret")
    with pytest.raises(ConfigError, match="PETATPS_NIK_KEY"):
        create_app()
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "petatps: error: PETATPS_NIK_KEY must be set to a secret in production"]
    monkeypatch.setenv("PETATPS_NIK_KEY", KEY)
    monkeypatch.delenv("PETATPS_SECRET_KEY")
    with pytest.raises(ConfigError, match="PETATPS_SECRET_KEY"):
        WebConfig.from_env()


def test_gunicorn_refuses_to_start_in_production_with_the_default_key(tmp_path):
    import os
    import socket

    root = Path(__file__).resolve().parents[2]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PETATPS_")}
    env.update(PETATPS_ENV="production", PETATPS_SECRET_KEY="a-real-session-secret", PETATPS_HOME=str(tmp_path),
               PETATPS_BIND=f"127.0.0.1:{port}", PETATPS_WORKERS="1", PETATPS_WARM="none")
    gunicorn = Path(sys.executable).with_name("gunicorn")
    proc = subprocess.run([str(gunicorn), "-c", str(root / "web" / "gunicorn.conf.py"), "web.app:create_app()"], check=False,
                          cwd=root, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "PETATPS_NIK_KEY must be set to a secret in production" in proc.stderr
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0        # nothing listens


# --- purge ----------------------------------------------------------------------------------------

@pytest.fixture
def with_voters(cli, tmp_path):
    """A store (each backend) with TPS, voters and a DPT load that rejected rows (a rejected.csv, report lists)."""
    from tests.corpus import make_corpus as corpus

    base = corpus.base_files(tmp_path / "base")
    files = corpus.write_corpus(tmp_path / "corpus", committed=True)
    cli.ok("load", "boundaries", base["kelurahan"], "--level", "kelurahan")
    cli.ok("load", "tps", base["tps"])
    cli.ok("load", "dpt", files["dpt_injection.csv"])
    store = cli.store()
    yield cli, store
    store.close()


@pytest.fixture
def purgeable(with_voters, tmp_path):
    """:func:`with_voters` plus the TPS locations and the voters' assignments."""
    cli, store = with_voters
    cli.ok("geocode")
    cli.ok("assign")
    return cli, store


def test_purge_deletes_every_voter_level_row_and_report(purgeable):
    cli, store = purgeable
    counts, version = store.counts(), store.data_version()
    keys = set(store.read("voters")["voter_key"])
    assert counts["voters"] > 0 and counts["assignments"] > 0
    reports = cli.home / "reports"
    assert list(reports.glob("*-dpt-*.rejected.csv"))
    report = purge_voters(store, election="pemilu2024", reports_dir=reports)
    assert report.figures["deleted"] == {"assignments": counts["assignments"], "voters": counts["voters"]}
    assert report.figures["election"] == "pemilu2024" and report.figures["files_deleted"] >= 1
    after = store.counts()
    assert after["voters"] == after["assignments"] == 0
    assert {k: v for k, v in after.items() if k not in ("voters", "assignments")} == \
        {k: v for k, v in counts.items() if k not in ("voters", "assignments")}
    assert store.data_version() != version
    assert store.runs(1)[0]["kind"] == "purge voters"
    assert list(reports.glob("*-dpt-*.rejected.csv")) == []
    for path in reports.glob("*-dpt-*.report.json"):
        text = path.read_text(encoding="utf-8")
        assert '"rejections": []' in text and '"warnings": []' in text
        assert not any(k in text for k in keys)
    again = purge_voters(store, election="pemilu2024", reports_dir=reports)
    assert again.figures["deleted"] == {"assignments": 0, "voters": 0}


def test_after_a_purge_the_running_app_finds_no_voter(with_voters):
    from tests.corpus import make_corpus as corpus
    from web.app import create_app
    from web.config import WebConfig

    cli, store = with_voters
    core = Settings(db_url=cli.db_url or f"gpkg://{cli.home / 'petatps.gpkg'}", home=cli.home, env="test")
    client = create_app(WebConfig(core=core, secret_key="t", testing=True, data_check_seconds=0.0)).test_client()
    nik = corpus.dpt_rows(12)[-1][0]                     # a kept row of dpt_injection.csv
    assert client.post("/api/v1/lookup", json={"nik": nik}).get_json()["found"] is True
    purge_voters(store, election="pemilu2024")
    assert client.post("/api/v1/lookup", json={"nik": nik}).get_json()["found"] is False


def test_after_a_purge_no_run_in_the_store_holds_row_level_dpt_details(with_voters):
    cli, store = with_voters
    purge_voters(store, election="pemilu2024", reports_dir=cli.home / "reports")
    dpt_runs = [run for run in store.runs(limit=100) if run["kind"] == "load dpt"]
    assert dpt_runs and all(run["rows_rejected"] > 0 for run in dpt_runs)      # the counts stay
    for run in dpt_runs:
        assert run["rejections"] == [] and run["warnings"] == [] and run["rejected_file"] is None


@pytest.mark.parametrize("server_open", [False, True], ids=["alone", "server-connected"])
def test_after_a_purge_the_geopackage_file_holds_no_voter_bytes(tmp_path, server_open):
    from tests.corpus import make_corpus as corpus

    cli = Cli("gpkg", tmp_path / "home", None)
    base = corpus.base_files(tmp_path / "base")
    cli.ok("load", "boundaries", base["kelurahan"], "--level", "kelurahan")
    cli.ok("load", "dpt", base["dpt"])
    cli.ok("load", "dpt", corpus.write_corpus(tmp_path / "corpus", committed=True)["dpt_injection.csv"])
    store = cli.store()
    voters = len(store.read("voters"))
    rejected = [p["value"] for run in store.runs(10) for p in run["rejections"] if len(p["value"] or "") >= 8]
    assert rejected                                       # e.g. the masked '=HYPER********")' of a bad NIK
    secrets = [k.encode() for k in store.read("voters")["voter_key"]] + [b"JL. KENARI NO."] + \
        [json.dumps(v, ensure_ascii=False)[1:-1].encode() for v in rejected]
    # A connection open elsewhere (the server's) keeps the WAL file alive: the purge must not rely on
    # the last connection's close to move the zeroed pages (secure_delete) into the file.
    server = sqlite3.connect(cli.home / "petatps.gpkg") if server_open else None
    try:
        if server is not None:
            assert server.execute("SELECT count(*) FROM voters").fetchone()[0] == voters
        purge_voters(store, election="pemilu2024")
        data = b"".join(p.read_bytes() for p in cli.home.glob("petatps.gpkg*"))
        assert [s for s in secrets if s in data] == []
        if server is not None:
            assert server.execute("SELECT count(*) FROM voters").fetchone()[0] == 0
    finally:
        if server is not None:
            server.close()


def test_purge_refuses_a_malformed_election_id(tmp_path):
    from geo.store.gpkg import GpkgStore

    store = GpkgStore(tmp_path / "p.gpkg")
    store.init()
    for bad in ("", "pemilu 2024", "x" * 65, "../etc", "2024;DROP"):
        with pytest.raises(InputError, match="election"):
            purge_voters(store, election=bad)
    assert store.runs(1) == []


def test_purge_command(purgeable):
    cli, store = purgeable
    result = cli("purge", "--election", "pemilu2024", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["kind"] == "purge voters" and report["figures"]["election"] == "pemilu2024"
    assert store.counts()["voters"] == store.counts()["assignments"] == 0
    assert list((cli.home / "reports").glob("*-dpt-*.rejected.csv")) == []
