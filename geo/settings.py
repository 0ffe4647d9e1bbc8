"""Settings: environment → one immutable object → function arguments.

``PETATPS_DB``       SQLAlchemy URL of a PostGIS database (``postgresql://...``); unset → embedded store.
``PETATPS_HOME``     folder of the embedded store, reports and exports (default ``./petatps-data``).
``PETATPS_NIK_KEY``  secret key for the keyed NIK/KK hash (required in production).
``PETATPS_ENV``      ``development`` (default) or ``production``.
``PETATPS_MAX_PER_TPS`` voters-per-TPS cap (default 300, Pemilu 2024; Pilkada 2024: 600).
``PETATPS_BASEMAP_URL``, ``PETATPS_BASEMAP_ATTRIBUTION`` raster base map of maps and pages
                     (default OpenStreetMap tiles with attribution).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Mapping

from geo.errors import ConfigError

DEV_NIK_KEY = "petatps-development-key-not-for-production"
MIN_NIK_KEY_LENGTH = 16
OSM_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'


@dataclasses.dataclass(frozen=True)
class Settings:
    db_url: str | None = None
    home: Path = Path("petatps-data")
    nik_key: str = DEV_NIK_KEY
    env: str = "development"
    max_per_tps: int = 300
    basemap_url: str = OSM_URL
    basemap_attribution: str = OSM_ATTRIBUTION

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides) -> "Settings":
        env = os.environ if environ is None else environ
        values = {
            "db_url": env.get("PETATPS_DB") or None,
            "home": Path(env.get("PETATPS_HOME", "petatps-data")),
            "nik_key": env.get("PETATPS_NIK_KEY", DEV_NIK_KEY),
            "env": env.get("PETATPS_ENV", "development"),
            "max_per_tps": _int(env.get("PETATPS_MAX_PER_TPS", "300"), "PETATPS_MAX_PER_TPS"),
            "basemap_url": env.get("PETATPS_BASEMAP_URL", OSM_URL),
            "basemap_attribution": env.get("PETATPS_BASEMAP_ATTRIBUTION", OSM_ATTRIBUTION),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        s = cls(**values)
        s.check()
        return s

    def check(self) -> None:
        if self.env not in ("development", "production", "test"):
            raise ConfigError(f"PETATPS_ENV must be development, production or test, got {self.env!r}")
        if self.env == "production" and self.nik_key == DEV_NIK_KEY:
            raise ConfigError("PETATPS_NIK_KEY must be set to a secret in production")
        if len(self.nik_key) < MIN_NIK_KEY_LENGTH:
            # A short key makes the keyed NIK hash guessable (the NIK space is small).
            raise ConfigError(f"PETATPS_NIK_KEY must be at least {MIN_NIK_KEY_LENGTH} characters "
                              f"(got {len(self.nik_key)})")
        if self.max_per_tps < 1:
            raise ConfigError(f"max voters per TPS must be positive, got {self.max_per_tps}")

    @property
    def nik_key_bytes(self) -> bytes:
        return self.nik_key.encode("utf-8")


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {text!r}") from None
