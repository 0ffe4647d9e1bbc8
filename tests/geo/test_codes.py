import pandas as pd
import pytest
from hypothesis import given, strategies as st

from geo import codes
from geo.errors import CodeError


@pytest.mark.parametrize("raw, expected", [
    ("31.71.01.1001", "3171011001"), ("3171011001", "3171011001"), (" 3171 ", "3171"),
    ("317101.0", "317101"), ("31", "31"), ("31.71.01", "317101"), ("x", None), ("31710", None), ("", None),
])
def test_normalize_kode(raw, expected):
    out = codes.normalize_kode(pd.Series([raw])).iloc[0]
    assert (out if pd.notna(out) else None) == expected


def test_kode_problems_reasons():
    r = codes.kode_problems(pd.Series(["3171011001", "3171", "abc", None, "9971011001"]), "kelurahan")
    assert pd.isna(r[0])
    assert "10-digit" in r[1]
    assert "not a Kemendagri" in r[2]
    assert r[3] == "missing code"
    assert r[4] == "unknown province prefix"


def test_parse_wilayah_and_level():
    assert codes.parse_wilayah("31.72") == "3172"
    assert codes.level_of("317201") == "kecamatan"
    with pytest.raises(CodeError, match="not a Kemendagri area code"):
        codes.parse_wilayah("31-72")
    with pytest.raises(CodeError):
        codes.level_of("12345")


def test_tps_rw_rt_keys():
    kel = pd.Series(["3171011001"])
    assert codes.make_kode_tps(kel, pd.Series([7])).iloc[0] == "3171011001007"
    assert codes.rt_key(kel, pd.Series([5]), pd.Series([3])).iloc[0] == "3171011001-005-003"


@pytest.mark.parametrize("nik, reason", [
    ("3171014507900001", None),            # woman born 05-07-1990
    ("3171010507900001", None),            # man born 05-07-1990
    ("3171013207900001", "valid date"),    # day 32
    ("3171017107900001", "valid date"),    # woman day 31+40=71 → 31 July OK? no: 71-40=31, July has 31
    ("3171010229010001", "valid date"),    # day 02 month 29
    ("3.17101E+15", "scientific"),
    ("317101450790000", "16 digits"),
    ("31710145079000AB", "16 digits"),
    ("9971014507900001", "province"),
    ("", "missing"),
])
def test_nik_problems(nik, reason):
    if nik == "3171017107900001":
        reason = None  # 71 - 40 = 31 July: valid
    out = codes.nik_problems(pd.Series([nik])).iloc[0]
    if reason is None:
        assert pd.isna(out)
    else:
        assert reason in out


def test_nik_birth_sex():
    ddmm, sex = codes.nik_birth_sex(pd.Series(["3171014507900001", "3171010507900001"]))
    assert ddmm.tolist() == ["0507", "0507"]
    assert sex.tolist() == ["P", "L"]


@given(st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_hash_is_keyed_and_stable(nik):
    a = codes.keyed_hash(pd.Series([nik]), b"k1").iloc[0]
    assert a == codes.nik_hash(nik, b"k1")
    assert a != codes.nik_hash(nik, b"k2")
    assert len(a) == 32 and nik not in a


def test_hash_requires_key():
    with pytest.raises(ValueError):
        codes.keyed_hash(pd.Series(["1"]), b"")


def test_masking():
    assert codes.mask_name(pd.Series(["SITI  RAHAYU", "Budi"])).tolist() == ["S*** R*****", "B***"]
    masked = codes.mask_nik(pd.Series(["3171014507900001"])).iloc[0]
    assert masked == "317101********01"
    assert "4507900" not in masked
