"""Carrying out an approved destruction, item by item, in the workers.

Each item is locked, re-read and moved one state further (pending → keys_destroyed →
destroyed) in its own transaction: its eligibility is re-checked (a later hold wins), its
data keys destroyed, then every stored version deleted, and a tombstone left. A run killed
half way is finished by the next one without erasing anything twice or leaving the record
wrong; the completed record is signed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from archive_service import jobs
from archive_service.archive.models import Document, DocumentStatus, Rendition
from archive_service.archive.retention import add_years
from archive_service.audit.services import Actor, record
from archive_service.db import Database, utcnow
from archive_service.disposal import keys, rules
from archive_service.disposal.models import Destruction, DestructionItem
from archive_service.disposal.records import record_body
from archive_service.disposal.signing import Signer
from archive_service.disposal.vocabulary import DestructionStatus, ItemResult
from archive_service.errors import Conflict
from archive_service.indexing.later import remove_later
from archive_service.notifications import events
from archive_service.vault.models import StoredObject
from archive_service.vault.services import Vault

WORKER = Actor.system("destruction-worker")


@dataclass(frozen=True)
class Execution:
    """How a run goes: how long its record is kept (0: permanently, the default), and its
    pace."""

    record_years: int = 0
    pace_seconds: float = 0.0  # pause between items, to spare a shared object store


def objects_of(session: Session, doc: Document) -> list[StoredObject]:
    """Every stored object that holds this document's content: versions and renditions
    (the text, and each version's preview and thumbnail)."""
    ids = [v.stored_object_id for v in doc.versions]
    if doc.text_object_id is not None:
        ids.append(doc.text_object_id)
    made = session.execute(
        select(Rendition.stored_object_id).where(Rendition.document_id == doc.id)
    ).scalars()
    ids += [i for i in made if i is not None]
    return list(
        session.execute(select(StoredObject).where(StoredObject.id.in_(ids))).scalars().all()
    )


def erase_document(
    session: Session, vault: Vault, doc: Document, destruction_id: int, at: datetime | None = None
) -> list[str]:
    """Cryptographic erase of one document (its objects' keys go, a tombstone stays) in the
    caller's transaction; returns the object names whose stored versions must be deleted
    once it commits. Also what a restore re-applies from the destruction journal."""
    objects = objects_of(session, doc)
    for obj in objects:
        vault.destroy_key(session, obj)
    doc.status, doc.destroyed_at = DocumentStatus.DESTROYED, at or utcnow()
    doc.destruction_ref, doc.disposal_date = f"D{destruction_id}", None
    remove_later(session, [doc.id])  # leaves the search index once this commits
    return [o.object_name for o in objects]


def _lock_item(session: Session, item_id: int) -> DestructionItem:
    session.execute(
        select(DestructionItem.id).where(DestructionItem.id == item_id).with_for_update()
    )
    item = session.get(DestructionItem, item_id, populate_existing=True)
    assert item is not None
    return item


def _destroy_keys(session: Session, vault: Vault, item_id: int, destruction_id: int) -> list[str]:
    """Step one of an item, under its row lock: re-check, destroy keys, tombstone.

    Returns the object names whose stored versions must still be deleted
    (empty when the item is already finished or was skipped).
    """
    item = _lock_item(session, item_id)
    if item.result not in ItemResult.UNFINISHED:
        return []
    doc = session.get(Document, item.document_id, populate_existing=True)
    assert doc is not None
    if item.result == ItemResult.PENDING:
        skip = rules.still_due(
            doc.status == DocumentStatus.DESTROYED, doc.on_hold, doc.disposal_date, utcnow().date()
        )
        if skip is not None:
            item.result, item.done_at = skip, utcnow()
            item.detail = (
                "on hold since approval" if skip == ItemResult.SKIPPED_HOLD else "no longer due"
            )
            record(
                session,
                WORKER,
                "destruction.skip",
                "document",
                doc.id,
                destruction_id=destruction_id,
                reason=skip,
            )
            return []
        erase_document(session, vault, doc, destruction_id)
        item.result = ItemResult.KEYS_DESTROYED
        record(
            session,
            WORKER,
            "destruction.keys_destroyed",
            "document",
            doc.id,
            destruction_id=destruction_id,
            archive_number=doc.archive_number,
        )
    return [o.object_name for o in objects_of(session, doc)]


def _finish_item(session: Session, item_id: int, destruction_id: int, deleted: int) -> None:
    item = _lock_item(session, item_id)
    if item.result != ItemResult.KEYS_DESTROYED:
        return  # another run finished it meanwhile
    item.result, item.done_at = ItemResult.DESTROYED, utcnow()
    item.detail = f"keys destroyed; {deleted} stored object versions deleted"
    record(
        session,
        WORKER,
        "destruction.item",
        "document",
        item.document_id,
        destruction_id=destruction_id,
        archive_number=item.archive_number,
        sha256=item.sha256,
    )


def execute(
    db: Database, vault: Vault, signer: Signer, destruction_id: int, how: Execution | None = None
) -> Destruction:
    """Carry out an executing destruction, item by item; safe to run again after a crash."""
    how = how or Execution()
    with db.unit_of_work() as s:
        dest = s.get(Destruction, destruction_id)
        if dest is None or dest.status not in (
            DestructionStatus.EXECUTING,
            DestructionStatus.COMPLETED,
        ):
            raise Conflict("destruction is not executing")
        if dest.status == DestructionStatus.COMPLETED:
            return dest
        item_ids = [i.id for i in dest.items]
    for n, item_id in enumerate(item_ids):
        if n and how.pace_seconds:
            time.sleep(how.pace_seconds)
        with db.unit_of_work() as s:
            names = _destroy_keys(s, vault, item_id, destruction_id)
            _touch(s, destruction_id)
        if not names:
            continue
        # Keys are gone (committed): the content is unreadable. Now delete every stored
        # version of every object; deleting is idempotent, so a rerun repeats it safely.
        deleted = sum(vault.delete_object(name) for name in names)
        with db.unit_of_work() as s:
            _finish_item(s, item_id, destruction_id, deleted)
    return _complete(db, signer, destruction_id, how)


def _touch(session: Session, destruction_id: int) -> None:
    dest = session.get(Destruction, destruction_id)
    assert dest is not None
    dest.progress_at = utcnow()


def _complete(db: Database, signer: Signer, destruction_id: int, how: Execution) -> Destruction:
    with db.unit_of_work() as s:
        s.execute(select(Destruction.id).where(Destruction.id == destruction_id).with_for_update())
        dest = s.get(Destruction, destruction_id, populate_existing=True)
        assert dest is not None
        if dest.status == DestructionStatus.COMPLETED:
            return dest
        unfinished = [i for i in dest.items if i.result in ItemResult.UNFINISHED]
        if unfinished:
            raise Conflict(f"{len(unfinished)} items are not finished")
        now = utcnow()
        dest.status, dest.completed_at, dest.progress_at = DestructionStatus.COMPLETED, now, now
        dest.keep_record_until = (
            add_years(now.date(), how.record_years) if how.record_years > 0 else None
        )
        keys.ensure_known(s, WORKER, signer)  # the history can check this record forever
        dest.signing_key_id = signer.key_id
        dest.signature = signer.sign(record_body(dest))
        record(
            s,
            WORKER,
            "destruction.complete",
            "destruction",
            dest.id,
            items=len(dest.items),
            destroyed=sum(1 for i in dest.items if i.result == ItemResult.DESTROYED),
            signature_key=signer.key_id,
        )
        # The backup target's destruction journal learns of it after commit (retried by a
        # sweep if the target is down: the destruction itself stands either way).
        jobs.later(s, "journal_destruction", dest.id)
        events.destruction_ended(s, dest, completed=True)
        return dest


def fail(db: Database, destruction_id: int, reason: str) -> None:
    """Record that a run gave up (after its retries); the executor may resume it."""
    with db.unit_of_work() as s:
        dest = s.get(Destruction, destruction_id)
        if dest is None or dest.status != DestructionStatus.EXECUTING:
            return
        dest.status, dest.failure = DestructionStatus.FAILED, reason[:1000]
        record(s, WORKER, "destruction.fail", "destruction", dest.id, reason=dest.failure)
        events.destruction_ended(s, dest, completed=False)


def stalled(session: Session, older_than: timedelta) -> list[int]:
    """Executing destructions without progress for ``older_than``: their run died."""
    limit = utcnow() - older_than
    return list(
        session.execute(
            select(Destruction.id).where(
                Destruction.status == DestructionStatus.EXECUTING,
                or_(Destruction.progress_at.is_(None), Destruction.progress_at < limit),
            )
        ).scalars()
    )
