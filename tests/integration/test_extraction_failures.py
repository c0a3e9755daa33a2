"""A failed text extraction is told, counted and retried: a warning with the document and the
reason class (never text), the health page's count, the repair job's retries with back-off
for reasons that may pass (up to a limit), ``archive search check`` by reason, and
``archive search reextract --failed`` for an admin. On both databases.

A sandbox that cannot start is made real by an installation without the sandbox scripts.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from click.testing import CliRunner
from sqlalchemy import select

from archive_service.archive.models import Document
from archive_service.audit.models import AuditEvent
from archive_service.indexing import maintenance
from archive_service.indexing.rules import FIRST_RETRY, RETRY_LIMIT
from archive_service.runtime import Runtime
from tests import samples
from tests.conftest import People, bearer, break_sandbox, token_for
from tests.integration.test_archive_api import new_customer, upload

BODY = "本合同约定华夏贸易向本公司采购离心泵三百台。"


@pytest.fixture
def clerk(client: Any, people: People) -> dict[str, Any]:
    people.user("clara", "clerk", department="SALES")
    h = bearer(token_for(client, "clara"))
    return {"h": h, "customer": new_customer(client, h)}


@pytest.fixture
def broken_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """The child script is missing: every sandbox fails to start until ``repair()``."""
    break_sandbox(monkeypatch, tmp_path / "missing")
    return lambda: monkeypatch.undo()


def _doc(rt: Runtime, doc_id: int) -> Document:
    with rt.db.unit_of_work() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None
        s.expunge(doc)
        return doc


def _file(client: Any, clerk: dict[str, Any], data: bytes, name: str = "合同.docx") -> int:
    resp = upload(client, clerk["h"], clerk["customer"], data, filename=name, title="合同")
    assert resp.status_code == 201, resp.get_json()
    return int(resp.get_json()["id"])


def test_a_bad_file_is_a_warning_counted_and_not_retried(
    client: Any, clerk: dict[str, Any], rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    broken = b"%PDF-1.4\n" + "客户档案".encode() * 300
    with caplog.at_level(logging.WARNING, logger="archive_service.indexing.renditions"):
        doc_id = _file(client, clerk, broken, "坏文件.pdf")
    doc = _doc(rt, doc_id)
    assert (doc.extraction, doc.extraction_reason) == ("failed", "parse_error")
    assert doc.extraction_attempts == 1 and doc.extraction_retry_at is None
    warnings = [
        r
        for r in caplog.records
        if r.levelno == logging.WARNING and r.name == "archive_service.indexing.renditions"
    ]  # (its preview's failure is a warning of its own)
    assert len(warnings) == 1, caplog.text
    message = warnings[0].getMessage()
    assert str(doc_id) in message and "parse_error" in message
    assert "客户档案" not in caplog.text  # never the file's text
    health = client.get("/api/v1/health").get_json()
    # A bad file is the file's fault: counted, the service is not degraded by it.
    assert health["checks"]["extraction"] == {"ok": True, "failed": {"parse_error": 1}}
    assert health["status"] == "ok"
    found = maintenance.repair(rt.indexing)
    assert found["failed"] == {"parse_error": [doc_id]} and found["retry_due"] == []
    assert _doc(rt, doc_id).extraction_attempts == 1  # not tried again


def test_a_sandbox_that_cannot_start_is_retried_with_back_off_up_to_the_limit(
    client: Any, clerk: dict[str, Any], rt: Runtime, broken_sandbox: Any
) -> None:
    doc_id = _file(client, clerk, samples.word(BODY))
    doc = _doc(rt, doc_id)
    assert (doc.extraction, doc.extraction_reason) == ("failed", "sandbox_start")
    assert doc.extraction_retry_at is not None
    health = client.get("/api/v1/health")
    assert health.status_code == 200 and health.get_json()["status"] == "degraded"
    assert health.get_json()["checks"]["extraction"]["failed"] == {"sandbox_start": 1}

    delays = []
    last_try = datetime.now(UTC)
    for attempt in range(1, RETRY_LIMIT):
        doc = _doc(rt, doc_id)
        assert doc.extraction_attempts == attempt and doc.extraction_retry_at is not None
        delays.append(doc.extraction_retry_at - last_try)
        # Not before its time...
        assert maintenance.repair(rt.indexing)["retry_due"] == []
        assert _doc(rt, doc_id).extraction_attempts == attempt
        # ...then once it has come (the hourly repair, eager here: the extraction runs now).
        last_try = doc.extraction_retry_at + timedelta(minutes=1)
        with time_machine.travel(last_try, tick=False):
            assert maintenance.repair(rt.indexing)["retry_due"] == [doc_id]
    for n, delay in enumerate(delays):
        assert abs(delay - FIRST_RETRY * 2**n) < timedelta(minutes=2), delays
    doc = _doc(rt, doc_id)
    assert doc.extraction_attempts == RETRY_LIMIT and doc.extraction_retry_at is None
    with time_machine.travel(last_try + timedelta(days=30), tick=False):
        assert maintenance.repair(rt.indexing)["retry_due"] == []
    assert _doc(rt, doc_id).extraction_attempts == RETRY_LIMIT


def test_a_retry_that_passes_clears_the_failure(
    client: Any, clerk: dict[str, Any], rt: Runtime, broken_sandbox: Any
) -> None:
    doc_id = _file(client, clerk, samples.word(BODY))
    retry_at = _doc(rt, doc_id).extraction_retry_at
    assert retry_at is not None
    broken_sandbox()  # the installation is fixed
    with time_machine.travel(retry_at + timedelta(minutes=1), tick=False):
        maintenance.repair(rt.indexing)
    doc = _doc(rt, doc_id)
    assert (doc.extraction, doc.extraction_reason, doc.extraction_attempts) == ("done", None, 0)
    assert doc.extraction_retry_at is None
    found = client.get("/api/v1/documents", query_string={"q": "离心泵"}, headers=clerk["h"])
    assert [d["id"] for d in found.get_json()["items"]] == [doc_id]
    assert client.get("/api/v1/health").get_json()["checks"]["extraction"]["ok"] is True


def test_check_reports_failures_by_reason_and_reextract_requeues_them(
    client: Any,
    clerk: dict[str, Any],
    rt: Runtime,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from archive_service.cli import main

    bad = _file(client, clerk, b"%PDF-1.4\n" + bytes(range(256)) * 40, "坏文件.pdf")
    with monkeypatch.context() as broken:  # until fixed, e.g. by the upgrade
        break_sandbox(broken, tmp_path / "missing")
        stuck = _file(client, clerk, samples.word(BODY))
    monkeypatch.setenv("ARCHIVE_INSTANCE_DIR", str(settings.instance_dir))
    monkeypatch.setenv("ARCHIVE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ARCHIVE_KEYRING_FILE", settings.keyring_file)
    monkeypatch.setenv("ARCHIVE_CELERY_ALWAYS_EAGER", "1")  # the queued job runs here
    runner = CliRunner()
    checked = runner.invoke(main, ["search", "check"], catch_exceptions=False)
    assert checked.exit_code == 0, checked.output  # the index agrees with the database
    report = json.loads(checked.output)
    assert report["failed"] == {"parse_error": [bad], "sandbox_start": [stuck]}

    wrong = runner.invoke(main, ["search", "reextract", "--failed", "--reason", "nonsense"])
    assert wrong.exit_code == 2 and "nonsense" in wrong.output
    assert runner.invoke(main, ["search", "reextract"]).exit_code == 2

    only = runner.invoke(
        main,
        ["search", "reextract", "--failed", "--reason", "sandbox_start"],
        catch_exceptions=False,
    )
    assert json.loads(only.output) == {"queued": 1, "documents": [stuck]}
    assert _doc(rt, stuck).extraction == "done"
    assert _doc(rt, bad).extraction_attempts == 1

    every = runner.invoke(main, ["search", "reextract", "--failed"], catch_exceptions=False)
    assert json.loads(every.output) == {"queued": 1, "documents": [bad]}
    doc = _doc(rt, bad)
    assert (doc.extraction, doc.extraction_reason, doc.extraction_attempts) == (
        "failed",
        "parse_error",
        1,
    )
    after = json.loads(runner.invoke(main, ["search", "check"], catch_exceptions=False).output)
    assert after["failed"] == {"parse_error": [bad]}
    with rt.db.unit_of_work() as s:
        actions = list(s.execute(select(AuditEvent.action)).scalars())
    assert actions.count("search.reextract") == 2
