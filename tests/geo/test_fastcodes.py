"""geo.fastcodes must return exactly what its geo.codes twin returns, on any input."""

from __future__ import annotations

import hypothesis.strategies as st
import pandas as pd
from hypothesis import given, settings

from geo import codes, fastcodes

DIGITS = "0123456789"
# NIK-ish text: plain 16 digits (valid or not), and the dirty forms officers meet.
nik_like = st.one_of(
    st.text(DIGITS, min_size=16, max_size=16),
    st.builds(lambda p, d, m, y, s: f"{p}{d:02d}{m:02d}{y:02d}{s}", st.sampled_from(["317106", "997106", "327301"]),
              st.integers(0, 75), st.integers(0, 14), st.integers(0, 99), st.text(DIGITS, min_size=4, max_size=4)),
    st.text(DIGITS + " .-'eE+\u00a0\u0663x\t\x0b\x1c\x85", max_size=20),
    st.just("3.17106E+15"), st.just(""), st.just(" 3171 0617 0880 0001"), st.just("'3171061708800001"),
    st.just("３１７１０６１７０８８０００１"),   # full-width digits
)
names = st.one_of(
    st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ .'-", max_size=30),
    st.text(max_size=30),
    st.sampled_from(["SITI RAHAYU", "O'NEIL PUTRA", "MOH. NUR", "SRI  MULYANI ", "JOSÉ MARÍA", "A*B", "_X_Y",
                     "ABD.RAHMAN", "   ", "\tBUDI\n", "Ñ"]),
)
kode_like = st.one_of(st.text(DIGITS, min_size=10, max_size=10), st.text(DIGITS + ". ", max_size=14),
                      st.sampled_from(["31.71.06.1001", "3171061001.0", " 3171061001 ", "", "9971061001"]))


def _values(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series.astype(object)]


def _series(values: list) -> pd.Series:
    return pd.Series(values, dtype="string").where(pd.Series([v is not None for v in values]), pd.NA)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(nik_like, st.none()), min_size=1, max_size=60))
def test_nik_functions_equal_codes(values):
    s = _series(values)
    assert _values(fastcodes.nik_problems(s)) == _values(codes.nik_problems(s))
    assert _values(fastcodes.clean_nik(s)) == _values(codes.clean_nik(s))
    assert _values(fastcodes.mask_nik(s)) == _values(codes.mask_nik(s))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(kode_like, st.none()), min_size=1, max_size=60))
def test_kelurahan_codes_equal_codes(values):
    s = _series(values)
    norm, problem = fastcodes.kelurahan_codes(s)
    assert _values(norm) == _values(codes.normalize_kode(s))
    assert _values(problem) == _values(codes.kode_problems(s, "kelurahan"))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(names, st.none()), min_size=1, max_size=60))
def test_mask_name_equals_codes(values):
    s = _series(values)
    assert _values(fastcodes.mask_name(s)) == _values(codes.mask_name(s))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.one_of(nik_like, st.none()), min_size=0, max_size=20), st.binary(min_size=1, max_size=100))
def test_keyed_hash_equals_codes(values, key):
    s = _series(values) if values else pd.Series([], dtype="string")
    assert _values(fastcodes.keyed_hash(s, key)) == _values(codes.keyed_hash(s, key))


def test_keyed_hash_needs_a_key():
    import pytest

    with pytest.raises(ValueError):
        fastcodes.keyed_hash(pd.Series(["1"]), b"")


def test_plain_digits_and_digits_to_int():
    s = pd.Series(["3171", "31 71", "３１", "", None, "12345"], dtype="string")
    assert fastcodes.plain_digits(s, 4).tolist() == [True, False, False, False, False, False]
    assert fastcodes.plain_digits(s, 4, 5).tolist() == [True, False, False, False, False, True]
    assert fastcodes.digits_to_int(fastcodes.arrow(pd.Series(["3171061001"])), 4, 6).tolist() == [6]
