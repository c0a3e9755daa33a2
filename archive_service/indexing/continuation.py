"""OCR continuation: the pages of a long scan past ``ARCHIVE_OCR_MAX_PAGES``, read in the
background one batch (a page range) at a time, each batch's text appended to the text
rendition in page order, the document re-indexed and its progress recorded.

The first extraction (``renditions.extract_text``) reads up to the page limit and notes
where it stopped (``progress.note_progress``); :func:`continue_ocr` reads the next batch in the
limited child, and queues the one after it until every page is read. A failed batch is
recorded and retried with back-off; :func:`due` finds the failed batches whose time has
come and the running ones that stopped making progress (their worker died), for the
scheduled job that restarts them. Safe to run twice: a batch whose start page no longer
matches the document's progress is stale and changes nothing.
"""

from __future__ import annotations

import io
import logging
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from archive_service.archive.models import Document, DocumentStatus
from archive_service.audit.services import Actor, record
from archive_service.db import utcnow
from archive_service.indexing import progress
from archive_service.indexing.context import Indexing
from archive_service.indexing.later import refresh_later
from archive_service.indexing.progress import DONE, FAILED, RUNNING
from archive_service.indexing.renditions import extract_stored
from archive_service.indexing.rules import next_ocr_retry, ocr_stall
from archive_service.policy import Caller, require
from archive_service.vault.models import StoredObject
from search.extract import MAX_CHARS, Extraction

log = logging.getLogger(__name__)
SYSTEM = Actor.system("indexer")


def continue_ocr(ix: Indexing, document_id: int) -> str:
    """Read the next batch of a document's pages; returns the outcome (running: more pages
    wait and the next batch is queued; done; failed; idle: nothing waits; stale; gone)."""
    with ix.db.unit_of_work() as s:
        doc = s.get(Document, document_id)
        if doc is None or doc.status == DocumentStatus.DESTROYED or not doc.versions:
            return "gone"
        if doc.ocr_state not in (RUNNING, FAILED) or doc.ocr_pages_read is None:
            return "idle"
        version = doc.current_version
        assert version is not None
        obj = s.get(StoredObject, version.stored_object_id)
        assert obj is not None
        content_type, version_id, start = version.content_type, version.id, doc.ocr_pages_read
        doc.ocr_state, doc.ocr_touched_at = RUNNING, utcnow()  # the stall clock restarts
    result, _ = extract_stored(ix, obj, content_type, first_page=start)
    with ix.db.unit_of_work() as s:
        s.execute(select(Document.id).where(Document.id == document_id).with_for_update())
        doc = s.get(Document, document_id, populate_existing=True)
        if doc is None or doc.status == DocumentStatus.DESTROYED:
            return "gone"
        current = doc.current_version
        if current is None or current.id != version_id or doc.ocr_pages_read != start:
            return "stale"  # a new version, or another run read this batch meanwhile
        if doc.ocr_state not in (RUNNING, FAILED):
            return "stale"
        if result.text is None:
            return _failed(s, doc, start, result)
        old = _append(ix, s, doc, result.text)
        doc.ocr_pages_total = result.pages_total or doc.ocr_pages_total
        if result.next_page is None:
            doc.ocr_pages_read, doc.ocr_state = doc.ocr_pages_total, DONE
        else:
            doc.ocr_pages_read, doc.ocr_state = result.next_page, RUNNING
        doc.ocr_attempts, doc.ocr_retry_at, doc.ocr_touched_at = 0, None, utcnow()
        record(
            s,
            SYSTEM,
            "document.ocr_continue",
            "document",
            doc.id,
            outcome=doc.ocr_state,
            pages_from=start,
            pages_read=doc.ocr_pages_read,
            pages_total=doc.ocr_pages_total,
            ocr_pages=result.ocr_pages,
            ocr_pages_timed_out=result.ocr_pages_timed_out,
            chars=len(result.text),  # counts only, never text
        )
        if old is not None:
            ix.vault.destroy_key(s, old)
        refresh_later(s, [doc.id])
        if doc.ocr_state == RUNNING:
            progress.continue_later(s, doc.id)
        outcome = doc.ocr_state
    if old is not None:
        ix.vault.delete_object(old.object_name)
    return outcome


