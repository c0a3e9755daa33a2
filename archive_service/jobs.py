"""Background work, noted by use cases and sent once their transaction has committed.

Use cases never send a job themselves: they note it on their session with
:func:`later` (one call) or :func:`later_for` (a task over ids, merged per task), and
the jobs noted on a session are handed to the process's sender once the transaction has
committed — so a worker never sees state that might still roll back, and a rolled-back
use case sends nothing. The sender is given by whoever starts the process
(``workers.sender``): Celery in production, the task bodies here and now when eager.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
_PENDING = "archive_jobs"
_READY = "archive_jobs_committed"


class JobSender(Protocol):
    """Runs ``workers.tasks.<task>(*args)`` in the background (or at once, when eager)."""

    eager: bool

    def send(self, task: str, *args: Any) -> None: ...


class _Noted:
    """The jobs one transaction noted: calls in order, id lists merged per task."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.ids: dict[str, set[int]] = {}

    def jobs(self) -> list[tuple[str, tuple[Any, ...]]]:
        return [(task, (sorted(ids),)) for task, ids in self.ids.items()] + self.calls


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
    """Send the jobs noted on a session of ``sessions`` once it has committed (drop them on
    rollback) through ``sender()``. They go out when the transaction has ended and its
    connection is back in the pool, so a job run here and now (eager) never holds two
    connections at once."""

    @event.listens_for(sessions, "after_commit")
    def _committed(session: Session) -> None:
        noted = session.info.pop(_PENDING, None)
        if noted is not None:
            session.info.setdefault(_READY, []).append(noted)

    @event.listens_for(sessions, "after_rollback")
    def _drop(session: Session) -> None:
        session.info.pop(_PENDING, None)

    @event.listens_for(sessions, "after_transaction_end")
    def _send(session: Session, transaction: Any) -> None:
        if transaction.parent is not None:
            return  # a nested transaction: the outer one decides
        ready: list[_Noted] = session.info.pop(_READY, [])
        if not ready:
            return
        jobs = sender()
        for noted in ready:
            for task, args in noted.jobs():
                if jobs is None:
                    log.error("no job sender in this process: %s was not sent", task)
                    continue
                try:
                    jobs.send(task, *args)
                except Exception:
                    if jobs.eager:
                        raise
                    # The commit stands; the scheduled repairs pick up what was not sent.
                    log.exception("could not queue %s", task)
