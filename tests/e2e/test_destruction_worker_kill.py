"""A destruction whose Celery worker is killed (SIGKILL) half way finishes correctly.

The production path: PostgreSQL, Redis, a real ``celery worker`` process.
The run is paced so it can be caught in the middle; after the kill a new
worker receives the task again (Redis redelivers what the dead worker held)
and finishes it: every item destroyed exactly once, the record complete and
signed, every object gone from the store.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select

from archive_service.accounts import departments, users
from archive_service.archive import customers, documents, review
from archive_service.audit.models import AuditEvent
from archive_service.config import Settings
from archive_service.disposal import destructions, records, reviews
from archive_service.disposal.models import Destruction, DestructionItem
from archive_service.policy import Caller
from archive_service.runtime import Runtime, build_runtime
from archive_service.vault.models import StoredObject
from storage.keyring import Keyring
from tests import samples
from tests.conftest import PASSWORD, require_redis
from tests.e2e import stack
from workers.sender import connect

pytestmark = pytest.mark.slow
DOCUMENTS = 8


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return stack.start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers.celery_app:celery",
            "worker",
            "--pool",
            "solo",
            "--queues",
            "default,index",
            "--hostname",
            f"kill-{os.getpid()}-{time.monotonic_ns()}@%h",
        ],
        stack.process_env(env),
        log,
    )


def _as(session: Any, username: str) -> Caller:
    return Caller.of(users.user_by_username(session, username))


def _prepare(rt: Runtime) -> int:
    """An approved destruction of DOCUMENTS documents filed eleven years ago."""
    op = Caller.cli()
    with rt.db.unit_of_work() as s:
        for code in ("SALES", "OPS"):
            departments.create_department(s, op, code, code)
        for name, role, dept in (
            ("clara", "clerk", "SALES"),
            ("arch", "archivist", "OPS"),
            ("olga", "operations_head", "OPS"),
            ("leo", "leader", "OPS"),
            ("sven", "supervisor", "OPS"),
        ):
            users.create_user(
                s,
                op,
                username=name,
                password=PASSWORD,
                display_name=name,
                department=dept,
                roles=[role],
                settings=rt.accounts,
            )
    past = datetime.now(UTC) - timedelta(days=11 * 366)
    with time_machine.travel(past, tick=True), rt.db.unit_of_work() as s:
        clara, arch = _as(s, "clara"), _as(s, "arch")
        customer = customers.create_customer(
            s, clara, {"name": "旧客户", "customer_type": "enterprise", "department": "SALES"}
        )
        for n in range(DOCUMENTS):
            doc = documents.upload(
                s,
                clara,
                rt.vault,
                documents.Upload(
                    customer_id=customer.id,
                    category="basic.profile",
                    title=f"文件{n}",
                    retention_class="short",
                    document_date=None,
                    filename=f"f{n}.pdf",
                    stream=io.BytesIO(samples.pdf(f"file {n}")),
                ),
                rt.archive,
            )
            review.accept(s, arch, doc.id, rt.archive, rt.checking)
    with rt.db.unit_of_work() as s:
        arch = _as(s, "arch")
        listed = reviews.compile_review(s, arch, rt.archive.retention)
        assert listed is not None and len(listed.items) == DOCUMENTS
        reviews.confirm(s, _as(s, "olga"), listed.id)
        for item in listed.items:
            reviews.appraise(
                s, arch, listed.id, item.document_id, "destroy", None, None, rt.archive.retention
            )
        dest = destructions.apply_for_destruction(s, arch, listed.id)
        destructions.decide(s, _as(s, "olga"), dest.id, "approve", None)
        destructions.decide(s, _as(s, "leo"), dest.id, "approve", None)
        destructions.start(s, arch, dest.id, "sven", "机房")  # queued once this commits
        return dest.id


def _results(rt: Runtime, destruction_id: int) -> dict[str, int]:
    with rt.db.unit_of_work() as s:
        rows = s.execute(
            select(DestructionItem.result, func.count())
            .where(DestructionItem.destruction_id == destruction_id)
            .group_by(DestructionItem.result)
        ).all()
        return {str(r): int(n) for r, n in rows}


def _status(rt: Runtime, destruction_id: int) -> str:
    with rt.db.unit_of_work() as s:
        dest = s.get(Destruction, destruction_id)
        assert dest is not None
        return dest.status


def test_killed_worker_run_finishes_after_restart(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    pg_url: str = request.getfixturevalue("pg_schema_url")
    from tests.conftest import _reset_pg

    _reset_pg(pg_url)
    require_redis(12, 13)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARCHIVE_")}
    env.update(
        ARCHIVE_INSTANCE_DIR=str(tmp_path / "instance"),
        ARCHIVE_DATABASE_URL=pg_url,
        ARCHIVE_BROKER_URL="redis://127.0.0.1:6379/13",
        ARCHIVE_RESULT_BACKEND="redis://127.0.0.1:6379/12",
        ARCHIVE_SECRET_KEY="kill-test",
        ARCHIVE_KEYRING=Keyring.generate().to_json(),
        ARCHIVE_DESTRUCTION_PACE_MS="500",
        ARCHIVE_BROKER_VISIBILITY_TIMEOUT="4",
        ARCHIVE_BROKER_RESTORE_SECONDS="2",
    )
    settings = Settings.from_env(env)
    rt = connect(build_runtime(settings))
    log = tmp_path / "worker.log"
    try:
        destruction_id = _prepare(rt)
        with rt.db.unit_of_work() as s:
            names = [o.object_name for o in s.execute(select(StoredObject)).scalars()]
        first = _worker(env, log)
        deadline = time.time() + 120
        while time.time() < deadline:
            done = _results(rt, destruction_id).get("destroyed", 0)
            if done >= 2:
                break
            time.sleep(0.1)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        halfway = _results(rt, destruction_id)
        assert 2 <= halfway.get("destroyed", 0) < DOCUMENTS, (halfway, log.read_text()[-3000:])
        assert _status(rt, destruction_id) == "executing"

        second = _worker(env, log)
        try:
            deadline = time.time() + 120
            while time.time() < deadline and _status(rt, destruction_id) != "completed":
                time.sleep(0.5)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        assert _status(rt, destruction_id) == "completed", log.read_text()[-3000:]
        assert _results(rt, destruction_id) == {"destroyed": DOCUMENTS}
        with rt.db.unit_of_work() as s:
            events: Any = s.execute(
                select(AuditEvent.target_id, func.count())
                .where(AuditEvent.action == "destruction.item")
                .group_by(AuditEvent.target_id)
            ).all()
            assert len(events) == DOCUMENTS and all(n == 1 for _t, n in events)
            assert records.verify_record(s, Caller.cli(), rt.signer, destruction_id)
        assert names and not any(rt.vault.backend.exists(n) for n in names)
    finally:
        rt.close()
