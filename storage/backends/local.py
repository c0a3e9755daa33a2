"""Object store in a local folder (the embedded, one-machine mode).

Same encrypted objects as on S3, one file each, sharded into 256 subfolders
by the first two hex digits of the name.  Writes go to a temp file in the
target folder, are fsynced, renamed into place and the folder fsynced: an
object exists under its final name only when complete and durable.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from storage.backends.base import ObjectStore, validate_name
from storage.errors import ObjectNotFound, StoreUnavailable
from storage.streams import Readable, read_exactly

_CHUNK = 8 << 20  # >= a segment, so read1 hands over whole segments
_TMP_PREFIX = ".tmp-"
_STALE_TMP_AGE = 24 * 3600  # temp files older than this are leftovers of a crash


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _fs_errors(action: str, name: str) -> Iterator[None]:
    try:
        yield
    except FileNotFoundError:
        raise ObjectNotFound(f"object {name} not found") from None
    except OSError as exc:
        raise StoreUnavailable(f"local store: cannot {action} {name}: {exc.strerror}") from exc


class LocalStore(ObjectStore):
    def __init__(self, root: str | os.PathLike[str], fsync: bool = True) -> None:
        self.root = Path(root)
        self._fsync = fsync  # only tests and benchmarks turn this off

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def _path(self, name: str) -> Path:
        validate_name(name)
        return self.root / name[:2] / name

    def put(self, name: str, reader: Readable, length: int | None = None) -> None:
        path = self._path(name)
        with _fs_errors("create a folder for", name):
            path.parent.mkdir(mode=0o700, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=path.parent)
        # read1 (when offered) hands over whole buffered blocks without joining.
        read = getattr(reader, "read1", reader.read)
        try:
            with os.fdopen(fd, "wb") as fh:
                written = 0
                while chunk := read(_CHUNK):
                    with _fs_errors("write", name):
                        fh.write(chunk)
                    written += len(chunk)
                if length is not None and written != length:
                    raise ValueError(f"stream gave {written} bytes, expected {length}")
                with _fs_errors("write", name):
                    fh.flush()
                    if self._fsync:
                        os.fsync(fh.fileno())
            with _fs_errors("publish", name):
                os.replace(tmp, path)
                if self._fsync:
                    _fsync_dir(path.parent)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def get(self, name: str) -> AbstractContextManager[BinaryIO]:
        path = self._path(name)
        with _fs_errors("open", name):
            return open(path, "rb")  # noqa: SIM115 - returned as the context manager

    def get_range(self, name: str, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError("offset and length must be >= 0")
        with _fs_errors("read", name), open(self._path(name), "rb") as fh:
            fh.seek(offset)
            return read_exactly(fh, length)

    def delete(self, name: str) -> list[str]:
        path = self._path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreUnavailable(f"local store: cannot delete {name}: {exc.strerror}") from exc
        if self._fsync:
            _fsync_dir(path.parent)
        return ["null"]

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()

    def stored_at(self, name: str) -> datetime:
        path = self._path(name)
        with _fs_errors("stat", name):
            return datetime.fromtimestamp(path.stat().st_mtime, UTC)

    def list_names(self) -> Iterator[str]:
        try:
            shards = sorted(p for p in self.root.iterdir() if p.is_dir() and len(p.name) == 2)
        except FileNotFoundError:
            return
        for shard in shards:
            for entry in sorted(os.listdir(shard)):
                if entry.startswith(shard.name) and not entry.startswith(_TMP_PREFIX):
                    with contextlib.suppress(ValueError):
                        yield validate_name(entry)

    def check(self) -> None:
        if not self.root.is_dir():
            raise StoreUnavailable(f"local store: folder {self.root} does not exist")
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreUnavailable(f"local store: folder {self.root} is not writable")

    def ensure_ready(self) -> None:
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(
                f"local store: cannot create {self.root}: {exc.strerror}"
            ) from exc
        self.check()
        self.remove_stale_temp_files()

    def remove_stale_temp_files(self, max_age: float = _STALE_TMP_AGE) -> int:
        """Remove temp files left by a crashed writer (they hold ciphertext
        only, but waste space).  Returns how many were removed."""
        cutoff = time.time() - max_age
        removed = 0
        for tmp in self.root.glob(f"??/{_TMP_PREFIX}*"):
            with contextlib.suppress(OSError):
                if tmp.stat().st_mtime < cutoff:
                    tmp.unlink()
                    removed += 1
        return removed
