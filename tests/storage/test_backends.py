"""Backends: one contract run against the local folder, a moto S3 server and
(opt-in) a real MinIO; then what is specific to each."""

from __future__ import annotations

import dataclasses
import io
import os
import socket
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from minio.commonconfig import ENABLED

from storage import EncryptedStore, Keyring, LocalStore, S3Config, S3Store
from storage.backends import ObjectStore, new_object_name
from storage.errors import ObjectNotFound, StoreUnavailable
from tests.storage.conftest import (
    SEG,
    Source,
    free_port,
    minio_env_config,
    moto_config,
    pattern,
    raw_client,
)

BIG = 11 << 20  # three 5 MiB parts on S3: exercises multipart


def get_all(store: ObjectStore, name: str) -> bytes:
    with store.get(name) as body:
        return b"".join(iter(lambda: body.read(100_000), b""))


class BackendContract:
    """What every `ObjectStore` must do; subclasses provide the `store` fixture."""

    @pytest.mark.parametrize("size", [0, 1, 100_000])
    @pytest.mark.parametrize("known_length", [True, False])
    def test_put_get(self, store: ObjectStore, size: int, known_length: bool) -> None:
        name = new_object_name()
        store.put(name, Source(size), size if known_length else None)
        assert store.exists(name)
        assert get_all(store, name) == pattern(size)

    def test_large_streamed_object(self, store: ObjectStore) -> None:
        name = new_object_name()
        store.put(name, Source(BIG, chunk=1000))  # short reads, unknown length
        assert store.get_range(name, BIG - 10, 10) == pattern(10, BIG - 10)
        with store.get(name) as body:
            assert body.read(5 << 20) == pattern(5 << 20)  # exact reads across parts

    def test_get_range(self, store: ObjectStore) -> None:
        name = new_object_name()
        store.put(name, io.BytesIO(pattern(1000)))
        assert store.get_range(name, 0, 10) == pattern(10)
        assert store.get_range(name, 990, 100) == pattern(10, 990)  # clipped at the end
        assert store.get_range(name, 500, 0) == b""
        assert store.get_range(name, 1000, 5) == b""
        assert store.get_range(name, 5000, 5) == b""

    def test_missing_object(self, store: ObjectStore) -> None:
        name = new_object_name()
        assert not store.exists(name)
        with pytest.raises(ObjectNotFound):
            get_all(store, name)
        with pytest.raises(ObjectNotFound):
            store.get_range(name, 0, 10)
        assert store.delete(name) == []

    def test_stored_at_says_when_the_object_was_written(self, store: ObjectStore) -> None:
        from datetime import UTC, datetime, timedelta

        name = new_object_name()
        before = datetime.now(UTC) - timedelta(seconds=5)  # S3 keeps whole seconds
        store.put(name, io.BytesIO(b"x"))
        written = store.stored_at(name)
        assert written.tzinfo is not None
        assert before <= written <= datetime.now(UTC) + timedelta(seconds=5)
        with pytest.raises(ObjectNotFound):
            store.stored_at(new_object_name())

    def test_delete_and_list(self, store: ObjectStore) -> None:
        names = sorted(new_object_name() for _ in range(3))
        for n in names:
            store.put(n, io.BytesIO(b"x"))
        assert sorted(store.list_names()) == names
        assert store.delete(names[1])  # reports what it deleted
        assert not store.exists(names[1])
        assert store.delete(names[1]) == []  # idempotent
        assert sorted(store.list_names()) == [names[0], names[2]]

    @pytest.mark.parametrize(
        "bad",
        [
            "../../etc/passwd",
            "a/b" * 10,
            "ABCDEF0123456789",
            "x" * 32,
            "",
            "0" * 8,
            "0" * 32 + "/..",
            "0" * 31 + "\0",
        ],
    )
    def test_names_are_validated(self, store: ObjectStore, bad: str) -> None:
        for op in (
            lambda: store.put(bad, io.BytesIO(b"x")),
            lambda: store.get(bad),
            lambda: store.get_range(bad, 0, 1),
            lambda: store.delete(bad),
            lambda: store.exists(bad),
        ):
            with pytest.raises(ValueError):
                op()

    def test_failing_reader_leaves_nothing(self, store: ObjectStore) -> None:
        before = set(store.list_names())
        for size, fail_at in ((1000, 500), (BIG, 7 << 20)):
            name = new_object_name()
            with pytest.raises(OSError, match="mid-stream"):
                store.put(name, Source(size, fail_at=fail_at))
            assert not store.exists(name)
        assert set(store.list_names()) == before

    def test_wrong_declared_length_leaves_nothing(self, store: ObjectStore) -> None:
        name = new_object_name()
        with pytest.raises((ValueError, OSError)):
            store.put(name, io.BytesIO(b"x" * 10), 20)
        assert not store.exists(name)

    def test_early_closed_reads_release_connections(self, store: ObjectStore) -> None:
        name = new_object_name()
        store.put(name, Source(BIG))
        for _ in range(25):  # more than the pool holds
            with store.get(name) as body:
                assert body.read(10) == pattern(10)
        assert store.get_range(name, 3, 3) == pattern(3, 3)

    def test_check_and_ensure_ready(self, store: ObjectStore) -> None:
        store.check()
        store.ensure_ready()  # idempotent
        store.check()

    def test_encrypted_store_round_trip(self, store: ObjectStore) -> None:
        es = EncryptedStore(store, Keyring.generate(), 64 << 10)
        size = 3 * (64 << 10) + 5
        stored = es.store(Source(size))
        assert store.exists(stored.object_name)
        assert es.open(stored.object_name, stored.wrapped_key).read() == pattern(size)
        start = (64 << 10) - 2
        assert es.read_range(stored.object_name, stored.wrapped_key, size, start, 70_000) == (
            pattern(70_000, start)
        )
        assert es.erase(stored.object_name).existed
        assert not store.exists(stored.object_name)


