"""geo.batch: partition plan, identical results to the single-machine path, resume, retries, failures,
and the same on a real dask.distributed scheduler and workers started as separate processes.

One synthetic national dataset (2 provinces, 6 kabupaten, 12 kecamatan) is generated per module and
made harder than the generator's: one kecamatan has no TPS at all (its voters' nearest TPS lies in
another partition), three TPS are not placed, and some voters are registered at a TPS in another
province. The reference is ``voter_locations`` + ``assign_voters`` on all voters at once.
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
import numpy as np
import pandas as pd
import pytest

from geo.assign import assign_voters
from geo.batch import (
    Partition,
    assign_task,
    plan_partitions,
    read_results,
    run_batch,
    run_partition,
    run_single,
)
from geo.batch_data import Dataset, write_dataset
from geo.crs import STORAGE_EPSG
from geo.errors import InputError
from geo.generate_national import generate_national
from geo.locations import voter_locations
from geo.schema import conform
from geo.voters import read_dpt
from tests.conftest import ROOT

KEY = b"test-batch-key"
SMALL = 2_500          # voters per partition: every kecamatan its own partition
DASK = Path(sys.executable).with_name("dask")


# --- fixtures -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("national")
    files = base / "files"
    generate_national(files, provinces=2, kab_per_province=3, kel_per_kab=16, voters=40_000, seed=2)
    areas = {lv: conform(gpd.read_file(files / f"{lv}.geojson"), lv) for lv in ("kelurahan", "rw", "rt")}
    truth = pd.read_csv(files / "truth" / "tps_truth.csv", dtype={"kode_tps": str, "kode_kel": str})
    truth = truth[~truth["kode_kel"].str.startswith(_second_kecamatan(areas["kelurahan"]))]
    tps = gpd.GeoDataFrame(truth[["kode_tps", "kode_kel"]].astype("string"),
                           geometry=gpd.points_from_xy(truth["lon"], truth["lat"]), crs=STORAGE_EPSG)
    tps.loc[tps.index[[5, 50, 100]], "geometry"] = None        # not geocoded yet
    far_tps = tps["kode_tps"].iloc[-1]                          # a TPS in the other province

    def voters():
        for i, chunk in enumerate(read_dpt(files / "dpt.csv", key=KEY, chunksize=8_000)):
            if i == 0:
                chunk.loc[chunk.index[:40], "kode_tps"] = far_tps
            yield chunk

    write_dataset(base / "dataset", voters=voters(), tps=tps, **areas)
    return base / "dataset"


def _second_kecamatan(kelurahan: gpd.GeoDataFrame) -> str:
    return sorted(kelurahan["kode_kec"].unique())[1]


@pytest.fixture(scope="module")
def expected(dataset) -> pd.DataFrame:
    """The single-machine path: all voters at once, all TPS."""
    data = Dataset(dataset)
    voters = pd.concat(list(data.voters()), ignore_index=True)
    out, _ = assign_voters(voters, voter_locations(voters, **data.areas()), data.tps())
    return _by_key(out)


@pytest.fixture(scope="module")
def plan(dataset) -> list[Partition]:
    return plan_partitions(Dataset(dataset).weights(), max_voters=SMALL)


def _split_kab(plan: list[Partition], nth: int = 0) -> tuple[str, int]:
    """A kabupaten cut into several partitions, and how many."""
    counts = pd.Series([p.kode_kab for p in plan]).value_counts()
    split = sorted(counts[counts > 1].index)
    return split[nth], int(counts[split[nth]])


def _by_key(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["kode_kab"], errors="ignore").sort_values("voter_key").reset_index(drop=True)


def _results(out: Path) -> pd.DataFrame:
    return _by_key(pd.concat(list(read_results(out)), ignore_index=True))


# --- the partition plan ---------------------------------------------------------------------

def _weights(**kec: int) -> pd.DataFrame:
    return pd.DataFrame({"kode_kec": list(kec), "voters": list(kec.values())})


def test_plan_keeps_small_kabupaten_whole_and_cuts_large_ones_into_whole_kecamatan():
    w = _weights(**{"320501": 400, "320502": 300, "320503": 500, "320504": 200, "320601": 100,
                    "320602": 0, "320701": 5_000})
    parts = plan_partitions(w, max_voters=1_000)
    assert [p.voters for p in parts] == sorted((p.voters for p in parts), reverse=True)   # largest first
    by_kab = {}
    for p in parts:
        by_kab.setdefault(p.kode_kab, []).append(p)
    assert [p.kecamatan for p in by_kab["3206"]] == [("320601",)]          # no voters in 320602: not planned
    assert [p.kecamatan for p in by_kab["3207"]] == [("320701",)]          # one kecamatan is never cut
    split = sorted(by_kab["3205"], key=lambda p: p.part)
    assert [p.kecamatan for p in split] == [("320501", "320502"), ("320503", "320504")]
    assert [p.voters for p in split] == [700, 700]
    assert split[0].name == "kode_kab=3205/part-000"


def test_plan_balances_voters_and_covers_every_kecamatan_once():
    rng = np.random.default_rng(0)
    codes = [f"33{k:02d}{c:02d}" for k in range(5, 25) for c in range(1, 30)]
    w = pd.DataFrame({"kode_kec": codes, "voters": rng.integers(1_000, 90_000, len(codes))})
    parts = plan_partitions(w, max_voters=400_000)
    covered = [k for p in parts for k in p.kecamatan]
    assert sorted(covered) == sorted(codes)
    assert sum(p.voters for p in parts) == int(w["voters"].sum())
    assert max(p.voters for p in parts) <= 400_000 + 90_000             # at most one kecamatan over the target
    assert all(len({k[:4] for k in p.kecamatan}) == 1 for p in parts)


@pytest.mark.parametrize("bad", [0, -5])
def test_plan_rejects_a_non_positive_size(bad):
    with pytest.raises(InputError, match="max_voters"):
        plan_partitions(_weights(**{"320501": 10}), max_voters=bad)


# --- in this process (no Dask) ----------------------------------------------------------------

def test_partitions_give_exactly_the_single_machine_results(dataset, expected, plan, tmp_path, caplog):
    caplog.set_level("INFO", logger="geo.batch")
    report = run_batch(dataset, tmp_path / "out", max_voters=SMALL)
    got = _results(tmp_path / "out")
    pd.testing.assert_frame_equal(got, expected)
    f = report.figures
    assert f["partitions"] == f["partitions_run"] == len(plan) >= 10 and f["partitions_failed"] == 0
    assert report.balanced and report.rows_loaded == len(expected) == f["rows_written"]
    # the hard cases are there: a kecamatan without TPS, voters registered in another province
    kec = expected["kode_kel"].str[:6]
    none_here = kec == sorted(kec.unique())[1]
    assert expected.loc[none_here, "tps_nearest"].isna().all()
    assert expected.loc[none_here, "tps_nearest_any"].str[:6].ne(sorted(kec.unique())[1]).all()
    assert (expected["tps_dpt"].str[:2] != expected["kode_kel"].str[:2]).sum() == 40
    assert f["totals"]["voters"] == len(expected)
    assert f["distances"]["dist_nearest_any_m"]["max_m"] == round(expected["dist_nearest_any_m"].max(), 1)
    assert abs(f["distances"]["dist_dpt_m"]["p95_m"] - expected["dist_dpt_m"].quantile(0.95)) <= 10
    assert sum("partition kode_kab=" in r.message and "done" in r.message for r in caplog.records) == len(plan)
    assert json.loads((tmp_path / "out" / "_batch.json").read_text())["rows_loaded"] == len(expected)


def test_single_process_path_writes_the_same_rows(dataset, expected, tmp_path):
    report = run_single(dataset, tmp_path / "single")
    got = _by_key(pd.read_parquet(tmp_path / "single"))
    pd.testing.assert_frame_equal(got, expected)
    assert report.rows_loaded == len(expected)


def test_output_layout_is_partitioned_parquet_by_kabupaten(dataset, tmp_path):
    run_batch(dataset, tmp_path / "out", max_voters=SMALL)
    files = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.parquet"))
    assert files and all(f.split("/")[0].startswith("kode_kab=") and f.split("/")[1].startswith("part-")
                         for f in files)
    assert not list((tmp_path / "out").rglob("*.tmp"))
    table = pd.read_parquet(tmp_path / "out")                   # hive partitioning: kode_kab from the folders
    assert (table["kode_kab"].astype(str) == table["kode_kel"].str[:4]).all()


def test_a_rerun_resumes_from_the_complete_partitions(dataset, expected, plan, tmp_path):
    out = tmp_path / "out"
    run_batch(dataset, out, max_voters=SMALL)
    manifests = sorted(out.glob("kode_kab=*/_part-*.json"))
    manifests[0].unlink()                                       # that partition never finished
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("part-*.parquet")}
    report = run_batch(dataset, out, max_voters=SMALL)
    assert (report.figures["partitions_run"], report.figures["partitions_resumed"]) == (1, len(plan) - 1)
    rerun = manifests[0].parent
    unchanged = [p for p, t in stamps.items() if p.stat().st_mtime_ns == t]
    assert {p.parent for p in stamps if p not in unchanged} <= {rerun}
    pd.testing.assert_frame_equal(_results(out), expected)
    assert report.rows_loaded == len(expected)


def test_another_plan_replaces_the_old_partition_files(dataset, expected, plan, tmp_path):
    out = tmp_path / "out"
    run_batch(dataset, out, max_voters=SMALL)
    report = run_batch(dataset, out, max_voters=10_000_000)     # one partition per kabupaten now
    assert report.figures["partitions"] == 6 < len(plan)
    assert not list(out.glob("kode_kab=*/part-001-*.parquet"))
    pd.testing.assert_frame_equal(_results(out), expected)


def fail_for(kab: str, marker: Path, inputs, **kwargs):
    """``assign_task``, except that partitions of ``kab`` raise (each attempt leaves a marker file)."""
    if inputs.kecamatan and inputs.kecamatan[0].startswith(kab):
        n = len(list(marker.glob("attempt-*")))
        (marker / f"attempt-{n}-{os.getpid()}").touch()
        raise RuntimeError(f"disk full while writing {kab}")
    return assign_task(inputs, **kwargs)


def fail_once(marker: Path, inputs, **kwargs):
    """``assign_task`` that fails the first attempt at every partition."""
    flag = marker / f"{inputs.kecamatan[0]}.tried"
    if not flag.exists():
        flag.touch()
        raise OSError("transient: storage not mounted yet")
    return assign_task(inputs, **kwargs)


def test_a_failing_partition_is_retried_then_reported_by_region_code(dataset, expected, plan, tmp_path):
    out, marker = tmp_path / "out", tmp_path / "marker"
    marker.mkdir()
    kab, n = _split_kab(plan)
    report = run_batch(dataset, out, max_voters=SMALL, retries=2, task=functools.partial(fail_for, kab, marker))
    assert len(list(marker.glob("attempt-*"))) == 3 * n           # 1 + 2 retries, for each of its partitions
    failed = report.figures["failed"]
    assert {f["kode_kab"] for f in failed} == {kab} and report.figures["partitions_failed"] == n
    assert "disk full" in failed[0]["error"] and failed[0]["kecamatan"][0].startswith(kab)
    assert any(w.value == kab and w.field == "kode_kab" for w in report.warnings)
    assert report.rows_rejected == int((expected["kode_kel"].str[:4] == kab).sum()) and report.balanced
    kept = _results(out)
    pd.testing.assert_frame_equal(kept, _by_key(expected[expected["kode_kel"].str[:4] != kab]))
    again = run_batch(dataset, out, max_voters=SMALL)                # fixed: only the failed ones run
    assert (again.figures["partitions_run"], again.figures["partitions_failed"]) == (n, 0)
    pd.testing.assert_frame_equal(_results(out), expected)


def test_a_transient_failure_is_absorbed_by_a_retry(dataset, expected, tmp_path):
    marker = tmp_path / "marker"
    marker.mkdir()
    report = run_batch(dataset, tmp_path / "out", max_voters=SMALL, retries=1,
                       task=functools.partial(fail_once, marker))
    assert report.figures["partitions_failed"] == 0
    pd.testing.assert_frame_equal(_results(tmp_path / "out"), expected)


def with_counts(inputs, **kwargs):
    """A task with two tables: ``assign_task``'s rows and the voters per kelurahan counted from them."""
    frames, report = assign_task(inputs, **kwargs)
    seen = []

    def rows():
        for frame in frames:
            seen.append(frame["kode_kel"].value_counts())
            yield frame

    def counts():
        total = pd.concat(seen).groupby(level=0).sum() if seen else pd.Series(dtype="int64")
        yield total.rename("voters").rename_axis("kode_kel").reset_index()

    return {"": rows(), "per_kelurahan": counts()}, report


