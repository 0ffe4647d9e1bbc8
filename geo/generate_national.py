"""A synthetic national dataset: several provinces of generated kabupaten, kecamatan and desa.

:func:`generate_national` writes the same files as :func:`geo.generate.generate_city` (boundaries as
GeoJSON, ``tps.csv``, ``dpt.csv``, ``truth/``), plus ``wilayah.csv``, the synthetic kelurahan table.
Each province is one ``generate_city`` run over its own table, so each carries its planted gaps and
dirty rows; the runs are merged file by file (line numbers in ``truth/dirty_rows.csv`` shifted).

The table is invented: province codes are real Kemendagri prefixes, kabupaten numbers avoid those of
the real regions that NIKs of movers name (so local and mover NIKs never share a region), kecamatan
hold ``KEL_PER_KEC`` desa, desa sit on a jittered square grid sized for ``VOTERS_PER_KM2``, provinces side by side
in UTM zone 48S (the metric CRS of petatps). Voter weights vary by kabupaten and desa (log-normal),
so partitions of a batch differ in size as real ones do.

Two adjustments keep the merged files like one country's:

- RW per desa follow the voters (``VOTERS_PER_RW``): ``generate_city`` spreads a fixed RW total over
  its table, so each province table gets one extra, unselected *filler* row far away that takes the
  surplus; it is never written.
- NIKs of movers (households from another region) would repeat between provinces; their region is
  rewritten to ``<kab of the region><60 + province index>``, unique per province.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from pyproj import Transformer

from geo.codes import PROVINCE_CODES
from geo.crs import METRIC_EPSG, STORAGE_EPSG
from geo.errors import InputError
from geo.generate import generate_city
from geo.generate_dpt import SCHEMA as DPT_SCHEMA
from geo.generate_geometry import RW_TARGET
from geo.generate_people import MOVER_BLOCK, MOVER_REGIONS
from geo.generate_plan import apportion
from geo.report import Report

log = logging.getLogger(__name__)

KEL_PER_KEC = 8
VOTERS_PER_KM2 = 3_000         # desa area from the mean voters per desa: keeps ~300 voters per generated TPS
MIN_SPACING_M = 300.0
PROVINCE_GAP = 4               # desa spacings of sea between provinces
ORIGIN_LONLAT = (105.6, -7.2)
VOTERS_PER_RW = 1_500
MAX_KEL_PER_PROVINCE = 9_999 // MOVER_BLOCK - 1     # NIK serial blocks of movers (270)
_MOVER_KABS = {int(str(r)[2:4]) for r in MOVER_REGIONS}
KAB_NUMBERS = [n for n in range(5, 100) if n not in _MOVER_KABS]
LEVELS = ("kota", "kecamatan", "kelurahan", "rw", "rt")
STREAM_TABLE = 11
_FILLER = {"kode": "9999999999", "nama": "filler", "kode_kec": "999999", "nama_kec": "filler",
           "kode_kab": "9999", "nama_kab": "filler"}
_SYLLABLES = (["Suka", "Karang", "Cipta", "Mekar", "Tanjung", "Sumber", "Jati", "Bumi", "Sido", "Tirta"],
              ["maju", "jaya", "sari", "mulya", "rahayu", "asih", "makmur", "indah", "harjo", "wangi"])


def generate_national(out_dir: str | Path, *, provinces: int = 3, kab_per_province: int = 4, kel_per_kab: int = 10,
                      voters: int = 200_000, seed: int = 0, dirty: bool = True) -> Report:
    """Write a deterministic multi-province dataset into ``out_dir``.

    Parameters
    ----------
    out_dir : path
        Folder to write (created; files of the same names are replaced).
    provinces : int
        Number of provinces (1–38), given the first real province codes in order (11, 12, ...).
    kab_per_province, kel_per_kab : int
        Kabupaten per province, desa per kabupaten; at most ``MAX_KEL_PER_PROVINCE`` desa per province.
    voters : int
        Voters in the whole DPT, spread by the desa weights.
    seed : int
        Random seed; the same arguments give byte-identical files.
    dirty : bool
        Plant dirty rows in every province (as ``generate_city``).

    Returns
    -------
    Report
        ``figures``: the counts summed over provinces, and per province.

    Examples
    --------
    >>> generate_national("national", provinces=2, kab_per_province=3, kel_per_kab=6, voters=20_000)  # doctest: +SKIP
    """
    _check(provinces, kab_per_province, kel_per_kab, voters, seed)
    started = time.perf_counter()
    out = Path(out_dir)
    work = out / ".provinces"
    shutil.rmtree(work, ignore_errors=True)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    table = national_table(provinces, kab_per_province, kel_per_kab, voters, seed)
    prov = table["kode"].str[:2]
    per_province = apportion(voters, table.groupby(prov, sort=True)["dpt_2024"].sum().to_numpy(float))
    runs = []
    for p, (code, rows) in enumerate(table.groupby(prov, sort=True)):
        folder = work / code
        folder.mkdir(parents=True)
        path = folder / "wilayah.csv"
        with_filler(rows, int(per_province[p])).to_csv(path, index=False, lineterminator="\n")
        report = generate_city(folder / "city", voters=int(per_province[p]), seed=seed, kode=code, dirty=dirty,
                               wilayah=path)
        runs.append((code, folder / "city", report))
        log.info("province %s: %s voters", code, f"{int(per_province[p]):,}")
    table.to_csv(out / "wilayah.csv", index=False, lineterminator="\n")
    params = {"provinces": provinces, "kab_per_province": kab_per_province, "kel_per_kab": kel_per_kab,
              "voters": voters, "seed": seed, "dirty": dirty}
    figures = _merge(out, runs, params)
    shutil.rmtree(work)
    figures["seconds"] = round(time.perf_counter() - started, 2)
    return Report("generate national", source=str(out), figures=figures).finish()


def _check(provinces, kab, kel, voters, seed) -> None:
    problems = [
        (not 1 <= provinces <= len(PROVINCE_CODES), "provinces", provinces, f"1 to {len(PROVINCE_CODES)}"),
        (not 1 <= kab <= len(KAB_NUMBERS), "kab_per_province", kab, f"1 to {len(KAB_NUMBERS)}"),
        (kel < 1 or not 2 <= kab * kel <= MAX_KEL_PER_PROVINCE, "kel_per_kab", kel,
         f"at least 1, with 2 to {MAX_KEL_PER_PROVINCE} desa per province (kab_per_province × kel_per_kab)"),
        (voters < 0, "voters", voters, "an integer >= 0"),
        (seed < 0, "seed", seed, "an integer >= 0"),
    ]
    for bad, field, value, expected in problems:
        if bad:
            raise InputError(f"expected {expected}", field=field, value=value)


def national_table(provinces: int, kab_per_province: int, kel_per_kab: int, voters: int = 200_000,
                   seed: int = 0) -> pd.DataFrame:
    """The synthetic kelurahan table (columns of ``data/wilayah_dki.csv``), sorted by ``kode``.

    Desa are ``spacing`` metres apart, with ``spacing² ≈ mean voters per desa / VOTERS_PER_KM2``.
    """
    rng = np.random.default_rng([seed, STREAM_TABLE])
    n = kab_per_province * kel_per_kab
    spacing = max(MIN_SPACING_M, float(np.sqrt(voters / (n * provinces) / VOTERS_PER_KM2 * 1e6)))
    cols = int(np.ceil(np.sqrt(n)))
    side = (cols + PROVINCE_GAP) * spacing
    per_row = int(np.ceil(np.sqrt(provinces)))
    kab = np.repeat(np.arange(kab_per_province), kel_per_kab)
    in_kab = np.tile(np.arange(kel_per_kab), kab_per_province)
    kec, in_kec = in_kab // KEL_PER_KEC + 1, in_kab % KEL_PER_KEC
    x0, y0 = _to_metric(*ORIGIN_LONLAT)
    frames = []
    for p, prov in enumerate(sorted(PROVINCE_CODES)[:provinces]):
        kode_kab = np.char.add(prov, np.char.zfill(np.array(KAB_NUMBERS)[kab].astype(str), 2))
        kode_kec = np.char.add(kode_kab, np.char.zfill(kec.astype(str), 2))
        cell = np.arange(n)
        jitter = rng.uniform(-0.2, 0.2, (n, 2)) * spacing
        x = float(x0) + (p % per_row) * side + (cell % cols) * spacing + jitter[:, 0]
        y = float(y0) + (p // per_row) * side + (cell // cols) * spacing + jitter[:, 1]
        lon, lat = _to_lonlat(x, y)
        weight = np.exp(rng.normal(0, 0.7, kab_per_province))[kab] * np.exp(rng.normal(0, 0.5, n))
        frames.append(pd.DataFrame({
            "kode": np.char.add(kode_kec, (2001 + in_kec).astype(str)), "nama": _names(rng, n, "Desa "),
            "kode_kec": kode_kec, "nama_kec": _names(rng, n, "")[np.unique(kode_kec, return_inverse=True)[1]],
            "kode_kab": kode_kab, "nama_kab": _names(rng, n, "Kabupaten ")[kab],
            "lon": np.round(lon, 6), "lat": np.round(lat, 6),
            "area_km2": np.round(spacing ** 2 / 1e6 * np.exp(rng.normal(0, 0.15, n)), 4),
            "dpt_2024": np.maximum(1, np.round(3_000 * weight)).astype(np.int64)}))
    return pd.concat(frames, ignore_index=True).sort_values("kode", kind="stable").reset_index(drop=True)


def _names(rng: np.random.Generator, n: int, prefix: str) -> np.ndarray:
    a, b = _SYLLABLES
    return np.char.add(prefix, np.char.add(np.array(a)[rng.integers(0, len(a), n)], np.array(b)[rng.integers(0, len(b), n)]))


def with_filler(rows: pd.DataFrame, voters: int) -> pd.DataFrame:
    """A province's table plus the unselected filler row that takes the RW surplus (see the module docstring).

    ``generate_city`` gives kelurahan ``i`` about ``RW_TARGET × (0.75 w_i/W + 0.25 a_i/A)`` RW over
    the whole table; a filler row with ``f`` times the province's weight and area leaves the province
    ``RW_TARGET / (1 + f)`` RW: ``f`` is chosen for ``voters / VOTERS_PER_RW`` of them (at least 2 per desa).
    """
    want = min(RW_TARGET, max(2 * len(rows), round(voters / VOTERS_PER_RW)))
    f = RW_TARGET / want - 1.0
    if f <= 0:
        return rows
    x, y = _to_metric(rows["lon"].to_numpy(), rows["lat"].to_numpy())
    area = f * rows["area_km2"].sum()
    radius = np.sqrt(area * 1e6 / np.pi)
    lon, lat = _to_lonlat(x.mean(), y.min() - 3 * radius - 50_000)    # far south, never a neighbour
    filler = pd.DataFrame([{**_FILLER, "lon": round(float(lon), 6), "lat": round(float(lat), 6),
                            "area_km2": round(area, 4), "dpt_2024": round(f * int(rows["dpt_2024"].sum()))}])
    return pd.concat([rows, filler], ignore_index=True)


def _to_metric(lon, lat):
    return Transformer.from_crs(STORAGE_EPSG, METRIC_EPSG, always_xy=True).transform(lon, lat)


def _to_lonlat(x, y):
    return Transformer.from_crs(METRIC_EPSG, STORAGE_EPSG, always_xy=True).transform(x, y)


# --- merging the province runs ----------------------------------------------------------------

def _merge(out: Path, runs: list[tuple[str, Path, Report]], params: dict) -> dict:
    for level in LEVELS:
        _merge_geojson([city / f"{level}.geojson" for _, city, _ in runs], out / f"{level}.geojson")
    dpt_rows = _merge_dpt([(p, city / "dpt.csv") for p, (_, city, _) in enumerate(runs)], out / "dpt.csv")
    tps_rows = _merge_text([city / "tps.csv" for _, city, _ in runs], out / "tps.csv")
    truth = [city / "truth" for _, city, _ in runs]
    _concat_csv([t / "tps_truth.csv" for t in truth], out / "truth" / "tps_truth.csv")
    _concat_csv([t / "gaps.csv" for t in truth], out / "truth" / "gaps.csv")
    _merge_dirty(truth, {"dpt.csv": dpt_rows, "tps.csv": tps_rows}, out / "truth" / "dirty_rows.csv")
    summaries = {code: json.loads((city / "truth" / "summary.json").read_text()) for code, city, _ in runs}
    counts = _sum_counts([s["counts"] for s in summaries.values()])
    counts["provinsi"] = len(runs)
    summary = {"parameters": params, "counts": counts,
               "provinces": {c: {k: s[k] for k in ("counts", "gaps", "notes")} for c, s in summaries.items()}}
    (out / "truth" / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return {**counts, "provinces": {c: s["counts"] for c, s in summaries.items()}}


def _merge_geojson(paths: list[Path], target: Path) -> None:
    """Concatenate FeatureCollections written one feature per line (``generate_files.write_geojson``)."""
    with target.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write('{"type":"FeatureCollection","features":[\n')
        first = True
        for path in paths:
            for line in path.read_text(encoding="utf-8").splitlines()[1:-1]:
                fh.write(("" if first else ",\n") + line.rstrip(","))
                first = False
        fh.write("\n]}\n")


def _merge_dpt(parts: list[tuple[int, Path]], target: Path) -> list[int]:
    """Concatenate the DPT files (one header), movers' NIK region made unique per province; rows per file."""
    strings = pa.schema([(f.name, pa.string()) for f in DPT_SCHEMA])
    options = pacsv.WriteOptions(quoting_style="none", quoting_header="none")
    movers = pa.array([str(r) for r in MOVER_REGIONS])
    rows = []
    with pacsv.CSVWriter(str(target), strings, write_options=options) as writer:
        for p, path in parts:
            reader = pacsv.open_csv(path, convert_options=pacsv.ConvertOptions(
                column_types={f.name: pa.string() for f in DPT_SCHEMA}))
            n = 0
            for batch in reader:
                nik = batch.column("nik")
                region = pc.utf8_slice_codeunits(nik, 0, 6)
                moved = pc.binary_join_element_wise(pc.utf8_slice_codeunits(nik, 0, 4), f"{60 + p:02d}",
                                                    pc.utf8_slice_codeunits(nik, 6, 99), "")
                nik = pc.if_else(pc.is_in(region, value_set=movers), moved, nik)
                writer.write_batch(batch.set_column(0, "nik", nik).cast(strings))
                n += batch.num_rows
            rows.append(n)
    return rows


