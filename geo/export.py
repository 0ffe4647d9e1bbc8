"""Write maps, GeoJSON, tiles and the static bundle to a folder; each export returns a Report.

Layout under ``out_dir`` (every URL inside is relative, so the folder can be hosted as is)::

    maps/overview.html  maps/kelurahan/<kode>.html  [maps/tps/<kode_tps>.html]
    geojson/{tps,kelurahan,rw}.geojson
    tiles/<layer>/{z}/{x}/{y}.geojson|.mvt  tiles/<layer>/tilejson.json  tiles/<layer>/tilejson-geojson.json
    vendor/ (Leaflet + plugins, with licences)  embed.html  petatps-embed.js  manifest.json

Exports are deterministic: the same frames and ``data_version`` give byte-identical files. Each
export is built in a staging folder and swapped in only when complete (:mod:`geo.atomic`): a failed
export (a full disk) leaves the previous one intact. The folders an export manages
(``maps/kelurahan``, ``maps/tps``, ``tiles/<layer>``, ``vendor``) are replaced whole, so tiles that
became empty do not linger; other files in ``out_dir`` are never touched. Tile URLs carry
``?v=<data_version>`` so caches are invalidated when the data change.
"""

from __future__ import annotations

import html
import importlib.util
import logging
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import orjson

from geo import atomic, geojson, maps, tiles
from geo.errors import ConfigError
from geo.report import MAX_LISTED, Problem, Report

log = logging.getLogger(__name__)

FORMATS = ("geojson", "mvt")
# Default tile zooms per layer: TPS over the full range, areas where their outlines matter.
LAYER_ZOOMS = {"tps": tiles.DEFAULT_ZOOMS, "kelurahan": tuple(range(10, 15)), "rw": tuple(range(13, 16))}


def vendor_dir() -> Path:
    """The vendored browser assets installed with the package (``web/static/vendor``)."""
    spec = importlib.util.find_spec("web")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the petatps 'web' package is not installed: cannot find the vendored map assets")
    path = Path(next(iter(spec.submodule_search_locations))) / "static" / "vendor"
    if not (path / "leaflet" / "leaflet.js").is_file():
        raise ConfigError(f"vendored map assets missing in {path}; run scripts/vendor-assets")
    return path


def export_geojson(out_dir: str | Path, *, tps: gpd.GeoDataFrame | None = None,
                   kelurahan: gpd.GeoDataFrame | None = None, rw: gpd.GeoDataFrame | None = None,
                   data_version: str) -> Report:
    """Write ``geojson/<layer>.geojson`` for each layer given (kelurahan with TPS statistics)."""
    report = _start("export geojson", out_dir, data_version)
    with atomic.staged(out_dir) as stage:
        _geojson(stage.root, report, tps=tps, kelurahan=kelurahan, rw=rw)
    return report.finish()


def _geojson(out: Path, report: Report, *, tps, kelurahan, rw) -> None:
    for layer, frame in _layers(tps=tps, kelurahan=kelurahan, rw=rw):
        extra = ()
        if layer == "kelurahan" and tps is not None:
            frame, extra = geojson.kelurahan_stats(frame, tps), geojson.STAT_COLUMNS
        data = geojson.feature_collection(frame, layer, extra=extra)
        _write(out / "geojson" / f"{layer}.geojson", data, report)
        report.rows_read += len(frame)
        report.rows_loaded += len(frame)
        report.figures[f"{layer}_features"] = len(frame)
    _warn_unlocated(report, tps, "geojson/tps.geojson", "no location yet: written with a null geometry")


def export_maps(out_dir: str | Path, *, kelurahan: gpd.GeoDataFrame, tps: gpd.GeoDataFrame,
                rw: gpd.GeoDataFrame | None = None, rt: gpd.GeoDataFrame | None = None, data_version: str,
                base_map: maps.BaseMap = maps.OSM, kelurahan_pages: bool = True,
                tps_pages: bool = False) -> Report:
    """Write the overview, one page per kelurahan with TPS and optionally one page per TPS.

    Pages load their scripts from ``vendor/`` (copied alongside). ``tps_pages`` is off by default:
    30,766 single-TPS pages are ~300 MB; the kelurahan pages already show every TPS.
    """
    report = _start("export maps", out_dir, data_version)
    with atomic.staged(out_dir) as stage:
        _maps(stage, report, kelurahan=kelurahan, tps=tps, rw=rw, rt=rt, data_version=data_version,
              base_map=base_map, kelurahan_pages=kelurahan_pages, tps_pages=tps_pages)
    return report.finish()


