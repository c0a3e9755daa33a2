"""Celery tasks: thin wrappers that call services inside a unit of work."""

from __future__ import annotations

from typing import Any

from archive_service.audit import services as audit
from archive_service.audit.services import Actor
from workers.celery_app import celery
from workers.context import runtime


@celery.task(name="workers.tasks.ping")
def ping() -> str:
    """Round trip through the broker (used by ``archive run`` and the tests)."""
    return "pong"


@celery.task(name="workers.tasks.verify_audit_chain")
def verify_audit_chain() -> dict[str, Any]:
    """Daily: check the audit chain and record the result in the chain itself."""
    with runtime().db.unit_of_work() as session:
        result = audit.verify(session)
        audit.record(session, Actor.system("scheduler"), "audit.verify", **result.as_dict())
    return result.as_dict()


@celery.task(name="workers.tasks.rewrap_keys", acks_late=True)
def rewrap_keys() -> int:
    """Key rotation: re-wrap every data key under the active master key (resumable)."""
    from archive_service.vault.services import rewrap_all

    rt = runtime()
    return rewrap_all(rt.db, rt.vault)


@celery.task(name="workers.tasks.expire_grants")
def expire_grants() -> int:
    """Mark grants whose window has ended (they already stop working at use)."""
    from archive_service.access.services import expire_grants as expire

    with runtime().db.unit_of_work() as session:
        return expire(session)
