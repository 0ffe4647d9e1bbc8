"""The officer's coverage page (``index.html``): summary, map, worst gaps first, tables.

One self-contained HTML file: Leaflet's script and stylesheet are inlined from the vendored copies
(``web/static/vendor``, its two control images as data URIs), data is embedded as JSON, so the page
opens from a USB stick with no internet; only the base-map tiles (and their attribution links) are
remote. The map is built with :mod:`geo.maps` (folium, vendored assets only, stable element ids) and
draws on a canvas: the RW choropleth of the share of voters beyond the threshold (from the DPT's TPS,
or from the nearest TPS; by kelurahan load when there is no voter list), the gap areas, flagged TPS,
suggested sites and merge pairs. Every number shown comes from the suppressed public tables.
"""

from __future__ import annotations

import base64
import html
import re

import numpy as np
import orjson
import pandas as pd
import shapely

from geo import geojson, map_page, maps
from geo.coverage_gaps import REASONS
from geo.coverage_report import SMALL

MAX_ROWS = 300
MAX_MARKERS = 2000
CLASSES = ("0", "<5", "≤ 10 %", "≤ 25 %", "≤ 50 %", "> 50 %")
CLASS_COLOURS = ("#ffffff",) + maps.PALETTE
LOAD_CLASSES = ("≤ 80 %", "≤ 90 %", "≤ 100 %", "≤ 120 %", "> 120 %")
SEVERITY_COLOURS = {"high": "#b2182b", "medium": "#ef8a62", "low": "#999999"}
LABELS = {"high": "tinggi / high", "medium": "sedang / medium", "low": "rendah / low"}


def coverage_page(result, tables: dict[str, pd.DataFrame], *, data_version: str, base_map=None,
                  max_rows: int = MAX_ROWS) -> str:
    """The whole page as text (deterministic for the same result and data version)."""
    area = f"wilayah {result.kode}" if result.kode else "semua wilayah / all areas"
    title = f"Cakupan TPS / TPS coverage – {area}"
    kel = tables["kelurahan"]
    m = map_page.new_map(title, base_map or map_page.OSM, kel if len(kel) else None, zoom=16)
    m.options["prefer_canvas"] = True
    m.add_child(map_page.Script(_map_js(result, tables)))
    map_page.finish(m, "vendor/")
    fig = m.get_root()
    fig.page_top = _top(title, result, tables)
    fig.page_bottom = _bottom(result, tables, data_version, max_rows)
    return inline_assets(map_page.render_html(m))


# --- the map --------------------------------------------------------------------------------------

def _map_js(result, tables) -> str:
    rw, kel = tables["rw"], tables["kelurahan"]
    parts = ["var R = L.canvas(), m = {map}, base = {}, over = {};",
             _style_js(),
             f"var K = {_features(kel, _kel_props(kel))};",
             ("var kel = L.geoJSON(K, {renderer: R, style: function(f) { return loadStyle(f.properties); },"
              " onEachFeature: function(f, l) { l.bindPopup(f.properties.p); }});")]
    if len(rw):
        parts += [f"var W = {_features(rw, _rw_props(rw))};",
                  "base['Jauh dari TPS DPT / Far from the DPT’s TPS'] = shareLayer(W, 'd').addTo(m);",
                  "base['Jauh dari TPS terdekat / Far from the nearest TPS'] = shareLayer(W, 'n');",
                  ("over['Kelurahan'] = L.geoJSON(K, {renderer: R, style: {color: '#1b3a6b', weight: 1.5, "
                   "fill: false}, interactive: false}).addTo(m);")]
    else:
        parts.append("base['Beban kelurahan / Kelurahan load'] = kel.addTo(m);")
    gaps = tables["gaps"]
    areas = gaps[(gaps["level"] != "tps") & (gaps["severity"] != "low")]   # low ones are in the table
    parts.append(f"over['Celah / Gaps'] = gapLayer({_features(areas, _gap_props(areas))}).addTo(m);")
    flagged = _tps_points(tables["tps"], with_voters=len(rw) > 0)
    parts.append(f"over['TPS bermasalah / Flagged TPS'] = pointLayer({flagged}).addTo(m);")
    sites = tables["suggestions"]
    parts.append(f"over['Usulan TPS / Suggested sites'] = pointLayer({_site_points(sites)}).addTo(m);")
    merges = tables["merges"]
    merges = merges[merges["disjoint"].fillna(False).astype(bool)] if len(merges) else merges
    parts.append(f"over['TPS dapat digabung / Merge pairs'] = L.geoJSON({_features(merges, _merge_props(merges))}, "
                 "{renderer: R, style: {color: '#2166ac', weight: 3, dashArray: '6 4'}, onEachFeature: "
                 "function(f, l) { l.bindPopup(f.properties.p); }});")
    parts.append(f"L.control.layers(base, over, {{collapsed: false}}).addTo(m); legend({_legend(bool(len(rw)))});")
    return "\n".join(parts)


