"""The Celery app: broker and schedule from the same settings as the web app.

Embedded default: kombu's SQLAlchemy transport on a SQLite file in the
instance folder, worker and beat started by ``archive run``. Production:
Redis, with worker, index worker and beat in their own containers. Index
writes go to the ``index`` queue, which exactly one worker consumes.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.schedules import crontab

from archive_service.config import Settings


def _transport_options(settings: Settings) -> dict[str, int]:
    """Redis: a task held by a killed worker is delivered again once its visibility timeout
    has passed, found by a scan every ``broker_restore_seconds`` (kombu's interval × throttle).
    """
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        return {}  # the embedded SQL transport hands its options to create_engine
    interval = max(1, min(10, settings.broker_restore_seconds))
    return {
        "visibility_timeout": settings.broker_visibility_timeout,
        "unacked_restore_interval": interval,
        "unacked_restore_throttle": max(1, settings.broker_restore_seconds // interval),
    }


def make_celery(settings: Settings) -> Celery:
    app = Celery("archive", include=["workers.tasks"])
    app.conf.update(
        broker_url=settings.broker_url,
        result_backend=settings.result_backend,
        task_default_queue="default",
        task_routes={"workers.tasks.index_*": {"queue": "index"}},
        task_acks_late=True,  # a killed worker's task runs again (tasks are idempotent)
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_always_eager=settings.celery_always_eager,
        task_eager_propagates=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options=_transport_options(settings),
        timezone="UTC",
        enable_utc=True,
        beat_schedule={
            "relay-outbox": {
                "task": "workers.tasks.relay_outbox",
                "schedule": float(max(1, settings.outbox_relay_seconds)),
            },
            "expire-grants": {
                "task": "workers.tasks.expire_grants",
                "schedule": 300.0,
            },
            "compile-retention-review": {
                "task": "workers.tasks.compile_retention_review",
                "schedule": crontab(hour=str(settings.review_hour), minute="0"),
            },
            "end-viewing-sessions": {
                "task": "workers.tasks.end_viewing_sessions",
                "schedule": 60.0,
            },
            "resume-stalled-destructions": {
                "task": "workers.tasks.resume_destructions",
                "schedule": 300.0,
            },
            "repair-check-reports": {
                "task": "workers.tasks.check_repair",
                "schedule": crontab(minute="41"),
            },
            "resume-ocr-continuations": {
                "task": "workers.tasks.resume_ocr",
                "schedule": 300.0,
            },
            "repair-search-index": {
                "task": "workers.tasks.index_repair",
                "schedule": crontab(minute="17"),
            },
            "repair-previews": {
                "task": "workers.tasks.previews_repair",
                "schedule": crontab(minute="41"),
            },
            "write-audit-checkpoint": {
                "task": "workers.tasks.write_audit_checkpoint",
                "schedule": 60.0 * max(1, settings.audit_checkpoint_minutes),
            },
            "purge-destruction-records": {  # does nothing unless a record keep is set
                "task": "workers.tasks.purge_destruction_records",
                "schedule": crontab(hour="3", minute="10"),
            },
            "fixity-sweep": {
                "task": "workers.tasks.fixity_sweep",
                "schedule": 60.0 * max(1, settings.fixity_slice_minutes),
            },
            "clean-orphans": {
                "task": "workers.tasks.clean_orphans",
                "schedule": crontab(minute="53"),
            },
            "verify-audit-chain": {
                "task": "workers.tasks.verify_audit_chain",
                "schedule": crontab(hour="2", minute="30"),
            },
            "retry-notifications": {
                "task": "workers.tasks.retry_notifications",
                "schedule": 60.0,
            },
            "send-notification-digests": {
                "task": "workers.tasks.send_digests",
                "schedule": crontab(hour=str(settings.notify_digest_hour), minute="5"),
            },
            # Before the digest, so those who chose it find the notices in it.
            "paper-overdue": {
                "task": "workers.tasks.paper_overdue",
                "schedule": crontab(hour=str(settings.notify_digest_hour), minute="0"),
            },
            "remind-approvals": {
                "task": "workers.tasks.remind_approvals",
                "schedule": crontab(minute="23"),
            },
            "recurring-reviews": {
                "task": "workers.tasks.recurring_reviews",
                "schedule": crontab(hour="1", minute="35"),
            },
            **_backup_schedule(settings),
            **_directory_schedule(settings),
        },
    )
    return app


def _backup_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Backups on ARCHIVE_BACKUP_SCHEDULE and the journal sweep, when a target is set."""
    from archive_service.backup.retention import interval_seconds

    if not settings.backup_to:
        return {}
    out: dict[str, dict[str, Any]] = {
        "backup-journal-sweep": {"task": "workers.tasks.journal_sweep", "schedule": 300.0}
    }
    every = interval_seconds(settings.backup_schedule)
    if every is not None:
        out["backup"] = {"task": "workers.tasks.backup", "schedule": every}
    return out


def _directory_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """The leaver sync every ARCHIVE_LDAP_SYNC_MINUTES, when a directory is configured."""
    if not settings.ldap_url or settings.ldap_sync_minutes <= 0:
        return {}
    every = 60.0 * settings.ldap_sync_minutes
    return {"directory-sync": {"task": "workers.tasks.directory_sync", "schedule": every}}


PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.25, "interval_max": 0.5}


class CelerySender:
    """Sends tasks by name to the broker (the routes put index writes on their queue); the
    client is made on first use."""

    eager = False

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client: Celery | None = None

    def send(self, task: str, *args: Any) -> None:
        if self._client is None:
            self._client = make_celery(self._settings)
        name = f"workers.tasks.{task}"
        # A short retry: a job that cannot go now waits in the outbox for the next sweep.
        self._client.send_task(
            name, args=list(args), retry_policy=PUBLISH_RETRY, ignore_result=True
        )
        log.info("queued %s", name)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


log = logging.getLogger(__name__)
celery = make_celery(Settings.from_env())
