"""Background work, sent by name: the one place the service hands jobs to Celery.

Use cases never send a job themselves: they note it on their session with
:func:`after_commit`, and the runtime sends the noted jobs once the
transaction has committed, so a worker never sees state that might still roll
back, and a rolled-back use case sends nothing. With ``celery_always_eager``
(tests, the browser tests' server) the same Celery task runs here and now,
against this process's runtime instead of one built from the environment.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from archive_service.runtime import Runtime

log = logging.getLogger(__name__)
_PENDING = "archive_jobs"
_READY = "archive_jobs_committed"


def enqueue(rt: Runtime, task: str, *args: Any) -> None:
    """Run ``workers.tasks.<task>(*args)`` in the background (or now, when eager)."""
    name = f"workers.tasks.{task}"
    if rt.settings.celery_always_eager:
        import workers.tasks  # noqa: F401 - registers the tasks on the app
        from workers.celery_app import celery
        from workers.context import use_runtime

        use_runtime(rt)
        # Called directly: the same task body, in this process, with no broker or result store.
        celery.tasks[name](*args)
        return
    rt.celery.send_task(name, args=list(args))
    log.info("queued %s for %s", name, args)


def after_commit(session: Session, task: str, ids: list[int] | set[int]) -> None:
    """Note ``task(ids)`` to be sent once ``session`` commits (ids of one task are merged)."""
    pending: dict[str, set[int]] = session.info.setdefault(_PENDING, {})
    pending.setdefault(task, set()).update(ids)


def install(rt: Runtime, sessions: sessionmaker[Session]) -> None:
    """Send the jobs noted on a session of ``sessions`` once it has committed (drop them on
    rollback). They go out when the transaction has ended and its connection is back in the
    pool, so a job run here and now (eager) never holds two connections at once."""

    @event.listens_for(sessions, "after_commit")
    def _committed(session: Session) -> None:
        pending = session.info.pop(_PENDING, None)
        if pending:
            session.info.setdefault(_READY, []).append(pending)

    @event.listens_for(sessions, "after_rollback")
    def _drop(session: Session) -> None:
        session.info.pop(_PENDING, None)

    @event.listens_for(sessions, "after_transaction_end")
    def _send(session: Session, transaction: Any) -> None:
        if transaction.parent is not None:
            return  # a nested transaction: the outer one decides
        for pending in session.info.pop(_READY, []):
            for task, ids in pending.items():
                try:
                    enqueue(rt, task, sorted(ids))
                except Exception:
                    if rt.settings.celery_always_eager:
                        raise
                    # The commit stands; the hourly index check repairs what was not sent.
                    log.exception("could not queue %s for %d documents", task, len(ids))