def _style_js() -> str:
    colours, load = map_page.script_json(list(CLASS_COLOURS)), map_page.script_json(list(maps.PALETTE))
    return f"""var C = {colours}, LC = {load}, NA = {map_page.script_json(maps.NO_TPS_COLOUR)};
function shareClass(s, few) {{ if (few) return 1; if (s === null) return -1; if (s === 0) return 0;
 return s <= 0.1 ? 2 : s <= 0.25 ? 3 : s <= 0.5 ? 4 : 5; }}
function shareLayer(W, k) {{ return L.geoJSON(W, {{renderer: R, style: function(f) {{
 var c = shareClass(f.properties[k], f.properties[k + 'f']);
 return {{color: "#555", weight: 0.6, fillColor: c < 0 ? NA : C[c], fillOpacity: c < 0 ? 0.3 : 0.6}}; }},
 onEachFeature: function(f, l) {{ l.bindPopup(f.properties.p); }}}}); }}
function loadStyle(p) {{ var r = p.r, c = r === null ? -1 : r <= 0.8 ? 0 : r <= 0.9 ? 1 : r <= 1 ? 2 : r <= 1.2 ? 3 : 4;
 return {{color: "#1b3a6b", weight: 1, fillColor: c < 0 ? NA : LC[c], fillOpacity: 0.5}}; }}
function gapLayer(G) {{ return L.geoJSON(G, {{renderer: R, style: function(f) {{
 return {{color: f.properties.c, weight: 3, fill: true, fillOpacity: 0.05, dashArray: "8 4"}}; }},
 onEachFeature: function(f, l) {{ l.bindPopup(f.properties.p); }}}}); }}
function pointLayer(P) {{ var g = L.featureGroup(); P.forEach(function(r) {{
 g.addLayer(L.circleMarker([r[0], r[1]], {{renderer: R, radius: r[2], color: r[3], weight: 2, fillOpacity: 0.7}})
  .bindTooltip(r[4]).bindPopup(r[5])); }}); return g; }}
function legend(h) {{ var c = L.control({{position: "bottomright"}}); c.onAdd = function() {{
 var d = L.DomUtil.create("div", "ptps-legend"); d.innerHTML = h; return d; }}; c.addTo(m); }}"""


def _features(frame: pd.DataFrame, props: list[dict]) -> str:
    if not len(frame):
        return "[]"
    geoms = shapely.simplify(frame.geometry.to_numpy(), 0.00002, preserve_topology=True)
    blobs = [b'{"type":"Feature","properties":' + orjson.dumps(p) + b',"geometry":' + g + b"}"
             for p, g in zip(props, geojson.geometry_json(geoms, decimals=5)) if g != b"null"]
    return map_page.js_bytes(b"[" + b",".join(blobs) + b"]")


def _rw_props(rw: pd.DataFrame) -> list[dict]:
    out = []
    for r in rw.to_dict("records"):
        popup = (f"<b>{_e(r['kode'])}</b><br>Pemilih / voters: {_e(r['voters'])}<br>"
                 f"Jauh dari TPS DPT / far from the DPT's TPS: {_share(r['share_beyond_dpt'], r['voters_beyond_dpt'])}"
                 f"<br>Jauh dari TPS terdekat / far from the nearest TPS: "
                 f"{_share(r['share_beyond_nearest'], r['voters_beyond_nearest'])}<br>Cakupan / coverage: "
                 f"{_e(r['coverage'])}")
        out.append({"p": popup, "d": _num(r["share_beyond_dpt"]), "df": r["voters_beyond_dpt"] == SMALL,
                    "n": _num(r["share_beyond_nearest"]), "nf": r["voters_beyond_nearest"] == SMALL})
    return out


