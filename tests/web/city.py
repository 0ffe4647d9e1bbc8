"""A tiny city for the web tests: 1 kota, 2 kecamatan, 3 kelurahan, RW/RT squares, 9 TPS, 8 voters.

Kelurahan are 0.01° squares side by side near Jakarta (lon 106.80, lat -6.25). Each kelurahan has RW
001 (west half) and RW 002 (east half), each with RT 001 (south) and RT 002 (north); TPS 001 sits
in RW 001, TPS 002 in RW 002, TPS 003 has no location yet. Voters carry the NIKs in ``NIKS``
(valid, synthetic: never real people); ``MISSING_NIK`` is valid but not in the DPT.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from geo.codes import keyed_hash, mask_name
from geo.schema import conform

NIK_KEY = b"petatps-web-test-key"
KOTA = "3171"
KECAMATAN = ("317101", "317102")
KELURAHAN = ("3171011001", "3171011002", "3171021001")
LON0, LAT0, SIDE = 106.80, -6.25, 0.01
# nik -> (full name, kode_kel, rw, rt, kode_tps)
NIKS = {
    "3171011505900001": ("SITI RAHAYU", "3171011001", 1, 1, "3171011001001"),
    "3171015505900002": ("BUDI SANTOSO", "3171011001", 2, 2, "3171011001002"),
    "3171010101800003": ("DEWI LESTARI", "3171011001", 1, 2, "3171011001003"),
    "3171012002750004": ("AGUS SETIAWAN", "3171011002", 1, 1, "3171011002001"),
    "3171026106850005": ("RINA WATI", "3171021001", 2, 1, "3171021001002"),
    "3171020303990006": ("ANDI", "3171021001", 1, 1, "3171021001001"),
    "3171025012010007": ("SRI MULYANI", "3171021001", 2, 2, "3171021001002"),
    "3171011111110008": ("JOKO", "3171011002", 2, 1, "3171011002002"),
}
MISSING_NIK = "3171021212920099"
INVALID_NIK = "3171019999990001"


def _square(i: int) -> shapely.Polygon:
    return shapely.box(LON0 + i * SIDE, LAT0, LON0 + (i + 1) * SIDE, LAT0 + SIDE)


def _multi(geoms) -> list:
    return [shapely.MultiPolygon([g]) for g in geoms]


def frames() -> dict[str, pd.DataFrame]:
    """Every layer of the city, conforming to geo.schema."""
    kel_geoms = [_square(i) for i in range(len(KELURAHAN))]
    kel = conform(gpd.GeoDataFrame({"kode": KELURAHAN, "nama": ["MENTENG DALAM", "TEBET TIMUR", "GLODOK"],
                                    "kode_kec": [k[:6] for k in KELURAHAN], "kode_kab": [KOTA] * 3},
                                   geometry=_multi(kel_geoms), crs=4326), "kelurahan")
    kec = conform(gpd.GeoDataFrame({"kode": KECAMATAN, "nama": ["TEBET", "TAMAN SARI"], "kode_kab": [KOTA] * 2},
                                   geometry=_multi([shapely.union(kel_geoms[0], kel_geoms[1]), kel_geoms[2]]),
                                   crs=4326), "kecamatan")
    kota = conform(gpd.GeoDataFrame({"kode": [KOTA], "nama": ["JAKARTA SELATAN"], "kode_prov": ["31"]},
                                    geometry=_multi([shapely.union_all(kel_geoms)]), crs=4326), "kota")
    rw_rows, rt_rows = [], []
    for k, g in zip(KELURAHAN, kel_geoms):
        x0, y0, x1, y1 = g.bounds
        mid_x, mid_y = (x0 + x1) / 2, (y0 + y1) / 2
        for rw, (a, b) in enumerate(((x0, mid_x), (mid_x, x1)), start=1):
            rw_rows.append({"kode": f"{k}-{rw:03d}", "nama": f"RW {rw:03d}", "kode_kel": k, "rw": rw,
                            "geometry": shapely.box(a, y0, b, y1)})
            for rt, (c, d) in enumerate(((y0, mid_y), (mid_y, y1)), start=1):
                rt_rows.append({"kode": f"{k}-{rw:03d}-{rt:03d}", "nama": f"RT {rt:03d}", "kode_kel": k, "rw": rw,
                                "rt": rt, "geometry": shapely.box(a, c, b, d)})
    rw = conform(_gdf(rw_rows), "rw")
    rt = conform(_gdf(rt_rows), "rt")
    tps = conform(_tps(kel_geoms), "tps")
    return {"kota": kota, "kecamatan": kec, "kelurahan": kel, "rw": rw, "rt": rt, "tps": tps, "voters": voters()}


def _gdf(rows: list[dict]) -> gpd.GeoDataFrame:
    for r in rows:
        r["geometry"] = shapely.MultiPolygon([r["geometry"]])
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def _tps(kel_geoms) -> gpd.GeoDataFrame:
    rows = []
    for k, g in zip(KELURAHAN, kel_geoms):
        x0, y0, x1, _ = g.bounds
        w = x1 - x0
        for no, point in ((1, shapely.Point(x0 + 0.25 * w, y0 + 0.3 * w)), (2, shapely.Point(x0 + 0.75 * w, y0 + 0.7 * w)),
                          (3, None)):
            rows.append({"kode_tps": f"{k}{no:03d}", "kode_kel": k, "no_tps": no, "nama": f"TPS {no:03d}",
                         "alamat": f"Jl. Contoh No. {no}, {k[-4:]}", "rw": 1 if no == 1 else 2, "rt": 1,
                         "dpt": 350 if (k == KELURAHAN[2] and no == 2) else 250, "dpt_l": 120, "dpt_p": 130,
                         "jam_buka": "07:00", "jam_tutup": "13:00", "kpps": 7, "akses_disabilitas": no == 1,
                         "location_source": "coordinates" if point is not None else None,
                         "precision_m": 10.0 if point is not None else None,
                         "flags": "no_location" if point is None else ("over_capacity" if k == KELURAHAN[2] and no == 2
                                                                       else None),
                         "geometry": point})
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def voters() -> pd.DataFrame:
    niks = pd.Series(list(NIKS), dtype="string")
    rows = pd.DataFrame([{"nama": v[0], "kode_kel": v[1], "rw": v[2], "rt": v[3], "kode_tps": v[4]} for v in NIKS.values()])
    rows["voter_key"] = keyed_hash(niks, NIK_KEY).to_numpy()
    rows["kk_key"] = keyed_hash(niks.str[:12] + "0000", NIK_KEY).to_numpy()
    rows["nama_masked"] = mask_name(rows["nama"].astype("string")).to_numpy()
    rows["jenis_kelamin"] = "L"
    rows["tahun_lahir"] = 1990
    rows["alamat"] = "Jl. Rumah"
    return conform(rows.drop(columns="nama"), "voters")


def load(store) -> None:
    """Load the whole city into an initialised store."""
    for layer, frame in frames().items():
        store.load(layer, [frame])
