"""GeoPackage-specific behaviour of geo/store/gpkg.py (and its DDL in gpkg_schema.py).

The storage contract itself is checked in test_contract.py; this module covers what only this
backend has: a file GDAL/QGIS accept as an OGC GeoPackage 1.3, the R-tree kept in step by the
standard triggers, transactions around streamed loads (incl. the deferred-index path), WAL
readers during a load, file errors and type round trips through SQLite.
"""

from __future__ import annotations

import sqlite3
import time
import tracemalloc

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from geopandas.testing import assert_geodataframe_equal
from pandas.testing import assert_frame_equal
from shapely.geometry import MultiPolygon, Point, Polygon, box

from geo import schema
from geo.errors import (
    CodeError,
    CRSError,
    GeometryError,
    InputError,
    NotFoundError,
    StoreError,
)
from geo.store import gpkg
from geo.store.gpkg import GpkgStore

AWKWARD = [
    "tab\there", 'double "quotes" and \'single\'', "back\\slash \\N \\x41", "new\nline", "carriage\r\nreturn",
    "", " ", "  padded  ", None, "comma, semicolon; pipe |", "Café ñ Jl. Ščítek 😀 中文", "NULL", "nul\x00byte",
    "'; DROP TABLE tps; --", "=1+2", "a" * 5000,
]


@pytest.fixture
def store(tmp_path):
    s = GpkgStore(tmp_path / "petatps.gpkg")
    s.init()
    return s


def _kelurahan(codes: list[str], dx: float = 0.0) -> gpd.GeoDataFrame:
    geoms = [MultiPolygon([box(106.80 + 0.01 * i + dx, -6.20, 106.81 + 0.01 * i + dx, -6.19)])
             for i in range(len(codes))]
    frame = pd.DataFrame({"kode": codes, "nama": [f"Kel {c[-4:]}" for c in codes],
                          "kode_kec": [c[:6] for c in codes], "kode_kab": [c[:4] for c in codes]})
    return schema.conform(gpd.GeoDataFrame(frame, geometry=geoms, crs=4326), "kelurahan")


def _tps(n: int, kode_kel: str = "3171011001") -> gpd.GeoDataFrame:
    frame = pd.DataFrame({"kode_tps": [f"{kode_kel}{i:03d}" for i in range(1, n + 1)], "kode_kel": kode_kel,
                          "no_tps": range(1, n + 1), "nama": [f"TPS {i:03d}" for i in range(1, n + 1)]})
    points = [Point(106.8 + i * 1e-3, -6.2 + i * 1e-3) for i in range(n)]
    return schema.conform(gpd.GeoDataFrame(frame, geometry=points, crs=4326), "tps")


def _voters(kode_kel: str, n: int, start: int = 0) -> pd.DataFrame:
    keys = pd.Series(np.arange(start, start + n)).astype("string").str.zfill(8)
    return schema.conform(pd.DataFrame({
        "voter_key": kode_kel + "v" + keys, "kk_key": "kk" + keys, "nama_masked": "S*** R*****",
        "jenis_kelamin": "P", "tahun_lahir": 1980, "kode_kel": kode_kel, "rw": 5, "rt": 3,
        "alamat": "Jl. Kenari", "kode_tps": kode_kel + "001",
    }), "voters")


