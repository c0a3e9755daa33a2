"""What the use cases tell the notifications, one function per event, called in the use
case's transaction (the notifications are sent after it commits). Who is told is decided
here, from the same rules the inboxes use: a pending step is decided by whoever the step
names (:func:`archive_service.policy.steps.names`), never the applicant."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.accounts.models import User, UserRole
from archive_service.accounts.vocabulary import AccountStatus
from archive_service.approvals import DecisionStep, pending_step
from archive_service.notifications.models import Notification
from archive_service.notifications.services import notify
from archive_service.notifications.vocabulary import Kind
from archive_service.policy.steps import names

# Where each chain's approvers decide, and where an applicant follows their application.
INBOX = {
    "access": "/access/inbox",
    "change": "/changes/inbox",
    "role": "/admin/role-grants",
}
MINE = {"access": "/access/mine", "change": "/changes/mine", "role": "/admin/role-grants"}


def link_of(chain: str, number: int | str) -> str:
    if chain == "destruction":
        return f"/disposal/destructions/{number}"
    if chain == "transfer":
        return f"/transfers/{number}"
    return INBOX[chain]


def holders(session: Session, *roles: str, department_id: int | None = None) -> list[User]:
    """Active accounts holding any of ``roles`` (in ``department_id`` if given)."""
    query = (
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role.in_(roles), User.status == AccountStatus.ACTIVE)
    )
    if department_id is not None:
        query = query.where(User.department_id == department_id)
    return list(session.execute(query).unique().scalars())


def deciders(session: Session, step: DecisionStep) -> list[User]:
    """Who may decide ``step`` now: whoever it names, never the applicant."""
    return [
        u
        for u in holders(session, step.role, department_id=step.department_id)
        if names(u, step) and u.id != step.applicant_id
    ]


def step_waiting(session: Session, chain: str, steps: Sequence[DecisionStep], number: Any) -> None:
    """A chain's pending step (just opened) waits for its deciders."""
    step = pending_step(steps)
    if step is None:
        return
    notify(
        session,
        Kind.STEP_WAITING,
        deciders(session, step),
        link=link_of(chain, number),
        subject=chain,
        number=str(number),
    )


def decided(
    session: Session, chain: str, applicant_id: int | None, number: Any, outcome: str
) -> None:
    """The applicant's application was approved, rejected or returned."""
    applicant = session.get(User, applicant_id) if applicant_id is not None else None
    if applicant is None:
        return
    link = MINE.get(chain) or link_of(chain, number)
    notify(
        session,
        Kind.APPLICATION_DECIDED,
        [applicant],
        link=link,
        subject=chain,
        number=str(number),
        outcome=outcome,
    )


def after_decision(
    session: Session,
    chain: str,
    steps: Sequence[DecisionStep],
    number: Any,
    approved: bool,
    finished: bool,
    outcome: str | None = None,
) -> None:
    """After a decision on a step: the next step waits, or the applicant hears the end."""
    applicant = steps[0].applicant_id if steps else None
    if not approved:
        decided(session, chain, applicant, number, outcome or "rejected")
    elif finished:
        decided(session, chain, applicant, number, "approved")
    else:
        step_waiting(session, chain, steps, number)


def document_returned(session: Session, doc: Any) -> None:
    """The clerk who uploaded a document hears it was returned, and why."""
    uploader = session.get(User, doc.uploaded_by_id) if doc.uploaded_by_id else None
    notify(
        session,
        Kind.DOCUMENT_RETURNED,
        [uploader] if uploader else [],
        link=f"/documents/{doc.id}",
        reason=doc.returned_reason or "",
    )


def document_accepted(session: Session, doc: Any) -> None:
    """The clerk who uploaded a document hears its archive number (theirs to see)."""
    uploader = session.get(User, doc.uploaded_by_id) if doc.uploaded_by_id else None
    notify(
        session,
        Kind.DOCUMENT_ACCEPTED,
        [uploader] if uploader else [],
        link=f"/documents/{doc.id}",
        number=doc.archive_number,
    )


def review_compiled(session: Session, review_id: int, count: int) -> None:
    """The archivists appraise and the operations head confirms a compiled list."""
    to_roles(
        session,
        Kind.REVIEW_COMPILED,
        ("archivist", "operations_head"),
        f"/disposal/reviews/{review_id}",
        count=count,
    )


def destruction_ended(session: Session, dest: Any, completed: bool) -> None:
    """Applicant, executor and supervisor of a destruction, and the operations heads."""
    people = [
        session.get(User, i)
        for i in (dest.applicant_id, dest.executor_id, dest.supervisor_id)
        if i is not None
    ]
    people += holders(session, "operations_head")
    notify(
        session,
        Kind.DESTRUCTION_COMPLETED if completed else Kind.DESTRUCTION_FAILED,
        [p for p in people if p is not None],
        link=f"/disposal/destructions/{dest.id}",
        count=len(dest.items),
    )


def to_roles(session: Session, kind: str, roles: Iterable[str], link: str, **words: Any) -> None:
    """Tell every holder of ``roles`` of a failure they must see — once until they have
    read it: a sweep that finds a thousand damaged files sends one notice, not a thousand."""
    told = set(
        session.execute(
            select(Notification.recipient_id).where(
                Notification.kind == kind, Notification.read_at.is_(None)
            )
        ).scalars()
    )
    people = [u for u in holders(session, *roles) if u.id not in told]
    notify(session, kind, people, link=link, **words)
