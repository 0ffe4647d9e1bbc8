"""Parsing and repairing typed coordinates (geo/geocode_coords.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.geocode_coords import parse_coordinates

LAT, LON = -6.1754, 106.8272

CASES = [
    # lat field, lon field, expected problem, (lat, lon) or None when rejected
    ("-6.1754", "106.8272", None, (LAT, LON)),
    ("-6,1754", "106,8272", None, (LAT, LON)),
    ("106.8272", "-6.1754", "swapped_lat_lon", (LAT, LON)),
    ("106,8272", "-6,1754", "swapped_lat_lon", (LAT, LON)),
    ("6.1754", "106.8272", "lat_sign_fixed", (LAT, LON)),
    ("-6.1754", "-106.8272", "lon_sign_fixed", (LAT, LON)),
    ("6.1754", "-106.8272", "lat_sign_fixed;lon_sign_fixed", (LAT, LON)),
    ("106.8272", "6.1754", "swapped_lat_lon;lat_sign_fixed", (LAT, LON)),
    ("6°10'30\"S", "106°49'38\"E", None, (-6.175, 106.827222)),
    ("6° 10' 30\" LS", "106° 49' 38\" BT", None, (-6.175, 106.827222)),
    ("6º10′30″ S", "106º49′38″ T", None, (-6.175, 106.827222)),
    ("6 10 30 LS", "106 49 38 BT", None, (-6.175, 106.827222)),
    ("S 6°10'30\"", "E 106°49'38\"", None, (-6.175, 106.827222)),
    ("6°10'30\"N", "106°49'38\"E", "lat_sign_fixed", (-6.175, 106.827222)),
    ("-6.1754, 106.8272", "", None, (LAT, LON)),
    ("-6.1754;106.8272", None, None, (LAT, LON)),
    ("", "-6.1754,106.8272", None, (LAT, LON)),
    ("-6,1754;106,8272", "", None, (LAT, LON)),
    ("-6,1754,106,8272", "", None, (LAT, LON)),
    ("-6.1754 106.8272", "-6.1754 106.8272", None, (LAT, LON)),
    ("106.8272, -6.1754", "", "swapped_lat_lon", (LAT, LON)),
    ("6°10'30\"S 106°49'38\"E", "", None, (-6.175, 106.827222)),
    ("-6.17", "106.83", "truncated", None),
    ("-6", "106", "truncated", None),
    ("1.3521", "103.8198", "outside_dki", None),
    ("-7.2575", "112.7521", "outside_dki", None),
    ("abc", "106.8272", "unparseable", None),
    ("-6.17.54", "106.8272", "unparseable", None),
    ("-61754", "1068272", "unparseable", None),
    ("-6.1754", "", "only_one_coordinate", None),
    ("0", "0", "placeholder", None),
    ("N/A", "-", "placeholder", None),
    ("", "", None, None),
    (None, None, None, None),
]


@pytest.fixture(scope="module")
def parsed():
    lat = pd.Series([c[0] for c in CASES], dtype=object)
    lon = pd.Series([c[1] for c in CASES], dtype=object)
    return parse_coordinates(lat, lon)


@pytest.mark.parametrize("i", range(len(CASES)), ids=[f"{c[0]}|{c[1]}" for c in CASES])
def test_each_form_and_fault(parsed, i):
    _, _, problem, point = CASES[i]
    row = parsed.iloc[i]
    assert (None if pd.isna(row["coord_problem"]) else row["coord_problem"]) == problem
    if point is None:
        assert np.isnan(row["lat"]) and np.isnan(row["lon"]) and np.isnan(row["precision_m"])
    else:
        assert row["lat"] == pytest.approx(point[0], abs=1e-6)
        assert row["lon"] == pytest.approx(point[1], abs=1e-6)
        assert row["precision_m"] >= 30


def test_precision_follows_the_typed_decimals():
    lat = pd.Series(["-6.175", "-6.17541", "6°10.5'S"])
    out = parse_coordinates(lat, pd.Series(["106.827", "106.82723", "106°49.6'E"]))
    assert out["precision_m"].tolist() == pytest.approx([55.7, 30.0, 92.6], abs=0.1)


def test_columns_index_dtypes():
    out = parse_coordinates(pd.Series(["-6.1754"], index=[42]), pd.Series(["106.8272"], index=[42]))
    assert list(out.columns) == ["lon", "lat", "coord_problem", "precision_m"]
    assert list(out.index) == [42]
    assert out["coord_problem"].dtype == "string"


def test_empty():
    out = parse_coordinates(pd.Series([], dtype="string"), pd.Series([], dtype="string"))
    assert out.empty and list(out.columns) == ["lon", "lat", "coord_problem", "precision_m"]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(-6.37, -5.21), st.floats(106.40, 106.97), st.booleans(), st.booleans(),
                          st.booleans()), min_size=1, max_size=30))
def test_any_jakarta_point_survives_swap_and_sign_slips(points):
    """A Jakarta point typed with 5 decimals, swapped and/or with a lost minus, comes back exactly."""
    lat_txt, lon_txt = [], []
    for lat, lon, swap, lost_minus, comma in points:
        a, b = f"{(abs(lat) if lost_minus else lat):.5f}", f"{lon:.5f}"
        if comma:
            a, b = a.replace(".", ","), b.replace(".", ",")
        lat_txt.append(b if swap else a)
        lon_txt.append(a if swap else b)
    out = parse_coordinates(pd.Series(lat_txt), pd.Series(lon_txt))
    assert out["lat"].to_numpy() == pytest.approx([round(p[0], 5) for p in points], abs=1e-9)
    assert out["lon"].to_numpy() == pytest.approx([round(p[1], 5) for p in points], abs=1e-9)
    for (_, _, swap, lost_minus, _), problem in zip(points, out["coord_problem"].fillna("")):
        assert ("swapped_lat_lon" in problem) == swap
        assert ("lat_sign_fixed" in problem) == lost_minus
