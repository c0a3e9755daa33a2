"""A failure's life: found (an audit event), seen again, resolved by a later passing check,
or repaired from a good copy; each change of state is one audit event."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.audit.services import Actor, record
from archive_service.db import utcnow
from archive_service.fixity.models import FixityFailure
from archive_service.fixity.vocabulary import Event, Status
from archive_service.notifications import events
from archive_service.notifications.vocabulary import Kind
from archive_service.vault.models import StoredObject

TARGET = "stored_object"


def open_failure(session: Session, object_id: int) -> FixityFailure | None:
    return session.execute(
        select(FixityFailure)
        .where(FixityFailure.stored_object_id == object_id, FixityFailure.status == Status.OPEN)
        .order_by(FixityFailure.id)
        .limit(1)
    ).scalar_one_or_none()


def count_open(session: Session) -> int:
    return int(
        session.execute(
            select(func.count())
            .select_from(FixityFailure)
            .where(FixityFailure.status == Status.OPEN)
        ).scalar_one()
    )


def open_object_ids(session: Session) -> set[int]:
    return set(
        session.execute(
            select(FixityFailure.stored_object_id).where(FixityFailure.status == Status.OPEN)
        ).scalars()
    )


def found(
    session: Session, actor: Actor, object_id: int, kind: str, detail: str, found_by: str
) -> FixityFailure | None:
    """Record a failed check. An object erased meanwhile is no failure (None); one already
    open is seen again (its event was written when it was first found)."""
    obj = session.get(StoredObject, object_id)
    if obj is None or obj.wrapped_key is None:
        return None
    now = utcnow()
    failure = open_failure(session, object_id)
    if failure is not None:
        failure.last_seen_at = now
        failure.times_seen += 1
        failure.kind, failure.detail = kind, detail[:300]
        session.flush()
        return failure
    failure = FixityFailure(
        stored_object_id=object_id,
        kind=kind,
        status=Status.OPEN,
        found_by=found_by,
        found_at=now,
        last_seen_at=now,
        times_seen=1,
        detail=detail[:300],
    )
    session.add(failure)
    session.flush()
    record(
        session, actor, Event.FAILED, TARGET, object_id, failure=failure.id, kind=kind, by=found_by
    )
    events.to_roles(session, Kind.FIXITY_FAILURE, ("auditor", "archivist"), "/fixity/")
    return failure


def passed(session: Session, actor: Actor, object_id: int) -> int:
    """A check of the object passed: its open failures are resolved. Returns how many."""
    failures = (
        session.execute(
            select(FixityFailure).where(
                FixityFailure.stored_object_id == object_id, FixityFailure.status == Status.OPEN
            )
        )
        .scalars()
        .all()
    )
    for failure in failures:
        failure.status, failure.closed_at = Status.RESOLVED, utcnow()
        record(session, actor, Event.RESOLVED, TARGET, object_id, failure=failure.id)
    session.flush()
    return len(failures)


def repaired(session: Session, actor: Actor, failure_id: int, source: str) -> None:
    failure = session.get(FixityFailure, failure_id)
    if failure is None or failure.status != Status.OPEN:
        return
    failure.status, failure.closed_at, failure.repair = Status.REPAIRED, utcnow(), None
    session.flush()
    record(
        session,
        actor,
        Event.REPAIRED,
        TARGET,
        failure.stored_object_id,
        failure=failure.id,
        kind=failure.kind,
        source=source,
    )


def not_repaired(session: Session, actor: Actor, failure_id: int, outcome: str) -> None:
    """Why no repair happened; an event only when the reason changes (not every round)."""
    failure = session.get(FixityFailure, failure_id)
    if failure is None or failure.status != Status.OPEN or failure.repair == outcome:
        return
    failure.repair = outcome
    session.flush()
    record(
        session,
        actor,
        Event.UNREPAIRED,
        TARGET,
        failure.stored_object_id,
        failure=failure.id,
        outcome=outcome,
    )
