"""PostGIS-specific behaviour of geo/store/postgis.py, on a real PostGIS (PETATPS_TEST_DB).

The storage contract itself is checked in test_contract.py; this module covers what only this
backend has: Alembic migrations, the table layout, COPY encoding, transactions around streamed
loads, index rebuilds, connection errors and SQL hygiene.
"""

from __future__ import annotations

import ast
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from pandas.testing import assert_frame_equal
from shapely.geometry import MultiPolygon, Point, box

from geo import schema
from geo.errors import ConfigError, InputError, StoreError
from geo.report import Report
from geo.store import postgis
from geo.store.postgis import PostgisStore

pytestmark = pytest.mark.postgis

AWKWARD = [
    "tab\there", 'double "quotes" and \'single\'', "back\\slash \\N \\. \\x41", "new\nline", "carriage\r\nreturn",
    "", " ", "  padded  ", None, "comma, semicolon; pipe |", "Café ñ Jl. Ščítek 😀 中文", "\\.", "\\N", "NULL",
    '"', '""', "=1+2", "a" * 5000,
]


@pytest.fixture
def pg(pg_url, pg_schema):
    store = PostgisStore(pg_url, schema=pg_schema)
    store.init()
    yield store
    store.close()


@pytest.fixture
def inspector(pg_url):
    engine = sa.create_engine(pg_url)
    yield sa.inspect(engine)
    engine.dispose()


def _voters(kode_kel: str, n: int, start: int = 0) -> pd.DataFrame:
    keys = pd.Series(np.arange(start, start + n)).astype("string").str.zfill(8)
    return schema.conform(pd.DataFrame({
        "voter_key": kode_kel + "v" + keys, "kk_key": "kk" + keys, "nama_masked": "S*** R*****",
        "jenis_kelamin": "L", "tahun_lahir": 1980, "kode_kel": kode_kel, "rw": 5, "rt": 3,
        "alamat": "Jl. Kenari", "kode_tps": kode_kel + "001",
    }), "voters")


def _tps(n: int, kode_kel: str = "3171011001") -> gpd.GeoDataFrame:
    frame = pd.DataFrame({"kode_tps": [f"{kode_kel}{i:03d}" for i in range(1, n + 1)], "kode_kel": kode_kel,
                          "no_tps": range(1, n + 1), "nama": [f"TPS {i:03d}" for i in range(1, n + 1)]})
    points = [Point(106.8 + i * 1e-4, -6.2) for i in range(n)]
    return schema.conform(gpd.GeoDataFrame(frame, geometry=points, crs=4326), "tps")


# -- schema and migrations -----------------------------------------------------------------------
def test_init_twice_is_a_noop(pg, inspector):
    pg.load("voters", [_voters("3171011001", 3)])
    version, tables = pg.data_version(), sorted(inspector.get_table_names(schema=pg.schema))
    pg.init()
    assert pg.data_version() == version
    assert pg.counts()["voters"] == 3
    assert sorted(sa.inspect(inspector.bind).get_table_names(schema=pg.schema)) == tables


def test_migration_version_recorded_in_the_schema(pg, inspector):
    config = Config()
    config.set_main_option("script_location", str(postgis.MIGRATIONS))
    assert pg.revision() == ScriptDirectory.from_config(config).get_current_head() == "0002"
    assert "alembic_version" in inspector.get_table_names(schema=pg.schema)
    assert "alembic_version" not in inspector.get_table_names(schema="public")


def test_revision_is_none_before_init(pg_url, pg_schema):
    with PostgisStore(pg_url, schema=pg_schema) as store:
        assert store.revision() is None
        with pytest.raises(StoreError, match="run init"):
            store.counts()


def test_tables_follow_the_layer_declarations(pg, inspector):
    tables = set(inspector.get_table_names(schema=pg.schema))
    assert tables == {*schema.LAYERS, "meta", "runs", "alembic_version"}
    for name, layer in schema.LAYERS.items():
        columns = {c["name"]: c for c in inspector.get_columns(name, schema=pg.schema)}
        assert list(columns) == layer.all_columns
        indexes = {tuple(ix["column_names"]) for ix in inspector.get_indexes(name, schema=pg.schema)}
        if layer.geometry:
            assert ("geometry",) in indexes
            assert str(columns["geometry"]["type"]) == f"geometry({layer.geometry.upper()},4326)"
        pk = inspector.get_pk_constraint(name, schema=pg.schema)["constrained_columns"]
        assert tuple(pk) == (layer.key if layer.unique_key else ())
        assert {(c,) for c in layer.indexes if (c,) != layer.key} <= indexes
    voter_indexes = {tuple(ix["column_names"]) for ix in inspector.get_indexes("voters", schema=pg.schema)}
    assert voter_indexes == {("voter_key",), ("kode_kel",), ("kode_tps",)}
    gist = [ix for ix in inspector.get_indexes("tps", schema=pg.schema) if ix["column_names"] == ["geometry"]]
    assert gist[0]["dialect_options"]["postgresql_using"] == "gist"


