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
from flask.sessions import SecureCookieSessionInterface
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


class LeanSessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, skipped for data paths (tiles, API, ping) that never use it."""

    skip = ("/tiles/", "/api/", "/ping", "/static/", "/healthz")

    def open_session(self, app: Flask, request):
        if request.path.startswith(self.skip):
            return self.session_class()
        return super().open_session(app, request)


def make_limiter(app: Flask, storage_uri: str) -> Limiter:
    """A Flask-Limiter on the client address (behind ``PETATPS_PROXY_COUNT`` trusted proxies)."""
    limiter = Limiter(get_remote_address, app=app, storage_uri=storage_uri, headers_enabled=True,
                      strategy="moving-window", in_memory_fallback_enabled=True,
                      key_prefix="petatps")
    # Only decorated views are limited, and their wrappers check their own limits; the global
    # before_request check (for application-wide limits we do not use) costs every tile request.
    # Likewise its header injection and context reset run for the (POST) limited views only.
    hooks = app.before_request_funcs.get(None, [])
    hooks[:] = [h for h in hooks if h != limiter._check_request_limit]
    after = app.after_request_funcs.get(None, [])
    after[:] = [_only_post(h) if _belongs_to(h, limiter) else h for h in after]
    teardown = app.teardown_request_funcs.get(None, [])
    teardown[:] = [_only_post(h) if _belongs_to(h, limiter) else h for h in teardown]
    return limiter


def _belongs_to(hook, limiter: Limiter) -> bool:
    owner = getattr(hook, "__self__", None) or (getattr(hook, "args", None) or (None,))[0]
    return owner is limiter


def _only_post(hook):
    def run(arg):
        return hook(arg) if request.method == "POST" else arg
    return run


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

    common = [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer")]
    page = [("Content-Security-Policy", page_csp), ("X-Frame-Options", "DENY"),
            ("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")]
    embed = [("Content-Security-Policy", embed_csp),
             ("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")]
    # Data responses (tiles, JSON) get the no-sniff/referrer pair plus a CSP forbidding everything;
    # documents get the page policy. Built once: this runs on every request.
    data = [*common, ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
            ("X-Frame-Options", "DENY")]
    page, embed = [*common, *page], [*common, *embed]

    @app.after_request
    def _headers(response):
        if response.mimetype != "text/html":
            response.headers.extend(data)
        else:
            response.headers.extend(embed if request.path.startswith("/embed") else page)
        return response

    app.session_interface = LeanSessionInterface()
    app.jinja_env.globals.update(csrf_token=csrf_token, csrf_field=CSRF_FIELD)
    install_log_filter()
    return make_limiter(app, config.ratelimit_storage)
