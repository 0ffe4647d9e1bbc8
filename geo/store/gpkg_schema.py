"""The SQL of the GeoPackage store: OGC GeoPackage 1.3 core tables, the petatps tables built
from :data:`geo.schema.LAYERS`, their indexes and R-tree spatial indexes.

Every statement here is fixed text or built from the declared (validated) identifiers of
:mod:`geo.schema`; values always travel as bound parameters.
"""

from __future__ import annotations

import contextlib
import dataclasses
import re
import sqlite3
from collections.abc import Iterator, Sequence

import numpy as np

from geo.crs import STORAGE_EPSG
from geo.schema import LAYERS, Layer

APPLICATION_ID = 0x47504B47          # "GPKG"
USER_VERSION = 10300                 # GeoPackage 1.3.0
GEOMETRY_COLUMN = "geom"
FID = "fid"
ATTRIBUTE_TABLES = ("meta", "runs")  # petatps bookkeeping, registered as 'attributes'
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")
_SQL_TYPES = {"string": "TEXT", "float64": "REAL", "boolean": "BOOLEAN"}

WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],'
    'AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],'
    'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],'
    'AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)
SPATIAL_REF_SYS = [
    ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", "undefined cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined", "undefined geographic coordinate reference system"),
    ("WGS 84 geodetic", STORAGE_EPSG, "EPSG", STORAGE_EPSG, WGS84_WKT,
     "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"),
]

CORE_DDL = [
    """CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
        srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
        organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""",
    """CREATE TABLE IF NOT EXISTS gpkg_contents (
        table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
        description TEXT DEFAULT '',
        last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
        min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
        CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
        table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
        srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
        CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
        CONSTRAINT uk_gc_table_name UNIQUE (table_name),
        CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
        CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))""",
    """CREATE TABLE IF NOT EXISTS gpkg_extensions (
        table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
        scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))""",
    """CREATE TABLE IF NOT EXISTS meta (
        id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, key TEXT NOT NULL UNIQUE, value TEXT)""",
    """CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, kind TEXT, source TEXT, finished TEXT, report TEXT)""",
]

# The R-tree triggers of GeoPackage 1.3 (extension gpkg_rtree_index); {t} table, {c} geometry column.
_RTREE_TRIGGERS = {
    "insert": """AFTER INSERT ON "{t}" WHEN (new."{c}" NOT NULL AND NOT ST_IsEmpty(NEW."{c}"))
        BEGIN INSERT OR REPLACE INTO "rtree_{t}_{c}" VALUES (NEW."{i}",
        ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}")); END""",
    "update1": """AFTER UPDATE OF "{c}" ON "{t}" WHEN OLD."{i}" = NEW."{i}" AND
        (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
        BEGIN INSERT OR REPLACE INTO "rtree_{t}_{c}" VALUES (NEW."{i}",
        ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}")); END""",
    "update2": """AFTER UPDATE OF "{c}" ON "{t}" WHEN OLD."{i}" = NEW."{i}" AND
        (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}"))
        BEGIN DELETE FROM "rtree_{t}_{c}" WHERE id = OLD."{i}"; END""",
    "update3": """AFTER UPDATE ON "{t}" WHEN OLD."{i}" != NEW."{i}" AND
        (NEW."{c}" NOTNULL AND NOT ST_IsEmpty(NEW."{c}"))
        BEGIN DELETE FROM "rtree_{t}_{c}" WHERE id = OLD."{i}";
        INSERT OR REPLACE INTO "rtree_{t}_{c}" VALUES (NEW."{i}",
        ST_MinX(NEW."{c}"), ST_MaxX(NEW."{c}"), ST_MinY(NEW."{c}"), ST_MaxY(NEW."{c}")); END""",
    "update4": """AFTER UPDATE ON "{t}" WHEN OLD."{i}" != NEW."{i}" AND
        (NEW."{c}" ISNULL OR ST_IsEmpty(NEW."{c}"))
        BEGIN DELETE FROM "rtree_{t}_{c}" WHERE id IN (OLD."{i}", NEW."{i}"); END""",
    "delete": """AFTER DELETE ON "{t}" WHEN old."{c}" NOT NULL
        BEGIN DELETE FROM "rtree_{t}_{c}" WHERE id = OLD."{i}"; END""",
}
RTREE_EXTENSION = ("gpkg_rtree_index", "http://www.geopackage.org/spec120/#extension_rtree", "write-only")


@dataclasses.dataclass(frozen=True)
class Index:
    name: str
    table: str
    column: str
    unique: bool

    @property
    def ddl(self) -> str:
        unique = "UNIQUE " if self.unique else ""
        return f'CREATE {unique}INDEX IF NOT EXISTS "{self.name}" ON "{self.table}" ("{self.column}")'


