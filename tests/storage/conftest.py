"""Fixtures for the storage library: backends (local folder, a real moto S3
server, optionally a real MinIO), keyrings and data sources.

The moto server runs as its own process (``python -m moto.server``) for the
whole session and is reached through the real minio client, exactly as
production reaches MinIO.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from minio import Minio

from storage import EncryptedStore, Keyring, LocalStore, S3Config, S3Store

SEG = 256  # small segments keep most tests fast and cover many segments


# Deterministic, incompressible content; the odd length keeps its period
# from lining up with segment boundaries.
PATTERN = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(2048))[:65521]


def pattern(size: int, start: int = 0) -> bytes:
    out = bytearray()
    while len(out) < size:
        off = (start + len(out)) % len(PATTERN)
        out += PATTERN[off : off + size - len(out)]
    return bytes(out)


class Source:
    """`size` bytes of `pattern` produced on the fly in short reads (at most
    `chunk` per call, like a socket); raises OSError at `fail_at` if given."""

    def __init__(self, size: int, chunk: int = 64 << 10, fail_at: int | None = None) -> None:
        self.size, self.chunk, self.fail_at, self.pos = size, chunk, fail_at, 0

    def read(self, n: int = -1, /) -> bytes:
        if self.fail_at is not None and self.pos >= self.fail_at:
            raise OSError("source failed mid-stream")
        n = min(self.chunk if n < 0 else n, self.chunk, self.size - self.pos)
        if self.fail_at is not None:
            n = min(n, self.fail_at - self.pos)
        data = pattern(n, self.pos)
        self.pos += n
        return data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()  # noqa: S310
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto server did not start")
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def moto_config(endpoint: str, bucket: str) -> S3Config:
    return S3Config(
        endpoint,
        "testing",
        "testing-secret",
        bucket,
        secure=False,
        region="us-east-1",
        part_size=5 << 20,
    )


@pytest.fixture
def moto_store(moto_endpoint: str) -> Iterator[S3Store]:
    store = S3Store(moto_config(moto_endpoint, f"t-{secrets.token_hex(6)}"))
    store.ensure_ready()
    yield store
    store.close()


def raw_client(config: S3Config) -> Minio:
    """A plain minio client on the same server, to look at what is really stored."""
    return Minio(
        config.endpoint,
        config.access_key,
        config.secret_key,
        secure=config.secure,
        region=config.region,
    )


def minio_env_config() -> S3Config | None:
    endpoint = os.environ.get("ARCHIVE_TEST_S3_ENDPOINT")
    if not endpoint:
        return None
    return S3Config(
        endpoint,
        os.environ.get("ARCHIVE_TEST_S3_ACCESS_KEY", ""),
        os.environ.get("ARCHIVE_TEST_S3_SECRET_KEY", ""),
        f"archive-test-{secrets.token_hex(4)}",
        secure=os.environ.get("ARCHIVE_TEST_S3_SECURE", "0").lower() in ("1", "true", "yes"),
        part_size=5 << 20,
    )


@pytest.fixture
def local_store(tmp_path: Path) -> LocalStore:
    store = LocalStore(tmp_path / "objects")
    store.ensure_ready()
    return store


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def es(local_store: LocalStore, keyring: Keyring) -> EncryptedStore:
    return EncryptedStore(local_store, keyring, segment_size=SEG)
