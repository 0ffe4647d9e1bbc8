"""Protection: CSRF tokens on forms, security headers, rate limits, and no NIK in any log line.

- CSRF: a random token per session (signed cookie), in a hidden field of every form; a POST
  form without the matching token gets 400. The JSON API takes ``application/json`` only, which a
  cross-site form cannot send without a CORS preflight we never grant.
- Headers on every response: a Content-Security-Policy without any external script source (the
  base-map image origin is the only outside origin, for ``img-src``), ``nosniff``, ``no-referrer``,
  framing denied except for ``/embed`` (``frame-ancestors`` from ``PETATPS_FRAME_ORIGINS``).
- Rate limits (Flask-Limiter, memory storage or Redis): NIK lookups and officer logins per client
  address; a 429 carries ``Retry-After`` and a plain "try again in N seconds" page (no CAPTCHA).
- :class:`NikFilter` masks any 16-digit run in log records of the app, werkzeug and gunicorn.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, request, session
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

CSRF_FIELD = "csrf_token"
_DIGITS16 = re.compile(r"(?<!\d)\d{16}(?!\d)")
_POST_EXEMPT = ("/api/",)


def csrf_token() -> str:
    """The session's CSRF token (created on first use)."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Abort with 400 unless the POSTed form carries the session's token."""
    sent = request.form.get(CSRF_FIELD, "")
    token = session.get("csrf", "")
    if not token or not sent or not hmac.compare_digest(sent, token):
        abort(400, description="form_expired")


def content_security_policy(basemap_url: str, frame_ancestors: str) -> str:
    """The CSP of every page: own scripts and styles only; base-map tiles as the one image origin."""
    parts = urlsplit(basemap_url.replace("{s}", "a"))
    tiles = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    if "{s}" in basemap_url:
        tiles = f"{parts.scheme}://*.{parts.netloc.split('.', 1)[1]}"
    return ("default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' data: {tiles}".rstrip() + "; connect-src 'self'; font-src 'self'; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; "
            f"frame-ancestors {frame_ancestors}")


def make_limiter(app: Flask, storage_uri: str) -> Limiter:
    """A Flask-Limiter on the client address (behind ``PETATPS_PROXY_COUNT`` trusted proxies)."""
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_uri, headers_enabled=True,
                      strategy="moving-window", in_memory_fallback_enabled=True,
                      key_prefix="petatps")
    return limiter


class NikFilter(logging.Filter):
    """Replace any run of exactly 16 digits in a log record by ``<16 digits>``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if _DIGITS16.search(message):
            record.msg, record.args = _DIGITS16.sub("<16 digits>", message), ()
        return True


def install_log_filter() -> None:
    """Attach :class:`NikFilter` to the handlers and loggers that may see request data."""
    flt = NikFilter()
    for name in ("", "werkzeug", "gunicorn.access", "gunicorn.error", "web", "geo"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, NikFilter) for f in logger.filters):
            logger.addFilter(flt)
        for handler in logger.handlers:
            if not any(isinstance(f, NikFilter) for f in handler.filters):
                handler.addFilter(flt)


def register(app: Flask, config) -> Limiter:
    """CSRF check, security headers and the limiter; returns the limiter for view decorators."""
    page_csp = content_security_policy(config.basemap_url, "'none'")
    embed_csp = content_security_policy(config.basemap_url, " ".join(("'self'", *config.frame_origins)))

    @app.before_request
    def _csrf():
        if request.method == "POST" and not request.path.startswith(_POST_EXEMPT):
            check_csrf()

    @app.after_request
    def _headers(response):
        h = response.headers
        embed = request.path.startswith("/embed")
        h.setdefault("Content-Security-Policy", embed_csp if embed else page_csp)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "no-referrer")
        h.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
        if not embed:
            h.setdefault("X-Frame-Options", "DENY")
        return response

    app.jinja_env.globals.update(csrf_token=csrf_token, csrf_field=CSRF_FIELD)
    install_log_filter()
    return make_limiter(app, config.ratelimit_storage)
