"""The steps of the geocoding chain (see :mod:`geo.geocode` for the order and the meaning).

:class:`Chain` holds per-TPS state as arrays (point, source, precision, polygon key, flags); each
``from_*`` step fills only the TPS that no better source has placed. All steps are vectorized.
"""

from __future__ import annotations

import dataclasses
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.address import parse_rt_rw
from geo.codes import rt_key, rw_key
from geo.crs import METRIC_EPSG, to_storage
from geo.errors import MissingColumnError
from geo.geocode_coords import parse_coordinates
from geo.geocode_place import match_places
from geo.geocode_points import centres
from geo.geocode_reverse import containing
from geo.names import match_kelurahan
from geo.report import MAX_LISTED, Problem, Report
from geo.schema import conform

log = logging.getLogger(__name__)

PLACE_PRECISION_M = 50.0
STICKY_FLAGS = ("kelurahan_by_name",)   # provenance of a repaired input field, kept on re-runs


@dataclasses.dataclass
class Layers:
    """The area layers in EPSG:4326, one row per key (pieces of one RW/RT dissolved)."""

    kelurahan: gpd.GeoDataFrame
    kel_metric: np.ndarray
    rw: gpd.GeoDataFrame | None
    rt: gpd.GeoDataFrame | None
    candidates: gpd.GeoDataFrame | None


def prepare_layers(kelurahan, rw, rt, candidates) -> Layers:
    """Check columns and CRS, reproject to EPSG:4326, dissolve duplicate keys, locate candidates."""
    kel = _layer(kelurahan, "kelurahan", ["kode"])
    kel = kel[kel.geometry.notna() & ~kel.geometry.is_empty].drop_duplicates("kode").reset_index(drop=True)
    shapely.prepare(kel.geometry.to_numpy())
    metric = kel.geometry.to_crs(METRIC_EPSG).to_numpy()
    rw_l = _keyed(_layer(rw, "rw", ["kode_kel", "rw"]), ["kode_kel", "rw"]) if rw is not None else None
    rt_l = _keyed(_layer(rt, "rt", ["kode_kel", "rw", "rt"]), ["kode_kel", "rw", "rt"]) if rt is not None else None
    places = _candidates(candidates, kel) if candidates is not None else None
    return Layers(kel, metric, rw_l, rt_l, places)


def prepare_tps(tps: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series | None]:
    """The conforming ``tps`` frame (positional index, geometry dropped) and the optional ``nama_kel``."""
    missing = [c for c in ("kode_tps", "kode_kel") if c not in tps.columns]
    if missing:
        raise MissingColumnError(f"TPS table lacks {', '.join(missing)}; "
                                 f"columns found: {', '.join(map(str, tps.columns))}")
    plain = pd.DataFrame(tps.drop(columns=tps.geometry.name) if isinstance(tps, gpd.GeoDataFrame) else tps)
    plain = plain.reset_index(drop=True)
    nama_kel = plain["nama_kel"].astype("string") if "nama_kel" in plain else None
    return pd.DataFrame(conform(plain, "tps").drop(columns="geometry")), nama_kel


