"""Bulk fast paths of :mod:`geo.codes` for the DPT loader (millions of rows).

pandas runs a regex with ``\\s`` or a look-behind, and ``str.extract``, as a Python loop per row
(~5 µs); ``hmac.digest`` looks the digest up on every call. Each function here returns exactly
what its :mod:`geo.codes` twin returns (pinned by property tests in ``tests/geo/test_fastcodes.py``):
rows in the plain, common form (ASCII digits, ASCII names) are handled with pyarrow/numpy kernels,
every other row is handed to the :mod:`geo.codes` function itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from geo import codes
from geo.keyhash import DIGEST_BYTES, hmac_digests

_WORD = np.zeros(256, dtype=bool)
_WORD[[*range(48, 58), *range(65, 91), *range(97, 123), 95]] = True
_PROVINCES = pa.array(sorted(codes.PROVINCE_CODES), pa.large_string())
_PROVINCE_INTS = np.array(sorted(int(p) for p in codes.PROVINCE_CODES))
_MDAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
# What Python's str.strip() and \s treat as space among ASCII characters (RE2's \s knows fewer).
_ASCII_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_NIK_NOISE = r"^'|[\t\n\r\x0b\x0c\x1c-\x1f .\-]"   # geo.codes.clean_nik's ^'|[\s.\-] for ASCII text
_HEX_PAIRS = np.array([ord(f"{b:02x}"[0]) | ord(f"{b:02x}"[1]) << 8 for b in range(256)], "<u2")


def arrow(values: pd.Series) -> pa.Array:
    """The Arrow string array behind a text Series (zero-copy for pyarrow-backed strings)."""
    backing = values.array if isinstance(values.array, pd.arrays.ArrowStringArray) else \
        values.astype("string[pyarrow]").array
    arr = backing._pa_array if hasattr(backing, "_pa_array") else pa.chunked_array([pa.array(backing)])
    # One chunk is used as is (readers.iter_table yields single-chunk columns); more are combined.
    arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def plain_digits(values: pd.Series, shortest: int, longest: int | None = None) -> np.ndarray:
    """Whether each value is only ASCII digits, ``shortest``..``longest`` of them (Arrow kernels, no regex)."""
    arr = arrow(values)
    length = pc.binary_length(arr)   # bytes = characters for ASCII digits
    ok = pc.and_(pc.ascii_is_decimal(arr),
                 pc.and_(pc.greater_equal(length, shortest), pc.less_equal(length, longest or shortest)))
    return ok.fill_null(False).to_numpy(zero_copy_only=False)


def text_series(arr: pa.Array, index: pd.Index) -> pd.Series:
    """A string Series over an Arrow (large) string array, without copying it."""
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=index)


def labels(codes: np.ndarray, texts: list[str], index: pd.Index) -> pd.Series:
    """The text ``texts[code]`` of each row, ``<NA>`` where ``code < 0`` (a few distinct texts, many rows)."""
    picks = pa.array(np.maximum(codes, 0), pa.int32(), mask=codes < 0)
    return text_series(pc.take(pa.array(texts or [""], pa.large_string()), picks), index)


def patched(values: pd.Series, where: np.ndarray, new: pd.Series) -> pd.Series:
    """``values`` as text with the rows ``where`` replaced by ``new`` (one value per such row, in order)."""
    base = arrow(values)
    if not where.any():
        return text_series(base, values.index)
    picks = pa.array(np.cumsum(where) - 1, pa.int64(), mask=~where)
    return text_series(pc.if_else(pa.array(where), pc.take(arrow(new), picks), base), values.index)


def digits_to_int(arr: pa.Array, start: int, stop: int) -> np.ndarray:
    """Integer value of ``arr[i][start:stop]`` for plain digit strings (int64)."""
    part = pc.utf8_slice_codeunits(arr, start, stop)
    return part.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)


def char_matrix(values: pd.Series, width: int) -> np.ndarray:
    """The bytes of non-missing strings all exactly ``width`` bytes long, as an (n, width) uint8 view.

    Zero-copy over the Arrow data buffer: fixed positions (NIK date digits, date separators) are
    then plain numpy columns.
    """
    arr = arrow(values)
    if len(arr) == 0:
        return np.empty((0, width), np.uint8)
    offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset: arr.offset + len(arr) + 1]
    if arr.null_count or not (np.diff(offsets) == width).all():
        raise ValueError(f"char_matrix needs non-missing strings of exactly {width} bytes")
    return np.frombuffer(arr.buffers()[2], np.uint8)[offsets[0]: offsets[-1]].reshape(-1, width)


def clean_nik(values: pd.Series) -> pd.Series:
    """:func:`geo.codes.clean_nik`; plain 16-digit values pass through, other ASCII ones by RE2."""
    plain = plain_digits(values, 16)
    if plain.all():
        return text_series(arrow(values), values.index)
    rest = arrow(values[~plain])
    ascii_ = pc.string_is_ascii(rest).fill_null(True).to_numpy(zero_copy_only=False)
    cleaned = pc.replace_substring_regex(pc.utf8_trim(rest, _ASCII_SPACE), _NIK_NOISE, "")
    cleaned = text_series(cleaned, values.index[~plain])
    if not ascii_.all():  # Python's \s knows more spaces than RE2's: those rows go to geo.codes
        cleaned = patched(cleaned, ~ascii_, codes.clean_nik(values[~plain][~ascii_]))
    return patched(values, ~plain, cleaned)


def mask_nik(nik: pd.Series) -> pd.Series:
    """:func:`geo.codes.mask_nik`: region prefix, 8 stars, the last 2 digits (``**`` when short)."""
    arr = arrow(clean_nik(nik))
    tail = pc.if_else(pc.greater_equal(pc.utf8_length(arr), 16), pc.utf8_slice_codeunits(arr, -2),
                      pa.scalar("**", pa.large_string()))
    stars = pa.scalar("*" * 8, pa.large_string())
    return text_series(pc.binary_join_element_wise(pc.utf8_slice_codeunits(arr, 0, 6), stars, tail,
                                                   pa.scalar("", pa.large_string())), nik.index)


def nik_problems(nik: pd.Series) -> pd.Series:
    """:func:`geo.codes.nik_problems`, vectorized for plain 16-digit NIKs."""
    plain = plain_digits(nik, 16)
    code = np.full(len(nik), -1, np.int8)
    if plain.any():
        d = char_matrix(nik if plain.all() else nik[plain], 16)
        day, month, yy = (two_digits(d, i) for i in (6, 8, 10))
        day = np.where(day > 40, day - 40, day)
        limit = _MDAYS[np.clip(month, 0, 12)]
        limit = np.where((month == 2) & ((yy + 1900) % 4 != 0), 28, limit)
        date_ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= limit)
        prov_ok = np.isin(two_digits(d, 0), _PROVINCE_INTS)
        code[plain] = np.where(~prov_ok, 1, np.where(~date_ok, 0, -1))
    reason = labels(code, ["NIK birth date (DDMMYY, women +40) is not a valid date",
                           "NIK region prefix is not a known province"], nik.index)
    return reason if plain.all() else patched(reason, ~plain, codes.nik_problems(nik[~plain]))


def two_digits(chars: np.ndarray, at: int) -> np.ndarray:
    """The number written by the ASCII digits ``chars[:, at:at + 2]``."""
    return (chars[:, at].astype(np.int64) - 48) * 10 + chars[:, at + 1] - 48


def kelurahan_codes(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(:func:`geo.codes.normalize_kode`, :func:`geo.codes.kode_problems` at kelurahan level)."""
    plain = plain_digits(values, 10)
    prov = pc.is_in(pc.utf8_slice_codeunits(arrow(values), 0, 2), value_set=_PROVINCES)
    bad = plain & ~prov.fill_null(False).to_numpy(zero_copy_only=False)
    problem = labels(np.where(bad, 0, -1), ["unknown province prefix"], values.index)
    if plain.all():
        return text_series(arrow(values), values.index), problem
    rest = values[~plain]
    return (patched(values, ~plain, codes.normalize_kode(rest)),
            patched(problem, ~plain, codes.kode_problems(rest, "kelurahan")))


