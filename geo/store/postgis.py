"""The PostGIS store: every SQL statement of this backend lives in this module.

Tables are built from :data:`geo.schema.LAYERS` (plus ``meta`` and ``runs``) by the Alembic
migrations in ``geo/store/migrations``; ``init()`` runs them with the version table inside the
target schema. Statements are SQLAlchemy/GeoAlchemy2 expressions with bound parameters; the few
statements SQLAlchemy cannot express (``COPY``, ``LOCK``, ``TRUNCATE``, the tile queries) are
composed with :mod:`psycopg.sql`, from literal SQL and quoted identifiers only.

Bulk writes use ``COPY ... (FORMAT csv)`` of text produced by pyarrow's CSV writer, which quotes
every non-null value and leaves nulls as bare empty fields, so ``NULL`` and ``''`` stay distinct and
tabs, quotes, backslashes and newlines need no escaping of ours. Geometries travel as hex EWKB
(SRID 4326) and come back through ``ST_AsBinary``.

Tiles (:meth:`PostgisStore.tile`) select exactly the features :mod:`geo.tiles` selects from the same
rows (positions computed with its formulas, so tile edges fall identically; only a point within a
rounding error of a buffer edge could land differently if the libm of numpy and of PostgreSQL
disagreed in the last bit): one statement per tile and format, ``ST_AsMVT`` or ``ST_AsGeoJSON``
assembled into a FeatureCollection, read on a pool of its own in autocommit with binary results
(one round trip per tile: no BEGIN/COMMIT, no ping, no hex-encoded bytea; psycopg prepares the
statement from its fifth run on a connection). MVT points
go straight to tile pixels as geo.tiles puts them (bit-identical geometry, no ST_Transform per
point); polygons go through ``ST_AsMVTGeom(ST_Transform(geometry, 3857), ST_TileEnvelope(z, x, y),
4096, 64)``.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import sqlalchemy as sa
from geoalchemy2 import Geometry
from psycopg import sql
from sqlalchemy.dialects.postgresql import JSONB

from geo.crs import STORAGE_EPSG
from geo.errors import ConfigError, InputError, NotFoundError, StoreError
from geo.schema import LAYERS, Layer, conform
from geo.store import postgis_rows as pgrows
from geo.store.base import Store, redacted_report
from geo.store.postgis_rows import csv_bytes as _csv
from geo.tiles import MAX_LAT, TileOptions, TileSelection

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
# A DPT may list one person twice (a finding for the voter report, not a load failure): no unique key.
_NO_PRIMARY_KEY = frozenset(name for name, spec in LAYERS.items() if not spec.unique_key)
_SQL_TYPES = {
    "string": lambda: sa.Text(collation="C"),  # byte order: sorting by code is locale-independent
    "Int16": sa.SmallInteger,
    "Int32": sa.Integer,
    "float64": sa.Double,
    "boolean": sa.Boolean,
}
_REBUILD_MIN_ROWS = 50_000  # below this, maintaining indexes row by row costs under a second
_INIT_LOCK = 0x7065_7461  # advisory lock serialising init() of concurrent processes ("peta")
_XACT_ID = sa.cast(sa.func.pg_current_xact_id(), sa.Text)  # unique per committed write in the cluster


# -- table declarations (used by the migrations and at run time) -------------------------------
def layer_table(layer: str, metadata: sa.MetaData, *, staging: bool = False) -> sa.Table:
    """The table of ``layer`` in ``metadata``'s schema, or a temporary staging twin.

    Staging tables drop at commit and carry no keys or indexes.
    """
    spec = _spec(layer)
    with_pk = not staging and layer not in _NO_PRIMARY_KEY
    columns = [sa.Column(name, _SQL_TYPES[dtype](), primary_key=with_pk and name in spec.key)
               for name, dtype in spec.columns.items()]
    if spec.geometry:
        geometry = Geometry(spec.geometry.upper(), srid=STORAGE_EPSG, spatial_index=not staging)
        columns.append(sa.Column("geometry", geometry))
    if staging:
        return sa.Table(f"stage_{layer}", metadata, *columns, schema=None, prefixes=["TEMPORARY"],
                        postgresql_on_commit="DROP")
    table = sa.Table(layer, metadata, *columns)
    primary = spec.key if with_pk else ()
    for name in dict.fromkeys([*spec.key, spec.scope, *spec.indexes]):  # btree; GiST comes with Geometry
        if (name,) != primary:
            sa.Index(f"ix_{layer}_{name}", table.c[name])
    return table


def meta_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    """The ``meta`` (key/value, holds ``data_version``) and ``runs`` (import/analysis reports) tables."""
    meta = sa.Table("meta", metadata, sa.Column("key", sa.Text, primary_key=True),
                    sa.Column("value", sa.Text, nullable=False))
    runs = sa.Table("runs", metadata, sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
                    sa.Column("kind", sa.Text), sa.Column("source", sa.Text),
                    sa.Column("finished", sa.DateTime(timezone=True)),
                    sa.Column("report", JSONB, nullable=False))
    return meta, runs


def create_tables(conn: sa.Connection, schema_name: str, layers: Iterable[str], *, with_meta: bool) -> None:
    """Create the tables of ``layers`` (and ``meta``/``runs``); called by the migrations."""
    metadata, tables = _migration_tables(schema_name, layers, with_meta)
    metadata.create_all(conn, tables=tables)
    if with_meta:
        conn.execute(sa.insert(metadata.tables[f"{schema_name}.meta"]).values(key="data_version", value=_XACT_ID))


def drop_tables(conn: sa.Connection, schema_name: str, layers: Iterable[str], *, with_meta: bool) -> None:
    """Drop the tables created by :func:`create_tables` (migration downgrades)."""
    metadata, tables = _migration_tables(schema_name, layers, with_meta)
    metadata.drop_all(conn, tables=tables)


def _migration_tables(schema_name: str, layers: Iterable[str], with_meta: bool) -> tuple[sa.MetaData, list]:
    metadata = sa.MetaData(schema=check_identifier(schema_name))
    tables = [layer_table(layer, metadata) for layer in layers]
    return metadata, tables + list(meta_tables(metadata) if with_meta else ())


def check_identifier(name: str) -> str:
    """Return ``name`` if it is a plain lower-case SQL identifier, else raise :class:`ConfigError`."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name) or len(name) > 63:
        raise ConfigError(f"PostGIS schema name must match {_IDENTIFIER.pattern} (max 63 chars), got {name!r}")
    return name


