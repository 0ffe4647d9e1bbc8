import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra
from shapely.geometry import LineString, MultiLineString, Point

from geo.errors import CRSError, GeometryError
from geo.network import build_graph, snap, walk_distances, walk_matrix

X0, Y0 = 700_000.0, 9_315_000.0


def roads(*lines, crs=32748):
    """Road lines given in metres relative to (X0, Y0)."""
    geoms = [shapely.transform(g, lambda c: c + [X0, Y0]) if g is not None else None for g in lines]
    return gpd.GeoDataFrame({"NAME": [f"r{i}" for i in range(len(geoms))]}, geometry=geoms, crs=32748).to_crs(crs)


def sources(rows):
    """rows: (group, dx, dy[, target])."""
    df = pd.DataFrame([r[:3] for r in rows], columns=["group", "x", "y"])
    df["x"] += X0
    df["y"] += Y0
    if any(len(r) > 3 for r in rows):
        df["target"] = [r[3] if len(r) > 3 else None for r in rows]
    return df


def targets(rows):
    """rows: (code, dx, dy)."""
    return pd.DataFrame({"code": [r[0] for r in rows], "x": [X0 + r[1] for r in rows], "y": [Y0 + r[2] for r in rows]})


def test_a_line_ending_at_a_vertex_in_the_middle_of_another_is_joined_there():
    a = LineString([(0, 0), (100, 0), (200, 0)])          # vertex (100, 0) is shared mid-line only
    b = LineString([(100, 0), (100, 100)])
    g = build_graph(roads(a, b))
    assert g.report.figures["components"] == 1 and len(g.pieces) == 3
    got = walk_distances(g, sources([("k", 0, 0)]), {"k": targets([("t1", 100, 100)])})
    assert got.loc[0, "walk_nearest_m"] == pytest.approx(200.0, abs=0.01)


def test_crossing_lines_without_a_shared_vertex_are_split_at_the_crossing():
    g = build_graph(roads(LineString([(0, 0), (200, 0)]), LineString([(100, -100), (100, 100)])))
    assert len(g.pieces) == 4 and g.n_nodes == 5
    got = walk_distances(g, sources([("k", 0, 0)]), {"k": targets([("t1", 100, 100)])})
    assert got.loc[0, "walk_nearest_m"] == pytest.approx(200.0, abs=0.01)


def test_only_the_largest_component_is_kept_and_the_rest_reported():
    main = LineString([(0, 0), (1000, 0)])
    island = LineString([(0, 500), (0, 620)])              # 120 m, never touching
    g = build_graph(roads(main, island))
    f = g.report.figures
    assert f["components"] == 2 and f["components_dropped"] == 1
    assert f["km_dropped"] == pytest.approx(0.1, abs=0.05) and f["km_kept"] == pytest.approx(1.0)
    assert len(g.pieces) == 1


def test_snap_projects_on_the_nearest_piece_and_measures_the_offset():
    g = build_graph(roads(LineString([(0, 0), (1000, 0)])))
    s = snap(g, np.array([[X0 + 300, Y0 + 40], [np.nan, np.nan]]))
    assert s.piece.tolist() == [0, -1]
    assert s.offset_m[0] == pytest.approx(40) and s.along_m[0] == pytest.approx(300)
    assert s.node_m[0] == pytest.approx(340) and np.isnan(s.offset_m[1])
    pts = gpd.GeoSeries([Point(X0 + 300, Y0 + 40)], crs=32748).to_crs(4326)
    assert snap(g, pts).offset_m[0] == pytest.approx(40, abs=0.01)


def test_two_points_on_one_piece_walk_along_it_not_via_its_ends():
    g = build_graph(roads(LineString([(0, 0), (1000, 0)])))
    got = walk_distances(g, sources([("k", 400, 10)]), {"k": targets([("t1", 450, -5)])})
    assert got.loc[0, "walk_nearest_m"] == pytest.approx(10 + 50 + 5, abs=0.01)
    assert got.loc[0, "snap_m"] == pytest.approx(10, abs=0.01)


def test_ties_go_to_the_smaller_code_also_for_tps_sharing_one_spot():
    g = build_graph(roads(LineString([(-500, 0), (500, 0)])))
    tg = targets([("k009", 100, 0), ("k003", -100, 0), ("k001", 300, 0), ("k002", 300, 0)])
    got = walk_distances(g, sources([("k", 0, 0, "k002"), ("k", 300, 0, "k009")]), {"k": tg})
    assert got["walk_nearest"].tolist() == ["k003", "k001"]
    assert got["walk_target_m"].tolist() == pytest.approx([300.0, 200.0], abs=0.01)


