"""geo.batch_data: the batch dataset (write, export from a store, read by kecamatan) and the TPS halo."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree
from shapely.geometry import MultiPolygon, Point, box

from geo import schema
from geo.batch_data import (
    Dataset,
    PartitionInputs,
    export_store,
    halo,
    read_geoparquet,
    write_dataset,
)
from geo.errors import InputError, NotFoundError
from geo.nearest import TpsPoints, tps_points

KELS = ["3171011001", "3171011002", "3171021001", "3172011001"]


def _kelurahan() -> gpd.GeoDataFrame:
    rows = [{"kode": k, "nama": f"Kel {k[-4:]}", "kode_kec": k[:6], "kode_kab": k[:4],
             "geometry": MultiPolygon([box(106.80 + 0.01 * i, -6.20, 106.81 + 0.01 * i, -6.19)])}
            for i, k in enumerate(KELS)]
    return schema.conform(gpd.GeoDataFrame(rows, crs=4326), "kelurahan")


def _rt() -> gpd.GeoDataFrame:
    rows = [{"kode": f"{k}-001-00{r}", "nama": f"RT 00{r}", "kode_kel": k, "rw": 1, "rt": r,
             "geometry": MultiPolygon([box(106.80 + 0.01 * i + 0.004 * (r - 1), -6.20, 106.804 + 0.01 * i
                                           + 0.004 * (r - 1), -6.19)])}
            for i, k in enumerate(KELS) for r in (1, 2)]
    return schema.conform(gpd.GeoDataFrame(rows, crs=4326), "rt")


def _tps() -> gpd.GeoDataFrame:
    codes = [k + "001" for k in KELS] + [KELS[0] + "002"]
    pts = [Point(106.805 + 0.01 * i, -6.195) for i in range(len(KELS))] + [None]   # the last one not placed
    return schema.conform(gpd.GeoDataFrame({"kode_tps": codes, "kode_kel": [c[:10] for c in codes]},
                                           geometry=pts, crs=4326), "tps")


def _voters(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    kel = np.array(KELS)[rng.integers(0, len(KELS), n)]
    frame = pd.DataFrame({"voter_key": [f"v{i:05d}" for i in range(n)], "kk_key": [f"k{i // 2:05d}" for i in range(n)],
                          "nama_masked": "S*** R*****", "jenis_kelamin": "P", "tahun_lahir": 1990, "kode_kel": kel,
                          "rw": 1, "rt": rng.integers(1, 3, n), "kode_tps": np.char.add(kel, "001")})
    return schema.conform(frame, "voters")


@pytest.fixture
def dataset(tmp_path):
    voters = _voters()
    write_dataset(tmp_path / "ds", voters=[voters.iloc[:25], voters.iloc[25:]], tps=_tps(), kelurahan=_kelurahan(),
                  rt=_rt())
    return Dataset(tmp_path / "ds"), voters


def test_voters_are_written_per_kecamatan_and_read_back_in_order(dataset):
    data, voters = dataset
    folders = sorted(p.name for p in (data.root / "voters").iterdir())
    assert folders == ["kode_kec=317101", "kode_kec=317102", "kode_kec=317201"]
    weights = data.weights()
    assert dict(zip(weights["kode_kec"], weights["voters"])) == voters["kode_kel"].str[:6].value_counts().to_dict()
    back = pd.concat(list(data.voters(["317101"])), ignore_index=True)
    want = voters.loc[voters["kode_kel"].str.startswith("317101"), list(back.columns)].reset_index(drop=True)
    pd.testing.assert_frame_equal(back, want)                      # input order, the dataset's dtypes
    assert "nama_masked" not in back.columns and str(back["rw"].dtype) == "Int16"
    assert data.data_version() is None                              # not exported from a store


def test_areas_are_filtered_by_kecamatan_prefix(dataset):
    data, _ = dataset
    areas = data.areas(["317101"])
    assert areas["kelurahan"]["kode"].tolist() == KELS[:2]
    assert set(areas["rt"]["kode_kel"]) == set(KELS[:2]) and areas["rw"] is None
    assert areas["rt"].crs.to_epsg() == 4326 and len(data.areas()["rt"]) == 8


def test_rows_without_a_kecamatan_are_rejected_and_counted(tmp_path):
    voters = _voters(10)
    voters.loc[[2, 5], "kode_kel"] = pd.NA
    report = write_dataset(tmp_path / "ds", voters=[voters], tps=_tps(), kelurahan=_kelurahan())
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (10, 8, 2) and report.balanced
    assert Dataset(tmp_path / "ds").weights()["voters"].sum() == 8


def test_rewriting_replaces_the_dataset_whole(dataset, tmp_path):
    data, voters = dataset
    (tmp_path / ".ds.tmp-999999999" / "voters").mkdir(parents=True)       # left by a writer that died
    write_dataset(data.root, voters=[voters[voters["kode_kel"] == KELS[3]]], tps=_tps(), kelurahan=_kelurahan())
    assert Dataset(data.root).weights()["kode_kec"].tolist() == ["317201"]
    assert not (data.root / "rt.parquet").exists()
    assert not list(tmp_path.glob(".*tmp*"))


def test_layers_must_be_in_4326_and_a_folder_must_be_a_dataset(tmp_path):
    with pytest.raises(InputError, match="EPSG:4326"):
        write_dataset(tmp_path / "ds", voters=[], tps=_tps().to_crs(32748), kelurahan=_kelurahan())
    with pytest.raises(NotFoundError, match="not a batch dataset"):
        Dataset(tmp_path)
    _kelurahan().to_crs(32748).to_parquet(tmp_path / "metric.parquet")
    with pytest.raises(InputError, match="EPSG:4326"):
        read_geoparquet(tmp_path / "metric.parquet")


def test_a_partition_gets_its_own_referenced_and_nearby_tps(dataset):
    data, _ = dataset
    inputs = PartitionInputs(data, ["317102"])
    far = pd.DataFrame({"x": [np.nan], "y": [np.nan]})
    assert inputs.tps_frame(far)["kode_tps"].tolist() == [KELS[2] + "001"]
    referenced = inputs.tps_frame(far, pa.array([KELS[3] + "001", "9999999999999"]))
    assert referenced["kode_tps"].tolist() == [KELS[2] + "001", KELS[3] + "001"]
    pts = data.tps_points()
    near = pd.DataFrame({"x": [pts.x[2]], "y": [pts.y[2]]})        # at its own TPS: neighbours 1.1 km away
    assert inputs.tps_frame(near)["kode_tps"].tolist() == [KELS[1] + "001", KELS[2] + "001", KELS[3] + "001"]
    whole = PartitionInputs(data).tps_frame(far)
    assert len(whole) == 4 and whole.crs.to_epsg() == 4326          # the unplaced TPS is never there


def _points(xy: np.ndarray) -> TpsPoints:
    codes = [f"3171011001{i:03d}" for i in range(len(xy))]
    gdf = gpd.GeoDataFrame({"kode_tps": codes, "kode_kel": "3171011001"}, geometry=gpd.points_from_xy(*xy.T),
                           crs=32748).to_crs(4326)
    return tps_points(gdf)


def test_the_halo_grows_until_the_nearest_tps_is_inside():
    pts = _points(np.array([[700_000.0, 9_300_000.0], [730_000.0, 9_300_000.0], [760_000.0, 9_300_000.0]]))
    keep = halo(pts, np.array([[pts.x[1] + 28_000, pts.y[1]]]))     # 2 km from the last TPS, 28 km from the middle
    assert keep.tolist() == [False, False, True]
    keep = halo(pts, np.array([[pts.x[1] + 15_000, pts.y[1]]]))     # equidistant: both tied TPS are kept
    assert keep[1:].all()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 60), st.integers(1, 30))
def test_the_halo_always_holds_each_points_nearest_tps(seed, n_tps, n_points):
    rng = np.random.default_rng(seed)
    tps_xy = rng.uniform([690_000, 9_290_000], [740_000, 9_340_000], (n_tps, 2))
    pts = _points(tps_xy)
    xy = rng.uniform([700_000, 9_300_000], [705_000, 9_305_000], (n_points, 2))
    keep = halo(pts, xy)
    d_all = cKDTree(pts.xy).query(xy)[0]
    d_kept = cKDTree(pts.xy[keep]).query(xy)[0]
    np.testing.assert_array_equal(d_kept, d_all)


def test_export_from_a_store_reads_one_kecamatan_at_a_time(store, tmp_path):
    voters = _voters(60, seed=3)
    store.load("kelurahan", [_kelurahan()])
    store.load("rt", [_rt()])
    store.load("tps", [_tps()])
    store.load("voters", [voters])
    report = export_store(store, tmp_path / "ds", chunksize=7)
    assert report.rows_loaded == 60 and not report.warnings
    data = Dataset(tmp_path / "ds")
    back = pd.concat(list(data.voters()), ignore_index=True).sort_values("voter_key", ignore_index=True)
    want = voters[list(back.columns)].sort_values("voter_key", ignore_index=True)
    pd.testing.assert_frame_equal(back, want)
    assert len(data.tps()) == 5 and len(data.areas()["rt"]) == 8
    assert data.data_version() == store.data_version() == report.figures["data_version"]
