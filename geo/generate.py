"""The demo city generator: deterministic input files over Jakarta's real kelurahan, plus truth.

:func:`generate_city` writes, into one folder, the files petatps loads, in the formats real data
comes in, and a ``truth/`` folder to score the pipeline against::

    kota.geojson kecamatan.geojson kelurahan.geojson rw.geojson rt.geojson   (EPSG:4326, native fields)
    tps.csv      KPU/gigit-pemilu TPS columns + alamat, rt, rw, lat, lon
    dpt.csv      nik, nkk, nama, jenis_kelamin, tanggal_lahir, alamat, rt, rw, kode_kel, tps
    truth/tps_truth.csv  truth/dirty_rows.csv  truth/gaps.csv  truth/summary.json

Kelurahan codes, names and centroids are real public facts (``data/wilayah_dki.csv``); all
geometry below them and every person are generated. The same arguments give byte-identical files.
Module map: geometry in ``generate_geometry``, households and NIKs in ``generate_people`` and
``generate_names``, TPS mapping in ``generate_tps``, planted gaps in ``generate_plan``, DPT
writing in ``generate_dpt``, the other files in ``generate_files``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.codes import make_kode_tps
from geo.crs import METRIC_EPSG, STORAGE_EPSG
from geo.errors import InputError
from geo.generate_dpt import DPT_KINDS, DptWriter, dpt_table, plant_dirty
from geo.generate_files import (TPS_COLUMNS, boundary_frames, plant_tps_dirty, tps_table,
                                write_geojson, wrong_kelurahan_points)
from geo.generate_geometry import build_city, plant_deep_rw, read_wilayah, select_kelurahan
from geo.generate_kelurahan import TPS_FIELDS, Areas, generate_kelurahan
from geo.generate_plan import Plan, core_radius, gap_rows, locate_gap, plan_city
from geo.report import Report

log = logging.getLogger(__name__)

STREAM_PEOPLE, STREAM_DIRTY, STREAM_TPS, STREAM_CARVE = 3, 4, 5, 6  # geometry uses streams 1 and 2
MIN_CAP = 20


def generate_city(out_dir: str | Path, *, voters: int = 50_000, seed: int = 0, kode: str | None = None,
                  dirty: bool = True, max_per_tps: int = 300, dirty_share: float = 0.005,
                  wilayah: str | Path | None = None) -> Report:
    """Write a deterministic demo city into ``out_dir`` and return a report of what was written.

    Parameters
    ----------
    out_dir : path
        Folder to write into (created; existing files of the same names are replaced).
    voters : int
        Voters (persons) in the DPT, spread over the kelurahan by their real 2024 DPT weight.
    seed : int
        Random seed (>= 0). The same arguments give byte-identical files.
    kode : str, optional
        Kota, kecamatan or kelurahan code (dotted or plain) to generate only that area.
    dirty : bool
        Plant dirty rows (``dirty_share`` of the rows of each kind, at least one of each).
    max_per_tps : int
        Voters-per-TPS cap of the DPT's TPS mapping (Pemilu 2024: 300).
    dirty_share : float
        Share of rows spoilt per kind of dirty row (default 0.5 %).
    wilayah : path, optional
        Kelurahan table to use instead of ``data/wilayah_dki.csv``.

    Returns
    -------
    Report
        ``figures`` counts kelurahan, RW, RT, TPS, voters, rows and dirty rows per kind.

    Examples
    --------
    >>> generate_city("demo-city", voters=20_000, seed=1, kode="3171")  # doctest: +SKIP
    """
    _check_arguments(voters, seed, max_per_tps, dirty_share)
    started = time.perf_counter()
    out = Path(out_dir)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    table = read_wilayah(wilayah)
    table["kel_index"] = np.arange(len(table))
    table["kel_in_kec"] = table.groupby("kode_kec").cumcount()
    xy = np.column_stack(_to_metric(table["lon"].to_numpy(), table["lat"].to_numpy()))
    city = build_city(table, select_kelurahan(table, kode), xy, seed)
    plan = plan_city(city, voters, max_per_tps)
    if plan.gap_kel >= 0:
        rng = np.random.default_rng([seed, STREAM_CARVE, int(city.kel["kode"].iat[plan.gap_kel])])
        plan.gap_rw = plant_deep_rw(city, plan.gap_kel, plan.gap_centre, plan.gap_radius_m, core_radius(plan), rng)
    frames = boundary_frames(city)
    for level, frame in frames.items():
        write_geojson(frame, out / f"{level}.geojson")
    rt_xy = _representative_xy(frames["rt"])
    locate_gap(plan, city, rt_xy)
    picks = _dpt_picks(plan, city, seed, dirty, dirty_share)
    dpt = _write_dpt(out / "dpt.csv", city, plan, seed, max_per_tps, picks, rt_xy)
    tps = dpt.tps
    tps_rows, tps_dirty = _write_tps(out / "tps.csv", tps, city, plan, xy, seed, dirty, dirty_share, max_per_tps)
    gaps, gap_figures = gap_rows(plan, city, rt_xy, dpt.rt_voters, tps, max_per_tps)
    dirty_rows = pd.concat([dpt.dirty, tps_dirty], ignore_index=True)
    figures = _figures(city, dpt, voters, dirty_rows, gaps)
    _write_truth(out / "truth", tps, tps_rows, dirty_rows, gaps, figures, gap_figures, plan,
                 dict(voters=voters, seed=seed, kode=kode, dirty=dirty, max_per_tps=max_per_tps,
                      dirty_share=dirty_share))
    report = Report("generate", source=str(out), figures=figures)
    for note in plan.notes:
        report.note(note)
    report.figures["seconds"] = round(time.perf_counter() - started, 2)
    log.info("generated %s voters, %s TPS in %s", voters, len(tps), out)
    return report.finish()


def _check_arguments(voters, seed, max_per_tps, dirty_share) -> None:
    problems = [
        (not isinstance(voters, (int, np.integer)) or voters < 0, "voters", voters, "an integer >= 0"),
        (not isinstance(seed, (int, np.integer)) or seed < 0, "seed", seed, "an integer >= 0"),
        (not isinstance(max_per_tps, (int, np.integer)) or max_per_tps < MIN_CAP, "max_per_tps", max_per_tps,
         f"an integer >= {MIN_CAP}"),
        (not 0 <= dirty_share <= 0.1, "dirty_share", dirty_share, "a share between 0 and 0.1"),
    ]
    for bad, field, value, expected in problems:
        if bad:
            raise InputError(f"expected {expected}", field=field, value=value)


@dataclasses.dataclass
class _Dpt:
    """What writing the DPT produced: the TPS (one row each, true position in metres), voters per
    ``city.rt`` row, the dirty rows, and row/household counts."""

    tps: pd.DataFrame
    rt_voters: np.ndarray
    dirty: pd.DataFrame
    rows: int
    households: int


def _write_dpt(path: Path, city, plan: Plan, seed: int, cap: int, picks: dict[str, np.ndarray],
               rt_xy: np.ndarray) -> _Dpt:
    """Generate and write the voters kelurahan by kelurahan (bounded memory: one kelurahan at a time)."""
    areas = Areas.of(city, rt_xy)
    offsets = np.cumsum(plan.voters) - plan.voters
    parts, rt_voters, dirty, n_households = [], np.zeros(len(city.rt), np.int64), [], 0
    writer = DptWriter(path)
    try:
        for k in range(len(city.kel)):
            rng = np.random.default_rng([seed, STREAM_PEOPLE, int(areas.kode[k])])
            out = generate_kelurahan(k, areas, plan, cap, rng)
            rt_voters[areas.rt_bounds[k]:areas.rt_bounds[k + 1]] = out.rt_voters
            n_households += out.households
            local = {kind: p[(p >= offsets[k]) & (p < offsets[k] + plan.voters[k])] - offsets[k]
                     for kind, p in picks.items()}
            table, at, kinds = plant_dirty(dpt_table(out.voters), local, rng)
            first = writer.write(table)
            dirty.append((first + at, kinds))
            parts.append(out.tps)
    finally:
        writer.close()
    lines = np.concatenate([a for a, _ in dirty]) if dirty else np.zeros(0, np.int64)
    kinds = np.concatenate([b for _, b in dirty]) if dirty else np.zeros(0, dtype=object)
    dirty = pd.DataFrame({"file": "dpt.csv", "line": lines, "kind": kinds,
                          "field": pd.Series(kinds, dtype=object).map(DPT_KINDS)})
    return _Dpt(_tps_frame(parts, city), rt_voters, dirty, writer.rows, n_households)


def _tps_frame(parts: list[dict], city) -> pd.DataFrame:
    """All TPS in one frame, with ``kode_tps`` (kelurahan code + 3-digit number)."""
    tps = pd.DataFrame({f: np.concatenate([p[f] for p in parts]) if parts else [] for f in TPS_FIELDS})
    kode_kel = pd.Series(city.kel["kode"].to_numpy(dtype=object)[tps["kel"].to_numpy(dtype=np.int64)],
                         dtype="string")
    tps.insert(2, "kode_tps", make_kode_tps(kode_kel, tps["no_tps"]).to_numpy(dtype=object))
    return tps


def _write_tps(path: Path, tps: pd.DataFrame, city, plan: Plan, xy: np.ndarray, seed: int, dirty: bool,
               share: float, cap: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write tps.csv (with its dirty rows); return the clean rows with truth columns and the dirty rows."""
    rng = np.random.default_rng([seed, STREAM_TPS])
    rows = tps_table(tps, city.kel, plan, rng, _to_lonlat)
    picks = _tps_picks(tps, rows["given"].to_numpy(), plan, cap, rng, share if dirty else 0.0)
    own = city.kel["kel_index"].to_numpy()[tps["kel"].to_numpy()[picks["coord_wrong_kelurahan"]]]
    wx, wy = wrong_kelurahan_points(own, city.cells, xy, rng)
    written, dirty_rows = plant_tps_dirty(rows, picks, _to_lonlat(wx, wy), rng)
    written[TPS_COLUMNS].to_csv(path, index=False, lineterminator="\n")
    return rows, dirty_rows


