"""geo.batch_output: atomic files, manifests and resume checks, merged figures."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from shapely.geometry import Point

from geo.batch_output import (
    HIST_BIN_M,
    ColumnStats,
    finished,
    folder,
    manifest_file,
    merge_columns,
    part_file,
    read_results,
    remove_part,
    remove_unplanned,
    sum_figures,
    write_frame,
    write_text,
)


def test_frames_are_written_whole_under_their_name_only(tmp_path):
    frame = pd.DataFrame({"a": pd.array(["x", None], dtype="string"), "d_m": [1.5, np.nan]})
    write_frame(frame, tmp_path / "part-000-0000.parquet")
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "part-000-0000.parquet"), frame)
    geo = gpd.GeoDataFrame({"k": [1]}, geometry=[Point(106.8, -6.2)], crs=4326)
    write_frame(geo, tmp_path / "g.parquet")
    assert gpd.read_parquet(tmp_path / "g.parquet").crs.to_epsg() == 4326     # GeoParquet
    write_text(tmp_path / "m.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["g.parquet", "m.json", "part-000-0000.parquet"]


def test_the_same_frame_gives_the_same_bytes(tmp_path):
    frame = pd.DataFrame({"a": ["x", "y"], "d_m": [1.0, 2.0]})
    write_frame(frame, tmp_path / "one.parquet")
    write_frame(frame, tmp_path / "two.parquet")
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "two.parquet").read_bytes()


def _partition(out, kab: str, part: int, rows: int, kecamatan: list[str], tables=("",)) -> None:
    files = []
    for table in tables:
        where = folder(out, kab, table)
        where.mkdir(parents=True, exist_ok=True)
        write_frame(pd.DataFrame({"v": range(rows)}), part_file(where, part, 0))
        files.append({"name": part_file(where, part, 0).relative_to(out).as_posix(), "rows": rows})
    write_text(manifest_file(out, kab, part), json.dumps({"kecamatan": kecamatan, "files": files}))


def test_a_partition_is_finished_only_with_a_matching_manifest_and_all_its_rows(tmp_path):
    _partition(tmp_path, "3171", 1, 5, ["317101"], tables=("", "rt"))
    path = part_file(folder(tmp_path, "3171", "rt"), 1, 0)
    assert finished(tmp_path, "3171", 1, ["317101"])["kecamatan"] == ["317101"]
    assert finished(tmp_path, "3171", 1, ["317101", "317102"]) is None      # planned differently now
    assert finished(tmp_path, "3171", 2, ["317101"]) is None                # never ran
    pq.write_table(pq.read_table(path).slice(0, 3), path)
    assert finished(tmp_path, "3171", 1, ["317101"]) is None                # a file lost rows
    path.write_bytes(b"PAR1 broken")
    assert finished(tmp_path, "3171", 1, ["317101"]) is None
    manifest_file(tmp_path, "3171", 1).write_text("{not json")
    assert finished(tmp_path, "3171", 1, ["317101"]) is None


def test_leftovers_of_one_partition_or_of_an_old_plan_are_removed(tmp_path):
    here = folder(tmp_path, "3171")
    _partition(tmp_path, "3171", 0, 2, ["317101"], tables=("", "rt"))
    _partition(tmp_path, "3171", 1, 2, ["317102"], tables=("", "rt"))
    (here / ".part-001-0001.parquet.ab12cd34.tmp").write_bytes(b"half")
    (here / "notes.txt").write_text("mine")
    remove_part(tmp_path, "3171", 1)
    assert sorted(p.name for p in here.iterdir()) == ["_part-000.json", "notes.txt", "part-000-0000.parquet"]
    assert [p.name for p in folder(tmp_path, "3171", "rt").iterdir()] == ["part-000-0000.parquet"]
    _partition(tmp_path, "3172", 0, 2, ["317201"], tables=("", "rt"))
    remove_unplanned(tmp_path, {("3171", 0)})
    assert not list(folder(tmp_path, "3172").iterdir()) and not list(folder(tmp_path, "3172", "rt").iterdir())
    assert (here / "part-000-0000.parquet").exists() and (here / "notes.txt").exists()


def test_results_stream_with_their_kabupaten(tmp_path):
    _partition(tmp_path, "3172", 0, 2, ["317201"], tables=("", "gaps"))
    _partition(tmp_path, "3171", 0, 3, ["317101"], tables=("", "gaps"))
    frames = list(read_results(tmp_path))
    assert [f["kode_kab"].iloc[0] for f in frames] == ["3171", "3172"] and sum(map(len, frames)) == 5
    assert sum(map(len, read_results(tmp_path, table="gaps"))) == 5


def test_merged_distances_are_exact_but_for_the_binned_p95():
    rng = np.random.default_rng(1)
    values = rng.gamma(2.0, 150.0, 10_000)
    parts = []
    for chunk in np.array_split(values, 3):
        stats = ColumnStats()
        stats.add(pd.DataFrame({"dist_m": np.append(chunk, np.nan), "n": 1, "name_m": "x"}))
        parts.append(json.loads(json.dumps(stats.as_dict())))          # as stored in the manifests
    merged = merge_columns(parts)
    assert set(merged) == {"dist_m"}
    m = merged["dist_m"]
    assert m["n"] == len(values) and m["mean_m"] == round(values.mean(), 1) and m["max_m"] == round(values.max(), 1)
    assert abs(m["p95_m"] - np.quantile(values, 0.95)) <= HIST_BIN_M / 2
    assert merge_columns([{"d_m": {"n": 0, "sum": 0.0, "max": None, "hist": []}}])["d_m"]["mean_m"] is None


def test_integer_figures_are_summed_and_the_others_left_out():
    a = {"voters": 10, "tps_placed": 4, "by": {"rt": 3, "rw": 1}, "dist_m": {"n": 3, "mean_m": 1.0},
         "flag": True, "ratio": 0.5}
    b = {"voters": 5, "tps_placed": 9, "by": {"rt": 1, "rw": 0}, "dist_m": {"n": 2, "mean_m": 2.0}}
    assert sum_figures([a, b]) == {"voters": 15, "by": {"rt": 4, "rw": 1}}


@pytest.mark.parametrize("values", [[], [np.nan]])
def test_empty_columns_are_counted_as_empty(values):
    stats = ColumnStats()
    stats.add(pd.DataFrame({"d_m": pd.Series(values, dtype="float64")}))
    assert merge_columns([stats.as_dict()]) == {"d_m": {"n": 0, "mean_m": None, "p95_m": None, "max_m": None}}
