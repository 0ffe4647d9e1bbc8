"""Downloads of one area for officers: the TPS table as CSV and the area's layers as a GeoPackage.

Only public layer columns plus the TPS quality ``flags`` are written; voter-level data never is.
Output is deterministic (rows in key order). CSV text cells that a spreadsheet would run as a
formula are neutralised (:func:`geo.report.safe_cell`).
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely

from geo import geojson
from geo.report import safe_cell

TPS_CSV_COLUMNS = [*geojson.PROPERTIES["tps"], "flags", "lat", "lon"]


def tps_csv(tps: gpd.GeoDataFrame) -> bytes:
    """The TPS rows as UTF-8 CSV (with ``lat``/``lon`` in degrees, 6 decimals; empty when unplaced)."""
    frame = tps.sort_values("kode_tps", kind="mergesort")
    geom = frame.geometry.values
    placed = ~(shapely.is_missing(geom) | shapely.is_empty(geom))
    out = pd.DataFrame({c: frame[c] for c in TPS_CSV_COLUMNS if c in frame})
    out["lat"] = pd.Series(shapely.get_y(geom), index=frame.index).where(placed).round(6)
    out["lon"] = pd.Series(shapely.get_x(geom), index=frame.index).where(placed).round(6)
    text_cols = out.select_dtypes(include=["string", "object"]).columns
    for c in text_cols:
        out[c] = out[c].astype(object).map(safe_cell)
    buf = io.StringIO()
    out.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def area_gpkg(layers: dict[str, gpd.GeoDataFrame]) -> bytes:
    """A GeoPackage (bytes) with one layer per entry, public columns only (TPS also ``flags``).

    Parameters
    ----------
    layers : dict of str to GeoDataFrame
        Layer name (``tps``, ``kelurahan``, ``rw``, ...) → rows in EPSG:4326. Empty layers are skipped.
    """
    with tempfile.TemporaryDirectory(prefix="petatps-extract-") as tmp:
        path = Path(tmp) / "area.gpkg"
        for name, frame in layers.items():
            if not len(frame):
                continue
            key = geojson.key_of(name)
            cols = [c for c in (*geojson.PROPERTIES[name], *(("flags",) if name == "tps" else ()),
                                *geojson.STAT_COLUMNS) if c in frame]
            part = frame.sort_values(key, kind="mergesort")[cols + [frame.geometry.name]]
            pyogrio.write_dataframe(part, path, layer=name, driver="GPKG", append=path.exists())
        if not path.exists():
            return b""
        return path.read_bytes()
