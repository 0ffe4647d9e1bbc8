"""Frame ↔ SQLite row conversions of geo/store/gpkg_rows.py (store-level round trips: test_gpkg.py)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, MultiPolygon, Point, box

from geo import schema
from geo.errors import CRSError, GeometryError, InputError
from geo.schema import LAYERS
from geo.store import gpkg_binary, gpkg_rows


@pytest.mark.parametrize(("values", "dtype", "expected"), [
    (["a", None, ""], "string", ["a", None, ""]),
    ([1, None, -32768], "Int16", [1, None, -32768]),
    ([True, None, False], "boolean", [True, None, False]),
    ([1.5, np.nan, 0.0], "float64", [1.5, None, 0.0]),
])
def test_py_list_gives_plain_python_values(values, dtype, expected):
    out = gpkg_rows.py_list(pd.array(values, dtype=dtype))
    assert out == expected
    assert [type(v) for v in out] == [type(v) for v in expected]


def test_frame_from_rows_conforms():
    spec = LAYERS["tps"]
    row = [None] * len(spec.all_columns)
    row[0], row[2], row[15] = "3171011001001", 1, 1
    row[-1] = gpkg_binary.encode(np.array([Point(106.8, -6.2)]), 4326)[0]
    frame = gpkg_rows.frame_from_rows([tuple(row)], spec)
    assert list(frame.columns) == spec.all_columns and frame.crs.to_epsg() == 4326
    assert frame.dtypes.drop("geometry").astype(str).tolist() == \
        [str(pd.Series(dtype=d).dtype) for d in spec.columns.values()]
    assert frame.akses_disabilitas.tolist() == [True] and frame.rw.isna().all()


def test_prepare_chunk_promotes_polygons_and_refuses_other_types():
    kel = schema.conform(gpd.GeoDataFrame({"kode": ["3171011001", "3171011002"]},
                                          geometry=[box(0, 0, 1, 1), None], crs=4326), "kelurahan")
    out = gpkg_rows.prepare_chunk(kel, LAYERS["kelurahan"])
    assert out.geometry.iloc[0] == MultiPolygon([box(0, 0, 1, 1)]) and out.geometry.iloc[1] is None
    assert kel.geometry.iloc[0].geom_type == "Polygon"          # the caller's frame is untouched
    kel["geometry"] = [LineString([(0, 0), (1, 1)]), None]
    with pytest.raises(GeometryError, match="LineString"):
        gpkg_rows.prepare_chunk(kel, LAYERS["kelurahan"])
    with pytest.raises(CRSError):
        gpkg_rows.prepare_chunk(kel.set_crs(3857, allow_override=True), LAYERS["kelurahan"])


def test_update_frame_keeps_key_and_columns_only():
    frame = pd.DataFrame({"kode_tps": ["3171011001001"], "flags": ["x"], "nama": ["TPS 001"]})
    out = gpkg_rows.update_frame(LAYERS["tps"], frame, ["flags"])
    assert list(out.columns) == ["kode_tps", "flags"]
    with pytest.raises(InputError, match="lacks column 'precision_m'"):
        gpkg_rows.update_frame(LAYERS["tps"], frame, ["precision_m"])
