"""Small stream helpers shared by the crypto layer and the backends.

Everything here exists to keep memory bounded and copies few: readers that
return exactly the requested number of bytes (minio builds multipart parts
with ``bytes +=`` per ``read()`` call, quadratic with short reads) and a
buffer that turns an iterator of arbitrary chunks into exact reads.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable


@runtime_checkable
class Readable(Protocol):
    """Anything with a binary ``read(n)``: files, sockets, HTTP responses."""

    def read(self, n: int = -1, /) -> bytes: ...


def read_exactly(source: Readable, n: int) -> bytes:
    """Read `n` bytes, fewer only at end of stream."""
    data = source.read(n)
    if len(data) == n or not data:
        return bytes(data)
    parts = [data]
    got = len(data)
    while got < n:
        more = source.read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class ExactReader:
    """Wrap a readable or an iterable of chunks so ``read(n)`` returns exactly
    `n` bytes until the end of the stream."""

    def __init__(self, source: Readable | Iterable[bytes]) -> None:
        self._file: Readable | None = source if isinstance(source, Readable) else None
        self._chunks: Iterator[bytes] | None = (
            None if self._file is not None else iter(source)  # type: ignore[arg-type]
        )
        self._buf = bytearray()

    def read(self, n: int = -1, /) -> bytes:
        if self._file is not None:
            if n < 0:
                return bytes(self._file.read())
            return read_exactly(self._file, n)
        assert self._chunks is not None
        if n < 0:
            data = bytes(self._buf) + b"".join(self._chunks)
            self._buf.clear()
            return data
        if not self._buf:
            # Fast path without copying: a chunk that is exactly what we need.
            for chunk in self._chunks:
                if len(chunk) == n:
                    return bytes(chunk)
                self._buf += chunk
                break
        while len(self._buf) < n:
            more = next(self._chunks, None)
            if more is None:
                break
            self._buf += more
        out = bytes(self._buf[:n])
        del self._buf[:n]  # bytearray deletes from the front in O(1)
        return out
