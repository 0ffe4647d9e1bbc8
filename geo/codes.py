"""Kemendagri region codes, TPS codes, NIK validation, keyed hashing and name masking.

Codes are Kemendagri (Permendagri/Kepmendagri) codes, never BPS codes:
provinsi ``31`` › kota/kab ``3171`` › kecamatan ``317101`` › kelurahan ``3171011001``.
RW and RT are keyed by kelurahan code + number: ``3171011001-005`` and ``3171011001-005-003``
(the dashes keep these keys from ever looking like a 16-digit NIK).
A TPS is keyed by ``kode_tps`` = kelurahan code + 3-digit TPS number (13 digits).

All functions take and return pandas Series (vectorized); scalar helpers wrap them.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd

from geo.errors import CodeError

LEVEL_LENGTHS = {"provinsi": 2, "kota": 4, "kecamatan": 6, "kelurahan": 10}
LENGTH_LEVELS = {v: k for k, v in LEVEL_LENGTHS.items()}
# Kemendagri province codes (38 provinces, 2024).
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 16 17 18 19 21 31 32 33 34 35 36 51 52 53 61 62 63 64 65 "
    "71 72 73 74 75 76 81 82 91 92 93 94 95 96".split()
)


def normalize_kode(values: pd.Series) -> pd.Series:
    """Normalise region codes from dotted (``31.71.01.1001``) or plain form to digits.

    Returns a string Series; invalid entries become ``<NA>`` (use :func:`kode_problems`
    to learn why). Leading/trailing spaces and a trailing ``.0`` (spreadsheet floats) are removed.
    """
    s = values.astype("string").str.strip()
    s = s.str.replace(r"\.0$", "", regex=True)
    s = s.str.replace(r"[.\s]", "", regex=True)
    ok = s.str.fullmatch(r"\d{2}|\d{4}|\d{6}|\d{10}").fillna(False)
    return s.where(ok, pd.NA)


def kode_problems(values: pd.Series, level: str) -> pd.Series:
    """Reason per entry why it is not a valid code of ``level`` (``<NA>`` where valid)."""
    want = LEVEL_LENGTHS[level]
    norm = normalize_kode(values)
    raw = values.astype("string").str.strip()
    reason = pd.Series(pd.NA, index=values.index, dtype="string")
    reason = reason.mask(norm.str.len() != want, f"not a {want}-digit {level} code")
    reason = reason.mask(norm.isna(), f"not a Kemendagri {level} code (expected {want} digits, dotted or plain)")
    reason = reason.mask(raw.isna() | (raw == ""), "missing code")
    prov_ok = norm.str[:2].isin(PROVINCE_CODES)
    reason = reason.mask(norm.notna() & (norm.str.len() == want) & ~prov_ok, "unknown province prefix")
    return reason


def level_of(kode: str) -> str:
    """Level name of a normalised code (``'3171'`` → ``'kota'``)."""
    try:
        return LENGTH_LEVELS[len(kode)]
    except KeyError:
        raise CodeError(f"not a Kemendagri code: {kode!r} (expected 2, 4, 6 or 10 digits)") from None


def parse_wilayah(kode: str) -> str:
    """Validate a user-given area code (dotted or plain) and return it normalised."""
    norm = normalize_kode(pd.Series([kode])).iloc[0]
    if pd.isna(norm):
        raise CodeError(f"not a Kemendagri area code: {kode!r} (expected e.g. 3172, 317201 or 3172011001)")
    return str(norm)


def make_kode_tps(kode_kel: pd.Series, no_tps: pd.Series) -> pd.Series:
    """``kode_kel`` + TPS number zero-padded to 3 digits."""
    return kode_kel.astype("string") + no_tps.astype("Int64").astype("string").str.zfill(3)


def rw_key(kode_kel: pd.Series, rw: pd.Series) -> pd.Series:
    """RW key ``<kode_kel>-<rw:03d>``."""
    return kode_kel.astype("string") + "-" + rw.astype("Int64").astype("string").str.zfill(3)


def rt_key(kode_kel: pd.Series, rw: pd.Series, rt: pd.Series) -> pd.Series:
    """RT key ``<kode_kel>-<rw:03d>-<rt:03d>``."""
    return rw_key(kode_kel, rw) + "-" + rt.astype("Int64").astype("string").str.zfill(3)


# --- NIK -----------------------------------------------------------------------------------

def clean_nik(values: pd.Series) -> pd.Series:
    """Strip spaces, dots and a leading apostrophe (Excel text marker) from NIK strings."""
    s = values.astype("string").str.strip()
    return s.str.replace(r"^'|[\s.\-]", "", regex=True)


def nik_problems(nik: pd.Series) -> pd.Series:
    """Reason per NIK why it is invalid (``<NA>`` where valid).

    Checks: 16 digits; a known province prefix; DDMMYY birth date valid, where women's
    day is +40. An Excel-mangled NIK (``3.17101E+15``) is reported as such.
    """
    s = clean_nik(nik)
    reason = pd.Series(pd.NA, index=nik.index, dtype="string")
    digits16 = s.str.fullmatch(r"\d{16}").fillna(False)
    reason = reason.mask(~digits16, "NIK is not 16 digits")
    reason = reason.mask(s.str.contains(r"[eE]\+?\d", regex=True).fillna(False),
                         "NIK mangled into scientific notation (e.g. by Excel)")
    reason = reason.mask(s.isna() | (s == ""), "missing NIK")
    ok = digits16.to_numpy()
    if ok.any():
        sub = s[ok]
        prov_bad = ~sub.str[:2].isin(PROVINCE_CODES)
        day = sub.str[6:8].astype(int)
        month = sub.str[8:10].astype(int)
        yy = sub.str[10:12].astype(int)
        day = day.where(day <= 40, day - 40)
        date_bad = ~_valid_dates(yy.to_numpy() + 1900, month.to_numpy(), day.to_numpy())
        r = pd.Series(pd.NA, index=sub.index, dtype="string")
        r = r.mask(pd.Series(date_bad, index=sub.index), "NIK birth date (DDMMYY, women +40) is not a valid date")
        r = r.mask(prov_bad, "NIK region prefix is not a known province")
        reason.loc[sub.index] = r
    return reason


def nik_birth_sex(nik: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(day-month as ``DDMM``, sex ``'L'``/``'P'``) encoded in valid NIKs."""
    s = clean_nik(nik)
    day = pd.to_numeric(s.str[6:8], errors="coerce")
    sex = pd.Series(np.where(day > 40, "P", "L"), index=s.index, dtype="string").where(day.notna())
    dd = day.where(day <= 40, day - 40).astype("Int64").astype("string").str.zfill(2)
    return dd + s.str[8:10], sex


