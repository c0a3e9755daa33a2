"""What a document's page shows of transfers: the transfer that took it away (移交), and,
for a document received from another archive, the history and access register its first
archive recorded (``ReceivedHistory``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.models import Customer, Document
from archive_service.policy import Caller, may
from archive_service.transfer.models import ReceivedHistory, Transfer, TransferItem
from archive_service.transfer.vocabulary import TransferStatus


@dataclass(frozen=True)
class Entry:
    """One line of a received history or register: when, who, what."""

    at: str
    who: str
    action: str


@dataclass(frozen=True)
class ReceivedFrom:
    """A received document's life in its first archive, as the package carried it."""

    sender: str
    package_id: str
    received_at: datetime
    events: list[Entry] = field(default_factory=list)
    register: list[Entry] = field(default_factory=list)


def _entry(row: dict[str, Any], who: str) -> Entry:
    return Entry(str(row.get("at") or ""), str(row.get(who) or "—"), str(row.get("action") or ""))


def received_history(session: Session, document_id: int) -> list[ReceivedFrom]:
    """The history each package brought with this document (none for one filed here)."""
    rows = session.scalars(
        select(ReceivedHistory)
        .where(ReceivedHistory.document_id == document_id)
        .order_by(ReceivedHistory.id)
    )
    return [
        ReceivedFrom(
            sender=r.received.sender,
            package_id=r.received.package_id,
            received_at=r.received.received_at,
            events=[_entry(e, "actor") for e in r.history or []],
            register=[_entry(a, "user") for a in r.register or []],
        )
        for r in rows
    ]


def transferred_by(session: Session, by: Caller, doc: Document) -> Transfer | None:
    """The confirmed transfer that took this document away, for those who read transfers."""
    if doc.transferred_on is None or not may(by, "transfer.read"):
        return None
    return session.scalars(
        select(Transfer)
        .join(TransferItem, TransferItem.transfer_id == Transfer.id)
        .where(TransferItem.document_id == doc.id, Transfer.status == TransferStatus.CONFIRMED)
        .order_by(Transfer.id.desc())
        .limit(1)
    ).first()


def selection_customers(session: Session, by: Caller, transfer: Transfer) -> list[Customer]:
    """The customers a transfer's selection named, those the caller may see."""
    ids = list(transfer.selection.get("customer_ids") or [])
    if not ids:
        return []
    rows = session.scalars(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id))
    return [c for c in rows if may(by, "customer.view", c)]
