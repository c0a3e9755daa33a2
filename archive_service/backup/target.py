"""Where backups go: a folder, or ``s3://bucket/prefix``, laid out the same way in both.

::

    <target>/objects/<object_name>         the encrypted objects, copied verbatim (a folder
                                           target shards them like the store: objects/ab/ab…)
    <target>/snapshots/<UTC stamp>/…       one backup: database, sealed keys, anchor, manifest
    <target>/journal/<stamp>-d<id>.json    one signed entry per completed destruction

:func:`open_objects` is the one way in for anyone who wants a good copy of an object back
(the fixity sweep repairs from it): an :class:`ObjectStore` whose names are the document
store's names.
"""

from __future__ import annotations

import abc
import contextlib
import io
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError

from archive_service.config import Settings
from storage.backends.base import ObjectStore
from storage.backends.local import LocalStore
from storage.backends.s3 import S3Config, S3Store
from storage.errors import StoreUnavailable

OBJECTS = "objects/"
SNAPSHOTS = "snapshots/"
JOURNAL = "journal/"
_CHUNK = 1 << 20


class TargetError(Exception):
    """The target cannot be used (unreachable, misnamed)."""


class Target(abc.ABC):
    """Named files (paths relative to the target) plus the objects' store."""

    where: str  # how messages name it; never holds a credential

    @abc.abstractmethod
    def objects(self) -> ObjectStore: ...

    @abc.abstractmethod
    def write(self, path: str, data: bytes) -> None:
        """Write a whole file; it appears under its name only when complete."""

    @abc.abstractmethod
    def upload(self, path: str, local: Path) -> None:
        """Copy a local file to ``path`` (complete or not at all)."""

    @abc.abstractmethod
    def read(self, path: str) -> bytes: ...

    @abc.abstractmethod
    def download(self, path: str, local: Path) -> None: ...

    @abc.abstractmethod
    def exists(self, path: str) -> bool: ...

    @abc.abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Every file path under ``prefix`` (relative to the target), sorted."""

    @abc.abstractmethod
    def delete(self, path: str) -> None: ...

    def delete_tree(self, prefix: str) -> None:
        for path in self.list(prefix):
            self.delete(path)

    def ensure_ready(self) -> None:  # noqa: B027 - a folder is made by its first write
        """Create the bucket or folder if needed."""


def _safe(path: str) -> str:
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"not a path inside the backup target: {path!r}")
    return path


class FolderTarget(Target):
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.where = str(self.root)

    def objects(self) -> ObjectStore:
        return LocalStore(self.root / OBJECTS.rstrip("/"))

    def _path(self, path: str) -> Path:
        return self.root / _safe(path)

    def write(self, path: str, data: bytes) -> None:
        self._publish(path, lambda fh: fh.write(data))

    def upload(self, path: str, local: Path) -> None:
        def copy(fh: io.BufferedWriter) -> None:
            with local.open("rb") as src:
                while chunk := src.read(_CHUNK):
                    fh.write(chunk)

        self._publish(path, copy)

    def _publish(self, path: str, fill: object) -> None:
        final = self._path(path)
        final.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fill(fh)  # type: ignore[operator]
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, final)
            dir_fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def read(self, path: str) -> bytes:
        return self._path(path).read_bytes()

    def download(self, path: str, local: Path) -> None:
        with self._path(path).open("rb") as src, local.open("wb") as dst:
            while chunk := src.read(_CHUNK):
                dst.write(chunk)

    def exists(self, path: str) -> bool:
        return self._path(path).is_file()

    def list(self, prefix: str) -> list[str]:
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return []
        out = []
        for p in base.rglob("*"):
            if p.is_file() and not p.name.startswith(".tmp-"):
                out.append(p.relative_to(self.root).as_posix())
        return sorted(out)

    def delete(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(path).unlink()

    def delete_tree(self, prefix: str) -> None:
        super().delete_tree(prefix)
        with contextlib.suppress(OSError):
            (self.root / _safe(prefix.rstrip("/"))).rmdir()

    def ensure_ready(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)


@dataclass(frozen=True)
class S3Place:
    endpoint: str
    access_key: str
    secret_key: str
    secure: bool
    bucket: str
    prefix: str  # "" or "some/prefix/"


class S3Target(Target):
    def __init__(self, place: S3Place) -> None:
        self.place = place
        endpoint, secure = place.endpoint, place.secure
        if "://" in endpoint:
            url = urlsplit(endpoint)
            endpoint, secure = url.netloc, url.scheme == "https"
        self._client = Minio(
            endpoint, access_key=place.access_key, secret_key=place.secret_key, secure=secure
        )
        self.where = f"s3://{place.bucket}/{place.prefix}"

    def _key(self, path: str) -> str:
        return self.place.prefix + _safe(path)

    def objects(self) -> ObjectStore:
        p = self.place
        return S3Store(
            S3Config(
                endpoint=p.endpoint,
                access_key=p.access_key,
                secret_key=p.secret_key,
                bucket=p.bucket,
                secure=p.secure,
                prefix=p.prefix + OBJECTS,
                max_connections=8,  # services.COPY_THREADS
            )
        )

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise FileNotFoundError(f"{self.where}: {what}: not found") from None
            raise TargetError(f"{self.where}: {what}: {exc.code}") from exc
        except (ServerError, InvalidResponseError) as exc:
            raise TargetError(f"{self.where}: {what} failed: {exc}") from exc
        except (OSError, urllib3.exceptions.HTTPError) as exc:  # MaxRetryError: nobody answers
            raise TargetError(f"{self.where} is unreachable ({what}): {exc}") from exc

    def write(self, path: str, data: bytes) -> None:
        with self._errors(f"write {path}"):
            self._client.put_object(self.place.bucket, self._key(path), io.BytesIO(data), len(data))

    def upload(self, path: str, local: Path) -> None:
        with self._errors(f"upload {path}"):
            self._client.fput_object(self.place.bucket, self._key(path), str(local))

    def read(self, path: str) -> bytes:
        with self._errors(f"read {path}"):
            response = self._client.get_object(self.place.bucket, self._key(path))
            try:
                return bytes(response.read())
            finally:
                response.close()
                response.release_conn()

    def download(self, path: str, local: Path) -> None:
        with self._errors(f"download {path}"):
            self._client.fget_object(self.place.bucket, self._key(path), str(local))

    def exists(self, path: str) -> bool:
        try:
            with self._errors(f"stat {path}"):
                self._client.stat_object(self.place.bucket, self._key(path))
        except FileNotFoundError:
            return False
        return True

    def list(self, prefix: str) -> list[str]:
        start = len(self.place.prefix)
        with self._errors(f"list {prefix}"):
            return sorted(
                str(o.object_name)[start:]
                for o in self._client.list_objects(
                    self.place.bucket, prefix=self.place.prefix + prefix, recursive=True
                )
                if o.object_name
            )

    def delete(self, path: str) -> None:
        with self._errors(f"delete {path}"):
            self._client.remove_object(self.place.bucket, self._key(path))

    def ensure_ready(self) -> None:
        with self._errors("prepare the bucket"):
            if not self._client.bucket_exists(self.place.bucket):
                self._client.make_bucket(self.place.bucket)


def open_target(settings: Settings, to: str | None = None) -> Target | None:
    """The backup target ``to`` (else ``ARCHIVE_BACKUP_TO``); None when none is set."""
    where = (to or settings.backup_to).strip()
    if not where:
        return None
    secure = settings.s3_secure if settings.backup_s3_secure is None else settings.backup_s3_secure
    return open_place(
        where,
        "a backup target",
        endpoint=settings.backup_s3_endpoint or settings.s3_endpoint,
        access_key=settings.backup_s3_access_key or settings.s3_access_key,
        secret_key=settings.backup_s3_secret_key or settings.s3_secret_key,
        secure=secure,
    )


def open_place(
    where: str, what: str, *, endpoint: str, access_key: str, secret_key: str, secure: bool
) -> Target:
    """The folder or ``s3://bucket/prefix`` that ``where`` names (``what`` it is for, in
    errors); an S3 place on ``endpoint`` with those keys."""
    where = where.strip()
    if where.startswith("s3://"):
        url = urlsplit(where)
        if not url.netloc:
            raise TargetError(f"{where}: name a bucket (s3://bucket/prefix)")
        prefix = url.path.strip("/")
        return S3Target(
            S3Place(
                endpoint=endpoint,
                access_key=access_key,
                secret_key=secret_key,
                secure=secure,
                bucket=url.netloc,
                prefix=prefix + "/" if prefix else "",
            )
        )
    if "://" in where:
        raise TargetError(f"{where}: {what} is a folder or s3://bucket/prefix")
    return FolderTarget(Path(where).expanduser().resolve())


def open_objects(settings: Settings, to: str | None = None) -> ObjectStore | None:
    """The backup target's copies of the encrypted objects, under the document store's
    object names (``<target>/objects/``); None when no target is set. Objects there are
    ciphertext exactly as the store held it: open them with the row's wrapped key."""
    target = open_target(settings, to)
    return target.objects() if target is not None else None


__all__ = [
    "FolderTarget",
    "S3Target",
    "StoreUnavailable",
    "Target",
    "TargetError",
    "open_place",
    "open_objects",
    "open_target",
]
