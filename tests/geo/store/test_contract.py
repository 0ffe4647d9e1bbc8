"""The storage contract (geo/store/base.py), run identically on both backends.

Every test receives the ``store`` fixture twice: once a GeoPackage file, once a real PostGIS schema.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
from geopandas.testing import assert_geodataframe_equal
from pandas.testing import assert_frame_equal
from shapely.geometry import MultiPolygon, Point, box

from geo import schema


def _kelurahan(codes: list[str], dx: float = 0.0) -> gpd.GeoDataFrame:
    rows = []
    for i, kode in enumerate(codes):
        x0 = 106.80 + 0.01 * i + dx
        rows.append({"kode": kode, "nama": f"Kel {kode[-4:]}", "kode_kec": kode[:6], "kode_kab": kode[:4],
                     "geometry": MultiPolygon([box(x0, -6.20, x0 + 0.01, -6.19)])})
    return schema.conform(gpd.GeoDataFrame(rows, geometry="geometry", crs=4326), "kelurahan")


def _tps(n: int, kode_kel: str = "3171011001") -> gpd.GeoDataFrame:
    frame = pd.DataFrame({
        "kode_tps": [f"{kode_kel}{i:03d}" for i in range(1, n + 1)],
        "kode_kel": kode_kel,
        "no_tps": range(1, n + 1),
        "nama": [f"TPS {i:03d}" for i in range(1, n + 1)],
        "alamat": ["Jl. Kenari II RT 003/RW 05", "Gg. \"Masjid\"\tNo. 1\\2", None, "Jl. Café ñ 😀", ""][:1] * n,
        "dpt": [250 + i for i in range(n)],
        "akses_disabilitas": [True, False, None][:1] * n,
        "precision_m": 30.5,
    })
    gdf = gpd.GeoDataFrame(frame, geometry=[Point(106.8 + i * 1e-4, -6.2) for i in range(n)], crs=4326)
    return schema.conform(gdf, "tps")


def _voters(kode_kel: str, n: int, start: int = 0) -> pd.DataFrame:
    frame = pd.DataFrame({
        "voter_key": [f"{kode_kel}v{i:08d}" for i in range(start, start + n)],
        "kk_key": [f"kk{i // 3:08d}" for i in range(start, start + n)],
        "nama_masked": "S*** R*****",
        "jenis_kelamin": ["L", "P"] * (n // 2) + ["L"] * (n % 2),
        "tahun_lahir": 1980,
        "kode_kel": kode_kel,
        "rw": 5,
        "rt": 3,
        "kode_tps": kode_kel + "001",
    })
    return schema.conform(frame, "voters")


def test_init_twice_is_harmless(store):
    store.init()
    assert store.counts() == {layer: 0 for layer in schema.LAYERS}


def test_empty_read_conforms(store):
    for layer in schema.LAYERS:
        frame = store.read(layer)
        assert list(frame.columns) == schema.LAYERS[layer].all_columns
        assert len(frame) == 0


def test_round_trip_geometry_layer(store):
    kel = _kelurahan(["3171011001", "3171011002", "3172011001"])
    assert store.load("kelurahan", [kel]) == 3
    back = store.read("kelurahan")
    assert_geodataframe_equal(back, kel, check_less_precise=True)
    assert back.crs.to_epsg() == 4326


def test_round_trip_awkward_values(store):
    tps = _tps(5)
    tps["alamat"] = ["Jl. Kenari II RT 003/RW 05", 'Gg. "Masjid"\tNo. 1\\2\nbaris', None, "Jl. Café ñ 😀", ""]
    tps["akses_disabilitas"] = pd.array([True, False, None, True, None], dtype="boolean")
    tps["rw"] = pd.array([5, None, 12, 1, None], dtype="Int16")
    tps.loc[2, "geometry"] = None
    tps = schema.conform(tps, "tps")
    store.load("tps", [tps])
    back = store.read("tps")
    assert_frame_equal(back.drop(columns="geometry"), tps.drop(columns="geometry"))
    assert back.geometry.isna().tolist() == tps.geometry.isna().tolist()
    assert back.geometry.iloc[0].equals_exact(tps.geometry.iloc[0], 1e-9)


def test_load_is_idempotent(store):
    kel = _kelurahan(["3171011001", "3171011002"])
    store.load("kelurahan", [kel])
    store.load("kelurahan", [kel])
    assert store.counts()["kelurahan"] == 2
    assert_geodataframe_equal(store.read("kelurahan"), kel, check_less_precise=True)


def test_load_replaces_by_scope_only(store):
    store.load("voters", [_voters("3171011001", 10), _voters("3171011002", 7)])
    # A new DPT for kelurahan 1001 replaces that kelurahan's voters and leaves 1002's alone.
    store.load("voters", [_voters("3171011001", 4, start=100)])
    back = store.read("voters")
    assert (back.kode_kel == "3171011001").sum() == 4
    assert (back.kode_kel == "3171011002").sum() == 7
    assert set(back.voter_key[back.kode_kel == "3171011001"]) == {f"3171011001v{i:08d}" for i in range(100, 104)}


def test_failed_load_leaves_store_unchanged(store):
    kel = _kelurahan(["3171011001"])
    store.load("kelurahan", [kel])
    version = store.data_version()

    def broken():
        yield _kelurahan(["3171011001", "3171011002"], dx=1.0)
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        store.load("kelurahan", broken())
    assert_geodataframe_equal(store.read("kelurahan"), kel, check_less_precise=True)
    assert store.data_version() == version


def test_streamed_chunks_and_iter_read(store):
    chunks = (_voters("3171011001", 1000, start=i * 1000) for i in range(5))
    assert store.load("voters", chunks) == 5000
    parts = list(store.iter_read("voters", chunksize=1500))
    assert sum(len(p) for p in parts) == 5000
    assert max(len(p) for p in parts) <= 1500
    allv = pd.concat(parts, ignore_index=True)
    assert allv.voter_key.is_unique
    assert list(allv.columns) == schema.LAYERS["voters"].all_columns


def test_read_filters_by_area_code(store):
    store.load("kelurahan", [_kelurahan(["3171011001", "3171021001", "3172011001"])])
    store.load("tps", [_tps(3, "3171011001"), _tps(2, "3172011001")])
    assert store.read("kelurahan", kode="3171").kode.tolist() == ["3171011001", "3171021001"]
    assert store.read("kelurahan", kode="317102").kode.tolist() == ["3171021001"]
    assert store.read("tps", kode="3172").kode_tps.tolist() == ["3172011001001", "3172011001002"]
    assert len(store.read("tps", kode="3173")) == 0


def test_read_is_sorted_by_key(store):
    store.load("kelurahan", [_kelurahan(["3172011001", "3171011002", "3171011001"])])
    assert store.read("kelurahan").kode.tolist() == ["3171011001", "3171011002", "3172011001"]


def test_update_sets_columns_by_key(store):
    store.load("tps", [_tps(3)])
    upd = store.read("tps").iloc[[1]].copy()
    upd["location_source"] = "address_rt"
    upd["precision_m"] = 42.0
    upd["geometry"] = [Point(106.9, -6.1)]
    assert store.update("tps", upd, ["location_source", "precision_m", "geometry"]) == 1
    back = store.read("tps")
    assert back.location_source.tolist() == [None, "address_rt", None] or \
        back.location_source.isna().tolist() == [True, False, True]
    assert back.location_source.iloc[1] == "address_rt"
    assert back.precision_m.iloc[1] == 42.0
    assert back.geometry.iloc[1].equals(Point(106.9, -6.1))
    assert back.geometry.iloc[0].equals(Point(106.8, -6.2))


def test_data_version_changes_on_write(store):
    v0 = store.data_version()
    store.load("kelurahan", [_kelurahan(["3171011001"])])
    v1 = store.data_version()
    assert v1 != v0
    store.update("kelurahan", store.read("kelurahan").assign(nama="Gambir"), ["nama"])
    assert store.data_version() != v1


def test_runs_newest_first(store):
    store.record_run({"kind": "load tps", "source": "a.csv", "finished": "2026-01-01T00:00:00+00:00",
                      "rows_read": 3})
    store.record_run({"kind": "load dpt", "source": "b.csv", "finished": "2026-01-02T00:00:00+00:00",
                      "rows_read": 5})
    runs = store.runs(limit=10)
    assert [r["kind"] for r in runs] == ["load dpt", "load tps"]
    assert runs[0]["rows_read"] == 5
    assert len(store.runs(limit=1)) == 1


def test_redact_runs_strips_row_level_lists_of_that_kind_only(store):
    rejection = {"file": "dpt.csv", "line": 7, "field": "tanggal_lahir", "value": "1980-02-30", "reason": "bad date"}
    dpt = {"kind": "load dpt", "source": "dpt.csv", "finished": "2026-01-02T00:00:00+00:00", "rows_read": 9,
           "rows_rejected": 1, "rejected_by_reason": {"bad date": 1}, "rejections": [rejection],
           "warnings": [dict(rejection, line=8)], "notes": ["chunked"], "rejected_file": "/r/x.rejected.csv"}
    tps = dict(dpt, kind="load tps", source="tps.csv")
    store.record_run(tps)
    store.record_run(dpt)
    store.record_run(dict(dpt, rejections=[], warnings=[], rejected_file=None))   # nothing to strip
    assert store.redact_runs("load dpt") == 1
    kept, redacted, other = store.runs(limit=10)
    assert redacted == dict(dpt, rejections=[], warnings=[], rejected_file=None,
                            notes=["chunked", "row-level rejections and warnings removed by petatps purge"])
    assert kept == dict(dpt, rejections=[], warnings=[], rejected_file=None)
    assert other == tps
    assert store.redact_runs("load dpt") == 0
    assert store.runs(limit=10) == [kept, redacted, other]


def test_purge_removes_all_rows(store):
    store.load("voters", [_voters("3171011001", 10)])
    assert store.purge("voters") == 10
    assert store.counts()["voters"] == 0


def test_unknown_layer_is_an_error(store):
    with pytest.raises((LookupError, ValueError)):
        store.read("nope")