class PostgisStore(Store):
    """A :class:`geo.store.base.Store` in one schema of a PostGIS database.

    Parameters
    ----------
    url : str
        ``postgresql://user[:password]@host[:port]/db`` (the psycopg 3 driver is always used).
    schema : str
        Schema holding every table; created by :meth:`init` if missing.
    """

    kind = "postgis"

    def __init__(self, url: str, schema: str = "petatps"):
        self.schema = check_identifier(schema)
        self._url = _psycopg_url(url)
        self._engine = sa.create_engine(
            self._url, connect_args={"connect_timeout": 10, "application_name": "petatps"},
            json_serializer=pgrows.json_text, pool_pre_ping=True)
        self._meta = sa.MetaData(schema=self.schema)
        self._tables = {layer: layer_table(layer, self._meta) for layer in LAYERS}
        self._meta_table, self._runs = meta_tables(self._meta)
        # Tile reads take their own pool: autocommit, no reset and no ping per checkout, so a tile is one
        # round trip (a connection the server dropped is retried once, see _read_tile).
        self._tile_engine = sa.create_engine(
            self._url, connect_args={"connect_timeout": 10, "application_name": "petatps tiles"},
            isolation_level="AUTOCOMMIT", pool_reset_on_return=None, pool_pre_ping=False)
        self._tile_sql: dict[tuple[str, str, str], bytes] = {}  # rendered once per layer/kind/format

    # -- lifecycle ---------------------------------------------------------------------------
    def init(self) -> None:
        """Create the postgis extension, the schema and every table (Alembic ``upgrade head``)."""
        from alembic import command
        from alembic.config import Config

        with self._transaction("init") as conn:
            conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_INIT_LOCK)))
            installed = conn.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = :name"),
                                     {"name": "postgis"}).first()
            if not installed:
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public"))
            conn.execute(sa.schema.CreateSchema(self.schema, if_not_exists=True))
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.set_main_option("path_separator", "os")
            config.attributes.update(connection=conn, schema=self.schema)
            command.upgrade(config, "head")

    def revision(self) -> str | None:
        """The Alembic revision the schema is at (``None`` before :meth:`init`)."""
        from alembic.migration import MigrationContext

        with self._transaction("read revision") as conn:
            context = MigrationContext.configure(conn, opts={"version_table_schema": self.schema})
            return context.get_current_revision()

    def describe(self) -> str:
        url = self._engine.url
        return f"postgis {url.host or 'localhost'}:{url.port or 5432}/{url.database} schema {self.schema}"

    def close(self) -> None:
        self._engine.dispose()
        self._tile_engine.dispose()

    # -- writes ------------------------------------------------------------------------------
    def load(self, layer: str, chunks: Iterable[pd.DataFrame]) -> int:
        """Atomically replace the rows whose scope value occurs in ``chunks``.

        Parameters
        ----------
        layer : str
            A :data:`geo.schema.LAYERS` name.
        chunks : iterable of DataFrame
            Frames conforming to the layer (geometry in EPSG:4326), consumed once.

        Returns
        -------
        int
            Rows inserted.

        Notes
        -----
        Chunks are streamed by COPY (one chunk in memory at a time) into a temporary staging table,
        then the stored rows of the staged scopes are replaced; into an empty layer they are copied
        directly. Any exception, also from the iterator, rolls everything back. Writers of the layer
        queue behind the load. Secondary indexes are dropped and rebuilt when the incoming rows
        outnumber the kept rows (several times faster than row-by-row upkeep); readers of the layer
        then wait for the commit.
        """
        table, spec = self._table(layer), _spec(layer)
        started = time.perf_counter()
        frames = (conform(chunk, layer) for chunk in chunks)
        with self._transaction(f"load {layer}") as conn:
            _execute(conn, sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(_identifier(table)))
            if conn.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is None:
                with _indexes_dropped(conn, table, True):
                    rows = _copy_frames(conn, table, frames, layer)
            else:
                stage = layer_table(layer, sa.MetaData(), staging=True)
                stage.create(conn)
                rows = _copy_frames(conn, stage, frames, layer)
                with _indexes_dropped(conn, table, _delete_scope(conn, table, stage, spec.scope, rows)):
                    conn.execute(sa.insert(table).from_select(spec.all_columns, sa.select(stage)))
            self._bump(conn)
        log.info("load %s: %d rows in %.2f s", layer, rows, time.perf_counter() - started)
        return rows

    def update(self, layer: str, frame: pd.DataFrame, columns: list[str]) -> int:
        """Set ``columns`` on the stored rows matching ``frame`` by the layer key; return rows updated.

        ``frame`` needs the key and ``columns``; a ``geometry`` among them must be in EPSG:4326.
        """
        table, spec = self._table(layer), _spec(layer)
        wrong = [c for c in columns if c not in spec.all_columns or c in spec.key]
        missing = [c for c in [*spec.key, *columns] if c not in frame]
        if wrong or missing or not columns:
            raise InputError(f"update {layer}: columns must be non-key layer columns present in the frame "
                             f"with the key {list(spec.key)}", value=wrong or missing or columns)
        if frame.duplicated(list(spec.key)).any():
            raise InputError(f"update {layer}: the frame repeats a key {list(spec.key)}; give each row once")
        part = conform(frame if "geometry" in columns else pd.DataFrame(frame.drop(columns="geometry",
                                                                                   errors="ignore")), layer)
        with self._transaction(f"update {layer}") as conn:
            stage = layer_table(layer, sa.MetaData(), staging=True)
            stage.create(conn)
            _copy_frames(conn, stage, [part], layer)
            match = sa.and_(*[table.c[k] == stage.c[k] for k in spec.key])
            count = conn.execute(sa.update(table).where(match).values({c: stage.c[c] for c in columns})).rowcount
            self._bump(conn)
        return count

    def purge(self, layer: str) -> int:
        """Delete every row of ``layer``; return how many there were."""
        table = self._table(layer)
        with self._transaction(f"purge {layer}") as conn:
            count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            _execute(conn, sql.SQL("TRUNCATE {}").format(_identifier(table)))
            self._bump(conn)
        return count

    def record_run(self, report: dict[str, Any]) -> None:
        """Keep an import/analysis report (``Report.to_dict()``)."""
        values = {"kind": report.get("kind"), "source": report.get("source"),
                  "finished": pgrows.timestamp(report.get("finished")), "report": report}
        with self._transaction("record run") as conn:
            conn.execute(sa.insert(self._runs).values(values))

    def redact_runs(self, kind: str) -> int:
        """Strip the row-level lists of the recorded runs of ``kind`` (see :func:`redacted_report`)."""
        runs = self._runs
        select = sa.select(runs.c.id, runs.c.report).where(runs.c.kind == kind).order_by(runs.c.id).with_for_update()
        update = sa.update(runs).where(runs.c.id == sa.bindparam("run_id")).values(report=sa.bindparam("doc"))
        with self._transaction(f"redact {kind} runs") as conn:
            docs = [{"run_id": i, "doc": d} for i, r in conn.execute(select).all() if (d := redacted_report(r))]
            if docs:
                conn.execute(update, docs)
        return len(docs)

    # -- reads -------------------------------------------------------------------------------
    def read(self, layer: str, kode: str | None = None) -> pd.DataFrame:
        """All rows of ``layer`` sorted by key, optionally those under area code prefix ``kode``."""
        frames = list(self.iter_read(layer, kode, chunksize=1_000_000))
        return frames[0] if len(frames) == 1 else conform(pd.concat(frames, ignore_index=True), layer)

    def iter_read(self, layer: str, kode: str | None = None, chunksize: int = 500_000) -> Iterator[pd.DataFrame]:
        """Stream the rows of ``layer`` (sorted by key) in frames of at most ``chunksize`` rows.

        Parameters
        ----------
        layer : str
            A :data:`geo.schema.LAYERS` name.
        kode : str, optional
            Area code prefix (kota ``3172``, kecamatan ``317201``, kelurahan ``3172011001``), matched
            on ``kode`` for kota/kecamatan/kelurahan and on ``kode_kel`` for the other layers.
        chunksize : int
            Rows per frame. A server-side cursor holds one chunk in memory at a time.

        Yields
        ------
        DataFrame
            Conforming frames (GeoDataFrames in EPSG:4326 for geometry layers); an empty
            selection yields one empty frame.
        """
        stmt = self._select(layer, kode)
        with self._transaction(f"read {layer}") as conn:
            compiled = stmt.compile(dialect=conn.dialect)
            with conn.connection.driver_connection.cursor(name=f"petatps_read_{layer}") as cur:
                cur.execute(str(compiled), compiled.params)
                rows = cur.fetchmany(chunksize)
                yield pgrows.to_frame(rows, layer)
                while len(rows) == chunksize and (rows := cur.fetchmany(chunksize)):
                    yield pgrows.to_frame(rows, layer)

    def counts(self) -> dict[str, int]:
        """Row count of every layer."""
        parts = [sa.select(sa.literal(name).label("layer"), sa.func.count().label("n")).select_from(t)
                 for name, t in self._tables.items()]
        with self._transaction("count rows") as conn:
            found = dict(conn.execute(sa.union_all(*parts)).all())
        return {layer: int(found[layer]) for layer in self._tables}

    def data_version(self) -> str:
        """Id of the last committed write (a PostgreSQL transaction id, as text)."""
        stmt = sa.select(self._meta_table.c.value).where(self._meta_table.c.key == "data_version")
        with self._transaction("read data version") as conn:
            return conn.execute(stmt).scalar_one()

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        """The ``limit`` most recently recorded reports, newest first."""
        stmt = sa.select(self._runs.c.report).order_by(self._runs.c.id.desc()).limit(limit)
        with self._transaction("read runs") as conn:
            return list(conn.execute(stmt).scalars())

    # -- tiles (the selection rules of geo.tiles, computed by PostGIS) -----------------------
    def tile(self, layer: str, z: int, x: int, y: int, fmt: str = "mvt", options: TileOptions | None = None,
             *, kode: str | None = None) -> bytes | None:
        """One Mapbox Vector Tile (``ST_AsMVT``) or GeoJSON tile (``ST_AsGeoJSON``) of a public layer.

        Parameters
        ----------
        layer : str
            ``tps`` or an area layer (``kelurahan``, ``rw``, ...); never ``voters``.
        z, x, y : int
            XYZ tile (EPSG:3857, y from the north); outside the grid is an :class:`InputError`.
        fmt : {"mvt", "geojson"}
        options : TileOptions, optional
            Aggregation, feature cap, extent and buffer (defaults of :class:`geo.tiles.TileOptions`).
        kode : str, optional
            Only features under this area code prefix (as :meth:`read`).

        Returns
        -------
        bytes or None
            ``None`` for an empty tile. The features are those :class:`geo.tiles.TileIndex` selects
            from the same rows: edge rule, 64/4096 buffer, aggregation below ``aggregate_below``,
            feature cap. Kelurahan tiles carry ``tps_count``, ``dpt_total`` and ``dpt_known``.
        """
        return self._tile_data(layer, z, x, y, fmt, options, kode, ids=False)[0]

    def tile_data(self, layer: str, z: int, x: int, y: int, fmt: str = "mvt", options: TileOptions | None = None,
                  *, kode: str | None = None) -> tuple[bytes | None, TileSelection]:
        """:meth:`tile` and its :class:`geo.tiles.TileSelection` (ids, kind, capped, candidates)."""
        return self._tile_data(layer, z, x, y, fmt, options, kode, ids=True)

    def _tile_data(self, layer: str, z: int, x: int, y: int, fmt: str, options: TileOptions | None,
                   kode: str | None, *, ids: bool) -> tuple[bytes | None, TileSelection]:
        """A tile and its selection; ``ids=False`` (a served tile) leaves the selection's ids empty and
        spares the database their sorted array."""
        plan = pgrows.tile_plan(layer, z, x, y, fmt, options, kode)

        def cut(cur: psycopg.Cursor) -> tuple[bytes | None, TileSelection]:
            kind = plan.source
            data, found, candidates = self._cut(cur, plan, kind, ids)
            if plan.points and candidates > plan.options.feature_cap:
                kind = "grid"  # a point tile over its cap shows the grid aggregates of its zoom: no TPS lost
                data, found, _ = self._cut(cur, plan, kind, ids)
            return data, pgrows.selection(plan, kind, found, candidates)

        return self._read_tile(f"tile {layer} {plan.z}/{plan.x}/{plan.y}", cut)

    def tiles(self, layer: str, z: int, options: TileOptions | None = None, *,
              kode: str | None = None) -> list[tuple[int, int]]:
        """The non-empty tiles ``(x, y)`` of zoom ``z``, sorted (as :meth:`geo.tiles.TileIndex.tiles`)."""
        options = options or TileOptions()
        params = pgrows.enumeration_params(layer, z, options, kode)
        if layer == "tps":
            kind = pgrows.source_of(layer, z, options)
            stmt = _point_tiles(self._tile_source(layer, kind, ()))
        else:
            pgrows.tile_plan(layer, z, 0, 0, "mvt", options, kode)  # checks the layer
            stmt = _area_tiles(self._name(layer), pgrows.scope_column(layer))
        with self._transaction(f"list {layer} tiles at zoom {z}") as conn, _cursor(conn) as cur:
            cur.execute(stmt, params)
            return pgrows.tiles_of_rows(cur.fetchall())

    def tile_bounds(self, layer: str, *, kode: str | None = None) -> tuple[float, float, float, float] | None:
        """(west, south, east, north) of the located features of ``layer`` in degrees; ``None`` if none."""
        pgrows.tile_plan(layer, 0, 0, 0, "mvt", None, kode)
        with self._transaction(f"bounds of {layer}") as conn, _cursor(conn) as cur:
            cur.execute(_extent(self._name(layer), pgrows.scope_column(layer)), {"kode": kode})
            found = cur.fetchone()
        return None if found[0] is None else tuple(float(v) for v in found)

    def _cut(self, cur: psycopg.Cursor, plan: pgrows.TilePlan, kind: str,
             ids: bool = True) -> tuple[bytes | None, list[int], int]:
        """Run one tile query over ``kind`` features: (bytes or None, selected ids or [], candidates)."""
        key = (plan.layer, kind, plan.fmt)
        if key not in self._tile_sql:
            names = pgrows.property_names(plan.layer, kind)
            source, order = self._tile_source(plan.layer, kind, names), "key" if kind == "features" else "id"
            self._tile_sql[key] = _tile(source, plan.points, names, order, plan.fmt).as_bytes(cur)
        cur.execute(self._tile_sql[key], {**plan.params(kind), "ids": ids})  # prepared by psycopg from the 5th run
        candidates, ids, data = cur.fetchone()
        if isinstance(data, str):
            data = data.encode()
        return (bytes(data) if data else None), list(ids or ()), int(candidates)

    def _read_tile(self, action: str, run):
        """``run(cursor)`` on a pooled autocommit connection (binary results: the tile bytes travel
        as they are, not hex-encoded). A connection the server closed (e.g. a restart) is discarded
        and the read tried once more on a fresh one; other database failures become StoreError."""
        for attempt in (1, 2):
            try:
                raw = self._tile_engine.raw_connection()
            except sa.exc.DBAPIError as exc:
                raise StoreError(f"cannot connect to {self.describe()}: {_reason(exc, self._url)}") from None
            driver = raw.driver_connection
            try:
                with driver.cursor(binary=True) as cur:
                    return run(cur)
            except psycopg.OperationalError as exc:
                dropped = driver.closed
                raw.invalidate()
                if attempt == 1 and dropped:
                    continue
                raise StoreError(f"{action} in {self.describe()}: {_reason(exc, self._url)}") from exc
            except psycopg.Error as exc:
                hint = " (run init first)" if isinstance(exc, psycopg.errors.UndefinedTable) else ""
                raise StoreError(f"{action} in {self.describe()}: {_reason(exc, self._url)}{hint}") from exc
            finally:
                raw.close()
        raise AssertionError("unreachable")

    def _tile_source(self, layer: str, kind: str, names: tuple[str, ...]) -> sql.Composed:
        if kind == "kelurahan":
            return _kelurahan_groups(self._name("tps"), self._name("kelurahan"))
        if kind == "grid":
            return _grid_cells(self._name("tps"))
        if layer == "tps":
            return _tps_points(self._name("tps"), _columns(names, pgrows.float_columns(layer)))
        stats = _kelurahan_stats(self._name("tps")) if layer == "kelurahan" else sql.SQL("")
        return _area_features(self._name(layer), _columns(names, pgrows.float_columns(layer)), stats,
                              pgrows.scope_column(layer))

    def _name(self, layer: str) -> sql.Identifier:
        return _identifier(self._table(layer))

    # -- helpers -----------------------------------------------------------------------------
    def _table(self, layer: str) -> sa.Table:
        _spec(layer)
        if layer not in self._tables:
            raise StoreError(f"{self.describe()}: layer {layer!r} has no table yet (run init)")
        return self._tables[layer]

    def _select(self, layer: str, kode: str | None) -> sa.Select:
        table, spec = self._table(layer), _spec(layer)
        cols = [table.c[c] for c in spec.columns]
        if spec.geometry:
            cols.append(sa.func.ST_AsBinary(table.c.geometry, type_=sa.LargeBinary).label("geometry"))
        stmt = sa.select(*cols).order_by(*[table.c[k] for k in spec.key])
        pgrows.check_area_code(kode, f"read {layer}")
        if kode is not None:
            stmt = stmt.where(table.c[pgrows.scope_column(layer)].startswith(kode, autoescape=True))
        return stmt

    def _bump(self, conn: sa.Connection) -> None:
        meta = self._meta_table
        conn.execute(sa.update(meta).where(meta.c.key == "data_version").values(value=_XACT_ID))

    @contextlib.contextmanager
    def _transaction(self, action: str, *, autocommit: bool = False) -> Iterator[sa.Connection]:
        """A connection in a transaction (or in autocommit mode: one round trip per read, no BEGIN or
        COMMIT, as tile reads want); database failures become :class:`StoreError`."""
        try:
            conn = self._engine.connect()
            if autocommit:
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        except sa.exc.DBAPIError as exc:
            raise StoreError(f"cannot connect to {self.describe()}: {_reason(exc, self._url)}") from None
        try:
            with conn.begin():
                yield conn
        except (sa.exc.DBAPIError, psycopg.Error) as exc:
            hint = " (run init first)" if isinstance(getattr(exc, "orig", exc), psycopg.errors.UndefinedTable) else ""
            raise StoreError(f"{action} in {self.describe()}: {_reason(exc, self._url)}{hint}") from exc
        finally:
            conn.close()


