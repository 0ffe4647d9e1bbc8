"""The hostile files themselves, one builder per case of :mod:`tests.corpus.make_corpus` (bytes out).

``b_*`` are boundary files, ``t_*`` TPS lists, ``d_*`` DPT lists; each docstring or name says what is wrong
with it. Built on :mod:`tests.corpus.blocks`, deterministically.
"""

from __future__ import annotations

from tests.corpus.blocks import (DPT_HEADER, INJECTION, INJECTIONS, KELURAHAN, LARGE_LINE_BYTES, NAMES, STEP,
                                 TPS_HEADER, X0, XSS, Y0, collection, csv_text, dpt_file, dpt_rows, feature,
                                 kelurahan_features, lying_zip, polygon, rng_bytes, shapefile_members, square,
                                 tps_file, tps_rows, zip_bytes)


# --- boundaries -----------------------------------------------------------------------------------

def b_swapped() -> bytes:
    return collection(kelurahan_features(lambda rings: [[[y, x] for x, y in ring] for ring in rings]))


def b_utm_as_degrees() -> bytes:
    from pyproj import Transformer

    to_utm = Transformer.from_crs(4326, 32748, always_xy=True)
    return collection(kelurahan_features(lambda rings: [[list(to_utm.transform(x, y)) for x, y in ring]
                                                        for ring in rings]))


def b_degrees_declared_utm() -> bytes:
    return collection(kelurahan_features(), crs="urn:ogc:def:crs:EPSG::32748")


def b_self_intersecting() -> bytes:
    feats = kelurahan_features()
    x, y = X0 + 4 * STEP, Y0
    bowtie = [[[x, y], [x + STEP, y + STEP], [x + STEP, y], [x, y + STEP], [x, y]]]
    feats.append(feature({"kode": "3171061005", "nama": "KEBON SIRIH", "kode_kec": "317106"}, polygon(bowtie)))
    return collection(feats)


def b_empty_geometries() -> bytes:
    feats = kelurahan_features()
    feats.append(feature({"kode": "3171061005", "nama": "KEBON SIRIH", "kode_kec": "317106"}, None))
    feats.append(feature({"kode": "3171061006", "nama": "MENTENG ATAS", "kode_kec": "317106"}, polygon([])))
    return collection(feats)


def b_mixed_types() -> bytes:
    feats = kelurahan_features()
    feats.append(feature({"kode": "3171061005", "nama": "KEBON SIRIH", "kode_kec": "317106"},
                         {"type": "Point", "coordinates": [X0 + 0.045, Y0 + 0.005]}))
    feats.append(feature({"kode": "3171061006", "nama": "MENTENG ATAS", "kode_kec": "317106"},
                         {"type": "LineString", "coordinates": [[X0 + 0.05, Y0], [X0 + 0.06, Y0 + 0.01]]}))
    return collection(feats)


def b_all_empty() -> bytes:
    return collection([feature({"kode": k, "nama": n}, None) for k, n in zip(KELURAHAN, NAMES)])


def b_injection() -> bytes:
    feats = kelurahan_features()
    feats[0]["properties"]["nama"] = INJECTION
    feats.append(feature({"kode": INJECTION, "nama": "+cmd|' /C calc'!A0", "kode_kec": "317106"},
                         polygon(square(5))))
    return collection(feats)


def b_xss() -> bytes:
    feats = kelurahan_features()
    feats[1]["properties"]["nama"] = XSS[0]
    feats[2]["properties"]["nama"] = XSS[1]
    return collection(feats)


def b_nan_coordinates() -> bytes:
    text = collection(kelurahan_features()).decode()
    return text.replace(f"[{X0}, {Y0}]", "[NaN, Infinity]", 1).encode()


