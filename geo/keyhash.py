"""Keyed hashes (HMAC-SHA256) of many short values, optionally computed in a helper process.

Hashing a 16-digit NIK costs about 1.5 µs, nearly all of it per-call overhead that holds the GIL
(``hashlib`` releases it only for inputs over 2 KiB), so a million voters spend ~2 s hashing in
one thread whatever the other threads do. :class:`KeyHasher` hands whole batches to one helper
process instead, so a loader can check its next chunk while the helper hashes this one.

The helper is a bare interpreter (``python -I -S``) running :func:`serve` on this file alone
(standard library only), fed through its stdin/stdout pipes: nothing is written to disk, and
unlike :mod:`multiprocessing` it never re-imports the caller's main script. If it cannot be
started or dies, hashing continues in this process. Results are identical either way: the first
16 bytes of HMAC-SHA256(key, value) per value.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import logging
import queue
import struct
import subprocess
import sys
import threading
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, Self

log = logging.getLogger(__name__)

try:  # CPython's own SHA-256: copying its state is a memcpy, ~25% cheaper per short value than OpenSSL's
    from _sha256 import sha256 as _sha256
except ImportError:  # pragma: no cover - other builds (3.12+ names it _sha2)
    _sha256 = hashlib.sha256

DIGEST_BYTES = 16   # digests are truncated to 128 bits (32 hex characters)
_HEADER = struct.Struct("<Q")
# Ctrl-C reaches the whole process group: the helper leaves it to the loader, which closes its pipe.
_HELPER = ("import signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); sys.path.insert(0, sys.argv[1]); "
           "sys.argv[1:] = []; import geo.keyhash as k; k.serve()")


def hmac_digests(key: bytes, blob: bytes, ends: bytes) -> bytes:
    """First 16 bytes of HMAC-SHA256(``key``, value) of each value, concatenated.

    Parameters
    ----------
    key : bytes
        Non-empty secret key.
    blob : bytes
        The values' bytes, one after the other.
    ends : bytes
        The end offset of each value in ``blob`` (native int64, as ``array('q').tobytes()``).
    """
    if not key:
        raise ValueError("a non-empty hash key is required")
    block = (hashlib.sha256(key).digest() if len(key) > 64 else key).ljust(64, b"\x00")
    inner = _sha256(bytes(b ^ 0x36 for b in block))
    outer = _sha256(bytes(b ^ 0x5C for b in block))

    def one(start: int, end: int) -> bytes:
        h = inner.copy()
        h.update(blob[start:end])
        o = outer.copy()
        o.update(h.digest())
        return o.digest()[:DIGEST_BYTES]

    stops = array("q")
    stops.frombytes(ends)
    return b"".join(map(one, [0, *stops[:-1]], stops))


def pack(values: Sequence[bytes]) -> tuple[bytes, bytes]:
    """``(blob, ends)`` of byte strings, as :func:`hmac_digests` takes them."""
    ends, total = array("q"), 0
    for value in values:
        total += len(value)
        ends.append(total)
    return b"".join(values), ends.tobytes()


class KeyHasher:
    """Submit batches of values to be hashed with one key; each :meth:`submit` returns a Future.

    Parameters
    ----------
    key : bytes
        Secret key of the HMAC.
    helper : bool
        Hash in a helper process (started now); ``False`` hashes in the thread calling ``result()``.

    Batches are hashed one at a time, in the order submitted. Use as a context manager (the
    helper process is stopped on exit).
    """

    def __init__(self, key: bytes, *, helper: bool = True):
        if not key:
            raise ValueError("a non-empty hash key is required")
        self.key = key
        self._proc: subprocess.Popen | None = None
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._feeder: threading.Thread | None = None
        if helper:
            self._start()

    @property
    def in_helper(self) -> bool:
        """Whether batches go to a (live) helper process."""
        return self._proc is not None

    def submit(self, blob: bytes, ends: bytes) -> cf.Future:
        """Hash the values packed by :func:`pack`; the Future's result is :func:`hmac_digests`'s."""
        if self._feeder is None:
            return _Deferred(self.key, blob, ends)
        future: cf.Future = cf.Future()
        self._jobs.put((future, blob, ends))
        return future

    def close(self) -> None:
        """Finish the submitted batches and stop the helper."""
        if self._feeder is not None:
            self._jobs.put(None)
            self._feeder.join()
            self._feeder = None
        self._stop_helper()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self) -> None:
        root = str(Path(__file__).resolve().parents[1])
        try:
            self._proc = subprocess.Popen([sys.executable, "-I", "-S", "-c", _HELPER, root],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            _send(self._proc.stdin, self.key)
        except OSError as exc:
            log.debug("no helper process for hashing (%s); hashing in this process", exc)
            self._stop_helper()
            return
        self._feeder = threading.Thread(target=self._feed, name="keyhash-feeder", daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        """Send each batch to the helper and wait for its digests (the GIL is free meanwhile)."""
        while (job := self._jobs.get()) is not None:
            future, blob, ends = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(self._remote(blob, ends))
            except BaseException as exc:  # noqa: BLE001 - raised by the Future's result()
                future.set_exception(exc)

    def _remote(self, blob: bytes, ends: bytes) -> bytes:
        if self._proc is not None:
            try:
                _send(self._proc.stdin, blob, ends)
                digests = _receive(self._proc.stdout)
                if digests is not None and len(digests) == len(ends) // 8 * DIGEST_BYTES:
                    return digests
            except OSError:
                pass
            log.warning("the hashing helper process stopped; hashing in this process")
            self._stop_helper()
        return hmac_digests(self.key, blob, ends)

    def _stop_helper(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        proc.stdout.close()


def serve(stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
    """The helper's loop: read the key, then (blob, ends) batches; answer each with its digests."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    key = _receive(stdin)
    while key is not None and (blob := _receive(stdin)) is not None:
        ends = _receive(stdin) or b""
        _send(stdout, hmac_digests(key, blob, ends))


def _send(stream: BinaryIO, *messages: bytes) -> None:
    for message in messages:
        stream.write(_HEADER.pack(len(message)))
        stream.write(message)
    stream.flush()


def _receive(stream: BinaryIO) -> bytes | None:
    """One length-prefixed message, or None at the end of the stream."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    message = stream.read(size)
    if len(message) < size:
        return None
    return message


class _Deferred(cf.Future):
    """A Future computed in the thread that asks for its result (no helper process)."""

    def __init__(self, key: bytes, blob: bytes, ends: bytes):
        super().__init__()
        self._args = (key, blob, ends)

    def result(self, timeout: float | None = None) -> bytes:
        if not self.done():
            self.set_result(hmac_digests(*self._args))
        return super().result(timeout)
