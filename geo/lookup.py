"""NIK lookup: "which TPS is mine?" answered from the DPT without ever keeping a raw NIK.

The NIK is validated, hashed with the store's key (:func:`geo.codes.nik_hash`) and the hash is
looked up among the stored ``voters``. A hit gives the DPT's TPS ("TPS Anda"), the masked name, and
the distance in metres from the voter's location (the representative point of their RT, else RW,
else kelurahan, exactly as :func:`geo.assign.voter_locations` places voters) to that TPS.

A miss gives a *neutral* answer that says nothing about whether the NIK exists elsewhere: the
kelurahan of the kecamatan the NIK's region digits name (to choose from), and, once a kelurahan is
chosen, the nearest TPS of that kelurahan to its representative point ("TPS terdekat", never
"TPS Anda"). The NIK itself never appears in a result, an exception message or a log line.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa

from geo.assign import voter_locations
from geo.codes import clean_nik, keyed_hash, nik_problems
from geo.errors import InputError
from geo.nearby import Nearest, PointIndex

VOTER_COLUMNS = ["voter_key", "nama_masked", "kode_kel", "rw", "rt", "kode_tps"]
_SCHEMA = pa.schema([("nama_masked", pa.string()), ("kode_kel", pa.string()), ("rw", pa.int16()),
                     ("rt", pa.int16()), ("kode_tps", pa.string())])


@dataclasses.dataclass(frozen=True)
class LookupResult:
    """Answer to one NIK lookup (no personal data beyond the masked name).

    Attributes
    ----------
    found : bool
        The NIK is in the stored DPT.
    nama_masked : str or None
        ``S**** R*****`` (found only).
    kode_tps : str or None
        The DPT's TPS (found only).
    distance_m : float or None
        Metres from the voter's RT/RW/kelurahan point to that TPS (``None`` if either is unplaced).
    located_by : str or None
        ``rt``, ``rw`` or ``kelurahan``: which polygon placed the voter.
    kode_kec : str or None
        Kecamatan named by the NIK's region digits (not found only).
    nearest : Nearest or None
        Not found with a chosen kelurahan: its TPS nearest to the kelurahan's point.
    """

    found: bool
    nama_masked: str | None = None
    kode_tps: str | None = None
    distance_m: float | None = None
    located_by: str | None = None
    kode_kec: str | None = None
    nearest: Nearest | None = None


class VoterIndex:
    """The stored DPT reduced to what a lookup needs, searchable by keyed hash in O(log n).

    Keys are held as two sorted ``uint64`` halves (16 bytes per voter) and the other columns as
    Arrow arrays, so 8 M voters take about 0.3 GB. Build it with :meth:`from_chunks`
    (e.g. ``store.iter_read("voters")``).
    """

    def __init__(self, hi: np.ndarray, lo: np.ndarray, table: pa.Table):
        self._hi, self._lo, self._table = hi, lo, table

    @classmethod
    def from_chunks(cls, chunks: Iterable[pd.DataFrame]) -> "VoterIndex":
        parts, his, los = [], [], []
        for chunk in chunks:
            keys = chunk["voter_key"].astype("string")
            ok = keys.str.fullmatch(r"[0-9a-f]{32}").fillna(False).to_numpy(bool)
            halves = _halves(keys[ok].tolist())
            his.append(halves[:, 0])
            los.append(halves[:, 1])
            parts.append(pa.table({c: _column(chunk.loc[ok, c], _SCHEMA.field(c).type) for c in _SCHEMA.names}, schema=_SCHEMA))
        if not parts:
            return cls(np.zeros(0, np.uint64), np.zeros(0, np.uint64), _SCHEMA.empty_table())
        hi, lo = np.concatenate(his), np.concatenate(los)
        order = np.lexsort((lo, hi))
        table = pa.concat_tables(parts).take(pa.array(order))
        return cls(hi[order], lo[order], table)

    def __len__(self) -> int:
        return len(self._hi)

    def find(self, voter_key: str) -> pd.DataFrame:
        """Rows of the voter with this keyed hash (empty frame when absent), sorted by ``kode_tps``."""
        hi, lo = _halves([voter_key])[0]
        start, stop = np.searchsorted(self._hi, hi, "left"), np.searchsorted(self._hi, hi, "right")
        rows = np.arange(start, stop)[self._lo[start:stop] == lo]
        out = self._table.take(pa.array(rows, type=pa.int64())).to_pandas()
        return out.sort_values("kode_tps", kind="mergesort").reset_index(drop=True)


class NikLookup:
    """Look NIKs up against the stored layers.

    Parameters
    ----------
    find_voter : callable
        ``voter_key -> DataFrame`` of matching ``voters`` rows (e.g. :meth:`VoterIndex.find`).
    key : bytes
        The NIK hash key (``Settings.nik_key_bytes``).
    points : PointIndex
        Placed TPS and kelurahan (for the neutral answer's nearest TPS).
    tps, kelurahan, rw, rt : GeoDataFrame
        The stored layers (EPSG:4326); ``rw``/``rt`` may be empty.
    """

    def __init__(self, find_voter: Callable[[str], pd.DataFrame], key: bytes, points: PointIndex,
                 tps: gpd.GeoDataFrame, kelurahan: gpd.GeoDataFrame, rw: gpd.GeoDataFrame, rt: gpd.GeoDataFrame):
        self._find, self._key, self._points = find_voter, key, points
        self._tps = tps.set_index(tps["kode_tps"].astype(str), drop=False)
        self._kel, self._rw, self._rt = kelurahan, rw, rt

    def __call__(self, nik: str, kode_kel: str | None = None) -> LookupResult:
        """Answer for ``nik`` (16 digits; spaces and dots are ignored).

        Raises
        ------
        InputError
            The NIK is not a valid NIK (the message never repeats it).
        """
        cleaned = _valid_nik(nik)
        rows = self._find(keyed_hash(pd.Series([cleaned], dtype="string"), self._key).iloc[0])
        if len(rows):
            return self._found(rows.iloc[0])
        return self._neutral(cleaned[:6], kode_kel)

    def _found(self, voter: pd.Series) -> LookupResult:
        kode_tps = str(voter["kode_tps"]) if pd.notna(voter["kode_tps"]) else None
        loc = self._location(voter)
        dist = None
        if kode_tps in self._tps.index and loc is not None:
            geom = self._tps.at[kode_tps, "geometry"]
            if geom is not None and not geom.is_empty:
                tx, ty = self._points.metric(geom.x, geom.y)
                dist = round(float(np.hypot(tx - loc[0], ty - loc[1])), 1)
        return LookupResult(True, nama_masked=_text(voter["nama_masked"]), kode_tps=kode_tps, distance_m=dist,
                            located_by=loc[2] if loc else None)

    def _location(self, voter: pd.Series) -> tuple[float, float, str] | None:
        kel = str(voter["kode_kel"])
        one = pd.DataFrame({"kode_kel": [kel], "rw": [voter["rw"]], "rt": [voter["rt"]]}).astype(
            {"kode_kel": "string", "rw": "Int16", "rt": "Int16"})
        locs = voter_locations(one, rt=_of_kel(self._rt, kel), rw=_of_kel(self._rw, kel),
                               kelurahan=self._kel[self._kel["kode"] == kel])
        row = locs.iloc[0]
        return None if row["loc_level"] == "none" else (float(row["x"]), float(row["y"]), str(row["loc_level"]))

    def nearest_in_kelurahan(self, kode_kel: str) -> Nearest | None:
        """The kelurahan's TPS nearest to its representative point (``None``: no such kelurahan or no
        placed TPS in it)."""
        kel = self._kel[self._kel["kode"] == kode_kel]
        if not len(kel) or kel.geometry.iloc[0] is None or kel.geometry.iloc[0].is_empty:
            return None
        point = kel.geometry.iloc[0].representative_point()
        return self._points.nearest(point.x, point.y, kode_kel=kode_kel)

    def _neutral(self, kode_kec: str, kode_kel: str | None) -> LookupResult:
        nearest = self.nearest_in_kelurahan(kode_kel) if kode_kel is not None else None
        return LookupResult(False, kode_kec=kode_kec, nearest=nearest)


def _valid_nik(nik: str) -> str:
    s = pd.Series([str(nik)[:64]], dtype="string")
    reason = nik_problems(s).iloc[0]
    if pd.notna(reason):
        raise InputError(f"invalid NIK: {reason}", field="nik")
    return str(clean_nik(s).iloc[0])


def _halves(keys: list[str]) -> np.ndarray:
    """(n, 2) uint64 big-endian halves of 32-hex-digit keys."""
    if not keys:
        return np.zeros((0, 2), dtype=np.uint64)
    raw = bytes.fromhex("".join(k[:32].rjust(32, "0") for k in keys))
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 2)


def _column(values: pd.Series, kind: pa.DataType) -> pa.Array:
    arr = pa.array(values, from_pandas=True)
    return arr.cast(kind) if arr.type != kind else arr


def _of_kel(layer: gpd.GeoDataFrame | None, kel: str) -> gpd.GeoDataFrame | None:
    if layer is None or not len(layer):
        return None
    return layer[layer["kode_kel"] == kel]


def _text(value) -> str | None:
    return None if pd.isna(value) else str(value)