def b_deep_nesting() -> bytes:
    depth = 20_000
    return b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"kode": "3171061001"}, ' \
           b'"geometry": {"type": "Polygon", "coordinates": ' + b"[" * depth + b"]" * depth + b"}}]}"


def b_traversal_zip() -> bytes:
    return zip_bytes({"../../" + k: v for k, v in shapefile_members().items()})


def b_absolute_zip() -> bytes:
    return zip_bytes({"/tmp/petatps-corpus-" + k: v for k, v in shapefile_members().items()})


def b_symlink_zip() -> bytes:
    members = shapefile_members()
    members["kel.dbf"] = b"/etc/passwd"
    return zip_bytes(members, symlinks=("kel.dbf",))


def b_bomb_zip() -> bytes:
    members = shapefile_members()
    members["kel.cpg"] = bytes(16 << 20)          # 16 MiB of zeros: deflates ~1000:1
    return zip_bytes(members)


def b_lying_zip() -> bytes:
    members = shapefile_members()
    members["kel.cpg"] = bytes(8 << 20)           # 8 MiB of zeros declared as 10 bytes
    return lying_zip(members, "kel.cpg", 10)


def b_many_members_zip() -> bytes:
    members = shapefile_members()
    members.update({f"junk/{i:05d}.txt": b"" for i in range(1500)})
    return zip_bytes(members)


def b_not_zip() -> bytes:
    return b"PK\x03\x04" + rng_bytes(11, 2000)



# --- TPS lists ------------------------------------------------------------------------------------

def t_bom_cp1252() -> bytes:
    rows = tps_rows()
    rows[0][4] = "Jl. Kramat Jaya – Gedung Serbaguna, Café Ibu Éllen, RT 001/RW 001"
    return tps_file(rows, sep=";", newline="\r\n", encoding="cp1252", bom=True)


def t_latin1() -> bytes:
    rows = tps_rows()
    rows[1][4] = "Jl. Pegangsaan Timur ½, Halaman Mushollâ, RT 002/RW 001"
    return tps_file(rows, encoding="latin-1")


def t_utf16() -> bytes:
    return b"\xff\xfe" + csv_text(TPS_HEADER, tps_rows(), "\t", "\r\n").encode("utf-16-le")


def t_duplicated_header() -> bytes:
    header = TPS_HEADER + ["kode_tps"]
    rows = [r + [r[0][:-1] + "9"] for r in tps_rows()]
    return tps_file(rows, header=header)


def t_injection() -> bytes:
    rows = tps_rows()
    for i, text in enumerate(INJECTIONS[:4]):
        rows[i][4] = text                                   # alamat: kept, must be neutralised in every CSV out
    rows[4][0] = INJECTION                                  # kode_tps: rejected, echoed in rejected.csv
    rows[5][2] = "=1+2"                                     # no_tps: rejected
    rows[6][7] = "-1+1"                                     # dpt: rejected
    return tps_file(rows)


def t_truncated_quote() -> bytes:
    text = tps_file().decode()
    return (text + f'{KELURAHAN[0]}009,{KELURAHAN[0]},9,TPS 009,"Jl. Tanpa Akhir, RT 001').encode()


def t_cut_short() -> bytes:
    text = tps_file().decode()
    return text[: text.rfind(",", 0, len(text) - 30)].encode()


def t_nul() -> bytes:
    text = tps_file()
    return text[:200] + b"\x00\x00\x00" + text[200:]


def t_xlsx_named_csv() -> bytes:
    return zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>"})


def t_html() -> bytes:
    return b"<!DOCTYPE html><html><body><h1>403 Forbidden</h1></body></html>\n"


def t_formula_only() -> bytes:
    return ("=HYPERLINK(\"http://evil\")," * 5 + "\n" + "=1+1," * 5 + "\n").encode()


def t_xss() -> bytes:
    rows = [r.copy() for r in tps_rows()[::2][:2]]          # TPS 001 of two kelurahan, renumbered 003
    for row in rows:
        row[0], row[2] = row[0][:-3] + "003", "3"
    rows[0][3], rows[0][4] = XSS[1], XSS[0]
    rows[1][4] = XSS[2]
    return tps_file(rows)


def t_long_line() -> bytes:
    rows = tps_rows()
    rows[2][4] = "Jl. " + "Panjang " * (LARGE_LINE_BYTES // 8)
    return tps_file(rows)


def t_wide() -> bytes:
    header = TPS_HEADER + [f"extra_{i}" for i in range(5000)]
    rows = [r + ["x"] * 5000 for r in tps_rows()]
    return tps_file(rows, header=header)



# --- DPT lists ------------------------------------------------------------------------------------

def d_excel_mangled() -> bytes:
    rows = dpt_rows(12)
    rows[3][0] = "3.17106E+15"
    rows[4][0] = "3,17106E+15"
    rows[5][1] = "3.17106E+15"
    rows[6][0] = "3171061505900000.0"
    return dpt_file(rows)


def d_bom_cp1252() -> bytes:
    rows = dpt_rows(12)
    rows[0][2] = "SÉPTIAN ÅNDRÉ"
    rows[0][5] = "JL. KRAMAT – GG. CAFÉ NO. 3"
    return dpt_file(rows, sep=";", newline="\r\n", encoding="cp1252", bom=True)


def d_duplicated_header() -> bytes:
    header = DPT_HEADER + ["nik"]
    rows = [r + ["9999999999999999"] for r in dpt_rows(12)]
    return dpt_file(rows, header=header)


def d_injection() -> bytes:
    rows = dpt_rows(12)
    rows[0][5] = INJECTION                                 # alamat of a kept voter
    rows[1][2] = INJECTION                                 # nama of a kept voter (masked, still a formula)
    rows[2][0], rows[2][5] = INJECTION, "+cmd|' /C calc'!A0"   # NIK: rejected, alamat echoed in rejected.csv
    rows[3][6], rows[3][5] = "@SUM(1+1)", "-2+3+cmd|' /C calc'!A0"  # rt: rejected
    rows[4][8] = "=1+1"                                    # kode_kel: rejected
    return dpt_file(rows)


def d_truncated_quote() -> bytes:
    text = dpt_file().decode()
    return (text + '3171060101900099,3171060101240001,"SITI RAHAYU,P').encode()


def d_long_line() -> bytes:
    rows = dpt_rows(12)
    rows[5][5] = "JL. " + "PANJANG " * (LARGE_LINE_BYTES // 8)
    return dpt_file(rows)


def d_big_hostile() -> bytes:
    """200,000 voters with one hostile row every 997 rows (injection, mangled NIK, bad code, NUL-free)."""
    rows = dpt_rows(200_000)
    bad = (lambda r: r.__setitem__(0, "3.17106E+15"), lambda r: r.__setitem__(5, INJECTION),
           lambda r: r.__setitem__(8, "31710610O1"), lambda r: r.__setitem__(6, "=1+1"))
    for k, i in enumerate(range(500, len(rows), 997)):
        bad[k % len(bad)](rows[i])
    return dpt_file(rows)

