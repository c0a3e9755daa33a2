"""Background work, noted by use cases, written to the outbox with their change and sent
once their transaction has committed.

Use cases never send a job themselves: they note it on their session with
:func:`later` (one call) or :func:`later_for` (a task over ids, merged per task). Just
before the session commits, the jobs it noted become rows of the outbox in the same
transaction (``outbox.relay.write``): a rolled-back use case leaves none, a committed one
cannot lose them. Once the transaction has ended the rows are handed to the process's
sender and deleted when sent; a row whose send failed is sent by the outbox sweep. So a
worker never sees state that might still roll back. The sender is given by whoever starts
the process (``workers.sender``): Celery in production, the task bodies here and now when
eager.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from archive_service.outbox import relay
from archive_service.outbox.relay import JobSender

__all__ = ["JobSender", "install", "later", "later_for"]

log = logging.getLogger(__name__)
_PENDING = "archive_jobs"  # noted, not yet written
_WRITTEN = "archive_jobs_written"  # rows of the committing transaction
_READY = "archive_jobs_committed"  # rows of committed transactions, to send


class _Noted:
    """The jobs one transaction noted: calls in order, id lists merged per task."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.ids: dict[str, set[int]] = {}

    def jobs(self) -> list[tuple[str, tuple[Any, ...]]]:
        return [(task, (sorted(ids),)) for task, ids in self.ids.items() if ids] + self.calls


def _noted(session: Session) -> _Noted:
    noted: _Noted = session.info.setdefault(_PENDING, _Noted())
    return noted


def later(session: Session, task: str, *args: Any) -> None:
    """Note ``task(*args)`` to be sent once ``session`` commits (once, however often noted)."""
    calls = _noted(session).calls
    if (task, args) not in calls:
        calls.append((task, args))


def later_for(session: Session, task: str, ids: Iterable[int]) -> None:
    """Note ``task(ids)`` to be sent once ``session`` commits (ids of one task are merged)."""
    _noted(session).ids.setdefault(task, set()).update(ids)


def install(sessions: sessionmaker[Session], sender: Callable[[], JobSender | None]) -> None:
    """Write the jobs noted on a session of ``sessions`` to the outbox as it commits (none
    on rollback), and send them through ``sender()`` once it has committed. They go out
    when the transaction has ended and its connection is back in the pool, so a job run
    here and now (eager) never holds two connections at once, and no transaction is open
    while the broker is asked."""

    @event.listens_for(sessions, "before_commit")
    def _write(session: Session) -> None:
        noted: _Noted | None = session.info.pop(_PENDING, None)
        calls = noted.jobs() if noted is not None else []
        if calls:
            session.info.setdefault(_WRITTEN, []).extend(relay.write(session, calls))

    @event.listens_for(sessions, "after_commit")
    def _committed(session: Session) -> None:
        written = session.info.pop(_WRITTEN, None)
        if written:
            session.info.setdefault(_READY, []).extend(written)

    @event.listens_for(sessions, "after_rollback")
    def _drop(session: Session) -> None:
        session.info.pop(_PENDING, None)
        session.info.pop(_WRITTEN, None)

    @event.listens_for(sessions, "after_transaction_end")
    def _send(session: Session, transaction: Any) -> None:
        if transaction.parent is not None:
            return  # a nested transaction: the outer one decides
        ready: list[relay.Job] = session.info.pop(_READY, [])
        if not ready:
            return
        jobs = sender()
        if jobs is None:
            log.error("no job sender in this process: %d jobs wait in the outbox", len(ready))
            return
        relay.deliver(session.get_bind(), jobs, ready)  # type: ignore[arg-type]