def test_a_task_can_write_several_tables(dataset, expected, tmp_path):
    out = tmp_path / "out"
    report = run_batch(dataset, out, max_voters=SMALL, task=with_counts)
    pd.testing.assert_frame_equal(_results(out), expected)
    counts = pd.concat(list(read_results(out, table="per_kelurahan")), ignore_index=True)
    want = expected["kode_kel"].value_counts()
    assert dict(zip(counts["kode_kel"], counts["voters"])) == want.to_dict()
    assert (counts["kode_kab"] == counts["kode_kel"].str[:4]).all()
    assert report.figures["rows_written"] == len(expected) + len(counts)
    again = run_batch(dataset, out, max_voters=SMALL, task=with_counts)
    assert again.figures["partitions_resumed"] == again.figures["partitions"]


def test_a_partition_reads_only_its_kecamatan(dataset, tmp_path):
    data = Dataset(dataset)
    kec = data.weights()["kode_kec"].iloc[0]
    manifest = run_partition(dataset, Partition(kec[:4], 0, (kec,), 0), tmp_path)
    rows = pd.read_parquet(tmp_path / f"kode_kab={kec[:4]}")
    assert (rows["kode_kel"].str[:6] == kec).all() and len(rows) == manifest["rows"]
    assert manifest["report"]["figures"]["tps_placed"] < len(data.tps_points())