def _kel_props(kel: pd.DataFrame) -> list[dict]:
    return [{"r": _num(r["load_ratio"]), "p": f"<b>{_e(r['nama'])}</b> ({_e(r['kode'])})<br>Pemilih / voters: "
             f"{_e(r['voters'])}<br>TPS: {r['tps']} (perlu / needed {_e(r['tps_needed'])})<br>"
             f"TPS melebihi batas / over the cap: {r['tps_over_cap']}"} for r in kel.to_dict("records")]


def _gap_props(gaps: pd.DataFrame) -> list[dict]:
    return [{"c": SEVERITY_COLOURS.get(r["severity"], "#999"), "p": f"<b>{_e(' / '.join(REASONS[r['reason']]))}</b>"
             f"<br>{_e(r['kode'])} · {_e(LABELS.get(r['severity'], r['severity']))}<br>Pemilih / voters: "
             f"{_e(r['voters'])}<br>{_e(r['detail'])}"} for r in gaps.to_dict("records")]


def _merge_props(merges: pd.DataFrame) -> list[dict]:
    return [{"p": f"TPS {_e(r['kode_tps_merge'])} → {_e(r['kode_tps_keep'])}<br>Pemilih setelah / voters after: "
             f"{_e(r['voters_after'])}<br>Jarak terjauh / farthest: {_e(r['max_dist_after_m'])} m"}
            for r in merges.to_dict("records")]


def _tps_points(tps: pd.DataFrame, *, with_voters: bool) -> str:
    """Over-capacity TPS; with a voter list also those placed at kelurahan level (whose position the
    distances depend on), the first MAX_MARKERS by code."""
    flags = tps["flags"].fillna("")
    placed = ~(tps.geometry.isna() | tps.geometry.is_empty)
    vague = flags.str.contains("location_kelurahan_level") & placed
    vague &= vague.cumsum() <= MAX_MARKERS if with_voters else False
    pick = tps[(flags.str.contains("over_capacity") & placed) | vague]
    rows = []
    for r, p in zip(pick.to_dict("records"), pick.geometry):
        over = "over_capacity" in (r["flags"] or "")
        colour, radius = ("#b2182b", 7) if over else ("#ef8a62", 4)
        text = f"TPS {r['kode_tps']}"
        popup = (f"<b>{_e(text)}</b><br>Pemilih DPT / DPT voters: {_e(r['voters_dpt'])}<br>Kapasitas / cap use: "
                 f"{_pct(r['cap_use'])}<br>Lokasi / location: {_e(r['location_source'])}<br>{_e(r['flags'])}")
        rows.append([round(p.y, 6), round(p.x, 6), radius, colour, text, popup])
    return map_page.script_json(rows)


def _site_points(sites: pd.DataFrame) -> str:
    rows = []
    for r in sites.to_dict("records"):
        text = f"Usulan / suggested: {r['nama']}"
        popup = (f"<b>{_e(text)}</b><br>Kelurahan {_e(r['kode_kel'])} · #{r['rank']}<br>Pemilih baru terjangkau / "
                 f"voters newly covered: {_e(r['voters_newly_covered'])}<br>Dilayani / served: "
                 f"{_e(r['voters_served'])}<br>{_e(r['method'])}")
        rows.append([r["lat"], r["lon"], 7, "#1a9850", text, popup])
    return map_page.script_json(rows)


def _legend(shares: bool) -> str:
    if shares:
        items = [f'<i style="background:{c}"></i>{html.escape(t)}' for c, t in zip(CLASS_COLOURS, CLASSES)]
        head = "<b>Pemilih di luar jangkauan / Voters beyond reach</b>"
    else:
        items = [f'<i style="background:{c}"></i>{html.escape(t)}' for c, t in zip(maps.PALETTE, LOAD_CLASSES)]
        head = "<b>Pemilih ÷ kapasitas TPS / Voters ÷ TPS capacity</b>"
    items.append(f'<i style="background:{maps.NO_TPS_COLOUR}"></i>tidak diketahui / unknown')
    items += [f'<i style="border:2px dashed {c}"></i>celah {LABELS[s]}' for s, c in SEVERITY_COLOURS.items()]
    return map_page.script_json(head + "<br>" + "<br>".join(items))


