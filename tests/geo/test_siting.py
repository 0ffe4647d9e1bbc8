"""Siting: exact set cover against brute force, p-median addition, suggestions and merges on the tiny city."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from geo.coverage import coverage
from geo.siting import (
    MERGE_COLUMNS,
    SUGGESTION_COLUMNS,
    _greedy_cover,
    p_median_add,
    set_cover,
)
from tests.fixtures.coverage import tiny_city

A, B, C = "3171011001", "3171011002", "3171011003"


@pytest.fixture(scope="module")
def city():
    return tiny_city.load()


def _run(city, **kwargs):
    return coverage(city["voters"], city["tps"], city["rt"], city["rw"], city["kelurahan"], **kwargs)


# --- the solvers -----------------------------------------------------------------------------------

def _brute_cover(covers: np.ndarray, cost: np.ndarray) -> float:
    rows = covers[covers.any(axis=1)]
    best = np.inf
    for k in range(covers.shape[1] + 1):
        for pick in itertools.combinations(range(covers.shape[1]), k):
            if rows[:, list(pick)].any(axis=1).all():
                best = min(best, cost[list(pick)].sum())
    return best


@settings(max_examples=60, deadline=None)
@given(arrays(bool, st.tuples(st.integers(1, 7), st.integers(1, 6))), st.data())
def test_set_cover_is_exact(covers, data):
    cost = np.asarray(data.draw(st.lists(st.sampled_from([1.0, 1.001]), min_size=covers.shape[1],
                                         max_size=covers.shape[1])))
    chosen, optimal, method = set_cover(covers, cost)
    assert optimal and "exact" in method or not covers.any()
    assert covers[covers.any(axis=1)][:, chosen].any(axis=1).all()          # everything coverable is covered
    assert cost[chosen].sum() == pytest.approx(_brute_cover(covers, cost))


def test_greedy_fallback_covers_everything():
    rng = np.random.default_rng(4)
    covers = rng.random((40, 25)) < 0.15
    covers = covers[covers.any(axis=1)]
    chosen = _greedy_cover(covers, np.ones(25))
    assert covers[:, chosen].any(axis=1).all()


def test_one_site_p_median_is_exact():
    rng = np.random.default_rng(7)
    demand, weight = rng.uniform(0, 2000, (30, 2)), rng.integers(1, 50, 30).astype(float)
    existing, sites = rng.uniform(0, 2000, (3, 2)), rng.uniform(0, 2000, (20, 2))
    chosen, served = p_median_add(demand, weight, existing, sites, 1)
    d_now = np.hypot(*(demand[:, None] - existing[None]).transpose(2, 0, 1)).min(axis=1)
    totals = [(weight * np.minimum(d_now, np.hypot(*(demand - s).T))).sum() for s in sites]
    assert chosen == [int(np.argmin(totals))]
    assert served[0] == weight[np.hypot(*(demand - sites[chosen[0]]).T) <= d_now].sum()


# --- suggestions on the tiny city --------------------------------------------------------------------

def test_a_given_site_wins_and_sites_are_listed_by_voters_newly_covered(city):
    out = _run(city, threshold_m=480, candidates=city["candidates"])
    s = out.suggestions[out.suggestions["reason"] == "no_tps_nearby"]
    assert list(out.suggestions.columns) == SUGGESTION_COLUMNS + ["geometry"]
    assert s["nama"].tolist() == ["SDN Alpha 01", f"{A}-003-003"]
    assert s["source"].tolist() == ["candidate", "rt_point"]
    assert s["voters_newly_covered"].tolist() == [40, 3] and s["voters_covered_cumulative"].tolist() == [40, 43]
    assert s["gaps"].tolist() == [f"{A}-002", f"{A}-003-003"] and s["optimal"].all()
    assert "Di laut" not in set(out.suggestions["nama"])          # a candidate outside every kelurahan


def test_candidates_may_be_polygons_with_a_declared_kelurahan_or_none(city):
    import shapely

    cands = city["candidates"].to_crs(32748)
    cands["geometry"] = cands.geometry.buffer(20)               # buildings, not points
    cands["kode_kel"] = [A, None, None]                           # declared, found by position, outside
    cands.index = [10, 20, 30]
    out = _run(city, threshold_m=480, candidates=cands.drop(columns="nama"))
    s = out.suggestions[out.suggestions["source"] == "candidate"]
    assert s["nama"].tolist() == ["site-0001"] and s["voters_newly_covered"].tolist() == [40]
    assert shapely.Point(s[["lon", "lat"]].iloc[0]).distance(city["candidates"].geometry.iloc[0]) < 1e-6


def test_without_candidates_rt_points_cover_every_gap_voter(city):
    out = _run(city, threshold_m=480)
    s = out.suggestions[out.suggestions["reason"] == "no_tps_nearby"]
    assert len(s) == 5 and (s["source"] == "rt_point").all()        # the 4 RTs of RW 2 are 500 m apart
    assert s["voters_newly_covered"].sum() == 43 and s["rank"].tolist() == [1, 2, 3, 4, 5]


def test_too_few_and_missing_tps_get_sites(city):
    s = _run(city).suggestions.set_index("reason")
    assert s.loc["too_few_tps", ["kode_kel", "rank", "method"]].tolist() == [B, 1, "p-median, exact (one site)"]
    assert s.loc["kelurahan_without_tps", ["kode_kel", "voters_served"]].tolist() == [C, 10]
    assert s.crs.to_epsg() == 4326 and (s.geometry.geom_type == "Point").all()


# --- merges --------------------------------------------------------------------------------------------

def test_the_one_mergeable_pair_keeps_cap_and_threshold(city):
    out = _run(city)
    m = out.merges
    assert list(m.columns) == MERGE_COLUMNS + ["geometry"]
    assert m[["kode_tps_keep", "kode_tps_merge", "voters_after"]].values.tolist() == [[f"{A}002", f"{A}004", 145]]
    assert m["max_dist_after_m"].iloc[0] == pytest.approx(np.hypot(450, 50), abs=0.5) and m["disjoint"].all()
    assert m.geometry.iloc[0].geom_type == "LineString"


@pytest.mark.parametrize("kwargs", [{"max_per_tps": 140}, {"threshold_m": 450}])
def test_no_merge_that_breaks_the_cap_or_the_threshold(city, kwargs):
    assert not len(_run(city, **kwargs).merges)