# -- local folder -------------------------------------------------------------------


class TestLocalBackend(BackendContract):
    @pytest.fixture
    def store(self, local_store: LocalStore) -> LocalStore:
        return local_store

    def test_atomic_write_leaves_no_temp_file(self, local_store: LocalStore) -> None:
        name = new_object_name()
        with pytest.raises(OSError):
            local_store.put(name, Source(300_000, fail_at=200_000))
        files = [p for p in local_store.root.rglob("*") if p.is_file()]
        assert files == []

    def test_layout_is_sharded_private_and_complete(self, local_store: LocalStore) -> None:
        name = new_object_name()
        local_store.put(name, io.BytesIO(b"abc"))
        path = local_store.root / name[:2] / name
        assert path.read_bytes() == b"abc"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert [p.name for p in path.parent.iterdir()] == [name]

    def test_stale_temp_files_are_removed(self, local_store: LocalStore) -> None:
        shard = local_store.root / "ab"
        shard.mkdir()
        old, fresh = shard / ".tmp-old", shard / ".tmp-fresh"
        old.write_bytes(b"x")
        fresh.write_bytes(b"x")
        os.utime(old, (time.time() - 3 * 86400,) * 2)
        local_store.ensure_ready()
        assert not old.exists() and fresh.exists()
        assert list(local_store.list_names()) == []  # temp files are never objects

    def test_missing_folder_is_unavailable(self, tmp_path: Path) -> None:
        with pytest.raises(StoreUnavailable, match="does not exist"):
            LocalStore(tmp_path / "nowhere").check()


# -- S3 -----------------------------------------------------------------------------------


class S3Contract(BackendContract):
    """S3-specific checks, run against moto and (opt-in) a real MinIO."""

    config: S3Config

    def test_stored_object_holds_no_plaintext(self, store: S3Store) -> None:
        marker = b"CUSTOMER-4711 Zhang Wei contract HT-2024-0815 "
        es = EncryptedStore(store, Keyring.generate(), SEG)
        stored = es.store(io.BytesIO(marker * 500))
        client = raw_client(store.config)
        response = client.get_object(store.bucket, stored.object_name)
        try:
            raw = response.read()
        finally:
            response.close()
            response.release_conn()
        assert len(raw) == stored.ciphertext_size
        assert b"CUSTOMER-4711" not in raw and b"Zhang" not in raw and marker[:8] not in raw
        info = client.stat_object(store.bucket, stored.object_name)
        meta = " ".join(f"{k}={v}" for k, v in (info.metadata or {}).items())
        assert "CUSTOMER" not in meta and "Zhang" not in meta
        assert es.open(stored.object_name, stored.wrapped_key).read() == marker * 500

    def test_versioning_enabled_and_delete_removes_all_versions(self, store: S3Store) -> None:
        client = raw_client(store.config)
        assert client.get_bucket_versioning(store.bucket).status == ENABLED
        name = new_object_name()
        store.put(name, io.BytesIO(b"one"))
        store.put(name, io.BytesIO(b"two"))
        client.remove_object(store.bucket, name)  # leaves a delete marker over two versions
        versions = list(client.list_objects(store.bucket, prefix=name, include_version=True))
        assert len(versions) == 3
        assert name in set(store.list_names())  # garbage checks still see it
        deleted = store.delete(name)
        assert sorted(deleted) == sorted(v.version_id for v in versions)
        assert list(client.list_objects(store.bucket, prefix=name, include_version=True)) == []
        assert name not in set(store.list_names())

    def test_missing_bucket_is_reported_and_created(self, store: S3Store) -> None:
        other = S3Store(dataclasses.replace(store.config, bucket=store.bucket + "-new"))
        with pytest.raises(StoreUnavailable, match="bucket does not exist"):
            other.check()
        other.ensure_ready()
        other.check()
        raw_client(other.config).remove_bucket(other.bucket)


