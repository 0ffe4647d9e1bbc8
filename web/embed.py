"""``/embed``: a minimal map of one area that other sites may frame, and the snippet to do so.

Only the origins in ``PETATPS_FRAME_ORIGINS`` (and this site) may frame ``/embed`` (CSP
``frame-ancestors``, set in ``web/security.py``); every other page refuses framing.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request, url_for

from geo.areas import area_bounds
from geo.codes import parse_wilayah
from web.data import snapshot

bp = Blueprint("embed", __name__)


@bp.get("/embed")
def embed():
    kode, snap = _area_code(), snapshot()
    bounds = area_bounds(snap.layer("kelurahan"), kode)
    if bounds is None:
        abort(404, description=f"no kelurahan under area {kode} in the store")
    return render_template("embed.html", kode=kode, bounds=bounds, version=snap.version,
                           area=snap.areas().get(kode) if kode in snap.areas() else None)


@bp.get("/embed/snippet")
def snippet():
    kode = _area_code()
    src = url_for("embed.embed", kode=kode, _external=True)
    code = (f'<iframe src="{src}" title="Peta TPS {kode}" width="100%" height="480" '
            'style="border:0" loading="lazy" referrerpolicy="no-referrer"></iframe>')
    return render_template("snippet.html", kode=kode, code=code, src=src)


def _area_code() -> str:
    text = request.args.get("kode")
    if not text:
        abort(400, description="kode is required: a kota, kecamatan or kelurahan code, e.g. 3171")
    kode = parse_wilayah(text)
    if len(kode) not in (4, 6, 10):
        abort(400, description="kode must be a kota (4), kecamatan (6) or kelurahan (10 digit) code")
    return kode
