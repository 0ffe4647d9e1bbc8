import numpy as np
import pytest

from geo.distances import DistanceSummary


def test_summary_of_chunks_equals_summary_of_all():
    rng = np.random.default_rng(1)
    values = rng.gamma(2.0, 300.0, 10_000)
    values[::50] = np.nan
    whole, chunked = DistanceSummary(), DistanceSummary()
    whole.add(values)
    for part in np.array_split(values, 7):
        chunked.add(part)
    assert whole.as_dict() == chunked.as_dict()
    finite = values[~np.isnan(values)]
    d = whole.as_dict()
    assert d["n"] == len(finite)
    assert d["mean_m"] == pytest.approx(finite.mean(), abs=0.05)
    assert d["p95_m"] == pytest.approx(np.quantile(finite, 0.95), abs=0.05)
    assert d["max_m"] == pytest.approx(finite.max(), abs=0.05)


def test_empty_summary():
    s = DistanceSummary()
    s.add(np.array([np.nan]))
    assert s.as_dict() == {"n": 0, "mean_m": None, "p95_m": None, "max_m": None}
    assert np.isnan(s.quantile(0.5))
