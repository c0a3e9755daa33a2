"""The object store goes down while an upload streams into it (a private moto S3 server,
killed with SIGKILL while the service's multipart upload is open).

The client gets a 503 that says so in both languages (not a 500); no document, version or
stored-object row is left and no object completed; once the server is back (restarted on
the same port; moto keeps nothing across a restart, so the bucket is made again, as
``archive init`` makes it) the client's retry succeeds.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from sqlalchemy import func, select

from archive_service.app import create_app
from archive_service.archive.models import Document, DocumentVersion
from archive_service.audit.models import AuditEvent
from archive_service.cli.start import initialise
from archive_service.config import Settings
from archive_service.vault.models import StoredObject
from storage.backends.s3 import S3Store
from tests.conftest import People, bearer, token_for
from tests.storage.conftest import free_port, moto_config

pytestmark = pytest.mark.slow

BUCKET = "archive-fault"
SIZE = 120 << 20  # several 16 MiB parts: the kill lands while the upload is open


class Moto:
    """A moto S3 server of this test's own, stopped and started on one port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - our interpreter, fixed arguments
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://{self.endpoint}/", timeout=1).close()  # noqa: S310
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto server did not start")
                time.sleep(0.1)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def open_uploads(self) -> int:
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://{self.endpoint}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing-secret",
            region_name="us-east-1",
        )
        return len(s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []))


@pytest.fixture
def database_url(sqlite_template: Path, tmp_path: Path) -> str:
    """The store's fault: one database (the embedded SQLite) is enough."""
    path = tmp_path / "archive.sqlite3"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def moto() -> Iterator[Moto]:
    server = Moto()
    server.start()
    try:
        yield server
    finally:
        server.kill()


def _text(size: int) -> bytes:
    line = "客户往来记录 customer correspondence line {:08d}\n"
    out = bytearray()
    n = 0
    while len(out) < size:
        out += line.format(n).encode()
        n += 1
    return bytes(out[:size])


def _rows(rt: Any) -> dict[str, int]:
    with rt.db.unit_of_work() as s:
        return {
            m.__tablename__: int(s.scalar(select(func.count()).select_from(m)) or 0)
            for m in (Document, DocumentVersion, StoredObject)
        }


def _upload(client: Any, h: dict[str, str], customer: int, data: bytes) -> Any:
    return client.post(
        "/api/v1/documents",
        headers=h,
        content_type="multipart/form-data",
        data={
            "customer_id": str(customer),
            "category": "service.inquiry",
            "title": "往来记录",
            "retention_class": "short",
            "file": (io.BytesIO(data), "往来记录.txt"),
        },
    )


def test_the_store_dies_during_an_upload(settings: Settings, moto: Moto) -> None:
    s3 = replace(
        settings,
        storage="s3",
        s3_endpoint=moto.endpoint,
        s3_access_key="testing",
        s3_secret_key="testing-secret",
        s3_bucket=BUCKET,
        s3_secure=False,
        admin_password="s3 fault root pass",
        # Jobs wait in the embedded broker: nobody extracts 120 MiB of text here.
        celery_always_eager=False,
    )
    rt, _ = initialise(s3)
    try:
        client = create_app(s3, runtime=rt).test_client()
        People(rt).user("clara", "clerk", department="SALES")
        h = bearer(token_for(client, "clara"))
        customer = client.post(
            "/api/v1/customers",
            headers=h,
            json={"name": "华夏贸易", "customer_type": "enterprise", "department": "SALES"},
        ).get_json()["id"]
        data = _text(SIZE)
        before = _rows(rt)
        events_before = _events(rt)

        # Kill the server as soon as it holds an open multipart upload of ours.
        seen = threading.Event()

        def killer() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                with contextlib.suppress(Exception):  # busy for a moment: look again
                    if moto.open_uploads():
                        seen.set()
                        moto.kill()
                        return
                time.sleep(0.01)

        watcher = threading.Thread(target=killer, daemon=True)
        watcher.start()
        failed = _upload(client, h, customer, data)
        watcher.join(5)
        assert seen.is_set(), "the upload ended before the server could be stopped"
        assert failed.status_code == 503, failed.get_data(as_text=True)[:500]
        error = failed.get_json()["error"]
        assert error["code"] == "store_unavailable"
        assert "nothing was stored" in error["message"]
        assert error["message_zh"] == "对象存储暂不可用；未保存任何内容，请稍后重试"
        assert failed.headers["Retry-After"]
        # Nothing half-written: no row, no audit event of an upload.
        assert _rows(rt) == before
        assert _events(rt) == events_before

        # The server comes back (empty: moto keeps nothing); the retry succeeds.
        moto.start()
        S3Store(moto_config(moto.endpoint, BUCKET)).ensure_ready()
        retry = _upload(client, h, customer, data)
        assert retry.status_code == 201, retry.get_data(as_text=True)[:500]
        assert _rows(rt) == {k: v + 1 for k, v in before.items()}
        doc_id = retry.get_json()["id"]
        got = client.get(f"/api/v1/documents/{doc_id}/content", headers=h)
        assert got.status_code == 200
        assert hashlib.sha256(got.data).hexdigest() == hashlib.sha256(data).hexdigest()
        # The bucket holds that one object, whole; no upload is left open.
        with rt.db.unit_of_work() as s:
            names = list(s.execute(select(StoredObject.object_name)).scalars())
        raw = boto3.client(
            "s3",
            endpoint_url=f"http://{moto.endpoint}",
            aws_access_key_id="testing",
            aws_secret_access_key="testing-secret",
            region_name="us-east-1",
        )
        listed = raw.list_objects_v2(Bucket=BUCKET).get("Contents", [])
        assert sorted(o["Key"] for o in listed) == sorted(names)
        assert moto.open_uploads() == 0
    finally:
        rt.close()


def _events(rt: Any) -> list[str]:
    with rt.db.unit_of_work() as s:
        return list(s.execute(select(AuditEvent.action).order_by(AuditEvent.seq)).scalars())