def test_concurrent_init_of_one_schema(pg_url, pg_schema):
    stores = [PostgisStore(pg_url, schema=pg_schema) for _ in range(3)]
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda store: store.init(), stores))
    assert {store.revision() for store in stores} == {"0002"}
    for store in stores:
        store.close()


@pytest.mark.parametrize("name", ["Petatps", "1abc", "a-b", 'x"; DROP SCHEMA public; --', "a" * 64, "ok\n"])
def test_bad_schema_names_are_refused(pg_url, name):
    with pytest.raises(ConfigError):
        PostgisStore(pg_url, schema=name)


# -- loads -----------------------------------------------------------------------------------------
def test_copy_round_trips_awkward_text(pg):
    tps = _tps(len(AWKWARD))
    tps["alamat"] = pd.array(AWKWARD, dtype="string")
    tps["nama"] = pd.array(AWKWARD[::-1], dtype="string")
    tps["precision_m"] = [0.1 + 0.2, 1e-300, np.nan, 12345.678901234567] + [1.5] * (len(AWKWARD) - 4)
    tps["dpt"] = pd.array([2**31 - 1, None, 0, -1] + [300] * (len(AWKWARD) - 4), dtype="Int32")
    pg.load("tps", [tps])
    back = pg.read("tps")
    assert_frame_equal(back.drop(columns="geometry"), tps.drop(columns="geometry"))
    assert back.alamat.isna().tolist() == [v is None for v in AWKWARD]
    assert (back.alamat == "").sum() == 1


@pytest.mark.parametrize("existing", [0, 5], ids=["empty layer", "staged"])
def test_failing_iterator_rolls_back_everything(pg, inspector, existing):
    if existing:
        pg.load("voters", [_voters("3171011001", existing)])
    before, version = pg.read("voters"), pg.data_version()

    def chunks():
        yield _voters("3171011001", 1000, start=100)
        yield _voters("3171011002", 1000)
        raise OSError("DPT file truncated")

    with pytest.raises(OSError, match="truncated"):
        pg.load("voters", chunks())
    assert_frame_equal(pg.read("voters"), before)
    assert pg.data_version() == version
    assert len(inspector.get_indexes("voters", schema=pg.schema)) == 3  # dropped indexes came back


def test_database_error_mid_load_is_a_store_error_and_rolls_back(pg):
    pg.load("tps", [_tps(2)])
    before = pg.read("tps")
    with pytest.raises(StoreError, match=r"load tps in postgis .*duplicate key.*3171011001001"):
        pg.load("tps", [_tps(3), _tps(1)])  # the same kode_tps twice in one load
    assert_frame_equal(pg.read("tps"), before)


def test_polygons_are_promoted_to_multipolygons(pg, inspector):
    kel = gpd.GeoDataFrame({"kode": ["3171011001"], "nama": ["Gambir"]},
                           geometry=[box(106.8, -6.2, 106.81, -6.19)], crs=4326)
    kel = schema.conform(kel, "kelurahan")
    pg.load("kelurahan", [kel])  # into an empty layer (direct COPY)
    pg.load("kelurahan", [kel])  # over existing rows (staged)
    assert kel.geom_type.tolist() == ["Polygon"]  # the caller's frame is left alone
    back = pg.read("kelurahan")
    gist = [ix for ix in inspector.get_indexes("kelurahan", schema=pg.schema) if ix["column_names"] == ["geometry"]]
    assert gist[0]["dialect_options"]["postgresql_using"] == "gist"  # rebuilt after the direct COPY
    assert isinstance(back.geometry.iloc[0], MultiPolygon)
    assert back.geometry.iloc[0].equals(MultiPolygon([box(106.8, -6.2, 106.81, -6.19)]))


def test_bulk_paths_keep_content_and_indexes(pg, inspector, monkeypatch):
    monkeypatch.setattr(postgis, "_REBUILD_MIN_ROWS", 100)
    pg.load("voters", [_voters("3171011001", 300), _voters("3171011002", 200)])  # empty: direct COPY
    pg.load("voters", [_voters("3171011001", 50, start=1000)])  # small: row-by-row delete
    assert pg.counts()["voters"] == 250
    pg.load("voters", [_voters("3171011002", 400, start=2000)])  # outnumbers the kept rows: rebuild
    assert pg.read("voters").kode_kel.value_counts().to_dict() == {"3171011002": 400, "3171011001": 50}
    pg.load("voters", [_voters("3171011001", 120), _voters("3171011002", 10)])  # everything replaced
    assert pg.read("voters", kode="3171011002").voter_key.tolist() == [f"3171011002v{i:08d}" for i in range(10)]
    indexes = {tuple(ix["column_names"]) for ix in inspector.get_indexes("voters", schema=pg.schema)}
    assert indexes == {("voter_key",), ("kode_kel",), ("kode_tps",)}


