"""OCR progress of a paged file, as the first extraction leaves it: how many pages its text
covers, of how many, and whether a continuation reads on (indexing/continuation.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from archive_service.archive.models import Document
from archive_service.db import utcnow
from archive_service.jobs import later
from search.extract import Extraction

RUNNING, FAILED, DONE = "running", "failed", "done"


def continue_later(session: Session, document_id: int) -> None:
    """Read the document's next batch of pages after the caller's transaction commits."""
    later(session, "ocr_continue", document_id)


def note_progress(session: Session, doc: Document, result: Extraction) -> None:
    """Record what a first extraction read of a paged file (called in its transaction);
    queue the continuation if pages wait."""
    doc.ocr_attempts, doc.ocr_retry_at = 0, None
    if (
        result.text is None
        or result.pages_total is None
        or (not result.ocr_pages and result.next_page is None)
    ):
        doc.ocr_pages_read = doc.ocr_pages_total = doc.ocr_state = doc.ocr_touched_at = None
        return
    doc.ocr_pages_total = result.pages_total
    doc.ocr_touched_at = utcnow()
    if result.next_page is None:
        doc.ocr_pages_read, doc.ocr_state = result.pages_total, DONE
    else:
        doc.ocr_pages_read, doc.ocr_state = result.next_page, RUNNING
        continue_later(session, doc.id)