def _merge_text(paths: list[Path], target: Path) -> list[int]:
    """Concatenate CSV files with one header; data lines per file."""
    rows = []
    with target.open("w", encoding="utf-8", newline="\n") as fh:
        for i, path in enumerate(paths):
            lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
            fh.writelines(lines if i == 0 else lines[1:])
            rows.append(len(lines) - 1)
    return rows


def _concat_csv(paths: list[Path], target: Path) -> None:
    frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths]
    pd.concat(frames, ignore_index=True).to_csv(target, index=False, lineterminator="\n")


def _merge_dirty(truth: list[Path], rows: dict[str, list[int]], target: Path) -> None:
    """Dirty rows of every province with lines counted in the merged files."""
    frames = []
    for i, folder in enumerate(truth):
        d = pd.read_csv(folder / "dirty_rows.csv", dtype={"file": str, "kind": str, "field": str})
        offset = d["file"].map({f: sum(n[:i]) for f, n in rows.items()}).fillna(0).astype(np.int64)
        frames.append(d.assign(line=d["line"] + offset))
    merged = pd.concat(frames, ignore_index=True).sort_values(["file", "line"], kind="stable")
    merged.to_csv(target, index=False, lineterminator="\n")


def _sum_counts(dicts: list[dict]) -> dict:
    out: dict = {}
    for d in dicts:
        for k, v in d.items():
            if isinstance(v, dict):
                out[k] = _sum_counts([out.get(k, {}), v])
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                out[k] = out.get(k, 0) + v
    return out