# -- module helpers ------------------------------------------------------------------------------
def _spec(layer: str) -> Layer:
    if layer not in LAYERS:
        raise NotFoundError(f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}")
    return LAYERS[layer]


def _copy_frames(conn: sa.Connection, table: sa.Table, frames: Iterable[pd.DataFrame], layer: str) -> int:
    """COPY conforming frames into ``table`` (one COPY for all of them); return rows written."""
    columns = _spec(layer).all_columns
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        _identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    rows = 0
    with conn.connection.driver_connection.cursor() as cur, cur.copy(statement) as copy:
        for frame in frames:
            if len(frame):
                copy.write(_csv(frame, layer))
                rows += len(frame)
    return rows


def _delete_scope(conn: sa.Connection, table: sa.Table, stage: sa.Table, scope: str, incoming: int) -> bool:
    """Delete the rows of ``table`` whose ``scope`` value is staged; return whether to rebuild indexes.

    When no stored row survives, TRUNCATE replaces DELETE, leaving no dead rows for the index
    rebuild to walk (a REPEATABLE READ reader begun earlier would then see an empty layer).
    """
    staged = sa.select(stage.c[scope]).where(stage.c[scope].is_not(None)).distinct()
    column = table.c[scope]
    kept = sa.select(sa.literal(1)).select_from(table).where(sa.or_(column.is_(None), column.not_in(staged)))
    if conn.execute(kept.limit(1)).first() is None:
        _execute(conn, sql.SQL("TRUNCATE {}").format(_identifier(table)))
        return True
    conn.execute(sa.delete(table).where(column.in_(staged)))
    if incoming < _REBUILD_MIN_ROWS:
        return False
    survivors = kept.limit(incoming).subquery()
    return conn.execute(sa.select(sa.func.count()).select_from(survivors)).scalar_one() < incoming


