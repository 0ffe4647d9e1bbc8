"""Write result tables to the file format their extension names, atomically.

``.geojson`` and ``.gpkg`` keep the geometry (EPSG:4326); ``.csv`` replaces a point geometry by
``lon``/``lat`` columns (6 decimals) and neutralises spreadsheet formulas; ``.parquet`` writes
GeoParquet for geometry frames, plain Parquet otherwise. A file is written to a temporary name in
the same folder and renamed when complete, so a failed write never leaves a half file or destroys
the previous one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.errors import InputError
from geo.report import safe_cell

FORMATS = (".geojson", ".gpkg", ".csv", ".parquet")


def write_frame(frame: pd.DataFrame, path: str | Path, *, layer: str | None = None) -> Path:
    """Write ``frame`` to ``path`` by its extension (one of :data:`FORMATS`); return the path."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext not in FORMATS:
        raise InputError(f"unsupported output format {ext or '(none)'}; expected one of {', '.join(FORMATS)}",
                         file=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=ext, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        tmp.unlink()
        _WRITERS[ext](frame, tmp, layer or path.stem)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def to_lonlat_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A plain table: point geometry → ``lon``, ``lat`` (6 decimals); other geometries → WKT."""
    if not isinstance(frame, gpd.GeoDataFrame):
        return pd.DataFrame(frame)
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    geom = frame.geometry
    if geom.dropna().geom_type.eq("Point").all():
        out["lon"] = geom.x.round(6).where(geom.notna())
        out["lat"] = geom.y.round(6).where(geom.notna())
    else:
        out["wkt"] = geom.to_wkt(rounding_precision=6)
    return out


def _csv(frame: pd.DataFrame, path: Path, layer: str) -> None:
    table = to_lonlat_table(frame)
    for col in table.columns:
        if pd.api.types.is_string_dtype(table[col]) or table[col].dtype == object:
            table[col] = table[col].map(safe_cell, na_action="ignore")
    table.to_csv(path, index=False, lineterminator="\n")


def _geo(driver: str):
    def write(frame: pd.DataFrame, path: Path, layer: str) -> None:
        if not isinstance(frame, gpd.GeoDataFrame):
            raise InputError(f"{driver} output needs geometries; use .csv or .parquet for a plain table",
                             file=str(path))
        opts = {"COORDINATE_PRECISION": 6, "WRITE_BBOX": "NO"} if driver == "GeoJSON" else {}
        pyogrio.write_dataframe(frame, path, driver=driver, layer=layer, layer_options=opts or None)

    return write


def _parquet(frame: pd.DataFrame, path: Path, layer: str) -> None:
    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_parquet(path, index=False)
    else:
        pd.DataFrame(frame).to_parquet(path, index=False)


_WRITERS = {".geojson": _geo("GeoJSON"), ".gpkg": _geo("GPKG"), ".csv": _csv, ".parquet": _parquet}
