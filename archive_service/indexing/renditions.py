"""Text renditions: a version's extracted text, kept encrypted like a document, made in a
limited child process; failures recorded by reason class and retried when they may pass."""

from __future__ import annotations

import hashlib
import io
import logging
import tempfile
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive_service.archive.models import Document, DocumentStatus
from archive_service.audit.services import Actor, record
from archive_service.db import utcnow
from archive_service.indexing.context import Indexing
from archive_service.indexing.later import extract_later, refresh_later
from archive_service.indexing.progress import note_progress
from archive_service.indexing.rules import next_retry
from archive_service.policy import Caller, require
from archive_service.vault.models import StoredObject
from archive_service.vault.services import Vault
from search.extract import Extraction

log = logging.getLogger(__name__)
SYSTEM = Actor.system("indexer")


def extract_stored(
    ix: Indexing, obj: StoredObject, content_type: str, first_page: int = 0
) -> tuple[Extraction, str]:
    """Decrypt a stored file into the instance's private temp area and extract its text
    (from ``first_page`` on, for an OCR continuation) in the limited child; the plaintext
    file exists only while the child reads it. Also returns the file's SM3 digest, taken on
    the way (a transfer package lists it)."""
    from search.extract import extract

    sm3 = hashlib.new("sm3")
    with tempfile.NamedTemporaryFile(dir=ix.temp_dir, prefix="extract-") as plain:
        for chunk in ix.vault.open(obj):
            plain.write(chunk)
            sm3.update(chunk)
        plain.flush()
        return extract(
            plain.name,
            content_type,
            timeout=ix.extract_timeout,
            memory_mb=ix.extract_memory_mb,
            ocr=ix.ocr,
            first_page=first_page,
        ), sm3.hexdigest()


def extract_text(ix: Indexing, document_id: int) -> str:
    """Extract the current version's text into an encrypted rendition; returns the outcome.

    The plaintext file exists only in the instance's private temp area, for the
    time the limited child process reads it. A failure is recorded on the
    document with its reason class and, when the reason may pass, the time the
    repair job tries again (its metadata stays searchable); it is logged as a
    warning (id and reason, never text) and never raised.
    """

    # A short transaction to find the object; decrypting and extracting hold no lock.
    with ix.db.unit_of_work() as s:
        doc = s.get(Document, document_id)
        if doc is None or doc.status == DocumentStatus.DESTROYED or not doc.versions:
            return "gone"
        version = doc.current_version
        assert version is not None
        obj = s.get(StoredObject, version.stored_object_id)
        assert obj is not None
        content_type, version_id = version.content_type, version.id
    result, sm3 = extract_stored(ix, obj, content_type)
    with ix.db.unit_of_work() as s:
        s.execute(select(Document.id).where(Document.id == document_id).with_for_update())
        doc = s.get(Document, document_id, populate_existing=True)
        if doc is None or doc.status == DocumentStatus.DESTROYED:
            return "gone"
        current = doc.current_version
        if current is None or current.id != version_id:
            return "stale"  # a newer version arrived meanwhile; its own extraction follows
        current.sm3 = current.sm3 or sm3
        old = s.get(StoredObject, doc.text_object_id) if doc.text_object_id else None
        if result.text:
            new = ix.vault.put(s, io.BytesIO(result.text.encode("utf-8")))
            doc.text_object_id, doc.extraction, doc.extraction_error = new.id, "done", None
        elif result.text is not None:  # a blank page or a photo without text: nothing failed
            doc.text_object_id, doc.extraction, doc.extraction_error = None, "done", None
        else:
            doc.text_object_id, doc.extraction = None, "failed"
            doc.extraction_error = (result.error or "failed")[:300]
        _note_attempt(doc, result.reason if result.text is None else None)
        note_progress(s, doc, result)  # pages past the OCR limit: read on in the background
        record(
            s,
            SYSTEM,
            "document.extract",
            "document",
            doc.id,
            outcome=doc.extraction,
            error=doc.extraction_error,
            truncated=result.truncated,
            chars=len(result.text or ""),
            # Counts only: pages past ARCHIVE_OCR_MAX_PAGES wait for the continuation.
            ocr_pages=result.ocr_pages,
            ocr_pages_not_read=result.ocr_pages_over_limit,
            pages_total=result.pages_total,
            ocr_pages_timed_out=result.ocr_pages_timed_out,
        )
        if old is not None:
            ix.vault.destroy_key(s, old)  # the rendition of a replaced version goes
        refresh_later(s, [doc.id])
    if old is not None:
        ix.vault.delete_object(old.object_name)
    return doc.extraction


def _note_attempt(doc: Document, failure: str | None) -> None:
    """Record the try's outcome: a success clears the failure; a failure counts, and the
    rule says whether and when the repair job tries again."""
    if doc.extraction != "failed":
        doc.extraction_reason, doc.extraction_attempts, doc.extraction_retry_at = None, 0, None
        return
    from search.extract import PARSE_ERROR

    doc.extraction_reason = failure or PARSE_ERROR
    doc.extraction_attempts = (doc.extraction_attempts or 0) + 1
    doc.extraction_retry_at = next_retry(doc.extraction_reason, doc.extraction_attempts, utcnow())
    when = (
        f"retried after {doc.extraction_retry_at:%Y-%m-%d %H:%M} UTC"
        if doc.extraction_retry_at
        else "not retried automatically"
    )
    # Id and reason class only: the error text may quote the file.
    log.warning(
        "text extraction of document %s failed: %s (try %d, %s)",
        doc.id,
        doc.extraction_reason,
        doc.extraction_attempts,
        when,
    )


def rendition_text(vault: Vault, session: Session, doc: Document) -> str:
    """The decrypted text rendition ('' if none)."""
    if doc.text_object_id is None:
        return ""
    return object_text(vault, session.get(StoredObject, doc.text_object_id))


def object_text(vault: Vault, obj: StoredObject | None) -> str:
    """A text rendition's object decrypted ('' if none or erased)."""
    if obj is None or obj.wrapped_key is None:
        return ""
    return b"".join(vault.open(obj)).decode("utf-8", errors="replace")


def failed_extractions(session: Session) -> dict[str, int]:
    """How many live documents' extraction failed, by reason class (the health page)."""
    rows = session.execute(
        select(Document.extraction_reason, func.count())
        .where(Document.extraction == "failed", Document.status != DocumentStatus.DESTROYED)
        .group_by(Document.extraction_reason)
    ).all()
    return {reason or "unknown": int(n) for reason, n in sorted(rows, key=lambda r: r[0] or "")}


def reextract_failed(
    session: Session, by: Caller, reasons: Iterable[str] | None = None
) -> list[int]:
    """Queue the failed extractions (of these reason classes, or all) again, as new: they
    are pending until the extraction runs, so a lost job is re-sent by the repair."""
    require(by, "search.manage")
    wanted = set(reasons or ())
    query = update(Document).where(
        Document.extraction == "failed", Document.status != DocumentStatus.DESTROYED
    )
    if wanted:
        query = query.where(Document.extraction_reason.in_(sorted(wanted)))
    ids = sorted(
        session.execute(
            query.values(
                extraction="pending",
                extraction_error=None,
                extraction_reason=None,
                extraction_attempts=0,
                extraction_retry_at=None,
            )
            .returning(Document.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    if ids:
        record(
            session,
            by.actor,
            "search.reextract",
            "index",
            None,
            documents=len(ids),
            reasons=sorted(wanted) or "all",
        )
        extract_later(session, ids)
    return ids
