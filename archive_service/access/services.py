"""Access use cases: apply, decide step by step, grant, revoke, expire, register.

The policy (``archive_service.policy``) asks :func:`grant_covering` when a
rule needs a grant, so every read path — pages, previews, downloads,
lists, search — honours the same grants.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from archive_service.access import rules
from archive_service.access.models import (
    AccessRequest,
    ApprovalStep,
    Grant,
    GrantScope,
    RequestStatus,
)
from archive_service.accounts.models import Department
from archive_service.approvals import open_next, pending_step
from archive_service.archive.models import AccessRecord, Category, Customer, Document
from archive_service.audit.services import Actor, record
from archive_service.db import utcnow
from archive_service.errors import Conflict, InvalidInput, NotAllowed, NotFound
from archive_service.policy import Caller, require

MODES = ("view", "download")
MAX_WINDOW = timedelta(days=366)


@dataclass(frozen=True)
class Application:
    purpose: str
    mode: str
    starts_at: datetime
    ends_at: datetime
    customer_id: int | None = None
    document_ids: tuple[int, ...] = ()
    categories: tuple[str, ...] = ()


def _operations_department_id(session: Session, code: str) -> int | None:
    return session.execute(select(Department.id).where(Department.code == code)).scalar()


def apply(
    session: Session, by: Caller, app: Application, operations_department: str = "OPS"
) -> AccessRequest:
    """File an application; the chain of approvers is decided by rule."""
    require(by, "access.apply")
    assert by.user is not None
    purpose = (app.purpose or "").strip()
    if not purpose:
        raise InvalidInput("purpose is required", field="purpose")
    if app.mode not in MODES:
        raise InvalidInput("mode must be view or download", field="mode")
    if app.starts_at.tzinfo is None or app.ends_at.tzinfo is None:
        raise InvalidInput("times need a UTC offset", field="starts_at")
    if app.ends_at <= app.starts_at:
        raise InvalidInput("ends_at must be after starts_at", field="ends_at")
    if app.ends_at <= utcnow():
        raise InvalidInput("the window has already ended", field="ends_at")
    if app.ends_at - app.starts_at > MAX_WINDOW:
        raise InvalidInput("a window is at most a year", field="ends_at")
    doc_ids = tuple(sorted(set(app.document_ids)))
    if doc_ids and (app.customer_id or app.categories):
        raise InvalidInput(
            "give document_ids, or customer_id with categories", field="document_ids"
        )
    if doc_ids:
        docs = session.execute(select(Document).where(Document.id.in_(doc_ids))).scalars().all()
        if len(docs) != len(doc_ids):
            raise InvalidInput("unknown document in document_ids", field="document_ids")
        customers = {d.customer_id for d in docs}
        if len(customers) != 1:
            raise InvalidInput(
                "one application covers one customer's documents", field="document_ids"
            )
        customer_id = customers.pop()
    elif app.customer_id:
        customer_id = app.customer_id
    else:
        raise InvalidInput("give document_ids or customer_id", field="customer_id")
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise InvalidInput("unknown customer", field="customer_id")
    cats = tuple(sorted(set(app.categories)))
    if cats:
        known = set(session.execute(select(Category.code).where(Category.code.in_(cats))).scalars())
        if known != set(cats):
            raise InvalidInput(
                f"unknown categories: {sorted(set(cats) - known)}", field="categories"
            )
    external = "regulator" in by.user.roles
    if external and app.mode != "view":
        raise InvalidInput("external viewers apply to view, never to download", field="mode")
    request = AccessRequest(
        requester_id=by.user.id,
        purpose=purpose[:1000],
        customer_id=customer.id,
        document_ids=list(doc_ids),
        categories=list(cats),
        mode=app.mode,
        starts_at=app.starts_at,
        ends_at=app.ends_at,
        external=external,
    )
    session.add(request)
    session.flush()
    chain = rules.approval_chain(
        by.user.department_id,
        customer.department_id,
        _operations_department_id(session, operations_department),
        external,
    )
    for i, spec in enumerate(chain):
        session.add(
            ApprovalStep(
                request_id=request.id,
                position=i,
                role=spec.role,
                department_id=spec.department_id,
                status="pending" if i == 0 else "waiting",
            )
        )
    session.flush()
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
        mode=app.mode,
        steps=[s.role for s in chain],
    )
    return request


def resolve_numbers(session: Session, numbers: list[str]) -> list[int]:
    """Archive numbers (current or earlier) the applicant names → document ids."""
    from archive_service.archive.models import ArchiveNumber

    ids = []
    for number in numbers:
        row = session.get(ArchiveNumber, number.strip())
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


def current_step(req: AccessRequest) -> ApprovalStep | None:
    return pending_step(req.steps)


def attach_legal_basis(
    session: Session,
    by: Caller,
    vault: Any,
    request_id: int,
    filename: str,
    stream: Any,
    allowed_types: frozenset[str],
) -> AccessRequest:
    """An external applicant attaches the legal basis or letter of authorisation (encrypted)."""
    from archive_service.archive import intake

    req = get_request(session, by, request_id)
    if by.user is None or req.requester_id != by.user.id:
        raise NotAllowed("only the applicant attaches the legal basis", rule="own-application")
    if not req.external:
        raise Conflict("only external applications carry a legal basis")
    if req.status != RequestStatus.PENDING:
        raise Conflict(f"application is {req.status}")
    name = intake.clean_filename(filename)
    head = stream.read(intake.SNIFF_BYTES)
    try:
        sniffed = intake.sniff(head, name, allowed_types)
    except intake.Refused as exc:
        raise InvalidInput(exc.message, field="legal_basis") from exc
    obj = vault.put(session, _Prefixed(head, stream))
    if obj.size == 0:
        raise InvalidInput("the legal basis file is empty", field="legal_basis")
    req.legal_basis_object_id = obj.id
    req.legal_basis_filename, req.legal_basis_content_type = name, sniffed.content_type
    record(
        session,
        by.actor,
        "access.legal_basis",
        "access_request",
        req.id,
        filename=name,
        sha256=obj.sha256,
        size=obj.size,
    )
    return req


class _Prefixed:
    """The sniffed head, then the rest of the stream."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self.head, self.rest = head, rest

    def read(self, n: int = -1) -> bytes:
        if self.head:
            if n < 0 or n >= len(self.head):
                out, self.head = self.head, b""
                return out
            out, self.head = self.head[:n], self.head[n:]
            return out
        return bytes(self.rest.read(n))


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    sha256: str
    chunks: Any