def _sql(store: GpkgStore, query: str, params: tuple = ()) -> list[tuple]:
    conn = sqlite3.connect(store.path)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def _dump(store: GpkgStore) -> list[str]:
    """Every table and row of the file as SQL text (sqlite's own dump; no GeoPackage functions)."""
    conn = sqlite3.connect(store.path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def _rtree_matches_table(store: GpkgStore, layer: str) -> None:
    """The R-tree holds exactly the non-empty geometries, with their bounds (float32-rounded)."""
    ids = sorted(r[0] for r in _sql(store, f"SELECT id FROM rtree_{layer}_geom"))
    frame = _sql(store, f"SELECT fid, geom FROM {layer} ORDER BY fid")
    geoms = gpkg.gpkg_binary.decode([g for _, g in frame])
    want = [fid for (fid, _), g in zip(frame, geoms) if g is not None and not g.is_empty]
    assert ids == want
    for fid, minx, maxx, miny, maxy in _sql(store, f"SELECT * FROM rtree_{layer}_geom"):
        b = geoms[[f for f, _ in frame].index(fid)].bounds
        assert np.allclose([minx, miny, maxx, maxy], b, atol=1e-5)


# -- the file is an OGC GeoPackage 1.3 -------------------------------------------------------------
def test_file_header_and_core_tables(store):
    assert _sql(store, "PRAGMA application_id") == [(0x47504B47,)]
    assert _sql(store, "PRAGMA user_version") == [(10300,)]
    assert _sql(store, "PRAGMA integrity_check") == [("ok",)]
    assert store.path.read_bytes()[68:72] == b"GPKG"
    srs = {r[0]: r[1:] for r in _sql(store, "SELECT srs_id, organization, organization_coordsys_id, definition "
                                            "FROM gpkg_spatial_ref_sys")}
    assert srs[-1][:2] == ("NONE", -1) and srs[0][:2] == ("NONE", 0)
    assert srs[4326][:2] == ("EPSG", 4326) and 'AUTHORITY["EPSG","4326"]' in srs[4326][2]


def test_contents_and_geometry_columns_register_every_table(store):
    contents = {r[0]: r[1:] for r in _sql(store, "SELECT table_name, data_type, srs_id FROM gpkg_contents")}
    assert contents == {
        **{name: ("features", 4326) for name in ("kota", "kecamatan", "kelurahan", "rw", "rt", "tps")},
        "voters": ("attributes", None), "assignments": ("attributes", None), "meta": ("attributes", None),
        "runs": ("attributes", None)}
    geometry = _sql(store, "SELECT table_name, column_name, geometry_type_name, srs_id, z, m "
                           "FROM gpkg_geometry_columns ORDER BY table_name")
    assert ("tps", "geom", "POINT", 4326, 0, 0) in geometry
    assert ("rt", "geom", "MULTIPOLYGON", 4326, 0, 0) in geometry and len(geometry) == 6
    rtrees = _sql(store, "SELECT table_name, extension_name FROM gpkg_extensions")
    assert sorted(rtrees) == sorted((t, "gpkg_rtree_index") for t in ("kota", "kecamatan", "kelurahan",
                                                                      "rw", "rt", "tps"))
    for table in contents:   # every table has an INTEGER PRIMARY KEY (required for features and attributes)
        pk = [(r[1], r[2]) for r in _sql(store, f"PRAGMA table_info({table})") if r[5] == 1]
        assert len(pk) == 1 and pk[0][1] == "INTEGER"


def test_column_types_follow_the_schema(store):
    types = {r[1]: r[2] for r in _sql(store, "PRAGMA table_info(tps)")}
    assert types["geom"] == "POINT"
    assert types["kode_tps"] == "TEXT" and types["no_tps"] == "INTEGER" and types["dpt"] == "INTEGER"
    assert types["precision_m"] == "REAL" and types["akses_disabilitas"] == "BOOLEAN"
    indexes = {r[1]: r[2] for r in _sql(store, "PRAGMA index_list(voters)")}
    assert {"ix_voters_voter_key": 0, "ix_voters_kode_kel": 0, "ix_voters_kode_tps": 0}.items() <= indexes.items()
    assert ("ux_tps_kode_tps", 1) in {(r[1], r[2]) for r in _sql(store, "PRAGMA index_list(tps)")}


def test_gdal_reads_the_layers(store):
    store.load("kelurahan", [_kelurahan(["3171011001", "3171011002"])])
    store.load("tps", [_tps(3)])
    store.load("voters", [_voters("3171011001", 4)])
    layers = dict(pyogrio.list_layers(store.path))
    assert layers["kelurahan"] == "MultiPolygon" and layers["tps"] == "Point" and layers["voters"] is None
    kel = pyogrio.read_dataframe(store.path, layer="kelurahan")
    assert kel.crs.to_epsg() == 4326 and kel.geom_type.unique().tolist() == ["MultiPolygon"]
    assert kel.kode.tolist() == ["3171011001", "3171011002"]
    assert kel.geometry.iloc[0].equals(_kelurahan(["3171011001"]).geometry.iloc[0])
    tps = pyogrio.read_dataframe(store.path, layer="tps")
    assert tps.crs.to_epsg() == 4326 and tps.geom_type.unique().tolist() == ["Point"] and len(tps) == 3
    assert pyogrio.read_dataframe(store.path, layer="voters").voter_key.tolist() == \
        _voters("3171011001", 4).voter_key.tolist()


def test_gdal_uses_the_rtree_and_extent(store):
    store.load("kelurahan", [_kelurahan(["3171011001", "3171011002", "3171011003"])])
    info = pyogrio.read_info(store.path, layer="kelurahan")
    assert info["capabilities"]["fast_spatial_filter"] and info["features"] == 3
    assert np.allclose(info["total_bounds"], (106.80, -6.20, 106.83, -6.19), atol=1e-5)
    hit = pyogrio.read_dataframe(store.path, layer="kelurahan", bbox=(106.812, -6.195, 106.813, -6.194))
    assert hit.kode.tolist() == ["3171011002"]
    extent = _sql(store, "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name='kelurahan'")
    assert np.allclose(extent[0], (106.80, -6.20, 106.83, -6.19), atol=1e-5)


def test_rtree_follows_loads_updates_and_purge(store):
    trigger_sql = "SELECT name, sql FROM sqlite_master WHERE type='trigger' AND tbl_name='tps'"
    triggers = sorted(_sql(store, trigger_sql))
    assert len(triggers) == 6
    store.load("tps", [_tps(5)])
    store.load("tps", [_tps(3)])                       # replaces TPS 1-3 by scope
    _rtree_matches_table(store, "tps")
    # loads index rows themselves with the insert trigger suspended; it is back afterwards
    assert sorted(_sql(store, trigger_sql)) == triggers
    upd = store.read("tps").iloc[[0, 1]].copy()
    upd["geometry"] = [Point(107.0, -6.0), None]
    store.update("tps", upd, ["geometry"])
    _rtree_matches_table(store, "tps")
    assert len(_sql(store, "SELECT * FROM rtree_tps_geom")) == 4
    store.purge("tps")
    assert _sql(store, "SELECT count(*) FROM rtree_tps_geom") == [(0,)]
    assert _sql(store, "SELECT min_x FROM gpkg_contents WHERE table_name='tps'") == [(None,)]


@pytest.mark.parametrize("per_statement", [1, 3, 500])
def test_rows_are_inserted_in_order_many_per_statement(store, monkeypatch, per_statement):
    monkeypatch.setattr(gpkg, "ROWS_PER_INSERT", per_statement)
    tps = _tps(10)
    store.load("tps", [tps.iloc[:7], tps.iloc[7:]])          # full statements, then a shorter one
    assert_geodataframe_equal(store.read("tps"), tps)
    assert [r[0] for r in _sql(store, "SELECT kode_tps FROM tps ORDER BY fid")] == tps.kode_tps.tolist()
    _rtree_matches_table(store, "tps")
    voters = _voters("3171011001", 1001)
    store.load("voters", [voters])
    assert_frame_equal(store.read("voters"), voters)


def test_rows_written_by_gdal_are_read_and_indexed(store):
    """QGIS/GDAL editing the file: GDAL's own R-tree triggers fire, our reads and loads carry on."""
    store.load("tps", [_tps(2)])
    pyogrio.write_dataframe(_tps(1, "3171011009").rename_geometry("geom"), store.path, layer="tps", append=True)
    assert store.read("tps").kode_tps.tolist() == ["3171011001001", "3171011001002", "3171011009001"]
    _rtree_matches_table(store, "tps")
    store.load("tps", [_tps(2, "3171011009")])
    assert store.counts()["tps"] == 4
    _rtree_matches_table(store, "tps")


def test_init_twice_changes_nothing(store):
    store.load("tps", [_tps(2)])
    before, version = _dump(store), store.data_version()
    store.init()
    assert _dump(store) == before and store.data_version() == version


def test_describe_and_parent_folder_created(tmp_path):
    s = GpkgStore(tmp_path / "a" / "b" / "x.gpkg")
    assert (tmp_path / "a" / "b").is_dir() and not s.path.exists()
    assert s.describe() == f"geopackage {tmp_path / 'a' / 'b' / 'x.gpkg'}"


# -- transactions ------------------------------------------------------------------------------------
def test_failing_iterator_leaves_the_file_unchanged(store):
    store.load("tps", [_tps(3)])
    store.load("voters", [_voters("3171011001", 5)])
    before, version = _dump(store), store.data_version()

    def broken():
        yield _tps(5)                                   # deletes and replaces TPS 1-3 ...
        yield _tps(2, "3171011002")
        raise OSError("file vanished mid-read")

    with pytest.raises(OSError, match="vanished"):
        store.load("tps", broken())
    assert _dump(store) == before and store.data_version() == version


def test_failing_iterator_after_index_deferral_restores_indexes(store, monkeypatch):
    monkeypatch.setattr(gpkg, "DEFER_MIN_ROWS", 10)
    store.load("voters", [_voters("3171011001", 30)])
    before = _dump(store)

    def broken():
        yield _voters("3171011001", 40, start=100)     # large enough to drop the secondary indexes
        raise ValueError("bad row")

    with pytest.raises(ValueError):
        store.load("voters", broken())
    assert _dump(store) == before


def test_deferred_indexes_are_rebuilt(store, monkeypatch):
    monkeypatch.setattr(gpkg, "DEFER_MIN_ROWS", 10)
    indexes = sorted(_sql(store, "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='voters'"))
    assert store.load("voters", (_voters(k, 20) for k in ("3171011001", "3171011002", "3171011001"))) == 60
    assert sorted(_sql(store, "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name='voters'")) \
        == indexes
    assert _sql(store, "PRAGMA integrity_check") == [("ok",)]
    # a kelurahan repeated in a later chunk of the same load is not deleted by it
    assert store.counts()["voters"] == 60


def test_scope_repeated_across_chunks_replaces_old_rows_once(store):
    store.load("voters", [_voters("3171011001", 10), _voters("3171011002", 2)])
    store.load("voters", [_voters("3171011001", 4, start=100), _voters("3171011001", 3, start=200)])
    back = store.read("voters")
    assert back.voter_key[back.kode_kel == "3171011001"].str[-3:].tolist() == \
        ["100", "101", "102", "103", "200", "201", "202"]
    assert (back.kode_kel == "3171011002").sum() == 2


def test_duplicate_key_is_a_store_error_and_rolls_back(store):
    store.load("tps", [_tps(2)])
    before = _dump(store)
    with pytest.raises(StoreError, match=r"tps\.kode_tps"):
        store.load("tps", [_tps(3, "3171011002"), _tps(1, "3171011002")])
    assert _dump(store) == before


def test_readers_see_the_old_data_during_a_load(store):
    store.load("kelurahan", [_kelurahan(["3171011001"])])
    seen = []

    def chunks():
        yield _kelurahan(["3171011001", "3171011002"], dx=1.0)
        seen.append(store.read("kelurahan"))          # another connection, mid-transaction
        yield _kelurahan(["3171011003"])

    store.load("kelurahan", chunks())
    assert_geodataframe_equal(seen[0], _kelurahan(["3171011001"]), check_less_precise=True)
    assert store.read("kelurahan").kode.tolist() == ["3171011001", "3171011002", "3171011003"]


def test_data_version_counts_commits(store):
    v0 = store.data_version()
    store.load("tps", [_tps(1)])
    store.purge("tps")
    v2 = store.data_version()
    assert int(v2.split(".")[0]) == int(v0.split(".")[0]) + 2
    store.record_run({"kind": "x"})
    assert store.data_version() == v2


# -- round trips -----------------------------------------------------------------------------------
def test_awkward_text_round_trips(store):
    n = len(AWKWARD)
    tps = _tps(n)
    tps["alamat"] = pd.array(AWKWARD, dtype="string")
    tps["nama"] = pd.array(AWKWARD[::-1], dtype="string")
    tps = schema.conform(tps, "tps")
    store.load("tps", [tps])
    back = store.read("tps")
    assert back.alamat.tolist() == tps.alamat.tolist() and back.nama.tolist() == tps.nama.tolist()
    assert back.alamat.isna().sum() == 1 and (back.alamat == "").sum() == 1


def test_int_boolean_float_and_na_round_trip(store):
    tps = _tps(4)
    tps["rw"] = pd.array([-32768, None, 0, 32767], dtype="Int16")
    tps["dpt"] = pd.array([2_147_483_647, 0, None, -1], dtype="Int32")
    tps["akses_disabilitas"] = pd.array([True, False, None, None], dtype="boolean")
    tps["precision_m"] = [0.1, np.nan, 1e-300, 12345.678]
    tps["flags"] = pd.array([None, None, None, None], dtype="string")
    tps = schema.conform(tps, "tps")
    store.load("tps", [tps])
    back = store.read("tps")
    assert_frame_equal(back.drop(columns="geometry"), tps.drop(columns="geometry"))
    voters = _voters("3171011001", 3)
    voters["tahun_lahir"] = pd.array([None, 1930, 2007], dtype="Int16")
    voters["rt"] = pd.array([None, None, None], dtype="Int16")
    store.load("voters", [voters])
    assert_frame_equal(store.read("voters"), voters)


def test_geometry_round_trip_is_exact(store):
    holes = MultiPolygon([Polygon([(106.8, -6.2), (106.9, -6.2), (106.9, -6.1), (106.8, -6.1)],
                                  [[(106.82, -6.18), (106.83, -6.18), (106.83, -6.17)]]),
                          box(106.95, -6.25, 106.96, -6.24)])
    kel = _kelurahan(["3171011001", "3171011002", "3171011003"])
    kel.loc[1, "geometry"] = holes
    kel.loc[2, "geometry"] = MultiPolygon()
    store.load("kelurahan", [kel])
    back = store.read("kelurahan")
    assert back.geometry.iloc[1].equals_exact(holes, 0) and back.geometry.iloc[2].is_empty
    assert_geodataframe_equal(back, kel)
    _rtree_matches_table(store, "kelurahan")


def test_polygons_are_stored_as_multipolygons(store):
    kel = _kelurahan(["3171011001"])
    kel["geometry"] = [box(106.8, -6.2, 106.81, -6.19)]
    store.load("kelurahan", [kel])
    back = store.read("kelurahan").geometry.iloc[0]
    assert back.geom_type == "MultiPolygon" and back.equals(box(106.8, -6.2, 106.81, -6.19))


def test_wrong_geometry_type_or_crs_is_refused(store):
    kel = _kelurahan(["3171011001"])
    kel["geometry"] = [Point(106.8, -6.2)]
    with pytest.raises(GeometryError, match="MultiPolygon"):
        store.load("kelurahan", [kel])
    with pytest.raises(CRSError, match="4326"):
        store.load("tps", [_tps(2).to_crs(32748)])
    assert store.counts()["kelurahan"] == 0 and store.counts()["tps"] == 0


# -- reading and updating -------------------------------------------------------------------------
def test_kode_filter_forms(store):
    store.load("kelurahan", [_kelurahan(["3171011001", "3171019001", "3172011001"])])
    assert store.read("kelurahan", kode="31.71.01").kode.tolist() == ["3171011001", "3171019001"]
    assert store.read("kelurahan", kode="3171019").kode.tolist() == ["3171019001"]
    for bad in ("", "31x", "3171%", "31' OR 1=1 --"):
        with pytest.raises(CodeError):
            store.read("kelurahan", kode=bad)


def test_iter_read_streams_a_filtered_layer_in_order(store):
    store.load("voters", [_voters("3171011002", 7), _voters("3171011001", 5, start=50)])
    parts = list(store.iter_read("voters", kode="3171011001", chunksize=2))
    assert [len(p) for p in parts] == [2, 2, 1]
    assert pd.concat(parts).voter_key.tolist() == _voters("3171011001", 5, start=50).voter_key.tolist()
    assert list(store.iter_read("voters", kode="3172")) == []


def test_update_reports_matched_rows_and_refuses_bad_columns(store):
    store.load("tps", [_tps(3)])
    upd = pd.DataFrame({"kode_tps": ["3171011001002", "3171011001999"], "flags": ["moved", "x"]})
    assert store.update("tps", upd, ["flags"]) == 1
    assert store.read("tps")["flags"].tolist()[1] == "moved"
    with pytest.raises(InputError, match="kode_tps"):
        store.update("tps", upd, ["kode_tps"])
    with pytest.raises(InputError, match="nosuch"):
        store.update("tps", upd, ["nosuch"])
    with pytest.raises(InputError, match="geometry"):
        store.update("tps", upd, ["geometry"])
    with pytest.raises(NotFoundError):
        store.update("nope", upd, ["flags"])


def test_runs_keep_numpy_values_and_order(store):
    store.record_run({"kind": "load dpt", "figures": {"n": np.int64(5), "share": np.float32(0.5)}})
    store.record_run({"kind": "assign", "source": "store"})
    runs = store.runs()
    assert [r["kind"] for r in runs] == ["assign", "load dpt"] and runs[1]["figures"] == {"n": 5, "share": 0.5}
    assert _sql(store, "SELECT kind, source FROM runs ORDER BY id") == [("load dpt", None), ("assign", "store")]


# -- errors ----------------------------------------------------------------------------------------
def test_not_a_geopackage_is_a_store_error(tmp_path):
    text = tmp_path / "notes.gpkg"
    text.write_text("kode,nama\n3171011001,Gambir\n" * 200)
    with pytest.raises(StoreError, match="notes.gpkg"):
        GpkgStore(text).init()
    with pytest.raises(StoreError, match="notes.gpkg"):
        GpkgStore(text).read("tps")
    plain = tmp_path / "plain.sqlite"
    conn = sqlite3.connect(plain)
    conn.execute("CREATE TABLE t (x)")
    conn.close()
    with pytest.raises(StoreError, match="not a GeoPackage"):
        GpkgStore(plain).init()
    assert _sql(GpkgStore(plain), "SELECT name FROM sqlite_master") == [("t",)]


def test_missing_file_or_unwritable_place_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        GpkgStore(tmp_path / "none.gpkg").counts()
    assert not (tmp_path / "none.gpkg").exists()
    (tmp_path / "dir.gpkg").mkdir()
    with pytest.raises(StoreError, match="dir.gpkg"):
        GpkgStore(tmp_path / "dir.gpkg").init()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError):
        GpkgStore(blocker / "sub" / "x.gpkg")


