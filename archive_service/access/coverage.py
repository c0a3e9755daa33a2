"""What live grants cover: the queries the policy asks (one document, one customer) and
their SQL forms for lists and the search index. No use case lives here, and nothing here
asks the policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from archive_service.access.models import Grant, GrantScope
from archive_service.access.vocabulary import GrantStatus
from archive_service.archive.models import Category, Customer, Document
from archive_service.db import utcnow


def live(user_id: int, now: datetime) -> Any:
    """SQL: the grants of ``user_id`` in force at ``now``."""
    return and_(
        Grant.user_id == user_id,
        Grant.status == GrantStatus.ACTIVE,
        Grant.starts_at <= now,
        Grant.ends_at > now,
    )


def _covers(customer_id: Any, document_id: Any, category_id: Any) -> Any:
    return and_(
        GrantScope.customer_id == customer_id,
        or_(GrantScope.document_id.is_(None), GrantScope.document_id == document_id),
        or_(GrantScope.category_id.is_(None), GrantScope.category_id == category_id),
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
        .where(live(user_id, now), _covers(doc.customer_id, doc.id, doc.category_id))
        .order_by(Grant.mode.asc(), Grant.id)  # "download" sorts before "view"
    )
    if mode == "download":
        q = q.where(Grant.mode == "download")
    return session.execute(q.limit(1)).scalar()


def grant_covers(session: Session, grant_id: int, doc: Document) -> bool:
    """Does the scope of grant ``grant_id`` (in force or not) cover ``doc``?"""
    return (
        session.execute(
            select(GrantScope.id)
            .where(
                GrantScope.grant_id == grant_id,
                _covers(doc.customer_id, doc.id, doc.category_id),
            )
            .limit(1)
        ).first()
        is not None
    )


def ended_grant_covering(session: Session, user_id: int, doc: Document) -> Grant | None:
    """A grant that covered ``doc`` but no longer works (expired, revoked, not yet begun)."""
    return session.execute(
        select(Grant)
        .join(GrantScope, GrantScope.grant_id == Grant.id)
        .where(
            Grant.user_id == user_id,
            ~live(user_id, utcnow()),
            _covers(doc.customer_id, doc.id, doc.category_id),
        )
        .order_by(Grant.id.desc())
        .limit(1)
    ).scalar()


def has_grant_on_customer(session: Session, user_id: int, customer_id: int) -> bool:
    return (
        session.execute(
            select(Grant.id)
            .where(live(user_id, utcnow()), Grant.customer_id == customer_id)
            .limit(1)
        ).first()
        is not None
    )


def granted_documents_clause(user_id: int) -> Any:
    """SQL: documents covered by a live grant of the user (for lists and search)."""
    return exists(
        select(GrantScope.id)
        .join(Grant, Grant.id == GrantScope.grant_id)
        .where(
            live(user_id, utcnow()),
            _covers(Document.customer_id, Document.id, Document.category_id),
        )
    )


def grant_documents_clause(grant_id: int) -> Any:
    """SQL: documents the scope of grant ``grant_id`` covers (whether or not in force)."""
    return exists(
        select(GrantScope.id).where(
            GrantScope.grant_id == grant_id,
            _covers(Document.customer_id, Document.id, Document.category_id),
        )
    )


def granted_customers_clause(user_id: int) -> Any:
    return exists(select(Grant.id).where(live(user_id, utcnow()), Grant.customer_id == Customer.id))


def live_scopes(session: Session, user_id: int) -> list[tuple[int, int | None, str | None]]:
    """``(customer_id, document_id, category code)`` of each live grant scope of the user:
    the same coverage as :func:`grant_covering`, for filters outside SQL (the search index)."""
    rows = session.execute(
        select(GrantScope.customer_id, GrantScope.document_id, Category.code)
        .join(Grant, Grant.id == GrantScope.grant_id)
        .outerjoin(Category, Category.id == GrantScope.category_id)
        .where(live(user_id, utcnow()))
    ).all()
    return [(int(c), d, code) for c, d, code in rows]
