"""`EncryptedStore` over real backends: what the application sees."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from storage import EncryptedStore, Keyring, LocalStore, S3Store, ciphertext_size
from storage.crypto import DEFAULT_SEGMENT_SIZE, HEADER_SIZE, TAG_SIZE
from storage.errors import IntegrityError, ObjectNotFound
from storage.keyring import WrappedKey
from tests.storage.conftest import SEG, Source, pattern


def path_of(es: EncryptedStore, name: str) -> Path:
    assert isinstance(es.backend, LocalStore)
    return es.backend.root / name[:2] / name


@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 3 << 20])
def test_round_trip(es: EncryptedStore, size: int) -> None:
    stored = es.store(Source(size))
    assert stored.size == size
    assert stored.sha256 == hashlib.sha256(pattern(size)).hexdigest()
    assert stored.ciphertext_size == ciphertext_size(size, SEG)
    assert path_of(es, stored.object_name).stat().st_size == stored.ciphertext_size
    assert (
        stored.key_id == es.keyring.active_key_id == WrappedKey.from_str(stored.wrapped_key).key_id
    )
    assert es.open(stored.object_name, stored.wrapped_key).read() == pattern(size)
    es.verify(stored.object_name, stored.wrapped_key, stored.sha256, stored.size)


@pytest.mark.parametrize("declared", [True, False])
def test_large_stream_default_segments(
    local_store: LocalStore, keyring: Keyring, declared: bool
) -> None:
    es = EncryptedStore(local_store, keyring)  # 1 MiB segments
    size = 48 * DEFAULT_SEGMENT_SIZE + 999
    stored = es.store(Source(size, chunk=50_000), size if declared else None)
    digest = hashlib.sha256()
    with es.open(stored.object_name, stored.wrapped_key) as chunks:
        for chunk in chunks:
            assert len(chunk) <= DEFAULT_SEGMENT_SIZE
            digest.update(chunk)
    assert digest.hexdigest() == stored.sha256 == hashlib.sha256(pattern(size)).hexdigest()
    start = 17 * DEFAULT_SEGMENT_SIZE - 5
    got = es.read_range(
        stored.object_name, stored.wrapped_key, size, start, 2 * DEFAULT_SEGMENT_SIZE
    )
    assert got == pattern(2 * DEFAULT_SEGMENT_SIZE, start)


@pytest.mark.slow
def test_large_stream_on_s3(moto_store: S3Store, keyring: Keyring) -> None:
    es = EncryptedStore(moto_store, keyring)  # default segments, 5 MiB parts
    size = 13 << 20
    stored = es.store(Source(size))
    es.verify(stored.object_name, stored.wrapped_key, stored.sha256, size)
    assert es.read_range(stored.object_name, stored.wrapped_key, size, size - 3, 10) == pattern(
        3, size - 3
    )


@pytest.mark.parametrize("actual", [999, 1001])
def test_declared_size_mismatch_stores_nothing(es: EncryptedStore, actual: int) -> None:
    with pytest.raises((ValueError, OSError)):
        es.store(Source(actual), size=1000)
    assert list(es.backend.list_names()) == []


def test_failed_upload_reports_nothing_and_leaves_nothing(es: EncryptedStore) -> None:
    with pytest.raises(OSError, match="mid-stream"):
        es.store(Source(100_000, fail_at=60_000))
    assert list(es.backend.list_names()) == []
    assert [p for p in Path(es.backend.root).rglob("*") if p.is_file()] == []  # type: ignore[attr-defined]


def test_open_missing_object(es: EncryptedStore) -> None:
    stored = es.store(io.BytesIO(b"x"))
    es.erase(stored.object_name)
    with pytest.raises(ObjectNotFound):
        es.open(stored.object_name, stored.wrapped_key)


def test_damage_at_start_fails_at_open_later_damage_while_reading(es: EncryptedStore) -> None:
    data = pattern(10 * SEG)
    stored = es.store(io.BytesIO(data))
    path = path_of(es, stored.object_name)
    original = path.read_bytes()

    def damage(pos: int) -> None:
        raw = bytearray(original)
        raw[pos] ^= 0x40
        path.write_bytes(bytes(raw))

    damage(HEADER_SIZE + 3)  # first segment: refused before any byte is handed out
    with pytest.raises(IntegrityError):
        es.open(stored.object_name, stored.wrapped_key)

    damage(HEADER_SIZE + 6 * (SEG + TAG_SIZE) + 3)  # segment 6
    released = bytearray()
    stream = es.open(stored.object_name, stored.wrapped_key)
    with pytest.raises(IntegrityError, match="segment 6"):
        for chunk in stream:
            released += chunk
    assert bytes(released) == data[: 6 * SEG]
    with pytest.raises(IntegrityError):
        es.verify(stored.object_name, stored.wrapped_key)

    path.write_bytes(original[:-1])
    with pytest.raises(IntegrityError):
        es.verify(stored.object_name, stored.wrapped_key)
    path.write_bytes(original[: HEADER_SIZE + 9 * (SEG + TAG_SIZE)])  # final segment dropped
    with pytest.raises(IntegrityError):
        es.verify(stored.object_name, stored.wrapped_key)


def test_swapped_objects_are_detected(es: EncryptedStore) -> None:
    a = es.store(io.BytesIO(b"document A " * 100))
    b = es.store(io.BytesIO(b"document B " * 100))
    pa, pb = path_of(es, a.object_name), path_of(es, b.object_name)
    raw_a, raw_b = pa.read_bytes(), pb.read_bytes()
    pa.write_bytes(raw_b)
    pb.write_bytes(raw_a)
    for s in (a, b):
        with pytest.raises(IntegrityError):
            es.open(s.object_name, s.wrapped_key)
    # Even with the wrapped keys swapped along: the object name is bound in.
    with pytest.raises(IntegrityError):
        es.open(a.object_name, b.wrapped_key)


def test_verify_detects_wrong_digest_or_size(es: EncryptedStore) -> None:
    stored = es.store(io.BytesIO(b"abc"))
    with pytest.raises(IntegrityError, match="SHA-256"):
        es.verify(stored.object_name, stored.wrapped_key, "0" * 64)
    with pytest.raises(IntegrityError, match="bytes"):
        es.verify(stored.object_name, stored.wrapped_key, size=4)


def test_erase_is_complete_and_idempotent(es: EncryptedStore) -> None:
    stored = es.store(io.BytesIO(b"to be destroyed"))
    first = es.erase(stored.object_name)
    assert first.existed and first.versions_deleted == ("null",)
    assert not es.erase(stored.object_name).existed
    assert list(es.backend.list_names()) == []


def test_abandoned_stream_releases_its_file(es: EncryptedStore) -> None:
    stored = es.store(Source(20 * SEG))
    before = len(os.listdir("/proc/self/fd"))
    stream = es.open(stored.object_name, stored.wrapped_key)
    next(stream)
    assert len(os.listdir("/proc/self/fd")) == before + 1
    stream.close()
    assert len(os.listdir("/proc/self/fd")) == before
    with es.open(stored.object_name, stored.wrapped_key) as s:
        next(s)
    assert len(os.listdir("/proc/self/fd")) == before


def test_names_and_wrapped_keys_reveal_nothing(es: EncryptedStore) -> None:
    stored = es.store(io.BytesIO(b"Customer: Li Na, contract HT-001"))
    assert len(stored.object_name) == 32 and int(stored.object_name, 16) >= 0
    assert b"Li Na" not in path_of(es, stored.object_name).read_bytes()
    other = es.store(io.BytesIO(b"Customer: Li Na, contract HT-001"))
    assert other.object_name != stored.object_name and other.wrapped_key != stored.wrapped_key


def test_range_errors_surface_before_streaming(es: EncryptedStore) -> None:
    stored = es.store(Source(5 * SEG))
    chunks = es.iter_range(stored.object_name, stored.wrapped_key, stored.size, SEG - 1, 2 * SEG)
    assert b"".join(chunks) == pattern(2 * SEG, SEG - 1)
    assert list(es.iter_range(stored.object_name, stored.wrapped_key, stored.size, 10**6, 5)) == []
    path_of(es, stored.object_name).write_bytes(b"\0" * 100)
    with pytest.raises(IntegrityError):
        es.iter_range(stored.object_name, stored.wrapped_key, stored.size, 0, 10)
    es.erase(stored.object_name)
    with pytest.raises(ObjectNotFound):
        es.iter_range(stored.object_name, stored.wrapped_key, stored.size, 0, 10)