def _tps_picks(tps: pd.DataFrame, given: np.ndarray, plan: Plan, cap: int, rng: np.random.Generator,
               share: float) -> dict[str, np.ndarray]:
    """Disjoint TPS row positions to spoil per kind. Rows of the planted kelurahan are never spoilt;
    a rejected kode_kel hits only a TPS whose kelurahan keeps enough TPS and whose RW keeps one."""
    n = len(tps)
    want = max(1, round(share * n)) if share > 0 and n else 0
    kel = tps["kel"].to_numpy()
    free = ~np.isin(kel, [plan.gap_kel, plan.too_few, plan.overload])
    coords = rng.permutation(np.flatnonzero(free & (given == "coordinates")))
    kinds = ["coord_swapped", "coord_sign", "coord_decimal_comma", "coord_wrong_kelurahan"]
    per = min(want, len(coords) // len(kinds))
    picks = {kind: np.sort(coords[i * per:(i + 1) * per]) for i, kind in enumerate(kinds)}
    used = np.zeros(n, dtype=bool)
    used[coords[:per * len(kinds)]] = True
    n_tps = np.bincount(kel)[kel]
    voters = tps.groupby("kel")["dpt"].transform("sum").to_numpy()
    per_rw = tps.groupby(["kel", "rw"])["rw"].transform("size").to_numpy()
    ok = free & ~used & ((n_tps - 1) * cap >= voters) & (per_rw >= 2)
    picks["kode_kel_invalid"] = np.sort(rng.permutation(np.flatnonzero(ok))[:want])
    used[picks["kode_kel_invalid"]] = True
    picks["kode_tps_duplicate"] = np.sort(rng.permutation(np.flatnonzero(~used))[:want])
    return picks


def _dpt_picks(plan: Plan, city, seed: int, dirty: bool, share: float) -> dict[str, np.ndarray]:
    """Global voter positions (0-based, in file order before duplicates) to spoil per kind,
    never in the planted kelurahan (their counts must stay exactly as planted)."""
    rng = np.random.default_rng([seed, STREAM_DIRTY])
    offsets = np.cumsum(plan.voters) - plan.voters
    planted = sorted({k for k in (plan.gap_kel, plan.too_few, plan.overload) if k >= 0})
    eligible = int(plan.voters.sum() - plan.voters[planted].sum())
    want = max(1, round(share * plan.voters.sum())) if dirty and share > 0 else 0
    want = min(want, eligible // len(DPT_KINDS))
    pos = rng.choice(eligible, size=want * len(DPT_KINDS), replace=False) if want else np.zeros(0, np.int64)
    for k in planted:  # map positions in the eligible sequence back to file positions
        pos = pos + np.where(pos >= offsets[k], plan.voters[k], 0)
    return {kind: np.sort(pos[i * want:(i + 1) * want]) for i, kind in enumerate(DPT_KINDS)}


def _figures(city, dpt: _Dpt, voters: int, dirty_rows: pd.DataFrame, gaps: pd.DataFrame) -> dict:
    per_kind = dirty_rows.groupby(["file", "kind"]).size()
    return {
        "kota": int(city.kel["kode_kab"].nunique()), "kecamatan": int(city.kel["kode_kec"].nunique()),
        "kelurahan": len(city.kel), "rw": len(city.rw), "rt": len(city.rt), "tps": len(dpt.tps),
        "voters": int(voters), "households": dpt.households, "dpt_rows": dpt.rows,
        "tps_rows": len(dpt.tps) + int((dirty_rows["kind"] == "kode_tps_duplicate").sum()),
        "dirty_dpt": {k: int(v) for (f, k), v in per_kind.items() if f == "dpt.csv"},
        "dirty_tps": {k: int(v) for (f, k), v in per_kind.items() if f == "tps.csv"},
        "planted_gaps": {g: int(n) for g, n in gaps.groupby("gap").size().items()},
    }


def _write_truth(folder: Path, tps: pd.DataFrame, rows: pd.DataFrame, dirty_rows: pd.DataFrame,
                 gaps: pd.DataFrame, figures: dict, gap_figures: dict, plan: Plan, params: dict) -> None:
    truth = pd.DataFrame({
        "kode_tps": tps["kode_tps"], "lon": rows["true_lon"].map("{:.7f}".format),
        "lat": rows["true_lat"].map("{:.7f}".format), "kode_kel": rows["kode_kel"], "rw": tps["rw"],
        "rt": tps["rt"], "rw_served": tps["rw_served"], "given": rows["given"], "dpt": tps["dpt"]})
    truth.to_csv(folder / "tps_truth.csv", index=False, lineterminator="\n")
    dirty_rows.sort_values(["file", "line"]).to_csv(folder / "dirty_rows.csv", index=False, lineterminator="\n")
    gaps.to_csv(folder / "gaps.csv", index=False, lineterminator="\n")
    summary = {"parameters": params, "counts": figures, "gaps": gap_figures, "notes": plan.notes}
    (folder / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")


@lru_cache(maxsize=2)
def _transformer(source: int, target: int) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(source, target, always_xy=True)


def _to_metric(lon, lat):
    return _transformer(STORAGE_EPSG, METRIC_EPSG).transform(np.asarray(lon, float), np.asarray(lat, float))


def _to_lonlat(x, y):
    return _transformer(METRIC_EPSG, STORAGE_EPSG).transform(np.asarray(x, float), np.asarray(y, float))


def _representative_xy(rt_frame) -> np.ndarray:
    """RT representative points (shapely point_on_surface in EPSG:4326) in metres."""
    pts = shapely.point_on_surface(rt_frame.geometry.to_numpy())
    lonlat = shapely.get_coordinates(pts)
    return np.column_stack(_to_metric(lonlat[:, 0], lonlat[:, 1])) if len(lonlat) else np.zeros((0, 2))