@contextlib.contextmanager
def _indexes_dropped(conn: sa.Connection, table: sa.Table, drop: bool) -> Iterator[None]:
    """Drop the secondary indexes of ``table`` for the block and build them again after it."""
    indexes = sorted(table.indexes, key=lambda ix: ix.name) if drop else []
    for index in indexes:
        conn.execute(sa.schema.DropIndex(index))
    yield
    if indexes:
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
    for index in indexes:
        conn.execute(sa.schema.CreateIndex(index))


def _identifier(table: sa.Table) -> sql.Identifier:
    """``schema.table`` (or a temporary table's bare name), quoted by psycopg."""
    return sql.Identifier(*([table.schema] if table.schema else []), table.name)


def _execute(conn: sa.Connection, statement: sql.Composed) -> None:
    """Run a composed statement (identifiers only, no values) on the connection's transaction."""
    with conn.connection.driver_connection.cursor() as cur:
        cur.execute(statement)


def _psycopg_url(url: str) -> sa.URL:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError("PostGIS URL must look like postgresql://user@host:port/db") from None
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise ConfigError(f"PostGIS URL must start with postgresql://, got {parsed.drivername}://")
    return parsed.set(drivername="postgresql+psycopg")


def _reason(exc: BaseException, url: sa.URL) -> str:
    """One line from a driver error: its message and detail, without the password."""
    orig = getattr(exc, "orig", None) or exc
    text = " ".join(str(orig).split())
    detail = getattr(getattr(orig, "diag", None), "message_detail", None)
    if detail and detail not in text:
        text += f" ({detail})"
    return text.replace(url.password, "***") if url.password else text