# --- the text around the map ----------------------------------------------------------------------

def _top(title: str, result, tables) -> str:
    f = result.report.figures
    tps, kel, gaps = tables["tps"], tables["kelurahan"], tables["gaps"]
    voters = _total(kel["voters"])
    source = " (daftar pemilih / voter list)" if f.get("voters_source") == "voter list" else " (jumlah DPT / DPT counts)"
    vague = f"{f.get('tps_location_kelurahan', 0):,} hanya setingkat kelurahan / kelurahan-level only"
    cards = [("Pemilih / Voters", voters + source),
             ("TPS", f"{len(tps):,} ({vague})"),
             ("TPS melebihi batas / over the cap", f"{f.get('tps_over_cap', 0):,} (batas / cap {result.max_per_tps})"),
             ("TPS kurang terpakai / under-used", f"{f.get('tps_under_use', 0):,}"),
             ("Kelurahan dengan TPS terlalu sedikit / with too few TPS", f"{f.get('kelurahan_too_few_tps', 0):,}"),
             (f"RW / RT tanpa TPS dalam {result.threshold_m:.0f} m / without a TPS within reach",
              f"{int((gaps['level'] == 'rw').sum()):,} / {int((gaps['level'] == 'rt').sum()):,}"),
             ("Usulan TPS baru / suggested new sites", f"{len(tables['suggestions']):,}"),
             ("Pasangan TPS yang dapat digabung / merge pairs", f"{len(tables['merges']):,}")]
    items = "".join(f"<div><dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd></div>" for k, v in cards)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.report.notes)
    notes = f'<section class="ptps-body"><h2>Catatan / Notes</h2><ul>{notes}</ul></section>' if notes else ""
    style = ("<style>.ptps-cards{display:flex;flex-wrap:wrap;gap:.5rem;margin:0}.ptps-cards div{border:1px solid "
             "#bbb;padding:.3rem .6rem;min-width:12rem}.ptps-cards dt{font-size:.8rem;color:#444}.ptps-cards dd"
             "{margin:0;font-size:1.2rem;font-weight:600}</style>")
    return (f'{style}<header class="ptps-head"><h1>{html.escape(title)}</h1><dl class="ptps-cards">{items}</dl>'
            f"</header>{notes}")


def _bottom(result, tables, data_version: str, max_rows: int) -> str:
    gaps = tables["gaps"].copy()
    gaps["reason"] = [" / ".join(REASONS[r]) for r in gaps["reason"]]
    gaps["severity"] = gaps["severity"].map(LABELS)
    tps = tables["tps"]
    over = tps[tps["over_cap"].fillna(False).astype(bool)]
    sections = [
        ("gaps", "Celah, terburuk dulu", "Gaps, worst first", gaps,
         ["severity", "reason", "level", "kode", "rw", "rt", "voters", "dist_nearest_m", "tps", "tps_needed", "detail"]),
        ("over", "TPS melebihi batas", "TPS over the cap", over,
         ["kode_tps", "kode_kel", "voters_dpt", "cap_use", "location_source", "flags"]),
        ("sites", "Usulan lokasi TPS", "Suggested TPS sites", tables["suggestions"],
         ["kode_kel", "rank", "reason", "nama", "source", "voters_newly_covered", "voters_served", "tps_needed",
          "gaps", "method"]),
        ("merges", "TPS yang dapat digabung", "TPS that could merge", tables["merges"],
         ["kode_kel", "kode_tps_keep", "kode_tps_merge", "voters_after", "dist_between_m", "max_dist_after_m",
          "disjoint"]),
        ("kelurahan", "Per kelurahan", "Per kelurahan", tables["kelurahan"],
         ["kode", "nama", "voters", "voters_source", "tps", "tps_needed", "load_ratio", "tps_over_cap",
          "tps_location_kelurahan", "share_beyond_dpt", "share_beyond_nearest", "rw_gap", "rt_gap"]),
    ]
    if "stages" in tables:
        st = tables["stages"]
        sections.append(("stages", "Tahapan", "Stages", st, list(st.columns)))
    body = "".join(_table_section(*s, max_rows) for s in sections)
    files = " · ".join(f'<a href="{n}">{n}</a>' for n in ("tps.csv", "gaps.csv", "rt.csv", "rw.csv", "kelurahan.csv",
                                                           "suggestions.csv", "merges.csv", "coverage.gpkg"))
    version = html.escape(data_version)
    return (f'{body}<footer class="ptps-body"><p>Berkas / Files: {files}</p><p>Jumlah di bawah 5 ditulis "&lt;5". '
            f'<span lang="en">Counts below 5 are shown as "&lt;5".</span> Jarak garis lurus / straight-line '
            f"distances, EPSG:32748.</p><p>Versi data / <span lang=\"en\">Data version</span>: {version}</p></footer>")


