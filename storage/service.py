"""`EncryptedStore`: the one entry point the application uses for content.

It ties a backend to the keyring: `store` encrypts while uploading under a
fresh random name and data key, and returns what the database row must keep
(`StoredObject`); `open`/`read_range` verify while decrypting; `erase` deletes
every stored version; `rewrap` serves key rotation.

Cryptographic erase is the caller's half of `erase`: destroy the row's
wrapped key (and commit) *first*, then call `erase(object_name)` and retry it
until it succeeds (it is idempotent).  Once the wrapped key is gone the
content is unreadable even if a copy of the object survives somewhere (a
backup, an unreachable replica); objects left behind by a failed erase have
no row and are found by the garbage check (`backend.list_names`).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType

from storage.backends.base import ObjectStore, new_object_name
from storage.crypto import (
    DEFAULT_SEGMENT_SIZE,
    EncryptingReader,
    ciphertext_size,
    decrypt_stream,
    iter_range,
)
from storage.errors import IntegrityError
from storage.keyring import Keyring, WrappedKey, new_data_key
from storage.streams import Readable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredObject:
    """What the database keeps for a stored object (all of it is needed)."""

    object_name: str
    wrapped_key: str  # WrappedKey string, ~70 chars; destroy it to erase
    sha256: str  # hex, of the plaintext (fixity)
    size: int  # plaintext bytes; needed for range reads
    ciphertext_size: int

    @property
    def key_id(self) -> str:
        return WrappedKey.from_str(self.wrapped_key).key_id


@dataclass(frozen=True)
class EraseResult:
    object_name: str
    versions_deleted: tuple[str, ...]  # version ids ("null" when unversioned)

    @property
    def existed(self) -> bool:
        return bool(self.versions_deleted)


class PlaintextStream:
    """Iterator of verified plaintext chunks of one object.

    Close it (or exhaust it, or use ``with``) to release the file or the
    connection; a WSGI server calls `close` itself on a streamed response.
    """

    def __init__(self, chunks: Iterator[bytes], resources: contextlib.ExitStack) -> None:
        self._chunks = chunks
        self._resources = resources

    def __iter__(self) -> PlaintextStream:
        return self

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except BaseException:  # end, integrity failure or store error: release now
            self.close()
            raise

    def read(self) -> bytes:
        """Everything, joined: for small objects only."""
        return b"".join(self)

    def close(self) -> None:
        self._resources.close()

    def __enter__(self) -> PlaintextStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()


class EncryptedStore:
    def __init__(
        self,
        backend: ObjectStore,
        keyring: Keyring,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
    ) -> None:
        self.backend = backend
        self.keyring = keyring
        self.segment_size = segment_size

    def store(self, stream: Readable, size: int | None = None) -> StoredObject:
        """Encrypt `stream` (read to its end) into a new object.

        `size`, if known, is declared to the backend (S3 then plans its parts
        up front) and checked.  On any failure nothing is reported stored and a partial
        object is removed (best effort; the garbage check catches the rest).
        """
        name = new_object_name()
        dek = new_data_key()
        wrapped = self.keyring.wrap(dek)  # fail on a keyring problem before uploading
        reader = EncryptingReader(stream, dek, name, self.segment_size)
        length = None if size is None else ciphertext_size(size, self.segment_size)
        try:
            self.backend.put(name, reader, length)
            # With a declared length a longer stream would be cut short silently.
            if not reader.finished or (size is not None and reader.plaintext_size != size):
                raise ValueError(
                    f"stream length does not match the declared size {size} "
                    f"(read {reader.plaintext_size} bytes)"
                )
        except BaseException:
            reader.close()
            with contextlib.suppress(Exception):
                self.backend.delete(name)
            raise
        return StoredObject(
            object_name=name,
            wrapped_key=wrapped.to_str(),
            sha256=reader.sha256,
            size=reader.plaintext_size,
            ciphertext_size=reader.ciphertext_size,
        )

    def open(self, object_name: str, wrapped_key: str) -> PlaintextStream:
        """Stream the plaintext, every segment verified before it is returned.

        Opens the object and verifies its first segment before returning, so a
        missing object (`ObjectNotFound`), an unusable key or a corrupt start
        (`IntegrityError`) fail before a response is started; damage further
        on raises `IntegrityError` while iterating.
        """
        dek = self.keyring.unwrap(wrapped_key)
        resources = contextlib.ExitStack()
        try:
            body = resources.enter_context(self.backend.get(object_name))
            chunks = decrypt_stream(body, dek, object_name)
            resources.callback(chunks.close)
            first = next(chunks, None)
        except BaseException:
            resources.close()
            raise
        rest = chunks if first is None else itertools.chain([first], chunks)
        return PlaintextStream(rest, resources)

    def iter_range(
        self, object_name: str, wrapped_key: str, size: int, start: int, length: int
    ) -> Iterator[bytes]:
        """Verified plaintext ``[start, start+length)`` (clipped to `size`, the
        recorded plaintext size), fetching only the segments that cover it.

        Like `open`, the first chunk is fetched and verified before returning,
        so a missing or damaged object fails before a response is started.
        """
        dek = self.keyring.unwrap(wrapped_key)
        fetch = functools.partial(self.backend.get_range, object_name)
        chunks = iter_range(fetch, dek, object_name, size, start, length)
        first = next(chunks, None)
        return iter(()) if first is None else itertools.chain([first], chunks)

    def read_range(
        self, object_name: str, wrapped_key: str, size: int, start: int, length: int
    ) -> bytes:
        return b"".join(self.iter_range(object_name, wrapped_key, size, start, length))

    def verify(
        self,
        object_name: str,
        wrapped_key: str,
        sha256: str | None = None,
        size: int | None = None,
    ) -> None:
        """Fixity check: decrypt everything, compare with the recorded digest
        and size; raises `IntegrityError` on any difference."""
        digest, total = hashlib.sha256(), 0
        with self.open(object_name, wrapped_key) as chunks:
            for chunk in chunks:
                digest.update(chunk)
                total += len(chunk)
        if size is not None and total != size:
            raise IntegrityError(f"object {object_name} holds {total} bytes, expected {size}")
        if sha256 is not None and not hmac.compare_digest(digest.hexdigest(), sha256.lower()):
            raise IntegrityError(f"object {object_name} does not match its recorded SHA-256")

    def erase(self, object_name: str) -> EraseResult:
        """Delete every stored version of the object (idempotent).  The caller
        must destroy the wrapped key too: see the module docstring."""
        versions = self.backend.delete(object_name)
        log.info("erased object %s (%d versions)", object_name, len(versions))
        return EraseResult(object_name, tuple(versions))

    def rewrap(self, wrapped_key: str) -> str:
        """The same data key wrapped under the active master key (rotation)."""
        return self.keyring.rewrap(wrapped_key).to_str()

    def needs_rewrap(self, wrapped_key: str) -> bool:
        return self.keyring.needs_rewrap(wrapped_key)

    def check(self) -> None:
        self.backend.check()

    def ensure_ready(self) -> None:
        self.backend.ensure_ready()