@contextlib.contextmanager
def _cursor(conn: sa.Connection) -> Iterator[psycopg.Cursor]:
    """A psycopg cursor on the connection's transaction (for the composed tile statements)."""
    with conn.connection.driver_connection.cursor() as cur:
        yield cur


# -- tile SQL --------------------------------------------------------------------------------------
# The statements reproduce geo.tiles exactly: positions in normalised Web Mercator computed with the
# same formulas (``ux``, ``uy`` in 0..1, y south), tile coordinates within 1e-9 of an integer snapped
# onto it, and the half-open buffered tile [x - b, x + 1 + b) x [y - b, y + 1 + b), b = buffer/extent.
# A GiST prefilter (``_ENVELOPE``, a slightly wider ST_TileEnvelope) finds the candidates first.
# Parameters are bound (psycopg ``%(name)s``); identifiers come from geo.schema.LAYERS only.
_ENVELOPE = sql.SQL("ST_Transform(ST_TileEnvelope(%(ez)s::int, %(ex)s::int, %(ey)s::int, margin => %(em)s), 4326)")
_IN_AREA = sql.SQL("(%(kode)s::text IS NULL OR starts_with({}, %(kode)s::text))")
_HALF_WORLD = sql.Literal(20037508.342789244)  # metres: half the EPSG:3857 world width