def legal_basis(session: Session, by: Caller, vault: Any, request_id: int) -> Attachment:
    """An application's legal basis, decrypted as it streams (the reading is audited)."""
    from archive_service.vault.models import StoredObject

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
    last_step = not any(s.status == "waiting" for s in req.steps)
    named_supervisor = (
        _named_supervisor(session, req, supervisor) if decision == "approve" and last_step else None
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
        return req
    if open_next(req.steps):
        req.status, req.decided_at = RequestStatus.APPROVED, now
        _grant(session, by, req, named_supervisor)
    return req


def _named_supervisor(session: Session, req: AccessRequest, username: str | None) -> int | None:
    if not req.external:
        return None
    if req.legal_basis_object_id is None:
        raise Conflict("the applicant has not attached the legal basis yet")
    from archive_service.accounts.services import user_by_username

    sup = user_by_username(session, (username or "").strip())
    if sup is None or "supervisor" not in sup.roles or not sup.is_active_account:
        raise InvalidInput(
            "name the supervisor: an active staff member with the supervisor role",
            field="supervisor",
        )
    if sup.id == req.requester_id or "regulator" in sup.roles:
        raise InvalidInput("the supervisor is a staff member, not the viewer", field="supervisor")
    return int(sup.id)


def _grant(
    session: Session, by: Caller, req: AccessRequest, supervisor_id: int | None = None
) -> Grant:
    grant = Grant(
        request=req,
        user_id=req.requester_id,
        customer_id=req.customer_id,
        mode=req.mode,
        starts_at=req.starts_at,
        ends_at=req.ends_at,
        supervisor_id=supervisor_id,
    )
    session.add(grant)
    session.flush()
    if req.document_ids:
        rows = [
            GrantScope(grant_id=grant.id, customer_id=req.customer_id, document_id=d)
            for d in req.document_ids
        ]
    elif req.categories:
        ids = session.execute(
            select(Category.id).where(Category.code.in_(req.categories))
        ).scalars()
        rows = [
            GrantScope(grant_id=grant.id, customer_id=req.customer_id, category_id=c) for c in ids
        ]
    else:
        rows = [GrantScope(grant_id=grant.id, customer_id=req.customer_id)]
    session.add_all(rows)
    session.flush()
    record(
        session,
        by.actor,
        "grant.create",
        "grant",
        grant.id,
        request_id=req.id,
        user_id=req.requester_id,
        mode=req.mode,
        ends_at=req.ends_at.isoformat(),
        supervisor_id=supervisor_id,
    )
    return grant


def revoke(session: Session, by: Caller, grant_id: int, reason: str) -> Grant:
    grant = session.get(Grant, grant_id)
    if grant is None:
        raise NotFound("no such grant")
    require(by, "grant.revoke", grant)
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", field="reason")
    if grant.status != "active":
        raise Conflict(f"grant is {grant.status}")
    grant.status, grant.revoked_at = "revoked", utcnow()
    grant.revoked_by_id = by.user.id if by.user else None
    grant.revoke_reason = reason.strip()[:1000]
    grant.request.status = RequestStatus.REVOKED
    record(session, by.actor, "grant.revoke", "grant", grant.id, reason=grant.revoke_reason)
    return grant


def expire_grants(session: Session, now: datetime | None = None) -> int:
    """Mark grants past their window expired (they stopped working at use already)."""
    now = now or utcnow()
    ids = list(
        session.execute(
            select(Grant.id).where(Grant.status == "active", Grant.ends_at <= now)
        ).scalars()
    )
    if not ids:
        return 0
    session.execute(update(Grant).where(Grant.id.in_(ids)).values(status="expired"))
    session.execute(
        update(AccessRequest)
        .where(AccessRequest.id.in_(select(Grant.request_id).where(Grant.id.in_(ids))))
        .values(status=RequestStatus.EXPIRED)
    )
    record(session, Actor.system("scheduler"), "grant.expire", "grant", None, grants=ids)
    return len(ids)


# --- what grants allow (asked by the policy) -----------------------------------------


def _live(user_id: int, now: datetime) -> Any:
    return and_(
        Grant.user_id == user_id,
        Grant.status == "active",
        Grant.starts_at <= now,
        Grant.ends_at > now,
    )


def grant_covering(
    session: Session,
    user_id: int,
    doc: Document,
    mode: str | None = None,
    now: datetime | None = None,
) -> Grant | None:
    """A live grant of ``user_id`` whose scope covers ``doc`` (and allows ``mode``)."""
    now = now or utcnow()
    q = (
        select(Grant)
        .join(GrantScope, GrantScope.grant_id == Grant.id)
        .where(
            _live(user_id, now),
            GrantScope.customer_id == doc.customer_id,
            or_(GrantScope.document_id.is_(None), GrantScope.document_id == doc.id),
            or_(GrantScope.category_id.is_(None), GrantScope.category_id == doc.category_id),
        )
        .order_by(Grant.mode.asc(), Grant.id)  # "download" sorts before "view"
    )
    if mode == "download":
        q = q.where(Grant.mode == "download")
    return session.execute(q.limit(1)).scalar()


def ended_grant_covering(session: Session, user_id: int, doc: Document) -> Grant | None:
    """A grant that covered ``doc`` but no longer works (expired, revoked, not yet begun)."""
    now = utcnow()
    return session.execute(
        select(Grant)
        .join(GrantScope, GrantScope.grant_id == Grant.id)
        .where(
            Grant.user_id == user_id,
            ~_live(user_id, now),
            GrantScope.customer_id == doc.customer_id,
            or_(GrantScope.document_id.is_(None), GrantScope.document_id == doc.id),
            or_(GrantScope.category_id.is_(None), GrantScope.category_id == doc.category_id),
        )
        .order_by(Grant.id.desc())
        .limit(1)
    ).scalar()


def has_grant_on_customer(session: Session, user_id: int, customer_id: int) -> bool:
    return (
        session.execute(
            select(Grant.id)
            .where(_live(user_id, utcnow()), Grant.customer_id == customer_id)
            .limit(1)
        ).first()
        is not None
    )


def granted_documents_clause(user_id: int) -> Any:
    """SQL: documents covered by a live grant of the user (for lists and search)."""
    now = utcnow()
    return exists(
        select(GrantScope.id)
        .join(Grant, Grant.id == GrantScope.grant_id)
        .where(
            _live(user_id, now),
            GrantScope.customer_id == Document.customer_id,
            or_(GrantScope.document_id.is_(None), GrantScope.document_id == Document.id),
            or_(GrantScope.category_id.is_(None), GrantScope.category_id == Document.category_id),
        )
    )


def live_scopes(session: Session, user_id: int) -> list[tuple[int, int | None, str | None]]:
    """``(customer_id, document_id, category code)`` of each live grant scope of the user:
    the same coverage as :func:`grant_covering`, for filters outside SQL (the search index)."""
    rows = session.execute(
        select(GrantScope.customer_id, GrantScope.document_id, Category.code)
        .join(Grant, Grant.id == GrantScope.grant_id)
        .outerjoin(Category, Category.id == GrantScope.category_id)
        .where(_live(user_id, utcnow()))
    ).all()
    return [(int(c), d, code) for c, d, code in rows]


def granted_customers_clause(user_id: int) -> Any:
    return exists(
        select(Grant.id).where(_live(user_id, utcnow()), Grant.customer_id == Customer.id)
    )


# --- lists ---------------------------------------------------------------------------


def inbox(session: Session, by: Caller) -> list[AccessRequest]:
    """Applications whose current step the caller may decide."""
    from archive_service.policy import may

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


def active_grants(session: Session, by: Caller) -> list[Grant]:
    require(by, "grant.list")
    return list(
        session.execute(
            select(Grant).where(Grant.status == "active").order_by(Grant.ends_at)
        ).scalars()
    )


@dataclass(frozen=True)
class RegisterFilter:
    user: str | None = None
    document_id: int | None = None
    customer_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def register(
    session: Session, by: Caller, f: RegisterFilter, page: int = 1, per_page: int = 50
) -> tuple[list[AccessRecord], int]:
    from sqlalchemy import func

    require(by, "register.read")
    q = select(AccessRecord)
    if f.user:
        q = q.where(AccessRecord.username == f.user)
    if f.document_id:
        q = q.where(AccessRecord.document_id == f.document_id)
    if f.customer_id:
        q = q.where(
            AccessRecord.document_id.in_(
                select(Document.id).where(Document.customer_id == f.customer_id)
            )
        )
    if f.since:
        q = q.where(AccessRecord.at >= f.since)
    if f.until:
        q = q.where(AccessRecord.at < f.until)
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = (
        session.execute(
            q.order_by(AccessRecord.id.desc()).offset((page - 1) * per_page).limit(per_page)
        )
        .scalars()
        .all()
    )
    return list(rows), total


def request_dict(req: AccessRequest) -> dict[str, Any]:
    return {
        "id": req.id,
        "status": req.status,
        "requester": req.requester.username,
        "purpose": req.purpose,
        "customer_id": req.customer_id,
        "document_ids": req.document_ids,
        "categories": req.categories,
        "mode": req.mode,
        "starts_at": req.starts_at.isoformat(),
        "ends_at": req.ends_at.isoformat(),
        "external": req.external,
        "legal_basis": req.legal_basis_filename,
        "reason": req.outcome_reason,
        "grant_id": req.grant.id if req.grant else None,
        "supervisor": req.grant.supervisor.username if req.grant and req.grant.supervisor else None,
        "approval_steps": [
            {
                "role": s.role,
                "department": s.department.code if s.department else None,
                "status": s.status,
                "decided_by": s.decided_by.username if s.decided_by else None,
                "decided_at": s.decided_at.isoformat() if s.decided_at else None,
                "comment": s.comment,
            }
            for s in req.steps
        ],
    }


def record_dict(r: AccessRecord) -> dict[str, Any]:
    return {
        "at": r.at.isoformat(),
        "user": r.username,
        "document_id": r.document_id,
        "archive_number": r.archive_number,
        "action": r.action,
        "grant_id": r.grant_id,
        "purpose": r.purpose,
        "rule": r.rule,
        "session": f"S{r.viewing_session_id}" if r.viewing_session_id else None,
        "page": r.page,
        "supervisor": r.supervisor,
    }
