"""Hold cases (保全事项) as use cases: open a case, add documents and whole customers to it,
release it with a reason, and read the cases.

A document is held while any open case holds it, directly or through its customer. Every
change recomputes ``Document.on_hold`` for the documents it touches, under their row
locks, in the same transaction: a document a released case freed and no other case holds
gets ``hold_released_on`` (the "kept N more years" rule counts from the last release that
freed it), its disposal date is recomputed and its index entry refreshed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from archive_service.accounts.users import user_by_username
from archive_service.archive.disposal_date import recompute_disposal
from archive_service.archive.hold_state import held_ids, lock_customer
from archive_service.archive.models import Customer, Document, DocumentStatus, HoldCase, HoldItem
from archive_service.archive.retention import RetentionRules
from archive_service.archive.vocabulary import HOLD_BASES, HOLD_OPEN, HOLD_RELEASED, HOLD_STATES
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.indexing.later import refresh_later
from archive_service.policy import Caller, may, require


@dataclass(frozen=True)
class CaseIn:
    """What opens a case; ``owner`` is a username (the caller when empty)."""

    name: str
    basis: str | None
    reason: str
    reference: str | None = None
    owner: str | None = None


def _text(value: str | None, field: str, limit: int, *, required: bool = True) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise InvalidInput(f"{field} is required", field=field)
        return None
    if len(text) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    return text


def release_reason(reason: str | None) -> str:
    """A release needs its reason (checked before anything is read or locked)."""
    return _text(reason, "reason", 1000) or ""


def _owner_id(session: Session, by: Caller, username: str | None) -> int | None:
    if not (username or "").strip():
        return by.user_id
    user = user_by_username(session, (username or "").strip())
    if user is None or not user.is_active_account:
        raise InvalidInput("owner is not an active user", field="owner")
    return user.id


def open_case(
    session: Session,
    by: Caller,
    data: CaseIn,
    rules: RetentionRules,
    *,
    document_ids: Iterable[int] = (),
    customer_ids: Iterable[int] = (),
    per_document: bool = False,
) -> HoldCase:
    """Open a case (and put its first items in it, all or none)."""
    require(by, "document.hold")
    name = _text(data.name, "name", 200)
    basis = HOLD_BASES.check(data.basis, "basis")
    reason = _text(data.reason, "reason", 1000)
    reference = _text(data.reference, "reference", 100, required=False)
    case = HoldCase(
        name=name,
        basis=basis,
        reference=reference,
        reason=reason,
        owner_id=_owner_id(session, by, data.owner),
        per_document=per_document,
        created_by_id=by.user_id,
    )
    session.add(case)
    session.flush()
    record(
        session,
        by.actor,
        "hold.create",
        "hold_case",
        case.id,
        name=name,
        basis=basis,
        reference=reference,
        owner_id=case.owner_id,
        reason=reason,
        per_document=per_document or None,
    )
    documents, customers = list(document_ids), list(customer_ids)
    if documents or customers:
        add_items(session, by, case.id, rules, document_ids=documents, customer_ids=customers)
    return case


def _locked_case(session: Session, case_id: int) -> HoldCase:
    session.execute(select(HoldCase.id).where(HoldCase.id == case_id).with_for_update())
    case = session.get(HoldCase, case_id, populate_existing=True)
    if case is None:
        raise NotFound("no such hold case")
    return case


def _unique(ids: Iterable[int]) -> list[int]:
    return sorted(set(ids))


def _documents_to_add(session: Session, by: Caller, ids: list[int]) -> list[Document]:
    docs = {
        d.id: d for d in session.execute(select(Document).where(Document.id.in_(ids))).scalars()
    }
    unknown = [i for i in ids if i not in docs or not may(by, "document.view", docs[i])]
    if unknown:
        raise InvalidInput(
            f"unknown documents: {', '.join(map(str, unknown))}",
            field="document_ids",
            unknown=unknown,
        )
    destroyed = [i for i in ids if docs[i].status == DocumentStatus.DESTROYED]
    if destroyed:
        raise Conflict(
            f"destroyed documents cannot be held: {', '.join(map(str, destroyed))}",
            document_ids=destroyed,
        )
    for doc in docs.values():
        require(by, "document.hold", doc)
    return [docs[i] for i in ids]


def _customers_to_add(session: Session, by: Caller, ids: list[int]) -> list[int]:
    found = {
        c.id: c for c in session.execute(select(Customer).where(Customer.id.in_(ids))).scalars()
    }
    unknown = [i for i in ids if i not in found or not may(by, "customer.view", found[i])]
    if unknown:
        raise InvalidInput(
            f"unknown customers: {', '.join(map(str, unknown))}",
            field="customer_ids",
            unknown=unknown,
        )
    return ids


def add_items(
    session: Session,
    by: Caller,
    case_id: int,
    rules: RetentionRules,
    *,
    document_ids: Iterable[int] = (),
    customer_ids: Iterable[int] = (),
) -> HoldCase:
    """Put documents and whole customers in an open case (all or none; ones already in it
    are left as they are). A customer's documents, later ones too, are held with it."""
    require(by, "document.hold")
    doc_ids, cust_ids = _unique(document_ids), _unique(customer_ids)
    if not doc_ids and not cust_ids:
        raise InvalidInput("name document_ids or customer_ids", field="document_ids")
    if len(doc_ids) + len(cust_ids) > 1000:
        raise InvalidInput("at most 1000 items at once", field="document_ids")
    docs = _documents_to_add(session, by, doc_ids)
    cust_ids = _customers_to_add(session, by, cust_ids)
    case = _locked_case(session, case_id)
    if case.released_at is not None:
        raise Conflict("the hold case was released; open a new one")
    present_docs = {i.document_id for i in case.items if i.document_id is not None}
    present_custs = {i.customer_id for i in case.items if i.customer_id is not None}
    new_docs = [d.id for d in docs if d.id not in present_docs]
    new_custs = [c for c in cust_ids if c not in present_custs]
    if not new_docs and not new_custs:
        return case
    now = utcnow()
    for cid in new_custs:
        lock_customer(session, cid)
    for did in new_docs:
        session.add(
            HoldItem(case_id=case.id, document_id=did, added_at=now, added_by_id=by.user_id)
        )
    for cid in new_custs:
        session.add(
            HoldItem(case_id=case.id, customer_id=cid, added_at=now, added_by_id=by.user_id)
        )
    session.flush()
    record(
        session,
        by.actor,
        "hold.items_added",
        "hold_case",
        case.id,
        document_ids=new_docs or None,
        customer_ids=new_custs or None,
    )
    _sync(session, by, case, set(new_docs) | set(_documents_of(session, new_custs)), rules)
    session.refresh(case)
    return case


