"""The browse tree, per-area summaries and bounds over the tiny web city."""

from __future__ import annotations

import pytest

from geo.areas import AreaTree, area_bounds, area_summary, level_of_key
from geo.errors import CodeError, NotFoundError
from tests.web import city


@pytest.fixture(scope="module")
def layers():
    return city.frames()


@pytest.fixture(scope="module")
def tree(layers):
    return AreaTree.from_frames(layers, layers["tps"])


def test_levels_and_children(tree):
    assert [a.kode for a in tree.children()] == ["3171"]
    assert [a.label for a in tree.children("3171")] == ["TEBET", "TAMAN SARI"]
    assert [a.kode for a in tree.children("317101")] == ["3171011001", "3171011002"]
    assert [a.label for a in tree.children("3171011001")] == ["RW 001", "RW 002"]
    assert [a.kode for a in tree.children("3171011001-001")] == ["3171011001-001-001", "3171011001-001-002"]
    assert [a.label for a in tree.trail("3171011001-002")] == ["JAKARTA SELATAN", "TEBET", "MENTENG DALAM", "RW 002"]


def test_tps_codes(tree):
    assert tree.tps_codes("3171011001") == ["3171011001001", "3171011001002", "3171011001003"]
    assert tree.tps_codes("317101") == [f"317101100{k}00{n}" for k in (1, 2) for n in (1, 2, 3)]
    assert tree.tps_codes("3171011001-002") == ["3171011001002", "3171011001003"]
    assert tree.tps_codes("3171011001-001-001") == ["3171011001001"]


def test_missing_upper_levels_are_filled_from_codes(layers):
    tree = AreaTree.from_frames({"kelurahan": layers["kelurahan"]}, layers["tps"])
    assert [a.kode for a in tree.children("3171")] == ["317101", "317102"]
    assert tree.get("317101").nama is None and tree.get("317101").label == "317101"


@pytest.mark.parametrize("kode, error", [("31710", CodeError), ("abc", CodeError), ("3171011001-1", CodeError),
                                         ("3172", NotFoundError), ("3171011009", NotFoundError)])
def test_get_errors(tree, kode, error):
    with pytest.raises(error):
        tree.get(kode)


def test_level_of_key():
    assert [level_of_key(k) for k in ("3171", "317101", "3171011001", "3171011001-001", "3171011001-001-002")] == \
        ["kota", "kecamatan", "kelurahan", "rw", "rt"]


def test_area_summary(layers):
    s = area_summary(layers["tps"], layers["kelurahan"], "317102", max_per_tps=300)
    assert s.to_dict("records") == [{"kode": "3171021001", "nama": "GLODOK", "tps_count": 3, "dpt_total": 850,
                                     "unplaced": 1, "flagged": 2, "over_cap": 1}]
    all_ = area_summary(layers["tps"], layers["kelurahan"], "3171", max_per_tps=300)
    assert all_["kode"].tolist() == list(city.KELURAHAN) and all_["tps_count"].sum() == 9


def test_area_bounds(layers):
    assert area_bounds(layers["kelurahan"], "317102") == (106.82, -6.25, 106.83, -6.24)
    assert area_bounds(layers["kelurahan"], "3172") is None
