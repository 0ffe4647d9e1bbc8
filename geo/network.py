"""Walking distances on a road network: routable graph, snapping, multi-source shortest paths.

The graph is built from road lines in EPSG:32748. Lines are *noded* with ``shapely.node``: split
wherever two lines cross or touch (also at a vertex they share mid-line, which OpenStreetMap data
has by the thousand), not only at their ends. Each noded piece is an edge weighted by its length in
metres; nodes are the pieces' end points. Only the largest connected component is kept and the
report says what was dropped. Roads are walked both ways (``ONEWAY`` is ignored: people walk).

A point is snapped to the nearest *piece* (not the nearest node): it joins the network at its
projection on that piece, and the snap distance (point → road) is added to the walk.
:func:`walk_distances` then runs ``scipy.sparse.csgraph.dijkstra`` per group (kelurahan) on the
sub-network within ``limit_m`` of the group's points, from every target (TPS) at once.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra

from geo.crs import METRIC_EPSG, to_metric
from geo.errors import CRSError, GeometryError, MissingColumnError
from geo.nearest import TIE_TOLERANCE_M
from geo.report import Problem, Report

log = logging.getLogger(__name__)

NODE_PRECISION_M = 0.001     # end points closer than 1 mm are one node
DEFAULT_LIMIT_M = 3000.0     # walks longer than this are reported as beyond reach (NaN)
_MIN_EDGE_M = 1e-6           # zero-length links (two points at one spot) must stay edges


@dataclasses.dataclass
class RoadGraph:
    """A routable road network in EPSG:32748.

    Attributes
    ----------
    pieces : ndarray of LineString
        The noded road pieces (edges), metres.
    u, v : ndarray of int
        Node index at the start / end of each piece.
    length : ndarray of float
        Piece length in metres.
    xy : ndarray (n, 2)
        Node coordinates in metres.
    matrix : scipy.sparse.csr_matrix
        Symmetric adjacency, the shortest piece length between two nodes.
    report : Report
        What was read, noded and dropped.
    """

    pieces: np.ndarray
    u: np.ndarray
    v: np.ndarray
    length: np.ndarray
    xy: np.ndarray
    matrix: sp.csr_matrix
    report: Report
    _tree: shapely.STRtree | None = dataclasses.field(default=None, repr=False)

    @property
    def tree(self) -> shapely.STRtree:
        if self._tree is None:
            self._tree = shapely.STRtree(self.pieces)
        return self._tree

    @property
    def n_nodes(self) -> int:
        return len(self.xy)


@dataclasses.dataclass(frozen=True)
class Snapped:
    """Where points join the network.

    Attributes
    ----------
    piece : ndarray of int
        Index of the nearest piece, -1 for a point that cannot be snapped (missing / NaN).
    along_m : ndarray of float
        Distance from the piece's start to the projection, metres.
    offset_m : ndarray of float
        Snap distance from the point to the piece, metres (added to every walk).
    node : ndarray of int
        The nearer end node of the piece (-1 when not snapped).
    node_m : ndarray of float
        Walk from the point to ``node``: offset plus distance along the piece, metres.
    """

    piece: np.ndarray
    along_m: np.ndarray
    offset_m: np.ndarray
    node: np.ndarray
    node_m: np.ndarray


def build_graph(roads: gpd.GeoDataFrame | gpd.GeoSeries, *, source: str = "roads") -> RoadGraph:
    """Routable graph of road lines, noded where lines cross or touch; largest component only.

    Parameters
    ----------
    roads : GeoDataFrame or GeoSeries
        (Multi)LineStrings in any declared CRS (reprojected to EPSG:32748). Other geometry types
        are skipped and counted in the report.
    source : str
        Name of the input for the report (e.g. the file path).

    Returns
    -------
    RoadGraph
        With ``report.figures``: lines read, pieces after noding, nodes, components, and the
        components / km dropped outside the largest component.

    Raises
    ------
    CRSError
        The roads have no CRS.
    GeometryError
        There is no line geometry at all.
    """
    geoms = roads.geometry if isinstance(roads, gpd.GeoDataFrame) else roads
    if geoms.crs is None:
        raise CRSError(f"{source}: road lines have no CRS; expected a declared CRS (e.g. EPSG:4326)")
    report = Report("network", source=source, rows_read=len(geoms))
    lines = _lines(to_metric(geoms).values, report)
    pieces = shapely.get_parts(shapely.node(shapely.GeometryCollection(list(lines))))
    pieces = pieces[shapely.length(pieces) > 0]
    u, v, xy = _end_nodes(pieces)
    length = shapely.length(pieces)
    keep, comp = _largest_component(u, v, length, len(xy))
    report.figures.update({"pieces_after_noding": len(pieces), "components": comp["components"],
                           "components_dropped": comp["components"] - 1 if comp["components"] else 0,
                           "km_total": round(length.sum() / 1000, 1), "km_dropped": round(comp["km_dropped"], 1)})
    pieces, u, v, length = pieces[keep], u[keep], v[keep], length[keep]
    used = np.unique(np.r_[u, v])
    remap = np.full(len(xy), -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    u, v, xy = remap[u], remap[v], xy[used]
    matrix = _csr_min(np.r_[u, v], np.r_[v, u], np.r_[length, length], len(xy))
    report.figures.update({"nodes": len(xy), "pieces": len(pieces), "km_kept": round(length.sum() / 1000, 1)})
    log.info("road graph: %d nodes, %d pieces, %.1f km", len(xy), len(pieces), length.sum() / 1000)
    return RoadGraph(pieces, u, v, length, xy, matrix, report.finish())


def _lines(geoms: np.ndarray, report: Report) -> np.ndarray:
    """Single LineStrings of the input; a row without any line is rejected (1-based feature number)."""
    parts, row = shapely.get_parts(geoms, return_index=True)
    kind = shapely.get_type_id(parts)
    is_line = ((kind == 1) | (kind == 2)) & ~shapely.is_empty(parts)    # LineString, LinearRing
    has_line = np.zeros(len(geoms), dtype=bool)
    has_line[row[is_line]] = True
    report.rows_loaded = int(has_line.sum())
    report.reject(Problem(report.source, int(i) + 1, "geometry", _type_name(geoms[i]), "no line geometry: skipped")
                  for i in np.flatnonzero(~has_line))
    if not is_line.any():
        raise GeometryError("no road line geometry found; expected LineString or MultiLineString",
                            file=report.source, field="geometry")
    return parts[is_line]


def _type_name(geom) -> str:
    return "missing" if geom is None else geom.geom_type


def _end_nodes(pieces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Node index of each piece's start and end, and the node coordinates (1 mm grid)."""
    a = shapely.get_coordinates(shapely.get_point(pieces, 0))
    b = shapely.get_coordinates(shapely.get_point(pieces, -1))
    pts = np.round(np.concatenate([a, b]) / NODE_PRECISION_M) * NODE_PRECISION_M
    keys = pts[:, 0] + 1j * pts[:, 1]                # complex: one sortable key per point
    uniq, inv = np.unique(keys, return_inverse=True)
    return inv[: len(pieces)], inv[len(pieces):], np.column_stack([uniq.real, uniq.imag])


