"""geo.batch_coverage: coverage partitioned by region code gives the single-process coverage files,
byte for byte, in this process and on a real dask.distributed scheduler and workers (separate
processes on 127.0.0.1), also when a worker is killed mid-run.

The synthetic national dataset (2 provinces, 6 kabupaten, 12 kecamatan; every kecamatan its own
partition) is made to cross borders: one kecamatan has no TPS (its voters' nearest TPS of any
kelurahan lies in another partition, and its kelurahan need TPS), some TPS are unplaced or placed
at kelurahan level only, some voters are registered at a TPS in the neighbouring kecamatan or in
the other province, and candidate sites are given. The reference is :func:`geo.coverage.coverage`
on the whole dataset at once, written by :func:`geo.coverage_report.write_coverage`.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from geo.batch_coverage import coverage_plan, pack_plan, run_coverage
from geo.batch_data import Dataset, write_dataset
from geo.coverage import coverage
from geo.coverage_report import LAYERS, write_coverage
from geo.crs import STORAGE_EPSG
from geo.generate_national import generate_national
from geo.schema import conform
from geo.voters import read_dpt
from tests.conftest import ROOT

KEY = b"test-batch-coverage-key"
SMALL = 2_000          # voters per partition: most kecamatan their own partition
BIG = 4_000            # fewer partitions (faster), still kabupaten cut at kecamatan borders
VERSION = "2026-01-01T00:00:00"
PARAMS = {"threshold_m": 150.0, "max_per_tps": 250}


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> tuple[Path, gpd.GeoDataFrame]:
    base = tmp_path_factory.mktemp("national-coverage")
    files = base / "files"
    generate_national(files, provinces=2, kab_per_province=3, kel_per_kab=16, voters=30_000, seed=5)
    areas = {lv: conform(gpd.read_file(files / f"{lv}.geojson"), lv) for lv in ("kelurahan", "rw", "rt")}
    kecs = sorted(areas["kelurahan"]["kode_kec"].unique())
    truth = pd.read_csv(files / "truth" / "tps_truth.csv", dtype={"kode_tps": str, "kode_kel": str})
    truth = truth[~truth["kode_kel"].str.startswith(kecs[1])].reset_index(drop=True)   # a kecamatan without TPS
    tps = gpd.GeoDataFrame(truth[["kode_tps", "kode_kel"]].astype("string"),
                           geometry=gpd.points_from_xy(truth["lon"], truth["lat"]), crs=STORAGE_EPSG)
    tps["location_source"] = pd.array(["coordinates"] * len(tps), dtype="string")
    tps["precision_m"] = 10.0
    vague = tps.index[[7, 8, 61, 120]]                      # placed at kelurahan level only
    tps.loc[vague, "location_source"], tps.loc[vague, "precision_m"] = "kelurahan", 1_500.0
    tps.loc[tps.index[[5, 50, 100]], "geometry"] = None     # not geocoded yet
    tps.loc[tps.index[[5, 50, 100]], "location_source"] = pd.NA
    tps = conform(tps, "tps")
    far_tps = tps["kode_tps"].iloc[-1]                                         # the other province
    next_tps = tps.loc[tps["kode_kel"].str.startswith(kecs[2]), "kode_tps"].iloc[0]   # the next kecamatan

    def voters():
        for i, chunk in enumerate(read_dpt(files / "dpt.csv", key=KEY, chunksize=6_000)):
            if i == 0:
                chunk.loc[chunk.index[:30], "kode_tps"] = far_tps
                chunk.loc[chunk.index[30:60], "kode_tps"] = next_tps
            yield chunk

    write_dataset(base / "dataset", voters=voters(), tps=tps, **areas)
    rt = areas["rt"].iloc[::40]
    candidates = gpd.GeoDataFrame({"nama": [f"SD {i}" for i in range(len(rt))]},
                                  geometry=shapely.point_on_surface(rt.geometry.to_numpy()), crs=STORAGE_EPSG)
    return base / "dataset", candidates


@pytest.fixture(scope="module")
def expected(inputs, tmp_path_factory) -> Path:
    """The single-process path over the whole dataset, written as officers get it."""
    dataset, candidates = inputs
    data = Dataset(dataset)
    result = coverage(data.voters(), data.tps(), **_areas(data), candidates=candidates, **PARAMS)
    out = tmp_path_factory.mktemp("single")
    write_coverage(result, out, data_version=VERSION)
    return out


def _areas(data: Dataset) -> dict:
    a = data.areas()
    return {"rt": a["rt"], "rw": a["rw"], "kelurahan": a["kelurahan"]}


def _same_files(expected: Path, out: Path) -> None:
    names = sorted(p.name for p in expected.iterdir() if p.name != "report.json")
    assert names == sorted(p.name for p in out.iterdir() if p.name != "report.json")
    for name in names:
        if name.endswith(".gpkg"):
            for layer in LAYERS:
                assert_geodataframe_equal(gpd.read_file(out / name, layer=layer),
                                          gpd.read_file(expected / name, layer=layer), check_like=False)
        assert (out / name).read_bytes() == (expected / name).read_bytes(), name


def _analysis(path: Path) -> dict:
    figures = json.loads((path / "report.json").read_text())["analysis"]["figures"]
    return {k: v for k, v in figures.items() if k not in ("timings", "seconds")}


def _written(result, out: Path) -> Path:
    write_coverage(result, out, data_version=VERSION)
    return out


# --- in this process --------------------------------------------------------------------------

def test_the_plan_covers_every_kecamatan_once_with_kabupaten_cut_into_partitions(inputs):
    data = Dataset(inputs[0])
    plan = coverage_plan(data, SMALL)
    kec = [k for p in plan for k in p.kecamatan]
    assert sorted(kec) == sorted(set(kec))
    assert set(kec) >= set(data.tps(["kode_kel"])["kode_kel"].str[:6])
    assert len(kec) == 12 and len(plan) >= 10
    assert len({p.kode_kab for p in plan}) < len(plan)                 # kabupaten cut at kecamatan borders


def test_partitions_give_exactly_the_single_process_files(inputs, expected, tmp_path):
    dataset, candidates = inputs
    result, report = run_coverage(dataset, tmp_path / "work", max_voters=BIG, candidates=candidates, **PARAMS)
    assert report.figures["partitions_failed"] == 0 and report.figures["partitions"] >= 6
    assert report.figures["totals"]["counts_from_elsewhere"] > 0          # voters registered across a border
    _same_files(expected, _written(result, tmp_path / "out"))
    assert _analysis(tmp_path / "out") == _analysis(expected)
    gaps = pd.read_csv(expected / "gaps.csv", dtype=str)
    assert {"rt_no_tps_nearby", "kelurahan_without_tps", "tps_location_unreliable", "tps_unplaced",
            "overloaded_tps"} <= set(gaps["reason"])
    assert (gaps["detail"].str.contains("another kelurahan")).any()      # a TPS across the border is in reach
    assert len(pd.read_csv(expected / "suggestions.csv")) and len(pd.read_csv(expected / "merges.csv"))


def test_the_coverage_pass_packs_whole_kabupaten_up_to_the_voter_bound(inputs):
    plan = coverage_plan(Dataset(inputs[0]), 12_000)
    assert all(len({k[:4] for k in p.kecamatan}) == 1 for p in plan)
    packed = pack_plan(plan, 12_000)
    assert sorted(k for p in packed for k in p.kecamatan) == sorted(k for p in plan for k in p.kecamatan)
    assert len(packed) < len(plan) and max(p.voters for p in packed) <= 12_000
    assert any(len({k[:4] for k in p.kecamatan}) > 1 for p in packed)
    assert len(pack_plan(plan, 12_000, min_parts=len(plan))) == len(plan)   # enough parts for the workers
    cut = coverage_plan(Dataset(inputs[0]), BIG)
    split = {p.kode_kab for p in cut if p.part > 0}
    assert split and {p for p in cut if p.kode_kab in split} <= set(pack_plan(cut, BIG))   # cut ones stay


def test_packed_partitions_give_exactly_the_single_process_files(inputs, expected, tmp_path):
    dataset, candidates = inputs
    result, report = run_coverage(dataset, tmp_path / "work", max_voters=12_000, candidates=candidates, **PARAMS)
    assert report.figures["partitions_failed"] == 0 and 1 < report.figures["partitions"] < 6
    assert report.figures["totals"]["counts_from_elsewhere"] > 0          # across the packs' borders
    _same_files(expected, _written(result, tmp_path / "out"))


def fail_in(kab: str, task, inputs, **kwargs):
    """``task``, failing in one kabupaten."""
    if inputs.kecamatan[0].startswith(kab):
        raise RuntimeError(f"disk full in {kab}")
    return task(inputs, **kwargs)


@pytest.mark.slow
def test_a_failing_partition_is_reported_by_region_code_and_a_rerun_resumes(inputs, expected, tmp_path,
                                                                         monkeypatch):
    import geo.batch_coverage as bc

    dataset, candidates = inputs
    plan, work = coverage_plan(Dataset(dataset), BIG), tmp_path / "work"
    kab = plan[0].kode_kab
    monkeypatch.setattr(bc, "coverage_task", functools.partial(fail_in, kab, bc.coverage_task))
    result, report = run_coverage(dataset, work, max_voters=BIG, retries=0, candidates=candidates, **PARAMS)
    assert result is None and {f["kode_kab"] for f in report.figures["failed"]} == {kab}
    assert "disk full" in report.figures["failed"][0]["error"]
    monkeypatch.undo()
    result, report = run_coverage(dataset, work, max_voters=BIG, candidates=candidates, **PARAMS)
    assert report.figures["partitions_run"] == sum(p.kode_kab == kab for p in plan)
    assert report.figures["counts"]["partitions_resumed"] == len(plan)
    _same_files(expected, _written(result, tmp_path / "out"))
    _, other = run_coverage(dataset, work, max_voters=BIG, candidates=candidates, threshold_m=300.0,
                            max_per_tps=250)
    assert other.figures["partitions_run"] == len(plan) and other.figures["counts"]["partitions_resumed"] == len(plan)


def test_the_default_path_never_imports_dask(inputs, tmp_path):
    code = ("import sys; from geo.batch_coverage import run_coverage; "
            "r, rep = run_coverage(sys.argv[1], sys.argv[2], max_voters=10**7); "
            "assert r is not None and rep.figures['partitions_failed'] == 0; "
            "import geo.steps, web.cli_commands; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    done = subprocess.run([sys.executable, "-c", code, str(inputs[0]), str(tmp_path / "work")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- on a real dask.distributed cluster (separate processes on 127.0.0.1) --------------------------

@pytest.mark.slow
def test_a_distributed_run_gives_exactly_the_single_process_files(inputs, expected, cluster, tmp_path):
    dataset, candidates = inputs
    result, report = run_coverage(dataset, tmp_path / "work", scheduler=str(cluster.file), max_voters=BIG,
                                  candidates=candidates, **PARAMS)
    assert report.figures["workers"] >= 2 and report.figures["partitions_failed"] == 0
    _same_files(expected, _written(result, tmp_path / "out"))
    pids = {json.loads(p.read_text())["pid"] for p in (tmp_path / "work").glob("*/kode_kab=*/_part-*.json")}
    assert len(pids) >= 2 and os.getpid() not in pids                # ran in the worker processes


@pytest.mark.slow
def test_killing_a_worker_mid_run_still_completes_with_identical_files(inputs, expected, cluster, tmp_path):
    dataset, candidates = inputs
    victim = cluster.add_worker()
    client = cluster.client(3)
    try:
        addr = next(a for a, pid in client.run(os.getpid).items() if pid == victim.pid)
        result: dict = {}
        runner = threading.Thread(target=lambda: result.update(zip(("result", "report"), run_coverage(
            dataset, tmp_path / "work", scheduler=str(cluster.file), max_voters=SMALL, candidates=candidates,
            **PARAMS))))
        runner.start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not client.processing().get(addr):
            time.sleep(0.01)
        running = client.processing().get(addr)
        assert running, "the batch never ran a partition on the worker to kill"
        os.kill(victim.pid, signal.SIGKILL)
        runner.join(timeout=300)
    finally:
        client.close()
    assert victim.wait(timeout=10) == -signal.SIGKILL
    assert result["report"].figures["partitions_failed"] == 0
    _same_files(expected, _written(result["result"], tmp_path / "out"))
    _, kab, part, _ = running[0].split("-")                  # key petatps-<kab>-<part>-<run>
    redone = json.loads((tmp_path / "work" / "coverage" / f"kode_kab={kab}" / f"_part-{part}.json").read_text())
    assert redone["pid"] != victim.pid                       # the interrupted partition ran again elsewhere
