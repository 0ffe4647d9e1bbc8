"""Paged feature collections: bbox (exact), limit, key cursor, restriction to keys."""

from __future__ import annotations

import orjson
import pytest

from geo.collections import FeatureTable, check_bbox, parse_bbox
from geo.errors import InputError
from tests.web import city


@pytest.fixture(scope="module")
def tps():
    return FeatureTable.from_frame(city.frames()["tps"], "tps")


def _ids(page):
    return [orjson.loads(b)["id"] for b in page.blobs]


def test_pages_cover_everything_once(tps):
    seen, after = [], None
    while True:
        page = tps.page(limit=4, after=after)
        seen += _ids(page)
        assert page.matched == 9
        if page.next_key is None:
            break
        after = page.next_key
    assert seen == sorted(seen) and len(seen) == 9 == len(set(seen))


def test_bbox_is_exact_and_skips_unplaced(tps):
    page = tps.page(limit=100, bbox=(106.80, -6.25, 106.81, -6.24))
    assert _ids(page) == ["3171011001001", "3171011001002"] and page.matched == 2 and page.next_key is None
    assert tps.page(limit=100, bbox=(100.0, -1.0, 100.1, -0.9)).blobs == []


def test_polygon_bbox_uses_geometry_not_envelope():
    kel = FeatureTable.from_frame(city.frames()["kelurahan"], "kelurahan")
    assert len(kel.page(limit=10, bbox=(106.815, -6.245, 106.816, -6.244)).blobs) == 1


def test_keys_restriction_and_get(tps):
    page = tps.page(limit=10, keys=["3171021001002", "nope"])
    assert _ids(page) == ["3171021001002"]
    assert orjson.loads(tps.get("3171011001001"))["properties"]["no_tps"] == 1
    assert tps.get("3171011001999") is None


@pytest.mark.parametrize("bbox", [(1, 2, 3), (106.9, -6.3, 106.8, -6.2), (0, -91, 1, 0), (float("nan"), 0, 1, 1)])
def test_bad_bbox(bbox):
    with pytest.raises(InputError):
        check_bbox(bbox)


def test_parse_bbox():
    assert parse_bbox("106.8,-6.3,106.9,-6.2") == (106.8, -6.3, 106.9, -6.2)
    with pytest.raises(InputError):
        parse_bbox("a,b,c,d")
    with pytest.raises(InputError):
        FeatureTable.from_frame(city.frames()["tps"], "tps").page(limit=0)
