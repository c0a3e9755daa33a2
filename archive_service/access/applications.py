"""Access applications (查阅申请): apply, attach the legal basis, decide step by step.

The chain of approvers is decided by rule (``access.rules``); whoever the current step
names decides it (the policy). The last approval creates the grant (``access.grants``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from archive_service.access import rules
from archive_service.access.grants import create_grant
from archive_service.access.models import AccessRequest, ApprovalStep
from archive_service.access.vocabulary import LENDING_MODES, MODES, RequestStatus
from archive_service.accounts.users import user_by_username
from archive_service.accounts.vocabulary import EXTERNAL_ROLE
from archive_service.approvals import is_last, open_chain, open_next, pending_step
from archive_service.archive import intake
from archive_service.archive.models import ArchiveNumber, Category, Customer, Document
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.errors import Conflict, InvalidInput, NotAllowed, NotFound
from archive_service.notifications import events
from archive_service.policy import KNOWN_TO_CALLER, Caller, may, require
from archive_service.vault.models import StoredObject
from archive_service.vault.services import Vault

MAX_WINDOW = timedelta(days=366)


@dataclass(frozen=True)
class Application:
    """What an applicant names: documents (by archive number, or by id if they know them),
    or a customer's archive (by exact name or credit code, or by id if they may see it),
    optionally only some categories."""

    purpose: str
    mode: str
    starts_at: datetime
    ends_at: datetime
    customer_id: int | None = None
    document_ids: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    customer: str | None = None
    # The paper original may leave the reading room (a lending mode only).
    take_away: bool = False


def _check_window(app: Application) -> None:
    if app.starts_at.tzinfo is None or app.ends_at.tzinfo is None:
        raise InvalidInput("times need a UTC offset", field="starts_at")
    if app.ends_at <= app.starts_at:
        raise InvalidInput("ends_at must be after starts_at", field="ends_at")
    if app.ends_at <= utcnow():
        raise InvalidInput("the window has already ended", field="ends_at")
    if app.ends_at - app.starts_at > MAX_WINDOW:
        raise InvalidInput("a window is at most a year", field="ends_at")


def _known(by: Caller, doc: Document) -> bool:
    """May the caller know this document exists: they may see it, or were refused it for a
    reason that names it to them (an ended grant, a view grant, a supervised-only grant)?"""
    decision = may(by, "document.view", doc)
    return bool(decision) or decision.rule in KNOWN_TO_CALLER


def _scope(
    session: Session, by: Caller, app: Application
) -> tuple[Customer, tuple[int, ...], tuple[str, ...]]:
    """The customer, documents and categories an application names.

    An id is the service's own row number, shown only to those who may see the row: an id
    the caller may not know of is answered exactly as one that does not exist, so applying
    is no way to learn what exists. Documents one may not see are named by the archive
    numbers one was given, customers by their exact name or credit code.
    """
    by_customer = app.customer_id or (app.customer or "").strip() or app.categories
    if (app.document_ids or app.numbers) and by_customer:
        raise InvalidInput(
            "give document_ids or numbers, or a customer with categories", field="document_ids"
        )
    doc_ids: tuple[int, ...] = ()
    customer: Customer | None = None
    if app.document_ids or app.numbers:
        asked = set(app.document_ids)
        docs = list(session.execute(select(Document).where(Document.id.in_(asked))).scalars())
        if len(docs) != len(asked) or not all(_known(by, d) for d in docs):
            raise InvalidInput("unknown document in document_ids", field="document_ids")
        named = resolve_numbers(session, list(app.numbers))
        docs += list(session.execute(select(Document).where(Document.id.in_(named))).scalars())
        doc_ids = tuple(sorted({d.id for d in docs}))
        customers = {d.customer_id for d in docs}
        if len(customers) != 1:
            raise InvalidInput(
                "one application covers one customer's documents", field="document_ids"
            )
        customer = session.get(Customer, customers.pop())
    elif app.customer_id:
        customer = session.get(Customer, app.customer_id)
        if customer is None or not may(by, "customer.view", customer):
            raise InvalidInput("unknown customer", field="customer_id")
    elif (app.customer or "").strip():
        customer = session.get(Customer, resolve_customer(session, app.customer or ""))
    if customer is None:
        raise InvalidInput("give document_ids, numbers or a customer", field="customer_id")
    cats = tuple(sorted(set(app.categories)))
    if cats:
        known = set(session.execute(select(Category.code).where(Category.code.in_(cats))).scalars())
        if known != set(cats):
            raise InvalidInput(
                f"unknown categories: {sorted(set(cats) - known)}", field="categories"
            )
    return customer, doc_ids, cats


def apply(
    session: Session, by: Caller, app: Application, operations_department: str = "OPS"
) -> AccessRequest:
    """File an application; the chain of approvers is decided by rule."""
    require(by, "access.apply")
    assert by.user is not None
    purpose = (app.purpose or "").strip()
    if not purpose:
        raise InvalidInput("purpose is required", field="purpose")
    mode = MODES.check(app.mode, "mode")
    _check_window(app)
    customer, doc_ids, cats = _scope(session, by, app)
    external = by.user.is_external
    if external and mode != "view":
        raise InvalidInput("external viewers apply to view, never to download", field="mode")
    if app.take_away and mode not in LENDING_MODES:
        raise InvalidInput(
            "only an application for the paper original may ask to take it away",
            field="take_away",
        )
    request = AccessRequest(
        requester_id=by.user.id,
        purpose=purpose[:1000],
        customer_id=customer.id,
        document_ids=list(doc_ids),
        categories=list(cats),
        mode=mode,
        starts_at=app.starts_at,
        ends_at=app.ends_at,
        external=external,
        take_away=bool(app.take_away),
    )
    session.add(request)
    session.flush()
    chain = rules.approval_chain(
        by.user.department_code, customer.department.code, operations_department, external
    )
    open_chain(session, ApprovalStep, chain, request_id=request.id)
    session.refresh(request)
    record(
        session,
        by.actor,
        "access.apply",
        "access_request",
        request.id,
        customer_id=customer.id,
        document_ids=list(doc_ids),
        categories=list(cats),
        mode=mode,
        take_away=bool(app.take_away),
        steps=[s.role for s in chain],
    )
    events.step_waiting(session, "access", request.steps, request.id)
    return request


def resolve_numbers(session: Session, numbers: list[str]) -> list[int]:
    """Archive numbers (current or earlier) the applicant names → document ids."""
    ids = []
    for number in numbers:
        row = session.get(ArchiveNumber, number.strip()[:64])
        if row is None:
            raise InvalidInput(f"no document has the number {number.strip()}", field="numbers")
        ids.append(row.document_id)
    return ids


def resolve_customer(session: Session, name_or_code: str) -> int:
    """A customer named exactly (or by credit code) in an application."""
    text = name_or_code.strip()
    found = (
        session.execute(
            select(Customer.id).where(or_(Customer.name == text, Customer.credit_code == text))
        )
        .scalars()
        .all()
    )
    if len(found) != 1:
        raise InvalidInput("name the customer exactly, or give its credit code", field="customer")
    return int(found[0])


def get_request(session: Session, by: Caller, request_id: int) -> AccessRequest:
    req = session.get(AccessRequest, request_id)
    if req is None:
        raise NotFound("no such application")
    require(by, "access.view_request", req)
    return req


def customer_shown(by: Caller, req: AccessRequest) -> bool:
    """Whose archive the application concerns, for this caller (``access.request_customer``)."""
    return bool(may(by, "access.request_customer", req))


def current_step(req: AccessRequest) -> ApprovalStep | None:
    return pending_step(req.steps)


def attach_legal_basis(
    session: Session,
    by: Caller,
    vault: Vault,
    request_id: int,
    filename: str,
    stream: IO[bytes],
    limits: intake.Limits,
) -> AccessRequest:
    """An external applicant attaches the legal basis or letter of authorisation (encrypted)."""
    req = get_request(session, by, request_id)
    if by.user is None or req.requester_id != by.user.id:
        raise NotAllowed("only the applicant attaches the legal basis", rule="own-application")
    if not req.external:
        raise Conflict("only external applications carry a legal basis")
    if req.status != RequestStatus.PENDING:
        raise Conflict(f"application is {req.status}")
    received = intake.receive(session, vault, filename, stream, limits, field="legal_basis")
    req.legal_basis_object_id = received.stored.id
    req.legal_basis_filename = received.filename
    req.legal_basis_content_type = received.content_type
    record(
        session,
        by.actor,
        "access.legal_basis",
        "access_request",
        req.id,
        filename=received.filename,
        sha256=received.stored.sha256,
        size=received.stored.size,
    )
    return req


@dataclass(frozen=True)
class Attachment:
    """A stored file handed out whole (legal basis, change evidence), decrypted as it streams."""

    filename: str
    content_type: str
    size: int
    sha256: str
    chunks: Any


def legal_basis(session: Session, by: Caller, vault: Vault, request_id: int) -> Attachment:
    """An application's legal basis, decrypted as it streams (the reading is audited)."""
    req = get_request(session, by, request_id)
    if req.legal_basis_object_id is None:
        raise NotFound("no legal basis is attached")
    obj = session.get(StoredObject, req.legal_basis_object_id)
    assert obj is not None
    record(session, by.actor, "access.legal_basis_read", "access_request", req.id)
    return Attachment(
        filename=req.legal_basis_filename or "legal-basis",
        content_type=req.legal_basis_content_type or "application/octet-stream",
        size=obj.size,
        sha256=obj.sha256,
        chunks=vault.open(obj),
    )


