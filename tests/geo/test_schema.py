import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point

from geo import schema


@pytest.mark.parametrize("layer", list(schema.LAYERS))
def test_empty_has_declared_columns(layer):
    frame = schema.empty(layer)
    assert list(frame.columns) == schema.LAYERS[layer].all_columns
    for col, dtype in schema.LAYERS[layer].columns.items():
        assert str(frame[col].dtype) == dtype


def test_conform_fills_missing_and_drops_extra():
    gdf = gpd.GeoDataFrame({"kode_tps": ["3171011001001"], "extra": [1]}, geometry=[Point(106.8, -6.2)], crs=4326)
    out = schema.conform(gdf, "tps")
    assert "extra" not in out and out.kode_kel.isna().all() and out.crs.to_epsg() == 4326


def test_conform_refuses_other_crs():
    gdf = gpd.GeoDataFrame({"kode": ["3171"]}, geometry=[Point(700000, 9300000)], crs=32748)
    with pytest.raises(ValueError, match="EPSG:4326"):
        schema.conform(gdf, "kota")


def test_voters_has_no_personal_columns():
    cols = set(schema.LAYERS["voters"].columns)
    assert not cols & {"nik", "nkk", "nama", "tanggal_lahir"}
    assert pd.api.types.is_string_dtype(schema.empty("voters").voter_key)