def _unit_xy(geom: sql.Composable) -> sql.Composed:
    """``ux, uy`` of a lon/lat point, as :func:`geo.tiles.mercator` computes them."""
    return sql.SQL(
        "(ST_X({g}) + 180.0::float8) / 360.0::float8 AS ux, (1.0::float8 - asinh(tan(radians(least(greatest("
        "ST_Y({g}), -{lat}::float8), {lat}::float8)))) / pi()) / 2.0::float8 AS uy"
    ).format(g=geom, lat=sql.Literal(MAX_LAT))


def _snapped(alias: str) -> sql.Composed:
    """Tile coordinates ``tx, ty`` of ``alias.ux/uy`` at zoom ``%(n)s`` tiles, snapped as geo.tiles does."""
    return sql.SQL(
        "CROSS JOIN LATERAL (SELECT {a}.ux * %(n)s::float8 AS tx, {a}.uy * %(n)s::float8 AS ty) r "
        "CROSS JOIN LATERAL (SELECT CASE WHEN abs(r.tx - round(r.tx)) < 1e-9::float8 THEN round(r.tx) ELSE r.tx END AS tx,"
        " CASE WHEN abs(r.ty - round(r.ty)) < 1e-9::float8 THEN round(r.ty) ELSE r.ty END AS ty) q"
    ).format(a=sql.Identifier(alias))


def _columns(names: Sequence[str], floats: frozenset[str]) -> sql.Composed:
    """``, a, b, ...`` property columns (empty for none); floats rounded to 0.1 like geo.geojson (rint)."""
    return sql.Composed([
        sql.SQL(", round({c} * 10.0::float8) / 10.0::float8 AS {c}").format(c=sql.Identifier(n)) if n in floats
        else sql.SQL(", {}").format(sql.Identifier(n)) for n in names])


def _tps_points(tps: sql.Identifier, props: sql.Composed) -> sql.Composed:
    """Located TPS near the prefilter envelope: ``id, key, g, ux, uy`` and the tile properties."""
    return sql.SQL("""
        SELECT t.kode_tps::bigint AS id, t.kode_tps AS key, t.geometry AS g, u.ux, u.uy{props}
        FROM {tps} t CROSS JOIN LATERAL (SELECT {unit}) u
        WHERE t.geometry && {envelope} AND NOT ST_IsEmpty(t.geometry) AND {in_area}""").format(
        props=props, tps=tps, unit=_unit_xy(sql.SQL("t.geometry")),
        envelope=_ENVELOPE, in_area=_IN_AREA.format(sql.SQL("t.kode_kel")))


def _kelurahan_groups(tps: sql.Identifier, kel: sql.Identifier) -> sql.Composed:
    """One aggregate per kode_kel of located TPS: at a point on its kelurahan, else at the TPS mean."""
    return sql.SQL("""
        SELECT a.id, a.id::text AS key, coalesce(a.g, ST_Point(a.ux * 360.0::float8 - 180.0::float8,
               degrees(atan(sinh(pi() * (1.0::float8 - 2.0::float8 * a.uy)))), 4326)) AS g, a.ux, a.uy,
               'kelurahan'::text AS kind, a.kode_kel, a.nama, a.tps_count, a.dpt_total, a.dpt_known
        FROM (SELECT CASE WHEN b.kode_kel ~ '^[0-9]+$' THEN b.kode_kel::bigint ELSE 0 END AS id, b.*
              FROM (SELECT k.kode AS kode_kel, k.nama, p.g, u.ux, u.uy, s.tps_count, s.dpt_total, s.dpt_known
                    FROM {kel} k
                    CROSS JOIN LATERAL (SELECT ST_PointOnSurface(k.geometry) AS g OFFSET 0) p
                    CROSS JOIN LATERAL (SELECT {unit_p}) u
                    CROSS JOIN LATERAL (SELECT count(*) AS tps_count, coalesce(sum(t.dpt), 0) AS dpt_total,
                                               count(t.dpt) AS dpt_known
                                        FROM {tps} t WHERE t.kode_kel = k.kode AND NOT ST_IsEmpty(t.geometry)) s
                    WHERE k.geometry && {envelope} AND NOT ST_IsEmpty(k.geometry) AND {kel_in_area}
                      AND s.tps_count > 0
                    UNION ALL
                    SELECT coalesce(t.kode_kel, ''), NULL, NULL, avg(u.ux), avg(u.uy), count(*),
                           coalesce(sum(t.dpt), 0), count(t.dpt)
                    FROM {tps} t CROSS JOIN LATERAL (SELECT {unit_t}) u
                    WHERE NOT ST_IsEmpty(t.geometry) AND {tps_in_area} AND NOT EXISTS (
                        SELECT 1 FROM {kel} k WHERE k.kode = t.kode_kel AND NOT ST_IsEmpty(k.geometry)
                                                AND {kel_in_area})
                    GROUP BY coalesce(t.kode_kel, '')) b) a""").format(
        tps=tps, kel=kel, unit_p=_unit_xy(sql.SQL("p.g")), unit_t=_unit_xy(sql.SQL("t.geometry")),
        envelope=_ENVELOPE, kel_in_area=_IN_AREA.format(sql.SQL("k.kode")),
        tps_in_area=_IN_AREA.format(sql.SQL("t.kode_kel")))