def decide(
    session: Session,
    by: Caller,
    request_id: int,
    decision: str,
    comment: str | None,
    supervisor: str | None = None,
) -> AccessRequest:
    """The person the current step needs approves or rejects it.

    Approving an external application needs its legal basis attached, and names
    the supervisor (a staff member with the supervisor role) who will open and
    attend the viewing sessions.
    """
    # Lock the row (alone: PostgreSQL refuses FOR UPDATE across the eager outer joins).
    session.execute(
        select(AccessRequest.id).where(AccessRequest.id == request_id).with_for_update()
    )
    req = session.get(AccessRequest, request_id)
    if req is None:
        raise NotFound("no such application")
    if decision not in ("approve", "reject"):
        raise InvalidInput("decision must be approve or reject", field="decision")
    step = current_step(req)
    if req.status != RequestStatus.PENDING or step is None:
        raise Conflict(f"application is {req.status}; nothing waits for a decision")
    require(by, "access.decide", step)
    assert by.user is not None
    comment = (comment or "").strip() or None
    if decision == "reject" and not comment:
        raise InvalidInput("a rejection gives its reason", field="comment")
    named_supervisor = (
        _named_supervisor(session, req, supervisor)
        if decision == "approve" and is_last(req.steps)
        else None
    )
    now = utcnow()
    step.settle(decision == "approve", by.user, now, comment)
    record(
        session,
        by.actor,
        f"access.{decision}",
        "access_request",
        req.id,
        step=step.position,
        role=step.role,
        comment=comment,
    )
    if decision == "reject":
        req.status, req.decided_at, req.outcome_reason = RequestStatus.REJECTED, now, comment
        events.after_decision(session, "access", req.steps, req.id, False, True)
        return req
    finished = open_next(req.steps)
    if finished:
        req.status, req.decided_at = RequestStatus.APPROVED, now
        create_grant(session, by, req, named_supervisor)
    events.after_decision(session, "access", req.steps, req.id, True, finished)
    return req


