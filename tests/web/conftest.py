"""Fixtures of the web tests: the tiny city (tests/web/city.py) in a real store, and apps over it.

The city is loaded once per session into a GeoPackage and, for the tests that ask for both
backends, into a PostGIS schema (dropped at the end). Apps open the store by URL like production.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.web import city


@pytest.fixture(scope="session")
def gpkg_city(tmp_path_factory) -> str:
    """URL of a GeoPackage store holding the city."""
    from geo.store.gpkg import GpkgStore

    path = tmp_path_factory.mktemp("city") / "petatps.gpkg"
    store = GpkgStore(path)
    store.init()
    city.load(store)
    store.close()
    return f"gpkg://{path}"


@pytest.fixture(scope="session")
def postgis_city(pg_url) -> str:
    """URL (with ``?schema=``) of a PostGIS schema holding the city."""
    import sqlalchemy as sa

    from geo.store.postgis import PostgisStore

    schema = "t_web_" + uuid.uuid4().hex[:10]
    store = PostgisStore(pg_url, schema=schema)
    store.init()
    city.load(store)
    store.close()
    sep = "&" if "?" in pg_url else "?"
    yield f"{pg_url}{sep}schema={schema}"
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def make_config(db_url: str, home: Path, **overrides):
    from geo.settings import Settings
    from web.config import WebConfig

    core = Settings(db_url=db_url, home=home, nik_key=city.NIK_KEY.decode(), env="test")
    values = dict(core=core, secret_key="test-secret", testing=True, data_check_seconds=0.0,
                  cors_origins=("https://smartcity.example",), frame_origins=("https://smartcity.example",),
                  api_max_limit=5)
    values.update(overrides)
    return WebConfig(**values)


@pytest.fixture
def make_app(gpkg_city, tmp_path):
    """Factory: an app over the GeoPackage city with config overrides."""
    from web.app import create_app

    apps = []

    def build(db_url: str | None = None, **overrides):
        app = create_app(make_config(db_url or gpkg_city, tmp_path, **overrides))
        apps.append(app)
        return app

    yield build
    for app in apps:
        store = app.extensions.get("petatps.store")
        if store is not None:
            store.close()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(params=["gpkg", "postgis"])
def any_client(request, make_app):
    """A client of an app over each backend."""
    url = request.getfixturevalue(f"{request.param}_city")
    return make_app(url).test_client()


def csrf_from(html: str) -> str:
    """The CSRF token of the first form in a page."""
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
