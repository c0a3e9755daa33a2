"""Holds (法律纠纷或未结事项): while a hold is open the clock stops and nothing can be
destroyed; after its release the document is kept a set number of years more."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.disposal_date import recompute_disposal
from archive_service.archive.documents import get_document
from archive_service.archive.models import Document, DocumentStatus, Hold
from archive_service.archive.retention import RetentionRules
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.errors import Conflict, InvalidInput
from archive_service.indexing.later import refresh_later
from archive_service.policy import Caller, require


def _reason(reason: str) -> str:
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", field="reason")
    return reason.strip()


def place_hold(
    session: Session, by: Caller, document_id: int, reason: str, rules: RetentionRules
) -> Document:
    doc = get_document(session, by, document_id)
    require(by, "document.hold", doc)
    why = _reason(reason)
    if doc.status == DocumentStatus.DESTROYED:
        raise Conflict("document was destroyed")
    if doc.on_hold:
        raise Conflict("document is already on hold")
    session.add(Hold(document_id=doc.id, reason=why[:1000], placed_by_id=by.user_id))
    doc.on_hold = True
    record(session, by.actor, "document.hold", "document", doc.id, reason=why)
    recompute_disposal(session, by, doc, "hold placed", rules)
    refresh_later(session, [doc.id])
    return doc


def release_hold(
    session: Session, by: Caller, document_id: int, reason: str, rules: RetentionRules
) -> Document:
    doc = get_document(session, by, document_id)
    require(by, "document.hold", doc)
    why = _reason(reason)
    hold = session.execute(
        select(Hold).where(Hold.document_id == doc.id, Hold.released_at.is_(None))
    ).scalar_one_or_none()
    if hold is None or not doc.on_hold:
        raise Conflict("document is not on hold")
    now = utcnow()
    hold.released_at = now
    hold.released_by_id = by.user_id
    hold.release_reason = why[:1000]
    doc.on_hold = False
    doc.hold_released_on = now.date()
    record(session, by.actor, "document.hold_release", "document", doc.id, reason=why)
    recompute_disposal(session, by, doc, "hold released", rules)
    refresh_later(session, [doc.id])
    return doc