def _maps(stage: atomic.Stage, report: Report, *, kelurahan, tps, rw, rt, data_version, base_map,
          kelurahan_pages=True, tps_pages=False) -> None:
    out = stage.root
    _copy_vendor(stage, report)
    link = "kelurahan/{kode}.html" if kelurahan_pages else None
    page = maps.overview_map(kelurahan, tps, base_map=base_map, assets="../vendor/", kelurahan_pages=link,
                             data_version=data_version)
    _write(out / "maps" / "overview.html", maps.render_html(page).encode(), report)
    report.figures["overview_bytes"] = (out / "maps" / "overview.html").stat().st_size
    pages = 1
    if kelurahan_pages:
        stage.replace_folder("maps/kelurahan")
        for kode in sorted(set(kelurahan["kode"].dropna())):  # every kelurahan: the overview links them all
            m = maps.kelurahan_map(kode, kelurahan, tps, rw=rw, rt=rt, base_map=base_map, data_version=data_version)
            _write(out / "maps" / "kelurahan" / f"{kode}.html", maps.render_html(m).encode(), report)
            pages += 1
    if tps_pages:
        stage.replace_folder("maps/tps")
        for kode_tps in sorted(tps["kode_tps"].dropna()):
            m = maps.tps_map(kode_tps, tps, kelurahan=kelurahan, base_map=base_map, data_version=data_version)
            _write(out / "maps" / "tps" / f"{kode_tps}.html", maps.render_html(m).encode(), report)
            pages += 1
    report.rows_read = report.rows_loaded = len(tps)
    report.figures["pages"] = pages
    _warn_unlocated(report, tps, "maps", "no location yet: listed in the tables, not drawn")


def export_tiles(out_dir: str | Path, *, tps: gpd.GeoDataFrame | None = None,
                 kelurahan: gpd.GeoDataFrame | None = None, rw: gpd.GeoDataFrame | None = None,
                 data_version: str, options: dict[str, tiles.TileOptions] | None = None,
                 formats: Sequence[str] = FORMATS, attribution: str = "") -> Report:
    """Pre-generate the tile pyramid of each layer given, with a TileJSON 3.0.0 per layer and format.

    Parameters
    ----------
    options : dict of layer name to TileOptions, optional
        Per-layer zooms, aggregation and feature cap; defaults use :data:`LAYER_ZOOMS`.
    formats : sequence of str
        ``"geojson"`` and/or ``"mvt"``.
    attribution : str
        Attribution (HTML) written into the TileJSON.

    Tiles over their feature cap are reported as warnings (see :mod:`geo.tiles`); empty tiles
    are not written.
    """
    report = _start("export tiles", out_dir, data_version)
    with atomic.staged(out_dir) as stage:
        _tiles(stage, report, tps=tps, kelurahan=kelurahan, rw=rw, data_version=data_version, options=options,
               formats=formats, attribution=attribution)
    return report.finish()


def _tiles(stage: atomic.Stage, report: Report, *, tps, kelurahan, rw, data_version, options, formats,
           attribution) -> None:
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ValueError(f"unknown tile format {bad[0]!r}; expected one of {FORMATS}")
    for layer, frame in _layers(tps=tps, kelurahan=kelurahan, rw=rw):
        opts = (options or {}).get(layer) or tiles.TileOptions(zooms=LAYER_ZOOMS.get(layer, tiles.DEFAULT_ZOOMS))
        index = tiles.TileIndex.from_frame(frame, layer, areas=kelurahan if layer == "tps" else None, options=opts)
        _write_pyramid(index, stage.replace_folder(f"tiles/{layer}"), formats, report)
        for fmt in formats:
            doc = tilejson(index, fmt=fmt, data_version=data_version, attribution=attribution)
            name = "tilejson.json" if fmt == "mvt" else "tilejson-geojson.json"
            _write(stage.root / "tiles" / layer / name, orjson.dumps(doc, option=orjson.OPT_INDENT_2), report)
        report.rows_read += len(frame)
        report.rows_loaded += len(frame)
    _warn_unlocated(report, tps, "tiles/tps", "no location yet: not in the tiles")


