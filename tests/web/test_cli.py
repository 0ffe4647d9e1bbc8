"""The petatps CLI as users run it: real files, both store backends, JSON reports and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from web.cli import main

KEL = "cahyadsn-wilayah_boundaries/dki_kelurahan.geojson"
KEC = "cahyadsn-wilayah_boundaries/dki_kecamatan_dissolved_from_kelurahan.geojson"
RW = "inasafe-inasafe_data/dki_rw_2012.geojson"
TPS = "gigit-pemilu-2024-31-dki-jakarta/tps_pemilu2024_pilpres_dki.csv"


@pytest.fixture(params=["gpkg", "postgis"])
def db_args(request, tmp_path):
    """Global CLI options selecting each backend."""
    if request.param == "gpkg":
        return ["--home", str(tmp_path / "home")]
    url = request.getfixturevalue("pg_url")
    schema = request.getfixturevalue("pg_schema")
    sep = "&" if "?" in url else "?"
    return ["--home", str(tmp_path / "home"), "--db", f"{url}{sep}schema={schema}"]


def run(args: list[str], *, code: int = 0) -> dict:
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == code, (result.exit_code, result.output, result.stderr if result.stderr_bytes else "")
    return json.loads(result.stdout.strip().splitlines()[-1]) if "--json" in args else {}


def test_init_and_status(db_args):
    run(db_args + ["init", "--json"])
    status = run(db_args + ["status", "--json"])
    assert status["counts"]["tps"] == 0
    assert set(status["counts"]) >= {"kota", "kecamatan", "kelurahan", "rw", "rt", "tps", "voters"}


def test_usage_error_exits_2(tmp_path):
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "load", "boundaries", "nope.geojson",
                                       "--level", "kelurahan"])
    assert result.exit_code == 2
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "frobnicate"])
    assert result.exit_code == 2


def test_real_boundaries_and_tps(db_args, real_data):
    rep = run(db_args + ["load", "boundaries", str(real_data / KEC), "--level", "kecamatan", "--json"])
    assert rep["rows_loaded"] == 44
    rep = run(db_args + ["load", "boundaries", str(real_data / KEL), "--level", "kelurahan", "--json"])
    assert (rep["rows_read"], rep["rows_loaded"], rep["rows_rejected"]) == (267, 267, 0)
    rep = run(db_args + ["load", "tps", str(real_data / TPS), "--json"])
    assert rep["rows_read"] == 30766 and rep["rows_loaded"] == 30766 and rep["balanced"]
    status = run(db_args + ["status", "--json"])
    assert status["counts"]["kelurahan"] == 267 and status["counts"]["tps"] == 30766
    assert [r["kind"] for r in status["last_runs"]][:1] == [rep["kind"]]
    # Idempotent: loading again changes nothing.
    run(db_args + ["load", "tps", str(real_data / TPS), "--json"])
    assert run(db_args + ["status", "--json"])["counts"]["tps"] == 30766


def test_real_rw_reports_unkeyed(db_args, real_data):
    run(db_args + ["load", "boundaries", str(real_data / KEL), "--level", "kelurahan"])
    rep = run(db_args + ["load", "boundaries", str(real_data / RW), "--level", "rw", "--json"])
    assert rep["rows_read"] == 2685
    assert rep["balanced"] and rep["rows_rejected"] > 0
    reasons = " ".join(rep["rejected_by_reason"])
    assert "no RW number" in reasons and "duplicate" in reasons
    assert Path(rep["rejected_file"]).exists()


@pytest.mark.parametrize("content, problem", [
    (b"", "empty"),
    (b"\x00\x01\x02\xff\xfe garbage \x00" * 50, ""),
    (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Po', ""),
])
def test_corrupt_boundaries_exit_1_and_store_unchanged(db_args, tmp_path, content, problem):
    run(db_args + ["init"])
    before = run(db_args + ["status", "--json"])["data_version"]
    bad = tmp_path / "bad.geojson"
    bad.write_bytes(content)
    result = CliRunner().invoke(main, db_args + ["load", "boundaries", str(bad), "--level", "kelurahan"])
    assert result.exit_code == 1, result.output
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and "bad.geojson" in err[0] and "Traceback" not in result.output
    assert run(db_args + ["status", "--json"])["data_version"] == before


def test_points_where_polygons_expected(db_args, tmp_path):
    pts = tmp_path / "points.geojson"
    pts.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"kode": "3171011001", "nama": "Gambir"},
         "geometry": {"type": "Point", "coordinates": [106.8, -6.17]}}]}))
    result = CliRunner().invoke(main, db_args + ["load", "boundaries", str(pts), "--level", "kelurahan", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["error"] == "GeometryError"


@pytest.mark.parametrize("content", [
    b"kode_tps,kode_kel,no_tps,dpt\n3171011001001,3171011001,1,250\n3171011001002,31710",  # truncated
    b"foo,bar,baz\n1,2,3\n",                                        # wrong columns
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 100,         # binary garbage
])
def test_corrupt_tps_exit_1(db_args, tmp_path, content):
    bad = tmp_path / "tps.csv"
    bad.write_bytes(content)
    run(db_args + ["init"])
    before = run(db_args + ["status", "--json"])
    result = CliRunner().invoke(main, db_args + ["load", "tps", str(bad)])
    assert result.exit_code == 1, result.output
    assert "tps.csv" in result.stderr
    after = run(db_args + ["status", "--json"])
    assert after["counts"] == before["counts"] and after["data_version"] == before["data_version"]


def test_dpt_with_only_bad_niks_is_fatal(db_args, tmp_path):
    dpt = tmp_path / "dpt.csv"
    dpt.write_text("nik,nkk,nama,jenis_kelamin,tanggal_lahir,alamat,rt,rw,kode_kel,tps\n"
                   "abcdefghijklmnop,3171010101010001,Siti Rahayu,P,05-07-1990,Jl. Kenari,3,5,3171011001,1\n"
                   "NIKNIKNIKNIKNIK1,3171010101010001,Budi,L,05-07-1990,Jl. Kenari,3,5,3171011001,1\n")
    run(db_args + ["init"])
    result = CliRunner().invoke(main, db_args + ["load", "dpt", str(dpt), "--json"])
    assert result.exit_code == 1, result.output
    assert "dpt.csv" in result.stderr and "NIK" in result.stderr
    assert "Siti Rahayu" not in result.output + result.stderr
    assert "abcdefghijklmnop" not in result.output + result.stderr
    assert run(db_args + ["status", "--json"])["counts"]["voters"] == 0


def test_geocode_real_tps_all_inside_kelurahan(db_args, real_data, tmp_path):
    run(db_args + ["load", "boundaries", str(real_data / KEL), "--level", "kelurahan"])
    run(db_args + ["load", "boundaries", str(real_data / RW), "--level", "rw"])
    run(db_args + ["load", "tps", str(real_data / TPS)])
    out = tmp_path / "tps.gpkg"
    rep = run(db_args + ["geocode", "--out", str(out), "--json"])
    assert rep["rows_read"] == 30766 and rep["rows_loaded"] == 30766
    assert rep["figures"]["location_source"]["kelurahan"] == 30766
    assert rep["figures"]["outside_own_kelurahan"] == 0
    import pyogrio

    assert pyogrio.read_info(out)["features"] == 30766
    again = run(db_args + ["geocode", "--json"])  # idempotent
    assert again["figures"]["location_source"] == rep["figures"]["location_source"]


def test_geocode_without_tps_is_a_clear_error(db_args):
    result = CliRunner().invoke(main, db_args + ["geocode"])
    assert result.exit_code == 1 and "load tps" in result.stderr


def test_export_bundle_of_a_kota(db_args, real_data, tmp_path):
    run(db_args + ["load", "boundaries", str(real_data / KEL), "--level", "kelurahan"])
    run(db_args + ["load", "tps", str(real_data / TPS)])
    run(db_args + ["geocode"])
    out = tmp_path / "bundle"
    rep = run(db_args + ["export", "bundle", "--out", str(out), "--kode", "3171", "--zoom", "10-13", "--json"])
    assert rep["figures"]["kode"] == "3171" and rep["rows_read"] == 3129
    assert (out / "embed.html").exists() and (out / "maps" / "overview.html").exists()
    tilejson = json.loads(next((out / "tiles").rglob("*.json")).read_text())
    assert tilejson["tilejson"] == "3.0.0"
    html = (out / "maps" / "overview.html").read_text()
    assert "cdn.jsdelivr" not in html and "code.jquery" not in html


def test_export_usage_errors(tmp_path):
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "export", "tiles", "--out", str(tmp_path / "o"),
                                       "--zoom", "12-3"])
    assert result.exit_code == 2 and "--zoom" in result.output


@pytest.fixture(scope="module")
def small_city(tmp_path_factory) -> Path:
    """A generated demo city (kecamatan Menteng, 3,000 synthetic voters), shared by the tests below."""
    out = tmp_path_factory.mktemp("city")
    run(["--home", str(out / "h"), "generate", "--out", str(out), "--voters", "3000", "--seed", "3",
         "--kode", "317106"])
    return out


def _load_city(db_args, city):
    for level in ("kota", "kecamatan", "kelurahan", "rw", "rt"):
        run(db_args + ["load", "boundaries", str(city / f"{level}.geojson"), "--level", level])
    run(db_args + ["load", "tps", str(city / "tps.csv")])
    dpt = run(db_args + ["load", "dpt", str(city / "dpt.csv"), "--json"])
    run(db_args + ["geocode"])
    return dpt


def test_assign_nearest_and_capacity(db_args, small_city, tmp_path):
    dpt = _load_city(db_args, small_city)
    out = tmp_path / "assign.csv"
    rep = run(db_args + ["assign", "--out", str(out), "--json"])
    assert rep["rows_loaded"] == dpt["rows_loaded"] > 2500
    import pandas as pd

    table = pd.read_csv(out, dtype=str)
    assert list(table.columns) == ["voter_key", "kode_kel", "rw", "rt", "lon", "lat", "tps_dpt", "dist_dpt_m",
                                   "tps_nearest", "dist_nearest_m", "tps_nearest_any", "dist_nearest_any_m"]
    assert len(table) == dpt["rows_loaded"]
    assert not table.apply(lambda col: col.str.fullmatch(r"\d{16}")).any().any()  # no NIK anywhere
    nik_names = pd.read_csv(small_city / "dpt.csv", dtype=str, usecols=["nik", "nama"])
    text = out.read_text()
    assert not any(n in text for n in nik_names.nik.head(200))
    assert not any(n in text for n in nik_names.nama.head(200))
    near = table.dist_nearest_m.astype(float)
    assert (near <= table.dist_dpt_m.astype(float).fillna(float("inf")) + 0.01).all()
    cap = run(db_args + ["assign", "--mode", "capacity", "--max-per-tps", "300", "--json"])
    assert cap["figures"]["capacity"]["voters_planned"] + cap["figures"]["capacity"]["voters_unplaced"] == \
        rep["rows_loaded"]
    assert run(db_args + ["status", "--json"])["counts"]["assignments"] == rep["rows_loaded"]


def test_assign_before_geocode_is_a_clear_error(db_args, small_city):
    run(db_args + ["load", "boundaries", str(small_city / "kelurahan.geojson"), "--level", "kelurahan"])
    run(db_args + ["load", "tps", str(small_city / "tps.csv")])
    run(db_args + ["load", "dpt", str(small_city / "dpt.csv")])
    result = CliRunner().invoke(main, db_args + ["assign"])
    assert result.exit_code == 1 and "geocode" in result.stderr


def test_coverage_real_jakarta_utara(db_args, real_data, tmp_path):
    run(db_args + ["load", "boundaries", str(real_data / KEL), "--level", "kelurahan"])
    run(db_args + ["load", "boundaries", str(real_data / RW), "--level", "rw"])
    run(db_args + ["load", "tps", str(real_data / TPS)])
    run(db_args + ["geocode"])
    out = tmp_path / "cov"
    rep = run(db_args + ["coverage", "--kode", "3172", "--out", str(out), "--json"])
    import pandas as pd

    tps = pd.read_csv(out / "tps.csv", dtype=str)
    raw = pd.read_csv(real_data / TPS, dtype=str)
    raw = raw[raw.kode_kab == "3172"]
    over_raw = set(raw.kode_tps[pd.to_numeric(raw.dpt, errors="coerce") > 300])
    over_csv = set(tps.kode_tps[tps.over_cap == "True"])
    assert over_raw and over_csv == over_raw
    assert rep["figures"]["tps_over_cap"] == len(over_raw)
    assert len(tps) == len(raw)
    assert (out / "index.html").exists() and (out / "coverage.gpkg").exists()


def test_coverage_of_generated_city(db_args, small_city, tmp_path):
    _load_city(db_args, small_city)
    out = tmp_path / "cov"
    rep = run(db_args + ["coverage", "--out", str(out), "--json"])
    import pandas as pd

    gaps = pd.read_csv(out / "gaps.csv", dtype=str)
    assert set(gaps.columns) >= {"kode_kel", "rw", "rt", "level", "voters", "dist_nearest_m", "reason", "severity"}
    assert rep["figures"]["voters_source"] == "voter list"
    # Small counts never appear as exact numbers below 5.
    counts = pd.to_numeric(gaps.voters, errors="coerce")
    assert not ((counts > 0) & (counts < 5)).any()


@pytest.mark.slow
def test_assign_on_a_local_dask_cluster_matches_single_process(tmp_path, small_city):
    home = ["--home", str(tmp_path / "h")]
    _load_city(home, small_city)
    single = tmp_path / "single.csv"
    run(home + ["assign", "--out", str(single)])
    rep = run(home + ["assign", "--workers", "2", "--out", str(tmp_path / "batch"), "--json"])
    assert rep["figures"]["partitions_failed"] == 0
    import pandas as pd

    key = ["kode_kel", "voter_key"]
    a = pd.read_csv(single, dtype=str).sort_values(key).reset_index(drop=True)
    b = pd.concat([pd.read_parquet(p) for p in sorted((tmp_path / "batch").rglob("part-*.parquet"))])
    b = b[a.columns].astype(str).replace({"<NA>": None, "nan": None}).sort_values(key).reset_index(drop=True)
    assert len(a) == len(b)
    assert (a.tps_nearest == b.tps_nearest).all() and (a.tps_nearest_any == b.tps_nearest_any).all()
    assert ((a.dist_nearest_m.astype(float) - b.dist_nearest_m.astype(float)).abs() < 0.01).all()
    assert run(home + ["status", "--json"])["counts"]["assignments"] == len(a)
