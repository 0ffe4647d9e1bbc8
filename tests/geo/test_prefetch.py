"""geo.prefetch: items produced ahead in a thread, in order; errors and early stops reach both sides."""

from __future__ import annotations

import threading
import time

import pytest

from geo.prefetch import prefetch


def test_items_arrive_in_order_and_are_produced_ahead():
    produced = []

    def items():
        for i in range(5):
            produced.append(i)
            yield i

    seen = []
    for item in prefetch(items(), depth=2):
        time.sleep(0.02)      # the producer runs ahead while the consumer is busy
        seen.append((item, len(produced)))
    assert [i for i, _ in seen] == [0, 1, 2, 3, 4]
    assert seen[0][1] >= 2


def test_the_producer_runs_in_another_thread():
    names = []

    def items():
        names.append(threading.current_thread().name)
        yield 1

    assert list(prefetch(items(), name="dpt-reader")) == [1]
    assert names == ["dpt-reader"]


def test_an_error_while_producing_is_raised_to_the_consumer_after_the_items_before_it():
    def items():
        yield 1
        raise ValueError("line 7: bad")

    got = []
    with pytest.raises(ValueError, match="line 7: bad"):
        got.extend(prefetch(items()))
    assert got == [1]


def test_a_consumer_that_stops_early_stops_and_closes_the_producer():
    closed = threading.Event()

    def items():
        try:
            yield from range(1_000_000)
        finally:
            closed.set()

    stream = prefetch(items(), depth=1)
    assert next(stream) == 0
    stream.close()
    assert closed.wait(5)
    assert not any(t.name == "prefetch" for t in threading.enumerate())


def test_a_consumer_error_stops_the_producer():
    def items():
        yield from range(1_000_000)

    with pytest.raises(RuntimeError):
        for item in prefetch(items()):
            if item == 3:
                raise RuntimeError("store failed")
    assert not any(t.name == "prefetch" for t in threading.enumerate())


def test_depth_must_be_positive():
    with pytest.raises(ValueError):
        next(prefetch([1], depth=0))