def _largest_component(u, v, length, n) -> tuple[np.ndarray, dict]:
    if n == 0:
        return np.zeros(0, dtype=bool), {"components": 0, "km_dropped": 0.0}
    graph = sp.coo_matrix((np.ones(len(u)), (u, v)), shape=(n, n)).tocsr()
    count, label = connected_components(graph, directed=False)
    km = np.bincount(label[u], weights=length, minlength=count) / 1000
    best = int(np.argmax(km))                        # largest by road length (ties: lowest label)
    keep = label[u] == best
    return keep, {"components": int(count), "km_dropped": float(km.sum() - km[best])}


def _csr_min(rows: np.ndarray, cols: np.ndarray, w: np.ndarray, n: int) -> sp.csr_matrix:
    """Sparse matrix keeping the *minimum* weight of duplicated (row, col) pairs."""
    order = np.lexsort((w, cols, rows))
    rows, cols, w = rows[order], cols[order], w[order]
    first = np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])]
    return sp.csr_matrix((np.maximum(w[first], _MIN_EDGE_M), (rows[first], cols[first])), shape=(n, n))


def snap(graph: RoadGraph, points: gpd.GeoSeries | gpd.GeoDataFrame | np.ndarray) -> Snapped:
    """Snap points to their nearest road piece.

    Parameters
    ----------
    graph : RoadGraph
    points : GeoSeries, GeoDataFrame or ndarray (n, 2)
        Geo objects in any declared CRS; an array is taken as EPSG:32748 metres.
        Missing, empty or NaN points get ``piece = -1`` and NaN distances.

    Returns
    -------
    Snapped
    """
    xy = _metric_xy(points)
    n = len(xy)
    piece = np.full(n, -1, dtype=np.int64)
    offset, along = np.full(n, np.nan), np.full(n, np.nan)
    ok = np.flatnonzero(np.isfinite(xy).all(axis=1))
    if len(ok) and len(graph.pieces):
        geoms = shapely.points(xy[ok])
        (src, hit), dist = graph.tree.query_nearest(geoms, return_distance=True, all_matches=False)
        piece[ok[src]], offset[ok[src]] = hit, dist
        along[ok[src]] = shapely.line_locate_point(graph.pieces[hit], geoms[src])
    p = np.maximum(piece, 0)
    to_end = graph.length[p] - along
    start_nearer = along <= to_end
    node = np.where(piece >= 0, np.where(start_nearer, graph.u[p], graph.v[p]), -1)
    return Snapped(piece, along, offset, node, offset + np.where(start_nearer, along, to_end))


