"""Folium map builders: GeoDataFrames in, ``folium.Map`` out; :func:`render_html` gives the page.

Pages load JavaScript and CSS only from the vendored copies (``web/static/vendor``, reached through
the relative ``assets`` prefix, see :mod:`geo.map_page`); the only remote URLs are the base-map tiles
and their attribution links (:class:`BaseMap`).

Pages are in Bahasa Indonesia first, English after (``lang="en"``); markers carry ``title``/``alt``;
a table below the map repeats its content. A pin whose location is not a surveyed coordinate gets a
circle of radius ``precision_m`` and a paler marker. Element ids are numbered in tree order, so
the same data renders to byte-identical HTML.

The overview never creates 30,000 markers: the kelurahan layer is a choropleth of TPS counts and
the TPS are a compact integer array (30,766 TPS ≈ 1 MB of HTML). Below zoom 15 the page draws
counts per grid cell precomputed here (64 px cells, styled like Leaflet.markercluster), from zoom 15
the single TPS in view; only what is in view is drawn, so the page is ready in well under a second.
(Leaflet.markercluster itself needs ~6 s to cluster 30,766 markers on a busy 2-core machine.)
"""

from __future__ import annotations

import html
from typing import ClassVar

import folium
import geopandas as gpd
import numpy as np
import orjson
import pandas as pd
import shapely
from folium.elements import JSCSSMixin

from geo import geojson, tiles
from geo.crs import STORAGE_EPSG
from geo.errors import CRSError, NotFoundError
from geo.map_page import (ASSETS, JAKARTA, OSM, BaseMap, Script, finish, js_bytes, localise_assets, new_map,
                          render_html, script_json)
from geo.schema import DEFAULT_JAM_BUKA, DEFAULT_JAM_TUTUP, DEFAULT_KPPS

# Re-exported: callers build and render pages through this module.
__all__ = ["BaseMap", "OSM", "ASSETS", "JAKARTA", "render_html", "localise_assets", "script_json",
           "overview_map", "kelurahan_map", "tps_map", "PALETTE", "NO_TPS_COLOUR", "LOCATION_LABELS"]

LOCATION_LABELS = {
    "coordinates": ("titik koordinat", "surveyed coordinates"),
    "address_rt": ("perkiraan dari alamat RT", "estimated from the RT address"),
    "address_rw": ("perkiraan dari alamat RW", "estimated from the RW address"),
    "place": ("perkiraan dari nama tempat", "estimated from a place name"),
    "kelurahan": ("pusat kelurahan, lokasi belum pasti", "kelurahan centre, location not yet known"),
}
PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")  # ColorBrewer YlOrRd, 5 classes
NO_TPS_COLOUR = "#d9d9d9"
OVERVIEW_MIN_ZOOM = 8      # TPS groups are precomputed for zooms 8 .. OVERVIEW_SINGLE_ZOOM - 1
OVERVIEW_SINGLE_ZOOM = 15  # from this zoom the overview draws single TPS (those in view)


class _ClusterScript(JSCSSMixin, Script):
    """Page JavaScript drawing TPS groups in the look of Leaflet.markercluster (its vendored CSS)."""

    default_js: ClassVar[list] = []
    default_css: ClassVar[list] = [("markerclusterdefaultcss", ASSETS["markerclusterdefaultcss"])]


# --- builders -----------------------------------------------------------------------------------

