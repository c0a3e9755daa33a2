"""Celery tasks: thin wrappers that call services inside a unit of work."""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready

from archive_service.audit import services as audit
from archive_service.audit.services import Actor
from search import IndexBusy, PublishFailed
from workers.celery_app import celery
from workers.context import runtime

log = logging.getLogger(__name__)


@celery.task(name="workers.tasks.ping")
def ping() -> str:
    """Round trip through the broker (used by ``archive run`` and the tests)."""
    return "pong"


@celery.task(name="workers.tasks.verify_audit_chain")
def verify_audit_chain() -> dict[str, Any]:
    """Daily: check the audit chain against its checkpoints; record the result in it."""
    rt = runtime()
    with rt.db.unit_of_work() as session:
        result = audit.verify_and_record(session, Actor.system("scheduler"), rt.anchor)
    if not result.ok:
        log.error("audit trail verification failed: %s", result.as_dict())
    return result.as_dict()


@celery.task(name="workers.tasks.write_audit_checkpoint")
def write_audit_checkpoint() -> dict[str, Any]:
    """Every few minutes: pin the chain's newest event outside the database."""
    from archive_service.audit.anchoring import write_checkpoint

    rt = runtime()
    return write_checkpoint(rt.db, rt.anchor, Actor.system("scheduler")).as_dict()


@celery.task(name="workers.tasks.rewrap_keys", acks_late=True)
def rewrap_keys() -> int:
    """Key rotation: re-wrap every data key under the active master key (resumable)."""
    from archive_service.vault.services import rewrap_all

    rt = runtime()
    return rewrap_all(rt.db, rt.vault)


@celery.task(name="workers.tasks.directory_sync")
def directory_sync() -> dict[str, Any]:
    """Every few minutes: people disabled or removed in the directory are closed, roles
    follow the mapped groups; a directory that cannot be read changes nothing."""
    from archive_service.directory.services import sync

    rt = runtime()
    if rt.accounts.directory is None:
        return {"error": "no directory configured"}
    return sync(rt.db, rt.accounts.directory, rt.settings.ldap_sync_max_close).as_dict()


@celery.task(name="workers.tasks.expire_grants")
def expire_grants() -> int:
    """Mark grants whose window has ended (they already stop working at use)."""
    from archive_service.access.grants import expire_grants as expire

    with runtime().db.unit_of_work() as session:
        return expire(session)


@celery.task(name="workers.tasks.compile_retention_review")
def compile_retention_review() -> int | None:
    """Daily: list the documents whose disposal date has come (none twice in open work)."""
    from archive_service.disposal.reviews import compile_if_due
    from archive_service.policy import Caller

    with runtime().db.unit_of_work() as session:
        review = compile_if_due(session, Caller.cli(), runtime().archive.retention)
        return review.id if review else None


@celery.task(name="workers.tasks.execute_destruction", bind=True, acks_late=True, max_retries=5)
def execute_destruction(self: Any, destruction_id: int) -> str:
    """Carry out an approved destruction; a rerun after a crash finishes it correctly."""
    from archive_service.disposal import execution
    from storage.errors import StoreUnavailable

    rt = runtime()
    how = execution.Execution(
        record_years=rt.settings.destruction_record_years,
        pace_seconds=rt.settings.destruction_pace_ms / 1000,
    )
    try:
        return execution.execute(rt.db, rt.vault, rt.signer, destruction_id, how).status
    except StoreUnavailable as exc:
        if self.request.retries >= self.max_retries:
            execution.fail(rt.db, destruction_id, f"object store unavailable: {exc}")
            raise
        raise self.retry(exc=exc, countdown=min(600, 30 * 2**self.request.retries)) from exc


@celery.task(name="workers.tasks.resume_destructions")
def resume_destructions() -> list[int]:
    """Every few minutes: runs that stopped making progress (their worker died) start again."""
    from datetime import timedelta

    from archive_service.disposal.execution import stalled

    rt = runtime()
    with rt.db.unit_of_work() as session:
        ids = stalled(session, timedelta(minutes=rt.settings.destruction_stall_minutes))
    for destruction_id in ids:
        rt.send("execute_destruction", destruction_id)
    return ids


@celery.task(name="workers.tasks.purge_destruction_records")
def purge_destruction_records() -> list[int]:
    """Daily, only when ARCHIVE_DESTRUCTION_RECORD_YEARS is set: remove destruction records
    past their keep date (by default they are kept permanently and have none)."""
    from datetime import UTC, datetime

    from archive_service.disposal.retention import purge_expired_records

    rt = runtime()
    if rt.settings.destruction_record_years <= 0:
        return []
    with rt.db.unit_of_work() as session:
        return purge_expired_records(session, datetime.now(UTC).date())


# --- the import page (archive_service/archive/import_jobs.py): its check and its run ---


@celery.task(name="workers.tasks.check_import", acks_late=True)
def check_import(job_id: str) -> str:
    """The dry run of an import staged on the web page; its progress goes to the job."""
    from archive_service.archive import import_jobs

    return import_jobs.check(import_jobs.Jobs.of(runtime()), job_id)


