"""The embedded store: one OGC GeoPackage 1.3 file, written with :mod:`sqlite3`.

The file opens in QGIS and GDAL (``pyogrio.list_layers``): every layer of :data:`geo.schema.LAYERS`
is a table (geometry column ``geom``, EPSG:4326, with a GeoPackage R-tree spatial index kept by
the standard triggers, whose ``ST_*`` functions :mod:`geo.store.gpkg_binary` provides), registered
in ``gpkg_contents`` as ``features`` or ``attributes``; ``meta`` holds the data version and ``runs``
the recorded reports. The file is in WAL mode so readers (the web app) keep working during a load.

Each operation opens its own connection (thread-safe, nothing held between calls). A load is one
``BEGIN IMMEDIATE`` transaction: chunks are streamed in (never all held); for each chunk the rows
stored *before* the load whose scope value it brings are deleted, then the chunk is inserted; any
exception — including one raised by the chunk iterator — rolls everything back. A load touching
many rows compared with the table drops the non-scope secondary indexes for the duration and
rebuilds them once (sorting is far cheaper than random B-tree inserts of hashed voter keys), and
geometry rows enter the R-tree in bulk rather than through the per-row insert trigger.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
import secrets
import sqlite3
import urllib.parse
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import shapely

from geo.errors import CodeError, NotFoundError, StoreError
from geo.schema import LAYERS, Layer, conform, empty
from geo.store import gpkg_binary, gpkg_rows, gpkg_schema
from geo.store.base import Store, redacted_report

log = logging.getLogger(__name__)

CACHE_KIB = 65_536          # page cache per connection (KiB): bounds memory during big loads
MMAP_BYTES = 2**31 - 2**16  # reads memory-map the file (SQLite's default ceiling): 3x faster key-ordered scans
BUSY_TIMEOUT_S = 60.0       # wait this long for another writer before failing
DEFER_MIN_ROWS = 50_000     # a load touching at least this many rows (and 1/8 of the table) defers indexes
# Rows per INSERT statement: each statement also rewrites the AUTOINCREMENT counter and hands the
# GIL back and forth, so a few hundred rows at a time insert ~2x faster than one row at a time.
ROWS_PER_INSERT = 500
_KODE = re.compile(r"^\d{1,13}$")


class GpkgStore(Store):
    """Store in a GeoPackage file.

    Parameters
    ----------
    path : Path
        The ``.gpkg`` file; its parent folder is created. ``init()`` creates the file.

    Examples
    --------
    >>> store = GpkgStore(Path("petatps-data/petatps.gpkg"))
    >>> store.init()
    >>> store.load("tps", [tps_frame])
    """

    kind = "geopackage"

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"geopackage {self.path}: cannot create folder {self.path.parent}: {exc}") from None

    def describe(self) -> str:
        return f"geopackage {self.path}"

    # -- connections -----------------------------------------------------------------------
    @contextlib.contextmanager
    def _connect(self, what: str, *, create: bool = False, mmap: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection (autocommit; callers BEGIN themselves); sqlite errors become StoreError.

        ``mmap`` maps the file for reading: faster scans, paid in (reclaimable) page-cache RSS,
        which is why loads do not use it.
        """
        if not create and not self.path.exists():
            raise StoreError(f"geopackage {self.path}: file does not exist (run init first)")
        uri = f"file:{urllib.parse.quote(str(self.path.resolve()))}?mode={'rwc' if create else 'rw'}"
        conn = None
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_TIMEOUT_S,
                                   check_same_thread=False)
            self._check_geopackage(conn, allow_new=create)
            conn.execute("PRAGMA synchronous = NORMAL")
            # deleted rows (a purge of voters, a reload) are overwritten with zeros in the file, not
            # left readable on free pages; the default of some SQLite builds only
            conn.execute("PRAGMA secure_delete = ON")
            conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES if mmap else 0}")
            gpkg_binary.register_functions(conn)
            yield conn
        except sqlite3.Error as exc:
            hint = " (run init first)" if "no such table" in str(exc) else ""
            raise StoreError(f"geopackage {self.path}: cannot {what}: {exc}{hint}") from None
        finally:
            if conn is not None:
                conn.close()

    def _check_geopackage(self, conn: sqlite3.Connection, *, allow_new: bool) -> None:
        app_id = conn.execute("PRAGMA application_id").fetchone()[0]
        if app_id == gpkg_schema.APPLICATION_ID:
            return
        blank = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        if not (allow_new and blank):
            raise StoreError(f"geopackage {self.path}: not a GeoPackage (SQLite application_id {app_id:#x}, "
                             f"expected {gpkg_schema.APPLICATION_ID:#x} 'GPKG')")

    @contextlib.contextmanager
    def _transaction(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self._connect(what) as conn, _begin(conn):
            yield conn

    # -- schema ----------------------------------------------------------------------------
    def init(self) -> None:
        with self._connect("initialise the schema", create=True) as conn:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            with _begin(conn):
                gpkg_schema.create(conn)
                # not INSERT OR IGNORE: an ignored insert still advances the AUTOINCREMENT sequence
                conn.execute("INSERT INTO meta (key, value) SELECT 'data_version', ? "
                             "WHERE NOT EXISTS (SELECT 1 FROM meta WHERE key = 'data_version')",
                             (_new_version(0),))

    # -- writing ---------------------------------------------------------------------------
    def load(self, layer: str, chunks: Iterable[pd.DataFrame]) -> int:
        spec = _layer(layer)
        with self._transaction(f"load layer {layer!r}") as conn:
            inserted = _Loader(conn, spec).run(chunks)
            gpkg_schema.touch(conn, spec)
            _bump_version(conn)
        log.info("%s: loaded %d rows into %s", self.describe(), inserted, layer)
        return inserted

    def update(self, layer: str, frame: pd.DataFrame, columns: list[str]) -> int:
        spec = _layer(layer)
        frame = gpkg_rows.update_frame(spec, frame, list(columns))
        values = [gpkg_rows.column_values(frame, spec, c) for c in (*columns, *spec.key)]
        sets = ", ".join(f'"{_sql_column(c)}" = ?' for c in columns)
        where = " AND ".join(f'"{k}" = ?' for k in spec.key)
        with self._transaction(f"update layer {layer!r}") as conn:
            cur = conn.executemany(f'UPDATE "{spec.name}" SET {sets} WHERE {where}', zip(*values))
            changed = max(cur.rowcount, 0)
            gpkg_schema.touch(conn, spec)
            _bump_version(conn)
        return changed

    def purge(self, layer: str) -> int:
        spec = _layer(layer)
        with self._connect(f"purge layer {layer!r}") as conn:
            with _begin(conn):
                deleted = conn.execute(f'DELETE FROM "{spec.name}"').rowcount
                gpkg_schema.touch(conn, spec)
                _bump_version(conn)
            self._checkpoint(conn, f"purge of {layer}")
        return deleted

    def record_run(self, report: dict[str, Any]) -> None:
        text = json.dumps(report, ensure_ascii=False, default=_json_default)
        with self._transaction("record a run") as conn:
            conn.execute("INSERT INTO runs (kind, source, finished, report) VALUES (?, ?, ?, ?)",
                         (_text(report.get("kind")), _text(report.get("source")),
                          _text(report.get("finished")), text))

    def redact_runs(self, kind: str) -> int:
        with self._connect(f"redact {kind} runs") as conn:
            with _begin(conn):
                rows = conn.execute("SELECT id, report FROM runs WHERE kind = ? ORDER BY id", (_text(kind),)).fetchall()
                docs = [(json.dumps(d, ensure_ascii=False), i) for i, r in rows
                        if (d := redacted_report(json.loads(r)))]
                conn.executemany("UPDATE runs SET report = ? WHERE id = ?", docs)
            if docs:
                self._checkpoint(conn, f"redaction of {kind} runs")
        return len(docs)

    def _checkpoint(self, conn: sqlite3.Connection, what: str) -> None:
        """Move the committed pages into the file and empty the WAL, after deleting personal data.

        ``secure_delete`` zeroes deleted rows, but in new page versions in the WAL: the file keeps
        the old pages (and older WAL frames the loaded rows) until a checkpoint, which otherwise
        happens only when the last connection closes — a running server keeps one open.
        """
        if conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]:
            log.warning("%s: %s committed, but a reader kept the WAL: the deleted data leaves the file "
                        "at the next checkpoint", self.describe(), what)

    # -- reading ---------------------------------------------------------------------------
    def read(self, layer: str, kode: str | None = None) -> pd.DataFrame:
        frames = list(self.iter_read(layer, kode, chunksize=1_000_000))
        if not frames:
            return empty(layer)
        if len(frames) == 1:
            return frames[0]
        return conform(pd.concat(frames, ignore_index=True), layer)

    def iter_read(self, layer: str, kode: str | None = None, chunksize: int = 500_000) -> Iterator[pd.DataFrame]:
        spec = _layer(layer)
        sql, params = _select(spec, kode)
        return self._iter_rows(spec, sql, params, max(int(chunksize), 1))

    def _iter_rows(self, spec: Layer, sql: str, params: tuple, chunksize: int) -> Iterator[pd.DataFrame]:
        with self._connect(f"read layer {spec.name!r}", mmap=True) as conn:
            cur = conn.execute(sql, params)
            while rows := cur.fetchmany(chunksize):
                yield gpkg_rows.frame_from_rows(rows, spec)

    def counts(self) -> dict[str, int]:
        with self._connect("count rows") as conn:
            return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in LAYERS}

    def data_version(self) -> str:
        with self._connect("read the data version") as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
        if row is None:
            raise StoreError(f"geopackage {self.path}: no data_version in table meta (run init first)")
        return row[0]

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        with self._connect("read runs") as conn:
            rows = conn.execute("SELECT report FROM runs ORDER BY id DESC LIMIT ?", (int(limit),)).fetchall()
        return [json.loads(r[0]) for r in rows]