def overview_map(kelurahan: gpd.GeoDataFrame, tps: gpd.GeoDataFrame, *, base_map: BaseMap = OSM,
                 assets: str = "vendor/", kelurahan_pages: str | None = "kelurahan/{kode}.html",
                 title: str = "Peta TPS", data_version: str = "") -> folium.Map:
    """City overview: kelurahan choropleth of TPS counts and every located TPS, grouped by zoom.

    Parameters
    ----------
    kelurahan : GeoDataFrame
        Kelurahan polygons (EPSG:4326) with ``kode`` and ``nama``.
    tps : GeoDataFrame
        TPS points (EPSG:4326) following ``geo.schema`` (``kode_kel``, ``no_tps``, ``dpt``,
        ``location_source``, ``precision_m``); TPS without a location are counted, not drawn.
    base_map : BaseMap
        Raster base map (default OpenStreetMap).
    assets : str
        Relative URL prefix of the vendored assets folder (e.g. ``"../vendor/"``).
    kelurahan_pages : str or None
        Relative link pattern of the kelurahan pages (``{kode}`` replaced), ``None`` for no links.
    title, data_version : str
        Page title; data version printed in the footer.
    """
    _check_crs(kelurahan=kelurahan, tps=tps)
    kel = geojson.kelurahan_stats(kelurahan, tps).sort_values("kode", kind="mergesort")
    m = new_map(title, base_map, kel)
    link = kelurahan_pages or ""
    m.add_child(Script(_choropleth_js(kel, link)))
    m.add_child(_ClusterScript(_cluster_js(kel, tps, link)))
    fig = m.get_root()
    fig.page_top = _heading(title, f"{len(tps):,} TPS di / in {len(kel):,} kelurahan")
    fig.page_bottom = _section("Daftar kelurahan", "List of kelurahan", _kelurahan_table(kel, link), data_version)
    return finish(m, assets)


def kelurahan_map(kode: str, kelurahan: gpd.GeoDataFrame, tps: gpd.GeoDataFrame, *,
                  rw: gpd.GeoDataFrame | None = None, rt: gpd.GeoDataFrame | None = None,
                  base_map: BaseMap = OSM, assets: str = "../../vendor/", data_version: str = "") -> folium.Map:
    """One kelurahan: its outline, RW/RT outlines and every TPS with a popup, plus a TPS table.

    ``kelurahan``, ``tps``, ``rw`` and ``rt`` may hold the whole city; rows are picked by ``kode``
    (10-digit kelurahan code). Raises :class:`~geo.errors.NotFoundError` for an unknown ``kode``.
    """
    _check_crs(kelurahan=kelurahan, tps=tps, rw=rw, rt=rt)
    area = kelurahan[kelurahan["kode"] == kode]
    if area.empty:
        raise NotFoundError(f"kelurahan {kode!r} is not in the kelurahan layer ({len(kelurahan)} rows)")
    name = str(area["nama"].iloc[0])
    mine = tps[tps["kode_kel"] == kode].sort_values("kode_tps", kind="mergesort")
    m = new_map(f"TPS Kelurahan {name}", base_map, area, zoom=17)
    for frame, style in ((rt, "rt"), (rw, "rw"), (area, "kelurahan")):
        part = frame if frame is None or style == "kelurahan" else frame[frame["kode_kel"] == kode]
        if part is not None and len(part):
            m.add_child(Script(_outline_js(part, style)))
    m.add_child(Script(_markers_js(mine)))
    fig = m.get_root()
    fig.page_top = _heading(f"Kelurahan {name} ({kode})",
                            f"{len(mine)} TPS · <a href=\"../overview.html\">Peta kota / City map</a>")
    fig.page_bottom = _section("Daftar TPS", "List of polling stations", _tps_table(mine), data_version)
    return finish(m, assets)


def tps_map(kode_tps: str, tps: gpd.GeoDataFrame, *, kelurahan: gpd.GeoDataFrame | None = None,
            base_map: BaseMap = OSM, assets: str = "../../vendor/", data_version: str = "") -> folium.Map:
    """One TPS: its marker (and precision circle), its kelurahan outline and a details table."""
    _check_crs(tps=tps, kelurahan=kelurahan)
    row = tps[tps["kode_tps"] == kode_tps]
    if row.empty:
        raise NotFoundError(f"TPS {kode_tps!r} is not in the TPS layer ({len(tps)} rows)")
    kel = kelurahan[kelurahan["kode"] == row["kode_kel"].iloc[0]] if kelurahan is not None else None
    located = row[~(row.geometry.isna() | row.geometry.is_empty)]
    m = new_map(f"TPS {kode_tps}", base_map, located if len(located) else kel, zoom=17)
    if kel is not None and len(kel):
        m.add_child(Script(_outline_js(kel, "kelurahan")))
    m.add_child(Script(_markers_js(row, open_popup=True)))
    fig = m.get_root()
    fig.page_top = _heading(f"TPS {int(row['no_tps'].iloc[0]):03d} ({kode_tps})", "")
    fig.page_bottom = _section("Rincian TPS", "Polling station details", _tps_table(row), data_version)
    return finish(m, assets)


