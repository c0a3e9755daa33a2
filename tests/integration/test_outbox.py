"""The job outbox on both databases: a job is a row exactly when its change committed, it
stays until a send succeeds, and the sweep sends what a failed send left. The failing
broker is a real Celery client pointed at a port where nothing listens."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select, text

from archive_service.archive.models import Document
from archive_service.db import utcnow
from archive_service.jobs import later, later_for
from archive_service.outbox import relay
from archive_service.outbox.models import OutboxJob
from archive_service.runtime import Runtime
from tests import samples
from workers.celery_app import CelerySender, celery
from workers.context import use_runtime


def _rows(rt: Runtime) -> list[OutboxJob]:
    with rt.db.unit_of_work() as s:
        return list(s.execute(select(OutboxJob).order_by(OutboxJob.id)).scalars())


def _dead_broker(rt: Runtime) -> CelerySender:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"redis://127.0.0.1:{port}/0"
    return CelerySender(replace(rt.settings, broker_url=url, result_backend=url))


def test_a_rolled_back_transaction_leaves_no_row(rt: Runtime) -> None:
    with pytest.raises(RuntimeError), rt.db.unit_of_work() as s:
        later(s, "ping")
        later_for(s, "index_documents", [1, 2])
        raise RuntimeError("the use case failed")
    assert _rows(rt) == []


def test_a_committed_job_is_a_row_until_it_is_sent(rt: Runtime) -> None:
    eager, rt.jobs = rt.jobs, None  # this process cannot send: the row waits
    with rt.db.unit_of_work() as s:
        later_for(s, "index_documents", [3, 1])
        later_for(s, "index_documents", [2])
        later(s, "ping")
    rows = _rows(rt)
    assert [(r.task, r.args, r.attempts) for r in rows] == [
        ("index_documents", [[1, 2, 3]], 0),
        ("ping", [], 0),
    ]
    # Held by the process that wrote it for a while; a sweep then sends it.
    assert eager is not None
    assert relay.sweep(rt.db.engine, eager).sent == []
    with time_machine.travel(utcnow() + relay.CLAIM + timedelta(seconds=1)):
        assert relay.sweep(rt.db.engine, eager).sent == [r.id for r in rows]
    assert _rows(rt) == []


def test_eager_jobs_run_at_once_through_the_outbox(rt: Runtime, people: Any) -> None:
    people.user("clara", "clerk")
    doc_id = people.document("clara", people.customer("clara"), samples.pdf("Bestellung"))
    with rt.db.unit_of_work() as s:
        assert s.get(Document, doc_id).extraction == "done"  # type: ignore[union-attr]
    assert _rows(rt) == []


def test_a_failed_send_keeps_the_row_and_the_sweep_sends_it(
    rt: Runtime, people: Any, client: Any
) -> None:
    people.user("clara", "clerk")
    customer = people.customer("clara")
    eager, rt.jobs = rt.jobs, _dead_broker(rt)
    assert eager is not None
    doc_id = people.document("clara", customer, samples.pdf("Lieferschein"))  # commits
    rows = _rows(rt)
    assert {r.task for r in rows} == {"extract_text", "make_previews", "check_documents"}
    assert sorted(r.attempts for r in rows) == [0, 0, 1]  # the first failed, the rest wait
    assert all(r.claimed_until is None for r in rows)
    assert any(r.last_error == "OperationalError" for r in rows)
    health = client.get("/api/v1/health").get_json()
    assert health["checks"]["outbox"]["backlog"] == 3 and health["status"] == "ok"
    # A sweep while the broker is still down counts the attempt and sends nothing.
    assert relay.sweep(rt.db.engine, rt.jobs).sent == []
    assert max(r.attempts for r in _rows(rt)) == 2
    # An old backlog degrades the health check, in both languages.
    with time_machine.travel(utcnow() + timedelta(minutes=6)):
        health = client.get("/api/v1/health").get_json()
    outbox = health["checks"]["outbox"]
    assert health["status"] == "degraded" and outbox["ok"] is False, health
    assert outbox["message"].startswith("3 background jobs are waiting for the broker")
    assert "个后台任务正在等待" in outbox["message_zh"] and "6 分钟" in outbox["message_zh"]
    with rt.db.unit_of_work() as s:
        assert s.get(Document, doc_id).extraction == "pending"  # type: ignore[union-attr]
    # The broker is back (eager here): the beat's task sends every row, oldest first.
    rt.jobs = eager
    use_runtime(rt)
    celery.loader.import_default_modules()
    assert celery.tasks["workers.tasks.relay_outbox"]() == {"sent": 3, "failed": 0, "untried": 0}
    assert _rows(rt) == []
    with rt.db.unit_of_work() as s:
        assert s.get(Document, doc_id).extraction == "done"  # type: ignore[union-attr]
    assert client.get("/api/v1/health").get_json()["checks"]["outbox"]["backlog"] == 0


def test_the_sweep_takes_the_oldest_first_and_skips_rows_another_relay_holds(
    rt: Runtime,
) -> None:
    rt.jobs = None
    for n in range(3):
        with rt.db.unit_of_work() as s:
            later(s, "ping", n)
    ids = [r.id for r in _rows(rt)]
    with time_machine.travel(utcnow() + relay.CLAIM + timedelta(seconds=1)):
        if rt.db.engine.dialect.name != "postgresql":
            assert [j.id for j in relay.claim(rt.db.engine, 1)] == ids[:1]
            assert [j.id for j in relay.claim(rt.db.engine)] == ids[1:]
            return
        # PostgreSQL: a relay in the middle of claiming the oldest row holds its lock.
        with rt.db.engine.connect() as other:
            other.begin()
            other.execute(text("SELECT id FROM job_outbox WHERE id = :i FOR UPDATE"), {"i": ids[0]})
            assert [j.id for j in relay.claim(rt.db.engine)] == ids[1:]  # not blocked
            other.rollback()
        assert [j.id for j in relay.claim(rt.db.engine)] == ids[:1]
        assert relay.claim(rt.db.engine) == []  # all held now