class Chain:
    """Per-TPS state of the forward chain."""

    def __init__(self, frame: pd.DataFrame, layers: Layers, report: Report):
        n = len(frame)
        self.frame, self.layers, self.report = frame, layers, report
        self.kode_kel = frame["kode_kel"].astype("string").copy()
        self.rw, self.rt = frame["rw"].copy(), frame["rt"].copy()
        self.kel_idx = np.full(n, -1)
        self.geometry = np.full(n, None, dtype=object)
        self.source = np.full(n, None, dtype=object)
        self.precision = np.full(n, np.nan)
        self.polygon_key = pd.Series(pd.NA, index=frame.index, dtype="string")
        self.polygons = pd.Series([], dtype=object)
        self.flags: dict[str, np.ndarray] = {}

    # -- bookkeeping ---------------------------------------------------------------------------
    def flag(self, name: str, mask) -> None:
        mask = np.asarray(mask, dtype=bool)
        self.flags[name] = self.flags.get(name, np.zeros(len(mask), dtype=bool)) | mask

    def pending(self) -> np.ndarray:
        return np.equal(self.source, None)

    def _set_polygons(self, rows: np.ndarray, level: str, keys: pd.Series, polys: np.ndarray) -> None:
        """Place ``rows`` at ``level`` in the (clipped) polygons ``polys`` named ``level:key``."""
        names = (level + ":" + keys.astype("string")).to_numpy(dtype=object)
        self.source[rows] = level
        self.polygon_key.iloc[rows] = names
        new = pd.Series(polys, index=names)
        self.polygons = pd.concat([self.polygons, new[~new.index.duplicated()]])
        self.polygons = self.polygons[~self.polygons.index.duplicated()]

    # -- steps ---------------------------------------------------------------------------------
    def resolve_kelurahan(self, nama_kel: pd.Series | None) -> None:
        """Kelurahan by code, else by fuzzy name (``nama_kel``) within the code's kecamatan."""
        kel_codes = pd.Index(self.layers.kelurahan["kode"].astype("string"))
        self.kel_idx = kel_codes.get_indexer(self.kode_kel)
        unknown = self.kel_idx < 0
        prior = self.frame["flags"].astype("string")
        for sticky in STICKY_FLAGS:
            self.flag(sticky, prior.str.contains(rf"(?:^|;){sticky}(?:;|$)", regex=True).fillna(False))
        if nama_kel is not None and unknown.any():
            rows = np.flatnonzero(unknown & nama_kel.notna().to_numpy())
            declared = self.kode_kel.fillna(self.frame["kode_tps"].astype("string").str[:10])
            prefix = declared.iloc[rows].str[:6]   # the kecamatan the code (or the TPS code) names
            prefix = prefix.where(prefix.isin(kel_codes.str[:6]), "")
            match = match_kelurahan(nama_kel.iloc[rows], self.layers.kelurahan, prefix)
            hit = match["kode"].notna().to_numpy()
            self.kode_kel.iloc[rows[hit]] = match["kode"].to_numpy()[hit]
            self.kel_idx[rows[hit]] = kel_codes.get_indexer(match["kode"].to_numpy()[hit])
            self.flag("kelurahan_by_name", np.isin(np.arange(len(unknown)), rows[hit]))
            shown = pd.concat([nama_kel.iloc[rows].rename("nama_kel"), match], axis=1).drop_duplicates("nama_kel")
            records = shown.head(MAX_LISTED).astype(object).to_dict("records")
            self.report.figures["kelurahan_name_matches"] = [
                {k: (None if pd.isna(v) else v) for k, v in rec.items()} for rec in records]
        self.flag("kelurahan_unknown", self.kel_idx < 0)

    def complete_rt_rw(self) -> None:
        """Fill empty rt/rw from the address; an address contradicting the columns fills nothing."""
        parsed = parse_rt_rw(self.frame["alamat"])
        conflict = ((self.rw.notna() & parsed["rw"].notna() & (self.rw != parsed["rw"]))
                    | (self.rt.notna() & parsed["rt"].notna() & (self.rt != parsed["rt"]))).fillna(False)
        self.flag("address_rtrw_conflict", conflict)
        self.rw = self.rw.fillna(parsed["rw"].where(~conflict)).astype("Int16")
        self.rt = self.rt.fillna(parsed["rt"].where(~conflict)).astype("Int16")

    def check_declared(self) -> None:
        """Flag a declared RT/RW (columns or address) that its layer does not have."""
        checks = (("rt_not_found", self.layers.rt, ("rw", "rt")), ("rw_not_found", self.layers.rw, ("rw",)))
        for flag, layer, parts in checks:
            rows = np.flatnonzero((self.kel_idx >= 0) & self._has(parts))
            if layer is not None and len(rows):
                missing = pd.Index(layer["key"]).get_indexer(self._key(rows, parts)) < 0
                self.flag(flag, _scatter(len(self.source), rows[missing]))

    def from_coordinates(self, tolerance_m: float) -> None:
        parsed = parse_coordinates(self.frame["lat_src"], self.frame["lon_src"])
        problems = parsed["coord_problem"].fillna("").str.split(";").explode()
        for name in problems[problems != ""].unique():
            self.flag(f"coords_{name}", problems.eq(name).groupby(level=0).any().to_numpy())
        rows = np.flatnonzero(parsed["lon"].notna().to_numpy())
        if len(rows) == 0:
            return
        pts = shapely.points(parsed["lon"].to_numpy()[rows], parsed["lat"].to_numpy()[rows])
        pts_m = gpd.GeoSeries(pts, crs=4326).to_crs(METRIC_EPSG).to_numpy()
        own = self.kel_idx[rows]
        dist = np.full(len(rows), np.inf)
        dist[own >= 0] = shapely.distance(pts_m[own >= 0], self.layers.kel_metric[own[own >= 0]])
        near_any = shapely.STRtree(self.layers.kel_metric).query(pts_m, predicate="dwithin", distance=tolerance_m)[0]
        unknown_ok = (own < 0) & np.isin(np.arange(len(rows)), near_any)
        ok = (dist <= tolerance_m) | unknown_ok
        self.flag("coords_outside_kelurahan", _scatter(len(self.source), rows[~ok]))
        precision = parsed["precision_m"].to_numpy()[rows]
        self.flag("coords_near_edge", _scatter(len(self.source), rows[ok & (dist > precision) & (own >= 0)]))
        take = rows[ok]
        self.geometry[take] = pts[ok]
        self.source[take] = "coordinates"
        self.precision[take] = precision[ok]

    def from_address(self) -> None:
        """RT polygon, else RW polygon, each clipped to the TPS's own kelurahan."""
        steps = (("address_rt", self.layers.rt, ("rw", "rt")), ("address_rw", self.layers.rw, ("rw",)))
        for level, layer, parts in steps:
            rows = np.flatnonzero(self.pending() & (self.kel_idx >= 0) & self._has(parts))
            if layer is None or len(rows) == 0:
                continue
            keys = self._key(rows, parts)
            pos = pd.Index(layer["key"]).get_indexer(keys)
            rows, keys, pos = rows[pos >= 0], keys[pos >= 0], pos[pos >= 0]
            polys = clip(layer.geometry.to_numpy()[pos], self.layers.kelurahan.geometry.to_numpy()[self.kel_idx[rows]])
            empty = np.equal(polys, None)
            self.flag("rtrw_outside_kelurahan", _scatter(len(self.source), rows[empty]))
            self._set_polygons(rows[~empty], level, pd.Series(keys[~empty]), polys[~empty])

    def from_places(self) -> None:
        places = self.layers.candidates
        rows = np.flatnonzero(self.pending() & (self.kel_idx >= 0) & self.frame["alamat"].notna().to_numpy())
        if places is None or len(places) == 0 or len(rows) == 0:
            return
        match = match_places(self.frame["alamat"].iloc[rows], self.kode_kel.iloc[rows], places)
        hit = match["place"].to_numpy() >= 0
        rows = rows[hit]
        self.geometry[rows] = places.geometry.to_numpy()[match["place"].to_numpy()[hit]]
        self.source[rows] = "place"
        self.precision[rows] = PLACE_PRECISION_M

    def from_kelurahan(self) -> None:
        rows = np.flatnonzero(self.pending() & (self.kel_idx >= 0))
        kel = self.layers.kelurahan
        self._set_polygons(rows, "kelurahan", self.kode_kel.iloc[rows].reset_index(drop=True),
                           kel.geometry.to_numpy()[self.kel_idx[rows]])

    def mismatch_flags(self, found_flags: pd.Series, evidence_sources: tuple[str, ...]) -> None:
        """Keep the reverse-geocoding mismatches of points that are evidence (not derived from the
        declaration) and lie farther than their ``precision_m`` from the declared polygon."""
        evidence = np.isin(self.source.astype(str), evidence_sources)
        declared = {
            "kelurahan_mismatch": (self.layers.kelurahan, "kode", self.kode_kel),
            "rw_mismatch": (self.layers.rw, "key", rw_key(self.kode_kel, self.rw)),
            "rt_mismatch": (self.layers.rt, "key", rt_key(self.kode_kel, self.rw, self.rt)),
        }
        for flag, (layer, column, keys) in declared.items():
            rows = np.flatnonzero(evidence & found_flags.str.contains(flag, regex=False).fillna(False).to_numpy())
            if layer is None or len(rows) == 0:
                continue
            pos = pd.Index(layer[column]).get_indexer(keys.iloc[rows])
            rows, pos = rows[pos >= 0], pos[pos >= 0]   # an unknown declared RT/RW is "not found" instead
            pts = gpd.GeoSeries(self.geometry[rows], crs=4326).to_crs(METRIC_EPSG).to_numpy()
            polys = layer.geometry.iloc[pos].to_crs(METRIC_EPSG).to_numpy()
            far = shapely.distance(pts, polys) > self.precision[rows]
            self.flag(flag, _scatter(len(self.source), rows[far]))

    # -- guarantees and reporting --------------------------------------------------------------
    def keep_inside_own_kelurahan(self, rows: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Replace any point not strictly inside its own kelurahan (float noise) by the kelurahan's centre."""
        kel = self.layers.kelurahan.geometry.to_numpy()[self.kel_idx[rows]]
        bad = ~shapely.contains_xy(kel, shapely.get_x(points), shapely.get_y(points))
        if bad.any():
            log.warning("%d polygon points fell outside their kelurahan; moved to its centre", int(bad.sum()))
            points = points.copy()
            points[bad] = centres(kel[bad])
        return points

    def inside_own_kelurahan(self, points: np.ndarray) -> np.ndarray:
        ok = (self.kel_idx >= 0) & ~np.equal(points, None)
        inside = np.zeros(len(points), dtype=bool)
        kel = self.layers.kelurahan.geometry.to_numpy()
        inside[ok] = shapely.covers(kel[self.kel_idx[ok]], points[ok])
        return inside

    def unplaced_problems(self, mask: np.ndarray):
        for kode in self.frame["kode_tps"].to_numpy(dtype=object)[mask]:
            yield Problem(self.report.source, None, "kode_kel", str(kode),
                          "not placed: kelurahan unknown and no usable coordinates")

    def warn_flags(self, flags: pd.Series, kode_tps: pd.Series) -> None:
        """Count every flag as a warning; list the first ``MAX_LISTED`` (kode_tps as the value)."""
        pairs = pd.DataFrame({"kode": kode_tps, "flag": flags.str.split(";")}).explode("flag").dropna()
        for flag, n in pairs["flag"].value_counts(sort=False).sort_index().items():
            self.report.warning_counts[flag] += int(n)
        for kode, flag in pairs.head(MAX_LISTED).itertuples(index=False):
            self.report.warnings.append(Problem(self.report.source, None, "flags", str(kode), flag))

    # -- helpers -------------------------------------------------------------------------------
    def _has(self, parts: tuple[str, ...]) -> np.ndarray:
        ok = np.ones(len(self.source), dtype=bool)
        for p in parts:
            ok &= getattr(self, p).notna().to_numpy()
        return ok

    def _key(self, rows: np.ndarray, parts: tuple[str, ...]) -> np.ndarray:
        kel, rw = self.kode_kel.iloc[rows], self.rw.iloc[rows]
        key = rt_key(kel, rw, self.rt.iloc[rows]) if "rt" in parts else rw_key(kel, rw)
        return key.to_numpy(dtype=object)


def clip(polygons: np.ndarray, kelurahan: np.ndarray) -> np.ndarray:
    """Each polygon clipped to its kelurahan (unchanged when covered); ``None`` where nothing is left."""
    out = polygons.copy()
    outside = ~shapely.covered_by(polygons, kelurahan)
    if outside.any():
        cut = shapely.intersection(polygons[outside], kelurahan[outside])
        parts, idx = shapely.get_parts(shapely.get_parts(cut), return_index=True)
        keep = shapely.get_type_id(parts) == 3
        polys = np.empty(len(cut), dtype=object)
        shapely.multipolygons(parts[keep], indices=_owner(cut, idx)[keep], out=polys)
        out[outside] = polys
    gone = np.equal(out, None)
    gone[~gone] = shapely.area(out[~gone]) <= 0
    out[gone] = None
    return out


def _owner(collections: np.ndarray, part_idx: np.ndarray) -> np.ndarray:
    """Map indices of parts-of-parts back to the geometry they came from."""
    _, first = shapely.get_parts(collections, return_index=True)
    return first[part_idx]


def _scatter(n: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return mask


def _layer(gdf: gpd.GeoDataFrame, name: str, columns: list[str]) -> gpd.GeoDataFrame:
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise MissingColumnError(f"{name} layer lacks {', '.join(missing)}; "
                                 f"columns found: {', '.join(map(str, gdf.columns))}")
    return to_storage(gdf, source=f"{name} layer").reset_index(drop=True)


def _keyed(gdf: gpd.GeoDataFrame, parts: list[str]) -> gpd.GeoDataFrame:
    """Add ``key`` (RW/RT key), drop rows without one, dissolve the pieces of a duplicated key."""
    gdf = gdf.copy()
    gdf["kode_kel"] = gdf["kode_kel"].astype("string")
    for p in parts[1:]:
        gdf[p] = gdf[p].astype("Int16")
    gdf["key"] = rt_key(gdf["kode_kel"], gdf["rw"], gdf["rt"]) if "rt" in parts else rw_key(gdf["kode_kel"], gdf["rw"])
    gdf = gdf[gdf["key"].notna()]
    dup = gdf["key"].duplicated(keep=False).to_numpy()
    if dup.any():
        merged = gdf[dup].dissolve(by="key", as_index=False, sort=True)
        gdf = pd.concat([gdf[~dup], merged[gdf.columns]], ignore_index=True)
    gdf = gdf.sort_values("key", kind="stable").reset_index(drop=True)
    shapely.prepare(gdf.geometry.to_numpy())
    return gdf


def _candidates(candidates: gpd.GeoDataFrame, kel: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Candidate sites as points with the kelurahan holding each (declared one preferred on overlaps)."""
    places = _layer(candidates, "candidates", ["nama"])
    geom = places.geometry.to_numpy()
    points = np.where(shapely.get_type_id(geom) == 0, geom, shapely.point_on_surface(geom))
    places = places.set_geometry(gpd.GeoSeries(points, crs=4326))
    prefer = places["kode_kel"] if "kode_kel" in places else pd.Series(pd.NA, index=places.index, dtype="string")
    places["kode_kel"] = containing(places.geometry, kel, kel["kode"], prefer)
    return places[places["kode_kel"].notna()].reset_index(drop=True)
