"""Conversions between petatps frames and SQLite rows for the GeoPackage store.

Frames go in as conforming chunks (:func:`geo.schema.conform`) and leave as per-column lists of
Python values (NA → ``None``, geometry → GeoPackage blob) for ``executemany``; fetched rows come
back as conforming frames. Geometry types are checked against the layer (Polygons are promoted
to MultiPolygons, anything else is refused).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import STORAGE_EPSG
from geo.errors import CRSError, GeometryError, InputError
from geo.schema import Layer, conform
from geo.store import gpkg_binary


def frame_from_rows(rows: list[tuple], spec: Layer) -> pd.DataFrame:
    """A conforming frame from fetched rows (columns in ``spec.all_columns`` order)."""
    raw = pd.DataFrame.from_records(rows, columns=spec.all_columns, coerce_float=False)
    if not spec.geometry:
        return conform(raw, spec.name)
    geoms = gpkg_binary.decode(raw["geometry"].tolist(), table=spec.name)
    frame = gpd.GeoDataFrame(raw.drop(columns="geometry"), geometry=gpd.GeoSeries(geoms), crs=STORAGE_EPSG)
    return conform(frame, spec.name)


def prepare_chunk(chunk: pd.DataFrame, spec: Layer) -> pd.DataFrame:
    """Conform a chunk to the layer and check its geometries (CRS, type)."""
    if spec.geometry and isinstance(chunk, gpd.GeoDataFrame) and chunk.crs is not None \
            and chunk.crs.to_epsg() != STORAGE_EPSG:
        raise CRSError(f"layer {spec.name}: geometries must be in EPSG:{STORAGE_EPSG} to be stored, got {chunk.crs}")
    frame = conform(chunk, spec.name)
    if spec.geometry:
        geoms = np.asarray(frame.geometry.values, dtype=object)
        fixed = check_geometry_type(geoms, spec)
        if fixed is not geoms:
            frame["geometry"] = gpd.GeoSeries(fixed, index=frame.index, crs=STORAGE_EPSG)
    return frame


def check_geometry_type(geoms: np.ndarray, spec: Layer) -> np.ndarray:
    """Return ``geoms`` (a copy with Polygons promoted to MultiPolygons if any); raise on other types."""
    types = shapely.get_type_id(geoms)           # -1 for None
    want = {"Point": 0, "MultiPolygon": 6}[spec.geometry]
    if spec.geometry == "MultiPolygon" and (types == 3).any():
        geoms = geoms.copy()
        geoms[types == 3] = shapely.multipolygons(geoms[types == 3][:, None])
        types = np.where(types == 3, 6, types)
    bad = np.flatnonzero((types != want) & (types != -1))
    if len(bad):
        raise GeometryError(f"layer {spec.name}: {len(bad)} geometries are not {spec.geometry} "
                            f"(first at row {bad[0]})", field="geometry", value=geoms[bad[0]].geom_type)
    return geoms


def column_values(frame: pd.DataFrame, spec: Layer, col: str) -> list:
    """One column as a list of Python values for sqlite (NA -> None, geometry -> GeoPackage blob)."""
    if col == "geometry":
        return gpkg_binary.encode(np.asarray(frame.geometry.values, dtype=object), STORAGE_EPSG)
    return py_list(frame[col].astype(spec.columns[col]))


def py_list(values) -> list:
    """Values as a list of plain Python objects (``<NA>``/NaN → ``None``), as sqlite binds them."""
    return pd.Series(values).to_numpy(dtype=object, na_value=None).tolist()


def update_frame(spec: Layer, frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Check an update's columns; return the frame with key and columns (geometry type-checked)."""
    allowed = [c for c in spec.all_columns if c not in spec.key]
    for col in columns:
        if col not in allowed:
            raise InputError(f"cannot update column {col!r} of layer {spec.name}: expected one of {allowed}",
                             field=col)
    for col in (*spec.key, *columns):
        present = isinstance(frame, gpd.GeoDataFrame) if col == "geometry" else col in frame
        if not present:
            raise InputError(f"update of layer {spec.name}: the frame lacks column {col!r}", field=col)
    out = pd.DataFrame({c: frame[c] for c in (*spec.key, *columns) if c != "geometry"}, index=frame.index)
    if "geometry" not in columns:
        return out
    if frame.crs is not None and frame.crs.to_epsg() != STORAGE_EPSG:
        raise CRSError(f"layer {spec.name}: geometries must be in EPSG:{STORAGE_EPSG} to be stored, got {frame.crs}")
    geoms = check_geometry_type(np.asarray(frame.geometry.values, dtype=object), spec)
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, index=frame.index), crs=STORAGE_EPSG)
