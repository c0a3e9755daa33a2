"""Streaming envelope encryption: AES-256-GCM in fixed-size segments (STREAM).

Why segments: an archive object may be gigabytes, and one GCM message would
need the whole file in memory to verify before releasing any plaintext.
Segments are verified one at a time, so memory stays bounded and no
unverified byte is ever returned.  Segment position and "last segment" are in
the nonce (the STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár),
so reordering, truncation and appending are detected; the header and the
object's identity are associated data, so header edits and swapping two
objects are detected too.  The exact byte layout is in docs/storage-format.md.

Object layout::

    header (16 bytes) | segment 0 | segment 1 | ... | segment n-1 (final)
    segment i = AES-256-GCM(dek, nonce_i, plaintext_i, ad) = ciphertext_i || tag (16)
    nonce_i   = prefix (7) || i as uint32 big-endian (4) || final flag (1)
    ad        = header (16) || object_id (UTF-8)
"""

from __future__ import annotations

import hashlib
import io
import secrets
import struct
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from storage.errors import IntegrityError
from storage.keyring import KEY_SIZE, Keyring, WrappedKey, new_data_key
from storage.streams import ExactReader, Readable, read_exactly

__all__ = [
    "DEFAULT_SEGMENT_SIZE",
    "HEADER_SIZE",
    "TAG_SIZE",
    "EncryptingReader",
    "Header",
    "Keyring",
    "WrappedKey",
    "ciphertext_size",
    "decrypt_bytes",
    "decrypt_stream",
    "encrypt_bytes",
    "iter_range",
    "new_data_key",
    "read_range",
]

MAGIC = b"\x89ARC"
FORMAT_VERSION = 1
_HEADER = struct.Struct(">4sBI7s")  # magic, version, segment size, nonce prefix
HEADER_SIZE = _HEADER.size  # 16
NONCE_PREFIX_SIZE = 7
TAG_SIZE = 16
DEFAULT_SEGMENT_SIZE = 1 << 20
MIN_SEGMENT_SIZE = 64
# Upper bound so a forged header cannot make a reader allocate without limit.
MAX_SEGMENT_SIZE = 64 << 20
_MAX_SEGMENTS = 1 << 32  # 4-byte counter
_FINAL, _NOT_FINAL = b"\x01", b"\x00"
_MAX_OBJECT_ID = 1024

RangeFetcher = Callable[[int, int], bytes]
"""``fetch(offset, length) -> bytes`` over the stored ciphertext."""


def _check_segment_size(segment_size: int) -> None:
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise ValueError(
            f"segment size must be {MIN_SEGMENT_SIZE}..{MAX_SEGMENT_SIZE} bytes, got {segment_size}"
        )


