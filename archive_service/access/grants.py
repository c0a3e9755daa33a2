"""Grants: what an approved application allows (exactly its scope, mode and window), their
revocation, their expiry, and the list of those in force."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from archive_service.access.models import AccessRequest, Grant, GrantScope
from archive_service.access.vocabulary import GrantStatus, RequestStatus
from archive_service.archive.models import Category
from archive_service.audit.services import Actor, record
from archive_service.db import utcnow
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.policy import Caller, require


def create_grant(
    session: Session, by: Caller, req: AccessRequest, supervisor_id: int | None = None
) -> Grant:
    """The grant of an approved application, with one scope row per document, category or
    the whole archive (so access filters are plain SQL joins)."""
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
    if grant.status != GrantStatus.ACTIVE:
        raise Conflict(f"grant is {grant.status}")
    grant.status, grant.revoked_at = GrantStatus.REVOKED, utcnow()
    grant.revoked_by_id = by.user_id
    grant.revoke_reason = reason.strip()[:1000]
    grant.request.status = RequestStatus.REVOKED
    record(session, by.actor, "grant.revoke", "grant", grant.id, reason=grant.revoke_reason)
    return grant


def expire_grants(session: Session, now: datetime | None = None) -> int:
    """Mark grants past their window expired (they stopped working at use already)."""
    now = now or utcnow()
    ids = list(
        session.execute(
            select(Grant.id).where(Grant.status == GrantStatus.ACTIVE, Grant.ends_at <= now)
        ).scalars()
    )
    if not ids:
        return 0
    session.execute(update(Grant).where(Grant.id.in_(ids)).values(status=GrantStatus.EXPIRED))
    session.execute(
        update(AccessRequest)
        .where(AccessRequest.id.in_(select(Grant.request_id).where(Grant.id.in_(ids))))
        .values(status=RequestStatus.EXPIRED)
    )
    record(session, Actor.system("scheduler"), "grant.expire", "grant", None, grants=ids)
    return len(ids)


def active_grants(session: Session, by: Caller) -> list[Grant]:
    require(by, "grant.list")
    return list(
        session.execute(
            select(Grant).where(Grant.status == GrantStatus.ACTIVE).order_by(Grant.ends_at)
        ).scalars()
    )