def _named_supervisor(session: Session, req: AccessRequest, username: str | None) -> int | None:
    if not req.external:
        return None
    if req.legal_basis_object_id is None:
        raise Conflict("the applicant has not attached the legal basis yet")
    sup = user_by_username(session, (username or "").strip())
    if sup is None or "supervisor" not in sup.roles or not sup.is_active_account:
        raise InvalidInput(
            "name the supervisor: an active staff member with the supervisor role",
            field="supervisor",
        )
    if sup.id == req.requester_id or EXTERNAL_ROLE in sup.roles:
        raise InvalidInput("the supervisor is a staff member, not the viewer", field="supervisor")
    return int(sup.id)


def inbox(session: Session, by: Caller) -> list[AccessRequest]:
    """Applications whose current step the caller may decide."""
    pending = (
        session.execute(
            select(AccessRequest)
            .where(AccessRequest.status == RequestStatus.PENDING)
            .order_by(AccessRequest.created_at)
        )
        .scalars()
        .all()
    )
    return [
        r for r in pending if (s := current_step(r)) is not None and may(by, "access.decide", s)
    ]


def my_requests(session: Session, by: Caller) -> list[AccessRequest]:
    assert by.user is not None
    return list(
        session.execute(
            select(AccessRequest)
            .where(AccessRequest.requester_id == by.user.id)
            .order_by(AccessRequest.id.desc())
        ).scalars()
    )
