"""Read administrative boundaries (kota, kecamatan, kelurahan, RW, RT) into the petatps schema.

:func:`read_boundaries` is pure: it reads one file and returns a frame conforming to
``geo.schema.LAYERS[level]`` (EPSG:4326, MultiPolygons) and a :class:`geo.report.Report`
that balances ``rows_read == rows_loaded + rows_rejected``. It never touches a store.

Fields are found from the declarations of known sources (``KNOWN_SOURCES``) first, then from
common spellings (``SPELLINGS``, case-insensitive). Codes may be dotted or plain Kemendagri
codes; RW and RT numbers are parsed from labels such as ``"RW 01"``.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import boundary_checks as checks
from geo.boundary_io import read_layer
from geo.codes import LEVEL_LENGTHS, kode_problems, normalize_kode, rt_key, rw_key
from geo.errors import InputError, MissingColumnError
from geo.report import Problem, Report, write_rejections
from geo.schema import AREA_LEVELS, conform

log = logging.getLogger(__name__)

# Known sources: level -> schema column -> source field (exact spelling). A source applies when
# all its fields for the level are present; columns it does not declare fall back to SPELLINGS.
KNOWN_SOURCES: dict[str, dict[str, dict[str, str]]] = {
    # cahyadsn/wilayah_boundaries (Kepmendagri 2025). The code is plain in kode_kemendagri and
    # dotted in kode_dotted; the "*_dissolved_from_kelurahan" files carry only the parent columns
    # of the kelurahan file (kode_kec/nama_kec, kode_kab/nama_kab) as their own code and name.
    "cahyadsn": {
        "kota": {"kode": "kode_kab", "nama": "nama_kab"},
        "kecamatan": {"kode": "kode_kec", "nama": "nama_kec"},
        "kelurahan": {"kode": "kode_kemendagri", "nama": "nama", "kode_kec": "kode_kec", "kode_kab": "kode_kab"},
    },
    # cahyadsn files with only the dotted code (as in the source SQL): normalised to digits.
    "cahyadsn-dotted": {
        "kelurahan": {"kode": "kode_dotted", "nama": "nama", "kode_kec": "kode_kec"},
    },
    # inasafe dki_rw_2012 (OSM, April 2012): no codes in the source; kode_kel_2025 was added by
    # largest overlap with the 2025 kelurahan. RW is a free label ("RW 01", "RW 1", "RW13"; 35
    # empty; one "Kawasan Industri Pulogadung") and is parsed here (rw_no is the same parse).
    # KEL_NAME is the 2012 kelurahan name, not an RW name: RW names are made ("RW 001").
    "inasafe-rw-2012": {
        "rw": {"kode_kel": "kode_kel_2025", "rw": "RW"},
    },
    # petatps native format (demo generator and exports): the schema columns themselves.
    "petatps": {
        "kota": {"kode": "kode", "nama": "nama", "kode_prov": "kode_prov"},
        "kecamatan": {"kode": "kode", "nama": "nama", "kode_kab": "kode_kab"},
        "kelurahan": {"kode": "kode", "nama": "nama", "kode_kec": "kode_kec", "kode_kab": "kode_kab"},
        "rw": {"kode": "kode", "nama": "nama", "kode_kel": "kode_kel", "rw": "rw"},
        "rt": {"kode": "kode", "nama": "nama", "kode_kel": "kode_kel", "rw": "rw", "rt": "rt"},
    },
}

# Common spellings (matched case-insensitively), first present wins. Keys are per level where
# the same field means different things: kode_kec is the code of a kecamatan file but the
# parent of a kelurahan file.
_KEL = ("kode_kel", "kd_kel", "kode_kelurahan", "kode_desa", "kd_desa", "kdkel", "kode_kel_2025")
_KEC = ("kode_kec", "kd_kec", "kode_kecamatan", "kdkec")
_KAB = ("kode_kab", "kd_kab", "kode_kota", "kd_kota", "kode_kabkota", "kdkab")
_OWN = ("kode", "kode_kemendagri", "kode_dotted", "kode_wilayah")
SPELLINGS: dict[str, dict[str, tuple[str, ...]]] = {
    "kota": {"kode": _OWN + _KAB, "nama": ("nama", "nama_kab", "nama_kota", "kabkota", "kab_kota", "name"),
             "kode_prov": ("kode_prov", "kd_prov", "kode_provinsi", "kdprov")},
    "kecamatan": {"kode": _OWN + _KEC, "nama": ("nama", "nama_kec", "nama_kecamatan", "kecamatan", "name"),
                  "kode_kab": _KAB, "kode_prov": ("kode_prov", "kd_prov")},
    "kelurahan": {"kode": _OWN + _KEL,
                  "nama": ("nama", "nama_kel", "nama_kelurahan", "nama_desa", "kelurahan", "desa", "name"),
                  "kode_kec": _KEC, "kode_kab": _KAB, "kode_prov": ("kode_prov", "kd_prov")},
    "rw": {"kode": ("kode", "kode_rw"), "nama": ("nama", "nama_rw", "name"), "kode_kel": _KEL,
           "rw": ("rw", "no_rw", "nomor_rw", "rw_no"), "kode_kec": _KEC, "kode_kab": _KAB},
    "rt": {"kode": ("kode", "kode_rt"), "nama": ("nama", "nama_rt", "name"), "kode_kel": _KEL,
           "rw": ("rw", "no_rw", "nomor_rw", "rw_no"), "rt": ("rt", "no_rt", "nomor_rt", "rt_no"),
           "kode_kec": _KEC, "kode_kab": _KAB},
}

# The parent of each level (checked against ``parents`` when given): its name and the column holding
# it. An RT's parent is its RW, keyed "<kode_kel>-<rw:03d>" (the "kode" of the rw layer).
PARENT = {"kota": ("provinsi", "kode_prov"), "kecamatan": ("kota", "kode_kab"),
          "kelurahan": ("kecamatan", "kode_kec"), "rw": ("kelurahan", "kode_kel"), "rt": ("RW", "rw")}
_PREFIX = {"kode_prov": 2, "kode_kab": 4, "kode_kec": 6, "kode_kel": 10}
_DUPLICATE = {"rw": "duplicate RW number within kelurahan (kept the largest piece)",
              "rt": "duplicate RT number within RW (kept the largest piece)"}
_KEY_RE = r"^(\d{10})-(\d{3})(?:-(\d{3}))?$"


def read_boundaries(path: str | Path, level: str, *, rejected_path: str | Path | None = None,
                    parents: Collection[str] | None = None,
                    merge_pieces: bool = False) -> tuple[gpd.GeoDataFrame, Report]:
    """Read one boundary file of ``level`` into the schema, with a data-quality report.

    Parameters
    ----------
    path : str or Path
        GeoJSON, GeoPackage (``file.gpkg::layer`` to pick a layer), Shapefile or a zipped
        Shapefile, in any CRS pyproj knows (reprojected to EPSG:4326).
    level : {"kota", "kecamatan", "kelurahan", "rw", "rt"}
        The administrative level the file holds.
    rejected_path : str or Path, optional
        CSV to receive the rejected rows (file, line = feature number, field, value, reason, wkt).
        Replaced if it exists; written only when rows are rejected.
    parents : collection of str, optional
        Parent codes known to the store (kota: provinsi, kecamatan: kota, kelurahan: kecamatan,
        rw: kelurahan, rt: RW key ``<kode_kel>-<rw:03d>``); rows whose parent is not among them
        are rejected.
    merge_pieces : bool, default False
        Dissolve features sharing a key into one MultiPolygon (attributes of the largest piece)
        instead of keeping the largest piece and rejecting the others. The merged pieces count
        as loaded rows, so the frame then has fewer rows (``figures["features"]``) than
        ``rows_loaded``.

    Returns
    -------
    (GeoDataFrame, Report)
        ``conform(frame, level)`` sorted by ``kode``; the report has figures ``features``,
        ``area_km2`` (measured in EPSG:32748) and features per kota / kecamatan.

    Raises
    ------
    InputError, EmptyInputError, MissingColumnError, GeometryError, CRSError
        When the file as a whole cannot be used (nothing is returned).

    Examples
    --------
    >>> frame, report = read_boundaries("dki_rw_2012.geojson", "rw")  # doctest: +SKIP
    >>> report.reasons["no RW number"]  # doctest: +SKIP
    36
    """
    if level not in AREA_LEVELS:
        raise InputError(f"unknown level {level!r}; expected one of {', '.join(AREA_LEVELS)}", file=str(path))
    raw, notes = read_layer(path)
    source = str(path)
    report = Report(kind=f"load {level} boundaries", source=source, rows_read=len(raw))
    for n in notes:
        report.note(n)
    fields = _resolve_fields(list(raw.columns.drop(raw.geometry.name)), level, source, report)
    geom = checks.check_geometries(raw.geometry, source)
    _note_geometry(geom, report)
    verdict = checks.Verdict(raw.index)
    verdict.flag(geom.reason.notna(), geom.reason, "geometry", geom.value)
    table = _codes(raw, fields, level, verdict)
    if parents is not None:
        parent_name, parent = _parent_codes(table, level)
        verdict.flag(parent.notna() & ~parent.isin({str(p) for p in parents}),
                     f"unknown {parent_name} (not in the store)", PARENT[level][1], parent)
    frame = gpd.GeoDataFrame(table, geometry=geom.geometry, crs=raw.crs)
    area = checks.area_m2(geom.geometry)
    frame = _deduplicate(frame, area, level, verdict, merge_pieces, report)
    _record(report, verdict, raw, source, rejected_path)
    _warn_missing_names(frame, fields, source, report)
    out = conform(frame.sort_values("kode", kind="stable"), level)
    _figures(out, level, report)
    log.info("%s: %s %s loaded, %s rejected", source, report.rows_loaded, level, report.rows_rejected)
    return out, report.finish()


# --- fields --------------------------------------------------------------------------------

def _resolve_fields(columns: list[str], level: str, source: str, report: Report) -> dict[str, str]:
    """Schema column -> source field, from a matching known source, then common spellings."""
    present = set(columns)
    fields, origin = {}, "common spellings"
    for name, levels in KNOWN_SOURCES.items():
        declared = levels.get(level, {})
        if declared and set(declared.values()) <= present:
            fields, origin = dict(declared), f"known source {name}"
            break
    lower = {}
    for c in columns:
        lower.setdefault(c.lower(), c)
    used = set(fields.values())
    for col, spellings in SPELLINGS[level].items():
        if col in fields:
            continue
        hit = next((lower[s] for s in spellings if s in lower and lower[s] not in used), None)
        if hit is not None:
            fields[col] = hit
            used.add(hit)
    _require_fields(fields, columns, level, source)
    report.note(f"fields ({origin}): " + ", ".join(f"{c}<-{f}" for c, f in fields.items()))
    return fields


def _require_fields(fields: dict[str, str], columns: list[str], level: str, source: str) -> None:
    found = ", ".join(columns) or "(none)"
    if level in ("rw", "rt"):
        if "kode_kel" not in fields and "kode" not in fields:
            raise MissingColumnError(f"no kelurahan code field for level {level}: expected one of "
                                     f"{', '.join(SPELLINGS[level]['kode_kel'])} (or kode); found fields: {found}",
                                     file=source)
        for tag in ("rw", "rt")[: 1 if level == "rw" else 2]:
            if tag not in fields and "kode" not in fields:
                raise MissingColumnError(f"no {tag.upper()} number field: expected one of "
                                         f"{', '.join(SPELLINGS[level][tag])}; found fields: {found}", file=source)
    elif "kode" not in fields:
        raise MissingColumnError(f"no code field for level {level}: expected one of "
                                 f"{', '.join(SPELLINGS[level]['kode'])}; found fields: {found}", file=source)


# --- codes ---------------------------------------------------------------------------------

def _codes(raw: pd.DataFrame, fields: dict[str, str], level: str, verdict: checks.Verdict) -> pd.DataFrame:
    """Schema columns (kode, nama, parents, rw, rt) from the raw fields; flags bad rows."""
    if level in ("rw", "rt"):
        table = _sub_codes(raw, fields, level, verdict)
        own_col, own_level = "kode_kel", "kelurahan"
    else:
        field = fields["kode"]
        problems = kode_problems(raw[field], level)
        verdict.flag(problems.notna(), problems, field, raw[field].astype("string"))
        table = pd.DataFrame({"kode": normalize_kode(raw[field])}, index=raw.index)
        own_col, own_level = "kode", level
    own = table[own_col]
    for pcol, width in _PREFIX.items():
        if width >= LEVEL_LENGTHS[own_level]:
            continue
        if pcol in fields:
            given = raw[fields[pcol]].astype("string").str.strip()
            bad = given.notna() & (given != "") & own.notna() & (normalize_kode(given) != own.str[:width]).fillna(True)
            verdict.flag(bad, f"code disagrees with its {pcol}", fields[pcol], given)
        table[pcol] = own.str[:width]
    nama = raw[fields["nama"]].astype("string").str.strip() if "nama" in fields else None
    table["nama"] = _names(nama, table, level, raw.index)
    table["line"] = raw.index + 1
    return table


def _sub_codes(raw: pd.DataFrame, fields: dict[str, str], level: str, verdict: checks.Verdict) -> pd.DataFrame:
    """kode_kel, rw, rt and the RW/RT key; checks a given key against its parts."""
    index = raw.index
    key = raw[fields["kode"]].astype("string").str.strip() if "kode" in fields else None
    parts = key.str.extract(_KEY_RE) if key is not None else pd.DataFrame(index=index, columns=[0, 1, 2])
    if "kode_kel" in fields:
        f = fields["kode_kel"]
        problems = kode_problems(raw[f], "kelurahan")
        verdict.flag(problems.notna(), problems, f, raw[f].astype("string"))
        kode_kel = normalize_kode(raw[f])
    else:
        verdict.flag(parts[0].isna(), f"malformed {level.upper()} key (expected {_key_pattern(level)})",
                     fields["kode"], key)
        kode_kel = parts[0].astype("string")
    table = pd.DataFrame({"kode_kel": kode_kel}, index=index)
    for i, tag in enumerate(("rw", "rt")[: 1 if level == "rw" else 2], start=1):
        if tag in fields:
            number = checks.parse_number(raw[fields[tag]], tag.upper())
            verdict.flag(number.isna(), f"no {tag.upper()} number", fields[tag], raw[fields[tag]].astype("string"))
        else:
            number = checks.parse_number(parts[i], tag.upper())
        table[tag] = number
    table["kode"] = rw_key(table["kode_kel"], table["rw"]) if level == "rw" else \
        rt_key(table["kode_kel"], table["rw"], table["rt"])
    if key is not None and ("kode_kel" in fields or "rw" in fields):
        verdict.flag(key.notna() & (key != "") & (key != table["kode"]).fillna(True),
                     f"kode disagrees with its kode_kel/rw{'/rt' if level == 'rt' else ''}", fields["kode"], key)
    return table


def _parent_codes(table: pd.DataFrame, level: str) -> tuple[str, pd.Series]:
    """(parent level name, parent code per row); an RT's parent is its RW key."""
    name, column = PARENT[level]
    if level == "rt":
        return name, rw_key(table["kode_kel"], table["rw"])
    return name, table[column]


