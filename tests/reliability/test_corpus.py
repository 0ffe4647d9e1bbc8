"""The hostile-input corpus (tests/corpus) through the ``petatps load`` CLI on both store backends.

Every case gives either a clear error — exit 1, one ``petatps: error:`` line naming the file, no
traceback, the store unchanged (counts and data version) and no half-written report file — or a
successful load whose report balances and names the rejection/warning/note the case is about. Every
CSV petatps writes from hostile text (rejected rows, ``geocode --out``, coverage tables, officer
downloads) neutralises spreadsheet formulas, and no HTML page it writes or serves carries the
corpus' script/HTML payloads unescaped.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.corpus import make_corpus as corpus
from tests.reliability.conftest import (
    Cli,
    assert_one_line_error,
    coverage_files,
    formula_cells,
)

# On PostGIS without --slow: the cases that fail while the rows stream into the store (rollback) and
# the injection cases (loaded with rejections); --slow runs every case on both backends.
POSTGIS_QUICK = {"tps_cut_short.csv", "dpt_truncated_quote.csv", "tps_injection.csv", "dpt_injection.csv",
                 "b_mixed_types.geojson", "b_traversal.zip", "dpt_excel_mangled.csv", "b_empty_geometries.geojson"}


def _param(case: corpus.Case):
    return pytest.param(case, id=case.name, marks=[pytest.mark.slow] if case.large else [])


@pytest.fixture(autouse=True)
def _postgis_subset(request):
    case = getattr(request.node, "callspec", None) and request.node.callspec.params.get("case")
    backend = request.node.callspec.params.get("module_cli") if case else None
    if backend == "postgis" and case.name not in POSTGIS_QUICK and not request.config.getoption("--slow"):
        pytest.skip("slow test: this case runs on PostGIS with --slow")


@pytest.fixture(scope="session")
def corpus_files(tmp_path_factory) -> dict[str, Path]:
    return corpus.write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def loaded(module_cli: Cli, tmp_path_factory) -> Cli:
    """A store (each backend) holding the clean base data the cases are loaded against."""
    base = corpus.base_files(tmp_path_factory.mktemp("base"))
    module_cli.ok("load", "boundaries", base["kelurahan"], "--level", "kelurahan")
    module_cli.ok("load", "tps", base["tps"])
    module_cli.ok("load", "dpt", base["dpt"])
    return module_cli


def _load_args(case: corpus.Case, path: Path) -> list:
    level = ["--level", "kelurahan"] if case.loader == "boundaries" else []
    return ["load", case.loader, path, *level, "--json"]


def check_case(cli: Cli, case: corpus.Case, path: Path) -> dict | None:
    reports = cli.home / "reports"
    before, files_before = cli.state(), set(reports.iterdir()) if reports.exists() else set()
    result = cli(*_load_args(case, path))
    if case.outcome == "error":
        assert_one_line_error(result, path.name, case.expect)
        assert json.loads(result.stdout)["error"]
        assert cli.state() == before, "a failed load changed the store"
        assert set(reports.iterdir()) == files_before, "a failed load left a report file behind"
        return
    assert result.exit_code == 0, (result.exit_code, result.stderr[-1500:], result.exception)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["balanced"] and report["rows_loaded"] > 0
    if case.expect.startswith("field:"):
        fields = {p["field"] for p in (*report["rejections"], *report["warnings"])}
        assert case.expect.removeprefix("field:") in fields, fields
    else:
        said = [*report["rejected_by_reason"], *report["warnings_by_reason"], *report["notes"],
                *(p["reason"] for p in report["rejections"])]
        assert case.expect.lower() in " | ".join(said).lower(), said
    for new in set(reports.iterdir()) - files_before:
        if new.suffix == ".csv":
            assert formula_cells(new) == [], new.name
    return report


@pytest.mark.parametrize("case", [_param(c) for c in corpus.selected()])
def test_hostile_input(loaded, corpus_files, case):
    check_case(loaded, case, corpus_files[case.name])


@pytest.mark.parametrize("case", [_param(c) for c in corpus.selected(only_large=True)])
def test_large_hostile_input(loaded, case, tmp_path):
    path = corpus.write_corpus(tmp_path, only_large=True)[case.name]
    report = check_case(loaded, case, path)
    if case.name.endswith("_10mb_line.csv"):             # the row is rejected, its cell is not echoed
        assert report["rejected_by_reason"] == {"longer than 1,000 characters": 1}
        [problem] = report["rejections"]
        assert problem["field"] == "alamat" and re.fullmatch(r"10,\d{3},\d{3} characters", problem["value"])
        rejected = Path(report["rejected_file"]).read_text(encoding="utf-8")     # the cell cut, for spreadsheets
        assert 32_000 < len(rejected) < 40_000 and "characters)" in rejected
        layer = "tps" if case.loader == "tps" else "voters"
        store = loaded.store()
        try:
            assert store.read(layer)["alamat"].str.len().max() <= 1_000
        finally:
            store.close()


def test_committed_files_match_the_generator(tmp_path):
    fresh = corpus.write_corpus(tmp_path, committed=True)
    corpus.base_files(tmp_path)
    committed = {p.name for p in corpus.FILES.iterdir()}
    assert committed == {p.name for p in tmp_path.iterdir()}
    for name in committed:
        assert (corpus.FILES / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert all(not c.large for c in corpus.CASES if c.name in fresh)


def test_cli_error_is_one_line_in_a_real_process(tmp_path):
    """Outside CliRunner: logging, warnings and the exit status of the installed ``petatps``."""
    import subprocess
    import sys

    bad = corpus.write_corpus(tmp_path / "c", committed=True)
    petatps = Path(sys.executable).with_name("petatps")
    for name in ("tps_binary.csv", "b_traversal.zip"):
        case = next(c for c in corpus.CASES if c.name == name)
        args = [str(petatps), "--home", str(tmp_path / "home"), *map(str, _load_args(case, bad[name]))]
        proc = subprocess.run(args, check=False, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("petatps: error: ") and name in lines[0], lines
        assert json.loads(proc.stdout)["error"] in ("InputError", "EncodingProblem")


# --- hostile text in every output ------------------------------------------------------------------

HOSTILE = ("b_injection.geojson", "b_xss.geojson", "tps_injection.csv", "tps_xss.csv", "dpt_injection.csv")


@pytest.fixture(scope="module")
def hostile_home(tmp_path_factory) -> Cli:
    """A GeoPackage store holding the base data plus every injection/XSS case."""
    home = tmp_path_factory.mktemp("hostile")
    cli = Cli("gpkg", home / "home", None)
    base = corpus.base_files(home / "base")
    files = corpus.write_corpus(home / "corpus", committed=True)
    cli.ok("load", "boundaries", base["kelurahan"], "--level", "kelurahan")
    cli.ok("load", "tps", base["tps"])
    for name in HOSTILE:
        case = next(c for c in corpus.CASES if c.name == name)
        cli.ok(*_load_args(case, files[name]))
    cli.ok("load", "dpt", base["dpt"])
    return cli


def test_csv_outputs_neutralise_formulas(hostile_home, tmp_path):
    cli = hostile_home
    out = tmp_path / "out"
    cli.ok("geocode", "--out", out / "tps.csv")
    cli.ok("assign", "--out", out / "assignments.csv")
    coverage_files(cli, out / "coverage")
    csvs = [*out.rglob("*.csv"), *(cli.home / "reports").glob("*.csv")]
    assert len(csvs) >= 5
    tps = (out / "tps.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK(" in tps and "'+cmd|" in tps        # the text is kept, made inert
    for path in csvs:
        assert formula_cells(path) == [], path


def test_officer_download_neutralises_formulas(hostile_home, tmp_path):
    import csv
    import io

    client = _officer_client(hostile_home, tmp_path)
    body = client.get("/petugas/unduh/317106.csv")
    assert body.status_code == 200
    path = tmp_path / "download.csv"
    path.write_bytes(body.data)
    assert formula_cells(path) == []
    alamat = [r["alamat"] for r in csv.DictReader(io.StringIO(body.data.decode()))]
    assert any(a.startswith("'=HYPERLINK(") for a in alamat)


def test_exported_pages_never_carry_script_payloads(hostile_home, tmp_path):
    hostile_home.ok("export", "bundle", "--out", tmp_path / "site", "--zoom", "12-14")
    pages = {str(p): p.read_text(encoding="utf-8") for p in (tmp_path / "site").rglob("*.html")}
    assert len(pages) >= 5
    _assert_inert(pages)


def test_served_pages_and_coverage_report_never_carry_script_payloads(hostile_home, tmp_path):
    coverage_files(hostile_home, tmp_path / "coverage")
    bodies = {"coverage/index.html": (tmp_path / "coverage" / "index.html").read_text(encoding="utf-8")}
    client = _officer_client(hostile_home, tmp_path)
    for path in ("/", "/wilayah/317106", "/wilayah/3171061002", "/wilayah/3171061003", "/tps/3171061001003",
                 "/tps/3171061002003", "/terdekat/3171061003", "/embed?kode=317106", "/embed/snippet?kode=3171061002",
                 "/petugas/", "/petugas/wilayah/3171061003"):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        bodies[path] = response.get_data(as_text=True)
    _assert_inert(bodies)


def _assert_inert(bodies: dict[str, str]) -> None:
    """No corpus payload appears as markup (escaped or JSON-encoded copies are fine)."""
    for where, text in bodies.items():
        for payload in corpus.XSS:
            assert payload not in text, (where, payload)
        assert not re.search(r"<script>alert\(|<(img|svg)[^>]*on(error|load)=", text), where


def test_a_voter_whose_tps_is_not_in_the_list_is_still_found(tmp_path):
    from tests.web.conftest import csrf_from

    cli = Cli("gpkg", tmp_path / "home", None)
    base = corpus.base_files(tmp_path / "base")
    cli.ok("load", "boundaries", base["kelurahan"], "--level", "kelurahan")
    cli.ok("load", "tps", base["tps"])
    rows = corpus.dpt_rows(4)
    rows[0][9] = "7"                                   # TPS 007 of its kelurahan: not in the TPS list
    dpt = tmp_path / "dpt.csv"
    dpt.write_bytes(corpus.dpt_file(rows))
    report = json.loads(cli.ok("load", "dpt", dpt, "--json").stdout.strip().splitlines()[-1])
    assert report["rows_loaded"] == 4 and report["warnings_by_reason"]
    client = _officer_client(cli, tmp_path)
    answer = client.post("/api/v1/lookup", json={"nik": rows[0][0]})
    assert answer.status_code == 200
    assert {k: answer.get_json()[k] for k in ("found", "label", "kode_tps", "tps", "distance_m")} == {
        "found": True, "label": "your_tps", "kode_tps": rows[0][8] + "007", "tps": None, "distance_m": None}
    listed = client.post("/api/v1/lookup", json={"nik": rows[1][0]}).get_json()      # a TPS of the list
    assert listed["tps"]["id"] == listed["kode_tps"] == rows[1][8] + rows[1][9].zfill(3)
    # The page says the TPS details are not published, and shows no other TPS as the voter's.
    token = csrf_from(client.get("/").get_data(as_text=True))
    page = client.post("/cari", data={"nik": rows[0][0], "csrf_token": token})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "TPS Anda" in html and "TPS 007" in html
    assert "belum diterbitkan" in html and "/tps/" not in html and rows[0][0] not in html


def _officer_client(cli: Cli, tmp_path: Path):
    from geo.accounts import add_account
    from geo.settings import Settings
    from tests.web.conftest import csrf_from
    from web.app import create_app
    from web.config import WebConfig

    core = Settings(db_url=f"gpkg://{cli.home / 'petatps.gpkg'}", home=tmp_path / "web-home", env="test")
    app = create_app(WebConfig(core=core, secret_key="test", testing=True, data_check_seconds=0.0))
    add_account(app.extensions["petatps.config"].accounts_file, "camat.menteng", "kata sandi panjang", "317106")
    client = app.test_client()
    token = csrf_from(client.get("/petugas/masuk").get_data(as_text=True))
    login = client.post("/petugas/masuk", data={"username": "camat.menteng", "password": "kata sandi panjang",
                                                "csrf_token": token})
    assert login.status_code == 302
    return client