class _Loader:
    """One load inside an open transaction: per chunk, delete the stored rows of its scope values,
    then insert it. Rows stored before the load have ``fid <= before`` (AUTOINCREMENT), so a scope
    value met again in a later chunk never deletes rows this load inserted."""

    def __init__(self, conn: sqlite3.Connection, spec: Layer):
        self.conn, self.spec = conn, spec
        self.table_rows, self.before = conn.execute(
            f'SELECT count(*), coalesce(max("{gpkg_schema.FID}"), 0) FROM "{spec.name}"').fetchone()
        self.touched = 0
        self.deferred: list[gpkg_schema.Index] = []
        self.columns = spec.all_columns
        self.insert_head = f'INSERT INTO "{spec.name}" ({", ".join(_quoted(self.columns))}) VALUES '
        limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        self.rows_per_insert = max(1, min(ROWS_PER_INSERT, limit // len(self.columns)))
        self.old_rows = (f'FROM "{spec.name}" WHERE "{spec.scope}" IN (SELECT v FROM temp._scope) '
                         f'AND "{gpkg_schema.FID}" <= {int(self.before)}')
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS _scope (v PRIMARY KEY)")

    def run(self, chunks: Iterable[pd.DataFrame]) -> int:
        if not self.spec.geometry:
            return self._run(chunks)
        with gpkg_schema.bulk_rtree(self.conn, self.spec):
            return self._run(chunks)

    def _run(self, chunks: Iterable[pd.DataFrame]) -> int:
        inserted, last_fid = 0, self.before
        for chunk in chunks:
            frame = gpkg_rows.prepare_chunk(chunk, self.spec)
            if frame.empty:
                continue
            self.conn.execute("DELETE FROM temp._scope")
            self.conn.executemany("INSERT OR IGNORE INTO temp._scope (v) VALUES (?)",
                                  ((v,) for v in gpkg_rows.py_list(frame[self.spec.scope].dropna().unique())))
            deleting = self.conn.execute(f"SELECT count(*) {self.old_rows}").fetchone()[0]
            self._maybe_defer(deleting + len(frame))
            self.conn.execute(f"DELETE {self.old_rows}")
            self._insert([gpkg_rows.column_values(frame, self.spec, c) for c in self.columns])
            inserted += len(frame)
            if self.spec.geometry:
                last_fid = self._index_geometries(frame, last_fid)
        for ix in self.deferred:
            self.conn.execute(ix.ddl)
        return inserted

    def _insert(self, columns: list[list]) -> None:
        """Insert rows given as columns, in order, ``rows_per_insert`` rows per statement."""
        flat = list(itertools.chain.from_iterable(zip(*columns)))
        step = self.rows_per_insert * len(columns)
        full = len(flat) // step * step
        if full:
            self.conn.executemany(self._insert_sql(self.rows_per_insert),
                                  (flat[i:i + step] for i in range(0, full, step)))
        if full < len(flat):
            self.conn.execute(self._insert_sql((len(flat) - full) // len(columns)), flat[full:])

    def _insert_sql(self, rows: int) -> str:
        one = f"({', '.join('?' * len(self.columns))})"
        return self.insert_head + ", ".join([one] * rows)

    def _index_geometries(self, frame: pd.DataFrame, last_fid: int) -> int:
        """Add the chunk just inserted (the rows after ``last_fid``, in order) to the R-tree."""
        fids = [r[0] for r in self.conn.execute(
            f'SELECT "{gpkg_schema.FID}" FROM "{self.spec.name}" WHERE "{gpkg_schema.FID}" > ? '
            f'ORDER BY "{gpkg_schema.FID}"', (last_fid,))]
        if len(fids) != len(frame):
            raise sqlite3.IntegrityError(f"expected {len(frame)} new rows after fid {last_fid}, found {len(fids)}")
        gpkg_schema.rtree_add(self.conn, self.spec, fids, shapely.bounds(frame.geometry.values))
        return fids[-1]

    def _maybe_defer(self, upcoming: int) -> None:
        """Drop the deferrable indexes once this load is big compared with the table."""
        self.touched += upcoming
        if self.deferred or self.touched < max(DEFER_MIN_ROWS, self.table_rows // 8):
            return
        self.deferred = [ix for ix in gpkg_schema.indexes(self.spec)
                         if not ix.unique and ix.column != self.spec.scope]
        for ix in self.deferred:
            self.conn.execute(f'DROP INDEX IF EXISTS "{ix.name}"')
        if self.deferred:
            log.debug("load %s: rebuilding %s after the load", self.spec.name, [ix.name for ix in self.deferred])


# -- helpers ---------------------------------------------------------------------------------
@contextlib.contextmanager
def _begin(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any exception (the iterator's own included)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:     # SQLite may already have rolled back (e.g. disk full)
            conn.execute("ROLLBACK")
        raise


def _layer(layer: str) -> Layer:
    if not isinstance(layer, str) or layer not in LAYERS:
        raise NotFoundError(f"unknown layer {layer!r}; expected one of {', '.join(LAYERS)}")
    return LAYERS[layer]


def _quoted(columns: Iterable[str]) -> list[str]:
    return [f'"{_sql_column(c)}"' for c in columns]


def _sql_column(col: str) -> str:
    return gpkg_schema.GEOMETRY_COLUMN if col == "geometry" else col


def _select(spec: Layer, kode: str | None) -> tuple[str, tuple]:
    cols = ", ".join(f'"{_sql_column(c)}"' for c in spec.all_columns)
    order = ", ".join(f'"{k}"' for k in spec.key)
    where, params = "", ()
    if kode is not None:
        prefix = str(kode).replace(".", "").strip()
        if not _KODE.match(prefix):
            raise CodeError(f"kode filter must be a Kemendagri area code prefix of digits "
                            f"(e.g. 3172, 317201, 3172011001), got {kode!r}")
        col = "kode_kel" if "kode_kel" in spec.columns else "kode"
        # a range on the prefix uses the index (codes compare bytewise, '9' + 1 == ':')
        where, params = f' WHERE "{col}" >= ? AND "{col}" < ?', (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1))
    return f'SELECT {cols} FROM "{spec.name}"{where} ORDER BY {order}, "{gpkg_schema.FID}"', params


def _bump_version(conn: sqlite3.Connection) -> None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
    if row is None:
        raise sqlite3.OperationalError("no data_version row in table meta (run init first)")
    head = row[0].split(".")[0]
    counter = int(head) + 1 if head.isdigit() else 1
    conn.execute("UPDATE meta SET value = ? WHERE key = 'data_version'", (_new_version(counter),))


def _new_version(counter: int) -> str:
    """``<commit counter>.<random>``: the random part keeps versions unique if the file is recreated."""
    return f"{counter}.{secrets.token_hex(4)}"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item") and callable(obj.item):    # numpy scalar
        return obj.item()
    if obj is pd.NA:
        return None
    return str(obj)