def walk_distances(graph: RoadGraph, sources: pd.DataFrame, targets_by_group: Mapping[str, pd.DataFrame], *,
                   limit_m: float = DEFAULT_LIMIT_M) -> pd.DataFrame:
    """Walking distance from each source to the nearest target of its group, and to a given target.

    Per group (kelurahan), one ``dijkstra`` run from all the group's targets at once on the
    sub-network within ``limit_m`` of the group's points (:func:`walk_matrix`). Ties: walks within
    1 mm of each other go to the smaller target code.

    Parameters
    ----------
    graph : RoadGraph
    sources : DataFrame
        ``group``, ``x``, ``y`` (EPSG:32748, metres) and optionally ``target`` (a target code whose
        distance is wanted, e.g. the DPT's TPS).
    targets_by_group : mapping of group → DataFrame
        Each frame has ``code``, ``x``, ``y`` (EPSG:32748, metres).
    limit_m : float, default 3000
        Longest walk considered, metres; longer (or unreachable) walks are NaN.

    Returns
    -------
    DataFrame
        Indexed like ``sources``: ``walk_nearest`` (code, ``<NA>`` when none within the limit),
        ``walk_nearest_m``, ``walk_target_m`` (NaN without a ``target`` in the group) and
        ``snap_m`` (source to road), metres rounded to 1 cm.

    Examples
    --------
    >>> targets = {k: f.rename(columns={"kode_tps": "code"}) for k, f in tps_xy.groupby("kode_kel")}
    >>> walk_distances(graph, locs.rename(columns={"kode_kel": "group"}), targets)  # doctest: +SKIP
    """
    _require(sources, ("group", "x", "y"), "sources")
    n = len(sources)
    xy = sources[["x", "y"]].to_numpy(np.float64)
    best_m, target_m = np.full(n, np.nan), np.full(n, np.nan)
    best_code = np.full(n, None, dtype=object)
    wanted = sources["target"].to_numpy(dtype=object) if "target" in sources else np.full(n, None, dtype=object)
    codes, groups = pd.factorize(sources["group"])
    for g in np.argsort(groups.astype(str)):        # deterministic group order
        tg = targets_by_group.get(groups[g])
        idx = np.flatnonzero(codes == g)
        if tg is None or len(tg) == 0:
            continue
        _require(tg, ("code", "x", "y"), f"targets of {groups[g]}")
        tg = tg.sort_values("code", kind="stable")
        walk = walk_matrix(graph, tg[["x", "y"]].to_numpy(np.float64), xy[idx], limit_m=limit_m)
        pick, best = nearest_rows(walk)
        tcodes = tg["code"].to_numpy(dtype=object)
        best_code[idx] = np.where(pick >= 0, tcodes[np.maximum(pick, 0)], None)
        best_m[idx] = best
        row = pd.Index(tcodes).get_indexer(wanted[idx])
        target_m[idx] = np.where(row >= 0, walk[np.maximum(row, 0), np.arange(len(idx))], np.nan)
    return pd.DataFrame({"walk_nearest": pd.array(best_code, dtype="string"), "walk_nearest_m": np.round(best_m, 2),
                         "walk_target_m": np.round(target_m, 2),
                         "snap_m": np.round(snap(graph, xy).offset_m, 2)}, index=sources.index)