def mask_name(names: pd.Series) -> pd.Series:
    """:func:`geo.codes.mask_name`; single-spaced ASCII names are masked on the raw bytes."""
    arr = arrow(names)
    plain = pc.match_substring_regex(arr, r"^[A-Za-z0-9.,'_()/-]+(?: [A-Za-z0-9.,'_()/-]+)*$")
    plain = plain.fill_null(False).to_numpy(zero_copy_only=False)
    if plain.all():
        return text_series(_mask_bytes(arr), names.index)
    out = labels(np.full(len(arr), -1), [], names.index)
    if plain.any():
        out = patched(out, plain, text_series(_mask_bytes(pc.filter(arr, pa.array(plain))), names.index[plain]))
    return patched(out, ~plain, codes.mask_name(names[~plain]))


def keyed_hash(values: pd.Series, key: bytes) -> pd.Series:
    """:func:`geo.codes.keyed_hash` (HMAC-SHA256, hex[:32]) with the key schedule computed once."""
    return hex_digests(keyed_digests(values, key), values.notna().to_numpy(), values.index)


def keyed_digests(values: pd.Series, key: bytes) -> np.ndarray:
    """First 16 bytes of HMAC-SHA256(key, value) of each non-missing value, as an (n, 16) uint8 array."""
    digests = hmac_digests(key, *packed(values))
    return np.frombuffer(digests, np.uint8).reshape(-1, DIGEST_BYTES)


