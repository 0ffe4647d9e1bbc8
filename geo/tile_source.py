"""Tiles of a store, cut by the right builder: PostGIS SQL for a PostGIS store, :mod:`geo.tiles` otherwise.

Both builders select the same features for every tile (edge rule, 64/4096 buffer, TPS aggregated
below ``aggregate_below``, feature cap; see :mod:`geo.tiles`), so a tile has the same feature ids
whichever store serves it. Kelurahan tiles carry the TPS statistics ``tps_count``, ``dpt_total``
and ``dpt_known`` from both.

- :func:`tile_bytes` / :func:`tile_data`: one tile on demand (the web server's ``/tiles``). A
  PostGIS store answers with ``ST_AsMVT``/``ST_AsGeoJSON``; for any other store a
  :class:`geo.tiles.TileIndex` is built once per (store, layer, options, area code) and rebuilt
  when the store's ``data_version`` changes.
- :func:`pyramid`: the pre-generated ``tiles/<layer>/{z}/{x}/{y}.<fmt>`` folders and their TileJSON
  (the layout of :func:`geo.export.export_tiles`), from either store.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path

import orjson

from geo import atomic, export, geojson, tiles
from geo.errors import InputError, NotFoundError
from geo.report import Problem, Report
from geo.schema import LAYERS
from geo.store.base import Store

log = logging.getLogger(__name__)

TILE_LAYERS = tuple(name for name in geojson.PROPERTIES if LAYERS[name].geometry)
FORMATS = export.FORMATS
PYRAMID_LAYERS = ("tps", "kelurahan", "rw")


def tile_bytes(store: Store, layer: str, z: int, x: int, y: int, fmt: str = "mvt",
               options: tiles.TileOptions | None = None, *, kode: str | None = None) -> bytes | None:
    """One tile of a public layer of ``store`` as bytes; ``None`` when it is empty.

    Parameters
    ----------
    store : Store
        A :class:`geo.store.postgis.PostgisStore` (tiles cut by SQL) or any other store.
    layer : str
        ``tps``, ``kelurahan``, ``kecamatan``, ``kota``, ``rw`` or ``rt``; another name is a
        :class:`geo.errors.NotFoundError`.
    z, x, y : int
        XYZ tile; outside the grid (``0 <= x, y < 2**z``, ``z <= 24``) is an :class:`InputError`.
    fmt : {"mvt", "geojson"}
    options : TileOptions, optional
        Aggregation and feature cap (default :class:`geo.tiles.TileOptions`).
    kode : str, optional
        Only the features under this area code prefix.
    """
    if _is_postgis(store):  # the bytes only: no selection ids asked of the database
        _check(layer, z, x, y, fmt)
        return store.tile(layer, z, x, y, fmt, options or tiles.TileOptions(), kode=kode)
    return tile_data(store, layer, z, x, y, fmt, options, kode=kode)[0]


def tile_data(store: Store, layer: str, z: int, x: int, y: int, fmt: str = "mvt",
              options: tiles.TileOptions | None = None, *,
              kode: str | None = None) -> tuple[bytes | None, tiles.TileSelection]:
    """:func:`tile_bytes` with the tile's :class:`geo.tiles.TileSelection`."""
    _check(layer, z, x, y, fmt)
    options = options or tiles.TileOptions()
    if _is_postgis(store):
        return store.tile_data(layer, z, x, y, fmt, options, kode=kode)
    index = _INDEXES.get(store, layer, options, kode)
    sel = index.select(z, x, y)
    return index.encode(sel, fmt), sel


def pyramid(store: Store, out_dir: str | Path, *, layers: Sequence[str] = PYRAMID_LAYERS,
            data_version: str | None = None, options: dict[str, tiles.TileOptions] | None = None,
            formats: Sequence[str] = FORMATS, attribution: str = "", kode: str | None = None) -> Report:
    """Write the tile pyramid and TileJSON of each layer under ``out_dir/tiles/<layer>``.

    Parameters
    ----------
    store : Store
        PostGIS (one SQL query per tile and format) or any other store (an in-memory index).
    layers : sequence of str
        Tiled layers (default tps, kelurahan, rw), each at ``options[layer].zooms`` or else
        :data:`geo.export.LAYER_ZOOMS`.
    data_version : str, optional
        Versions the TileJSON URLs; default ``store.data_version()``.
    formats : sequence of str
        ``"geojson"`` and/or ``"mvt"``.
    attribution : str
        Attribution (HTML) written into the TileJSON.
    kode : str, optional
        Only the features under this area code prefix.

    Returns
    -------
    Report
        Figures per layer as :func:`geo.export.export_tiles` gives them (``<layer>_tiles_per_zoom``,
        ``<layer>_tiles_written``, ``<layer>_capped_tiles``, ``files``, ``bytes``); a warning per
        tile over its feature cap and per TPS without a location. Empty tiles are not written.
    """
    bad = [f for f in formats if f not in FORMATS] + [layer for layer in layers if layer not in TILE_LAYERS]
    if bad:
        raise InputError(f"pyramid: formats must be among {FORMATS} and layers among {TILE_LAYERS}", value=bad[0])
    version = data_version or store.data_version()
    if any(c in version for c in "\"'<>&?# /\\"):
        raise InputError("pyramid: data_version must be a token without quotes, spaces or URL characters",
                         value=version)
    out = Path(out_dir)
    report = Report(kind="export tiles", source=str(out))
    report.note(f"data version {version}; tiles cut by {'PostGIS' if _is_postgis(store) else 'geo.tiles'}")
    with atomic.staged(out) as stage:     # swapped in when complete: a failure keeps the previous tiles
        for layer in layers:
            opts = (options or {}).get(layer) or tiles.TileOptions(zooms=export.LAYER_ZOOMS.get(layer, tiles.DEFAULT_ZOOMS))
            source = _PostgisLayer(store, layer, opts, kode) if _is_postgis(store) else _MemoryLayer(
                _INDEXES.get(store, layer, opts, kode))
            folder = stage.replace_folder(f"tiles/{layer}")   # replaced whole: empty tiles do not linger
            _write_layer(source, folder, formats, report)
            for fmt in formats:
                doc = export.tilejson(source, fmt=fmt, data_version=version, attribution=attribution)
                name = "tilejson.json" if fmt == "mvt" else "tilejson-geojson.json"
                _write(folder / name, orjson.dumps(doc, option=orjson.OPT_INDENT_2), report)
    if "tps" in layers:
        tps = store.read("tps", kode=kode)
        missing = tps.loc[tps.geometry.isna() | tps.geometry.is_empty, "kode_tps"]
        report.warn(Problem("tiles/tps", None, "geometry", str(k), "no location yet: not in the tiles") for k in missing)
    log.info("tile pyramid of %s written to %s", ", ".join(layers), out)
    return report.finish()


