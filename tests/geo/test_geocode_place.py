"""Matching addresses to candidate sites (geo/geocode_place.py)."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from geo.geocode_place import match_places, normalize_place

PLACES = gpd.GeoDataFrame({
    "nama": ["SD Negeri 01 Menteng", "SDN 02 Menteng", "Kantor Lurah Cikini", "Masjid", "Aula RW 05", "Aula RW 05"],
    "kode_kel": ["3171061001", "3171061001", "3171061003", "3171061001", "3171061002", "3171061002"],
}, geometry=[shapely.Point(106.82 + i / 1000, -6.19) for i in range(6)], crs=4326)


def test_normalize_place():
    s = pd.Series(["SD Negeri 001 Menteng", "Kantor Kelurahan  Cikini", "Jl. Besuki, Gg. 3", None])
    assert normalize_place(s).tolist() == ["SDN 1 MENTENG", "KANTOR LURAH CIKINI", "JALAN BESUKI GANG 3", pd.NA]


def test_match_places():
    alamat = pd.Series(["Halaman SDN 01 Menteng, Jl. Besuki", "SDN 03 Menteng", "Kantor Kelurahan Cikini",
                        "Kantor Kelurahan Cikini", "Masjid Jami", "Aula RW 05", None],
                       index=[10, 11, 12, 13, 14, 15, 16])
    kel = pd.Series(["3171061001", "3171061001", "3171061003", "3171061001", "3171061001", "3171061002", "3171061001"],
                    index=alamat.index)
    out = match_places(alamat, kel, PLACES)
    assert out["place"].tolist() == [
        0,    # "SD Negeri 01" = "SDN 01", inside the address
        -1,   # SDN 03: no candidate has that number
        2,    # kantor kelurahan = kantor lurah
        -1,   # the right name in another kelurahan
        -1,   # a one-word candidate never matches
        -1,   # two candidates tie
        -1,   # no address
    ]
    assert out.loc[10, "score"] >= 90
