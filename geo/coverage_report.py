"""Write a coverage result to a folder officers can open: CSV, GeoPackage, GeoJSON and index.html.

Layout of ``out_dir``::

    tps.csv  rt.csv  rw.csv  kelurahan.csv  gaps.csv  suggestions.csv  merges.csv  [stages.csv]
    coverage.gpkg        layers tps, rt, rw, kelurahan, gaps, suggestions, merges, catchments, service_areas
    coverage_<layer>.geojson   for tps, rt, rw, kelurahan, gaps, suggestions, merges
    index.html           the officer's report page (self-contained; only the base map is remote)
    report.json          the Report of the analysis and of this writing

Small counts are suppressed in every file (:func:`public_tables`): a count of 1 to 4 voters is written
``"<5"`` (0 stays 0: an area without voters singles out nobody), and what could give it away (shares,
capacity use, distances of those voters, a percentage change) is left empty. Count columns are
therefore text in the public files. Points go to CSV as ``lon``/``lat``; polygon tables go to CSV
without geometry (their polygons are in the GeoPackage and GeoJSON). The files are written together
(staged, then swapped in by :mod:`geo.atomic`: a failure keeps the previous report) and
deterministically (the GeoPackage timestamp is pinned to the data version's date when it has one).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo import atomic
from geo.outputs import write_frame
from geo.report import Report

log = logging.getLogger(__name__)

# count column -> columns derived from it that would reveal a suppressed count
SUPPRESS = {
    "tps": {"dpt": [], "voters_dpt": ["cap_use", "dist_dpt_mean_m", "dist_dpt_max_m", "share_beyond"],
            "voters_nearest": [], "voters_beyond": ["share_beyond"]},
    "rt": {"voters": ["dist_dpt_mean_m", "dist_dpt_max_m", "share_beyond_dpt", "share_beyond_nearest",
                      "dist_nearest_m", "dist_nearest_any_m", "dist_dpt_walk_mean_m", "dist_nearest_walk_m"],
           "voters_beyond_dpt": ["share_beyond_dpt"], "voters_beyond_nearest": ["share_beyond_nearest"]},
    "rw": {"voters": ["dist_dpt_mean_m", "dist_dpt_max_m", "share_beyond_dpt", "dist_nearest_mean_m",
                      "dist_nearest_min_m", "dist_nearest_max_m", "share_beyond_nearest", "dist_nearest_walk_mean_m",
                      "dist_dpt_walk_mean_m"],
           "voters_beyond_dpt": ["share_beyond_dpt"], "voters_beyond_nearest": ["share_beyond_nearest"]},
    "kelurahan": {"voters": ["load_ratio", "share_beyond_dpt", "share_beyond_nearest"],
                  "voters_beyond_dpt": ["share_beyond_dpt"], "voters_beyond_nearest": ["share_beyond_nearest"]},
    "gaps": {"voters": []},
    "suggestions": {"voters_newly_covered": [], "voters_covered_cumulative": [], "voters_served": []},
    "merges": {"voters_keep": [], "voters_merge": [], "voters_after": []},
    "catchments": {"voters_dpt": []},
    "service_areas": {"voters_nearest": []},
}
SMALL = "<5"
LAYERS = ("tps", "rt", "rw", "kelurahan", "gaps", "suggestions", "merges", "catchments", "service_areas")
CSV_LAYERS = ("tps", "rt", "rw", "kelurahan", "gaps", "suggestions", "merges")
GEOJSON_LAYERS = CSV_LAYERS


def suppress_small(frame: pd.DataFrame, rules: dict[str, list[str]]) -> pd.DataFrame:
    """Counts 1–4 (in absolute value) become ``"<5"``; the columns derived from them become empty.

    Parameters
    ----------
    frame : DataFrame
        A table with exact counts.
    rules : dict
        Count column → the columns that would reveal it (see :data:`SUPPRESS`). Columns absent from
        ``frame`` are skipped.

    Returns
    -------
    DataFrame
        A copy: each count column as text (``"<5"``, digits, or empty), derived values NA where hidden.
    """
    out = frame.copy()
    hidden = {}
    for col in rules:
        if col in out:
            values = pd.to_numeric(out[col], errors="coerce").astype("Float64")
            hidden[col] = ((values.abs() > 0) & (values.abs() < 5)).fillna(False).to_numpy()
    for col, small in hidden.items():
        for derived in rules[col]:
            if derived in out:
                out[derived] = out[derived].mask(small)
        text = pd.to_numeric(out[col], errors="coerce").astype("Int64").astype("string")
        out[col] = text.mask(small, SMALL)
    return out


def public_tables(result) -> dict[str, pd.DataFrame]:
    """Every table of a :class:`~geo.coverage.CoverageResult` with small counts suppressed."""
    tables = {name: suppress_small(getattr(result, name), SUPPRESS[name]) for name in LAYERS}
    stages = result.stages
    if len(stages):
        rules = {c: [c.replace("change_", "pct_")] if c.startswith("change_") else []
                 for c in stages.columns if c in ("population", "dps", "dpt", "loaded") or c.startswith("change_")}
        tables["stages"] = suppress_small(stages, rules)
    return tables


def write_coverage(result, out_dir: str | Path, *, data_version: str, base_map=None) -> Report:
    """Write the coverage files of ``result`` into ``out_dir`` (created) and return what was written.

    Parameters
    ----------
    result : CoverageResult
        From :func:`geo.coverage.coverage`.
    out_dir : str or Path
        Output folder; files of the same names are replaced.
    data_version : str
        Printed in the page footer and ``report.json`` (e.g. the store's data version).
    base_map : geo.maps.BaseMap, optional
        The page's raster base map (default OpenStreetMap).

    Returns
    -------
    Report
        ``figures["files"]``: every file written with its size in bytes; ``figures["rows"]`` per table.
    """
    from geo.coverage_page import coverage_page

    out = Path(out_dir)
    report = Report("coverage report", source=str(out))
    tables = public_tables(result)
    written = []
    with atomic.staged(out) as stage:     # all files or none: a failure keeps the previous report
        root = stage.root
        for name in CSV_LAYERS + (("stages",) if "stages" in tables else ()):
            written.append(write_frame(_csv_table(tables[name]), root / f"{name}.csv"))
        for name in GEOJSON_LAYERS:
            written.append(write_frame(_geo_table(tables[name]), root / f"coverage_{name}.geojson", layer=name))
        written.append(write_gpkg({name: _geo_table(tables[name]) for name in LAYERS}, root / "coverage.gpkg",
                                  data_version=data_version))
        page = coverage_page(result, tables, data_version=data_version, base_map=base_map)
        written.append(_write_text(root / "index.html", page))
        report.figures["rows"] = {name: len(t) for name, t in tables.items()}
        report.figures["files"] = {p.name: p.stat().st_size for p in written}
        report.figures["data_version"] = data_version
        written.append(_write_text(root / "report.json", json.dumps(
            {"analysis": result.report.to_dict(), "files": report.figures["files"], "data_version": data_version},
            ensure_ascii=False, indent=1, sort_keys=True) + "\n"))
    report.rows_read = report.rows_loaded = len(result.tps)
    log.info("coverage report written to %s (%d files)", out, len(written))
    return report.finish()


def _csv_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Points keep their geometry (write_frame turns it into lon/lat); polygon tables lose it."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return frame
    geom = frame.geometry
    if len(geom.dropna()) and geom.dropna().geom_type.eq("Point").all():
        return frame
    return pd.DataFrame(frame.drop(columns=frame.geometry.name))


def _geo_table(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Polygons promoted to MultiPolygons (one geometry type per layer, as QGIS likes); floats nullable,
    so a missing value is written as null (GDAL skips NaN)."""
    floats = [c for c in frame.columns if c != frame.geometry.name and frame[c].dtype == "float64"]
    frame = frame.astype(dict.fromkeys(floats, "Float64"))
    geom = frame.geometry
    kinds = set(geom.dropna().geom_type)
    if kinds <= {"Polygon", "MultiPolygon"} and "Polygon" in kinds:
        import shapely

        values = geom.to_numpy().copy()
        single = shapely.get_type_id(values) == 3
        values[single] = shapely.multipolygons(values[single].reshape(-1, 1)) if single.any() else values[single]
        frame = frame.set_geometry(gpd.GeoSeries(values, index=frame.index, crs=frame.crs))
    return frame


def write_gpkg(layers: dict[str, gpd.GeoDataFrame], path: Path, *, data_version: str = "") -> Path:
    """All ``layers`` into one GeoPackage, atomically (temporary file renamed when complete)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".gpkg", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    tmp.unlink()
    stamp = _timestamp(data_version)
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    try:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
        for name, frame in layers.items():
            kind = _geometry_type(frame)
            pyogrio.write_dataframe(frame, tmp, layer=name, driver="GPKG", append=tmp.exists(),
                                    geometry_type=kind, promote_to_multi=kind == "MultiPolygon")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
    return path


def _geometry_type(frame: gpd.GeoDataFrame) -> str:
    kinds = set(frame.geometry.dropna().geom_type)
    if kinds <= {"Point"} and kinds:
        return "Point"
    if kinds <= {"LineString"} and kinds:
        return "LineString"
    return "MultiPolygon" if kinds <= {"Polygon", "MultiPolygon"} else "Unknown"


def _timestamp(data_version: str) -> str:
    """A fixed GeoPackage timestamp: the date a data version starts with (YYYY-MM-DD...), else 2000-01-01."""
    text = (data_version or "")[:10]
    ok = len(text) == 10 and text[4] == "-" and text[7] == "-" and text.replace("-", "").isdigit()
    return f"{text if ok else '2000-01-01'}T00:00:00.000Z"


def _write_text(path: Path, text: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)          # mkstemp makes it private; these are public files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


__all__ = ["SMALL", "SUPPRESS", "public_tables", "suppress_small", "write_coverage", "write_gpkg"]
