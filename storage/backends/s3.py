"""Object store on S3 (MinIO in production, any S3 API) through the minio client.

Why the extra care:
* our own urllib3 pool, sized for the caller's threads, with short connect
  timeouts and few retries, so an unreachable store fails within seconds
  with `StoreUnavailable` instead of hanging a request for minutes;
* uploads are multipart with a fixed part size and a reader that returns
  exactly the requested bytes (minio builds parts with ``bytes +=``, which is
  quadratic with short reads), so memory is bounded for any length;
* versioning is enabled where supported, and `delete` removes every version
  and delete marker, so erasing really erases;
* every GET response is closed and its connection released.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import ENABLED
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.versioningconfig import VersioningConfig

from storage.backends.base import ObjectStore, validate_name
from storage.errors import ObjectNotFound, StoreUnavailable
from storage.streams import ExactReader, Readable

log = logging.getLogger(__name__)

_NOT_FOUND = {"NoSuchKey", "NoSuchObject", "NoSuchVersion", "ResourceNotFound"}
_AUTH = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
_UNSUPPORTED = {"NotImplemented", "MethodNotAllowed", "XNotImplemented"}


@dataclass(frozen=True)
class S3Config:
    endpoint: str  # "host:port", or a URL whose scheme sets `secure`
    access_key: str
    secret_key: str = field(repr=False)
    bucket: str
    secure: bool = True
    region: str | None = None
    part_size: int = 16 << 20  # S3 minimum is 5 MiB; memory ~ (parallel + 1) x part
    parallel_uploads: int = 3
    max_connections: int = 10  # size to the number of threads sharing the store
    connect_timeout: float = 3.0
    read_timeout: float = 60.0
    retries: int = 2
    cert_check: bool = True
    ca_certs: str | None = None
    # Keys are ``prefix + name``: several stores may share a bucket (a backup target's
    # ``<prefix>/objects/``); names listed are those under the prefix, without it.
    prefix: str = ""


class _Response:
    """A GET body whose read errors surface as `StoreUnavailable`."""

    def __init__(self, store: S3Store, name: str, response: Any) -> None:
        self._store, self._name, self._resp = store, name, response

    def read(self, n: int = -1, /) -> bytes:
        with self._store._errors("read", self._name):
            return bytes(self._resp.read(None if n < 0 else n))


class S3Store(ObjectStore):
    def __init__(self, config: S3Config) -> None:
        endpoint, secure = config.endpoint, config.secure
        if "://" in endpoint:
            url = urlsplit(endpoint)
            endpoint, secure = url.netloc, url.scheme == "https"
        if config.part_size < 5 << 20:
            raise ValueError("S3 part size must be at least 5 MiB")
        self.config = config
        self.bucket = config.bucket
        self.prefix = config.prefix
        self._where = f"S3 store {endpoint}/{config.bucket}"
        self._http = urllib3.PoolManager(
            maxsize=config.max_connections,
            timeout=urllib3.Timeout(connect=config.connect_timeout, read=config.read_timeout),
            retries=urllib3.Retry(
                total=config.retries,
                backoff_factor=0.2,
                status_forcelist=(500, 502, 503, 504),
                respect_retry_after_header=False,  # a server must not stall us for minutes
            ),
            cert_reqs="CERT_REQUIRED" if config.cert_check else "CERT_NONE",
            ca_certs=config.ca_certs or os.environ.get("SSL_CERT_FILE") or certifi.where(),
        )
        self._client = Minio(
            endpoint,
            access_key=config.access_key,
            secret_key=config.secret_key,
            secure=secure,
            region=config.region,
            http_client=self._http,
        )

    def __repr__(self) -> str:
        return f"S3Store({self._where!r})"

    def _key(self, name: str) -> str:
        return self.prefix + validate_name(name)

    @contextlib.contextmanager
    def _errors(self, action: str, name: str | None = None) -> Iterator[None]:
        what = f"{action} {name}" if name else action
        try:
            yield
        except S3Error as exc:
            if exc.code in _NOT_FOUND and name:
                raise ObjectNotFound(f"object {name} not found in {self._where}") from None
            if exc.code == "NoSuchBucket":
                raise StoreUnavailable(
                    f"{self._where}: bucket does not exist (run ensure_ready)"
                ) from None
            if exc.code in _AUTH:
                raise StoreUnavailable(
                    f"{self._where} refused our credentials ({exc.code}) trying to {what}"
                ) from None
            raise StoreUnavailable(
                f"{self._where}: {what} failed: {exc.code}: {exc.message}"
            ) from exc
        except (ServerError, InvalidResponseError) as exc:
            raise StoreUnavailable(f"{self._where}: {what} failed: {exc}") from exc
        except urllib3.exceptions.HTTPError as exc:
            reason = getattr(exc, "reason", None) or exc
            raise StoreUnavailable(f"{self._where} is unreachable ({what}): {reason}") from exc

    # -- ObjectStore --------------------------------------------------------------

    def put(self, name: str, reader: Readable, length: int | None = None) -> None:
        key = self._key(name)
        with self._errors("upload", name):
            self._client.put_object(
                self.bucket,
                key,
                ExactReader(reader),  # type: ignore[arg-type]  # minio wants BinaryIO
                length=-1 if length is None else length,
                part_size=self.config.part_size,
                num_parallel_uploads=self.config.parallel_uploads,
            )

    @contextlib.contextmanager
    def _get(self, name: str) -> Iterator[Readable]:
        key = self._key(name)
        with self._errors("download", name):
            response = self._client.get_object(self.bucket, key)
        try:
            yield _Response(self, name, response)
        finally:
            response.close()
            response.release_conn()

    def get(self, name: str) -> AbstractContextManager[Readable]:
        return self._get(validate_name(name))

    def get_range(self, name: str, offset: int, length: int) -> bytes:
        key = self._key(name)
        if offset < 0 or length < 0:
            raise ValueError("offset and length must be >= 0")
        if length == 0:
            return b""  # minio reads "length 0" as "to the end"
        try:
            with self._errors("read", name):
                response = self._client.get_object(self.bucket, key, offset, length)
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, S3Error) and exc.__cause__.code == "InvalidRange":
                return b""  # offset at or past the end
            raise
        try:
            return _Response(self, name, response).read()
        finally:
            response.close()
            response.release_conn()

    def _versions(self, name: str) -> list[tuple[str, bool]] | None:
        """(version id, is delete marker) of every version, or None if the
        server cannot list versions."""
        key = self._key(name)
        try:
            return [
                (obj.version_id or "null", obj.is_delete_marker)
                for obj in self._client.list_objects(self.bucket, prefix=key, include_version=True)
                if obj.object_name == key
            ]
        except S3Error as exc:
            if exc.code in _UNSUPPORTED:
                return None
            raise

    def delete(self, name: str) -> list[str]:
        validate_name(name)
        deleted: list[str] = []
        with self._errors("delete", name):
            # Repeat in case a version appeared meanwhile (an upload racing the erase).
            for _ in range(3):
                versions = self._versions(name)
                if versions is None:  # no versioning support: one plain delete
                    if self.exists(name):
                        self._client.remove_object(self.bucket, self._key(name))
                        deleted.append("null")
                    return deleted
                if not versions:
                    return deleted
                for version_id, _marker in versions:
                    self._client.remove_object(self.bucket, self._key(name), version_id=version_id)
                    deleted.append(version_id)
        raise StoreUnavailable(f"{self._where}: versions of {name} keep reappearing")

    def exists(self, name: str) -> bool:
        key = self._key(name)
        try:
            with self._errors("stat", name):
                self._client.stat_object(self.bucket, key)
        except ObjectNotFound:
            return False
        return True

    def stored_at(self, name: str) -> datetime:
        validate_name(name)
        with self._errors("stat", name):
            modified = self._client.stat_object(self.bucket, name).last_modified
        if modified is None:  # every S3 answer carries Last-Modified; be safe anyway
            raise StoreUnavailable(f"{self._where}: no modification time for {name}")
        return modified if modified.tzinfo else modified.replace(tzinfo=UTC)

    def _names(self, versions: bool) -> Iterator[str]:
        previous = None
        listing = self._client.list_objects(
            self.bucket, prefix=self.prefix or None, recursive=True, include_version=versions
        )
        for obj in listing:
            key = obj.object_name
            if key and key != previous:  # versions of a key are listed together
                previous = key
                name = key[len(self.prefix) :]
                with contextlib.suppress(ValueError):
                    yield validate_name(name)

    def list_names(self) -> Iterator[str]:
        with self._errors("list objects"):
            try:
                yield from self._names(versions=True)
            except S3Error as exc:
                if exc.code not in _UNSUPPORTED:
                    raise
                yield from self._names(versions=False)

    def check(self) -> None:
        with self._errors("reach the bucket"):
            exists = self._client.bucket_exists(self.bucket)
        if not exists:
            raise StoreUnavailable(f"{self._where}: bucket does not exist (run ensure_ready)")

    def ensure_ready(self) -> None:
        with self._errors("prepare the bucket"):
            if not self._client.bucket_exists(self.bucket):
                try:
                    self._client.make_bucket(self.bucket, location=self.config.region)
                except S3Error as exc:
                    if exc.code != "BucketAlreadyOwnedByYou":  # lost a harmless race
                        raise
            try:
                self._client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
            except S3Error as exc:
                if exc.code not in _UNSUPPORTED:
                    raise
                log.info("%s does not support versioning; continuing without", self._where)

    def close(self) -> None:
        self._http.clear()
