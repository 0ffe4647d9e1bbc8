"""geo.mvt: the direct point-tile encoder writes the same bytes as mapbox_vector_tile.encode."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import mapbox_vector_tile
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo import mvt
from geo.schema import conform
from geo.tiles import TileIndex, TileOptions

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "maps"


def _reference(name, px, py, ids, props, extent=4096) -> bytes:
    """The previous path: shapely pixel points through mapbox_vector_tile.encode."""
    feats = [{"geometry": g, "properties": p, "id": int(i)}
             for g, i, p in zip(shapely.points(px, py), ids, props)]
    return mapbox_vector_tile.encode([{"name": name, "features": feats}],
                                     default_options={"extents": extent, "y_coord_down": True})


def _read(layer: str) -> gpd.GeoDataFrame:
    doc = json.loads((FIXTURES / f"{layer}.geojson").read_text())
    return conform(gpd.GeoDataFrame.from_features(doc, crs=4326), layer)


def _reference_tile(index: TileIndex, z: int, x: int, y: int) -> bytes | None:
    sel = index.select(z, x, y)
    feats = index._grid(z) if sel.kind == "grid" else index._source(z)[0]
    idx = np.searchsorted(feats.ids, np.asarray(sel.ids, dtype=np.int64))
    if not len(idx):
        return None
    geoms = index._pixels(feats, idx, z, x, y)
    return _reference(index.name, shapely.get_x(geoms), shapely.get_y(geoms), feats.ids[idx],
                      [feats.props[i] for i in idx])


@pytest.mark.parametrize("options", [TileOptions(), TileOptions(aggregate_by="grid"),
                                     TileOptions(aggregate_by="grid", feature_cap=100, zooms=tuple(range(8, 19)))])
def test_every_fixture_tile_is_byte_identical_to_mapbox_vector_tile(options):
    tps, kelurahan = _read("tps"), _read("kelurahan")
    index = TileIndex.from_frame(tps, "tps", areas=kelurahan, options=options)
    tiles = list(index.pyramid())
    assert len(tiles) > 20
    kinds = set()
    for z, x, y in tiles:
        kinds.add(index.select(z, x, y).kind)
        ours = index.mvt(z, x, y)
        assert ours == _reference_tile(index, z, x, y), (z, x, y)
        layer = mapbox_vector_tile.decode(ours)["tps"]
        assert layer["extent"] == 4096 and len(layer["features"]) == len(index.select(z, x, y).ids)
    assert "features" in kinds and len(kinds) == 2


def test_an_empty_selection_is_no_tile():
    index = TileIndex.from_frame(_read("tps"), "tps")
    assert index.mvt(14, 0, 0) is None


def test_values_are_typed_and_deduplicated_as_mapbox_vector_tile_does():
    props = [{"a": 1, "b": True, "c": "x", "d": 1.0, "e": None, 5: "not a str key"},
             {"a": 1.0, "b": 1, "c": 2.5, "f": -(2 ** 63), "g": 2 ** 63 - 1, "h": ""},
             {}, {"b": False, "a": float("nan"), "i": [1]}]
    ids = np.array([0, 7, -3, 2 ** 40])
    px, py = np.array([0.0, -64, 4159, 2048]), np.array([4159.0, -64, 0, 2048])
    ours = mvt.point_tile("tps", px, py, ids, props)
    assert ours == _reference("tps", px, py, ids, props)
    decoded = mapbox_vector_tile.decode(ours)["tps"]["features"]
    assert [f.get("id") for f in decoded] == [0, 7, 0, 2 ** 40]  # a negative id is left out (decodes as 0)
    assert decoded[1]["properties"] == {"a": 1, "b": 1, "c": 2.5, "f": -(2 ** 63), "g": 2 ** 63 - 1, "h": ""}


def test_an_int_outside_int64_is_refused_like_mapbox_vector_tile():
    with pytest.raises(ValueError):
        _reference("t", [1.0], [1.0], [1], [{"a": 2 ** 63}])
    with pytest.raises(ValueError, match="int64"):
        mvt.point_tile("t", [1.0], [1.0], [1], [{"a": 2 ** 63}])


def test_varints_match_the_protobuf_encoding():
    values = np.array([0, 1, 127, 128, 300, 16383, 16384, 2 ** 35, 2 ** 63, 2 ** 64 - 1], dtype=np.uint64)
    data, ends = mvt.varints(values)
    assert data == b"".join(mvt._varint(int(v)) for v in values)
    assert ends.tolist() == np.cumsum([len(mvt._varint(int(v))) for v in values]).tolist()
    empty, no_ends = mvt.varints(np.array([], dtype=np.int64))
    assert empty == b"" and len(no_ends) == 0


_values = st.one_of(st.none(), st.booleans(), st.text(max_size=8),
                    st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1),
                    st.floats(allow_nan=False), st.sampled_from([0, 1, -1, 0.0, 1.0, True, False, "", "1"]))
_props = st.dictionaries(st.sampled_from(["kode", "dpt", "nama", "kind", "x", "ü"]), _values, max_size=6)
_points = st.lists(st.tuples(st.integers(-64, 4160), st.integers(-64, 4160),
                             st.integers(0, 2 ** 62), _props), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(_points)
def test_random_points_and_properties_encode_like_mapbox_vector_tile(points):
    px = np.array([p[0] for p in points], dtype=float)
    py = np.array([p[1] for p in points], dtype=float)
    ids = np.array([p[2] for p in points], dtype=np.int64)
    props = [{k: v for k, v in p[3].items() if v is not None} for p in points]
    ours = mvt.point_tile("tps", px, py, ids, props)
    old = _reference("tps", px, py, ids, props)
    assert ours == old
    assert mapbox_vector_tile.decode(ours) == mapbox_vector_tile.decode(old)