def _valid_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    # Leap years: the century is unknown from YY, so Feb 29 is accepted for any YY % 4 == 0.
    mdays = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    month_ok = (month >= 1) & (month <= 12)
    limit = mdays[np.clip(month, 0, 12)]
    limit = np.where((month == 2) & (year % 4 != 0), 28, limit)
    return month_ok & (day >= 1) & (day <= limit)


def keyed_hash(values: pd.Series, key: bytes) -> pd.Series:
    """HMAC-SHA256 of each value with ``key``, hex, truncated to 32 characters (128 bits).

    The raw identifier (NIK, KK number) is never stored; only this hash. Without the key
    the hash cannot be reversed by enumerating the (small) NIK space.
    """
    if not key:
        raise ValueError("a non-empty hash key is required")
    digest = hmac.digest
    out = [digest(key, v.encode(), "sha256").hex()[:32] if isinstance(v, str) else None
           for v in values.astype(object).where(values.notna(), None)]
    return pd.Series(out, index=values.index, dtype="string")


def nik_hash(nik: str, key: bytes) -> str:
    """Keyed hash of one NIK (as stored); for lookups."""
    return keyed_hash(pd.Series([nik]), key).iloc[0]


def mask_name(names: pd.Series) -> pd.Series:
    """Keep the first letter of each word, mask the rest: ``SITI RAHAYU`` → ``S*** R*****``."""
    s = names.astype("string").str.strip().str.replace(r"\s+", " ", regex=True)
    return s.str.replace(r"(?<=\w)\w", "*", regex=True)


def mask_nik(nik: pd.Series) -> pd.Series:
    """Show only the region prefix and the last 2 digits: ``317101**********01``-style, fixed width."""
    s = clean_nik(nik)
    return s.str[:6] + "*" * 8 + s.str[-2:].where(s.str.len() >= 16, "**")
