"""Read and normalise TPS (polling station) lists into the ``tps`` layer, with a Report.

Pure: reads a CSV/XLSX file and returns a conforming GeoDataFrame (geometry all empty: the
geocoder places the TPS later) and a Report; never touches the store. A TPS is keyed by
``kode_tps`` = 10-digit Kemendagri kelurahan code + 3-digit TPS number.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geo import schema, sources
from geo.checks import RowChecks, check_lengths, strip_text, whole_numbers, write_rejected
from geo.codes import kode_problems, normalize_kode
from geo.readers import LINE, open_table, read_table
from geo.report import Report

log = logging.getLogger(__name__)

SPECIAL_TPS = 900  # KPU numbers special TPS (prisons, hospitals...) from 900 within a kelurahan
_YES = {"ya", "y", "yes", "true", "1", "ada", "v", "x"}
_NO = {"tidak", "t", "no", "n", "false", "0", "tidakada", "-"}


def read_tps(path: str | Path, *, rejected_path: str | Path | None = None,
             kelurahan_codes: Iterable[str] | None = None) -> tuple[gpd.GeoDataFrame, Report]:
    """Read a TPS list (CSV or XLSX) into the ``tps`` layer.

    Parameters
    ----------
    path : str or Path
        The TPS list: the gigit-pemilu/KPU columns (``kode_tps``, ``kode_kel``, ``no_tps``, ``dpt``,
        ``dpt_l``, ``dpt_p``, names...) and optionally ``alamat``, ``rt``, ``rw``, ``lat``, ``lon``,
        ``akses_disabilitas``; common spellings are recognised (see :mod:`geo.sources`).
    rejected_path : str or Path, optional
        Where to write the rejected rows (file line, reason, row as given); replaced if it exists.
    kelurahan_codes : iterable of str, optional
        Known kelurahan codes; when given and non-empty, a TPS of another kelurahan is rejected.

    Returns
    -------
    (GeoDataFrame, Report)
        Conforming ``tps`` rows (EPSG:4326, geometry None; ``lat_src``/``lon_src`` hold the
        coordinates as given) in file order, and the load report (balanced, with figures per kota).

    Raises
    ------
    InputError, EncodingProblem, EmptyInputError, MissingColumnError
        The file cannot be used at all.

    Examples
    --------
    >>> tps, report = read_tps("tps.csv", rejected_path="tps.rejected.csv")  # doctest: +SKIP
    """
    report = Report("load tps", source=str(path))
    table = open_table(path, report)
    mapping = sources.match_columns(table.columns, "tps", file=str(path))
    _note_source(report, sources.identify(table.columns, "tps"), mapping)
    raw = read_table(table, mapping, report=report)
    report.rows_read = len(raw)
    checks = RowChecks(raw, str(path))
    frame = _validate(raw, checks, _code_set(kelurahan_codes))
    checks.record(report)
    kept = checks.ok.to_numpy()
    if rejected_path is not None:
        _write_rejected(Path(rejected_path), checks.rejected_frame(raw), mapping, report)
    out = schema.conform(frame.loc[kept], "tps")
    report.rows_loaded = len(out)
    report.figures.update(_figures(out, frame.loc[kept, "nama_kota"]))
    log.info("read %s TPS from %s (%s rejected)", report.rows_loaded, path, report.rows_rejected)
    return out, report.finish()


def _note_source(report: Report, source: sources.Source, mapping: dict[str, str]) -> None:
    report.note(f"recognised as {source.name}")
    renamed = [f"{col}→{field}" for col, field in mapping.items() if col != field]
    if renamed:
        report.note("columns: " + ", ".join(renamed))
    for quirk in source.quirks:
        report.note(quirk)


def _code_set(codes: Iterable[str] | None) -> set[str] | None:
    if codes is None:
        return None
    norm = normalize_kode(pd.Series(list(codes), dtype="string")).dropna()
    return set(norm) or None


def _validate(raw: pd.DataFrame, checks: RowChecks, known: set[str] | None) -> pd.DataFrame:
    check_lengths(raw, checks)          # first: no later check shows a runaway cell
    frame = pd.DataFrame(index=raw.index)
    for col in ("kode_tps", "kode_kel", "no_tps", "nama", "alamat", "lat", "lon", "nama_kota"):
        frame[col] = strip_text(raw[col]) if col in raw else pd.Series(pd.NA, index=raw.index, dtype="string")
    _check_codes(frame, checks, known)
    _check_counts(raw, frame, checks)
    _check_duplicates(frame, raw[LINE], checks)
    _check_rt_rw(raw, frame, checks)
    _fill_defaults(raw, frame, checks)
    flags = [("special_tps", frame["no_tps"] >= SPECIAL_TPS), ("dpt_unknown", frame["dpt"].isna()),
             ("dpt_mismatch", frame.pop("_mismatch"))]
    frame["flags"] = _join_flags(flags, raw.index)
    return frame


def _check_codes(frame: pd.DataFrame, checks: RowChecks, known: set[str] | None) -> None:
    given = frame["kode_tps"].str.replace(r"\.0$|[.\s-]", "", regex=True)
    # A missing kode_kel/no_tps column (or cell) is taken from kode_tps when that is well formed.
    from_tps = given.str.fullmatch(r"\d{13}").fillna(False)
    kel_raw = frame["kode_kel"].mask(frame["kode_kel"].isna() & from_tps, given.str[:10])
    no_raw = frame["no_tps"].mask(frame["no_tps"].isna() & from_tps, given.str[10:])
    checks.reject(given.notna() & ~from_tps, "kode_tps", "bad kode_tps (expected 13 digits)", frame["kode_tps"])
    problem = kode_problems(kel_raw, "kelurahan")
    checks.reject(problem.notna(), "kode_kel", "bad kode_kel: " + problem.fillna(""), kel_raw, key="bad kode_kel")
    no_tps, blank, bad = whole_numbers(no_raw, prefix="tps")
    out_of_range = (no_tps < 1) | (no_tps > 999)
    checks.reject(blank | bad | out_of_range.fillna(False), "no_tps",
                  "bad no_tps (expected a whole number 1-999)", no_raw)
    kode_kel = normalize_kode(kel_raw)
    kode_tps = (kode_kel + no_tps.astype("string").str.zfill(3)).where(checks.ok)
    wrong = given.notna() & (given != kode_tps)
    checks.reject(wrong, "kode_tps", "kode_tps disagrees with kode_kel + no_tps (expected " + kode_tps.fillna("")
                  + ")", frame["kode_tps"], key="kode_tps disagrees with kode_kel + no_tps")
    if known:
        checks.reject(~kode_kel.isin(known), "kode_kel", "kode_kel is not a known kelurahan", kode_kel)
    frame["kode_kel"], frame["no_tps"], frame["kode_tps"] = kode_kel, no_tps, kode_tps
    checks.warn(no_tps >= SPECIAL_TPS, "no_tps", "special TPS (no_tps >= 900)", no_raw)


def _check_counts(raw: pd.DataFrame, frame: pd.DataFrame, checks: RowChecks) -> None:
    parsed = {}
    for col in ("dpt", "dpt_l", "dpt_p"):
        given = raw[col] if col in raw else pd.Series("", index=raw.index, dtype="string")
        numbers, blank, bad = whole_numbers(given)
        checks.reject(bad, col, f"{col} is not a whole number >= 0", given, key=f"bad {col}")
        parsed[col] = (numbers, blank, given)
    dpt, blank, given = parsed["dpt"]
    if "dpt" in raw:
        checks.warn(blank, "dpt", "dpt blank (stored as unknown)")
    # 0 registered voters means an unfilled form (338 rows in SIREKAP), not an empty TPS.
    zero = (dpt == 0).fillna(False)
    checks.warn(zero, "dpt", "dpt 0 treated as blank (stored as unknown)", given)
    l, p = parsed["dpt_l"][0], parsed["dpt_p"][0]
    mismatch = (dpt != l + p).fillna(False) & ~zero
    shown = dpt.astype("string") + " != " + l.astype("string") + " + " + p.astype("string")
    checks.warn(mismatch, "dpt", "dpt differs from dpt_l + dpt_p", shown)
    frame["dpt"] = dpt.mask(zero)
    frame["dpt_l"] = l.mask(zero & (l == 0).fillna(False))
    frame["dpt_p"] = p.mask(zero & (p == 0).fillna(False))
    frame["_mismatch"] = mismatch


def _check_duplicates(frame: pd.DataFrame, lines: pd.Series, checks: RowChecks) -> None:
    code = frame["kode_tps"].where(checks.ok)
    dup = code.duplicated(keep="first") & code.notna()
    if not dup.any():
        return
    first = lines.groupby(code).transform("min").astype("Int64").astype("string")
    checks.reject(dup, "kode_tps", "duplicate kode_tps (first on line " + first + ")",
                  code, key="duplicate kode_tps")


def _check_rt_rw(raw: pd.DataFrame, frame: pd.DataFrame, checks: RowChecks) -> None:
    for col in ("rw", "rt"):
        given = raw[col] if col in raw else pd.Series("", index=raw.index, dtype="string")
        numbers, _, bad = whole_numbers(given, prefix=col)
        bad = bad | (numbers < 1).fillna(False)
        checks.warn(bad, col, f"{col} unparseable (stored as unknown)", given)
        frame[col] = numbers.mask(bad)


def _fill_defaults(raw: pd.DataFrame, frame: pd.DataFrame, checks: RowChecks) -> None:
    frame["nama"] = frame["nama"].fillna("TPS " + frame["no_tps"].astype("string").str.zfill(3))
    frame["lat_src"], frame["lon_src"] = frame.pop("lat"), frame.pop("lon")
    for col, default in (("jam_buka", schema.DEFAULT_JAM_BUKA), ("jam_tutup", schema.DEFAULT_JAM_TUTUP)):
        given = strip_text(raw[col]) if col in raw else pd.Series(pd.NA, index=raw.index, dtype="string")
        hhmm = given.str.replace(".", ":", regex=False).str.extract(r"^([01]?\d|2[0-3]):([0-5]\d)$")
        valid = hhmm[0].notna()
        checks.warn(given.notna() & ~valid, col, f"{col} not HH:MM (default {default} used)", given)
        frame[col] = (hhmm[0].str.zfill(2) + ":" + hhmm[1]).where(valid, default)
    kpps = whole_numbers(raw["kpps"])[0] if "kpps" in raw else pd.Series(pd.NA, index=raw.index, dtype="Int64")
    frame["kpps"] = kpps.fillna(schema.DEFAULT_KPPS)
    frame["akses_disabilitas"] = _yes_no(raw, checks)


def _yes_no(raw: pd.DataFrame, checks: RowChecks) -> pd.Series:
    if "akses_disabilitas" not in raw:
        return pd.Series(pd.NA, index=raw.index, dtype="boolean")
    given = strip_text(raw["akses_disabilitas"])
    key = given.str.lower().str.replace(r"[^a-z0-9-]", "", regex=True)
    yes, no = key.isin(_YES).fillna(False), key.isin(_NO).fillna(False)
    checks.warn(given.notna() & ~yes & ~no, "akses_disabilitas", "akses_disabilitas not ya/tidak", given)
    return pd.Series(np.where(yes, True, False), index=raw.index, dtype="boolean").where(yes | no)


def _join_flags(flags: list[tuple[str, pd.Series]], index: pd.Index) -> pd.Series:
    out = pd.Series("", index=index, dtype="string")
    for name, mask in flags:
        on = mask.fillna(False).astype(bool)
        out = out.mask(on, out + ";" + name)
    out = out.str.lstrip(";")
    return out.mask(out == "")


def _figures(out: gpd.GeoDataFrame, nama_kota: pd.Series) -> dict:
    kota = out["kode_kel"].str[:4]
    names = pd.Series(nama_kota.to_numpy(), index=out.index).groupby(kota).first().dropna()
    return {
        "tps_per_kota": {str(k): int(v) for k, v in kota.value_counts().sort_index().items()},
        "kota_names": {str(k): str(v) for k, v in names.sort_index().items()},
        "dpt_per_kota": {str(k): int(v) for k, v in out["dpt"].groupby(kota).sum().sort_index().items()},
        "kelurahan": int(out["kode_kel"].nunique()),
        "tps_with_dpt": int(out["dpt"].notna().sum()),
        "special_tps": int((out["no_tps"] >= SPECIAL_TPS).sum()),
    }


def _write_rejected(path: Path, rejected: pd.DataFrame, mapping: dict[str, str], report: Report) -> None:
    path.unlink(missing_ok=True)
    if not len(rejected):
        return
    back = {field: col for col, field in mapping.items()}
    write_rejected(path, rejected.rename(columns=back))
    report.rejected_file = str(path)