def test_uninitialised_geopackage_says_run_init(tmp_path):
    path = tmp_path / "empty.gpkg"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1196444487")
    conn.close()
    with pytest.raises(StoreError, match="run init"):
        GpkgStore(path).read("tps")


# -- real data and scale ---------------------------------------------------------------------------
def test_real_kelurahan_round_trip_through_gdal(store, real_data):
    src = gpd.read_file(real_data / "cahyadsn-wilayah_boundaries" / "dki_kelurahan.geojson")
    kel = schema.conform(src.rename(columns={"kode_kemendagri": "kode"}), "kelurahan")
    assert store.load("kelurahan", [kel.iloc[:100], kel.iloc[100:]]) == 267
    mine = store.read("kelurahan")
    assert_geodataframe_equal(mine, kel.sort_values("kode", ignore_index=True))
    gdal = pyogrio.read_dataframe(store.path, layer="kelurahan").sort_values("kode", ignore_index=True)
    assert gdal.geometry.geom_equals_exact(mine.geometry, 0).all()
    assert len(store.read("kelurahan", kode="3171")) == (kel.kode.str[:4] == "3171").sum()


def _random_voter_chunks(n_chunks: int, size: int, timer: list[float]):
    """Voter chunks with hashed-looking keys (random B-tree order), ten kelurahan; ``timer[0]``
    accumulates the seconds spent generating them."""
    base = _voters("3171011001", size)
    rng = np.random.default_rng(0)
    for i in range(n_chunks):
        t = time.perf_counter()
        c = base.copy()
        c["voter_key"] = pd.array([f"{x:032x}" for x in rng.integers(0, 2**62, size)], dtype="string")
        c["kode_kel"] = pd.array([f"317101100{i % 10}"] * size, dtype="string")
        timer[0] += time.perf_counter() - t
        yield c


def test_load_memory_does_not_grow_with_rows(store):
    peaks = []
    for n_chunks in (2, 6):
        tracemalloc.start()
        store.load("voters", _random_voter_chunks(n_chunks, 5_000, [0.0]))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert store.counts()["voters"] == 30_000
    assert peaks[1] < 1.3 * peaks[0], f"python peaks {[p // 2**20 for p in peaks]} MiB"


@pytest.mark.slow
def test_large_load_and_reload_keep_integrity(store):
    """A 500,000-row DPT through the index-rebuild path, fresh and reloaded (the rate is measured by
    scripts/bench/load.py, not asserted here)."""
    for _ in range(2):
        timer = [0.0]
        assert store.load("voters", _random_voter_chunks(5, 100_000, timer)) == 500_000
    assert store.counts()["voters"] == 500_000
    assert _sql(store, "PRAGMA integrity_check") == [("ok",)]