def _key_pattern(level: str) -> str:
    return "<kode_kel>-<rw:03d>" + ("-<rt:03d>" if level == "rt" else "")


def _names(nama: pd.Series | None, table: pd.DataFrame, level: str, index: pd.Index) -> pd.Series:
    """Given names; RW/RT rows without one are named ``"RW 005"`` / ``"RT 003"``."""
    given = nama.where(nama != "") if nama is not None else pd.Series(pd.NA, index=index, dtype="string")
    if level in ("rw", "rt"):
        made = level.upper() + " " + table[level].astype("string").str.zfill(3)
        given = given.fillna(made)
    return given


# --- duplicates, report --------------------------------------------------------------------

def _deduplicate(frame: gpd.GeoDataFrame, area: np.ndarray, level: str, verdict: checks.Verdict,
                 merge: bool, report: Report) -> gpd.GeoDataFrame:
    ok = verdict.ok
    extra = checks.extra_pieces(frame["kode"], area, ok)
    if not merge:
        reason = _DUPLICATE.get(level, f"duplicate {level} code (kept the largest piece)")
        verdict.flag(extra, reason, "kode", frame["kode"])
        return frame[verdict.ok]
    kept = frame[ok]
    keys = set(frame.loc[extra, "kode"])
    if keys:
        pieces = int(kept["kode"].isin(keys).sum())
        report.note(f"merged {pieces} pieces into {len(keys)} features (merge_pieces)")
    report.figures["merged_pieces"] = int(extra.sum())
    return checks.merge_pieces(kept, "kode", area[ok.to_numpy()])


