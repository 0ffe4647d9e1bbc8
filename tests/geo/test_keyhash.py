"""geo.keyhash: HMAC-SHA256 digests equal the standard library's, in a helper process or not."""

from __future__ import annotations

import hmac

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.keyhash import DIGEST_BYTES, KeyHasher, hmac_digests, pack

KEY = b"test-key"


def _expected(key: bytes, values: list[bytes]) -> bytes:
    return b"".join(hmac.digest(key, v, "sha256")[:DIGEST_BYTES] for v in values)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=30), st.binary(min_size=1, max_size=100))
def test_digests_equal_hmac_sha256_truncated(values, key):
    # Keys longer than the SHA-256 block are hashed first, as HMAC specifies.
    assert hmac_digests(key, *pack(values)) == _expected(key, values)


@pytest.mark.parametrize("helper", [True, False])
def test_batches_come_back_in_order_from_the_helper_or_this_process(helper):
    batches = [[f"{i:016d}".encode() for i in range(start, start + 1000)] for start in (0, 5000, 10)]
    with KeyHasher(KEY, helper=helper) as hasher:
        assert hasher.in_helper is helper
        futures = [hasher.submit(*pack(b)) for b in batches]
        results = [f.result() for f in futures]
        assert hasher.submit(*pack([])).result() == b""
    assert results == [_expected(KEY, b) for b in batches]
    assert not hasher.in_helper


def test_a_helper_that_dies_is_replaced_by_hashing_here():
    values = [b"3171061708800001", "SITI RAHAYU é".encode()]
    with KeyHasher(KEY) as hasher:
        hasher._proc.kill()
        hasher._proc.wait()
        assert hasher.submit(*pack(values)).result() == _expected(KEY, values)
        assert not hasher.in_helper


def test_a_key_is_required():
    with pytest.raises(ValueError):
        KeyHasher(b"")
    with pytest.raises(ValueError):
        hmac_digests(b"", b"1", pack([b"1"])[1])


def test_the_helper_reads_only_this_module():
    # `python -I -S` on geo/keyhash.py alone: no site-packages, nothing but the standard library.
    with KeyHasher(KEY) as hasher:
        args = hasher._proc.args
    assert args[1:3] == ["-I", "-S"] and "geo.keyhash" in args[4]
