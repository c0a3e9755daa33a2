"""Where checkpoints are kept, out of the database writer's reach: an append-only file in
a folder of its own, or a bucket of its own through the storage library.

Neither store decides anything: it gives back the lines it holds, and takes one more.
Which checkpoint is valid is decided by :mod:`archive_service.audit.checkpoints`.
"""

from __future__ import annotations

import abc
import contextlib
import fcntl
import io
import os
from pathlib import Path

from archive_service.errors import DomainError
from storage.backends.base import ObjectStore
from storage.errors import ObjectNotFound, StoreUnavailable

FILE_NAME = "checkpoints.jsonl"


class AnchorUnavailable(DomainError):
    """The store cannot be read or written now (a missing mount, a bucket down)."""

    status = 503
    code = "anchor_unavailable"


class AnchorStore(abc.ABC):
    name: str  # how findings and logs name it; never holds a credential

    @abc.abstractmethod
    def read(self) -> list[str] | None:
        """Every stored line, oldest first; None if the store was never created.
        Raises :class:`AnchorUnavailable`."""

    @abc.abstractmethod
    def last(self) -> str | None:
        """The newest line (None if none)."""

    @abc.abstractmethod
    def append(self, number: int, line: str) -> None:
        """Add checkpoint ``number``'s line after the others."""

    def prepare(self) -> None:  # noqa: B027 - most stores are created by their first line
        """Create the store if it does not exist yet (before the first checkpoint)."""


class FileAnchor(AnchorStore):
    """``<folder>/checkpoints.jsonl``, opened for appending only, one fsync'd line per
    checkpoint. Mount the folder where the database's owner cannot write, and make the
    file append-only (``chattr +a``) so not even the service can rewrite it."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / FILE_NAME
        self.name = f"file:{self.path}"

    def read(self) -> list[str] | None:
        try:
            with self.path.open("rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AnchorUnavailable(f"{self.name}: {exc.strerror}") from exc
        return [line.decode("utf-8", "replace") for line in data.splitlines() if line.strip()]

    def last(self) -> str | None:
        lines = self.read()
        return lines[-1] if lines else None

    def append(self, number: int, line: str) -> None:
        del number  # the line carries it
        try:
            created = not self.folder.exists()
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # another host's writer on the same mount
                os.write(fd, line.encode("utf-8") + b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(self.folder)
        except OSError as exc:
            raise AnchorUnavailable(f"{self.name}: cannot append: {exc.strerror}") from exc


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ObjectAnchor(AnchorStore):
    """One object per checkpoint, named by its number in 16 hex digits, in a bucket of its
    own (the storage library's names carry no meaning beyond that). Give the service a
    credential that may add objects but not delete them, and turn on object lock."""

    def __init__(self, store: ObjectStore, name: str) -> None:
        self.store = store
        self.name = name

    @staticmethod
    def object_name(number: int) -> str:
        return f"{number:016x}"

    def _names(self) -> list[str]:
        try:
            return sorted(self.store.list_names())
        except (StoreUnavailable, ValueError) as exc:  # ValueError: a name S3 refuses
            raise AnchorUnavailable(f"{self.name}: {exc}") from exc

    def _get(self, name: str) -> str:
        try:
            with self.store.get(name) as body:
                return body.read().decode("utf-8", "replace")
        except (StoreUnavailable, ObjectNotFound, ValueError) as exc:
            raise AnchorUnavailable(f"{self.name}: {exc}") from exc

    def read(self) -> list[str] | None:
        return [self._get(name) for name in self._names()]

    def last(self) -> str | None:
        names = self._names()
        return self._get(names[-1]) if names else None

    def append(self, number: int, line: str) -> None:
        name = self.object_name(number)
        data = line.encode("utf-8")
        try:
            if self.store.exists(name):  # never overwrite a checkpoint
                raise AnchorUnavailable(f"{self.name}: checkpoint {number} already stored")
            self.store.put(name, io.BytesIO(data), len(data))
        except (StoreUnavailable, ValueError) as exc:  # ValueError: a name S3 refuses
            raise AnchorUnavailable(f"{self.name}: cannot append: {exc}") from exc

    def prepare(self) -> None:
        try:
            self.store.ensure_ready()  # the bucket, with versioning where the server has it
        except (StoreUnavailable, ValueError) as exc:  # ValueError: a name S3 refuses
            raise AnchorUnavailable(f"{self.name}: {exc}") from exc

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.store.close()