def _record(report: Report, verdict: checks.Verdict, raw: gpd.GeoDataFrame, source: str,
            rejected_path: str | Path | None) -> None:
    bad = verdict.reason.notna()
    lines = (raw.index[bad] + 1).tolist()
    problems = [Problem(source, line, f, v, r) for line, f, v, r in zip(
        lines, _none(verdict.field[bad]), _none(verdict.value[bad]), verdict.reason[bad].tolist())]
    report.reject(problems)
    report.rows_loaded = report.rows_read - report.rows_rejected
    if rejected_path is None:
        return
    target = Path(rejected_path)
    target.unlink(missing_ok=True)
    if problems:
        wkt = shapely.to_wkt(np.asarray(raw.geometry[bad].array, dtype=object), rounding_precision=7)
        rows = [{**p.as_dict(), "wkt": w or ""} for p, w in zip(problems, wkt)]
        write_rejections(target, rows, ["file", "line", "field", "value", "reason", "wkt"])
        report.rejected_file = str(target)


def _none(values: pd.Series) -> list:
    return [None if pd.isna(v) else str(v) for v in values]


def _note_geometry(geom: checks.GeometryCheck, report: Report) -> None:
    if geom.repaired:
        report.note(f"repaired {geom.repaired} geometries with make_valid")
    if geom.collections:
        report.note(f"kept the polygons of {geom.collections} GeometryCollections")
    if geom.had_z:
        report.note(f"dropped Z coordinates of {geom.had_z} geometries")


def _warn_missing_names(frame: gpd.GeoDataFrame, fields: dict[str, str], source: str, report: Report) -> None:
    lines = frame.loc[frame["nama"].isna(), "line"].sort_values()
    report.warn(Problem(source, int(line), fields.get("nama"), None, "missing nama") for line in lines)


def _figures(out: gpd.GeoDataFrame, level: str, report: Report) -> None:
    report.figures["features"] = len(out)
    area_km2 = float(checks.area_m2(np.asarray(out.geometry.array, dtype=object)).sum()) / 1e6
    report.figures["area_km2"] = round(area_km2, 3)
    if level == "kota":
        report.figures["features_per_provinsi"] = _counts(out["kode_prov"])
        return
    code = out["kode_kel"] if level in ("rw", "rt") else out["kode"]
    report.figures["features_per_kota"] = _counts(code.str[:4])
    if level != "kecamatan":
        report.figures["features_per_kecamatan"] = _counts(code.str[:6])


def _counts(codes: pd.Series) -> dict[str, int]:
    return {str(k): int(v) for k, v in codes.value_counts().sort_index().items()}
