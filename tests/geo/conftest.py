"""Fixtures shared by the tests of geo/: a two-worker dask.distributed cluster of separate processes."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1 (see ``tests.geo.test_batch.Cluster``)."""
    pytest.importorskip("distributed")
    from tests.geo.test_batch import Cluster

    c = Cluster(tmp_path_factory.mktemp("dask"))
    try:
        c.add_worker()
        c.add_worker()
        c.client(2).close()
        yield c
    finally:
        c.close()
