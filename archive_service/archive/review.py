"""Review and numbering (档案编号): the archivist's queue, acceptance (which numbers the
document and computes its disposal date), return to the clerk, and reclassification
(a new number; the old one still finds the document)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.categories import category_by_code
from archive_service.archive.counters import next_in_scope
from archive_service.archive.disposal_date import recompute_disposal
from archive_service.archive.documents import get_document
from archive_service.archive.facts import merge_facts
from archive_service.archive.fonds import fonds_code
from archive_service.archive.hold_state import held_ids
from archive_service.archive.models import ArchiveNumber, Document, DocumentStatus
from archive_service.archive.settings import ArchiveSettings
from archive_service.audit.services import record
from archive_service.checks import services as checks
from archive_service.checks.services import Checking
from archive_service.db import utcnow
from archive_service.errors import Conflict, InvalidInput
from archive_service.indexing.later import refresh_later
from archive_service.notifications import events
from archive_service.policy import Caller, require


def review_queue(session: Session, by: Caller) -> list[Document]:
    require(by, "document.review", None)
    return list(
        session.execute(
            select(Document)
            .where(Document.status == DocumentStatus.SUBMITTED)
            .order_by(Document.submitted_at)
        ).scalars()
    )


def number_values(doc: Document, year: int, settings: ArchiveSettings) -> dict[str, str | int]:
    """The values of the number pattern's tokens for ``doc`` filed in ``year``."""
    return {
        "category": doc.category.letter,
        "customer": doc.customer.seq,
        "year": year,
        "retention": settings.retention.code(doc.retention_class),
        "fonds": fonds_code(doc.customer, settings.fonds),
        "department": doc.customer.department.code,
    }


def allocate_number(
    session: Session, by: Caller, doc: Document, year: int, reason: str, settings: ArchiveSettings
) -> str:
    """The next number of the pattern's scope; the document's earlier number is kept as
    superseded (it still finds the document)."""
    values = number_values(doc, year, settings)
    pattern = settings.number_pattern
    scope = pattern.scope(values)
    number = pattern.render(values, next_in_scope(session, scope))
    # A number another archive gave a document received here (移交接收) stays that
    # document's: the series goes past it.
    while session.get(ArchiveNumber, number) is not None:
        number = pattern.render(values, next_in_scope(session, scope))
    now = utcnow()
    if doc.archive_number:
        old = session.get(ArchiveNumber, doc.archive_number)
        if old is not None:
            old.superseded_at = now
    session.add(
        ArchiveNumber(
            number=number,
            document_id=doc.id,
            assigned_at=now,
            assigned_by_id=by.user_id,
            reason=reason,
        )
    )
    doc.archive_number = number
    session.flush()
    return number


