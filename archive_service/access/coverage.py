"""What live grants cover: the queries the policy asks (one document, one customer) and
their SQL forms for lists and the search index. No use case lives here, and nothing here
asks the policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, event, exists, or_, select
from sqlalchemy.orm import Session, joinedload, lazyload

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


# The caller's live grants with their scopes, read once per transaction: the policy asks
# about them for every document a request shows (each hit of a search page, twice).
_LIVE = "live_grants"


def _live_grants(session: Session, user_id: int) -> list[Grant]:
    cache: dict[int, list[Grant]] = session.info.setdefault(_LIVE, {})
    if user_id not in cache:
        cache[user_id] = list(
            session.scalars(
                select(Grant)
                .options(joinedload(Grant.scopes), lazyload(Grant.user), lazyload(Grant.supervisor))
                .where(live(user_id, utcnow()))
            ).unique()
        )
    return cache[user_id]


@event.listens_for(Session, "after_flush")
def _forget_live_grants(session: Session, _context: Any) -> None:
    """A write may have given, ended or revoked a grant: ask the database again."""
    session.info.pop(_LIVE, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_live_grants_at_end(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_LIVE, None)


def _scope_covers(scope: GrantScope, doc: Document) -> bool:
    """:func:`_covers` in Python, for one scope row (held equal by the visibility table)."""
    return (
        scope.customer_id == doc.customer_id
        and scope.document_id in (None, doc.id)
        and scope.category_id in (None, doc.category_id)
    )


def grant_covering(
    session: Session, user_id: int, doc: Document, mode: str | None = None
) -> Grant | None:
    """A live grant of ``user_id`` whose scope covers ``doc`` (and allows ``mode``): a
    download grant first, then the oldest. From the grants in force when the transaction
    first asked (one query per request, not one per document it shows)."""
    candidates = [
        g
        for g in _live_grants(session, user_id)
        if (mode != "download" or g.mode == "download")
        and any(_scope_covers(sc, doc) for sc in g.scopes)
    ]
    return min(candidates, key=lambda g: (g.mode, g.id), default=None)


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


def live_grants_covering(session: Session, doc: Document, modes: Any) -> list[Grant]:
    """Everyone's grants in force now, in one of ``modes``, whose scope covers ``doc``
    (the grants an archivist may lend the document's paper original on), oldest first."""
    now = utcnow()
    return list(
        session.scalars(
            select(Grant)
            .join(GrantScope, GrantScope.grant_id == Grant.id)
            .where(
                Grant.status == GrantStatus.ACTIVE,
                Grant.starts_at <= now,
                Grant.ends_at > now,
                Grant.mode.in_(sorted(modes)),
                _covers(doc.customer_id, doc.id, doc.category_id),
            )
            .order_by(Grant.id)
        ).unique()
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
    return any(g.customer_id == customer_id for g in _live_grants(session, user_id))


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
