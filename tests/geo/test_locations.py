from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import schema
from geo.errors import CRSError
from geo.locations import LOCATION_COLUMNS, LocationIndex, voter_locations

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "assign"


@pytest.fixture(scope="module")
def city():
    layers = {name: schema.conform(gpd.read_file(FIX / f"{name}.geojson"), name) for name in ("kelurahan", "rw", "rt")}
    layers["voters"] = schema.conform(pd.read_csv(FIX / "voters.csv", dtype=str), "voters")
    return layers


@pytest.fixture(scope="module")
def locs(city):
    return voter_locations(city["voters"], rt=city["rt"], rw=city["rw"], kelurahan=city["kelurahan"])


def by_key(locs):
    return locs.set_index("loc_key")


def test_one_location_per_rt_with_the_level_it_came_from(locs):
    assert list(locs.columns) == LOCATION_COLUMNS
    assert locs["loc_key"].is_unique and locs["loc_key"].is_monotonic_increasing
    lv = by_key(locs)["loc_level"]
    assert lv["3171061001-001-001"] == "rt"
    assert lv["3171061002-001-004"] == "rw"          # RT 4 has no polygon: its RW's point
    assert lv["3171061002-002-001"] == "rw"          # RW 2 has no RT polygons at all
    assert lv["3171061003-001-001"] == "kelurahan"   # no RW polygons in this kelurahan
    assert lv["3171061001-001-000"] == "rw"          # RT unknown
    assert lv["3171061001-000-000"] == "kelurahan"   # RW and RT unknown
    assert lv["3171069999-001-001"] == "none"        # kelurahan not in any layer
    row = by_key(locs).loc["3171061001-000-000"]
    assert pd.isna(row["rw"]) and pd.isna(row["rt"])
    assert by_key(locs).loc["3171069999-001-001", ["x", "lon"]].isna().all()


def test_each_point_lies_inside_its_polygon(city, locs):
    rt = city["rt"].assign(loc_key=city["rt"]["kode"])
    m = locs.merge(rt[["loc_key", "geometry"]], on="loc_key")
    assert len(m) == (locs["loc_level"] == "rt").sum()
    assert shapely.contains_xy(m["geometry"].to_numpy(), m["lon"], m["lat"]).all()
    back = gpd.GeoSeries(gpd.points_from_xy(m["x"], m["y"]), crs=32748).to_crs(4326)
    np.testing.assert_allclose(back.x, m["lon"], atol=1e-9)


def test_locations_from_chunks_equal_locations_from_one_frame(city, locs):
    chunks = (city["voters"].iloc[i:i + 10] for i in range(0, len(city["voters"]), 10))
    got = voter_locations(chunks, rt=city["rt"], rw=city["rw"], kelurahan=city["kelurahan"])
    pd.testing.assert_frame_equal(got, locs)


def test_polygons_in_a_metric_crs_give_the_same_locations(city, locs):
    got = voter_locations(city["voters"], rt=city["rt"].to_crs(32748), rw=city["rw"].to_crs(32748),
                          kelurahan=city["kelurahan"].to_crs(32748))
    assert (got["loc_level"] == locs["loc_level"]).all()
    inside = got.merge(city["rt"].rename(columns={"kode": "loc_key"})[["loc_key", "geometry"]], on="loc_key")
    assert shapely.contains_xy(inside["geometry"].to_numpy(), inside["lon"], inside["lat"]).all()


def test_polygons_without_crs_are_refused(city):
    with pytest.raises(CRSError, match="rt"):
        voter_locations(city["voters"], rt=city["rt"].set_crs(None, allow_override=True))


def test_no_layers_and_no_voters():
    v = schema.empty("voters")
    assert list(voter_locations(v).columns) == LOCATION_COLUMNS and len(voter_locations(v)) == 0
    one = pd.DataFrame({"kode_kel": ["3171061001"], "rw": [1], "rt": [2]})
    assert voter_locations(one).loc[0, "loc_level"] == "none"


def test_index_maps_every_voter_to_its_location_row(city, locs):
    idx = LocationIndex(locs)
    rows = idx.locate_voters(city["voters"])
    v = city["voters"]
    lost = (v["kode_kel"] == "3171069999").to_numpy()        # its location has no point: not indexed
    assert (rows[lost] == -1).all() and (rows[~lost] >= 0).all()
    got = locs.iloc[rows[~lost]]
    assert (got["kode_kel"].to_numpy() == v.loc[~lost, "kode_kel"].to_numpy()).all()
    same_rw = got["rw"].fillna(0).to_numpy() == v.loc[~lost, "rw"].fillna(0).to_numpy()
    assert same_rw.all()


def test_index_without_dense_table_gives_the_same_rows(city, locs, monkeypatch):
    import geo.locations

    dense = LocationIndex(locs).locate_voters(city["voters"])
    monkeypatch.setattr(geo.locations, "MAX_TABLE", 0)
    sparse = LocationIndex(locs)
    assert sparse.table is None
    np.testing.assert_array_equal(sparse.locate_voters(city["voters"]), dense)
