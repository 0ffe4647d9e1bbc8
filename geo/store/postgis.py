"""The PostGIS store: every SQL statement of this backend lives in this module.

Tables are built from :data:`geo.schema.LAYERS` (plus ``meta`` and ``runs``) by the Alembic
migrations in ``geo/store/migrations``; ``init()`` runs them with the version table inside the
target schema. Statements are SQLAlchemy/GeoAlchemy2 expressions with bound parameters; the few
statements SQLAlchemy cannot express (``COPY``, ``LOCK``, ``TRUNCATE``) are composed with
:mod:`psycopg.sql`, from quoted identifiers only.

Bulk writes use ``COPY ... (FORMAT csv)`` of text produced by pyarrow's CSV writer, which quotes
every non-null value and leaves nulls as bare empty fields, so ``NULL`` and ``''`` stay distinct and
tabs, quotes, backslashes and newlines need no escaping of ours. Geometries travel as hex EWKB
(SRID 4326) and come back through ``ST_AsBinary``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry
from psycopg import sql
from sqlalchemy.dialects.postgresql import JSONB

from geo.crs import STORAGE_EPSG
from geo.errors import ConfigError, InputError, NotFoundError, StoreError
from geo.schema import LAYERS, Layer, conform
from geo.store.base import Store

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_AREA_CODE = re.compile(r"\d{1,10}")
# A DPT may list one person twice (a finding for the voter report, not a load failure): no unique key.
_NO_PRIMARY_KEY = frozenset({"voters"})
_SQL_TYPES = {
    "string": lambda: sa.Text(collation="C"),  # byte order: sorting by code is locale-independent
    "Int16": sa.SmallInteger,
    "Int32": sa.Integer,
    "float64": sa.Double,
    "boolean": sa.Boolean,
}
_CSV = pacsv.WriteOptions(include_header=False, quoting_style="all_valid", batch_size=65_536)
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
            json_serializer=_json, pool_pre_ping=True)
        self._meta = sa.MetaData(schema=self.schema)
        self._tables = {layer: layer_table(layer, self._meta) for layer in LAYERS}
        self._meta_table, self._runs = meta_tables(self._meta)

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
                  "finished": _timestamp(report.get("finished")), "report": report}
        with self._transaction("record run") as conn:
            conn.execute(sa.insert(self._runs).values(values))

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
                yield _to_frame(rows, layer)
                while len(rows) == chunksize and (rows := cur.fetchmany(chunksize)):
                    yield _to_frame(rows, layer)

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
        if kode is not None:
            if not isinstance(kode, str) or not _AREA_CODE.fullmatch(kode):
                raise InputError(f"read {layer}: area code must be 1-10 digits (e.g. 3172)", field="kode", value=kode)
            column = "kode" if layer in ("kota", "kecamatan", "kelurahan") else "kode_kel"
            stmt = stmt.where(table.c[column].startswith(kode, autoescape=True))
        return stmt

    def _bump(self, conn: sa.Connection) -> None:
        meta = self._meta_table
        conn.execute(sa.update(meta).where(meta.c.key == "data_version").values(value=_XACT_ID))

    @contextlib.contextmanager
    def _transaction(self, action: str) -> Iterator[sa.Connection]:
        """A connection in a transaction; database failures become :class:`StoreError`."""
        try:
            conn = self._engine.connect()
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


def _csv(frame: pd.DataFrame, layer: str) -> pa.Buffer:
    """CSV bytes of a conforming frame in column order: nulls bare, every value quoted, hex EWKB."""
    spec = _spec(layer)
    table = pa.Table.from_pandas(pd.DataFrame({c: frame[c] for c in spec.columns}), preserve_index=False)
    if spec.geometry:
        geoms = np.array(frame.geometry.values, dtype=object)  # a copy: the caller's frame stays as it is
        if spec.geometry == "MultiPolygon":  # promote Polygons, as every loader would have to
            polygons = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
            geoms[polygons] = shapely.multipolygons(geoms[polygons], indices=np.arange(polygons.sum()))
        geoms = shapely.set_srid(geoms, STORAGE_EPSG)
        table = table.append_column("geometry", pa.array(shapely.to_wkb(geoms, hex=True, include_srid=True),
                                                         type=pa.string()))
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, write_options=_CSV)
    return sink.getvalue()


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


def _to_frame(rows: list, layer: str) -> pd.DataFrame:
    spec = _spec(layer)
    frame = pd.DataFrame(rows, columns=spec.all_columns) if rows else pd.DataFrame(columns=spec.all_columns)
    if spec.geometry:
        wkb = np.asarray(frame.pop("geometry").to_numpy(), dtype=object)
        geoms = shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)
        frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index, crs=STORAGE_EPSG))
    return conform(frame, layer)


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


def _timestamp(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _json(value: Any) -> str:
    options = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(value, option=options, default=str).decode()