def release(
    session: Session, by: Caller, case_id: int, reason: str | None, rules: RetentionRules
) -> HoldCase:
    """Release a case with its reason: what no other open case holds is free again."""
    require(by, "document.hold")
    why = release_reason(reason)
    case = _locked_case(session, case_id)
    if case.released_at is not None:
        raise Conflict("the hold case is already released")
    case.released_at = utcnow()
    case.released_by_id = by.user_id
    case.release_reason = why
    session.flush()
    record(session, by.actor, "hold.release", "hold_case", case.id, reason=why)
    docs = {i.document_id for i in case.items if i.document_id is not None}
    customers = [i.customer_id for i in case.items if i.customer_id is not None]
    _sync(session, by, case, docs | set(_documents_of(session, customers)), rules)
    return case


def _documents_of(session: Session, customer_ids: list[int]) -> list[int]:
    if not customer_ids:
        return []
    return list(
        session.execute(
            select(Document.id).where(
                Document.customer_id.in_(customer_ids), Document.status != DocumentStatus.DESTROYED
            )
        ).scalars()
    )


def _sync(
    session: Session, by: Caller, case: HoldCase, document_ids: set[int], rules: RetentionRules
) -> list[int]:
    """Make ``on_hold`` of these documents say whether an open case holds them; the rows
    are locked before the cases are read, so a concurrent change of another case waits."""
    if not document_ids:
        return []
    ids = sorted(document_ids)
    session.execute(
        select(Document.id)
        .where(Document.id.in_(ids), Document.status != DocumentStatus.DESTROYED)
        .order_by(Document.id)
        .with_for_update()
    )
    docs = session.execute(
        select(Document)
        .where(Document.id.in_(ids), Document.status != DocumentStatus.DESTROYED)
        .order_by(Document.id)
        .execution_options(populate_existing=True)
    ).scalars()
    held = held_ids(session, ids)
    today = utcnow().date()
    changed = []
    for doc in list(docs):
        now_held = doc.id in held
        if now_held == doc.on_hold:
            continue
        doc.on_hold = now_held
        if not now_held:
            doc.hold_released_on = today
        action = "document.hold" if now_held else "document.hold_release"
        record(session, by.actor, action, "document", doc.id, case_id=case.id)
        recompute_disposal(session, by, doc, "hold placed" if now_held else "hold released", rules)
        changed.append(doc.id)
    refresh_later(session, changed)
    return changed


def get_case(session: Session, by: Caller, case_id: int) -> HoldCase:
    require(by, "hold.read")
    case = session.get(HoldCase, case_id)
    if case is None:
        raise NotFound("no such hold case")
    return case


def list_cases(
    session: Session, by: Caller, state: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[HoldCase], int]:
    """Cases, newest first; ``state`` open or released (None: both)."""
    require(by, "hold.read")
    state = HOLD_STATES.check(state, "state", optional=True)
    query = select(HoldCase)
    if state == HOLD_OPEN:
        query = query.where(HoldCase.released_at.is_(None))
    elif state == HOLD_RELEASED:
        query = query.where(HoldCase.released_at.is_not(None))
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(
        query.order_by(HoldCase.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).scalars()
    return list(rows), total


def cases_holding(session: Session, doc: Document) -> list[HoldCase]:
    """The open cases that hold this document, directly or through its customer."""
    return cases_holding_ids(session, doc.id, doc.customer_id)


def cases_holding_ids(session: Session, document_id: int, customer_id: int) -> list[HoldCase]:
    """``cases_holding`` of a document known by its id and its customer's."""
    return list(
        session.execute(
            select(HoldCase)
            .join(HoldItem, HoldItem.case_id == HoldCase.id)
            .where(
                HoldCase.released_at.is_(None),
                or_(HoldItem.document_id == document_id, HoldItem.customer_id == customer_id),
            )
            .order_by(HoldCase.id)
        )
        .unique()
        .scalars()
    )