def _append(ix: Indexing, s: Session, doc: Document, text: str) -> StoredObject | None:
    """Put the rendition with ``text`` after its present text (pages in order); returns the
    replaced object, whose key the caller destroys and whose object goes after commit."""
    from archive_service.indexing.renditions import rendition_text

    if not text:
        return None  # blank pages: progress only
    existing = rendition_text(ix.vault, s, doc)
    combined = f"{existing}\n{text}" if existing else text
    old = s.get(StoredObject, doc.text_object_id) if doc.text_object_id else None
    new = ix.vault.put(s, io.BytesIO(combined[:MAX_CHARS].encode("utf-8")))
    doc.text_object_id = new.id
    return old


def _failed(s: Session, doc: Document, start: int, result: Extraction) -> str:
    doc.ocr_state = FAILED
    doc.ocr_attempts = (doc.ocr_attempts or 0) + 1
    doc.ocr_retry_at = next_ocr_retry(doc.ocr_attempts, utcnow())
    record(
        s,
        SYSTEM,
        "document.ocr_continue",
        "document",
        doc.id,
        outcome=FAILED,
        pages_from=start,
        reason=result.reason,
        attempt=doc.ocr_attempts,
        retry_at=doc.ocr_retry_at.isoformat() if doc.ocr_retry_at else None,
    )
    # Id and reason class only: the error text may quote the file.
    log.warning(
        "OCR continuation of document %s from page %d failed: %s (try %d, %s)",
        doc.id,
        start + 1,
        result.reason,
        doc.ocr_attempts,
        f"retried after {doc.ocr_retry_at:%Y-%m-%d %H:%M} UTC"
        if doc.ocr_retry_at
        else "not retried automatically",
    )
    return FAILED


def due(ix: Indexing, session: Session, now: datetime | None = None) -> list[int]:
    """Continuations to start again: failed batches whose retry time has come, and running
    ones without progress for longer than a batch may take (their worker died)."""
    now = now or utcnow()
    stalled_before = now - ocr_stall(ix.extract_timeout, ix.ocr.page_seconds, ix.ocr.max_pages)
    live = Document.status != DocumentStatus.DESTROYED
    return list(
        session.execute(
            select(Document.id)
            .where(
                live,
                or_(
                    and_(Document.ocr_state == FAILED, Document.ocr_retry_at <= now),
                    and_(
                        Document.ocr_state == RUNNING,
                        or_(
                            Document.ocr_touched_at.is_(None),
                            Document.ocr_touched_at < stalled_before,
                        ),
                    ),
                ),
            )
            .order_by(Document.id)
        ).scalars()
    )


def resume(ix: Indexing) -> list[int]:
    """The scheduled repair: queue the continuations :func:`due` finds."""
    with ix.db.unit_of_work() as s:
        ids = due(ix, s)
        for doc_id in ids:
            progress.continue_later(s, doc_id)
    return ids


def retry_failed(session: Session, by: Caller) -> list[int]:
    """Queue again the continuations that failed past their retry limit (an admin's
    ``archive search reextract --failed``): their tries count from zero."""
    require(by, "search.manage")
    docs = session.execute(
        select(Document)
        .where(Document.ocr_state == FAILED, Document.status != DocumentStatus.DESTROYED)
        .order_by(Document.id)
    ).scalars()
    ids = []
    for doc in docs:
        doc.ocr_attempts, doc.ocr_retry_at, doc.ocr_touched_at = 0, None, utcnow()
        progress.continue_later(session, doc.id)
        ids.append(doc.id)
    if ids:
        record(session, by.actor, "search.ocr_retry", "index", None, documents=len(ids))
    return ids
