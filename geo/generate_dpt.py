"""Demo city DPT file: one kelurahan's voters as an Arrow table, dirty rows, chunked CSV writing.

Columns are those of a KPU DPT extract as the loaders accept it (``nik, nkk, nama, jenis_kelamin,
tanggal_lahir, alamat, rt, rw, kode_kel, tps``); ``tps`` is the TPS number within the kelurahan.
Values never contain a comma or a quote, so the CSV is written without quoting, as a spreadsheet
export would be. Dirty rows are planted at chosen positions and reported with their file line.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from geo.generate_people import BORN_FROM, BORN_TO, _dmy

SCHEMA = pa.schema([
    ("nik", pa.string()), ("nkk", pa.string()), ("nama", pa.string()), ("jenis_kelamin", pa.string()),
    ("tanggal_lahir", pa.string()), ("alamat", pa.string()), ("rt", pa.int32()), ("rw", pa.int32()),
    ("kode_kel", pa.string()), ("tps", pa.int32()),
])
# Kinds of dirty DPT rows and the field each one spoils. A duplicate is an extra copy of an
# earlier row (the later line is the dirty one); the others spoil one field of a row in place.
DPT_KINDS = {
    "nik_length": "nik",            # 15 or 17 digits
    "nik_excel": "nik",             # 3.17101E+15: the cell went through a spreadsheet as a number
    "nik_birth_date": "nik",        # DDMMYY is no date (day 00/32, month 00/13)
    "nik_duplicate": "nik",         # the same voter listed twice
    "kode_kel_invalid": "kode_kel",  # a digit lost, or letter O for zero
    "rt_missing": "rt",             # RT left empty
}


@dataclasses.dataclass
class Voters:
    """The voters of one kelurahan, one entry per voter (``names``/``alamat`` are Arrow arrays)."""

    nik: np.ndarray
    nkk: np.ndarray
    names: pa.Array
    female: np.ndarray
    birth: np.ndarray
    alamat: pa.Array
    rt: np.ndarray
    rw: np.ndarray
    kode_kel: str
    tps: np.ndarray


def dpt_table(v: Voters) -> pa.Table:
    """The DPT rows of one kelurahan as an Arrow table with :data:`SCHEMA`."""
    n = len(v.nik)
    sex = pa.array(["L", "P"]).take(pa.array(v.female.astype(np.int8)))
    born = _date_strings().take(pa.array((v.birth - BORN_FROM).astype(np.int64)))
    kode = pa.array([v.kode_kel]).take(pa.array(np.zeros(n, dtype=np.int32)))
    return pa.Table.from_arrays([
        pa.array(v.nik).cast(pa.string()), pa.array(v.nkk).cast(pa.string()), v.names, sex, born, v.alamat,
        pa.array(v.rt.astype(np.int32)), pa.array(v.rw.astype(np.int32)), kode, pa.array(v.tps.astype(np.int32)),
    ], schema=SCHEMA)


def plant_dirty(table: pa.Table, picks: dict[str, np.ndarray], rng: np.random.Generator
                ) -> tuple[pa.Table, np.ndarray, np.ndarray]:
    """Spoil the rows at ``picks[kind]`` (positions in ``table``; disjoint) and insert the copies.

    Returns the new table, and the positions (in the new table) and kinds of the dirty rows.
    """
    n = table.num_rows
    kind_of = np.zeros(n, dtype=np.int8)
    kinds = list(DPT_KINDS)
    columns = {name: table.column(name) for name in table.column_names}
    for kind, spoil in _SPOIL.items():
        at = np.asarray(picks.get(kind, []), dtype=np.int64)
        if len(at):
            field = DPT_KINDS[kind]
            columns[field] = _replace(columns[field], at, spoil(columns[field], at, rng))
            kind_of[at] = kinds.index(kind) + 1
    table = pa.table(columns, schema=SCHEMA)
    src = np.sort(np.asarray(picks.get("nik_duplicate", []), dtype=np.int64))
    if len(src):
        where = rng.integers(src + 1, n + 1)
        order = np.insert(np.arange(n), where, src)
        kind_of = np.insert(kind_of, where, kinds.index("nik_duplicate") + 1)
        table = table.take(pa.array(order))
    at = np.flatnonzero(kind_of)
    return table, at, np.array(kinds, dtype=object)[kind_of[at] - 1]


class DptWriter:
    """Write DPT chunks to one CSV (header once, unquoted, ``\\n`` line ends) and count lines."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.rows = 0
        options = pacsv.WriteOptions(quoting_style="none", quoting_header="none")
        self._sink = pa.OSFile(str(self.path), "wb")
        self._writer = pacsv.CSVWriter(self._sink, SCHEMA, write_options=options)

    def write(self, table: pa.Table) -> int:
        """Append a chunk; return the file line of its first row (the header is line 1)."""
        first_line = self.rows + 2
        if table.num_rows:
            self._writer.write_table(table)
        self.rows += table.num_rows
        return first_line

    def close(self) -> None:
        self._writer.close()
        self._sink.close()


def _replace(column: pa.Array | pa.ChunkedArray, at: np.ndarray, values: list) -> pa.Array:
    mask = np.zeros(len(column), dtype=bool)
    mask[at] = True
    order = np.argsort(at)
    values = pa.array([values[i] for i in order], type=column.type)
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return pc.replace_with_mask(column, pa.array(mask), values)


def _nik_length(col, at, rng):
    extra = rng.integers(0, 10, len(at))
    return [s[:-1] if e % 2 else s + str(e) for s, e in zip(col.take(pa.array(at)).to_pylist(), extra)]


def _nik_excel(col, at, rng):
    return [f"{int(s) / 1e15:.5f}E+15" for s in col.take(pa.array(at)).to_pylist()]


def _nik_birth_date(col, at, rng):
    bad = rng.integers(0, 4, len(at))
    spoil = [lambda s: s[:6] + "00" + s[8:], lambda s: s[:6] + "32" + s[8:],
             lambda s: s[:8] + "00" + s[10:], lambda s: s[:8] + "13" + s[10:]]
    return [spoil[b](s) for s, b in zip(col.take(pa.array(at)).to_pylist(), bad)]


def _kode_invalid(col, at, rng):
    bad = rng.integers(0, 2, len(at))
    return [s[:-1] if b else s[:6] + "O" + s[7:] for s, b in
            zip(col.take(pa.array(at)).to_pylist(), bad)]


def _rt_missing(col, at, rng):
    return [None] * len(at)


_SPOIL = {"nik_length": _nik_length, "nik_excel": _nik_excel, "nik_birth_date": _nik_birth_date,
          "kode_kel_invalid": _kode_invalid, "rt_missing": _rt_missing}


def _date_strings() -> pa.Array:
    """Every birth date from BORN_FROM to BORN_TO as ``DD-MM-YYYY`` (index = days since BORN_FROM)."""
    global _DATES
    if _DATES is None:
        dates = np.arange(BORN_FROM, BORN_TO + np.timedelta64(1, "D"))
        day, month, _ = _dmy(dates)
        year = dates.astype("datetime64[Y]").astype(np.int64) + 1970
        text = (pd.Series(day).astype("string").str.zfill(2) + "-" + pd.Series(month).astype("string").str.zfill(2)
                + "-" + pd.Series(year).astype("string"))
        _DATES = pa.array(text.to_numpy(dtype=object), type=pa.string())
    return _DATES


_DATES: pa.Array | None = None
