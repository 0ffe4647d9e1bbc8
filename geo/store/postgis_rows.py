"""Conversions around the PostGIS store that involve no SQL: COPY text, fetched rows, tile plans.

:mod:`geo.store.postgis` holds every SQL statement; this module turns frames into the CSV text its
``COPY`` reads, fetched rows back into conforming frames, and prepares and finishes its tile
queries (checks and bound parameters from z/x/y and :class:`geo.tiles.TileOptions`, property lists,
:class:`geo.tiles.TileSelection` results) so both backends share :mod:`geo.tiles` semantics.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import shapely

from geo import geojson, tiles
from geo.crs import STORAGE_EPSG
from geo.errors import InputError, NotFoundError
from geo.schema import LAYERS, conform

_CSV = pacsv.WriteOptions(include_header=False, quoting_style="all_valid", batch_size=65_536)
_AREA_CODE = re.compile(r"\d{1,10}")
# Tiled layers: the public layers with a geometry (never voters).
TILE_LAYERS = tuple(name for name in geojson.PROPERTIES if LAYERS[name].geometry)
AGGREGATE_PROPERTIES = {"kelurahan": ("dpt_known", "dpt_total", "kind", "kode_kel", "nama", "tps_count"),
                        "grid": ("dpt_known", "dpt_total", "kind", "tps_count")}
_SLACK = 1e-6  # index prefilters reach this many tile widths past the exact test, as geo.tiles does


# -- COPY and fetched rows -------------------------------------------------------------------------
def csv_bytes(frame: pd.DataFrame, layer: str) -> pa.Buffer:
    """CSV bytes of a conforming frame in column order: nulls bare, every value quoted, hex EWKB."""
    spec = LAYERS[layer]
    table = pa.Table.from_pandas(pd.DataFrame({c: frame[c] for c in spec.columns}), preserve_index=False)
    if spec.geometry:
        geoms = np.array(frame.geometry.values, dtype=object)  # a copy: the caller's frame stays as it is
        if spec.geometry == "MultiPolygon":  # promote Polygons, as every loader would have to
            polygons = shapely.get_type_id(geoms) == shapely.GeometryType.POLYGON
            geoms[polygons] = shapely.multipolygons(geoms[polygons], indices=np.arange(polygons.sum()))
        geoms = shapely.set_srid(geoms, STORAGE_EPSG)
        table = table.append_column("geometry", pa.array(shapely.to_wkb(geoms, hex=True, include_srid=True),
                                                         type=pa.string()))
    sink = pa.BufferOutputStream()
    pacsv.write_csv(table, sink, write_options=_CSV)
    return sink.getvalue()


def to_frame(rows: list, layer: str) -> pd.DataFrame:
    """A conforming frame of fetched rows (``spec.all_columns`` order, geometry as WKB)."""
    spec = LAYERS[layer]
    frame = pd.DataFrame(rows, columns=spec.all_columns) if rows else pd.DataFrame(columns=spec.all_columns)
    if spec.geometry:
        wkb = np.asarray(frame.pop("geometry").to_numpy(), dtype=object)
        geoms = shapely.from_wkb(wkb) if len(wkb) else np.array([], dtype=object)
        frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index, crs=STORAGE_EPSG))
    return conform(frame, layer)


def timestamp(value: Any) -> dt.datetime | None:
    """An ISO timestamp string as a datetime (``None`` for anything else)."""
    try:
        return dt.datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def json_text(value: Any) -> str:
    """JSON text of a report for a JSONB column (numpy values and odd keys allowed)."""
    options = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(value, option=options, default=str).decode()


def check_area_code(kode: str | None, what: str) -> None:
    """Refuse anything but 1-10 digits as an area code prefix (``None`` means no filter)."""
    if kode is not None and (not isinstance(kode, str) or not _AREA_CODE.fullmatch(kode)):
        raise InputError(f"{what}: area code must be 1-10 digits (e.g. 3172)", field="kode", value=kode)


def scope_column(layer: str) -> str:
    """The column an area code prefix is matched on: ``kode`` for kota/kecamatan/kelurahan, else ``kode_kel``."""
    return "kode" if layer in ("kota", "kecamatan", "kelurahan") else "kode_kel"


# -- tiles -----------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TilePlan:
    """One tile request, checked: what to select (``source``) and the bound parameters."""

    layer: str
    z: int
    x: int
    y: int
    fmt: str
    options: tiles.TileOptions
    kode: str | None

    @property
    def points(self) -> bool:
        return self.layer == "tps"

    @property
    def source(self) -> str:
        return source_of(self.layer, self.z, self.options)

    def params(self, source: str) -> dict[str, Any]:
        """Bound parameters of the tile query over ``source`` (tile units: one tile width = 1)."""
        z, x, y, opts = self.z, self.x, self.y, self.options
        b = opts.buffer / opts.extent
        # The index prefilter of a grid reaches one cell further: every point of a cell that can
        # place its aggregate in the buffered tile is needed for the cell's count and mean.
        margin = b + _SLACK + (1.0 / opts.grid_cells if source == "grid" else 0.0)
        return {"z": z, "x": x, "y": y, "n": float(2 ** z), "b": b, "x0": x - b, "x1": x + 1 + b,
                "y0": y - b, "y1": y + 1 + b, "ez": z, "ex": x, "ey": y, "em": margin, "kode": self.kode,
                "cells": opts.grid_cells, "cap": opts.feature_cap, "keep": not self.points,
                "name": self.layer, "extent": opts.extent, "buffer": opts.buffer}


def source_of(layer: str, z: int, options: tiles.TileOptions) -> str:
    """``features``, or for TPS below ``aggregate_below`` the aggregate kind (``kelurahan``/``grid``)."""
    if layer == "tps" and z < options.aggregate_below:
        return options.aggregate_by
    return "features"


def tile_plan(layer: str, z: int, x: int, y: int, fmt: str, options: tiles.TileOptions | None,
              kode: str | None) -> TilePlan:
    """Check a tile request; bad z/x/y or format is an :class:`InputError`, an unknown layer NotFound."""
    if layer not in TILE_LAYERS:
        raise NotFoundError(f"no tile layer {layer!r}; expected one of {', '.join(TILE_LAYERS)}")
    if fmt not in ("mvt", "geojson"):
        raise InputError("tile format must be 'mvt' or 'geojson'", field="format", value=fmt)
    try:
        tiles.check_tile(z, x, y)
    except ValueError as exc:
        raise InputError(str(exc), field="z/x/y", value=f"{z}/{x}/{y}") from None
    check_area_code(kode, f"tile {layer}")
    return TilePlan(layer, int(z), int(x), int(y), fmt, options or tiles.TileOptions(), kode)


def enumeration_params(layer: str, z: int, options: tiles.TileOptions, kode: str | None) -> dict[str, Any]:
    """Parameters listing the non-empty tiles of zoom ``z``: the prefilter spans the whole world."""
    tiles.check_tile(z, 0, 0)
    check_area_code(kode, f"tiles {layer}")
    b = options.buffer / options.extent
    return {"z": z, "n": float(2 ** z), "b": b, "ez": 0, "ex": 0, "ey": 0, "em": 0.0, "kode": kode,
            "cells": options.grid_cells}


def property_names(layer: str, source: str) -> tuple[str, ...]:
    """Tile properties of a source, sorted (as :func:`geo.geojson.property_dicts` writes them)."""
    if source != "features":
        return AGGREGATE_PROPERTIES[source]
    names = tiles.TILE_PROPERTIES.get(layer) or geojson.PROPERTIES[layer] + (
        geojson.STAT_COLUMNS if layer == "kelurahan" else ())
    return tuple(sorted(names))


def float_columns(layer: str) -> frozenset[str]:
    """Float columns of a layer: their tile values are rounded to 0.1, as in :mod:`geo.geojson`."""
    return frozenset(c for c, dtype in LAYERS[layer].columns.items() if dtype == "float64")


def selection(plan: TilePlan, kind: str, ids: Sequence[int], candidates: int) -> tiles.TileSelection:
    """The :class:`geo.tiles.TileSelection` of a tile served from ``kind`` features."""
    return tiles.TileSelection(plan.layer, plan.z, plan.x, plan.y, tuple(int(i) for i in ids), kind,
                               candidates > plan.options.feature_cap, int(candidates))


def tiles_of_rows(rows: Sequence[tuple]) -> list[tuple[int, int]]:
    """``(x, y)`` pairs of fetched rows, as ints, in the fetched order."""
    return [(int(x), int(y)) for x, y in rows]
