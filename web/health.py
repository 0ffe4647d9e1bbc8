"""``/healthz``: is the store reachable, and which data version does it serve."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from geo.errors import StoreError

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    from web.app import get_store

    try:
        store = get_store(current_app)
        version = store.data_version()
    except StoreError as exc:
        current_app.logger.warning("health check failed: %s", exc)
        return jsonify({"status": "unavailable"}), 503
    return jsonify({"status": "ok", "data_version": version})
