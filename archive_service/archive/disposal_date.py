"""Recomputing a document's disposal date whenever an input changes (class, tier, trigger
dates, the customer relationship's end, hold, appraisal), and the history of every
recomputation.

The clock starts at the latest of the dates the document's category names
(``Category.retention_triggers``): its filing, date facts such as a contract's expiry or
a project's end, the last hold release, or the end of the customer relationship — which
is waited for: until the relationship ends such a document has no disposal date."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.models import Document, DocumentStatus, RetentionChange
from archive_service.archive.retention import RetentionInputs, RetentionRules
from archive_service.archive.vocabulary import FILING, HOLD_RELEASE, RELATIONSHIP_END
from archive_service.audit.services import record
from archive_service.policy import Caller


def trigger_date(doc: Document) -> date | None:
    """The latest of the dates the category's triggers name: filing always counts; a date
    fact or the last hold release counts when recorded; the end of the customer
    relationship is waited for (None until the customer's relationship has ended)."""
    assert doc.filing_date is not None
    dates = [doc.filing_date]
    for trigger in doc.category.retention_triggers or [FILING]:
        if trigger == FILING:
            continue
        if trigger == RELATIONSHIP_END:
            if doc.customer.relationship_ended_on is None:
                return None
            dates.append(doc.customer.relationship_ended_on)
        elif trigger == HOLD_RELEASE:
            if doc.hold_released_on is not None:
                dates.append(doc.hold_released_on)
        elif doc.facts.get(trigger):
            dates.append(date.fromisoformat(doc.facts[trigger]))
    return max(dates)


def waiting_for_event(doc: Document) -> bool:
    """Has the document no disposal date only because its clock has not started yet?"""
    return doc.filing_date is not None and not doc.on_hold and trigger_date(doc) is None


def disposal_date_of(doc: Document, rules: RetentionRules) -> date | None:
    """The disposal date the rules give the document now (None: permanent, held, or its
    clock not started). A copy to go after its confirmed transfer is due at once."""
    transferred = doc.transferred_on if doc.transfer_disposal else None
    start = trigger_date(doc) or transferred
    if start is None:
        return None
    return rules.disposal_date(
        RetentionInputs(
            trigger_date=start,
            transferred_on=transferred,
            retention_class=doc.retention_class,
            tier=doc.customer.tier,
            on_hold=doc.on_hold,
            hold_released_on=doc.hold_released_on,
            retain_until=doc.retain_until,
        )
    )


def recompute_disposal(
    session: Session, by: Caller, doc: Document, cause: str, rules: RetentionRules
) -> None:
    """Recompute the disposal date from its inputs and record the recomputation."""
    if doc.status != DocumentStatus.ACCEPTED:
        return
    old = doc.disposal_date
    doc.disposal_date = disposal_date_of(doc, rules)
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