def test_iter_read_chunk_boundaries(pg):
    pg.load("voters", [_voters("3171011001", 6)])
    assert [len(f) for f in pg.iter_read("voters", chunksize=3)] == [3, 3]
    assert [len(f) for f in pg.iter_read("voters", chunksize=4)] == [4, 2]
    assert [len(f) for f in pg.iter_read("voters", kode="3172")] == [0]


# -- updates, runs, errors -------------------------------------------------------------------------
def test_update_refuses_keys_unknown_columns_and_repeats(pg):
    pg.load("tps", [_tps(2)])
    frame = pg.read("tps")
    for columns in (["kode_tps"], ["nope"], []):
        with pytest.raises(InputError):
            pg.update("tps", frame, columns)
    with pytest.raises(InputError, match="repeats a key"):
        pg.update("tps", pd.concat([frame, frame]), ["nama"])
    with pytest.raises(InputError):
        pg.update("tps", frame[["kode_tps"]], ["nama"])
    assert pg.update("tps", frame.assign(nama="TPS 'X'; --"), ["nama"]) == 2
    assert pg.read("tps").nama.tolist() == ["TPS 'X'; --"] * 2


def test_record_run_keeps_a_full_report(pg):
    report = Report("load dpt", source="dpt.csv", rows_read=3, rows_loaded=3)
    report.figures["seconds"] = np.float64(1.5)
    report.figures["per_kelurahan"] = {3171011001: np.int64(3)}
    pg.record_run(report.finish().to_dict())
    (run,) = pg.runs()
    assert run["kind"] == "load dpt" and run["figures"] == {"seconds": 1.5, "per_kelurahan": {"3171011001": 3}}
    assert run["finished"] == report.finished


def test_unreachable_database_is_a_one_line_store_error():
    store = PostgisStore("postgresql://petatps:s3cret-pw@127.0.0.1:1/nowhere", schema="petatps")
    assert store.describe() == "postgis 127.0.0.1:1/nowhere schema petatps"
    for call in (store.init, store.counts, lambda: store.read("tps")):
        with pytest.raises(StoreError) as info:
            call()
        message = str(info.value)
        assert message.startswith("cannot connect to postgis 127.0.0.1:1/nowhere")
        assert "\n" not in message and "s3cret" not in message


def test_non_postgres_url_is_a_config_error():
    with pytest.raises(ConfigError):
        PostgisStore("sqlite:///x.db")


@pytest.mark.parametrize("kode", ["3171%", "31_1", "3171' OR '1'='1", "", "31710110011"])
def test_hostile_area_codes_are_refused(pg, kode):
    with pytest.raises(InputError):
        pg.read("kelurahan", kode=kode)


def test_sql_is_built_with_bound_parameters_only():
    """No SQL string in postgis.py is an f-string, %-formatted, concatenated or .format()-ed."""
    tree = ast.parse(Path(postgis.__file__).read_text(encoding="utf-8"))
    sql_calls = {"text", "execute", "exec_driver_sql", "copy", "SQL"}
    offending = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            first = node.args[0]
            built = isinstance(first, (ast.JoinedStr, ast.BinOp)) or (
                isinstance(first, ast.Call) and getattr(first.func, "attr", "") == "format"
                and isinstance(first.func.value, ast.Constant))
            if name in sql_calls and built:
                offending.append(f"line {node.lineno}: {ast.unparse(node)[:80]}")
            if name == "SQL" and not isinstance(first, ast.Constant):
                offending.append(f"line {node.lineno}: sql.SQL of a non-literal")
    assert offending == []


# -- real public data ------------------------------------------------------------------------------
@pytest.mark.real_data
def test_real_kelurahan_and_tps_round_trip_exactly(pg, real_data):
    raw = gpd.read_file(real_data / "cahyadsn-wilayah_boundaries" / "dki_kelurahan.geojson")
    kel = schema.conform(raw.rename(columns={"kode_kemendagri": "kode"}), "kelurahan")
    assert pg.load("kelurahan", [kel.iloc[:100], kel.iloc[100:]]) == 267
    back = pg.read("kelurahan")
    expected = kel.sort_values("kode", ignore_index=True)
    assert_frame_equal(back.drop(columns="geometry"), expected.drop(columns="geometry"))
    assert back.geometry.geom_equals_exact(expected.geometry, tolerance=0).all()
    assert pg.read("kelurahan", kode="3101").kode.str[:4].eq("3101").all()

    csv = real_data / "gigit-pemilu-2024-31-dki-jakarta" / "tps_pemilu2024_pilpres_dki.csv"
    tps = schema.conform(pd.read_csv(csv, dtype={"kode_tps": str, "kode_kel": str}).assign(nama="TPS"), "tps")
    assert pg.load("tps", [tps]) == 30_766
    back = pg.read("tps")
    assert_frame_equal(back.drop(columns="geometry"), tps.sort_values("kode_tps", ignore_index=True)
                       .drop(columns="geometry"))
