"""Shared fixtures.

PostGIS: tests marked ``postgis`` use ``PETATPS_TEST_DB`` (set by ``scripts/test``). Without it they
skip locally, but under CI (``CI=true``) a missing PostGIS is a failure, never a skip.
Real data: ``../shared/data/real`` beside the checkout; likewise skipped locally, required in CI.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
REAL = ROOT.parent / "shared" / "data" / "real"
IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", default=False, help="also run tests marked slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip_slow = pytest.mark.skip(reason="slow test: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


def _unavailable(message: str):
    if IN_CI:
        pytest.fail(f"{message} (CI=true: this must not be skipped)")
    pytest.skip(message)


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of a real PostGIS database (never mocked)."""
    url = os.environ.get("PETATPS_TEST_DB")
    if not url:
        _unavailable("PETATPS_TEST_DB not set: run the tests through scripts/test to get a PostGIS")
    return url


@pytest.fixture
def pg_schema(pg_url):
    """A fresh, empty PostgreSQL schema name for one test; dropped afterwards."""
    import sqlalchemy as sa

    name = "t_" + uuid.uuid4().hex[:12]
    yield name
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    engine.dispose()


@pytest.fixture(scope="session")
def real_data() -> Path:
    """Folder of the real public Jakarta data (../shared/data/real)."""
    if not REAL.is_dir():
        _unavailable(f"real data not found at {REAL}")
    return REAL


@pytest.fixture(params=["gpkg", "postgis"])
def store(request, tmp_path):
    """An initialised, empty store of each backend (the contract tests run on both)."""
    from geo.store.gpkg import GpkgStore

    if request.param == "gpkg":
        s = GpkgStore(tmp_path / "petatps.gpkg")
    else:
        from geo.store.postgis import PostgisStore

        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        s = PostgisStore(url, schema=schema)
    s.init()
    yield s
    s.close()
