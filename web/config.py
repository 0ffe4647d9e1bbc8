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
    ``PETATPS_API_MAX_LIMIT``.
    """

    core: Settings
    secret_key: str
    cors_origins: tuple[str, ...] = ()
    frame_origins: tuple[str, ...] = ()
    ratelimit_storage: str = "memory://"
    basemap_url: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    basemap_attribution: str = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
    api_max_limit: int = 1000
    testing: bool = False

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
            api_max_limit=int(env.get("PETATPS_API_MAX_LIMIT", "1000")),
        )
        values.update(overrides)
        return cls(**values)


def _origins(text: str) -> tuple[str, ...]:
    return tuple(o.strip() for o in text.split(",") if o.strip())
