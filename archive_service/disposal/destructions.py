"""Destruction applications (销毁申请表): filed from a review's items appraised ``destroy``,
decided along the chain of ``disposal.rules``, and started by an executor who names the
supervisor (监销人); the run itself is ``disposal.execution``."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.accounts.users import user_by_username
from archive_service.approvals import checked_decision, open_chain, open_next, pending_step
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.disposal import rules
from archive_service.disposal.models import (
    Destruction,
    DestructionItem,
    DestructionStep,
    RetentionReview,
)
from archive_service.disposal.reviews import get_review, listed, one
from archive_service.disposal.vocabulary import (
    Appraisal,
    DestructionStatus,
    ReviewStatus,
)
from archive_service.errors import Conflict, InvalidInput
from archive_service.jobs import later
from archive_service.notifications import events
from archive_service.policy import Caller, may, require


def apply_for_destruction(
    session: Session, by: Caller, review_id: int, operations_department: str = "OPS"
) -> Destruction:
    """The destruction application (销毁申请表): the items appraised ``destroy``."""
    review = get_review(session, by, review_id)
    require(by, "destruction.apply", review)
    if review.status != ReviewStatus.CONFIRMED:
        raise Conflict(f"review is {review.status}, not confirmed")
    if any(i.appraisal is None for i in review.items):
        raise Conflict("appraise every item first")
    chosen = [i for i in review.items if i.appraisal == Appraisal.DESTROY]
    if not chosen:
        raise Conflict("no item is appraised for destruction")
    dest = Destruction(review_id=review.id, applicant_id=by.user_id)
    session.add(dest)
    session.flush()
    for item in chosen:
        doc = item.document
        version = doc.current_version
        assert version is not None
        session.add(
            DestructionItem(
                destruction_id=dest.id,
                document_id=doc.id,
                archive_number=doc.archive_number,
                title=doc.title,
                category=doc.category.code,
                customer=doc.customer.name,
                sha256=version.sha256,
                size=sum(v.size for v in doc.versions),
            )
        )
    open_chain(
        session,
        DestructionStep,
        rules.destruction_chain(operations_department),
        destruction_id=dest.id,
    )
    review.status, review.closed_at = ReviewStatus.CLOSED, utcnow()
    session.flush()
    session.refresh(dest)
    record(
        session,
        by.actor,
        "destruction.apply",
        "destruction",
        dest.id,
        review_id=review.id,
        count=len(chosen),
        numbers=[i.archive_number for i in chosen],
    )
    events.step_waiting(session, "destruction", dest.steps, dest.id)
    return dest


def get_destruction(session: Session, by: Caller, destruction_id: int) -> Destruction:
    return one(session, by, "destruction.read", Destruction, destruction_id)  # type: ignore[no-any-return]


def list_destructions(
    session: Session, by: Caller, status: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[Destruction], int]:
    return listed(session, by, "destruction.read", Destruction, status, page, per_page)


def current_step(dest: Destruction) -> DestructionStep | None:
    return pending_step(dest.steps)


def _lock(session: Session, destruction_id: int) -> None:
    session.execute(
        select(Destruction.id).where(Destruction.id == destruction_id).with_for_update()
    )


def decide(
    session: Session, by: Caller, destruction_id: int, decision: str, comment: str | None
) -> Destruction:
    """Whoever the current step names approves or rejects it; nobody their own application."""
    _lock(session, destruction_id)
    dest = get_destruction(session, by, destruction_id)
    step = current_step(dest)
    if dest.status != DestructionStatus.PENDING or step is None:
        raise Conflict(f"destruction is {dest.status}; nothing waits for a decision")
    require(by, "destruction.decide", step)
    approved, comment = checked_decision(decision, comment)
    step.settle(approved, by.user, utcnow(), comment)
    record(
        session,
        by.actor,
        f"destruction.{decision}",
        "destruction",
        dest.id,
        step=step.role,
        comment=comment,
    )
    if decision == "reject":
        dest.status = DestructionStatus.REJECTED
        events.after_decision(session, "destruction", dest.steps, dest.id, False, True)
        return dest
    finished = open_next(dest.steps)
    if finished:
        dest.status = DestructionStatus.APPROVED
    events.after_decision(session, "destruction", dest.steps, dest.id, True, finished)
    return dest


def start(
    session: Session, by: Caller, destruction_id: int, supervisor: str, place: str
) -> Destruction:
    """The executor names the supervisor (监销人) and the place; the run goes to the workers
    once this commits. A failed run is resumed the same way, with the same supervisor."""
    _lock(session, destruction_id)
    dest = get_destruction(session, by, destruction_id)
    require(by, "destruction.execute", dest)
    if dest.status not in DestructionStatus.STARTABLE:
        raise Conflict(f"destruction is {dest.status}, not approved")
    sup = user_by_username(session, (supervisor or "").strip())
    if sup is None or "supervisor" not in sup.roles or not sup.is_active_account:
        raise InvalidInput(
            "the supervisor must be an active user with the supervisor role", field="supervisor"
        )
    if by.user is not None and sup.id == by.user.id:
        raise InvalidInput("the supervisor cannot be the executor", field="supervisor")
    place = (place or "").strip()[:300]
    if not place:
        raise InvalidInput("place is required", field="place")
    resumed = dest.status == DestructionStatus.FAILED
    if resumed and sup.id != dest.supervisor_id:
        raise InvalidInput(
            "a failed run is resumed with the supervisor who witnessed it", field="supervisor"
        )
    if not resumed:
        dest.executor_id = by.user_id
        dest.supervisor_id, dest.place = sup.id, place
        dest.started_at = utcnow()
    dest.status, dest.progress_at, dest.failure = DestructionStatus.EXECUTING, utcnow(), None
    record(
        session,
        by.actor,
        "destruction.resume" if resumed else "destruction.start",
        "destruction",
        dest.id,
        supervisor=sup.username,
        place=dest.place,
    )
    later(session, "execute_destruction", dest.id)
    return dest


def waiting_for(session: Session, by: Caller) -> dict[str, list[Any]]:
    """What the disposal area waits for from this person (their inbox)."""
    out: dict[str, list[Any]] = {
        "confirm": [],
        "appraise": [],
        "apply": [],
        "decide": [],
        "execute": [],
    }
    if not may(by, "review.read"):
        return out
    open_reviews = session.execute(
        select(RetentionReview).where(
            RetentionReview.status.in_((ReviewStatus.COMPILED, ReviewStatus.CONFIRMED))
        )
    ).scalars()
    for review in open_reviews:
        if review.status == ReviewStatus.COMPILED and may(by, "review.confirm", review):
            out["confirm"].append(review)
        elif review.status == ReviewStatus.CONFIRMED and may(by, "review.appraise", review):
            if any(i.appraisal is None for i in review.items):
                out["appraise"].append(review)
            elif may(by, "destruction.apply", review):
                out["apply"].append(review)
    pending = session.execute(
        select(Destruction).where(
            Destruction.status.in_((DestructionStatus.PENDING, *DestructionStatus.STARTABLE))
        )
    ).scalars()
    for dest in pending:
        step = current_step(dest)
        if dest.status == DestructionStatus.PENDING:
            if step and may(by, "destruction.decide", step):
                out["decide"].append(dest)
        elif may(by, "destruction.execute", dest):
            out["execute"].append(dest)
    return out
