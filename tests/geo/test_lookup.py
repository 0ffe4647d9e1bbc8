"""NIK lookup: found (masked name, DPT TPS, RT distance), neutral answer, invalid NIK, voter index."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from geo.codes import keyed_hash
from geo.errors import InputError
from geo.lookup import NikLookup, VoterIndex
from geo.nearby import PointIndex
from tests.web import city


@pytest.fixture(scope="module")
def lookup():
    f = city.frames()
    index = VoterIndex.from_chunks([f["voters"].iloc[:3], f["voters"].iloc[3:]])
    return NikLookup(index.find, city.NIK_KEY, PointIndex(f["tps"], f["kelurahan"]), f["tps"], f["kelurahan"],
                     f["rw"], f["rt"])


def test_found(lookup):
    r = lookup("3171011505900001")
    assert (r.found, r.nama_masked, r.kode_tps, r.located_by) == (True, "S*** R*****", "3171011001001", "rt")
    # RT 001 of RW 001 is the south-west quarter; its representative point is its centre (106.8025, -6.2475)
    assert r.distance_m == pytest.approx(55.3, abs=0.2)
    assert r.nearest is None and r.kode_kec is None


def test_found_spaces_and_dots_ignored(lookup):
    assert lookup(" 3171.0115 0590 0001 ").kode_tps == "3171011001001"


def test_found_tps_without_location_has_no_distance(lookup):
    r = lookup("3171010101800003")
    assert r.found and r.kode_tps == "3171011001003" and r.distance_m is None


def test_not_found_is_neutral(lookup):
    r = lookup(city.MISSING_NIK)
    assert (r.found, r.nama_masked, r.kode_tps, r.kode_kec, r.nearest) == (False, None, None, "317102", None)
    r = lookup(city.MISSING_NIK, kode_kel="3171021001")
    assert r.nearest.kode_tps == "3171021001001" and r.nearest.kode_kel == "3171021001"
    # a voter of another kecamatan gets the same shape of answer as an unknown NIK
    assert lookup.nearest_in_kelurahan("3171099999") is None


@pytest.mark.parametrize("nik", [city.INVALID_NIK, "123", "", "31710115059000011", "3.17101E+15", "abcdefghijklmnop"])
def test_invalid_nik_message_never_repeats_it(lookup, nik):
    with pytest.raises(InputError) as info:
        lookup(nik)
    assert nik.strip() == "" or nik not in str(info.value)
    assert not re.search(r"\d{16}", str(info.value))


def test_voter_index_finds_duplicates_in_code_order():
    keys = keyed_hash(pd.Series(["a", "b", "a"], dtype="string"), b"k")
    frame = pd.DataFrame({"voter_key": keys, "nama_masked": ["A", "B", "A2"], "kode_kel": ["3171011001"] * 3,
                          "rw": [1, 1, 1], "rt": [1, 1, 1], "kode_tps": ["3171011001002", "3171011001001",
                                                                       "3171011001001"]})
    index = VoterIndex.from_chunks([frame, frame.iloc[0:0]])
    assert len(index) == 3
    assert index.find(keys[0])["kode_tps"].tolist() == ["3171011001001", "3171011001002"]
    assert index.find(keyed_hash(pd.Series(["zzz"], dtype="string"), b"k")[0]).empty
    assert len(VoterIndex.from_chunks([])) == 0


def test_voter_index_many_keys_random():
    rng = np.random.default_rng(0)
    values = pd.Series([str(v) for v in rng.integers(0, 10**12, 5000)], dtype="string")
    keys = keyed_hash(values, b"k")
    frame = pd.DataFrame({"voter_key": keys, "nama_masked": "X", "kode_kel": "3171011001", "rw": 1, "rt": 1,
                          "kode_tps": [f"3171011001{i % 1000:03d}" for i in range(5000)]})
    index = VoterIndex.from_chunks([frame.iloc[:2500], frame.iloc[2500:]])
    for i in rng.integers(0, 5000, 50):
        assert frame.loc[i, "kode_tps"] in index.find(keys[i])["kode_tps"].tolist()
