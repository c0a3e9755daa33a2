"""Recomputing a document's disposal date whenever an input changes (class, tier, trigger,
hold, appraisal), and the history of every recomputation."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.models import Document, DocumentStatus, RetentionChange
from archive_service.archive.retention import RetentionInputs, RetentionRules
from archive_service.audit.services import record
from archive_service.policy import Caller


def trigger_date(doc: Document) -> date:
    """Filing, or the date fact the category names (a contract's expiry), when recorded."""
    assert doc.filing_date is not None
    trigger = doc.category.retention_trigger
    if trigger != "filing" and doc.facts.get(trigger):
        return date.fromisoformat(doc.facts[trigger])
    return doc.filing_date


def recompute_disposal(
    session: Session, by: Caller, doc: Document, cause: str, rules: RetentionRules
) -> None:
    """Recompute the disposal date from its inputs and record the recomputation."""
    if doc.status != DocumentStatus.ACCEPTED:
        return
    old = doc.disposal_date
    doc.disposal_date = rules.disposal_date(
        RetentionInputs(
            trigger_date=trigger_date(doc),
            retention_class=doc.retention_class,
            tier=doc.customer.tier,
            on_hold=doc.on_hold,
            hold_released_on=doc.hold_released_on,
            retain_until=doc.retain_until,
        )
    )
    session.add(
        RetentionChange(
            document_id=doc.id,
            by_id=by.user_id,
            cause=cause,
            old_date=old,
            new_date=doc.disposal_date,
        )
    )
    session.flush()
    record(
        session,
        by.actor,
        "document.retention",
        "document",
        doc.id,
        cause=cause,
        old=old.isoformat() if old else None,
        new=doc.disposal_date.isoformat() if doc.disposal_date else None,
    )


def retention_history(session: Session, document_id: int) -> list[RetentionChange]:
    return list(
        session.execute(
            select(RetentionChange)
            .where(RetentionChange.document_id == document_id)
            .order_by(RetentionChange.id)
        ).scalars()
    )