def accept(
    session: Session,
    by: Caller,
    document_id: int,
    settings: ArchiveSettings,
    checking: Checking,
    override_reason: str | None = None,
    filing_date: date | None = None,
) -> Document:
    """The archivist accepts: the number is allocated and the disposal date computed.

    The filing date (归档日期) is today, or ``filing_date`` for a document filed before it
    came into this service (an import keeps the old archive's date): the number's year
    and the retention clock then count from it.

    The intake checks (四性检测) run again first; a failed mandatory item refuses the
    acceptance (409) unless ``override_reason`` says why it is accepted anyway (audited,
    kept on the report). Documents of customers in a joint-review tier (core, by
    default) need two different archivists: the first acceptance is a first review.
    """
    doc = get_document(session, by, document_id)
    require(by, "document.review", doc)
    if doc.status != DocumentStatus.SUBMITTED:
        raise Conflict(f"document is {doc.status}, not submitted")
    user_id = by.user_id
    if doc.needs_joint_review and doc.first_reviewer_id == user_id and user_id is not None:
        raise Conflict("a joint review needs a second, different archivist")
    gate = checks.gate_acceptance(session, by, checking, doc, override_reason)
    # The file was read with no lock held (SQLite's is the whole database's): take the row
    # now and look again, so that two archivists cannot both accept it meanwhile.
    session.execute(select(Document.id).where(Document.id == doc.id).with_for_update())
    session.refresh(doc)
    if doc.status != DocumentStatus.SUBMITTED:
        raise Conflict(f"document is {doc.status}, not submitted")
    if doc.needs_joint_review and doc.first_reviewer_id == user_id and user_id is not None:
        raise Conflict("a joint review needs a second, different archivist")
    if doc.needs_joint_review and doc.first_reviewer_id is None:
        doc.first_reviewer_id = user_id
        record(session, by.actor, "document.first_review", "document", doc.id)
        return doc
    today = filing_date or utcnow().date()
    if today > utcnow().date():
        raise InvalidInput("the filing date is in the future", field="filing_date")
    doc.status = DocumentStatus.ACCEPTED
    doc.accepted_at = utcnow()
    doc.accepted_by_id = user_id
    doc.filing_date = today
    number = allocate_number(session, by, doc, today.year, "accepted", settings)
    record(
        session,
        by.actor,
        "document.accept",
        "document",
        doc.id,
        archive_number=number,
        **({"filing_date": today.isoformat()} if filing_date else {}),
    )
    checks.record_acceptance(
        session, by, gate, doc, settings, number_values(doc, today.year, settings)
    )
    doc.on_hold = doc.id in held_ids(session, [doc.id])  # under the row lock taken above
    recompute_disposal(session, by, doc, "accepted", settings.retention)
    refresh_later(session, [doc.id])
    events.document_accepted(session, doc)
    return doc


def return_to_clerk(session: Session, by: Caller, document_id: int, reason: str) -> Document:
    doc = get_document(session, by, document_id)
    require(by, "document.review", doc)
    if doc.status != DocumentStatus.SUBMITTED:
        raise Conflict(f"document is {doc.status}, not submitted")
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", field="reason")
    doc.status = DocumentStatus.RETURNED
    doc.returned_reason = reason.strip()[:1000]
    record(session, by.actor, "document.return", "document", doc.id, reason=doc.returned_reason)
    events.document_returned(session, doc)
    refresh_later(session, [doc.id])
    return doc


def reclassify(
    session: Session,
    by: Caller,
    document_id: int,
    category_code: str,
    reason: str,
    settings: ArchiveSettings,
) -> Document:
    """Move an accepted document to another category: it gets a new number; the old
    one is kept in the numbering history and still finds the document."""
    doc = get_document(session, by, document_id)
    require(by, "document.review", doc)
    return apply_reclassification(session, by, doc, category_code, reason, settings)


def apply_reclassification(
    session: Session,
    by: Caller,
    doc: Document,
    category_code: str,
    reason: str,
    settings: ArchiveSettings,
) -> Document:
    """Renumber ``doc`` into another category (the caller has checked who may). The
    document must carry the facts the new category asks for."""
    if doc.status != DocumentStatus.ACCEPTED:
        raise Conflict(f"document is {doc.status}; only accepted documents are reclassified")
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", field="reason")
    category = category_by_code(session, category_code)
    if category.id == doc.category_id:
        raise Conflict("the document is already in this category")
    doc.facts = merge_facts(category.facts, doc.facts, None, category.code)
    old_number, old_category = doc.archive_number, doc.category.code
    doc.category_id = category.id
    session.flush()
    session.refresh(doc)
    number = allocate_number(
        session, by, doc, utcnow().year, f"reclassified: {reason.strip()}", settings
    )
    record(
        session,
        by.actor,
        "document.reclassify",
        "document",
        doc.id,
        old_number=old_number,
        new_number=number,
        old_category=old_category,
        new_category=category.code,
        reason=reason.strip(),
    )
    recompute_disposal(session, by, doc, "reclassified", settings.retention)
    refresh_later(session, [doc.id])
    return doc


def number_history(session: Session, document_id: int) -> list[ArchiveNumber]:
    return list(
        session.execute(
            select(ArchiveNumber)
            .where(ArchiveNumber.document_id == document_id)
            .order_by(ArchiveNumber.assigned_at)
        ).scalars()
    )