def test_walks_beyond_the_limit_and_other_groups_are_nan():
    g = build_graph(roads(LineString([(0, 0), (5000, 0)])))
    src = sources([("k", 0, 0, "t2"), ("other", 0, 0), ("k", np.nan, np.nan)])
    got = walk_distances(g, src, {"k": targets([("t1", 2000, 0), ("t2", 4000, 0)])}, limit_m=3000)
    assert got.loc[0, "walk_nearest"] == "t1" and np.isnan(got.loc[0, "walk_target_m"])
    assert got.loc[1:, "walk_nearest"].isna().all() and got.loc[1:, "walk_nearest_m"].isna().all()
    w = walk_matrix(g, targets([("t", 4000, 0)])[["x", "y"]].to_numpy(), np.array([[X0, Y0]]), limit_m=5000)
    assert w[0, 0] == pytest.approx(4000, abs=0.01)


def test_input_checks_and_row_accounting():
    with pytest.raises(CRSError):
        build_graph(roads(LineString([(0, 0), (1, 0)])).set_crs(None, allow_override=True))
    with pytest.raises(GeometryError):
        build_graph(roads(Point(0, 0)))
    g = build_graph(roads(MultiLineString([[(0, 0), (10, 0)], [(10, 0), (10, 10)]]), Point(5, 5), None))
    r = g.report
    assert (r.rows_read, r.rows_loaded, r.rows_rejected) == (3, 1, 2) and r.balanced
    assert {p.line for p in r.rejections} == {2, 3}


@pytest.mark.real_data
def test_menteng_roads_are_noded_and_walks_match_an_independent_vertex_graph(real_data):
    path = real_data / "inasafe-inasafe_data" / "roads_osm_2012_menteng_clip.geojson"
    raw = gpd.read_file(path)
    g = build_graph(raw, source=str(path))
    f = g.report.figures
    assert f["pieces_after_noding"] > 2 * len(raw)          # split at crossings and shared mid-line vertices
    assert f["components_dropped"] >= 1 and 0 < f["km_dropped"] < 0.05 * f["km_total"]
    assert g.report.balanced and g.report.rows_read == len(raw)
    ends_only = _components_joining_only_line_ends(raw.to_crs(32748))
    assert ends_only > f["components"]                     # without noding the network falls apart
    rng = np.random.default_rng(3)
    nodes = rng.choice(g.n_nodes, 40, replace=False)
    src = pd.DataFrame({"group": "k", "x": g.xy[nodes[5:], 0], "y": g.xy[nodes[5:], 1]})
    tg = pd.DataFrame({"code": [f"t{i}" for i in range(5)], "x": g.xy[nodes[:5], 0], "y": g.xy[nodes[:5], 1]})
    got = walk_distances(g, src, {"k": tg}, limit_m=10_000)
    expect = _vertex_graph_distances(g.pieces, g.xy[nodes[:5]], g.xy[nodes[5:]])
    np.testing.assert_allclose(got["walk_nearest_m"], expect.min(axis=0), atol=0.01)
    assert (got["walk_nearest"] == np.array([f"t{i}" for i in expect.argmin(axis=0)])).all()
    straight = np.hypot(*(g.xy[nodes[5:]][None] - g.xy[nodes[:5]][:, None]).transpose(2, 0, 1)).min(axis=0)
    assert (got["walk_nearest_m"].to_numpy() >= straight - 0.01).all()


def _components_joining_only_line_ends(lines: gpd.GeoDataFrame) -> int:
    parts = shapely.get_parts(lines.geometry.values)
    ends = np.round(np.vstack([shapely.get_coordinates(shapely.get_point(parts, 0)),
                               shapely.get_coordinates(shapely.get_point(parts, -1))]), 3)
    _, inv = np.unique(ends[:, 0] + 1j * ends[:, 1], return_inverse=True)
    n = inv.max() + 1
    m = sp.coo_matrix((np.ones(len(parts)), (inv[: len(parts)], inv[len(parts):])), shape=(n, n))
    return connected_components(m, directed=False)[0]


def _vertex_graph_distances(pieces, from_xy, to_xy) -> np.ndarray:
    """Independent check: every vertex a node, every segment an edge, plain dijkstra on the whole graph."""
    coords, which = shapely.get_coordinates(pieces, return_index=True)
    coords = np.round(coords, 3)
    keys, inv = np.unique(coords[:, 0] + 1j * coords[:, 1], return_inverse=True)
    same = which[1:] == which[:-1]
    a, b = inv[:-1][same], inv[1:][same]
    w = np.hypot(*(coords[1:][same] - coords[:-1][same]).T)
    n = len(keys)
    m = sp.coo_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n)).tocsr()
    lookup = {k: i for i, k in enumerate(keys)}

    def node(xy):
        return [lookup[complex(round(x, 3), round(y, 3))] for x, y in xy]

    return dijkstra(m, indices=node(from_xy))[:, node(to_xy)]
