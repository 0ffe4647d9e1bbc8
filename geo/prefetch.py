"""Produce the items of an iterable in a background thread while the caller consumes earlier ones.

A DPT load alternates two kinds of work: preparing a chunk (parse, validate, hash: Python and
numpy, holding the GIL) and storing it (PostgreSQL parses ``COPY`` in its own process; SQLite
runs its statements with the GIL released). Done in turn, each waits for the other. With
:func:`prefetch` chunk N+1 is prepared while chunk N is stored, so the two overlap on two cores.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
_POLL_S = 0.1  # how often a blocked producer checks whether the consumer has gone


def prefetch(items: Iterable[T], depth: int = 1, *, name: str = "prefetch") -> Iterator[T]:
    """Yield the items of ``items``, produced in a background thread up to ``depth`` items ahead.

    Parameters
    ----------
    items : iterable
        Produced in a daemon thread, in order; only this thread touches it.
    depth : int
        Finished items that may wait for the consumer (memory: about ``depth + 2`` items alive).
    name : str
        Name of the thread (shown in logs and debuggers).

    Yields
    ------
    The items of ``items``, in order. An exception raised while producing is raised here, after
    the items produced before it. When the consumer stops early (an exception, ``close()``), the
    producer stops after its current item, ``items`` is closed, and the thread is joined.

    Examples
    --------
    >>> list(prefetch(iter(range(3))))
    [0, 1, 2]
    """
    if depth < 1:
        raise ValueError(f"prefetch depth must be >= 1, got {depth}")
    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    worker = threading.Thread(target=_produce, args=(iter(items), handoff, stop), name=name, daemon=True)
    worker.start()
    try:
        while True:
            done, item = handoff.get()
            if done:
                if item is not None:
                    raise item
                return
            yield item
    finally:
        stop.set()
        worker.join()


def _produce(items: Iterator, handoff: queue.Queue, stop: threading.Event) -> None:
    try:
        for item in items:
            if not _put(handoff, (False, item), stop):
                break
        else:
            _put(handoff, (True, None), stop)
            return
    except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
        _put(handoff, (True, exc), stop)
        return
    close = getattr(items, "close", None)
    if close is not None:  # the consumer stopped early: let the producer clean up
        try:
            close()
        except Exception:
            log.exception("closing an abandoned producer failed")


def _put(handoff: queue.Queue, entry: tuple, stop: threading.Event) -> bool:
    """Put ``entry`` unless the consumer has stopped; return whether it was put."""
    while not stop.is_set():
        try:
            handoff.put(entry, timeout=_POLL_S)
            return True
        except queue.Full:
            continue
    return False