def identifier(name: str) -> str:
    """Return ``name`` if it is a plain lower-case SQL identifier, else raise ValueError."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a valid identifier: {name!r} (expected ^[a-z_][a-z0-9_]*$)")
    return name


def sql_type(dtype: str) -> str:
    """SQLite/GeoPackage column type of a pandas dtype of :mod:`geo.schema`."""
    return "INTEGER" if dtype.startswith("Int") else _SQL_TYPES[dtype]


def indexes(spec: Layer) -> list[Index]:
    """Attribute indexes of a layer: its key (unique unless ``unique_key`` is False), scope and extra indexes."""
    out: dict[str, Index] = {}
    unique_key = spec.unique_key and len(spec.key) == 1
    for col in (*spec.key, spec.scope, *spec.indexes):
        if col not in out:
            unique = unique_key and col == spec.key[0]
            out[col] = Index(f"{'ux' if unique else 'ix'}_{spec.name}_{col}", spec.name, col, unique)
    return list(out.values())


def layer_ddl(spec: Layer) -> list[str]:
    """CREATE statements of a layer table and its indexes (idempotent)."""
    t = identifier(spec.name)
    cols = [f'"{FID}" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL']
    if spec.geometry:
        cols.append(f'"{GEOMETRY_COLUMN}" {spec.geometry.upper()}')
    cols += [f'"{identifier(c)}" {sql_type(d)}' for c, d in spec.columns.items()]
    return [f'CREATE TABLE IF NOT EXISTS "{t}" ({", ".join(cols)})'] + [ix.ddl for ix in indexes(spec)]


def rtree_ddl(spec: Layer) -> list[str]:
    """The R-tree virtual table and its six maintenance triggers for a geometry layer."""
    t, c = identifier(spec.name), GEOMETRY_COLUMN
    out = [f'CREATE VIRTUAL TABLE IF NOT EXISTS "rtree_{t}_{c}" USING rtree(id, minx, maxx, miny, maxy)']
    return out + [_trigger_ddl(t, name) for name in _RTREE_TRIGGERS]


def _trigger_ddl(table: str, name: str) -> str:
    body = _RTREE_TRIGGERS[name].format(t=table, c=GEOMETRY_COLUMN, i=FID)
    return f'CREATE TRIGGER IF NOT EXISTS "rtree_{table}_{GEOMETRY_COLUMN}_{name}" {body}'


@contextlib.contextmanager
def bulk_rtree(conn: sqlite3.Connection, spec: Layer) -> Iterator[None]:
    """Inside a transaction: suspend the R-tree insert trigger (the caller adds R-tree rows itself
    with :func:`rtree_add`, ~2x faster than a trigger calling Python per row) and restore it after,
    also on error (the enclosing rollback would restore it too)."""
    table = identifier(spec.name)
    conn.execute(f'DROP TRIGGER IF EXISTS "rtree_{table}_{GEOMETRY_COLUMN}_insert"')
    try:
        yield
    finally:
        conn.execute(_trigger_ddl(table, "insert"))


def rtree_add(conn: sqlite3.Connection, spec: Layer, fids: Sequence[int], bounds: np.ndarray) -> None:
    """Index rows: ``bounds`` is shapely's ``(minx, miny, maxx, maxy)`` per fid; NaN rows (NULL or
    empty geometries) are skipped, as the standard triggers do."""
    ok = ~np.isnan(bounds[:, 0])
    rows = zip(np.asarray(fids)[ok].tolist(), bounds[ok, 0].tolist(), bounds[ok, 2].tolist(),
               bounds[ok, 1].tolist(), bounds[ok, 3].tolist())
    conn.executemany(f'INSERT INTO "rtree_{identifier(spec.name)}_{GEOMETRY_COLUMN}" VALUES (?, ?, ?, ?, ?)', rows)


def create(conn: sqlite3.Connection) -> None:
    """Create every missing table, index and registration; existing ones are left untouched."""
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {USER_VERSION}")
    for stmt in CORE_DDL:
        conn.execute(stmt)
    conn.executemany("INSERT OR IGNORE INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", SPATIAL_REF_SYS)
    for spec in LAYERS.values():
        for stmt in layer_ddl(spec):
            conn.execute(stmt)
        _register(conn, spec)
    for table in ATTRIBUTE_TABLES:
        conn.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description) "
                     "VALUES (?, 'attributes', ?, ?)", (table, table, f"petatps {table}"))


def _register(conn: sqlite3.Connection, spec: Layer) -> None:
    data_type = "features" if spec.geometry else "attributes"
    srs_id = STORAGE_EPSG if spec.geometry else None
    conn.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) "
                 "VALUES (?, ?, ?, ?, ?)", (spec.name, data_type, spec.name, f"petatps {spec.name}", srs_id))
    if not spec.geometry:
        return
    conn.execute("INSERT OR IGNORE INTO gpkg_geometry_columns VALUES (?, ?, ?, ?, 0, 0)",
                 (spec.name, GEOMETRY_COLUMN, spec.geometry.upper(), STORAGE_EPSG))
    for stmt in rtree_ddl(spec):
        conn.execute(stmt)
    conn.execute("INSERT OR IGNORE INTO gpkg_extensions VALUES (?, ?, ?, ?, ?)",
                 (spec.name, GEOMETRY_COLUMN, *RTREE_EXTENSION))


def touch(conn: sqlite3.Connection, spec: Layer) -> None:
    """Set ``last_change`` and the extent (from the R-tree; NULL when empty) of a layer in gpkg_contents."""
    if spec.geometry:
        ext = conn.execute(f'SELECT min(minx), min(miny), max(maxx), max(maxy) FROM "rtree_{spec.name}_geom"'
                           ).fetchone()
    else:
        ext = (None, None, None, None)
    conn.execute("UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now'), "
                 "min_x = ?, min_y = ?, max_x = ?, max_y = ? WHERE table_name = ?", (*ext, spec.name))
