"""Officer pages (``/petugas``): login, the report of the officer's area, CSV/GeoPackage downloads.

Accounts live in ``PETATPS_HOME/accounts.sqlite`` (:mod:`geo.accounts`, created by
``petatps officer add``). A session holds the username, the area code and an expiry
(``PETATPS_SESSION_MINUTES``); every page checks that the requested area lies inside the officer's
area and answers 403 otherwise.
"""

from __future__ import annotations

import functools
import re
import time

import pandas as pd
from flask import (Blueprint, Response, abort, current_app, g, make_response, redirect, render_template,
                   request, session, url_for)

from geo import accounts
from geo.areas import area_summary
from geo.extract import area_gpkg, tps_csv
from web.answers import tps_view
from web.data import snapshot

bp = Blueprint("officer", __name__, url_prefix="/petugas")
DOWNLOADS = {"csv": "text/csv", "gpkg": "application/geopackage+sqlite3"}


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        expires = session.get("officer_expires", 0)
        if not session.get("officer") or expires < time.time():
            had_session = bool(session.pop("officer", None))
            return redirect(url_for("officer.login_form", expired=int(had_session)))
        g.officer = accounts.Account(session["officer"], session["officer_kode"], session["officer_level"])
        return view(*args, **kwargs)
    return wrapped


@bp.get("/masuk")
def login_form():
    return render_template("login.html", expired=request.args.get("expired") == "1")


def login():
    """``POST /petugas/masuk`` (registered in create_app with the login rate limit)."""
    config = current_app.extensions["petatps.config"]
    account = accounts.authenticate(config.accounts_file, request.form.get("username", ""),
                                    request.form.get("password", ""))
    if account is None:
        current_app.logger.warning("officer login failed")
        return render_template("login.html", failed=True), 401
    csrf = session.get("csrf")
    session.clear()                      # a fresh session on login (no fixation)
    session.update(officer=account.username, officer_kode=account.kode, officer_level=account.level,
                   officer_expires=time.time() + 60 * config.session_minutes, csrf=csrf)
    session.permanent = True
    current_app.logger.info("officer %s logged in", account.username)
    return redirect(url_for("officer.report"))


@bp.post("/keluar")
def logout():
    session.clear()
    return redirect(url_for("pages.home"))


@bp.get("/")
@login_required
def report():
    return area(g.officer.kode)


@bp.get("/wilayah/<kode>")
@login_required
def area(kode: str):
    _check_scope(kode)
    snap = snapshot()
    config = current_app.extensions["petatps.config"]
    summary = area_summary(snap.layer("tps"), snap.layer("kelurahan"), kode, max_per_tps=config.core.max_per_tps)
    flags = snap.tps_by_code()["flags"]
    tps = ([dict(tps_view(snap, k), flags=_text(flags.at[k])) for k in snap.areas().tps_codes(kode)]
           if len(kode) == 10 else [])
    gaps = snap.cached(f"gaps:{kode}", lambda: coverage_gaps(snap, kode, config.core.max_per_tps))
    return _private(render_template("officer.html", kode=kode, summary=summary.to_dict("records"), tps=tps,
                                    gaps=gaps, area=snap.areas().get(kode) if kode in snap.areas() else None))


@bp.get("/unduh/<kode>.<fmt>")
@login_required
def download(kode: str, fmt: str):
    _check_scope(kode)
    if fmt not in DOWNLOADS:
        abort(404, description="download format must be csv or gpkg")
    snap = snapshot()
    body = snap.cached(f"download:{kode}.{fmt}", lambda: _extract(snap, kode, fmt))
    response = Response(body, mimetype=DOWNLOADS[fmt])
    version = re.sub(r"[^0-9A-Za-z]", "", snap.version)[:12]
    response.headers["Content-Disposition"] = f'attachment; filename="petatps-{kode}-{version}.{fmt}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def coverage_gaps(snap, kode: str, max_per_tps: int) -> list[dict] | None:
    """The coverage gaps of the area (:func:`geo.coverage.coverage` over its DPT), small counts
    suppressed as in the public files; built once per data version and area. ``None`` when this
    installation has no coverage module."""
    try:
        from geo.coverage import coverage
        from geo.coverage_gaps import REASONS
        from geo.coverage_report import public_tables
    except ImportError as exc:
        current_app.logger.warning("coverage report unavailable: %s", exc)
        return None

    result = coverage(snap.store.iter_read("voters", kode=kode, chunksize=200_000), snap.layer("tps"),
                      snap.layer("rt"), snap.layer("rw"), snap.layer("kelurahan"), kode=kode, max_per_tps=max_per_tps)
    gaps = public_tables(result)["gaps"].drop(columns="geometry").astype(object)
    rows = gaps.where(gaps.notna(), None).to_dict("records")
    for row in rows:
        row["reason_text"] = REASONS.get(row["reason"], (row["reason"], row["reason"]))
    return rows


def _extract(snap, kode: str, fmt: str) -> bytes:
    """The area's TPS as CSV, or its kelurahan, RW and TPS as a GeoPackage (built once per version)."""
    def within(frame, column):
        return frame[frame[column].astype("string").str.startswith(kode)]

    tps = within(snap.layer("tps"), "kode_kel")
    if fmt == "csv":
        return tps_csv(tps)
    return area_gpkg({"kelurahan": within(snap.kelurahan(), "kode"), "tps": tps, "rw": within(snap.layer("rw"), "kode_kel")})


def _check_scope(kode: str) -> None:
    if not (kode.isdigit() and len(kode) in (4, 6, 10)):
        abort(400, description="area code must be a kota, kecamatan or kelurahan code")
    if not g.officer.covers(kode):
        current_app.logger.warning("officer %s refused area %s", g.officer.username, kode)
        abort(403, description="outside_area")


def _text(value) -> str | None:
    return None if pd.isna(value) else str(value)


def _private(body: str):
    response = make_response(body)
    response.headers["Cache-Control"] = "private, no-store"
    return response
