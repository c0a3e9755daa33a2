"""Retention reviews: compile the list of what is due (清单编制), the operations head's
confirmation (审核确认), and each item's appraisal (价值评估)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.archive.disposal_date import disposal_date_of, recompute_disposal
from archive_service.archive.models import Document, DocumentStatus
from archive_service.archive.retention import RetentionRules
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.disposal.models import (
    Destruction,
    DestructionItem,
    RetentionReview,
    ReviewItem,
)
from archive_service.disposal.vocabulary import (
    APPRAISALS,
    Appraisal,
    DestructionStatus,
    ReviewStatus,
)
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.notifications import events
from archive_service.policy import Caller, require
from archive_service.transfer.models import Transfer, TransferItem
from archive_service.transfer.vocabulary import TransferStatus


def documents_in_open_work() -> Any:
    """SQL: documents already on an open review, in a destruction not yet finished, or in a
    transfer under way (移交: a copy another archive waits for is not destroyed meanwhile;
    once the transfer is confirmed, a copy to be destroyed is listed again)."""
    on_review = (
        select(ReviewItem.document_id)
        .join(RetentionReview, RetentionReview.id == ReviewItem.review_id)
        .where(RetentionReview.status != ReviewStatus.CLOSED)
    )
    in_destruction = (
        select(DestructionItem.document_id)
        .join(Destruction, Destruction.id == DestructionItem.destruction_id)
        .where(Destruction.status.in_(DestructionStatus.IN_FLIGHT))
    )
    in_transfer = (
        select(TransferItem.document_id)
        .join(Transfer, Transfer.id == TransferItem.transfer_id)
        .where(Transfer.status.in_(TransferStatus.IN_FLIGHT))
    )
    return on_review.union(in_destruction, in_transfer)


def compile_review(
    session: Session, by: Caller, rules: RetentionRules, today: date | None = None
) -> RetentionReview:
    """Someone asks for a review now: the list of what is due (an empty list is kept,
    closed at once, so the asker sees that nothing was due)."""
    review = _compile(session, by, rules, today, keep_empty=True)
    assert review is not None
    return review


def compile_if_due(
    session: Session, by: Caller, rules: RetentionRules, today: date | None = None
) -> RetentionReview | None:
    """The daily schedule: a review only when something is due."""
    return _compile(session, by, rules, today, keep_empty=False)


def _still_due(
    session: Session, by: Caller, rules: RetentionRules, docs: list[Document], today: date
) -> list[Document]:
    """Each stored date re-checked against the rules in force: a date the rules now put
    later (a setting, a category's trigger or its meaning changed since it was computed)
    is recomputed and recorded, and the document waits."""
    due = []
    for doc in docs:
        if disposal_date_of(doc, rules) != doc.disposal_date:
            recompute_disposal(
                session, by, doc, "re-checked when the review list was compiled", rules
            )
        if doc.disposal_date is not None and doc.disposal_date <= today:
            due.append(doc)
    return due


def _compile(
    session: Session, by: Caller, rules: RetentionRules, today: date | None, keep_empty: bool
) -> RetentionReview | None:
    """List accepted documents due for disposal and not on hold, none twice in open work,
    each due by the rules in force. Permanent documents have no disposal date and never
    appear."""
    require(by, "review.compile")
    today = today or utcnow().date()
    due = (
        session.execute(
            select(Document)
            .where(
                Document.status == DocumentStatus.ACCEPTED,
                Document.on_hold.is_(False),
                Document.disposal_date.is_not(None),
                Document.disposal_date <= today,
                Document.id.not_in(documents_in_open_work()),
            )
            .order_by(Document.disposal_date, Document.id)
        )
        .scalars()
        .all()
    )
    due = _still_due(session, by, rules, list(due), today)
    if not due and not keep_empty:
        return None
    review = RetentionReview(compiled_by=by.actor.username or "system", as_of=today)
    if not due:
        review.status, review.closed_at = ReviewStatus.CLOSED, utcnow()
    session.add(review)
    session.flush()
    session.add_all(
        [
            ReviewItem(
                review_id=review.id,
                document_id=d.id,
                archive_number=d.archive_number,
                disposal_date=d.disposal_date,
            )
            for d in due
        ]
    )
    session.flush()
    session.refresh(review)
    record(
        session,
        by.actor,
        "review.compile",
        "review",
        review.id,
        items=len(due),
        as_of=today.isoformat(),
        numbers=[d.archive_number for d in due],
    )
    if due:
        events.review_compiled(session, review.id, len(due))
    return review


def one(session: Session, by: Caller, action: str, model: Any, ident: int) -> Any:
    """A review or destruction the caller may read."""
    require(by, action)
    row = session.get(model, ident)
    if row is None:
        raise NotFound(f"no such {model.__name__}")
    return row


def listed(
    session: Session,
    by: Caller,
    action: str,
    model: Any,
    status: str | None,
    page: int,
    per_page: int,
) -> tuple[list[Any], int]:
    """Rows of ``model`` newest first, optionally of one status, with the total."""
    require(by, action)
    query = select(model)
    if status:
        query = query.where(model.status == status)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(
        query.order_by(model.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).scalars()
    return list(rows), int(total)


def get_review(session: Session, by: Caller, review_id: int) -> RetentionReview:
    return one(session, by, "review.read", RetentionReview, review_id)  # type: ignore[no-any-return]


def list_reviews(
    session: Session, by: Caller, status: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[RetentionReview], int]:
    return listed(session, by, "review.read", RetentionReview, status, page, per_page)


def confirm(session: Session, by: Caller, review_id: int) -> RetentionReview:
    """The operations head confirms the list's scope (审核确认)."""
    review = get_review(session, by, review_id)
    require(by, "review.confirm", review)
    if review.status != ReviewStatus.COMPILED:
        raise Conflict(f"review is {review.status}, not compiled")
    review.status, review.confirmed_at = ReviewStatus.CONFIRMED, utcnow()
    review.confirmed_by_id = by.user_id
    record(session, by.actor, "review.confirm", "review", review.id, items=len(review.items))
    return review


def appraise(
    session: Session,
    by: Caller,
    review_id: int,
    document_id: int,
    decision: str,
    retain_until: date | None,
    reason: str | None,
    rules: RetentionRules,
) -> ReviewItem:
    """Destroy, or keep until a later date with a reason (which moves the disposal date)."""
    review = get_review(session, by, review_id)
    require(by, "review.appraise", review)
    if review.status != ReviewStatus.CONFIRMED:
        raise Conflict(
            "the operations head confirms the list before appraisal"
            if review.status == ReviewStatus.COMPILED
            else f"review is {review.status}"
        )
    item = next((i for i in review.items if i.document_id == document_id), None)
    if item is None:
        raise NotFound("the document is not on this list")
    decision = str(APPRAISALS.check(decision, "decision"))
    reason = (reason or "").strip()[:1000] or None
    doc = item.document
    if decision == Appraisal.RETAIN:
        if retain_until is None or retain_until <= utcnow().date():
            raise InvalidInput("retain_until must be a future date", field="retain_until")
        if not reason:
            raise InvalidInput("a reason is required to keep it longer", field="reason")
    if item.appraisal == Appraisal.RETAIN and decision == Appraisal.DESTROY:
        raise Conflict("this item was already appraised to be kept longer")
    if decision == Appraisal.RETAIN:
        doc.retain_until = retain_until
        recompute_disposal(session, by, doc, f"appraisal in review {review.id}", rules)
    item.appraisal, item.retain_until, item.reason = decision, retain_until, reason
    item.appraised_by_id, item.appraised_at = by.user_id, utcnow()
    record(
        session,
        by.actor,
        "review.appraise",
        "document",
        document_id,
        review_id=review.id,
        decision=decision,
        retain_until=retain_until.isoformat() if retain_until else None,
        reason=reason,
    )
    if all(i.appraisal == Appraisal.RETAIN for i in review.items):
        # Nothing to destroy: the list is finished, its documents free for later reviews.
        review.status, review.closed_at = ReviewStatus.CLOSED, utcnow()
        record(session, by.actor, "review.close", "review", review.id, outcome="all retained")
    return item