@pytest.mark.slow
class TestMotoBackend(S3Contract):
    @pytest.fixture
    def store(self, moto_store: S3Store) -> S3Store:
        return moto_store


MINIO = minio_env_config()


@pytest.mark.skipif(
    MINIO is None,
    reason="real MinIO tests are opt-in: set ARCHIVE_TEST_S3_ENDPOINT, ARCHIVE_TEST_S3_ACCESS_KEY, "
    "ARCHIVE_TEST_S3_SECRET_KEY (and ARCHIVE_TEST_S3_SECURE=1 for TLS)",
)
class TestMinioBackend(S3Contract):
    @pytest.fixture
    def store(self) -> Iterator[S3Store]:
        assert MINIO is not None
        store = S3Store(MINIO)
        store.ensure_ready()
        yield store
        for name in list(store.list_names()):
            store.delete(name)
        raw_client(MINIO).remove_bucket(MINIO.bucket)
        store.close()


# -- an unreachable store -------------------------------------------------------------


def closed_port() -> int:
    port = free_port()  # bound then released: nothing listens there now
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    return port


def test_unreachable_s3_fails_fast_and_stores_nothing() -> None:
    store = S3Store(moto_config(f"127.0.0.1:{closed_port()}", "archive"))
    for op in (
        store.check,
        store.ensure_ready,
        lambda: store.exists(new_object_name()),
        lambda: store.get_range(new_object_name(), 0, 10),
        lambda: store.put(new_object_name(), io.BytesIO(b"x")),
        lambda: list(store.list_names()),
    ):
        start = time.monotonic()
        with pytest.raises(StoreUnavailable, match="unreachable"):
            op()
        assert time.monotonic() - start < 5
    es = EncryptedStore(store, Keyring.generate(), SEG)
    start = time.monotonic()
    with pytest.raises(StoreUnavailable):
        es.store(Source(10_000))
    assert time.monotonic() - start < 10  # upload attempt + best-effort cleanup


@pytest.mark.slow
def test_store_going_down_mid_upload(moto_endpoint: str, tmp_path: Path) -> None:
    """A failure after some parts were sent: nothing is reported, nothing is left."""
    store = S3Store(moto_config(moto_endpoint, "midway"))
    store.ensure_ready()
    es = EncryptedStore(store, Keyring.generate(), 64 << 10)
    with pytest.raises(OSError, match="mid-stream"):
        es.store(Source(BIG, fail_at=8 << 20))
    assert list(store.list_names()) == []


def test_s3_stores_with_a_prefix_share_a_bucket(moto_store: S3Store) -> None:
    """A key prefix (a backup target's ``<prefix>/objects/``): each store sees, lists and
    erases only its own names, and keys carry the prefix in the bucket."""
    config = moto_store.config
    mine = S3Store(dataclasses.replace(config, prefix="nightly/objects/"))
    other = S3Store(dataclasses.replace(config, prefix="weekly/objects/"))
    name = new_object_name()
    mine.put(name, io.BytesIO(b"ciphertext"), 10)
    assert mine.exists(name) and not other.exists(name) and not moto_store.exists(name)
    assert list(mine.list_names()) == [name] and list(other.list_names()) == []
    with mine.get(name) as body:
        assert body.read() == b"ciphertext"
    assert mine.get_range(name, 2, 4) == b"pher"
    keys = [o.object_name for o in raw_client(config).list_objects(config.bucket, recursive=True)]
    assert keys == [f"nightly/objects/{name}"]
    assert other.delete(name) == [] and mine.delete(name) and not mine.exists(name)
    assert list(mine.list_names()) == []
