"""Transfer applications (移交申请): an archivist chooses documents (a customer, categories,
a number range, or single documents), names the receiver and what becomes of the copies
here; the chain of ``transfer.rules`` decides; the package is written (``transfer.package``)
and, once the receiver confirms it, the documents are marked transferred — the copies to
be destroyed become due at once and go through the destruction workflow."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, lazyload

from archive_service.approvals import checked_decision, open_chain, open_next, pending_step
from archive_service.archive.disposal_date import recompute_disposal
from archive_service.archive.models import Category, Document, DocumentStatus
from archive_service.archive.retention import RetentionRules
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.disposal.reviews import documents_in_open_work, listed, one
from archive_service.errors import Conflict, InvalidInput
from archive_service.notifications import events
from archive_service.paper import following as paper_following
from archive_service.policy import Caller, may, require
from archive_service.transfer import rules
from archive_service.transfer.models import Transfer, TransferItem, TransferStep
from archive_service.transfer.vocabulary import DISPOSITIONS, Disposition, TransferStatus

# One package holds at most this many documents: a larger transfer is several.
MAX_DOCUMENTS = 20_000


@dataclass(frozen=True)
class Selection:
    """Which accepted documents go: every criterion given must hold (none given: refused)."""

    customer_ids: Sequence[int] = ()
    categories: Sequence[str] = ()
    number_from: str | None = None
    number_to: str | None = None
    document_ids: Sequence[int] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_ids": sorted(set(self.customer_ids)),
            "categories": sorted(set(self.categories)),
            "number_from": self.number_from,
            "number_to": self.number_to,
            "document_ids": sorted(set(self.document_ids)),
        }


@dataclass(frozen=True)
class TransferIn:
    selection: Selection
    receiver: str
    purpose: str
    disposition: str = Disposition.KEEP
    notes: dict[str, str] = field(default_factory=dict)


def _text(value: str | None, name: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        raise InvalidInput(f"{name} is required", field=name)
    if len(text) > limit:
        raise InvalidInput(f"{name} is longer than {limit} characters", field=name)
    return text


def _chosen(session: Session, by: Caller, sel: Selection) -> list[Document]:
    number_from = (sel.number_from or "").strip() or None
    number_to = (sel.number_to or "").strip() or None
    if not (sel.customer_ids or sel.categories or number_from or number_to or sel.document_ids):
        raise InvalidInput(
            "choose the documents: a customer, categories, a number range or documents",
            field="selection",
        )
    q = select(Document).where(Document.status == DocumentStatus.ACCEPTED)
    if sel.customer_ids:
        q = q.where(Document.customer_id.in_(set(sel.customer_ids)))
    if sel.categories:
        codes = set(sel.categories)
        known = set(
            session.execute(select(Category.code).where(Category.code.in_(codes))).scalars()
        )
        if codes - known:
            raise InvalidInput(f"unknown categories: {sorted(codes - known)}", field="categories")
        q = q.join(Category, Category.id == Document.category_id).where(Category.code.in_(codes))
    if number_from:
        q = q.where(Document.archive_number >= number_from)
    if number_to:
        q = q.where(Document.archive_number <= number_to)
    if sel.document_ids:
        q = q.where(Document.id.in_(set(sel.document_ids)))
    docs = [d for d in session.execute(q.order_by(Document.archive_number)).scalars()]
    docs = [d for d in docs if may(by, "document.read", d)]
    if sel.document_ids:
        found = {d.id for d in docs}
        missing = sorted(set(sel.document_ids) - found)
        if missing:
            raise InvalidInput(
                f"not accepted documents you may see: {missing}", field="document_ids"
            )
    if not docs:
        raise InvalidInput("no accepted document matches the selection", field="selection")
    if len(docs) > MAX_DOCUMENTS:
        raise InvalidInput(
            f"{len(docs)} documents: a transfer holds at most {MAX_DOCUMENTS}", field="selection"
        )
    return docs


def _spoken_for(session: Session, ids: list[int]) -> list[str]:
    """Numbers of these documents already transferred, or in open work: a review not
    closed, a destruction or a transfer under way (a document is in one at a time)."""
    busy = or_(Document.id.in_(documents_in_open_work()), Document.transferred_on.is_not(None))
    numbers = session.execute(
        select(Document.archive_number).where(Document.id.in_(ids), busy)
    ).scalars()
    return sorted({n for n in numbers if n})


def apply(
    session: Session, by: Caller, app: TransferIn, operations_department: str = "OPS"
) -> Transfer:
    """File the transfer application: the documents chosen, as they are now."""
    require(by, "transfer.apply")
    receiver = _text(app.receiver, "receiver", 300)
    purpose = _text(app.purpose, "purpose", 1000)
    disposition = DISPOSITIONS.check(app.disposition, "disposition") or Disposition.KEEP
    docs = _chosen(session, by, app.selection)
    busy = _spoken_for(session, [d.id for d in docs])
    if busy:
        raise Conflict(
            "documents already transferred, or in a review, destruction or transfer under way",
            numbers=busy[:50],
        )
    transfer = Transfer(
        package_id=str(uuid.uuid4()),
        applicant_id=by.user_id,
        receiver=receiver,
        purpose=purpose,
        disposition=disposition,
        selection=app.selection.as_dict(),
        documents=len(docs),
    )
    session.add(transfer)
    session.flush()
    session.add_all(
        TransferItem(
            transfer_id=transfer.id,
            document_id=d.id,
            archive_number=d.archive_number or "",
            title=d.title,
            category=d.category.code,
            customer=d.customer.name,
            size=sum(v.size for v in d.versions),
        )
        for d in docs
    )
    open_chain(
        session,
        TransferStep,
        rules.transfer_chain(operations_department),
        transfer_id=transfer.id,
    )
    session.flush()
    session.refresh(transfer)
    record(
        session,
        by.actor,
        "transfer.apply",
        "transfer",
        transfer.id,
        receiver=receiver,
        disposition=disposition,
        count=len(docs),
        numbers=[d.archive_number for d in docs][:200],
    )
    events.step_waiting(session, "transfer", transfer.steps, transfer.id)
    return transfer


def get_transfer(session: Session, by: Caller, transfer_id: int) -> Transfer:
    return one(session, by, "transfer.read", Transfer, transfer_id)  # type: ignore[no-any-return]


def list_transfers(
    session: Session, by: Caller, status: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[Transfer], int]:
    return listed(session, by, "transfer.read", Transfer, status, page, per_page)


def current_step(transfer: Transfer) -> TransferStep | None:
    return pending_step(transfer.steps)


def lock(session: Session, transfer_id: int) -> None:
    session.execute(select(Transfer.id).where(Transfer.id == transfer_id).with_for_update())


def decide(
    session: Session, by: Caller, transfer_id: int, decision: str, comment: str | None
) -> Transfer:
    """Whoever the current step names approves or rejects it; nobody their own application."""
    lock(session, transfer_id)
    transfer = get_transfer(session, by, transfer_id)
    step = current_step(transfer)
    if transfer.status != TransferStatus.PENDING or step is None:
        raise Conflict(f"transfer is {transfer.status}; nothing waits for a decision")
    require(by, "transfer.decide", step)
    approved, comment = checked_decision(decision, comment)
    step.settle(approved, by.user, utcnow(), comment)
    record(
        session,
        by.actor,
        f"transfer.{decision}",
        "transfer",
        transfer.id,
        step=step.role,
        comment=comment,
    )
    finished = decision == "reject" or open_next(transfer.steps)
    if decision == "reject":
        transfer.status = TransferStatus.REJECTED
    elif finished:
        transfer.status = TransferStatus.APPROVED
    events.after_decision(
        session, "transfer", transfer.steps, transfer.id, decision != "reject", finished
    )
    return transfer


def confirm(
    session: Session, by: Caller, transfer_id: int, receipt: str | None, rules_: RetentionRules
) -> Transfer:
    """The receiver has confirmed the package (its 接收回执): the documents are marked
    transferred; copies to be destroyed become due today and the next retention review
    lists them for the destruction workflow (holds still keep them)."""
    lock(session, transfer_id)
    transfer = get_transfer(session, by, transfer_id)
    require(by, "transfer.confirm", transfer)
    if transfer.status != TransferStatus.EXPORTED or transfer.manifest_sha256 is None:
        raise Conflict(f"transfer is {transfer.status}: export the package before confirming")
    receipt = _text(receipt, "receipt", 300)
    today = utcnow().date()
    ids = [i.document_id for i in transfer.items]
    session.execute(select(Document.id).where(Document.id.in_(ids)).with_for_update())
    docs = session.execute(select(Document).where(Document.id.in_(ids))).scalars()
    paper_following.transferred(session, by, ids, transfer.id)  # the originals go too
    destroy = transfer.disposition == Disposition.DESTROY
    for doc in docs:
        doc.transferred_on, doc.transfer_ref = today, f"T{transfer.id}"
        doc.transfer_disposal = destroy and doc.status == DocumentStatus.ACCEPTED
        record(
            session,
            by.actor,
            "document.transferred",
            "document",
            doc.id,
            transfer_id=transfer.id,
            receiver=transfer.receiver,
            disposition=transfer.disposition,
        )
        if doc.transfer_disposal:
            recompute_disposal(session, by, doc, f"transfer {transfer.id} confirmed", rules_)
    transfer.status, transfer.confirmed_at = TransferStatus.CONFIRMED, utcnow()
    transfer.confirmed_by_id, transfer.receipt = by.user_id, receipt
    record(
        session,
        by.actor,
        "transfer.confirm",
        "transfer",
        transfer.id,
        receipt=receipt,
        count=len(ids),
        disposition=transfer.disposition,
    )
    return transfer


def waiting_for(session: Session, by: Caller) -> dict[str, list[Transfer]]:
    """What the transfer area waits for from this person (their inbox)."""
    out: dict[str, list[Transfer]] = {"decide": [], "export": [], "confirm": []}
    if not may(by, "transfer.read"):
        return out
    # Asked on every page a transfer reader opens (the nav's count): the items stay unread.
    open_ones = session.execute(
        select(Transfer)
        .where(Transfer.status.in_(TransferStatus.IN_FLIGHT))
        .options(lazyload(Transfer.items))
    ).scalars()
    for t in open_ones:
        step = current_step(t)
        if t.status == TransferStatus.PENDING:
            if step is not None and may(by, "transfer.decide", step):
                out["decide"].append(t)
        elif t.status == TransferStatus.APPROVED and may(by, "transfer.export", t):
            out["export"].append(t)
        elif t.status == TransferStatus.EXPORTED and may(by, "transfer.confirm", t):
            out["confirm"].append(t)
    return out
