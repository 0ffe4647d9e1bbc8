"""Web settings: environment (``PETATPS_*``) → one object → ``create_app(config)``."""

from __future__ import annotations

import dataclasses
import os
import secrets
from typing import Mapping

from geo.errors import ConfigError
from geo.settings import Settings


@dataclasses.dataclass(frozen=True)
class WebConfig:
    """Settings of the web server.

    ``PETATPS_SECRET_KEY`` (session signing; required in production), ``PETATPS_CORS_ORIGINS`` and
    ``PETATPS_FRAME_ORIGINS`` (comma-separated origins allowed to fetch layers / frame the embed),
    ``PETATPS_RATELIMIT_STORAGE`` (``memory://`` or ``redis://127.0.0.1:6379``), ``PETATPS_BASEMAP_URL``,
    ``PETATPS_API_MAX_LIMIT`` (largest ``limit`` of an API page), ``PETATPS_LOOKUP_LIMIT`` and
    ``PETATPS_LOGIN_LIMIT`` (Flask-Limiter rate strings per client), ``PETATPS_SESSION_MINUTES``
    (officer session lifetime), ``PETATPS_DATA_CHECK_SECONDS`` (how often the store's data version is
    asked), ``PETATPS_TILE_CACHE`` (tiles kept encoded in memory; 0 builds every tile on demand),
    ``PETATPS_PROXY_COUNT`` (trusted reverse proxies in front, for the client address).
    """

    core: Settings
    secret_key: str
    cors_origins: tuple[str, ...] = ()
    frame_origins: tuple[str, ...] = ()
    ratelimit_storage: str = "memory://"
    basemap_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    basemap_attribution: str = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
    api_max_limit: int = 1000
    lookup_limit: str = "10 per minute;60 per hour"
    login_limit: str = "5 per minute;30 per hour"
    session_minutes: int = 30
    data_check_seconds: float = 5.0
    tile_cache_size: int = 4096
    proxy_count: int = 0
    testing: bool = False

    @property
    def accounts_file(self):
        """The officer accounts file (see :mod:`geo.accounts`)."""
        from geo.accounts import accounts_path

        return accounts_path(self.core.home)

    @property
    def secure_cookies(self) -> bool:
        return self.core.env == "production"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "WebConfig":
        env = os.environ if environ is None else environ
        core = overrides.pop("core", None) or Settings.from_env(env)
        secret = env.get("PETATPS_SECRET_KEY")
        if not secret:
            if core.env == "production":
                raise ConfigError("PETATPS_SECRET_KEY must be set in production")
            secret = secrets.token_hex(32)
        values = dict(
            core=core,
            secret_key=secret,
            cors_origins=_origins(env.get("PETATPS_CORS_ORIGINS", "")),
            frame_origins=_origins(env.get("PETATPS_FRAME_ORIGINS", "")),
            ratelimit_storage=env.get("PETATPS_RATELIMIT_STORAGE", "memory://"),
            basemap_url=env.get("PETATPS_BASEMAP_URL", cls.basemap_url),
            api_max_limit=_number(env, "PETATPS_API_MAX_LIMIT", 1000, int, 1),
            lookup_limit=env.get("PETATPS_LOOKUP_LIMIT", cls.lookup_limit),
            login_limit=env.get("PETATPS_LOGIN_LIMIT", cls.login_limit),
            session_minutes=_number(env, "PETATPS_SESSION_MINUTES", 30, int, 1),
            data_check_seconds=_number(env, "PETATPS_DATA_CHECK_SECONDS", 5.0, float, 0),
            tile_cache_size=_number(env, "PETATPS_TILE_CACHE", 4096, int, 0),
            proxy_count=_number(env, "PETATPS_PROXY_COUNT", 0, int, 0),
        )
        values.update(overrides)
        return cls(**values)


def _number(env: Mapping[str, str], name: str, default, kind, minimum):
    text = env.get(name)
    if text is None or text == "":
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {text!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {text!r}")
    return value


def _origins(text: str) -> tuple[str, ...]:
    return tuple(o.strip() for o in text.split(",") if o.strip())
