"""The Flask application factory. Nothing happens at import time."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from flask import Flask, Response

from web.config import WebConfig

log = logging.getLogger(__name__)


def create_app(config: WebConfig | None = None) -> Flask:
    """Build the petatps web app from ``config`` (default: from ``PETATPS_*`` environment variables).

    Blueprints: ``health`` (/healthz), ``pages`` (resident pages), ``officer`` (/petugas), ``api``
    (/api/v1), ``tiles`` (/tiles), ``embed`` (/embed). The store is opened on first use
    (:func:`get_store`) and its data served from the per-version cache of :mod:`web.data`.
    """
    config = config or WebConfig.from_env()
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config.update(SECRET_KEY=config.secret_key, TESTING=config.testing, JSON_SORT_KEYS=False,
                      SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SECURE=config.secure_cookies,
                      PERMANENT_SESSION_LIFETIME=dt.timedelta(minutes=config.session_minutes),
                      MAX_CONTENT_LENGTH=64 * 1024, SEND_FILE_MAX_AGE_DEFAULT=3600)
    app.extensions["petatps.config"] = config
    app.extensions["petatps.store_lock"] = threading.Lock()
    if config.proxy_count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.proxy_count, x_proto=config.proxy_count,
                                x_host=config.proxy_count)

    from web import api, data, embed, errors, health, http, i18n, officer, pages, security, tiles

    data.install(app, lambda: get_store(app))
    errors.register(app)
    i18n.register(app)
    limiter = security.register(app, config)
    http.register(app, config)
    app.extensions["petatps.limiter"] = limiter
    for bp in (health.bp, pages.bp, officer.bp, api.bp, tiles.bp, embed.bp):
        app.register_blueprint(bp)
    # The rate-limited POST views are added per app (a module-level blueprint cannot carry a
    # per-app limit). NIK lookups from the page and the API share one budget per client.
    nik_limit = limiter.shared_limit(config.lookup_limit, scope="nik-lookup")
    app.add_url_rule("/cari", "pages.lookup", nik_limit(pages.lookup), methods=["POST"])
    app.add_url_rule("/api/v1/lookup", "api.lookup", nik_limit(api.lookup), methods=["POST"])
    app.add_url_rule("/petugas/masuk", "officer.login", limiter.limit(config.login_limit)(officer.login),
                     methods=["POST"])
    app.add_url_rule("/ping", "ping", _ping)
    return app


def _ping() -> Response:
    """Fixed bytes through the whole stack (the benchmark's ceiling)."""
    return Response(b"pong", mimetype="text/plain")


def get_store(app: Flask):
    """The app's store, opened once per app (thread-safe use is the backend's job)."""
    store = app.extensions.get("petatps.store")
    if store is None:
        with app.extensions.setdefault("petatps.store_lock", threading.Lock()):
            store = app.extensions.get("petatps.store")
            if store is None:
                from geo.store import open_store

                core = app.extensions["petatps.config"].core
                store = open_store(core.db_url, core.home)
                app.extensions["petatps.store"] = store
    return store