def batch_dataset(folder: str | Path, root: str | Path, *, key: bytes, chunksize: int = 200_000) -> Report:
    """A batch dataset (:mod:`geo.batch_data`) from a generated folder, for tests and benchmarks.

    Boundaries from the GeoJSON files, TPS at their true sites (``truth/tps_truth.csv``, as if geocoded
    perfectly) and voters streamed through the real DPT loader (:func:`geo.voters.read_dpt`, dirty rows
    rejected), hashed with ``key``.
    """
    import geopandas as gpd

    from geo.batch_data import write_dataset
    from geo.schema import conform
    from geo.voters import read_dpt

    folder = Path(folder)
    areas = {level: conform(gpd.read_file(folder / f"{level}.geojson"), level) for level in ("kelurahan", "rw", "rt")}
    truth = pd.read_csv(folder / "truth" / "tps_truth.csv", dtype={"kode_tps": str, "kode_kel": str})
    tps = gpd.GeoDataFrame(truth[["kode_tps", "kode_kel"]].astype("string"),
                           geometry=gpd.points_from_xy(truth["lon"], truth["lat"]), crs=STORAGE_EPSG)
    reader = read_dpt(folder / "dpt.csv", key=key, chunksize=chunksize)
    report = write_dataset(root, voters=reader, tps=tps, **areas)
    report.figures["dpt"] = {"rows_read": reader.report.rows_read, "rows_rejected": reader.report.rows_rejected}
    return report

__all__ = ["MAX_KEL_PER_PROVINCE", "batch_dataset", "generate_national", "national_table", "with_filler"]
