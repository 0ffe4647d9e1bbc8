"""The petatps data model: one declaration per stored layer.

Each layer lists its columns with pandas dtypes, its key, the column a load replaces by
(``scope``) and its geometry type. Both store backends build their tables from these
declarations, and loaders must return frames with exactly these columns (use :func:`conform`).

Geometries are stored in EPSG:4326. Personal data: ``voters`` holds only keyed hashes of NIK
and KK number, a masked name, sex, birth year and address; never a raw NIK or full name.
"""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import pandas as pd

from geo.crs import STORAGE_EPSG


@dataclasses.dataclass(frozen=True)
class Layer:
    name: str
    columns: dict[str, str]          # column -> pandas dtype
    key: tuple[str, ...]             # unique key (documented; enforced by the loaders)
    scope: str                       # a load replaces the stored rows whose scope value it brings
    geometry: str | None = None      # "MultiPolygon", "Point" or None (attribute table)
    indexes: tuple[str, ...] = ()    # extra attribute indexes
    unique_key: bool = True          # False: the key may repeat (a DPT may list one NIK twice)

    @property
    def all_columns(self) -> list[str]:
        return list(self.columns) + (["geometry"] if self.geometry else [])


_AREA = {"kode": "string", "nama": "string"}

LAYERS: dict[str, Layer] = {
    "kota": Layer("kota", {**_AREA, "kode_prov": "string"}, ("kode",), "kode", "MultiPolygon"),
    "kecamatan": Layer("kecamatan", {**_AREA, "kode_kab": "string"}, ("kode",), "kode", "MultiPolygon",
                       ("kode_kab",)),
    "kelurahan": Layer("kelurahan", {**_AREA, "kode_kec": "string", "kode_kab": "string"}, ("kode",), "kode",
                       "MultiPolygon", ("kode_kec",)),
    # RW key: "<kode_kel>-<rw:03d>"; RT key: "<kode_kel>-<rw:03d>-<rt:03d>".
    "rw": Layer("rw", {**_AREA, "kode_kel": "string", "rw": "Int16"}, ("kode",), "kode", "MultiPolygon",
                ("kode_kel",)),
    "rt": Layer("rt", {**_AREA, "kode_kel": "string", "rw": "Int16", "rt": "Int16"}, ("kode",), "kode",
                "MultiPolygon", ("kode_kel",)),
    "tps": Layer(
        "tps",
        {
            "kode_tps": "string",       # 13 digits: kode_kel + no_tps:03d
            "kode_kel": "string",
            "no_tps": "Int16",
            "nama": "string",           # "TPS 001"
            "alamat": "string",         # address as given
            "rw": "Int16",              # as declared in the source (RT/RW parsed from the address if needed)
            "rt": "Int16",
            "lat_src": "string",        # coordinates exactly as given (text), for the geocoder
            "lon_src": "string",
            "dpt": "Int32",             # registered voters; <NA> when unknown
            "dpt_l": "Int32",
            "dpt_p": "Int32",
            "jam_buka": "string",       # "07:00"
            "jam_tutup": "string",      # "13:00"
            "kpps": "Int16",            # KPPS members (7)
            "akses_disabilitas": "boolean",
            "location_source": "string",  # set by geocoding: coordinates|address_rt|address_rw|place|kelurahan
            "precision_m": "float64",
            "flags": "string",          # ";"-separated quality flags
        },
        ("kode_tps",), "kode_tps", "Point", ("kode_kel",),
    ),
    "voters": Layer(
        "voters",
        {
            "voter_key": "string",      # HMAC-SHA256(NIK) hex[:32]
            "kk_key": "string",         # HMAC-SHA256(KK number) hex[:32]
            "nama_masked": "string",    # "S*** R*****"
            "jenis_kelamin": "string",  # L / P
            "tahun_lahir": "Int16",
            "kode_kel": "string",
            "rw": "Int16",
            "rt": "Int16",
            "alamat": "string",
            "kode_tps": "string",       # the TPS the DPT assigns ("your TPS")
        },
        ("voter_key",), "kode_kel", None, ("voter_key", "kode_tps"), unique_key=False,
    ),
    # Analysis results of `petatps assign`: one row per voter; no personal field. Optional columns are
    # empty when their mode did not run (tps_planned: --mode capacity; *_walk*: --network).
    "assignments": Layer(
        "assignments",
        {
            "voter_key": "string",
            "kode_kel": "string",
            "rw": "Int16",
            "rt": "Int16",
            "lon": "float64",           # the voter's location (RT/RW/kelurahan point), EPSG:4326
            "lat": "float64",
            "tps_dpt": "string",        # "your TPS": the one the DPT assigns
            "dist_dpt_m": "float64",
            "tps_nearest": "string",    # nearest placed TPS in the voter's own kelurahan (an analysis)
            "dist_nearest_m": "float64",
            "tps_nearest_any": "string",  # nearest placed TPS in any kelurahan
            "dist_nearest_any_m": "float64",
            "tps_planned": "string",    # capacity-aware plan (whole KK, cap, own kelurahan)
            "dist_planned_m": "float64",
            "tps_nearest_walk": "string",
            "dist_nearest_walk_m": "float64",
            "dist_dpt_walk_m": "float64",
        },
        ("voter_key",), "kode_kel", None, ("voter_key", "tps_dpt", "tps_nearest"), unique_key=False,
    ),
}

AREA_LEVELS = ("kota", "kecamatan", "kelurahan", "rw", "rt")

# Fixed facts of a Pemilu TPS (PKPU): voting hours and KPPS size. Capacity is a parameter.
DEFAULT_JAM_BUKA = "07:00"
DEFAULT_JAM_TUTUP = "13:00"
DEFAULT_KPPS = 7
MAX_PER_TPS = {"pemilu2024": 300, "pilkada2024": 600}


def empty(layer: str) -> pd.DataFrame | gpd.GeoDataFrame:
    """An empty frame with the layer's columns and dtypes."""
    return conform(pd.DataFrame(), layer)


def conform(frame: pd.DataFrame, layer: str) -> pd.DataFrame | gpd.GeoDataFrame:
    """Return ``frame`` with exactly the layer's columns (missing ones as NA) in order, typed.

    A geometry layer comes back as a GeoDataFrame in EPSG:4326; the frame's geometry must
    already be in EPSG:4326 (or have no CRS set, for an empty frame).
    """
    spec = LAYERS[layer]
    out = pd.DataFrame(index=frame.index)
    for col, dtype in spec.columns.items():
        out[col] = frame[col].astype(dtype) if col in frame else pd.Series(index=frame.index, dtype=dtype)
    if spec.geometry is None:
        return out.reset_index(drop=True)
    geom = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else gpd.GeoSeries([None] * len(frame),
                                                                                     index=frame.index)
    crs = geom.crs if geom.crs is not None else STORAGE_EPSG
    gdf = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom.values, index=frame.index), crs=crs)
    if gdf.crs.to_epsg() != STORAGE_EPSG:
        raise ValueError(f"layer {layer}: geometry must be EPSG:{STORAGE_EPSG}, got {gdf.crs}")
    return gdf.reset_index(drop=True)
