"""``petatps coverage --workers N``: partitioned on a local Dask cluster, the same officer files as
the single-process ``petatps coverage`` on the same store, byte for byte (report.json aside: it holds
timings and the batch figures)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest

from tests.web.test_cli import _load_city, run


@pytest.fixture(scope="module")
def pusat(tmp_path_factory) -> Path:
    """Jakarta Pusat (8 kecamatan), 4,000 synthetic voters."""
    out = tmp_path_factory.mktemp("pusat")
    run(["--home", str(out / "h"), "generate", "--out", str(out), "--voters", "4000", "--seed", "4",
         "--kode", "3171"])
    return out


@pytest.mark.slow
def test_coverage_on_a_local_dask_cluster_writes_the_single_process_files(tmp_path, pusat):
    home = ["--home", str(tmp_path / "h")]
    _load_city(home, pusat)
    kel = gpd.read_file(pusat / "kelurahan.geojson")
    stages = tmp_path / "stages.csv"
    pd.DataFrame({"kode_kel": kel["kode"], "dps": 500, "dpt": 480}).to_csv(stages, index=False)
    sites = tmp_path / "sites.geojson"
    gpd.GeoDataFrame({"nama": [f"SD {i}" for i in range(len(kel))]},
                     geometry=kel.geometry.representative_point(), crs=kel.crs).to_file(sites)
    opts = ["--threshold-m", "300", "--stages", str(stages), "--candidates", str(sites)]
    single, batch = tmp_path / "single", tmp_path / "batch"
    run(home + ["coverage", "--out", str(single), *opts])
    rep = run(home + ["coverage", "--workers", "2", "--max-voters", "600", "--out", str(batch), "--json", *opts])
    assert rep["figures"]["partitions_failed"] == 0 and rep["figures"]["partitions"] >= 6
    assert rep["figures"]["workers"] == 2 and rep["figures"]["coverage"]["voters_source"] == "voter list"
    names = sorted(p.name for p in single.iterdir() if p.name != "report.json")
    assert names == sorted(p.name for p in batch.iterdir() if p.name != "report.json")
    for name in names:
        assert (single / name).read_bytes() == (batch / name).read_bytes(), name
    assert (tmp_path / "batch-partitions" / "coverage" / "gaps").is_dir()
    assert (tmp_path / "batch-dataset" / "tps.parquet").is_file()
    assert (batch / "stages.csv").is_file() and rep["figures"]["coverage"]["siting"]["candidates_given"] == len(kel)


def test_coverage_on_dask_refuses_an_area_or_a_road_network(tmp_path):
    result = run(["--home", str(tmp_path / "h"), "coverage", "--workers", "2", "--kode", "3171",
                  "--out", str(tmp_path / "o")], code=2)
    assert result == {}
