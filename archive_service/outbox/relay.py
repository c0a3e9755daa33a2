"""Writing jobs to the outbox and relaying them to the broker.

A job is a row written in the transaction that needs it (:func:`write`, called by
``jobs.install`` just before the commit), so it exists exactly when the change does. After
the commit the committing process sends it (:func:`deliver`) and deletes the row once the
send has succeeded. A row whose send failed (broker down) or that was never sent (the
process died between commit and send) is sent by :func:`sweep` (beat, and each worker's
start), oldest first. Delivery is at least once: a crash between a send and the row's
deletion sends the job again, and every task is idempotent.

No transaction is open while a job is sent: rows are claimed in one short transaction
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer) and settled in another,
so a slow broker never holds a lock, and two relays never take the same row.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import Table, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from archive_service.db import utcnow
from archive_service.outbox.models import OutboxJob

log = logging.getLogger(__name__)
# How long a relay holds the rows it is sending; past it, a sweep may send them (the relay
# died). Sends take milliseconds; an eager send (tests) runs the task, with no sweep about.
CLAIM = timedelta(seconds=60)
BATCH = 200
_TABLE = cast(Table, OutboxJob.__table__)


class JobSender(Protocol):
    """Runs ``workers.tasks.<task>(*args)`` in the background (or at once, when eager)."""

    eager: bool

    def send(self, task: str, *args: Any) -> None: ...


@dataclass(frozen=True)
class Job:
    id: int
    task: str
    args: list[Any]


@dataclass
class Relayed:
    """What a relay did: ids sent, ids whose send failed (with the error's class)."""

    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    untried: list[int] = field(default_factory=list)

    def add(self, other: Relayed) -> None:
        self.sent += other.sent
        self.failed.update(other.failed)
        self.untried += other.untried

    def as_dict(self) -> dict[str, int]:
        return {"sent": len(self.sent), "failed": len(self.failed), "untried": len(self.untried)}


def write(session: Session, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Job]:
    """Add a row per call in ``session``'s transaction, claimed by this process (which sends
    them after the commit); returns them with their ids."""
    now = utcnow()
    rows = [
        OutboxJob(task=task, args=list(args), created_at=now, claimed_until=now + CLAIM)
        for task, args in calls
    ]
    session.add_all(rows)
    session.flush()
    return [Job(r.id, r.task, r.args) for r in rows]


def deliver(engine: Engine, sender: JobSender, jobs: Sequence[Job]) -> Relayed:
    """Send ``jobs`` in order, then delete the rows sent and free the others for the sweep.
    The first failed send stops the run (the broker is down; the sweep tries again). An
    eager sender runs the task here: its failure is the task's, not the send's, so the row
    goes and the error is raised, as a worker would record it."""
    done = Relayed()
    try:
        for n, job in enumerate(jobs):
            try:
                sender.send(job.task, *job.args)
            except Exception as exc:
                if sender.eager:
                    done.sent.append(job.id)
                    done.untried = [j.id for j in jobs[n + 1 :]]
                    raise
                log.warning("could not send %s (outbox row %s): %r", job.task, job.id, exc)
                done.failed[job.id] = type(exc).__name__
                done.untried = [j.id for j in jobs[n + 1 :]]
                break
            done.sent.append(job.id)
    finally:
        _settle(engine, done)
    return done


def _settle(engine: Engine, done: Relayed) -> None:
    now = utcnow()
    table = _TABLE
    with engine.begin() as conn:
        if done.sent:
            conn.execute(table.delete().where(table.c.id.in_(done.sent)))
        for job_id, error in done.failed.items():
            conn.execute(
                update(table)
                .where(table.c.id == job_id)
                .values(
                    attempts=table.c.attempts + 1,
                    last_tried_at=now,
                    last_error=error[:200],
                    claimed_until=None,
                )
            )
        if done.untried:
            conn.execute(
                update(table).where(table.c.id.in_(done.untried)).values(claimed_until=None)
            )


def claim(engine: Engine, limit: int = BATCH) -> list[Job]:
    """The oldest rows no relay holds, now held by this one (one short transaction)."""
    now = utcnow()
    table = _TABLE
    with engine.begin() as conn:
        rows = conn.execute(
            select(table.c.id, table.c.task, table.c.args)
            .where(or_(table.c.claimed_until.is_(None), table.c.claimed_until < now))
            .order_by(table.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if rows:
            conn.execute(
                update(table)
                .where(table.c.id.in_([r.id for r in rows]))
                .values(claimed_until=now + CLAIM)
            )
    return [Job(r.id, r.task, list(r.args)) for r in rows]


def sweep(engine: Engine, sender: JobSender, batch: int = BATCH) -> Relayed:
    """Send every row left unsent, oldest first, until none is left or a send fails. Rows
    written while it runs are held by their own process and not taken here."""
    total = Relayed()
    while True:
        jobs = claim(engine, batch)
        if not jobs:
            break
        done = deliver(engine, sender, jobs)
        total.add(done)
        if done.failed or len(jobs) < batch:
            break
    if total.sent or total.failed:
        log.info("outbox sweep: %s", total.as_dict())
    return total


@dataclass(frozen=True)
class Backlog:
    count: int
    oldest: datetime | None

    def age_seconds(self, now: datetime | None = None) -> int:
        if self.oldest is None:
            return 0
        return max(0, int(((now or utcnow()) - self.oldest).total_seconds()))


def backlog(session: Session) -> Backlog:
    """Jobs not yet sent: how many, and when the oldest was written."""
    count, oldest = session.execute(
        select(func.count(OutboxJob.id), func.min(OutboxJob.created_at))
    ).one()
    return Backlog(int(count), oldest)
