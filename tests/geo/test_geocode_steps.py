"""Layer preparation and clipping used by the chain (geo/geocode_steps.py)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import CRSError
from geo.geocode_steps import clip, prepare_layers, prepare_tps

KEL = gpd.GeoDataFrame({"kode": ["3171011001", "3171011001", "3171011002"], "nama": ["A", "A bis", "B"]},
                       geometry=[shapely.box(0.0, 0.0, 1.0, 1.0), shapely.box(5, 5, 6, 6), shapely.box(1, 0, 2, 1)],
                       crs=4326)


def test_clip_keeps_covered_cuts_straddling_drops_outside():
    kel = np.array([shapely.box(0, 0, 1, 1)] * 4)
    polys = np.array([shapely.box(0.2, 0.2, 0.4, 0.4), shapely.box(0.5, 0.5, 1.5, 1.5), shapely.box(2, 2, 3, 3),
                      shapely.box(1, 0, 2, 1)])       # inside, straddling, outside, touching along an edge
    out = clip(polys, kel)
    assert out[0].equals(polys[0])
    assert out[1].area == pytest.approx(0.25) and kel[1].covers(out[1])
    assert out[2] is None and out[3] is None


def test_prepare_layers_dissolves_pieces_and_locates_candidates():
    rw = gpd.GeoDataFrame({"kode_kel": ["3171011001", "3171011001", "3171011001", None], "rw": [1, 1, 2, 3]},
                          geometry=[shapely.box(0, 0, .5, .5), shapely.box(.5, .5, 1, 1), shapely.box(0, .5, .5, 1),
                                    shapely.box(0, 0, 1, 1)], crs=4326)
    places = gpd.GeoDataFrame({"nama": ["SDN 01 A", "Laut"]}, geometry=[shapely.Point(.5, .5), shapely.Point(9, 9)],
                              crs=4326)
    layers = prepare_layers(KEL, rw, None, places)
    assert layers.kelurahan["kode"].tolist() == ["3171011001", "3171011002"]   # first of a duplicated code
    assert layers.rw["key"].tolist() == ["3171011001-001", "3171011001-002"]     # pieces of RW 1 merged
    assert layers.rw.geometry.iloc[0].area == pytest.approx(0.5)
    assert layers.candidates["kode_kel"].tolist() == ["3171011001"]              # the sea point dropped


def test_prepare_layers_requires_a_crs():
    with pytest.raises(CRSError):
        prepare_layers(KEL.set_crs(None, allow_override=True), None, None, None)


def test_prepare_tps_conforms_and_keeps_nama_kel():
    frame, nama_kel = prepare_tps(gpd.GeoDataFrame({"kode_tps": ["3171011001001"], "kode_kel": ["3171011001"],
                                                    "nama_kel": ["Kel. A"]}, geometry=[None], crs=4326))
    assert "geometry" not in frame and frame["rw"].dtype == "Int16"
    assert nama_kel.tolist() == ["Kel. A"]
    frame, nama_kel = prepare_tps(pd.DataFrame({"kode_tps": [], "kode_kel": []}))
    assert frame.empty and nama_kel is None
