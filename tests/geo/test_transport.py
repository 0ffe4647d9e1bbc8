import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.transport import Transport, split_units, transport


def test_quotas_are_integral_balanced_and_within_the_cap():
    rng = np.random.default_rng(2)
    dist = rng.uniform(10, 2000, (30, 12))
    supply = rng.integers(50, 110, 30)
    plan = transport(dist, supply, 300)
    assert plan.quota.dtype.kind == "i" and (plan.quota >= 0).all()
    assert (plan.quota.sum(axis=1) + plan.overflow == supply).all()
    assert (plan.quota.sum(axis=0) <= 300).all() and plan.overflow.sum() == 0


def test_lazy_arcs_reach_the_same_optimum_as_all_arcs():
    rng = np.random.default_rng(5)
    dist = rng.uniform(10, 2000, (40, 15))
    supply = rng.integers(1, 60, 40)
    cap = int(np.ceil(supply.sum() / 15 * 1.02))
    few = transport(dist, supply, cap, k_nearest=1)
    full = transport(dist, supply, cap, k_nearest=15)
    assert few.rounds > 1 and full.rounds == 1
    assert few.cost == pytest.approx(full.cost, rel=1e-9)


def test_overflow_only_when_the_tps_are_too_few():
    dist = np.array([[10.0, 20.0], [15.0, 5.0]])
    plan = transport(dist, np.array([8, 9]), 7)
    assert plan.quota.sum() == 14 and plan.overflow.sum() == 3


def test_split_keeps_units_whole_and_under_the_cap():
    dist = np.array([[10.0, 50.0], [40.0, 10.0]])
    plan = Transport(quota=np.array([[5, 2], [0, 6]]), overflow=np.array([0, 0]), cost=0.0, rounds=1)
    unit_loc = np.array([0, 0, 0, 1, 1])
    unit_size = np.array([3, 2, 2, 4, 2])
    tps, moved = split_units(unit_loc, unit_size, plan, dist, cap=8)
    assert tps.tolist() == [0, 0, 1, 1, 1] and moved == 0
    loads = np.bincount(tps, weights=unit_size)
    assert (loads <= 8).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(1, 6)), min_size=1, max_size=40),
       st.integers(1, 4), st.integers(1, 30), st.integers(0, 10_000))
def test_split_never_exceeds_the_cap(units, n_tps, cap, seed):
    rng = np.random.default_rng(seed)
    unit_loc = np.array([u[0] for u in units])
    unit_size = np.array([u[1] for u in units])
    n_loc = unit_loc.max() + 1
    supply = np.bincount(unit_loc, weights=unit_size, minlength=n_loc).astype(int)
    dist = rng.uniform(1, 1000, (n_loc, n_tps))
    plan = transport(dist, supply, cap)
    tps, _ = split_units(unit_loc, unit_size, plan, dist, cap)
    placed = tps >= 0
    assert (np.bincount(tps[placed], weights=unit_size[placed], minlength=n_tps) <= cap).all()
    assert (unit_size[placed] <= cap).all()
