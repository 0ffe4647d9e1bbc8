"""The storage contract shared by both backends.

Semantics every backend must honour (``tests/geo/store/test_contract.py`` checks them on both):

- ``init()`` creates the schema from :mod:`geo.schema`; calling it again changes nothing.
- ``load(layer, chunks)`` is **atomic and idempotent**: in one transaction it deletes the stored
  rows whose ``scope`` column value (see ``geo.schema.LAYERS[layer].scope``) occurs in the incoming
  rows, then inserts the incoming rows. If anything fails (including an exception raised by the
  ``chunks`` iterator itself) the store is left exactly as it was. Loading the same data twice
  leaves the same content. Chunks are frames conforming to the layer (``geo.schema.conform``);
  the iterator is consumed once, so the backend must not hold all chunks in memory at once.
- ``read(layer, kode=None)`` returns a conforming frame (GeoDataFrame in EPSG:4326 for geometry
  layers) sorted by the layer key; ``kode`` restricts to an area code prefix (kota ``3172``,
  kecamatan ``317201`` or kelurahan ``3172011001``) via the layer's kelurahan/kode column.
- ``iter_read(layer, kode=None, chunksize=...)`` streams the same rows in chunks (for voters).
- ``update(layer, frame, columns)`` sets ``columns`` on existing rows matched by the layer key
  (e.g. geocoding results on tps), atomically.
- ``counts()`` returns {layer: row count} for every layer.
- ``data_version()`` returns a string that changes whenever any load/update commits.
- ``record_run(report_dict)`` / ``runs(limit)`` keep the import/analysis reports, newest first.
- ``redact_runs(kind)`` strips the row-level lists (``rejections``, ``warnings``, ``rejected_file``)
  from every recorded run of that kind, as :func:`redacted_report` does; the runs, their counts and
  notes stay. Atomic; redacting again changes nothing.
- ``purge(layer)`` deletes all rows of a layer (e.g. voter-level data after an election).
"""

from __future__ import annotations

import abc
from typing import Any, Iterable, Iterator

import pandas as pd

ROW_LEVEL_KEYS = ("rejections", "warnings", "rejected_file")
REDACTED_NOTE = "row-level rejections and warnings removed by petatps purge"


def redacted_report(report: dict[str, Any]) -> dict[str, Any] | None:
    """``report`` (a ``Report.to_dict()``) without its row-level lists, or None when it holds none.

    The rejection and warning lists name file lines, fields and values (birth dates, addresses,
    masked NIKs); the per-reason counts (``rejected_by_reason``, ``warnings_by_reason``) and the
    row counts are aggregates and stay.

    Examples
    --------
    >>> doc = redacted_report({"kind": "load dpt", "rejections": [{"line": 3}], "warnings": []})
    >>> doc["rejections"], doc["rejected_file"], doc["notes"]
    ([], None, ['row-level rejections and warnings removed by petatps purge'])
    """
    if not any(report.get(key) for key in ROW_LEVEL_KEYS):
        return None
    return {**report, "rejections": [], "warnings": [], "notes": [*(report.get("notes") or []), REDACTED_NOTE],
            "rejected_file": None}


class Store(abc.ABC):
    """Abstract store; see the module docstring for the contract."""

    kind: str = "abstract"

    @abc.abstractmethod
    def init(self) -> None: ...

    @abc.abstractmethod
    def load(self, layer: str, chunks: Iterable[pd.DataFrame]) -> int:
        """Atomically replace rows by scope with the incoming rows; return rows inserted."""

    @abc.abstractmethod
    def read(self, layer: str, kode: str | None = None) -> pd.DataFrame: ...

    @abc.abstractmethod
    def iter_read(self, layer: str, kode: str | None = None, chunksize: int = 500_000) -> Iterator[pd.DataFrame]: ...

    @abc.abstractmethod
    def update(self, layer: str, frame: pd.DataFrame, columns: list[str]) -> int: ...

    @abc.abstractmethod
    def counts(self) -> dict[str, int]: ...

    @abc.abstractmethod
    def data_version(self) -> str: ...

    @abc.abstractmethod
    def record_run(self, report: dict[str, Any]) -> None: ...

    @abc.abstractmethod
    def runs(self, limit: int = 10) -> list[dict[str, Any]]: ...

    @abc.abstractmethod
    def redact_runs(self, kind: str) -> int:
        """Strip the row-level lists of every recorded run of ``kind``; return how many runs changed."""

    @abc.abstractmethod
    def purge(self, layer: str) -> int: ...

    def describe(self) -> str:
        """Human-readable location of the store (no password)."""
        return self.kind

    def close(self) -> None:
        """Release connections."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