@celery.task(name="workers.tasks.run_import", acks_late=True)
def run_import(job_id: str) -> str:
    """The import an archivist started on the web page; delivered again after a crash,
    it continues the batch (a second delivery while it runs leaves it to the first)."""
    from archive_service.archive import import_jobs

    return import_jobs.run(import_jobs.Jobs.of(runtime()), job_id)


# --- search: extraction on the default queue; index writes on the single-consumer queue ---


@celery.task(name="workers.tasks.extract_text", acks_late=True)
def extract_text(document_ids: list[int]) -> dict[int, str]:
    """Text renditions of these documents' current versions; each then queues its indexing."""
    from archive_service.indexing.renditions import extract_text as extract

    rt = runtime()
    return {doc_id: extract(rt.indexing, doc_id) for doc_id in document_ids}


@celery.task(name="workers.tasks.ocr_continue", acks_late=True)
def ocr_continue(document_id: int) -> str:
    """OCR of a long scan's next batch of pages past the page limit; queues the one after."""
    from archive_service.indexing.continuation import continue_ocr

    return continue_ocr(runtime().indexing, document_id)


@celery.task(name="workers.tasks.resume_ocr")
def resume_ocr() -> list[int]:
    """Every few minutes: failed OCR batches whose retry time has come and stalled ones."""
    from archive_service.indexing.continuation import resume

    return resume(runtime().indexing)


@celery.task(
    name="workers.tasks.index_documents",
    acks_late=True,
    autoretry_for=(IndexBusy, PublishFailed),
    retry_backoff=5,
    max_retries=20,
)
def index_documents(document_ids: list[int]) -> int:
    from archive_service.indexing import maintenance

    return maintenance.index_documents(runtime().indexing, document_ids)


@celery.task(
    name="workers.tasks.index_remove",
    acks_late=True,
    autoretry_for=(IndexBusy, PublishFailed),
    retry_backoff=5,
    max_retries=20,
)
def index_remove(document_ids: list[int]) -> int:
    from archive_service.indexing import maintenance

    return maintenance.remove(runtime().indexing, document_ids)


@celery.task(name="workers.tasks.index_repair")
def index_repair() -> dict[str, Any]:
    """Hourly: make the index agree with the database (a lost message heals here)."""
    from archive_service.indexing import maintenance

    return maintenance.repair(runtime().indexing)


@celery.task(name="workers.tasks.end_viewing_sessions")
def end_viewing_sessions() -> int:
    """Every minute: record supervised sessions that ran out, wipe their decrypted files."""
    from archive_service.viewing.sessions import end_overdue

    rt = runtime()
    return end_overdue(rt.db, rt.viewing)


# --- previews: a version's preview PDF and thumbnail, made once ---


@celery.task(name="workers.tasks.make_previews", acks_late=True)
def make_previews(document_ids: list[int]) -> dict[int, str]:
    """Preview and thumbnail of these documents' current versions (a failure is recorded)."""
    from archive_service.viewing.previews import make_previews as make

    rt = runtime()
    return {doc_id: make(rt.db, rt.viewing, doc_id) for doc_id in document_ids}


@celery.task(name="workers.tasks.previews_repair")
def previews_repair() -> list[int]:
    """Hourly: queue the documents whose preview is missing or may now be made."""
    from archive_service.viewing.previews import repair

    return repair(runtime().db)


# --- intake checks (四性检测) ---


@celery.task(name="workers.tasks.check_documents", acks_late=True)
def check_documents(document_ids: list[int]) -> dict[int, str]:
    """The submission checks of these documents' current versions (a report each)."""
    from archive_service.checks.services import check_submitted

    rt = runtime()
    return {doc_id: check_submitted(rt.checking, doc_id) for doc_id in document_ids}


@celery.task(name="workers.tasks.check_repair")
def check_repair() -> list[int]:
    """Hourly: versions without a submission report (older than the checks, or a lost
    message) are checked, so acceptance finds one ready."""
    from archive_service.checks.services import repair

    return repair(runtime().checking)


# --- fixity (固定性检查) and orphans ---


@celery.task(name="workers.tasks.fixity_sweep")
def fixity_sweep() -> dict[str, Any]:
    """A slice of the fixity sweep from its cursor, paced to finish the round in its
    period; failures are recorded and repaired from the backup where it holds a copy."""
    from archive_service.fixity.rules import Plan
    from archive_service.fixity.services import Sweeper
    from archive_service.fixity.sources import good_copies

    rt = runtime()
    sweeper = Sweeper(rt.db, rt.vault, Plan.from_settings(rt.settings), good_copies(rt.settings))
    return sweeper.run_slice().as_dict()


