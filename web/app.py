"""The Flask application factory. Nothing happens at import time."""

from __future__ import annotations

import logging

from flask import Flask

from web.config import WebConfig

log = logging.getLogger(__name__)


def create_app(config: WebConfig | None = None) -> Flask:
    """Build the petatps web app from ``config`` (default: from ``PETATPS_*`` environment variables)."""
    config = config or WebConfig.from_env()
    app = Flask(__name__, static_folder="static", static_url_path="/static")
    app.config.update(SECRET_KEY=config.secret_key, TESTING=config.testing, JSON_SORT_KEYS=False)
    app.extensions["petatps.config"] = config

    from web import errors, health

    errors.register(app)
    app.register_blueprint(health.bp)
    return app


def get_store(app: Flask):
    """The app's store, opened once per app (thread-safe use is the backend's job)."""
    store = app.extensions.get("petatps.store")
    if store is None:
        from geo.store import open_store

        core = app.extensions["petatps.config"].core
        store = open_store(core.db_url, core.home)
        app.extensions["petatps.store"] = store
    return store