# --- page parts ---------------------------------------------------------------------------------


def _choropleth_js(kel: gpd.GeoDataFrame, link: str) -> str:
    counts = kel["tps_count"].to_numpy(dtype=float)
    breaks = _breaks(counts)
    colour = np.where(counts == 0, NO_TPS_COLOUR, np.asarray(PALETTE)[np.searchsorted(breaks, counts)])
    geoms = shapely.simplify(np.asarray(kel.geometry.values), 0.00002, preserve_topology=True)
    props = [{"k": k, "n": html.escape(str(n)), "c": int(c), "d": int(d), "f": f} for k, n, c, d, f in
             zip(kel["kode"], kel["nama"], kel["tps_count"], kel["dpt_total"], colour)]
    data = b"[" + b",".join(b'{"type":"Feature","properties":' + orjson.dumps(p) + b',"geometry":' + g + b"}"
                            for p, g in zip(props, geojson.geometry_json(geoms, decimals=5))) + b"]"
    legend = _legend(breaks)
    return f"""var {{map}}_kel = L.geoJSON({js_bytes(data)}, {{
 style: function(f) {{ return {{color: "#555", weight: 1, fillColor: f.properties.f, fillOpacity: 0.55}}; }},
 onEachFeature: function(f, l) {{ var p = f.properties, a = {script_json(link)};
  l.bindTooltip(p.n);
  l.bindPopup("<b>Kelurahan " + p.n + "</b> (" + p.k + ")<br>TPS: " + p.c + "<br>DPT: " + p.d +
   (a ? '<br><a href="' + a.replace("{{kode}}", p.k) + '">Semua TPS / All TPS</a>' : ""));
 }}}}).addTo({{map}});
var {{map}}_legend = L.control({{position: "bottomright"}});
{{map}}_legend.onAdd = function() {{ var d = L.DomUtil.create("div", "ptps-legend"); d.innerHTML = {script_json(legend)}; return d; }};
{{map}}_legend.addTo({{map}});"""


