"""Reading the store no faster than the fixity rate: an `ObjectStore` that hands its reads
to a `Pace`, so `EncryptedStore.verify` is paced inside a large object too."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime

from archive_service.fixity.rules import pause
from storage.backends.base import ObjectStore
from storage.streams import Readable


class Pace:
    """Counts bytes read since it started and sleeps whenever reading ran ahead of the rate.
    The clock and the sleep are the process's own unless a caller (a test) gives others."""

    def __init__(
        self,
        bytes_per_s: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bytes_per_s = bytes_per_s
        self._clock, self._sleep = clock, sleep
        self.started = clock()
        self.done = 0
        self.slept = 0.0

    def spent(self, n: int) -> None:
        self.done += n
        wait = pause(self.done, self._clock() - self.started, self.bytes_per_s)
        if wait > 0:
            self.slept += wait
            self._sleep(wait)

    @property
    def elapsed(self) -> float:
        return self._clock() - self.started


class _PacedBody:
    def __init__(self, body: Readable, pace: Pace) -> None:
        self._body, self._pace = body, pace

    def read(self, n: int = -1, /) -> bytes:
        data = self._body.read(n)
        self._pace.spent(len(data))
        return data


class PacedStore(ObjectStore):
    """Reads through ``inner`` at the pace's rate; everything else goes straight through."""

    def __init__(self, inner: ObjectStore, pace: Pace) -> None:
        self.inner, self.pace = inner, pace

    def get(self, name: str) -> AbstractContextManager[Readable]:
        return self._get(name)

    @contextmanager
    def _get(self, name: str) -> Iterator[Readable]:
        with self.inner.get(name) as body:
            yield _PacedBody(body, self.pace)

    def get_range(self, name: str, offset: int, length: int) -> bytes:
        data = self.inner.get_range(name, offset, length)
        self.pace.spent(len(data))
        return data

    def put(self, name: str, reader: Readable, length: int | None = None) -> None:
        self.inner.put(name, reader, length)

    def delete(self, name: str) -> list[str]:
        return self.inner.delete(name)

    def exists(self, name: str) -> bool:
        return self.inner.exists(name)

    def stored_at(self, name: str) -> datetime:
        return self.inner.stored_at(name)

    def list_names(self) -> Iterator[str]:
        return self.inner.list_names()

    def check(self) -> None:
        self.inner.check()

    def ensure_ready(self) -> None:
        self.inner.ensure_ready()
