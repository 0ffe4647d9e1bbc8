"""Resident pages: NIK lookup (POST only), browse by area, a page per TPS, nearest TPS of a kelurahan.

Server-rendered HTML that works without JavaScript; the map and "use my location" are progressive
enhancements (``static/petatps.js``). The NIK travels only in a POST body; the result page is sent
with ``Cache-Control: no-store`` and never echoes the NIK.
"""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, render_template, request, url_for

from geo.errors import InputError
from web import answers
from web.data import snapshot

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    return render_template("home.html")


def lookup():
    """``POST /cari``: the NIK form (registered in create_app with the lookup rate limit)."""
    nik = request.form.get("nik", "")
    try:
        answer = answers.lookup_answer(snapshot(), nik)
    except InputError:
        return _private(render_template("home.html", error="invalid_nik"), 400)
    if answer["found"]:
        tps = answers.tps_view(snapshot(), answer["tps"]["id"]) if answer["tps"] else None
        return _private(render_template("result.html", answer=answer, tps=tps))
    return _private(render_template("neutral.html", answer=answer))


@bp.get("/wilayah")
@bp.get("/wilayah/<kode>")
def browse(kode: str | None = None):
    snap = snapshot()
    areas = snap.areas()
    area = areas.get(kode) if kode else None
    children = areas.children(kode)
    tps = ([answers.tps_view(snap, k) for k in areas.tps_codes(kode)]
           if area is not None and area.level in ("kelurahan", "rw", "rt") else [])
    trail = areas.trail(kode) if kode else []
    return render_template("browse.html", area=area, children=children, tps=tps, trail=trail)


@bp.get("/tps/<kode_tps>")
def tps_page(kode_tps: str):
    snap = snapshot()
    tps = answers.tps_view(snap, kode_tps)
    trail = snap.areas().trail(tps["kode_kel"]) if tps["kode_kel"] in snap.areas() else []
    return render_template("tps.html", tps=tps, trail=trail)


@bp.get("/terdekat/<kode_kel>")
def nearest_in_kelurahan(kode_kel: str):
    snap = snapshot()
    answers.check_kelurahan(snap, kode_kel)
    near = snap.lookup().nearest_in_kelurahan(kode_kel)
    tps = answers.tps_view(snap, near.kode_tps) if near else None
    return render_template("nearest.html", tps=tps, near=near, kelurahan=snap.areas().get(kode_kel))


@bp.app_template_global()
def config_basemap() -> str:
    return current_app.extensions["petatps.config"].basemap_url


@bp.app_template_global()
def config_attribution() -> str:
    return current_app.extensions["petatps.config"].basemap_attribution


@bp.app_template_filter("tps_point")
def tps_point(tps: dict) -> dict:
    """The marker of a TPS view for ``_map.html``."""
    return {"lat": tps["lat"], "lon": tps["lon"], "label": tps["nama"] or tps["kode_tps"],
            "url": url_for("pages.tps_page", kode_tps=tps["kode_tps"]), "precision": tps["precision_m"]}


def _private(body: str, status: int = 200):
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response