def _cluster_js(kel: gpd.GeoDataFrame, tps: gpd.GeoDataFrame, link: str) -> str:
    located = tps[~(tps.geometry.isna() | tps.geometry.is_empty)].sort_values("kode_tps", kind="mergesort")
    lon, lat = shapely.get_x(located.geometry.values), shapely.get_y(located.geometry.values)
    codes = kel["kode"].astype("string").to_numpy(dtype=object)
    mine = located["kode_kel"].astype("string").to_numpy(dtype=object)
    kel_idx = np.searchsorted(codes, mine).clip(0, max(len(codes) - 1, 0))
    kel_idx = np.where(len(codes) and codes[kel_idx] == mine, kel_idx, -1) if len(codes) else np.full(len(mine), -1)
    sources = list(LOCATION_LABELS)
    src = located["location_source"].astype("string").map({s: i for i, s in enumerate(sources)})
    rows = np.column_stack([_offsets(lat, lon), kel_idx, located["no_tps"].fillna(0),
                            located["dpt"].astype("Float64").fillna(-1), src.astype("Float64").fillna(-1),
                            located["precision_m"].astype("Float64").round().fillna(-1)]).astype(np.int64)
    groups = {}
    mx, my = tiles.mercator(lon, lat)
    for z in range(OVERVIEW_MIN_ZOOM, OVERVIEW_SINGLE_ZOOM):
        _, gx, gy, count = tiles.grid_aggregate(mx, my, z, 4)
        glon, glat = tiles.lonlat(gx, gy)
        groups[z] = np.column_stack([_offsets(glat, glon), count]).astype(np.int64).ravel()
    names = [[k, html.escape(str(n))] for k, n in zip(codes, kel["nama"])]
    labels = [" / ".join(LOCATION_LABELS[s]) for s in sources]
    numpy = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
    return f"""(function() {{
 var d = {js_bytes(orjson.dumps(rows.ravel(), option=numpy))}, A = {js_bytes(orjson.dumps(groups, option=numpy))};
 var K = {script_json(names)}, S = {script_json(labels)}, a = {script_json(link)}, Z = {OVERVIEW_SINGLE_ZOOM};
 var m = {{map}}, layer = L.layerGroup().addTo(m);
 function pad(n) {{ return ("00" + n).slice(-3); }}
 function kel(i) {{ return i >= 0 ? K[i] : ["", "?"]; }}
 function at(v, i) {{ return L.latLng({JAKARTA[0]} + v[i] / 1e5, {JAKARTA[1]} + v[i + 1] / 1e5); }}
 function popup(r) {{ var k = kel(r[2]);
  return "<b>TPS " + pad(r[3]) + "</b> · Kelurahan " + k[1] + "<br>DPT (pemilih / voters): " +
   (r[4] >= 0 ? r[4] : "tidak diketahui / unknown") + "<br>Lokasi / Location: " + (r[5] >= 0 ? S[r[5]] : "?") +
   (r[6] >= 0 ? " (± " + r[6] + " m)" : "") +
   (a && k[0] ? '<br><a href="' + a.replace("{{kode}}", k[0]) + '">Rincian / Details</a>' : ""); }}
 function group(ll, n, z) {{
  var t = n + " TPS", size = n < 10 ? "small" : n < 100 ? "medium" : "large";
  var icon = L.divIcon({{html: "<div><span>" + n + "</span></div>", className: "marker-cluster marker-cluster-" + size,
   iconSize: [40, 40]}});
  return L.marker(ll, {{icon: icon, title: t, alt: t}}).on("click", function() {{ m.setView(ll, Math.min(z + 2, Z)); }});
 }}
 function single(r, ll) {{
  var t = "TPS " + pad(r[3]) + " " + kel(r[2])[1];
  return L.marker(ll, {{title: t, alt: t, opacity: r[5] === 0 ? 1 : 0.6}}).bindPopup(function() {{ return popup(r); }});
 }}
 function draw() {{
  var z = m.getZoom(), b = m.getBounds().pad(0.2), i, ll;
  layer.clearLayers();
  if (z < Z) {{
   var g = A[Math.max({OVERVIEW_MIN_ZOOM}, z)];
   for (i = 0; i < g.length; i += 3) {{ ll = at(g, i); if (b.contains(ll)) layer.addLayer(group(ll, g[i + 2], z)); }}
  }} else {{
   for (i = 0; i < d.length; i += 7) {{ ll = at(d, i); if (b.contains(ll)) layer.addLayer(single(d.slice(i, i + 7), ll)); }}
  }}
 }}
 m.on("moveend", draw);
 draw();
}})();"""


