"""The object store interface shared by the local-folder and S3 backends.

Backends store opaque ciphertext under random names; they know nothing about
keys, documents or customers.  Everything above them (encryption, the
service) is written against `ObjectStore`, so the embedded and production
modes share one code path.
"""

from __future__ import annotations

import abc
import re
import secrets
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime

from storage.streams import Readable

_NAME_RE = re.compile(r"[0-9a-f]{16,128}")


def new_object_name() -> str:
    """A random object name (128 bits, hex): reveals nothing about the content."""
    return secrets.token_hex(16)


def validate_name(name: str) -> str:
    """Accept only lowercase hex names, so no name can escape a folder or
    carry customer data."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(f"invalid object name {name!r}: expected 16-128 lowercase hex digits")
    return name


class ObjectStore(abc.ABC):
    """A flat namespace of immutable blobs."""

    @abc.abstractmethod
    def put(self, name: str, reader: Readable, length: int | None = None) -> None:
        """Stream `reader` to the end into object `name`.

        The object appears under its name only once completely written; if
        anything fails, nothing (or at worst an incomplete multipart upload the
        server discards) remains.  With `length`, a stream of a different
        length is an error.
        """

    @abc.abstractmethod
    def get(self, name: str) -> AbstractContextManager[Readable]:
        """Open the object for streaming; the connection/file is released on
        exit.  Raises `ObjectNotFound`."""

    @abc.abstractmethod
    def get_range(self, name: str, offset: int, length: int) -> bytes:
        """Bytes ``[offset, offset+length)``; fewer if the object is shorter."""

    @abc.abstractmethod
    def delete(self, name: str) -> list[str]:
        """Delete every stored version of `name` (and delete markers).

        Returns the ids of what was deleted (version ids; ``"null"`` for an
        unversioned object); empty if nothing existed, so retries are safe.
        """

    @abc.abstractmethod
    def exists(self, name: str) -> bool: ...

    @abc.abstractmethod
    def stored_at(self, name: str) -> datetime:
        """When the object's current version was written (UTC): the orphan job spares
        young objects, whose row may still be on its way. Raises `ObjectNotFound`."""

    @abc.abstractmethod
    def list_names(self) -> Iterator[str]:
        """Names of every object with any stored version (for garbage and
        consistency checks); names not made by `new_object_name` are skipped."""

    @abc.abstractmethod
    def check(self) -> None:
        """Raise `StoreUnavailable` with a clear message if unusable."""

    @abc.abstractmethod
    def ensure_ready(self) -> None:
        """Create the bucket/folder if missing; idempotent."""

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release connections."""
