/* petatps: progressive enhancement only. Every page works without this file. */
(function () {
  "use strict";

  function el(tag, text, attrs) {
    var node = document.createElement(tag);
    if (text) { node.textContent = text; }
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    return node;
  }

  function baseMap(div) {
    var map = L.map(div, { scrollWheelZoom: false });
    L.tileLayer(div.dataset.basemap, { maxZoom: 19, attribution: div.dataset.attribution }).addTo(map);
    return map;
  }

  function popup(label, url) {
    var box = el("div");
    box.appendChild(url ? el("a", label, { href: url, target: "_top" }) : el("span", label));
    return box;
  }

  function pointsMap(div) {
    var points = JSON.parse(div.dataset.points || "[]");
    if (!points.length || !window.L) { return; }
    div.textContent = "";
    var map = baseMap(div), bounds = [];
    points.forEach(function (p) {
      var m = L.marker([p.lat, p.lon], { title: p.label, alt: p.label }).addTo(map);
      m.bindPopup(popup(p.label, p.url));
      if (p.precision && p.precision > 20) {
        L.circle([p.lat, p.lon], { radius: p.precision, weight: 1, fillOpacity: 0.08 }).addTo(map);
      }
      bounds.push([p.lat, p.lon]);
    });
    if (bounds.length === 1) { map.setView(bounds[0], 16); } else { map.fitBounds(bounds, { padding: [20, 20] }); }
  }

  function tileMap(div) {
    if (!window.L) { return; }
    div.textContent = "";
    var b = JSON.parse(div.dataset.bounds), map = baseMap(div), layers = {};
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]]);
    var template = div.dataset.tiles, tpsUrl = div.dataset.tpsUrl;
    var grid = L.GridLayer.extend({
      createTile: function (coords, done) {
        var key = coords.z + "/" + coords.x + "/" + coords.y;
        var url = template.replace("{z}", coords.z).replace("{x}", coords.x).replace("{y}", coords.y);
        fetch(url).then(function (r) { return r.status === 200 ? r.json() : null; }).then(function (fc) {
          if (fc) { layers[key] = L.geoJSON(fc, { pointToLayer: feature }).addTo(map); }
          done(null, tile);
        }).catch(function (e) { done(e, tile); });
        var tile = document.createElement("div");
        return tile;
      }
    });
    var g = new grid({ minZoom: 10 });
    g.on("tileunload", function (e) {
      var k = e.coords.z + "/" + e.coords.x + "/" + e.coords.y;
      if (layers[k]) { map.removeLayer(layers[k]); delete layers[k]; }
    });
    g.addTo(map);
    function feature(f, latlng) {
      var p = f.properties;
      if (p.kind) {
        var n = String(p.tps_count);
        return L.marker(latlng, { icon: L.divIcon({ className: "ptps-count", html: n, iconSize: [28, 28] }),
                                  title: n + " TPS", alt: n + " TPS" });
      }
      var label = "TPS " + String(p.no_tps).padStart(3, "0") + (p.alamat ? " · " + p.alamat : "");
      return L.marker(latlng, { title: label, alt: label }).bindPopup(popup(label, tpsUrl + p.kode_tps));
    }
  }

  function locate(button) {
    var out = button.parentNode.parentNode.querySelector(".near-result") || document.querySelector(".near-result");
    if (!navigator.geolocation || !window.fetch) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      out.textContent = button.dataset.locating;
      navigator.geolocation.getCurrentPosition(function (pos) {
        var q = "?lat=" + pos.coords.latitude.toFixed(6) + "&lon=" + pos.coords.longitude.toFixed(6);
        if (button.dataset.kodeKel) { q += "&kode_kel=" + button.dataset.kodeKel; }
        fetch("/api/v1/nearest" + q, { headers: { Accept: "application/json" } })
          .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
          .then(function (a) { showNearest(out, a); })
          .catch(function () { out.textContent = button.dataset.failed; });
      }, function () { out.textContent = button.dataset.failed; }, { enableHighAccuracy: true, timeout: 15000 });
    });
  }

  function showNearest(out, answer) {
    var p = answer.tps.properties;
    out.textContent = "";
    out.appendChild(el("h3", out.dataset.label));
    var link = el("a", p.nama || ("TPS " + p.no_tps), { href: "/tps/" + p.kode_tps, "class": "nearest-link" });
    var line = el("p");
    line.appendChild(link);
    line.appendChild(document.createTextNode(" · " + (p.alamat || "") + " · " + out.dataset.distance + " " +
                                             Math.round(answer.distance_m) + " m"));
    out.appendChild(line);
    out.appendChild(el("p", out.dataset.note, { "class": "note" }));
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".map[data-points]").forEach(pointsMap);
    document.querySelectorAll(".map[data-tiles]").forEach(tileMap);
    document.querySelectorAll("button.locate").forEach(locate);
  });
})();
