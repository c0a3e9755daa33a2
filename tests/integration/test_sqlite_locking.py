"""The embedded default (SQLite) under load: the health check never waits for, or takes, the
write lock, and an upload does not hold it while its file streams into the store."""

from __future__ import annotations

import io
import sqlite3
import threading
from typing import Any

import pytest

from archive_service.archive import documents
from tests import samples
from tests.conftest import People, bearer, token_for
from tests.integration.test_archive_api import new_customer, upload

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _path(rt: Any) -> str:
    return str(rt.db.engine.url.database)


def _write_elsewhere(rt: Any) -> None:
    """A second connection takes the write lock and writes, waiting at most a second."""
    other = sqlite3.connect(_path(rt), timeout=1, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("CREATE TABLE IF NOT EXISTS lock_probe (n INTEGER)")
        other.execute("INSERT INTO lock_probe VALUES (1)")
        other.execute("COMMIT")
    finally:
        other.close()


class Parked(io.RawIOBase):
    """An upload's body that stops after its first read until ``go`` is set, as a slow
    client's would."""

    def __init__(self, data: bytes) -> None:
        self.data = io.BytesIO(data)
        self.reads = 0
        self.parked, self.go = threading.Event(), threading.Event()

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        self.reads += 1
        if self.reads == 2:
            self.parked.set()
            assert self.go.wait(60)
        chunk = self.data.read(len(buf))
        buf[: len(chunk)] = chunk
        return len(chunk)


def test_an_upload_holds_no_write_lock_while_its_file_streams(rt: Any, people: People) -> None:
    people.user("clara", "clerk", department="SALES")
    cid = people.customer("clara")
    body = Parked(samples.pdf("x" * 40_000))
    outcome: list[Any] = []

    def clerk_uploads() -> None:
        try:
            with rt.db.unit_of_work() as s:
                doc = documents.upload(
                    s,
                    people.caller(s, "clara"),
                    rt.vault,
                    documents.Upload(
                        customer_id=cid,
                        category="basic.profile",
                        title="营业执照",
                        retention_class="short",
                        document_date=None,
                        filename="营业执照.pdf",
                        stream=io.BufferedReader(body),
                    ),
                    rt.archive,
                )
                outcome.append(doc.id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            outcome.append(exc)
        finally:
            body.parked.set()

    worker = threading.Thread(target=clerk_uploads)
    worker.start()
    try:
        assert body.parked.wait(30)
        _write_elsewhere(rt)  # "database is locked" while the upload held the lock
    finally:
        body.go.set()
        worker.join(60)
    assert len(outcome) == 1 and isinstance(outcome[0], int), outcome


def test_the_health_check_answers_while_another_connection_writes(client: Any, rt: Any) -> None:
    assert client.get("/api/v1/health").status_code == 200  # the service has started (WAL)
    other = sqlite3.connect(_path(rt), timeout=1, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("CREATE TABLE IF NOT EXISTS lock_probe (n INTEGER)")
        resp = client.get("/api/v1/health")
    finally:
        other.execute("ROLLBACK")
        other.close()
    body = resp.get_json()
    assert body["checks"]["database"]["ok"], body
    assert body["checks"]["extraction"]["ok"], body
    assert resp.status_code == 200, body


def test_concurrent_uploads_never_make_the_health_check_fail(
    app: Any, rt: Any, people: People
) -> None:
    people.user("clara", "clerk", department="SALES")
    client = app.test_client()
    who = bearer(token_for(client, "clara"))
    cid = new_customer(client, who)
    statuses: list[int] = []
    health: list[int] = []
    done = threading.Event()

    def clerk(n: int) -> None:
        c = app.test_client()
        for i in range(4):
            data = samples.pdf(f"file {n}-{i} " + "y" * 20_000)
            statuses.append(upload(c, who, cid, data, filename=f"f{n}-{i}.pdf").status_code)

    def poll() -> None:
        c = app.test_client()
        while not done.is_set():
            health.append(c.get("/api/v1/health").status_code)

    poller = threading.Thread(target=poll)
    poller.start()
    clerks = [threading.Thread(target=clerk, args=(n,)) for n in range(6)]
    for t in clerks:
        t.start()
    for t in clerks:
        t.join(120)
    done.set()
    poller.join(60)
    assert statuses == [201] * 24, statuses
    assert health and set(health) == {200}, health


def test_a_bearer_token_request_holds_no_write_lock(app: Any, rt: Any, people: People) -> None:
    """Looking the token up only reads: the request then holds no lock while it reads on."""
    from archive_service.api.common import load_bearer

    people.user("clara", "clerk", department="SALES")
    token = token_for(app.test_client(), "clara")
    with app.test_request_context("/api/v1/documents", headers=bearer(token)):
        load_bearer()
        _write_elsewhere(rt)  # "database is locked" after a second if the lookup held it