def _offsets(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Positions as integer 1e-5 degree (~1.1 m) offsets from Jakarta: compact in the page."""
    return np.column_stack([np.round((lat - JAKARTA[0]) * 1e5), np.round((lon - JAKARTA[1]) * 1e5)])


def _outline_js(frame: gpd.GeoDataFrame, style: str) -> str:
    styles = {"kelurahan": '{color: "#1b3a6b", weight: 3, fill: false}',
              "rw": '{color: "#6a3d9a", weight: 2, fill: false, dashArray: "6 4"}',
              "rt": '{color: "#999", weight: 1, fill: false}'}
    labels = [html.escape(str(n)) for n in frame["nama"].fillna(frame["kode"])]
    data = b"[" + b",".join(b'{"type":"Feature","properties":' + orjson.dumps({"n": n}) + b',"geometry":' + g + b"}"
                            for n, g in zip(labels, geojson.geometry_json(frame.geometry, decimals=6))) + b"]"
    return (f"L.geoJSON({js_bytes(data)}, {{style: {styles[style]}, interactive: true, onEachFeature: "
            f"function(f, l) {{ l.bindTooltip(f.properties.n, {{sticky: true}}); }}}}).addTo({{map}});")


def _markers_js(tps: gpd.GeoDataFrame, open_popup: bool = False) -> str:
    located = tps[~(tps.geometry.isna() | tps.geometry.is_empty)]
    approx = (located["location_source"].fillna("") != "coordinates").to_numpy()
    radius = located["precision_m"].astype("Float64").fillna(0).to_numpy(float)
    rows = [[round(float(p.y), 6), round(float(p.x), 6), _marker_title(r), _tps_popup(r),
             float(rad) if a and rad > 0 else 0]
            for p, r, a, rad in zip(located.geometry, located.to_dict("records"), approx, radius)]
    return f"""(function() {{
 var d = {script_json(rows)}, g = L.featureGroup();
 d.forEach(function(r) {{
  var mk = L.marker([r[0], r[1]], {{title: r[2], alt: r[2], opacity: r[4] ? 0.6 : 1}}).bindPopup(r[3]);
  g.addLayer(mk);
  if (r[4]) {{ g.addLayer(L.circle([r[0], r[1]], {{radius: r[4], color: "#d95f02", weight: 1, dashArray: "4 4",
   fillOpacity: 0.08, interactive: false}})); }}
 }});
 g.addTo({{map}});{" if (d.length) { g.getLayers()[0].openPopup(); }" if open_popup else ""}
}})();"""


def _marker_title(r: dict) -> str:
    return f"TPS {_int(r.get('no_tps'), '?', 3)}, {_text(r.get('alamat'), 'alamat belum diketahui')}"


def _tps_popup(r: dict) -> str:
    return "<br>".join(f"<b>{label}</b>: {value}" if label else f"<b>{value}</b>"
                       for label, value in _tps_fields(r))


def _tps_fields(r: dict) -> list[tuple[str, str]]:
    src = r.get("location_source")
    where = " / ".join(LOCATION_LABELS.get(src, ("belum diketahui", "not yet known"))) if _has(src) else \
        "belum diketahui / not yet known"
    if _has(r.get("precision_m")):
        where += f" (± {float(r['precision_m']):.0f} m)"
    dpt = _int(r.get("dpt"), "tidak diketahui / unknown")
    if _has(r.get("dpt_l")) and _has(r.get("dpt_p")):
        dpt += f" (L {int(r['dpt_l'])}, P {int(r['dpt_p'])})"
    access = r.get("akses_disabilitas")
    access = "tidak diketahui / unknown" if not _has(access) else ("ya / yes" if access else "tidak / no")
    hours = f"{_text(r.get('jam_buka'), DEFAULT_JAM_BUKA)}–{_text(r.get('jam_tutup'), DEFAULT_JAM_TUTUP)}"
    return [("", f"TPS {_int(r.get('no_tps'), '?', 3)} ({html.escape(str(r.get('kode_tps')))})"),
            ("Alamat / Address", _text(r.get("alamat"), "—")),
            ("RT/RW", f"{_int(r.get('rt'), '—', 3)}/{_int(r.get('rw'), '—', 3)}"),
            ("DPT (pemilih terdaftar / registered voters)", dpt),
            ("Jam / Hours", hours),
            ("KPPS (petugas / officers)", _int(r.get("kpps"), str(DEFAULT_KPPS))),
            ("Akses disabilitas / Disability access", access),
            ("Lokasi / Location", where)]


def _tps_table(tps: gpd.GeoDataFrame) -> str:
    records = tps.to_dict("records")
    if not records:
        return "<p>Tidak ada TPS. <span lang=\"en\">No polling stations.</span></p>"
    heads = ["TPS"] + [label for label, _ in _tps_fields(records[0])[1:]]
    body = "".join("<tr>" + "".join(f"<td>{v}</td>" for _, v in _tps_fields(r)) + "</tr>" for r in records)
    return ("<table><caption>TPS</caption><thead><tr>" + "".join(f'<th scope="col">{h}</th>' for h in heads)
            + f"</tr></thead><tbody>{body}</tbody></table>")


def _kelurahan_table(kel: pd.DataFrame, link: str) -> str:
    rows = []
    for kode, nama, n, dpt, known in zip(kel["kode"], kel["nama"], kel["tps_count"], kel["dpt_total"],
                                         kel["dpt_known"]):
        name = html.escape(str(nama))
        cell = f'<a href="{html.escape(link.replace("{kode}", str(kode)))}">{name}</a>' if link else name
        rows.append(f"<tr><td>{kode}</td><td>{cell}</td><td>{n}</td><td>{dpt}</td><td>{known}</td></tr>")
    return ("<table><thead><tr><th scope=\"col\">Kode</th><th scope=\"col\">Kelurahan</th>"
            "<th scope=\"col\">TPS</th><th scope=\"col\">DPT (jumlah yang diketahui / known total)</th>"
            "<th scope=\"col\">TPS dengan DPT diketahui / TPS with known DPT</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _heading(title: str, sub_html: str) -> str:
    return f'<header class="ptps-head"><h1>{html.escape(title)}</h1><p>{sub_html}</p></header>'


def _section(title_id: str, title_en: str, body: str, data_version: str) -> str:
    version = f"<p>Versi data / <span lang=\"en\">Data version</span>: {html.escape(data_version)}</p>" \
        if data_version else ""
    return (f'<section class="ptps-body" aria-label="{title_id}"><h2>{title_id} <span lang="en">/ {title_en}'
            f"</span></h2><p>Tabel ini memuat isi peta. <span lang=\"en\">This table repeats the map's content."
            f"</span></p>{body}{version}</section>")


def _legend(breaks: np.ndarray) -> str:
    items = [f'<i style="background:{NO_TPS_COLOUR}"></i>0']
    if len(breaks):
        lows = [1] + [int(b) + 1 for b in breaks]
        highs = [int(b) for b in breaks] + [None]
        for colour, lo, hi in zip(PALETTE, lows, highs):
            span = f"{lo}+" if hi is None else (f"{lo}" if hi == lo else f"{lo}–{hi}")
            items.append(f'<i style="background:{colour}"></i>{span}')
    return "<b>TPS per kelurahan</b><br>" + "<br>".join(items)


def _breaks(counts: np.ndarray) -> np.ndarray:
    """Up to four inclusive class upper limits: quantiles of the non-zero counts, as integers."""
    nz = counts[counts > 0]
    if not len(nz):
        return np.empty(0, dtype=np.int64)
    q = np.unique(np.ceil(np.quantile(nz, [0.2, 0.4, 0.6, 0.8])).astype(np.int64))
    return q[q < nz.max()]


# --- helpers ------------------------------------------------------------------------------------

def _check_crs(**frames: gpd.GeoDataFrame | None) -> None:
    for name, frame in frames.items():
        if frame is not None and len(frame) and (frame.crs is None or frame.crs.to_epsg() != STORAGE_EPSG):
            raise CRSError(f"{name}: maps take EPSG:{STORAGE_EPSG} lon/lat, got {frame.crs}; "
                           f"reproject with to_crs({STORAGE_EPSG}) first")



def _has(v) -> bool:
    return v is not None and not (isinstance(v, float) and np.isnan(v)) and v is not pd.NA


def _int(v, missing: str, width: int = 0) -> str:
    return f"{int(v):0{width}d}" if _has(v) else missing


def _text(v, missing: str) -> str:
    return html.escape(str(v)) if _has(v) and str(v).strip() else missing