def export_bundle(out_dir: str | Path, *, tps: gpd.GeoDataFrame, kelurahan: gpd.GeoDataFrame,
                  rw: gpd.GeoDataFrame | None = None, rt: gpd.GeoDataFrame | None = None, data_version: str,
                  base_map: maps.BaseMap = maps.OSM, tile_options: dict[str, tiles.TileOptions] | None = None,
                  formats: Sequence[str] = FORMATS) -> Report:
    """Everything a static web server can host as is: maps, GeoJSON, tiles, TileJSON, vendored
    assets, ``embed.html`` (copy-paste snippets and a live Leaflet example on the GeoJSON tiles),
    ``petatps-embed.js`` and ``manifest.json``."""
    report = _start("export bundle", out_dir, data_version)
    parts = {kind: _start(f"export {kind}", out_dir, data_version) for kind in ("maps", "geojson", "tiles")}
    with atomic.staged(out_dir, last=("manifest.json",)) as stage:
        out = stage.root
        _maps(stage, parts["maps"], kelurahan=kelurahan, tps=tps, rw=rw, rt=rt, data_version=data_version,
              base_map=base_map)
        _geojson(out, parts["geojson"], tps=tps, kelurahan=kelurahan, rw=rw)
        _tiles(stage, parts["tiles"], tps=tps, kelurahan=kelurahan, rw=rw, data_version=data_version,
               options=tile_options, formats=formats, attribution=base_map.attribution)
        zooms = ((tile_options or {}).get("tps") or tiles.TileOptions(zooms=LAYER_ZOOMS["tps"])).zooms
        _write(out / "petatps-embed.js", EMBED_JS.encode(), report)
        _write(out / "embed.html", embed_html(data_version, base_map, min(zooms), max(zooms),
                                              _center(tps)).encode(), report)
        for kind, part in parts.items():
            for reason, n in part.warning_counts.items():
                report.warning_counts[reason] += n
            report.warnings.extend(part.warnings[: MAX_LISTED - len(report.warnings)])
            report.figures[kind] = part.figures
        report.rows_read = report.rows_loaded = len(tps)
        manifest = {"data_version": data_version, "generator": "petatps", "figures": report.figures}
        _write(out / "manifest.json", orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS),
               report)
    log.info("bundle %s written to %s (%d warnings)", data_version, out_dir, sum(report.warning_counts.values()))
    return report.finish()


def _center(tps: gpd.GeoDataFrame) -> tuple[float, float]:
    located = tps[~(tps.geometry.isna() | tps.geometry.is_empty)]
    if not len(located):
        return maps.JAKARTA
    west, south, east, north = located.total_bounds
    return (round(float(south + north) / 2, 6), round(float(west + east) / 2, 6))


def tilejson(index: tiles.TileIndex, *, fmt: str, data_version: str, attribution: str = "") -> dict:
    """The TileJSON 3.0.0 document of one tiled layer; ``tiles`` is relative to the document."""
    opts = index.options
    west, south, east, north = index.bounds() or (-180.0, -85.0511, 180.0, 85.0511)
    doc = {
        "tilejson": "3.0.0",
        "name": f"petatps {index.name}",
        "description": (f"petatps layer {index.name} ({fmt}); data version {data_version}. A missing tile is "
                        f"empty. Below zoom {opts.aggregate_below} TPS are aggregated ({opts.aggregate_by}); "
                        f"at most {opts.feature_cap} features per tile."),
        "version": "1.0.0",
        "attribution": attribution,
        "scheme": "xyz",
        "tiles": [f"{{z}}/{{x}}/{{y}}.{fmt}?v={data_version}"],
        "minzoom": min(opts.zooms),
        "maxzoom": max(opts.zooms),
        "bounds": [round(west, 6), round(south, 6), round(east, 6), round(north, 6)],
        "center": [round((west + east) / 2, 6), round((south + north) / 2, 6), min(opts.zooms) + 1],
    }
    if fmt == "mvt":
        doc["vector_layers"] = [{"id": index.name, "minzoom": min(opts.zooms), "maxzoom": max(opts.zooms),
                                 "fields": _fields(index.name)}]
    return doc


# --- internals ----------------------------------------------------------------------------------

def _write_pyramid(index: tiles.TileIndex, folder: Path, formats: Sequence[str], report: Report) -> None:
    counts: dict[str, int] = {}
    capped = []
    written = dict.fromkeys(formats, 0)
    for z, x, y in index.pyramid():
        sel = index.select(z, x, y)
        if sel.capped:
            capped.append(Problem(f"tiles/{index.name}/{z}/{x}/{y}", None, "features", str(sel.candidates),
                                  f"tile feature cap {index.options.feature_cap} hit: "
                                  + ("served as grid aggregates" if sel.kind == "grid" else "features after the cap left out")))
        for fmt in formats:
            data = index.encode(sel, fmt)
            if data is not None:
                _write(folder / str(z) / str(x) / f"{y}.{fmt}", data, report, count=False)
                written[fmt] += 1
        counts[str(z)] = counts.get(str(z), 0) + 1
    report.warn(capped)
    report.figures[f"{index.name}_tiles_per_zoom"] = counts
    report.figures[f"{index.name}_tiles_written"] = written
    report.figures[f"{index.name}_capped_tiles"] = len(capped)
    report.figures["files"] = report.figures.get("files", 0) + sum(written.values())


