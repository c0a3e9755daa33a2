"""A long scan is read past the OCR page limit in the background: the first extraction
reads up to ARCHIVE_OCR_MAX_PAGES (2 here), a continuation reads the next batch, appends
its text to the rendition in page order (the old object deleted), re-indexes and records
progress (API and web page), until every page is read. A failed batch is recorded and
retried with back-off; a stalled one is restarted. On both databases."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from archive_service.archive.models import Document
from archive_service.audit.models import AuditEvent
from archive_service.config import Settings
from archive_service.db import utcnow
from archive_service.indexing import continuation, progress
from archive_service.indexing.renditions import rendition_text
from archive_service.indexing.rules import OCR_FIRST_RETRY, OCR_RETRY_LIMIT
from archive_service.policy import Caller
from archive_service.runtime import Runtime
from archive_service.vault.models import StoredObject
from tests import samples
from tests.conftest import People, bearer, break_sandbox, token_for
from tests.integration.test_archive_api import new_customer, upload
from tests.integration.test_web_accounts import login

WORDS = ["采购合同", "担保函件", "验收报告", "付款凭证"]  # one per page, in page order


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, ocr_max_pages=2)


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Continuations noted, not run: eager jobs would read every batch inside the upload."""
    noted: list[int] = []
    monkeypatch.setattr(progress, "continue_later", lambda s, doc_id: noted.append(doc_id))
    return noted


@pytest.fixture
def clerk(client: Any, people: People) -> dict[str, Any]:
    people.user("clara", "clerk", department="SALES")
    h = bearer(token_for(client, "clara"))
    return {"h": h, "customer": new_customer(client, h)}


def _scan(client: Any, clerk: dict[str, Any]) -> int:
    pages = [samples.scan(f"第{n}页", word) for n, word in enumerate(WORDS, 1)]
    resp = upload(client, clerk["h"], clerk["customer"], samples.scanned_pdf(*pages), "扫描件.pdf")
    assert resp.status_code == 201, resp.get_json()
    return int(resp.get_json()["id"])


def _found(client: Any, clerk: dict[str, Any], word: str) -> list[int]:
    resp = client.get("/api/v1/documents", query_string={"q": word}, headers=clerk["h"])
    assert resp.status_code == 200, resp.get_json()
    return [d["id"] for d in resp.get_json()["items"]]


def _ocr(client: Any, clerk: dict[str, Any], doc_id: int) -> dict[str, Any]:
    resp = client.get(f"/api/v1/documents/{doc_id}", headers=clerk["h"])
    assert resp.status_code == 200, resp.get_json()
    return dict(resp.get_json()["ocr"])


def _doc(rt: Runtime, doc_id: int) -> Document:
    with rt.db.unit_of_work() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None
        s.expunge(doc)
        return doc


def test_pages_past_the_limit_are_read_in_the_background(
    client: Any, clerk: dict[str, Any], rt: Runtime, held: list[int]
) -> None:
    doc_id = _scan(client, clerk)
    assert held == [doc_id]
    progress = _ocr(client, clerk, doc_id)
    assert (progress["pages_read"], progress["pages_total"], progress["running"]) == (2, 4, True)
    assert _found(client, clerk, "担保函件") == [doc_id] and _found(client, clerk, "验收报告") == []
    login(client, "clara")  # the web page shows it too, in Chinese by default and English
    page = client.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "已识别 2 / 4 页" in page and "其余页面正在后台识别" in page
    page = client.get(f"/documents/{doc_id}?lang=en").get_data(as_text=True)
    assert "2 of 4 pages read" in page
    first_object = _doc(rt, doc_id).text_object_id

    assert continuation.continue_ocr(rt.indexing, doc_id) == "done"
    progress = _ocr(client, clerk, doc_id)
    assert (progress["pages_read"], progress["pages_total"], progress["running"]) == (4, 4, False)
    for word in WORDS:
        assert _found(client, clerk, word) == [doc_id], word
    with rt.db.unit_of_work() as s:
        doc = s.get(Document, doc_id)
        assert doc is not None
        text = "".join(rendition_text(rt.vault, s, doc).split())
        assert [text.index(w) for w in WORDS] == sorted(text.index(w) for w in WORDS)
        old = s.get(StoredObject, first_object)
        assert old is None or old.wrapped_key is None  # the replaced rendition's key is gone
        events = (
            s.execute(select(AuditEvent).where(AuditEvent.action == "document.ocr_continue"))
            .scalars()
            .all()
        )
        assert [e.details["outcome"] for e in events] == ["done"]
        assert not any(w in str(e.details) for e in events for w in WORDS)  # counts only
    # Run again (a redelivered message): nothing waits, nothing changes.
    assert continuation.continue_ocr(rt.indexing, doc_id) == "idle"


def test_a_stalled_or_failed_batch_is_restarted_with_back_off(
    client: Any,
    clerk: dict[str, Any],
    rt: Runtime,
    held: list[int],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    doc_id = _scan(client, clerk)
    with rt.db.unit_of_work() as s:
        assert continuation.due(rt.indexing, s) == []  # running, and recently
    later = utcnow() + timedelta(hours=2)  # no progress for longer than a batch may take
    with time_machine.travel(later, tick=False), rt.db.unit_of_work() as s:
        assert continuation.due(rt.indexing, s) == [doc_id]
    with monkeypatch.context() as broken:
        break_sandbox(broken, tmp_path / "missing")
        assert continuation.continue_ocr(rt.indexing, doc_id) == "failed"
    doc = _doc(rt, doc_id)
    assert (doc.ocr_state, doc.ocr_attempts, doc.ocr_pages_read) == ("failed", 1, 2)
    assert doc.ocr_retry_at is not None
    assert abs(doc.ocr_retry_at - utcnow() - OCR_FIRST_RETRY) < timedelta(minutes=1)
    shown = _ocr(client, clerk, doc_id)
    assert shown["failed"] and shown["running"] and shown["retry_at"]
    with rt.db.unit_of_work() as s:
        assert continuation.due(rt.indexing, s) == []  # not before its time
        assert continuation.due(rt.indexing, s, doc.ocr_retry_at) == [doc_id]
    with time_machine.travel(doc.ocr_retry_at + timedelta(seconds=1), tick=False):
        assert continuation.resume(rt.indexing) == [doc_id]
    assert held[-1] == doc_id
    with monkeypatch.context() as broken:  # it keeps failing, up to the limit
        break_sandbox(broken, tmp_path / "missing")
        for _ in range(OCR_RETRY_LIMIT - 1):
            assert continuation.continue_ocr(rt.indexing, doc_id) == "failed"
    doc = _doc(rt, doc_id)
    assert doc.ocr_attempts == OCR_RETRY_LIMIT and doc.ocr_retry_at is None
    shown = _ocr(client, clerk, doc_id)
    assert shown["failed"] and not shown["running"]  # shown, not silently stopped
    with rt.db.unit_of_work() as s:
        assert continuation.due(rt.indexing, s, utcnow() + timedelta(days=30)) == []
        assert continuation.retry_failed(s, Caller.cli()) == [doc_id]  # an admin's re-try
    doc = _doc(rt, doc_id)
    assert held[-1] == doc_id and doc.ocr_attempts == 0 and doc.ocr_pages_read == 2


def test_a_file_read_to_the_end_has_no_continuation(
    client: Any, clerk: dict[str, Any], held: list[int]
) -> None:
    resp = upload(client, clerk["h"], clerk["customer"], samples.word("合同正文"), "合同.docx")
    assert resp.status_code == 201
    assert resp.get_json()["ocr"] is None and held == []