def packed(values: pd.Series) -> tuple[bytes, bytes]:
    """The UTF-8 bytes of the non-missing values as :func:`geo.keyhash.hmac_digests` takes them.

    Read straight off the Arrow buffers: the data buffer holds the bytes one after the other, the
    offsets buffer where each value ends.
    """
    arr = arrow(values)
    if arr.null_count:
        arr = pc.drop_null(arr)
    offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset: arr.offset + len(arr) + 1]
    if not len(arr):
        return b"", b""
    data = arr.buffers()[2]
    blob = data.slice(int(offsets[0]), int(offsets[-1] - offsets[0])).to_pybytes() if data is not None else b""
    return blob, (offsets[1:] - offsets[0]).tobytes()


def hex_digests(digests: np.ndarray, valid: np.ndarray, index: pd.Index) -> pd.Series:
    """32-character lower-case hex of each digest row, placed at the ``valid`` rows (others ``<NA>``)."""
    return text_series(fixed_width_text(hex_matrix(digests), valid), index)


def hex_matrix(digests: np.ndarray) -> np.ndarray:
    """The lower-case hex of each 16-byte digest row, as an (n, 32) uint8 array of ASCII."""
    return _HEX_PAIRS[digests].view(np.uint8).reshape(len(digests), 2 * digests.shape[1])


def fixed_width_text(chars: np.ndarray, valid: np.ndarray) -> pa.Array:
    """A string array with row i of the (k, width) ASCII ``chars`` at the i-th ``valid`` position, nulls elsewhere."""
    n, width = len(valid), chars.shape[1]
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(valid * width, out=offsets[1:])
    bitmap = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(chars)),
                                            bitmap, null_count=int(n - valid.sum()))


def _mask_bytes(arr: pa.Array) -> pa.Array:
    """Mask every word byte that follows a word byte, on the Arrow data buffer (ASCII, no nulls)."""
    offsets = np.frombuffer(arr.buffers()[1], np.int64)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], np.uint8)[offsets[0]: offsets[-1]]
    offsets = offsets - offsets[0]
    word = _WORD[data]
    masked = word.copy()
    masked[1:] &= word[:-1]
    masked[offsets[:-1][offsets[:-1] < len(data)]] = False  # a string's first byte follows no byte of it
    new = np.where(masked, np.uint8(42), data)
    return pa.LargeStringArray.from_buffers(len(arr), pa.py_buffer(offsets), pa.py_buffer(new))
