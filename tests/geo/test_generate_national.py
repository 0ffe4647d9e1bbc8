"""geo.generate_national: a multi-province dataset in the demo city's file formats, checked from the files.

One small country (2 provinces × 3 kabupaten × 5 desa, 5,000 voters) is generated per module.
"""

from __future__ import annotations

import hashlib
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geo.codes import PROVINCE_CODES, kode_problems, nik_problems
from geo.errors import InputError
from geo.generate_national import (
    MAX_KEL_PER_PROVINCE,
    VOTERS_PER_RW,
    batch_dataset,
    generate_national,
    national_table,
    with_filler,
)
from geo.voters import read_dpt

ARGS = {"provinces": 2, "kab_per_province": 3, "kel_per_kab": 5, "voters": 5_000, "seed": 4}
FILES = ["kota.geojson", "kecamatan.geojson", "kelurahan.geojson", "rw.geojson", "rt.geojson", "tps.csv", "dpt.csv",
         "wilayah.csv", "truth/tps_truth.csv", "truth/dirty_rows.csv", "truth/gaps.csv", "truth/summary.json"]


@pytest.fixture(scope="module")
def country(tmp_path_factory):
    out = tmp_path_factory.mktemp("country") / "files"
    return out, generate_national(out, **ARGS)


def _csv(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _dirty(out, file: str, *kinds: str) -> set[int]:
    d = pd.read_csv(out / "truth" / "dirty_rows.csv")
    d = d[d["file"] == file]
    return set(d.loc[d["kind"].isin(kinds) if kinds else slice(None), "line"])


def _digest(folder) -> dict[str, str]:
    return {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in FILES}


def test_same_arguments_give_identical_bytes(country, tmp_path):
    out, _ = country
    generate_national(tmp_path / "again", **ARGS)
    assert _digest(tmp_path / "again") == _digest(out)
    assert not (out / ".provinces").exists()


def test_codes_nest_under_real_province_prefixes(country):
    out, report = country
    kel = gpd.read_file(out / "kelurahan.geojson")
    assert len(kel) == 2 * 3 * 5 and kel.crs.to_epsg() == 4326
    assert (kel["kode"].str[:6] == kel["kode_kec"]).all() and (kel["kode"].str[:4] == kel["kode_kab"]).all()
    assert sorted(kel["kode"].str[:2].unique()) == sorted(PROVINCE_CODES)[:2]
    assert kode_problems(kel["kode"], "kelurahan").isna().all()
    kota = gpd.read_file(out / "kota.geojson")
    assert sorted(kota["kode"]) == sorted(kel["kode_kab"].unique()) and len(kota) == 6
    for name in FILES[:-1]:                         # the filler row of each province is never written
        assert "9999999999" not in (out / name).read_text(encoding="utf-8"), name
    table = _csv(out / "wilayah.csv")
    assert table["kode"].tolist() == sorted(kel["kode"])
    assert report.figures["provinsi"] == 2 and set(report.figures["provinces"]) == set(sorted(PROVINCE_CODES)[:2])


def test_counts_add_up_over_provinces_and_match_the_files(country):
    out, report = country
    f = report.figures
    assert f["voters"] == ARGS["voters"] == sum(p["voters"] for p in f["provinces"].values())
    assert f["rt"] == len(gpd.read_file(out / "rt.geojson")) and f["rw"] == len(gpd.read_file(out / "rw.geojson"))
    assert f["dpt_rows"] == len(_csv(out / "dpt.csv")) and f["tps_rows"] == len(_csv(out / "tps.csv"))
    summary = json.loads((out / "truth" / "summary.json").read_text())
    assert summary["counts"]["voters"] == ARGS["voters"] and summary["parameters"]["provinces"] == 2
    gaps = _csv(out / "truth" / "gaps.csv")
    assert (gaps["gap"] == "rw_no_tps_nearby").sum() == 2          # one planted per province


def test_niks_are_unique_and_valid_except_the_planted_rows(country):
    out, _ = country
    dpt = _csv(out / "dpt.csv")
    line = pd.Series(np.arange(len(dpt)) + 2, index=dpt.index)
    problems = nik_problems(dpt["nik"])
    assert set(line[problems.notna()]) == _dirty(out, "dpt.csv", "nik_length", "nik_excel", "nik_birth_date")
    valid = problems.isna()
    assert set(line[valid & dpt["nik"].where(valid).duplicated()]) == _dirty(out, "dpt.csv", "nik_duplicate")
    assert set(line[kode_problems(dpt["kode_kel"], "kelurahan").notna()]) == _dirty(out, "dpt.csv", "kode_kel_invalid")
    assert set(line[dpt["rt"] == ""]) == _dirty(out, "dpt.csv", "rt_missing")
    movers = dpt.loc[valid, "nik"].str[:6] != dpt.loc[valid, "kode_kel"].str[:6]
    assert 0.05 < movers.mean() < 0.2                        # movers' regions rewritten, still valid NIKs


def test_tps_dirty_lines_point_at_the_spoilt_rows(country):
    out, _ = country
    tps = _csv(out / "tps.csv")
    line = pd.Series(np.arange(len(tps)) + 2, index=tps.index)
    assert set(line[kode_problems(tps["kode_kel"], "kelurahan").notna()]) == _dirty(out, "tps.csv", "kode_kel_invalid")
    assert set(line[tps["kode_tps"].duplicated()]) == _dirty(out, "tps.csv", "kode_tps_duplicate")
    assert set(line[tps["lat"].str.contains(",")]) == _dirty(out, "tps.csv", "coord_decimal_comma")


def test_the_dpt_loader_rejects_exactly_the_planted_rows(country):
    out, _ = country
    reader = read_dpt(out / "dpt.csv", key=b"k", chunksize=1_000)
    loaded = sum(len(c) for c in reader)
    r = reader.report
    assert r.balanced and loaded == r.rows_loaded and r.rows_rejected == len(r.rejections)
    assert sorted(p.line for p in r.rejections) == sorted(_dirty(out, "dpt.csv"))


def test_rw_per_desa_follow_the_voters_thanks_to_the_filler_row():
    table = national_table(1, 4, 10, voters=300_000)
    rows = with_filler(table, 300_000)
    assert len(rows) == len(table) + 1 and rows["kode"].iloc[-1] == "9999999999"
    share = rows["dpt_2024"] / rows["dpt_2024"].sum() * 0.75 + rows["area_km2"] / rows["area_km2"].sum() * 0.25
    rw = np.maximum(1, np.round(2_700 * share.iloc[:-1]))
    assert abs(rw.sum() - 300_000 / VOTERS_PER_RW) <= len(table) / 2
    assert len(with_filler(table, 10_000_000)) == len(table)        # more RW wanted than the generator's total


def test_batch_dataset_holds_the_loaded_voters_and_true_tps(country, tmp_path):
    out, report = country
    made = batch_dataset(out, tmp_path / "ds", key=b"k")
    assert made.rows_loaded == made.figures["dpt"]["rows_read"] - made.figures["dpt"]["rows_rejected"]
    assert made.figures["kecamatan"] == 6
    assert len(pd.read_parquet(tmp_path / "ds" / "tps.parquet")) == report.figures["tps"]


@pytest.mark.parametrize("kwargs, field", [
    ({"provinces": 0}, "provinces"), ({"provinces": 39}, "provinces"), ({"kab_per_province": 0}, "kab_per_province"),
    ({"kab_per_province": 10, "kel_per_kab": 30}, "kel_per_kab"), ({"kel_per_kab": 0}, "kel_per_kab"),
    ({"voters": -1}, "voters"), ({"seed": -2}, "seed"),
])
def test_bad_arguments_raise_input_errors(tmp_path, kwargs, field):
    with pytest.raises(InputError) as err:
        generate_national(tmp_path, **{**ARGS, **kwargs})
    assert err.value.field == field
    assert 10 * 30 > MAX_KEL_PER_PROVINCE
