"""Stream and validate DPT voter lists in bounded chunks into the ``voters`` layer, with a Report.

Pure: reads a CSV/XLSX file and yields conforming ``voters`` chunks; never touches the store.
Personal data never leaves this module: a kept row carries only keyed hashes of NIK and KK
number (:func:`geo.codes.keyed_hash`), a masked name, sex, birth year and address; a rejected row
is written to the officer's rejected-rows file with NIK/NKK masked (:func:`geo.codes.mask_nik`)
and the name masked, plus its file line and reason. Nothing raw is logged. The one place raw
NIK/KK numbers go is the hashing helper of big files (:mod:`geo.keyhash`): a child process fed
through an anonymous pipe, which keeps them in memory only and sends back their keyed hashes.

Throughput: chunks are prepared in a background thread (:mod:`geo.prefetch`) while the caller
stores the previous one, and within it the NIK/KK hashing of chunk N runs in a helper process
(:mod:`geo.keyhash`) while chunk N+1 is parsed and checked. Duplicates across chunks:
:class:`geo.dpt_fields.SeenKeys`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo import schema, sources
from geo.checks import RowChecks, check_lengths, strip_text, whole_numbers, write_rejected
from geo.dpt_fields import SeenKeys, birth_dates, check_duplicates
from geo.errors import InputError
from geo.fastcodes import (
    arrow,
    char_matrix,
    clean_nik,
    fixed_width_text,
    hex_digests,
    hex_matrix,
    kelurahan_codes,
    labels,
    mask_name,
    mask_nik,
    nik_problems,
    packed,
    patched,
    plain_digits,
    text_series,
    two_digits,
)
from geo.keyhash import DIGEST_BYTES, KeyHasher
from geo.prefetch import prefetch
from geo.readers import CHUNKSIZE, LINE, Table, iter_table, open_table
from geo.report import Report

log = logging.getLogger(__name__)

_MALE = frozenset({"L", "LK", "LAKILAKI", "LAKI", "PRIA", "M", "MALE"})
_FEMALE = frozenset({"P", "PR", "PEREMPUAN", "WANITA", "W", "F", "FEMALE"})
HELPER_MIN_BYTES = 16 << 20  # files this big (~150,000 rows) hash in a helper process
_KEPT = frozenset(schema.LAYERS["voters"].columns) | {"nkk", "nama"}  # what a kept row needs from a chunk


def read_dpt(path: str | Path, *, key: bytes, rejected_path: str | Path | None = None,
             chunksize: int = CHUNKSIZE, kelurahan_codes: Iterable[str] | None = None,
             tps_codes: Iterable[str] | None = None) -> DptReader:
    """Open a DPT voter list (CSV or XLSX) for streaming into the ``voters`` layer.

    The file is checked (type, encoding, header) now, so a fatal problem raises before any row
    is read; rows are read, validated and hashed while the returned reader is iterated.

    Parameters
    ----------
    path : str or Path
        Columns ``nik, nkk, nama, jenis_kelamin, tanggal_lahir, alamat, rt, rw, kode_kel, tps``
        (common spellings recognised, see :mod:`geo.sources`); ``tps`` is the TPS number within
        the voter's kelurahan.
    key : bytes
        Secret key of the NIK/KK hash (``Settings.nik_key_bytes``).
    rejected_path : str or Path, optional
        Where to write rejected rows (masked); replaced if it exists, not created when none.
    chunksize : int
        Rows per chunk; bounds memory.
    kelurahan_codes, tps_codes : iterable of str, optional
        Known kelurahan codes (unknown → rejected) and TPS codes (unknown → warning).

    Returns
    -------
    DptReader
        Iterate it once for the conforming chunks; ``.report`` is complete after that.

    Raises
    ------
    InputError, EncodingProblem, EmptyInputError, MissingColumnError
        The file cannot be used at all.
    """
    if not key:
        raise ValueError("a non-empty NIK hash key is required")
    report = Report("load dpt", source=str(path))
    table = open_table(path, report)
    mapping = sources.match_columns(table.columns, "dpt", file=str(path))
    source = sources.identify(table.columns, "dpt")
    report.note(f"recognised as {source.name}")
    for quirk in source.quirks:
        report.note(quirk)
    if "jenis_kelamin" not in mapping.values():
        report.note("no jenis_kelamin column: sex taken from the NIK (day + 40 for women)")
    return DptReader(table, mapping, report, key=key, rejected_path=rejected_path, chunksize=chunksize,
                     kelurahan_codes=_codes(kelurahan_codes), tps_codes=_codes(tps_codes, digits=13))


def _codes(codes: Iterable[str] | None, digits: int = 10) -> np.ndarray | None:
    if codes is None:
        return None
    s = pd.Series(list(codes), dtype="string").str.strip().str.replace(r"[.\s]", "", regex=True)
    s = s[s.str.fullmatch(rf"\d{{{digits}}}").fillna(False)]
    return np.unique(s.to_numpy(dtype=object).astype(str)) if len(s) else None


@dataclasses.dataclass
class _Chunk:
    """A checked chunk whose NIK and KK hashes are being computed."""

    raw: pd.DataFrame
    frame: pd.DataFrame
    checks: RowChecks
    ok: np.ndarray                 # rows valid before the duplicate check (the hashed ones)
    nik_hashes: Future
    kk_codes: np.ndarray           # per valid row: its KK number among the hashed distinct ones
    kk_hashes: Future


def _digests(hashes: Future) -> np.ndarray:
    return np.frombuffer(hashes.result(), np.uint8).reshape(-1, DIGEST_BYTES)


class DptReader:
    """Iterable of conforming ``voters`` chunks from one DPT file; ``report`` once consumed.

    Iterating twice raises RuntimeError (the seen-NIK memory and the report are per pass).
    """

    def __init__(self, table: Table, mapping: dict[str, str], report: Report, *, key: bytes,
                 rejected_path: str | Path | None, chunksize: int, kelurahan_codes: np.ndarray | None,
                 tps_codes: np.ndarray | None):
        self.table, self.mapping, self.report = table, mapping, report
        self.rejected_path = Path(rejected_path) if rejected_path is not None else None
        self._key, self._chunksize = key, chunksize
        self._kel, self._tps = kelurahan_codes, tps_codes
        self._seen = SeenKeys()
        self._used = False
        self._per_kota: Counter = Counter()
        self._sex: Counter = Counter()

    def __iter__(self) -> Iterator[pd.DataFrame]:
        if self._used:
            raise RuntimeError("a DptReader can be iterated only once; call read_dpt() again")
        self._used = True
        # The next chunk is read, checked and hashed in a background thread while the caller
        # stores this one (PostgreSQL parses COPY in its own process, SQLite releases the GIL).
        return prefetch(self._chunks(), name="dpt-reader")

    def _chunks(self) -> Iterator[pd.DataFrame]:
        if self.rejected_path is not None:
            self.rejected_path.unlink(missing_ok=True)
        started = time.perf_counter()
        big = self.table.path.stat().st_size >= HELPER_MIN_BYTES
        with KeyHasher(self._key, helper=big) as hasher:
            pending = None
            for raw in iter_table(self.table, self.mapping, report=self.report, chunksize=self._chunksize):
                self.report.rows_read += len(raw)
                chunk = self._begin(raw, hasher)   # hashed while the pending chunk is finished
                if pending is not None:
                    yield from self._end(pending)
                pending = chunk
            if pending is not None:
                yield from self._end(pending)
        if self.report.rows_read and not self.report.rows_loaded:
            # Every row rejected means the file is not a usable DPT (wrong column, mangled export):
            # fail the load so the store keeps the previous voters of those kelurahan.
            reason, n = self.report.reasons.most_common(1)[0]
            raise InputError(f"no valid voter row: all {self.report.rows_read:,} rows rejected "
                             f"(most often: {reason}, {n:,} rows)", file=str(self.table.path))
        self._finish(time.perf_counter() - started)

    def _begin(self, raw: pd.DataFrame, hasher: KeyHasher) -> _Chunk:
        """Check a chunk and submit the NIKs and (distinct) KK numbers of its valid rows for hashing."""
        checks = RowChecks(raw, str(self.table.path))
        frame = validate_chunk(raw, checks, self._kel)
        warn_chunk(frame, checks, self._tps)
        ok = checks.ok.to_numpy()
        kk_codes, kk_values = pd.factorize(frame["nkk"][ok])
        return _Chunk(raw, frame, checks, ok, hasher.submit(*packed(frame["nik"][ok])), kk_codes,
                      hasher.submit(*packed(pd.Series(kk_values, dtype="string"))))

    def _end(self, c: _Chunk) -> Iterator[pd.DataFrame]:
        """Finish a chunk once hashed: duplicates, the report, rejected rows, the kept rows."""
        frame, checks = c.frame, c.checks
        digests = _digests(c.nik_hashes)
        frame["voter_key"] = hex_digests(digests, c.ok, frame.index)
        check_duplicates(frame, digests, c.raw[LINE].to_numpy(np.int64), checks, self._seen)
        checks.record(self.report)
        ok = checks.ok.to_numpy()
        if self.rejected_path is not None and not ok.all():
            self._write_rejected(_masked(checks.rejected_frame(c.raw)))
        kept = frame[[col for col in frame.columns if col in _KEPT]]
        kept = kept if ok.all() else kept.loc[ok]
        kk = c.kk_codes[ok[c.ok]]
        kk_key = fixed_width_text(hex_matrix(_digests(c.kk_hashes))[kk[kk >= 0]], kk >= 0)
        kept = kept.assign(kk_key=text_series(kk_key, kept.index), nama_masked=mask_name(kept["nama"]))
        self._per_kota.update(kept["kode_kel"].str[:4].value_counts().to_dict())
        self._sex.update(kept["jenis_kelamin"].value_counts().to_dict())
        self.report.rows_loaded += len(kept)
        if len(kept):
            yield schema.conform(kept, "voters")

    def _write_rejected(self, rejected: pd.DataFrame) -> None:
        back = {field: col for col, field in self.mapping.items()}
        write_rejected(self.rejected_path, rejected.rename(columns=back))
        self.report.rejected_file = str(self.rejected_path)

    def _finish(self, seconds: float) -> None:
        r = self.report
        r.figures["voters_per_kota"] = {str(k): int(v) for k, v in sorted(self._per_kota.items())}
        r.figures["voters_by_sex"] = {str(k): int(v) for k, v in sorted(self._sex.items())}
        r.figures["seconds"] = round(seconds, 2)
        r.figures["rows_per_second"] = int(r.rows_read / seconds) if seconds > 0 else None
        log.info("read %s voters from %s (%s rejected) in %.1f s", r.rows_loaded, r.source, r.rows_rejected,
                 seconds)
        r.finish()


def validate_chunk(raw: pd.DataFrame, checks: RowChecks, known_kelurahan: np.ndarray | None) -> pd.DataFrame:
    """Rejections of one chunk in priority order; returns the parsed fields (raw NIK/NKK/nama inside)."""
    check_lengths(raw, checks)          # first: no later check shows a runaway cell
    nik, nkk = clean_nik(raw["nik"]), clean_nik(raw["nkk"])
    for col, problem in (("nik", nik_problems(raw["nik"])), ("nkk", _nkk_problems(nkk))):
        bad = problem.notna()
        checks.reject(bad, col, problem, mask_nik(raw.loc[bad.to_numpy(), col]))
    # geo.codes accepts any Unicode digit ("３" too); stored keys are hashes of ASCII digits only.
    wide = ~plain_digits(nik, 16) & checks.ok.to_numpy()
    checks.reject(wide, "nik", "NIK is not 16 digits", mask_nik(raw.loc[wide, "nik"]))
    nama = strip_text(raw["nama"])
    checks.reject(nama.isna(), "nama", "missing nama")
    kode_kel, problem = kelurahan_codes(raw["kode_kel"])
    bad = problem.notna().to_numpy()
    checks.reject(bad, "kode_kel", "bad kode_kel: " + problem[bad], raw["kode_kel"], key="bad kode_kel")
    checks.reject(~plain_digits(kode_kel, 10), "kode_kel", "bad kode_kel: not a Kemendagri kelurahan code "
                  "(expected 10 digits, dotted or plain)", raw["kode_kel"], key="bad kode_kel")
    if known_kelurahan is not None:
        checks.reject(~_isin(kode_kel, known_kelurahan), "kode_kel", "kode_kel is not a known kelurahan", kode_kel)
    frame = pd.DataFrame({"nik": nik, "nkk": nkk, "nama": nama, "kode_kel": kode_kel}, index=raw.index)
    frame["alamat"] = strip_text(raw["alamat"]) if "alamat" in raw else pd.NA
    for col in ("rt", "rw"):
        numbers, blank, bad = whole_numbers(raw[col], prefix=col)
        checks.reject(blank, col, f"missing {col}")
        checks.reject(bad | (numbers < 1).fillna(False), col, f"{col} is not a positive whole number", raw[col])
        frame[col] = numbers
    tps, blank, bad = whole_numbers(raw["tps"], prefix="tps")
    checks.reject(blank | bad | ~tps.between(1, 999).fillna(False), "tps", "bad tps (expected a TPS number 1-999)",
                  raw["tps"])
    number = pa.array(tps.to_numpy(np.int64, na_value=0), pa.int64(), mask=tps.isna().to_numpy())
    frame["kode_tps"] = text_series(pc.binary_join_element_wise(
        arrow(kode_kel), pc.utf8_lpad(number.cast(pa.large_string()), 3, "0"), pa.scalar("", pa.large_string())),
        raw.index)
    year, ddmmyy = birth_dates(raw["tanggal_lahir"])
    checks.reject(year.isna(), "tanggal_lahir",
                  "tanggal_lahir not a date (expected DD-MM-YYYY, DD/MM/YYYY or YYYY-MM-DD)", raw["tanggal_lahir"])
    frame["tahun_lahir"], frame["_ddmmyy"] = year, ddmmyy
    frame["_jk"] = raw["jenis_kelamin"] if "jenis_kelamin" in raw else pd.Series(pd.NA, index=raw.index, dtype="string")
    return frame


def warn_chunk(frame: pd.DataFrame, checks: RowChecks, tps_codes: np.ndarray | None) -> None:
    """Warnings on rows (only kept rows are recorded); sets ``jenis_kelamin`` to L/P."""
    nik, ok = frame["nik"], checks.ok.to_numpy()
    day, month, yy = (np.zeros(len(frame), np.int64) for _ in range(3))
    d = char_matrix(nik if ok.all() else nik[ok], 16)   # kept NIKs are 16 plain digits
    day[ok], month[ok], yy[ok] = (two_digits(d, i) for i in (6, 8, 10))
    nik_sex = (day > 40).astype(np.int8)                # 0 = L, 1 = P
    nik_ddmmyy = (day % 40) * 10000 + month * 100 + yy
    given_ddmmyy = frame["_ddmmyy"].to_numpy(np.int64, na_value=-1)
    checks.warn(ok & (given_ddmmyy >= 0) & (given_ddmmyy != nik_ddmmyy), "tanggal_lahir",
                "NIK birth date (DDMMYY) differs from tanggal_lahir")
    sex = _sex(frame["_jk"])
    if frame["_jk"].notna().any():  # NA throughout: the file has no such column (noted once)
        checks.warn(ok & (sex < 0), "jenis_kelamin", "jenis_kelamin missing or not L/P: taken from the NIK",
                    frame["_jk"])
    checks.warn(ok & (sex >= 0) & (sex != nik_sex), "jenis_kelamin", "NIK sex (day + 40 for women) differs "
                "from jenis_kelamin", labels(sex, ["L", "P"], frame.index))
    frame["jenis_kelamin"] = labels(np.where(sex >= 0, sex, nik_sex), ["L", "P"], frame.index)
    # People who move keep their NIK: its region is where it was issued, not where they vote.
    region = pc.not_equal(pc.utf8_slice_codeunits(arrow(nik), 0, 6),
                          pc.utf8_slice_codeunits(arrow(frame["kode_kel"]), 0, 6))
    moved = ok & region.fill_null(False).to_numpy(zero_copy_only=False)
    checks.warn(moved, "nik", "NIK region differs from the voter's kecamatan (issued elsewhere)",
                nik[moved].str[:6])
    if tps_codes is not None:
        checks.warn(ok & ~_isin(frame["kode_tps"], tps_codes), "tps", "kode_tps not in the TPS list",
                    frame["kode_tps"])


def _nkk_problems(nkk: pd.Series) -> pd.Series:
    """Why each (cleaned) KK number is invalid, ``<NA>`` where it is 16 digits."""
    plain = plain_digits(nkk, 16)
    reason = labels(np.full(len(nkk), -1), [], nkk.index)
    if plain.all():
        return reason
    rest = nkk[~plain]
    r = pd.Series("NKK is not 16 digits", index=rest.index, dtype="string")
    r = r.mask(rest.str.contains(r"[eE][+]?[0-9]", regex=True).fillna(False),
               "NKK mangled into scientific notation (e.g. by Excel)")
    r = r.mask(rest.str.fullmatch("[0-9]{16}").fillna(False))
    return patched(reason, ~plain, r.mask(rest.isna() | (rest == ""), "missing NKK"))


def _sex(values: pd.Series) -> np.ndarray:
    """0 (``L``) or 1 (``P``) from the many ways sex is written; -1 when unknown (few distinct values)."""
    codes_, uniques = pd.factorize(values)
    keys = [str(u).upper().replace("-", "").replace(" ", "") for u in uniques]
    mapped = np.array([0 if k in _MALE else 1 if k in _FEMALE else -1 for k in keys] + [-1], dtype=np.int8)
    return mapped[codes_]


def _isin(values: pd.Series, sorted_codes: np.ndarray) -> pd.Series:
    return values.isin(sorted_codes).fillna(False)


def _masked(rejected: pd.DataFrame) -> pd.DataFrame:
    """Rejected rows with NIK/NKK and name masked: the raw values never reach the file."""
    masked = rejected.copy()
    for col in ("nik", "nkk"):
        masked[col] = mask_nik(rejected[col]).fillna("")
    masked["nama"] = mask_name(rejected["nama"]).fillna("")
    return masked


