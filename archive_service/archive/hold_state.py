"""Which documents open hold cases hold: directly, or through their customer.

``Document.on_hold`` is this answer kept on the row (destruction, reviews, retention and
the index read the flag); the hold services, upload and acceptance keep it true in the
same transaction. Read only; callers lock what they are about to change.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select, union
from sqlalchemy.orm import Session

from archive_service.archive.models import Customer, Document, HoldCase, HoldItem


def held_ids(session: Session, document_ids: Collection[int]) -> set[int]:
    """The ones of ``document_ids`` that some open case holds."""
    if not document_ids:
        return set()
    ids = list(document_ids)
    direct = (
        select(HoldItem.document_id)
        .join(HoldCase, HoldCase.id == HoldItem.case_id)
        .where(HoldCase.released_at.is_(None), HoldItem.document_id.in_(ids))
    )
    via_customer = (
        select(Document.id)
        .join(HoldItem, HoldItem.customer_id == Document.customer_id)
        .join(HoldCase, HoldCase.id == HoldItem.case_id)
        .where(HoldCase.released_at.is_(None), Document.id.in_(ids))
    )
    return set(session.execute(union(direct, via_customer)).scalars())


def customer_held(session: Session, customer_id: int) -> bool:
    """Does an open case hold this customer (so its new documents are held at once)?"""
    return (
        session.execute(
            select(HoldItem.id)
            .join(HoldCase, HoldCase.id == HoldItem.case_id)
            .where(HoldCase.released_at.is_(None), HoldItem.customer_id == customer_id)
            .limit(1)
        ).first()
        is not None
    )


def lock_customer(session: Session, customer_id: int) -> None:
    """Take the customer's row lock: adding the customer to a case and filing a document
    for it take turns, so a new document never misses a case that holds its customer."""
    session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())