def segment_count(plaintext_size: int, segment_size: int = DEFAULT_SEGMENT_SIZE) -> int:
    """Segments in an object; an empty plaintext still has one (final) segment."""
    return max(1, -(-plaintext_size // segment_size))


def ciphertext_size(plaintext_size: int, segment_size: int = DEFAULT_SEGMENT_SIZE) -> int:
    """Exact stored size of an object holding `plaintext_size` bytes."""
    if plaintext_size < 0:
        raise ValueError("plaintext size must be >= 0")
    return HEADER_SIZE + plaintext_size + TAG_SIZE * segment_count(plaintext_size, segment_size)


@dataclass(frozen=True)
class Header:
    segment_size: int
    nonce_prefix: bytes
    version: int = FORMAT_VERSION

    def to_bytes(self) -> bytes:
        return _HEADER.pack(MAGIC, self.version, self.segment_size, self.nonce_prefix)

    @classmethod
    def new(cls, segment_size: int) -> Header:
        _check_segment_size(segment_size)
        return cls(segment_size, secrets.token_bytes(NONCE_PREFIX_SIZE))

    @classmethod
    def parse(cls, raw: bytes) -> Header:
        if len(raw) < HEADER_SIZE:
            raise IntegrityError("object is truncated: incomplete header")
        magic, version, segment_size, prefix = _HEADER.unpack(raw[:HEADER_SIZE])
        if magic != MAGIC:
            raise IntegrityError("not an encrypted archive object (bad magic bytes)")
        if version != FORMAT_VERSION:
            raise IntegrityError(f"unsupported encryption format version {version}")
        if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
            raise IntegrityError(f"invalid segment size {segment_size} in header")
        return cls(segment_size, prefix, version)


class _SegmentCipher:
    """AES-GCM with the STREAM nonce and the object-binding associated data."""

    def __init__(self, dek: bytes, header: Header, object_id: str) -> None:
        if len(dek) != KEY_SIZE:
            raise ValueError(f"data key must be {KEY_SIZE} bytes")
        oid = object_id.encode("utf-8")
        if len(oid) > _MAX_OBJECT_ID:
            raise ValueError("object_id is too long")
        self._aead = AESGCM(dek)
        self._prefix = header.nonce_prefix
        self._ad = header.to_bytes() + oid

    def _nonce(self, index: int, final: bool) -> bytes:
        if index >= _MAX_SEGMENTS:
            raise ValueError("stream has too many segments for its segment size")
        return self._prefix + index.to_bytes(4, "big") + (_FINAL if final else _NOT_FINAL)

    def encrypt(self, index: int, data: bytes, final: bool) -> bytes:
        return self._aead.encrypt(self._nonce(index, final), data, self._ad)

    def decrypt(self, index: int, data: bytes | memoryview, final: bool) -> bytes:
        try:
            return self._aead.decrypt(self._nonce(index, final), data, self._ad)
        except InvalidTag:
            raise IntegrityError(
                f"segment {index} failed authentication: the object was modified, "
                "truncated, reordered or swapped, or the data key is wrong"
            ) from None


# SHA-256 of full segments runs in a helper thread so it overlaps with
# AES-GCM and the backend's writes (hashlib releases the GIL on large buffers;
# on one core SHA-256 is 5x slower than AES-GCM and would dominate uploads).
# A few segments may be queued, to absorb jitter, at a bounded memory cost.
_THREADED_HASH_MIN = 256 << 10  # smaller segments: hand-off costs more than it saves
_HASH_LAG = 4


class EncryptingReader:
    """File-like view of `source` encrypted: ``read(n)`` returns ciphertext,
    exactly `n` bytes until the end.

    Memory is a few segments (one read ahead, up to `_HASH_LAG` awaiting the
    hash thread) plus what one ``read(n)`` asks for, regardless of the
    stream's length.  After the end of the stream, `sha256` (hex) and `plaintext_size` describe the
    plaintext and `ciphertext_size` the bytes produced.
    """

    def __init__(
        self,
        source: Readable,
        dek: bytes,
        object_id: str,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
    ) -> None:
        self._header = Header.new(segment_size)
        self._cipher = _SegmentCipher(dek, self._header, object_id)
        self._src = source
        self._seg = segment_size
        self._sha = hashlib.sha256()
        self._hasher: ThreadPoolExecutor | None = None
        self._hash_jobs: deque[Future[None]] = deque()
        self._pieces: deque[bytes] = deque([self._header.to_bytes()])
        self._pos = 0  # offset into _pieces[0]
        self._avail = HEADER_SIZE
        self._lookahead: bytes | None = None
        self._index = 0
        self._eof = False
        self._plain_size = 0
        self._cipher_size = HEADER_SIZE
        self._digest: str | None = None

    # -- results --------------------------------------------------------------

    @property
    def sha256(self) -> str:
        if self._digest is None:
            raise RuntimeError("sha256 is known only after the whole stream was read")
        return self._digest

    @property
    def plaintext_size(self) -> int:
        return self._plain_size

    @property
    def ciphertext_size(self) -> int:
        return self._cipher_size

    @property
    def finished(self) -> bool:
        return self._digest is not None

    # -- production -------------------------------------------------------------

    def _hash(self, data: bytes) -> None:
        if len(data) >= _THREADED_HASH_MIN:
            if self._hasher is None:  # one worker: updates stay in order
                self._hasher = ThreadPoolExecutor(1, thread_name_prefix="storage-sha256")
            self._hash_jobs.append(self._hasher.submit(self._sha.update, data))
            if len(self._hash_jobs) > _HASH_LAG:
                self._hash_jobs.popleft().result()
        else:
            self._drain_hasher()
            self._sha.update(data)

    def _drain_hasher(self, stop: bool = False) -> None:
        while self._hash_jobs:
            self._hash_jobs.popleft().result()
        if stop and self._hasher is not None:
            self._hasher.shutdown()
            self._hasher = None

    def _produce(self) -> None:
        """Encrypt the next segment into the buffer (or finish the stream)."""
        plain = (
            self._lookahead if self._lookahead is not None else read_exactly(self._src, self._seg)
        )
        if len(plain) < self._seg:
            final, self._lookahead = True, None
        else:
            # A full segment is final only if nothing follows: read one ahead.
            self._lookahead = read_exactly(self._src, self._seg)
            final = not self._lookahead
        self._hash(plain)
        block = self._cipher.encrypt(self._index, plain, final)
        self._index += 1
        self._plain_size += len(plain)
        self._cipher_size += len(block)
        self._pieces.append(block)
        self._avail += len(block)
        if final:
            self._eof = True
            self._drain_hasher(stop=True)
            self._digest = self._sha.hexdigest()

    # -- file-like API ----------------------------------------------------------

    def readable(self) -> bool:
        return True

    def read1(self, n: int = -1, /) -> bytes:
        """Up to `n` bytes without joining buffers (one segment at most)."""
        if not self._pieces and not self._eof:
            self._produce()
        if not self._pieces:
            return b""
        head = self._pieces[0]
        left = len(head) - self._pos
        take = left if n < 0 else min(n, left)
        if self._pos == 0 and take == len(head):
            self._pieces.popleft()
            out = head
        else:
            out = head[self._pos : self._pos + take]
            self._pos += take
            if self._pos == len(head):
                self._pieces.popleft()
                self._pos = 0
        self._avail -= take
        return out

    def read(self, n: int = -1, /) -> bytes:
        if n < 0:
            return b"".join(iter(self.read1, b""))
        while self._avail < n and not self._eof:
            self._produce()
        if self._pieces and self._pos == 0 and len(self._pieces[0]) == n:
            return self.read1(n)  # a whole segment: no copy
        parts: list[bytes | memoryview] = []
        need = n
        while need and self._pieces:
            head = self._pieces[0]
            take = min(need, len(head) - self._pos)
            parts.append(memoryview(head)[self._pos : self._pos + take])
            self._pos += take
            need -= take
            if self._pos == len(head):
                self._pieces.popleft()
                self._pos = 0
        self._avail -= n - need
        return b"".join(parts)

    def close(self) -> None:
        self._drain_hasher(stop=True)
        self._pieces.clear()
        self._lookahead = None


def decrypt_stream(
    source: Readable | Iterable[bytes], dek: bytes, object_id: str
) -> Generator[bytes, None, None]:
    """Yield the plaintext of a whole object, one verified segment at a time.

    `source` is a binary file-like object or an iterable of ciphertext chunks
    of any size.  Raises `IntegrityError` at the first segment that does not
    verify (nothing of it or after it is yielded).  The caller closes `source`.
    """
    reader = ExactReader(source)
    header = Header.parse(reader.read(HEADER_SIZE))
    cipher = _SegmentCipher(dek, header, object_id)
    block_size = header.segment_size + TAG_SIZE
    block = reader.read(block_size)
    index = 0
    while True:
        if len(block) < TAG_SIZE:
            raise IntegrityError(f"object is truncated: segment {index} is missing or incomplete")
        # A short block must be final; a full one is final only if nothing follows.
        following = reader.read(block_size) if len(block) == block_size else b""
        plain = cipher.decrypt(index, block, final=not following)
        if plain:
            yield plain
        if not following:
            return
        block = following
        index += 1


def iter_range(
    fetch: RangeFetcher,
    dek: bytes,
    object_id: str,
    plaintext_size: int,
    start: int,
    length: int,
    max_fetch: int = 8 << 20,
) -> Iterator[bytes]:
    """Yield plaintext bytes ``[start, start+length)`` (clipped to the object),
    fetching and verifying only the segments that cover them.

    `plaintext_size` is the size recorded when the object was stored; it
    tells which segment is final, so a truncated object fails verification.
    Segments are fetched in batches of about `max_fetch` bytes.
    """
    if start < 0 or length < 0 or plaintext_size < 0:
        raise ValueError("start, length and plaintext_size must be >= 0")
    end = min(start + length, plaintext_size)
    if start >= end:
        return
    header = Header.parse(fetch(0, HEADER_SIZE))
    cipher = _SegmentCipher(dek, header, object_id)
    seg = header.segment_size
    block_size = seg + TAG_SIZE
    last = segment_count(plaintext_size, seg) - 1
    first_idx, last_idx = start // seg, (end - 1) // seg
    per_fetch = max(1, max_fetch // block_size)
    for batch_start in range(first_idx, last_idx + 1, per_fetch):
        batch_end = min(batch_start + per_fetch, last_idx + 1)  # exclusive
        offset = HEADER_SIZE + batch_start * block_size
        # Only the object's final segment may be shorter than a full block.
        size = (batch_end - batch_start) * block_size
        if batch_end - 1 == last:
            size -= seg - (plaintext_size - last * seg)
        data = fetch(offset, size)
        if len(data) != size:
            raise IntegrityError(
                f"object is truncated: expected {size} bytes at offset {offset}, got {len(data)}"
            )
        view = memoryview(data)
        for i in range(batch_start, batch_end):
            pos = (i - batch_start) * block_size
            plain = cipher.decrypt(i, view[pos : pos + block_size], final=i == last)
            lo = start - i * seg if i == first_idx else 0
            hi = end - i * seg if i == last_idx else len(plain)
            yield plain if (lo, hi) == (0, len(plain)) else plain[lo:hi]


def read_range(
    fetch: RangeFetcher,
    dek: bytes,
    object_id: str,
    plaintext_size: int,
    start: int,
    length: int,
) -> bytes:
    """`iter_range` joined into bytes; for small ranges."""
    return b"".join(iter_range(fetch, dek, object_id, plaintext_size, start, length))


def encrypt_bytes(
    data: bytes, dek: bytes, object_id: str, segment_size: int = DEFAULT_SEGMENT_SIZE
) -> bytes:
    """Encrypt a small in-memory value into the same object format."""
    return EncryptingReader(io.BytesIO(data), dek, object_id, segment_size).read()


def decrypt_bytes(blob: bytes, dek: bytes, object_id: str) -> bytes:
    return b"".join(decrypt_stream([blob], dek, object_id))
