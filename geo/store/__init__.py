"""Storage behind one interface (:class:`geo.store.base.Store`) with two backends.

- :mod:`geo.store.postgis` — PostGIS through GeoAlchemy2 (production); all its SQL lives there.
- :mod:`geo.store.gpkg` — an embedded GeoPackage file (default; no server; opens in QGIS).

Use :func:`open_store` to get one from a URL or the home folder.
"""

from __future__ import annotations

from pathlib import Path

from geo.store.base import Store


def open_store(db_url: str | None = None, home: str | Path = "petatps-data") -> Store:
    """Open the PostGIS store at ``db_url`` or, without one, the embedded GeoPackage under ``home``.

    ``db_url`` may be ``postgresql://...`` (PostGIS; an optional ``?schema=NAME`` query parameter
    selects the schema, default ``petatps``) or ``gpkg:///path/to/file.gpkg``.
    """
    if db_url and db_url.startswith(("postgresql", "postgres://")):
        from sqlalchemy.engine import make_url

        from geo.store.postgis import PostgisStore

        url = make_url(db_url)
        schema = url.query.get("schema", "petatps")
        return PostgisStore(url.difference_update_query(["schema"]).render_as_string(hide_password=False),
                            schema=schema)
    from geo.store.gpkg import GpkgStore

    if db_url and db_url.startswith("gpkg://"):
        return GpkgStore(Path(db_url[len("gpkg://"):]))
    return GpkgStore(Path(home) / "petatps.gpkg")


__all__ = ["Store", "open_store"]