def _fields(layer: str) -> dict[str, str]:
    base = tiles.TILE_PROPERTIES.get(layer, geojson.PROPERTIES[layer])
    fields = {c: f"{c} (see geo.geojson)" for c in base}
    if layer == "tps":
        fields.update({"kind": "aggregate kind at low zoom: kelurahan or grid", "tps_count": "TPS in the aggregate",
                       "dpt_total": "sum of the known DPT", "dpt_known": "TPS with a known DPT",
                       "nama": "kelurahan name (kelurahan aggregates)"})
    return dict(sorted(fields.items()))


def _layers(**frames: gpd.GeoDataFrame | None) -> Iterable[tuple[str, gpd.GeoDataFrame]]:
    return [(name, frame) for name, frame in frames.items() if frame is not None]


def _start(kind: str, out_dir: str | Path, data_version: str) -> Report:
    if not data_version or any(c in data_version for c in "\"'<>&?# /\\"):
        raise ValueError(f"data_version must be a non-empty token without quotes, spaces or URL "
                         f"characters, got {data_version!r}")
    report = Report(kind=kind, source=str(Path(out_dir)))
    report.note(f"data version {data_version}")
    return report


def _write(path: Path, data: bytes, report: Report, count: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    report.figures["bytes"] = report.figures.get("bytes", 0) + len(data)
    if count:
        report.figures["files"] = report.figures.get("files", 0) + 1


def _copy_vendor(stage: atomic.Stage, report: Report) -> None:
    folder = stage.replace_folder("vendor")
    shutil.copytree(vendor_dir(), folder, dirs_exist_ok=True)
    report.figures["vendor_files"] = sum(1 for p in folder.rglob("*") if p.is_file())


def _warn_unlocated(report: Report, tps: gpd.GeoDataFrame | None, where: str, reason: str) -> None:
    if tps is None:
        return
    missing = tps[tps.geometry.isna() | tps.geometry.is_empty]
    report.warn(Problem(where, None, "geometry", str(k), reason) for k in missing["kode_tps"])


# --- embedding ----------------------------------------------------------------------------------

EMBED_JS = r"""/* petatps embed helper (MIT): a Leaflet layer of petatps GeoJSON tiles, and a ready map. */
(function () {
  "use strict";
  function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }
  function pad(n) { return ("00" + n).slice(-3); }
  function popup(p) {
    if (p.kind) {
      return "<b>" + (p.nama ? "Kelurahan " + esc(p.nama) : "TPS") + "</b><br>TPS: " + p.tps_count +
        "<br>DPT: " + p.dpt_total + " (" + p.dpt_known + " TPS)";
    }
    return "<b>TPS " + pad(p.no_tps) + "</b> (" + esc(p.kode_tps) + ")<br>Alamat / Address: " +
      esc(p.alamat || "-") + "<br>DPT: " + (p.dpt == null ? "tidak diketahui / unknown" : p.dpt) +
      "<br>Lokasi / Location: " + esc(p.location_source || "?") +
      (p.precision_m ? " (\u00b1 " + Math.round(p.precision_m) + " m)" : "");
  }
  function point(f, latlng) {
    var p = f.properties;
    if (p.kind) {
      return L.circleMarker(latlng, {radius: 6 + Math.sqrt(p.tps_count), color: "#bd0026", weight: 1,
        fillOpacity: 0.5}).bindTooltip(String(p.tps_count), {permanent: false});
    }
    var t = "TPS " + pad(p.no_tps) + (p.alamat ? ", " + p.alamat : "");
    return L.marker(latlng, {title: t, alt: t, opacity: p.location_source === "coordinates" ? 1 : 0.6});
  }
  var GeoJSONTiles = L.GridLayer.extend({
    initialize: function (url, options) {
      this._url = url; this._groups = {};
      L.GridLayer.prototype.initialize.call(this, options);
      this.on("tileunload", function (e) {
        var k = this._tileCoordsToKey(e.coords);
        if (this._groups[k]) { this._groups[k].remove(); delete this._groups[k]; }
      });
    },
    createTile: function (coords, done) {
      var tile = document.createElement("div"), self = this, key = this._tileCoordsToKey(coords);
      var size = this.getTileSize();
      fetch(L.Util.template(this._url, coords)).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && self._map) {
            self._groups[key] = L.geoJSON(data, {
              pointToLayer: point,
              /* tiles overlap by a buffer: draw each point only in the tile that holds it */
              filter: function (f) {
                var c = f.geometry.coordinates, q = self._map.project([c[1], c[0]], coords.z).unscaleBy(size).floor();
                return q.x === coords.x && q.y === coords.y;
              },
              onEachFeature: function (f, l) { l.bindPopup(popup(f.properties)); }
            }).addTo(self._map);
          }
          done(null, tile);
        }).catch(function (err) { done(err, tile); });
      return tile;
    }
  });
  window.PetaTPS = {
    geoJSONTiles: function (url, options) { return new GeoJSONTiles(url, options); },
    map: function (id, o) {
      var m = L.map(id).setView(o.center || [-6.2, 106.83], o.zoom || 12);
      L.tileLayer(o.baseUrl, {attribution: o.attribution, maxZoom: o.baseMaxZoom || 19}).addTo(m);
      if (o.outline) {
        fetch(o.outline).then(function (r) { return r.json(); }).then(function (d) {
          L.geoJSON(d, {style: {color: "#1b3a6b", weight: 1, fill: false}, interactive: false}).addTo(m);
        });
      }
      new GeoJSONTiles(o.tiles, {minZoom: o.minZoom, maxNativeZoom: o.maxZoom, maxZoom: o.baseMaxZoom || 19})
        .addTo(m);
      return m;
    }
  };
})();
"""


def embed_html(data_version: str, base_map: maps.BaseMap, min_zoom: int, max_zoom: int,
               center: tuple[float, float] = maps.JAKARTA) -> str:
    """``embed.html``: copy-paste snippets and a live example map on the bundle's GeoJSON tiles."""
    options = {"center": list(center), "tiles": f"tiles/tps/{{z}}/{{x}}/{{y}}.geojson?v={data_version}",
               "outline": f"geojson/kelurahan.geojson?v={data_version}", "baseUrl": base_map.url,
               "attribution": base_map.attribution, "baseMaxZoom": base_map.max_zoom, "minZoom": min_zoom,
               "maxZoom": max_zoom, "zoom": max(min_zoom, 12)}
    script = ('<link rel="stylesheet" href="vendor/leaflet/leaflet.css">\n'
              '<script src="vendor/leaflet/leaflet.js"></script>\n<script src="petatps-embed.js"></script>\n'
              '<div id="petatps-map" style="height:480px"></div>\n'
              f"<script>PetaTPS.map(\"petatps-map\", {_readable_js(options)});</script>")
    iframe = ('<iframe src="maps/overview.html" title="Peta TPS / Polling station map" width="100%" '
              'height="600" loading="lazy" style="border:0"></iframe>')
    return f"""<!DOCTYPE html>
<html lang="id">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sematkan peta TPS / Embed the polling station map</title>
<style>body{{font-family:system-ui,sans-serif;max-width:60rem;margin:auto;padding:1rem;line-height:1.4}}
pre{{background:#f4f4f4;padding:.6rem;overflow:auto;white-space:pre-wrap}}</style>
</head>
<body>
<h1>Sematkan peta TPS <span lang="en">/ Embed the polling station map</span></h1>
<p>Versi data / <span lang="en">Data version</span>: {html.escape(data_version)}. Semua alamat relatif terhadap
folder ini. <span lang="en">Every URL is relative to this folder; no file is loaded from another site except the
base-map tiles.</span></p>
<h2>1. Iframe</h2>
<pre><code>{html.escape(iframe)}</code></pre>
<h2>2. Script (Leaflet + ubin GeoJSON / <span lang="en">GeoJSON tiles</span>)</h2>
<pre><code>{html.escape(script)}</code></pre>
<h2>Contoh langsung <span lang="en">/ Live example</span></h2>
{script}
<p><a href="maps/overview.html">Peta kota / City map</a> ·
<a href="geojson/tps.geojson">tps.geojson</a> · <a href="tiles/tps/tilejson.json">TileJSON (MVT)</a></p>
</body>
</html>
"""


def _readable_js(obj) -> str:
    # JSON for a copy-paste snippet: readable, and "</" escaped so no "</script>" can end the block.
    return orjson.dumps(obj).decode().replace("</", "<\\/")