def nearest_rows(walk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column of a (targets × sources) walk matrix: the first row within 1 mm of the minimum
    (rows in tie-break order), -1 and NaN where every entry is NaN."""
    if walk.shape[0] == 0:
        return np.full(walk.shape[1], -1), np.full(walk.shape[1], np.nan)
    w = np.where(np.isnan(walk), np.inf, walk)
    best = w.min(axis=0)
    pick = np.argmax(w <= best + TIE_TOLERANCE_M, axis=0)
    found = np.isfinite(best)
    return np.where(found, pick, -1), np.where(found, best, np.nan)


def walk_matrix(graph: RoadGraph, targets_xy: np.ndarray, sources_xy: np.ndarray, *,
                limit_m: float = DEFAULT_LIMIT_M) -> np.ndarray:
    """Walking distances (metres) between every target and every source, NaN beyond ``limit_m``.

    A walk is the target's snap offset + the network path + the source's snap offset. Targets at
    the same spot are routed once. Points that cannot be snapped give NaN.

    Parameters
    ----------
    graph : RoadGraph
    targets_xy, sources_xy : ndarray (t, 2), (s, 2)
        EPSG:32748 metres.
    limit_m : float
        Longest walk, metres.

    Returns
    -------
    ndarray (t, s)
    """
    out = np.full((len(targets_xy), len(sources_xy)), np.nan)
    t_snap, s_snap = snap(graph, targets_xy), snap(graph, sources_xy)
    t_ok, s_ok = np.flatnonzero(t_snap.piece >= 0), np.flatnonzero(s_snap.piece >= 0)
    if len(t_ok) == 0 or len(s_ok) == 0:
        return out
    key = np.round(targets_xy[t_ok, 0], 3) + 1j * np.round(targets_xy[t_ok, 1], 3)
    _, first, rep_of = np.unique(key, return_index=True, return_inverse=True)
    rep, src = _subset(t_snap, t_ok[first]), _subset(s_snap, s_ok)
    matrix, virtual = _group_network(graph, [rep, src], np.vstack([targets_xy[t_ok], sources_xy[s_ok]]), limit_m)
    dist = dijkstra(matrix, directed=True, indices=virtual[: len(first)], limit=limit_m)
    walk = dist[:, virtual[len(first):]] + rep.offset_m[:, None] + src.offset_m[None, :]
    walk[~(walk <= limit_m)] = np.nan
    out[np.ix_(t_ok, s_ok)] = walk[rep_of]
    return out


def _group_network(graph: RoadGraph, snapped: list[Snapped], xy: np.ndarray, limit_m: float
                   ) -> tuple[sp.csr_matrix, np.ndarray]:
    """The sub-network within ``limit_m`` of ``xy``, with one extra (virtual) node per snapped point.

    Virtual nodes split their piece: points on one piece are chained in order along it, so two
    points on the same piece are linked directly.
    """
    piece = np.concatenate([s.piece for s in snapped])
    along = np.concatenate([s.along_m for s in snapped])
    lo, hi = xy.min(axis=0) - limit_m, xy.max(axis=0) + limit_m
    inside = ((graph.xy >= lo) & (graph.xy <= hi)).all(axis=1)
    inside[graph.u[piece]] = inside[graph.v[piece]] = True
    nodes = np.flatnonzero(inside)
    local = np.full(graph.n_nodes, -1, dtype=np.int64)
    local[nodes] = np.arange(len(nodes))
    sub = graph.matrix[nodes][:, nodes].tocoo()
    m, p = len(nodes), len(piece)
    virtual = m + np.arange(p)
    order = np.lexsort((along, piece))
    pc, al, vid = piece[order], along[order], virtual[order]
    first = np.r_[True, pc[1:] != pc[:-1]]
    last = np.r_[pc[1:] != pc[:-1], True]
    rows = np.concatenate([local[graph.u[pc[first]]], vid[:-1][~first[1:]], vid[last]])
    cols = np.concatenate([vid[first], vid[1:][~first[1:]], local[graph.v[pc[last]]]])
    w = np.concatenate([al[first], np.diff(al)[~first[1:]], graph.length[pc[last]] - al[last]])
    r = np.concatenate([sub.row, rows, cols])
    c = np.concatenate([sub.col, cols, rows])
    return _csr_min(r, c, np.concatenate([sub.data, w, w]), m + p), virtual


def _subset(s: Snapped, idx: np.ndarray) -> Snapped:
    return Snapped(*(getattr(s, f.name)[idx] for f in dataclasses.fields(Snapped)))


def _require(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MissingColumnError(f"{what} needs columns {list(columns)}; missing {missing}", field=missing[0])


def _metric_xy(points) -> np.ndarray:
    if isinstance(points, (gpd.GeoSeries, gpd.GeoDataFrame)):
        geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
        if geoms.crs is None:
            raise CRSError("points have no CRS; declare one (store: EPSG:4326) or pass EPSG:32748 x/y arrays")
        g = to_metric(geoms).values
        ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
        xy = np.full((len(g), 2), np.nan)
        xy[ok] = shapely.get_coordinates(g[ok])[:, :2]
        return xy
    return np.asarray(points, dtype=np.float64).reshape(-1, 2)


__all__ = ["RoadGraph", "Snapped", "build_graph", "snap", "walk_distances", "DEFAULT_LIMIT_M", "METRIC_EPSG"]