@celery.task(name="workers.tasks.clean_orphans")
def clean_orphans() -> dict[str, int]:
    """Hourly: objects without a row past the grace period go; rows without an object are
    flagged as fixity failures."""
    from datetime import timedelta

    from archive_service.fixity.orphans import clean_orphans as clean

    rt = runtime()
    grace = timedelta(hours=max(1, rt.settings.orphan_grace_hours))
    return clean(rt.db, rt.vault, grace).as_dict()


# --- backups (archive_service/backup/) ---


@celery.task(name="workers.tasks.journal_destruction")
def journal_destruction(destruction_id: int) -> bool:
    """After a destruction completes: its entry in the backup target's journal (a failure
    is kept on the destruction; the sweep retries)."""
    from archive_service.backup.journal import journal_destruction as write
    from archive_service.backup.target import open_target

    rt = runtime()
    try:
        target = open_target(rt.settings)
    except Exception:  # noqa: BLE001 - a misnamed target: the sweep reports it
        log.exception("backup target unusable")
        return False
    return write(rt.db, rt.signer, target, rt.settings, destruction_id)


@celery.task(name="workers.tasks.journal_sweep")
def journal_sweep() -> list[int]:
    """Every few minutes: journal entries a failed write still owes."""
    from archive_service.backup.journal import sweep

    return sweep(runtime())


@celery.task(name="workers.tasks.backup", acks_late=True)
def backup() -> dict[str, Any] | None:
    """On ARCHIVE_BACKUP_SCHEDULE: a backup to ARCHIVE_BACKUP_TO, then old ones pruned."""
    from archive_service.backup.services import backup_now

    result = backup_now(runtime())
    return result.as_dict() if result else None


# --- the job outbox: jobs whose send failed (broker down) or never happened (a crash) ---


@celery.task(name="workers.tasks.relay_outbox")
def relay_outbox() -> dict[str, int]:
    """Every half minute (``ARCHIVE_OUTBOX_RELAY_SECONDS``) and at each worker's start:
    send the outbox's unsent jobs to the broker, oldest first."""
    from archive_service.outbox.relay import sweep

    rt = runtime()
    assert rt.jobs is not None  # noqa: S101 - the worker's runtime has its sender
    return sweep(rt.db.engine, rt.jobs).as_dict()


@worker_ready.connect
def _relay_at_start(**_kwargs: Any) -> None:
    """A worker that starts (after an outage, a crash) has the outbox swept at once."""
    celery.send_task("workers.tasks.relay_outbox")


# --- notifications (archive_service/notifications/): deliveries, digests, reminders ---


def _notifying() -> tuple[Any, Any, Any]:
    from archive_service.notifications.channels import Channels
    from archive_service.notifications.delivery import Retry

    rt = runtime()
    retry = Retry(rt.settings.notify_max_attempts, rt.settings.notify_retry_seconds)
    return rt, Channels.from_settings(rt.settings), retry


@celery.task(name="workers.tasks.deliver_notifications", acks_late=True)
def deliver_notifications(delivery_ids: list[int]) -> dict[str, int]:
    """After the commit of the action that noted them: send these deliveries. A failure is
    tried again by ``retry_notifications`` (its wait growing), failed after the last try."""
    from archive_service.notifications.delivery import deliver

    rt, channels, retry = _notifying()
    return deliver(rt.db, channels, delivery_ids, retry)


@celery.task(name="workers.tasks.retry_notifications")
def retry_notifications() -> dict[str, int]:
    """Every minute: deliveries whose next try has come."""
    from archive_service.notifications.delivery import retry_due

    rt, channels, retry = _notifying()
    return retry_due(rt.db, channels, retry)


@celery.task(name="workers.tasks.send_digests")
def send_digests() -> int:
    """Daily at ARCHIVE_NOTIFY_DIGEST_HOUR: one message per person and channel who chose it."""
    from archive_service.notifications.delivery import send_digests as send

    rt, channels, retry = _notifying()
    return send(rt.db, channels, retry)


@celery.task(name="workers.tasks.remind_approvals")
def remind_approvals() -> dict[str, int]:
    """Hourly: remind approvers of steps left waiting, then tell the next person up; and tell
    holders whose grant ends within three days (each notice once)."""
    from archive_service.notifications.reminders import Plan, grants_ending, remind_waiting

    rt = runtime()
    done = remind_waiting(rt.db, Plan.from_settings(rt.settings))
    done["grants_ending"] = grants_ending(rt.db)
    return done


@celery.task(name="workers.tasks.recurring_reviews")
def recurring_reviews() -> dict[str, int]:
    """Daily: open the recurring reviews (定期检查) whose period has ended, chase late ones."""
    from archive_service.duties.services import run_daily
    from archive_service.workdays import Calendar

    rt = runtime()
    return run_daily(rt.db, Calendar.load(rt.settings.holidays_file or None))


@celery.task(name="workers.tasks.paper_overdue")
def paper_overdue() -> int:
    """Daily: tell the borrower and the archivists of each overdue paper loan (once a day)."""
    from archive_service.paper.lending import notify_overdue

    return notify_overdue(runtime().db)