def test_the_default_path_never_imports_dask(dataset, tmp_path):
    code = ("import sys; from geo.batch import run_batch; r = run_batch(sys.argv[1], sys.argv[2], max_voters=10**7); "
            "assert r.figures['partitions_failed'] == 0; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))")
    done = subprocess.run([sys.executable, "-c", code, str(dataset), str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# --- on a real dask.distributed cluster (separate processes on 127.0.0.1) --------------------------

class Cluster:
    """A ``dask scheduler`` and ``dask worker`` processes (no nanny: a killed worker stays dead)."""

    def __init__(self, folder: Path):
        self.folder, self.file, self.workers = folder, folder / "scheduler.json", []
        # the scheduler and workers unpickle this module's failing tasks by reference (tests.geo.test_batch)
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED": "False"}
        self.scheduler = self._spawn("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                     "--scheduler-file", str(self.file))
        deadline = time.monotonic() + 60
        while not self.file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)

    def _spawn(self, *args: str) -> subprocess.Popen:
        log = self.folder / f"{args[0]}-{len(self.workers)}-{time.monotonic_ns()}.log"
        with log.open("w") as fh:        # the child keeps its own copy of the descriptor
            return subprocess.Popen([str(DASK), *args], cwd=ROOT, env=self.env, stdout=fh, stderr=subprocess.STDOUT)

    def add_worker(self) -> subprocess.Popen:
        proc = self._spawn("worker", "--scheduler-file", str(self.file), "--nthreads", "1", "--no-nanny",
                           "--no-dashboard", "--host", "127.0.0.1")
        self.workers.append(proc)
        return proc

    def client(self, n_workers: int):
        from distributed import Client

        client = Client(scheduler_file=str(self.file), timeout=60)
        client.wait_for_workers(n_workers, timeout=90)
        return client

    def close(self) -> None:
        for proc in [*self.workers, self.scheduler]:
            proc.terminate()
        for proc in [*self.workers, self.scheduler]:
            try:
                proc.wait(timeout=5)  # our own throwaway processes: no need to wait long for a clean exit
            except subprocess.TimeoutExpired:
                proc.kill()


def test_a_distributed_run_gives_exactly_the_single_machine_results(dataset, expected, cluster, tmp_path):
    report = run_batch(dataset, tmp_path / "out", scheduler=str(cluster.file), max_voters=SMALL)
    assert report.figures["workers"] >= 2 and report.figures["partitions_failed"] == 0
    pd.testing.assert_frame_equal(_results(tmp_path / "out"), expected)
    pids = {json.loads(p.read_text())["pid"] for p in (tmp_path / "out").glob("kode_kab=*/_part-*.json")}
    assert len(pids) >= 2 and os.getpid() not in pids                # ran in the worker processes


def test_a_distributed_failure_is_retried_then_reported_without_losing_others(dataset, expected, plan, cluster,
                                                                              tmp_path):
    out, marker = tmp_path / "out", tmp_path / "marker"
    marker.mkdir()
    kab, n = _split_kab(plan, -1)
    report = run_batch(dataset, out, scheduler=str(cluster.file), max_voters=SMALL, retries=1,
                       task=functools.partial(fail_for, kab, marker))
    assert {f["kode_kab"] for f in report.figures["failed"]} == {kab}, report.figures["failed"][0]["error"]
    assert len(list(marker.glob("attempt-*"))) == 2 * n                 # 1 + 1 retry, for each of its partitions
    pd.testing.assert_frame_equal(_results(out), _by_key(expected[expected["kode_kel"].str[:4] != kab]))


def test_killing_a_worker_mid_run_still_completes_with_identical_results(dataset, expected, cluster, tmp_path):
    victim = cluster.add_worker()
    client = cluster.client(3)
    try:
        pid_of = client.run(os.getpid)
        addr = next(a for a, pid in pid_of.items() if pid == victim.pid)
        result: dict = {}
        runner = threading.Thread(target=lambda: result.update(report=run_batch(
            dataset, tmp_path / "out", scheduler=str(cluster.file), max_voters=SMALL)))
        runner.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not client.processing().get(addr):
            time.sleep(0.01)
        running = client.processing().get(addr)
        assert running, "the batch never ran a partition on the worker to kill"
        os.kill(victim.pid, signal.SIGKILL)
        runner.join(timeout=120)
    finally:
        client.close()
    assert victim.wait(timeout=10) == -signal.SIGKILL
    report = result["report"]
    assert report.figures["partitions_failed"] == 0 and report.balanced
    pd.testing.assert_frame_equal(_results(tmp_path / "out"), expected)
    _, kab, part, _ = running[0].split("-")                  # key petatps-<kab>-<part>-<run>
    redone = json.loads((tmp_path / "out" / f"kode_kab={kab}" / f"_part-{part}.json").read_text())
    assert redone["pid"] != victim.pid                       # the interrupted partition ran again elsewhere
