"""Demo city files: boundary GeoJSON, the TPS list with its coordinate faults, and truth/ files.

The TPS list has the gigit-pemilu/KPU columns plus ``alamat, rt, rw, lat, lon``. About
``COORD_SHARE`` of the TPS carry coordinates (GPS-like noise of a few metres, never leaving the
kelurahan), ``KELURAHAN_ONLY_SHARE`` carry nothing but their kelurahan, the rest an address with
RT/RW in one of five spellings; ``rt``/``rw`` columns are filled for about half of them.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely

from geo.codes import rt_key, rw_key
from geo.crs import METRIC_EPSG, STORAGE_EPSG
from geo.generate_geometry import City, polygonal, random_points_in
from geo.generate_tps import rt_rw_text

COORD_SHARE = 0.30
KELURAHAN_ONLY_SHARE = 0.05
RT_RW_COLUMN_SHARE = 0.5
GPS_NOISE_M = 8.0
TPS_COLUMNS = ["kode_tps", "kode_kel", "kode_kec", "kode_kab", "nama_kab", "nama_kec", "nama_kel", "no_tps", "dpt",
               "dpt_l", "dpt_p", "alamat", "rt", "rw", "lat", "lon"]
# Kinds of dirty TPS rows and the field each one spoils. Coordinate faults keep the row loadable
# (the geocoder must catch them); a bad kode_kel makes the loader reject the row; a duplicate is
# a later extra copy of a row.
TPS_KINDS = {
    "kode_tps_duplicate": "kode_tps",
    "kode_kel_invalid": "kode_kel",
    "coord_swapped": "lat",           # lat and lon exchanged
    "coord_sign": "lat",              # latitude without its minus sign (northern hemisphere)
    "coord_decimal_comma": "lat",     # -6,175392 and 106,812345
    "coord_wrong_kelurahan": "lat",   # a point inside a neighbouring kelurahan
}


def boundary_frames(city: City) -> dict[str, gpd.GeoDataFrame]:
    """Kota, kecamatan, kelurahan, RW and RT layers in the petatps native format (EPSG:4326).

    Kecamatan and kota are dissolves of the generated kelurahan, so all levels nest exactly.
    """
    kel, rw, rt = city.kel, city.rw, city.rt
    kode_kel = kel["kode"].to_numpy()
    frames = {
        "kota": _dissolve(kel, "kode_kab", {"nama": "nama_kab"}, kode_prov=kel["kode_kab"].str[:2]),
        "kecamatan": _dissolve(kel, "kode_kec", {"nama": "nama_kec", "kode_kab": "kode_kab"}),
        "kelurahan": _frame({"kode": kel["kode"], "nama": kel["nama"], "kode_kec": kel["kode_kec"],
                             "kode_kab": kel["kode_kab"]}, kel["geometry"]),
        "rw": _frame({"kode": rw_key(pd.Series(kode_kel[rw["kel"]]), rw["rw"]),
                      "nama": "RW " + rw["rw"].astype("string").str.zfill(3),
                      "kode_kel": kode_kel[rw["kel"]], "rw": rw["rw"]}, rw["geometry"]),
        "rt": _frame({"kode": rt_key(pd.Series(kode_kel[rt["kel"]]), rt["rw"], rt["rt"]),
                      "nama": "RT " + rt["rt"].astype("string").str.zfill(3),
                      "kode_kel": kode_kel[rt["kel"]], "rw": rt["rw"], "rt": rt["rt"]}, rt["geometry"]),
    }
    return frames


def write_geojson(frame: gpd.GeoDataFrame, path: Path) -> None:
    """Write a layer as an RFC 7946 GeoJSON FeatureCollection: EPSG:4326, coordinates rounded to
    7 decimals (~1 cm), exterior rings counter-clockwise, one feature per line. (GEOS writes the
    geometries, ~7× faster than GDAL's GeoJSON driver for 30,000 RT polygons.)"""
    geoms = shapely.orient_polygons(round_coordinates(frame.geometry.to_numpy()))
    records = frame.drop(columns=frame.geometry.name).astype(object)
    records = records.where(records.notna(), None).to_dict("records")
    props = np.array([orjson.dumps(r).decode() for r in records], dtype=object)
    geometry = shapely.to_geojson(geoms).astype(object)
    features = '{"type":"Feature","properties":' + props + ',"geometry":' + geometry + "}"
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write('{"type":"FeatureCollection","features":[\n')
        fh.write(",\n".join(features.tolist()))
        fh.write("\n]}\n")


def round_coordinates(geoms: np.ndarray, decimals: int = 7) -> np.ndarray:
    """Round coordinates to ``decimals`` places; the rare polygon that rounding makes invalid (a
    near-degenerate spike) is snapped to the same grid by GEOS, which keeps it valid."""
    rounded = shapely.transform(geoms, lambda c: np.round(c, decimals))
    bad = ~shapely.is_valid(rounded)
    if bad.any():
        rounded[bad] = shapely.set_precision(geoms[bad], 10.0 ** -decimals)
    return rounded


def _frame(columns: dict, geometry) -> gpd.GeoDataFrame:
    data = pd.DataFrame({k: pd.Series(np.asarray(v)) for k, v in columns.items()})
    for col in data:
        data[col] = data[col].astype("Int32" if col in ("rw", "rt") else "string")
    geom = gpd.GeoSeries(np.asarray(geometry), crs=METRIC_EPSG).to_crs(STORAGE_EPSG)
    return gpd.GeoDataFrame(data, geometry=geom.values, crs=STORAGE_EPSG)


def _dissolve(kel: pd.DataFrame, by: str, names: dict[str, str], **extra) -> gpd.GeoDataFrame:
    groups = kel.groupby(by, sort=True)
    geoms = polygonal(np.array([shapely.union_all(g["geometry"].to_numpy()) for _, g in groups], dtype=object))
    first = groups.first()
    columns = {"kode": first.index.to_numpy(), **{k: first[v].to_numpy() for k, v in names.items()}}
    columns.update({k: v.groupby(kel[by]).first().to_numpy() for k, v in extra.items()})
    return _frame(columns, geoms)


def tps_table(tps: pd.DataFrame, kel: pd.DataFrame, plan, rng: np.random.Generator,
              to_lonlat) -> pd.DataFrame:
    """The clean TPS list (text columns as written) plus ``given`` and the true lon/lat.

    ``tps`` holds one row per TPS with ``kel, no_tps, kode_tps, x, y, rw, rt, dpt, dpt_l, dpt_p,
    street, house_no``; ``to_lonlat(x, y)`` converts metres (EPSG:32748) to degrees.
    """
    n = len(tps)
    k = tps["kel"].to_numpy()
    u = rng.random(n)
    only_kel = (u >= 1 - KELURAHAN_ONLY_SHARE) & (k != plan.gap_kel)
    given = np.where(u < COORD_SHARE, "coordinates", np.where(only_kel, "kelurahan", "address"))
    with_cols = (rng.random(n) < RT_RW_COLUMN_SHARE) & (given != "kelurahan")
    text = rt_rw_text(tps["rt"].to_numpy(), tps["rw"].to_numpy(), rng.integers(0, 5, n))
    alamat = tps["street"].to_numpy(object) + " No. " + tps["house_no"].astype(str).to_numpy(object) + ", " + text
    noise = rng.normal(0.0, GPS_NOISE_M, (n, 2))
    x, y = tps["x"].to_numpy() + noise[:, 0], tps["y"].to_numpy() + noise[:, 1]
    stays = shapely.contains_xy(kel["geometry"].to_numpy()[k], x, y)
    lon, lat = to_lonlat(np.where(stays, x, tps["x"]), np.where(stays, y, tps["y"]))
    true_lon, true_lat = to_lonlat(tps["x"].to_numpy(), tps["y"].to_numpy())
    has_xy = given == "coordinates"
    out = pd.DataFrame({
        "kode_tps": tps["kode_tps"], "kode_kel": kel["kode"].to_numpy()[k], "kode_kec": kel["kode_kec"].to_numpy()[k],
        "kode_kab": kel["kode_kab"].to_numpy()[k], "nama_kab": _kab_name(kel["nama_kab"]).to_numpy()[k],
        "nama_kec": kel["nama_kec"].str.lower().to_numpy()[k], "nama_kel": kel["nama"].str.lower().to_numpy()[k],
        "no_tps": tps["no_tps"], "dpt": tps["dpt"], "dpt_l": tps["dpt_l"], "dpt_p": tps["dpt_p"],
        "alamat": np.where(given == "kelurahan", "", alamat),
        "rt": np.where(with_cols, tps["rt"].astype(str), ""), "rw": np.where(with_cols, tps["rw"].astype(str), ""),
        "lat": np.where(has_xy, np.char.mod("%.6f", lat), ""), "lon": np.where(has_xy, np.char.mod("%.6f", lon), ""),
    })
    out["given"], out["true_lon"], out["true_lat"] = given, true_lon, true_lat
    return out


def plant_tps_dirty(rows: pd.DataFrame, picks: dict[str, np.ndarray], wrong_points: tuple[np.ndarray, np.ndarray],
                    rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Spoil the TPS rows at ``picks[kind]`` (disjoint positions) and insert the duplicate copies.

    ``wrong_points`` are (lon, lat) inside another kelurahan, one per ``coord_wrong_kelurahan`` pick.
    Returns the rows as written and the dirty rows (``line, kind, field``).
    """
    rows = rows.copy()
    kind_of = np.full(len(rows), "", dtype=object)
    lat, lon = rows["lat"].to_numpy(object).copy(), rows["lon"].to_numpy(object).copy()
    at = picks.get("coord_swapped", np.zeros(0, np.int64))
    lat[at], lon[at] = rows["lon"].to_numpy(object)[at], rows["lat"].to_numpy(object)[at]
    at = picks.get("coord_sign", np.zeros(0, np.int64))
    lat[at] = [s.lstrip("-") for s in lat[at]]
    at = picks.get("coord_decimal_comma", np.zeros(0, np.int64))
    lat[at], lon[at] = [s.replace(".", ",") for s in lat[at]], [s.replace(".", ",") for s in lon[at]]
    at = picks.get("coord_wrong_kelurahan", np.zeros(0, np.int64))
    lon[at], lat[at] = np.char.mod("%.6f", wrong_points[0]), np.char.mod("%.6f", wrong_points[1])
    at = picks.get("kode_kel_invalid", np.zeros(0, np.int64))
    spoilt = [s[:-1] if b else s[:6] + "O" + s[7:] for s, b in zip(rows["kode_kel"].to_numpy()[at],
                                                                    rng.integers(0, 2, len(at)))]
    rows.loc[rows.index[at], "kode_kel"] = spoilt
    rows["lat"], rows["lon"] = lat, lon
    for kind, where in picks.items():
        if kind != "kode_tps_duplicate":
            kind_of[where] = kind
    src = np.sort(picks.get("kode_tps_duplicate", np.zeros(0, np.int64)))
    if len(src):
        where = rng.integers(src + 1, len(rows) + 1)
        order = np.insert(np.arange(len(rows)), where, src)
        kind_of = np.insert(kind_of, where, "kode_tps_duplicate")
        rows = rows.iloc[order].reset_index(drop=True)
    at = np.flatnonzero(kind_of != "")
    dirty = pd.DataFrame({"file": "tps.csv", "line": at + 2, "kind": kind_of[at],
                          "field": [TPS_KINDS[k] for k in kind_of[at]]})
    return rows, dirty


def wrong_kelurahan_points(own: np.ndarray, cells: np.ndarray, xy: np.ndarray, rng: np.random.Generator
                           ) -> tuple[np.ndarray, np.ndarray]:
    """A random point (metres) inside the kelurahan whose centroid is nearest to that of ``own``
    (indices into the full kelurahan table ``cells``/``xy``), one per entry of ``own``."""
    from scipy.spatial import cKDTree

    if len(own) == 0:
        return np.zeros(0), np.zeros(0)
    other = cKDTree(xy).query(xy[own], k=2)[1][:, 1]
    idx, x, y = random_points_in(cells[other], np.ones(len(own), np.int64), rng)
    return x, y


def _kab_name(nama_kab: pd.Series) -> pd.Series:
    """gigit-pemilu spelling of kota/kabupaten names: "jakarta pusat", "kep seribu"."""
    s = nama_kab.str.lower().str.replace(r"^(kota|kabupaten) administrasi ", "", regex=True)
    return s.str.replace("kepulauan seribu", "kep seribu", regex=False)