def _grid_cells(tps: sql.Identifier) -> sql.Composed:
    """Located TPS grouped into the ``%(cells)s``² grid of every tile (geo.tiles.grid_aggregate)."""
    return sql.SQL("""
        SELECT c.id, c.id::text AS key, ST_Point(c.ux * 360.0::float8 - 180.0::float8,
               degrees(atan(sinh(pi() * (1.0::float8 - 2.0::float8 * c.uy)))), 4326) AS g, c.ux, c.uy,
               'grid'::text AS kind, c.tps_count, c.dpt_total, c.dpt_known
        FROM (SELECT (q.cy * s.side + q.cx)::bigint AS id, avg(u.ux) AS ux, avg(u.uy) AS uy, count(*) AS tps_count,
                     coalesce(sum(t.dpt), 0) AS dpt_total, count(t.dpt) AS dpt_known
              FROM {tps} t
              CROSS JOIN (SELECT %(n)s::float8 * %(cells)s::int AS side) s
              CROSS JOIN LATERAL (SELECT {unit}) u
              CROSS JOIN LATERAL (SELECT least(greatest(floor(u.ux * s.side), 0::float8), s.side - 1) AS cx,
                                         least(greatest(floor(u.uy * s.side), 0::float8), s.side - 1) AS cy) q
              WHERE t.geometry && {envelope} AND NOT ST_IsEmpty(t.geometry) AND {in_area}
              GROUP BY 1) c""").format(
        tps=tps, unit=_unit_xy(sql.SQL("t.geometry")), envelope=_ENVELOPE,
        in_area=_IN_AREA.format(sql.SQL("t.kode_kel")))


def _kelurahan_stats(tps: sql.Identifier) -> sql.Composed:
    """TPS statistics of each kelurahan row ``k`` (every TPS, located or not: geo.geojson.kelurahan_stats)."""
    return sql.SQL("""
        CROSS JOIN LATERAL (SELECT count(*) AS tps_count, coalesce(sum(t.dpt), 0) AS dpt_total,
                                   count(t.dpt) AS dpt_known FROM {tps} t WHERE t.kode_kel = k.kode) st""").format(tps=tps)


def _area_features(table: sql.Identifier, props: sql.Composed, stats: sql.Composable, scope: str) -> sql.Composed:
    """Polygons meeting the buffered tile (bbox half-open on the east/south, as geo.tiles tests it)."""
    return sql.SQL("""
        SELECT replace(k.kode, '-', '')::bigint AS id, k.kode AS key, k.geometry AS g{props}
        FROM {table} k
        CROSS JOIN LATERAL (SELECT ST_Transform(k.geometry, 3857) AS m OFFSET 0) m
        CROSS JOIN LATERAL (SELECT ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int, margin => %(b)s) AS e) e
        {stats}
        WHERE k.geometry && {envelope} AND {in_area} AND ST_Intersects(m.m, e.e)
          AND ST_XMin(m.m) < ST_XMax(e.e) AND ST_YMax(m.m) > ST_YMin(e.e)""").format(
        props=props, table=table, stats=stats, envelope=_ENVELOPE,
        in_area=_IN_AREA.format(sql.Identifier("k", scope)))


def _hits(points: bool) -> sql.Composed:
    """The candidates inside the buffered tile (area sources test it themselves)."""
    if not points:
        return sql.SQL("SELECT * FROM src")
    return sql.SQL("""SELECT s.* FROM src s {snapped}
        WHERE q.tx >= %(x0)s::float8 AND q.tx < %(x1)s::float8
          AND q.ty >= %(y0)s::float8 AND q.ty < %(y1)s::float8""").format(snapped=_snapped("s"))


def _tile(source: sql.Composed, points: bool, names: Sequence[str], order: str, fmt: str) -> sql.Composed:
    """(candidates, ids of the first ``cap`` in ``order``, the tile); point tiles over the cap encode nothing."""
    return sql.SQL("""
        WITH src AS MATERIALIZED ({source}),
        hits AS MATERIALIZED ({hits}),
        page AS MATERIALIZED (SELECT * FROM hits WHERE %(keep)s OR (SELECT count(*) FROM hits) <= %(cap)s
                              ORDER BY {order} LIMIT %(cap)s)
        SELECT (SELECT count(*) FROM hits), CASE WHEN %(ids)s::boolean THEN (SELECT array_agg(id ORDER BY {order}) FROM page) END,
               ({encode})""").format(
        source=source, hits=_hits(points), order=sql.Identifier(order),
        encode=_mvt(points, names) if fmt == "mvt" else _geojson(names, order))


