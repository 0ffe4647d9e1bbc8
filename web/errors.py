"""Domain errors → HTTP status codes, in one table; JSON for the API, HTML for pages."""

from __future__ import annotations

from flask import Flask, jsonify, render_template_string, request
from werkzeug.exceptions import HTTPException

from geo import errors as e

# The one table: the first matching class (most specific first) gives the status.
STATUS: tuple[tuple[type[Exception], int], ...] = (
    (e.NotFoundError, 404),
    (e.CodeError, 400),
    (e.CRSError, 400),
    (e.InputError, 400),
    (e.StoreError, 503),
    (e.ConfigError, 500),
    (e.PetatpsError, 500),
)

_PAGE = """<!doctype html><html lang="id"><meta charset="utf-8"><title>{{ code }}</title>
<link rel="stylesheet" href="/static/petatps.css"><main><h1>{{ code }}</h1><p>{{ message }}</p>
<p><a href="/">Kembali ke beranda / Back to home</a></p></main></html>"""


def status_for(exc: Exception) -> int:
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 500


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/tiles/")) or request.accept_mimetypes.best == "application/json"


def _respond(code: int, title: str, message: str):
    if _wants_json():
        return jsonify({"code": code, "title": title, "detail": message}), code
    return render_template_string(_PAGE, code=code, message=message), code


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(e.PetatpsError)
    def _domain(exc: e.PetatpsError):
        code = status_for(exc)
        if code >= 500:
            app.logger.error("%s: %s", type(exc).__name__, exc)
        # 5xx details stay in the log; 4xx messages are about the request and safe to show.
        return _respond(code, type(exc).__name__, str(exc) if code < 500 else "internal error")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return _respond(exc.code or 500, exc.name, exc.description or exc.name)
