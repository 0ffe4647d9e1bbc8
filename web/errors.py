"""Domain errors → HTTP status codes, in one table; JSON for the API, HTML for pages."""

from __future__ import annotations

import math
import re
import time

from flask import Flask, current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, TooManyRequests

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

_DIGITS16 = re.compile(r"(?<!\d)\d{16}(?!\d)")
# Descriptions that are message keys of web/i18n.py are shown translated on pages.
_TRANSLATED = ("form_expired", "outside_area")


def status_for(exc: Exception) -> int:
    for cls, code in STATUS:
        if isinstance(exc, cls):
            return code
    return 500


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/tiles/")) or request.accept_mimetypes.best == "application/json"


def _respond(code: int, title: str, message: str, headers: dict | None = None):
    # An error may quote the request (a code, a key); a 16-digit run in it could be someone's NIK.
    message = _DIGITS16.sub("<16 digits>", message)
    if _wants_json():
        response = jsonify({"code": code, "title": title, "detail": message})
    else:
        from web.i18n import t

        text = t(message) if message in _TRANSLATED else message
        response = current_app.make_response(render_template("error.html", code=code, message=text))
    response.status_code = code
    response.headers.update(headers or {})
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def _retry_after() -> int:
    """Seconds until the exceeded rate limit lets the client in again."""
    limiter = current_app.extensions.get("petatps.limiter")
    current = limiter.current_limit if limiter is not None else None
    return max(1, math.ceil(current.reset_at - time.time())) if current is not None else 60


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(e.PetatpsError)
    def _domain(exc: e.PetatpsError):
        code = status_for(exc)
        if code >= 500:
            app.logger.error("%s: %s", type(exc).__name__, exc)
        # 5xx details stay in the log; 4xx messages are about the request and safe to show.
        return _respond(code, type(exc).__name__, str(exc) if code < 500 else "internal error")

    @app.errorhandler(TooManyRequests)
    def _throttled(exc: TooManyRequests):
        from web.i18n import t

        wait = _retry_after()
        message = t("too_many", s=wait) if not _wants_json() else f"too many requests; retry in {wait} s"
        return _respond(429, "Too Many Requests", message, {"Retry-After": str(wait)})

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return _respond(exc.code or 500, exc.name, exc.description or exc.name)