def _mvt(points: bool, names: Sequence[str]) -> sql.Composed:
    """ST_AsMVT of ``page``. Points go to tile pixels as geo.tiles puts them (rint of the exact
    position, no snapping); polygons are clipped to the buffered tile by ST_AsMVTGeom."""
    geom = sql.SQL(
        "ST_Point(round((ux * %(n)s::float8 - %(x)s::int) * %(extent)s::int), "
        "round((uy * %(n)s::float8 - %(y)s::int) * %(extent)s::int))") if points else sql.SQL(
        "ST_AsMVTGeom(ST_Transform(g, 3857), ST_TileEnvelope(%(z)s::int, %(x)s::int, %(y)s::int), "
        "%(extent)s::int, %(buffer)s::int, true)")
    return sql.SQL("SELECT ST_AsMVT(f, %(name)s::text, %(extent)s::int, 'geom', 'id') "
                   "FROM (SELECT id, {geom} AS geom{props} FROM page) f").format(
        geom=geom, props=sql.Composed([sql.SQL(", {}").format(sql.Identifier(n)) for n in names]))


def _geojson(names: Sequence[str], order: str) -> sql.Composed:
    """A FeatureCollection of ``page`` in the layout of geo.geojson (keys sorted, compact): ST_AsGeoJSON
    with 6 decimals and RFC 7946 rings; properties by row_to_json, in ``names`` order. Keys are digits
    and dashes (their ``id`` cast proves it), so they need no JSON escaping."""
    return sql.SQL("""
        SELECT concat('{{"features":[', string_agg(concat('{{"geometry":', ST_AsGeoJSON(ST_ForcePolygonCCW(page.g), 6),
                      ',"id":"', page.key, '","properties":', row_to_json(p), ',"type":"Feature"}}'), ','
                      ORDER BY page.{order}), '],"type":"FeatureCollection"}}')
        FROM page CROSS JOIN LATERAL (SELECT {props}) p HAVING count(*) > 0""").format(
        order=sql.Identifier(order), props=sql.SQL(", ").join(sql.Identifier("page", n) for n in names))


def _point_tiles(source: sql.Composed) -> sql.Composed:
    """Distinct ``(x, y)`` of the tiles whose buffer holds a point of ``source`` (TileIndex.tiles).
    ``source`` is materialised: inlined, its position formulas would be evaluated once per use (5x slower)."""
    return sql.SQL("""
        WITH src AS MATERIALIZED ({source})
        SELECT DISTINCT a.tx::int, c.ty::int FROM src s {snapped}
        CROSS JOIN LATERAL (VALUES (floor(q.tx - %(b)s::float8)), (floor(q.tx + %(b)s::float8))) a(tx)
        CROSS JOIN LATERAL (VALUES (floor(q.ty - %(b)s::float8)), (floor(q.ty + %(b)s::float8))) c(ty)
        WHERE a.tx >= 0 AND a.tx < %(n)s::float8 AND c.ty >= 0 AND c.ty < %(n)s::float8
        ORDER BY 1, 2""").format(source=source, snapped=_snapped("s"))


def _area_tiles(table: sql.Identifier, scope: str) -> sql.Composed:
    """Distinct ``(x, y)`` of the tiles at zoom ``%(z)s`` a polygon meets (bounding box tiles, then tested)."""
    return sql.SQL("""
        SELECT DISTINCT gx.x, gy.y FROM {table} k
        CROSS JOIN LATERAL (SELECT ST_Transform(k.geometry, 3857) AS m OFFSET 0) m
        CROSS JOIN LATERAL (SELECT (ST_XMin(m.m) / {w} + 1.0::float8) / 2.0::float8 * %(n)s::float8 AS x0,
                                   (ST_XMax(m.m) / {w} + 1.0::float8) / 2.0::float8 * %(n)s::float8 AS x1,
                                   (1.0::float8 - ST_YMax(m.m) / {w}) / 2.0::float8 * %(n)s::float8 AS y0,
                                   (1.0::float8 - ST_YMin(m.m) / {w}) / 2.0::float8 * %(n)s::float8 AS y1) bb
        CROSS JOIN LATERAL generate_series(greatest(floor(bb.x0 - %(b)s::float8), 0)::int,
                                           least(floor(bb.x1 + %(b)s::float8), %(n)s::float8 - 1)::int) gx(x)
        CROSS JOIN LATERAL generate_series(greatest(floor(bb.y0 - %(b)s::float8), 0)::int,
                                           least(floor(bb.y1 + %(b)s::float8), %(n)s::float8 - 1)::int) gy(y)
        CROSS JOIN LATERAL (SELECT ST_TileEnvelope(%(z)s::int, gx.x, gy.y, margin => %(b)s) AS e) e
        WHERE NOT ST_IsEmpty(k.geometry) AND {in_area} AND ST_Intersects(m.m, e.e)
          AND ST_XMin(m.m) < ST_XMax(e.e) AND ST_YMax(m.m) > ST_YMin(e.e)
        ORDER BY 1, 2""").format(table=table, w=_HALF_WORLD, in_area=_IN_AREA.format(sql.Identifier("k", scope)))


def _extent(table: sql.Identifier, scope: str) -> sql.Composed:
    """(west, south, east, north) of the located rows under ``%(kode)s``."""
    return sql.SQL("""
        SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
        FROM (SELECT ST_Extent(k.geometry) AS e FROM {table} k WHERE NOT ST_IsEmpty(k.geometry) AND {in_area}) s
        """).format(table=table, in_area=_IN_AREA.format(sql.Identifier("k", scope)))