# --- the two builders behind one face -----------------------------------------------------------

@dataclasses.dataclass
class _MemoryLayer:
    """A :class:`geo.tiles.TileIndex`: one selection per tile, encoded in each format."""

    index: tiles.TileIndex

    @property
    def name(self) -> str:
        return self.index.name

    @property
    def options(self) -> tiles.TileOptions:
        return self.index.options

    def bounds(self):
        return self.index.bounds()

    def tiles(self, z: int) -> list[tuple[int, int]]:
        return self.index.tiles(z)

    def cut(self, z: int, x: int, y: int, formats: Sequence[str]):
        sel = self.index.select(z, x, y)
        return sel, {fmt: self.index.encode(sel, fmt) for fmt in formats}


@dataclasses.dataclass
class _PostgisLayer:
    """A layer of a PostGIS store: every tile and format is one SQL query."""

    store: Store
    name: str
    options: tiles.TileOptions
    kode: str | None

    def bounds(self):
        return self.store.tile_bounds(self.name, kode=self.kode)

    def tiles(self, z: int) -> list[tuple[int, int]]:
        return self.store.tiles(self.name, z, self.options, kode=self.kode)

    def cut(self, z: int, x: int, y: int, formats: Sequence[str]):
        sel, data = None, {}
        for fmt in formats:
            data[fmt], sel = self.store.tile_data(self.name, z, x, y, fmt, self.options, kode=self.kode)
        return sel, data


class _IndexCache:
    """In-memory tile indexes per store (weakly held), rebuilt when the store's data version changes."""

    def __init__(self):
        self._lock = threading.Lock()
        self._stores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    def get(self, store: Store, layer: str, options: tiles.TileOptions, kode: str | None) -> tiles.TileIndex:
        version = store.data_version()
        key = (layer, options, kode)
        with self._lock:  # one build at a time: concurrent first requests wait instead of building twice
            entries = self._stores.setdefault(store, {})
            found = entries.get(key)
            if found is None or found[0] != version:
                entries[key] = found = (version, _build_index(store, layer, options, kode))
            return found[1]


_INDEXES = _IndexCache()


def _build_index(store: Store, layer: str, options: tiles.TileOptions, kode: str | None) -> tiles.TileIndex:
    log.info("building the %s tile index of %s", layer, store.describe())
    if layer == "tps":
        return tiles.TileIndex.from_frame(store.read("tps", kode=kode), "tps", areas=store.read("kelurahan", kode=kode),
                                          options=options)
    frame = store.read(layer, kode=kode)
    if layer == "kelurahan":
        frame = geojson.kelurahan_stats(frame, store.read("tps", kode=kode))
    return tiles.TileIndex.from_frame(frame, layer, options=options)


# --- helpers --------------------------------------------------------------------------------------

def _is_postgis(store: Store) -> bool:
    return getattr(store, "kind", None) == "postgis"


def _check(layer: str, z: int, x: int, y: int, fmt: str) -> None:
    if layer not in TILE_LAYERS:
        raise NotFoundError(f"no tile layer {layer!r}; expected one of {', '.join(TILE_LAYERS)}")
    if fmt not in FORMATS:
        raise InputError(f"tile format must be one of {', '.join(FORMATS)}", field="format", value=fmt)
    try:
        tiles.check_tile(z, x, y)
    except ValueError as exc:
        raise InputError(str(exc), field="z/x/y", value=f"{z}/{x}/{y}") from None


def _write_layer(source, folder: Path, formats: Sequence[str], report: Report) -> None:
    per_zoom, written, capped = {}, dict.fromkeys(formats, 0), []
    for z in sorted(source.options.zooms):
        for x, y in source.tiles(z):
            sel, data = source.cut(z, x, y, formats)
            if sel.capped:
                how = "served as grid aggregates" if sel.kind == "grid" else "features after the cap left out"
                capped.append(Problem(f"tiles/{source.name}/{z}/{x}/{y}", None, "features", str(sel.candidates),
                                      f"tile feature cap {source.options.feature_cap} hit: {how}"))
            for fmt, body in data.items():
                if body is not None:
                    _write(folder / str(z) / str(x) / f"{y}.{fmt}", body, report)
                    written[fmt] += 1
            per_zoom[str(z)] = per_zoom.get(str(z), 0) + 1
    report.warn(capped)
    report.figures[f"{source.name}_tiles_per_zoom"] = per_zoom
    report.figures[f"{source.name}_tiles_written"] = written
    report.figures[f"{source.name}_capped_tiles"] = len(capped)


def _write(path: Path, data: bytes, report: Report) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    report.figures["bytes"] = report.figures.get("bytes", 0) + len(data)
    report.figures["files"] = report.figures.get("files", 0) + 1