def _table_section(anchor: str, title_id: str, title_en: str, frame: pd.DataFrame, cols: list[str],
                   max_rows: int) -> str:
    cols = [c for c in cols if c in frame]
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in cols)
    rows = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in r) + "</tr>"
                   for r in frame[cols].head(max_rows).itertuples(index=False))
    more = (f"<p>{max_rows:,} dari / of {len(frame):,} baris / rows; semua di berkas CSV / all in the CSV file.</p>"
            if len(frame) > max_rows else "")
    table = (f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>" if len(frame)
             else "<p>Tidak ada. <span lang=\"en\">None.</span></p>")
    return (f'<section class="ptps-body" id="{anchor}"><h2>{title_id} <span lang="en">/ {title_en}</span></h2>'
            f"{table}{more}</section>")


# --- inlining ---------------------------------------------------------------------------------------

def inline_assets(page: str) -> str:
    """Replace the vendored Leaflet script/stylesheet links by their content (images as data URIs)."""
    from geo.export import vendor_dir

    folder = vendor_dir() / "leaflet"
    script = (folder / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    css = (folder / "leaflet.css").read_text(encoding="utf-8")
    for image in sorted(set(re.findall(r"url\(images/([\w.-]+\.png)\)", css))):
        data = base64.b64encode((folder / "images" / image).read_bytes()).decode()
        css = css.replace(f"url(images/{image})", f"url(data:image/png;base64,{data})")
    tags = {'<script src="vendor/leaflet/leaflet.js"></script>': f"<script>{script}</script>",
            '<link rel="stylesheet" href="vendor/leaflet/leaflet.css"/>': f"<style>{css}</style>"}
    for tag, inline in tags.items():
        if tag not in page:
            raise ValueError(f"coverage page: expected {tag!r} to inline")
        page = page.replace(tag, inline)
    if re.search(r'<(script|link)[^>]+(src|href)="vendor/', page):
        raise ValueError("coverage page: an asset link was left to vendor/; the page must be self-contained")
    return page


# --- cells ------------------------------------------------------------------------------------------

def _e(value) -> str:
    return "—" if _missing(value) else html.escape(str(value))


def _cell(value) -> str:
    if isinstance(value, (float, np.floating)) and not np.isnan(value):
        return f"{value:,.4g}" if abs(value) < 10 else f"{value:,.1f}".removesuffix(".0")
    return _e(value)


def _missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _num(value):
    return None if _missing(value) else float(value)


def _share(share, count) -> str:
    if count == SMALL:
        return f"{SMALL} pemilih / voters"
    return "—" if _missing(share) else f"{100 * float(share):.1f} %"


def _pct(value) -> str:
    return "—" if _missing(value) else f"{100 * float(value):.0f} %"


def _total(values: pd.Series) -> str:
    numbers = pd.to_numeric(values, errors="coerce")
    total = int(numbers.sum())
    small = int((values == SMALL).sum())
    text = f"{total:,}" if total >= 5 or not small else SMALL
    return text + (f" (+ {small} area(s) with {SMALL})" if small else "")


__all__ = ["coverage_page", "inline_assets"]
