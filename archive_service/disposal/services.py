"""Review and destruction use cases (清理与销毁).

compile (清单编制) → confirm (operations head, 审核确认) → appraise each item
(archivist, 价值评估) → destruction application (销毁申请表) → operations head,
then a leader → execution by a named executor with a named supervisor (监销人)
in a Celery task that re-checks each item, destroys its keys, deletes its
objects, leaves a tombstone, and signs the record (销毁记录).

Execution is idempotent and safe to run twice at once: each item is locked,
re-read and moved one state further (pending → keys_destroyed → destroyed) in
its own transaction, so a run killed half way is finished by the next run
without erasing anything twice or leaving the record wrong.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from archive_service.accounts.services import user_by_username
from archive_service.approvals import open_next, pending_step
from archive_service.archive import services as archive
from archive_service.archive.models import Document, DocumentStatus
from archive_service.archive.retention import add_years
from archive_service.audit.services import Actor, record
from archive_service.db import utcnow
from archive_service.disposal.models import (
    Destruction,
    DestructionItem,
    DestructionStep,
    RetentionReview,
    ReviewItem,
)
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.indexing.services import remove_later
from archive_service.policy import Caller, may, require
from archive_service.vault.models import StoredObject

if TYPE_CHECKING:
    from archive_service.runtime import Runtime

log = logging.getLogger(__name__)

APPROVAL_CHAIN = ("operations_head", "leader")
IN_FLIGHT = ("pending", "approved", "executing", "failed")
METHOD = "cryptographic erase: data keys destroyed, every stored object version deleted"


# --- review -----------------------------------------------------------------------------


def _documents_in_open_work() -> Any:
    """Documents already on an open review or in a destruction not yet finished."""
    on_review = (
        select(ReviewItem.document_id)
        .join(RetentionReview, RetentionReview.id == ReviewItem.review_id)
        .where(RetentionReview.status != "closed")
    )
    in_destruction = (
        select(DestructionItem.document_id)
        .join(Destruction, Destruction.id == DestructionItem.destruction_id)
        .where(Destruction.status.in_(IN_FLIGHT))
    )
    return on_review.union(in_destruction)


def compile_review(
    session: Session, by: Caller, today: date | None = None, keep_empty: bool = True
) -> RetentionReview | None:
    """List accepted documents due for disposal and not on hold, none twice in open work.

    Permanent documents have no disposal date and never appear. An empty list
    is kept only when someone asked for it (it is closed at once).
    """
    require(by, "review.compile")
    today = today or utcnow().date()
    due = (
        session.execute(
            select(Document)
            .where(
                Document.status == DocumentStatus.ACCEPTED,
                Document.on_hold.is_(False),
                Document.disposal_date.is_not(None),
                Document.disposal_date <= today,
                Document.id.not_in(_documents_in_open_work()),
            )
            .order_by(Document.disposal_date, Document.id)
        )
        .scalars()
        .all()
    )
    if not due and not keep_empty:
        return None
    review = RetentionReview(compiled_by=by.actor.username or "system", as_of=today)
    if not due:
        review.status, review.closed_at = "closed", utcnow()
    session.add(review)
    session.flush()
    session.add_all(
        [
            ReviewItem(
                review_id=review.id,
                document_id=d.id,
                archive_number=d.archive_number,
                disposal_date=d.disposal_date,
            )
            for d in due
        ]
    )
    session.flush()
    session.refresh(review)
    record(
        session,
        by.actor,
        "review.compile",
        "review",
        review.id,
        items=len(due),
        as_of=today.isoformat(),
        numbers=[d.archive_number for d in due],
    )
    return review


def get_review(session: Session, by: Caller, review_id: int) -> RetentionReview:
    return _one(session, by, "review.read", RetentionReview, review_id)  # type: ignore[no-any-return]


def list_reviews(
    session: Session, by: Caller, status: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[RetentionReview], int]:
    return _listed(session, by, "review.read", RetentionReview, status, page, per_page)


def confirm(session: Session, by: Caller, review_id: int) -> RetentionReview:
    """The operations head confirms the list's scope (审核确认)."""
    review = get_review(session, by, review_id)
    require(by, "review.confirm", review)
    if review.status != "compiled":
        raise Conflict(f"review is {review.status}, not compiled")
    review.status, review.confirmed_at = "confirmed", utcnow()
    review.confirmed_by_id = by.user.id if by.user else None
    record(session, by.actor, "review.confirm", "review", review.id, items=len(review.items))
    return review


def appraise(
    session: Session,
    by: Caller,
    review_id: int,
    document_id: int,
    decision: str,
    retain_until: date | None,
    reason: str | None,
    settings: archive.ArchiveSettings,
) -> ReviewItem:
    """Destroy, or keep until a later date with a reason (which moves the disposal date)."""
    review = get_review(session, by, review_id)
    require(by, "review.appraise", review)
    if review.status != "confirmed":
        raise Conflict(
            "the operations head confirms the list before appraisal"
            if review.status == "compiled"
            else f"review is {review.status}"
        )
    item = next((i for i in review.items if i.document_id == document_id), None)
    if item is None:
        raise NotFound("the document is not on this list")
    if decision not in ("destroy", "retain"):
        raise InvalidInput("decision must be destroy or retain", field="decision")
    reason = (reason or "").strip()[:1000] or None
    doc = item.document
    if decision == "retain":
        if retain_until is None or retain_until <= utcnow().date():
            raise InvalidInput("retain_until must be a future date", field="retain_until")
        if not reason:
            raise InvalidInput("a reason is required to keep it longer", field="reason")
    if item.appraisal == "retain" and decision == "destroy":
        raise Conflict("this item was already appraised to be kept longer")
    if decision == "retain":
        doc.retain_until = retain_until
        archive.recompute_disposal(session, by, doc, f"appraisal in review {review.id}", settings)
    item.appraisal, item.retain_until, item.reason = decision, retain_until, reason
    item.appraised_by_id, item.appraised_at = (by.user.id if by.user else None), utcnow()
    record(
        session,
        by.actor,
        "review.appraise",
        "document",
        document_id,
        review_id=review.id,
        decision=decision,
        retain_until=retain_until.isoformat() if retain_until else None,
        reason=reason,
    )
    if all(i.appraisal == "retain" for i in review.items):
        # Nothing to destroy: the list is finished, its documents free for later reviews.
        review.status, review.closed_at = "closed", utcnow()
        record(session, by.actor, "review.close", "review", review.id, outcome="all retained")
    return item


# --- destruction application and approval ------------------------------------------------


def apply_for_destruction(session: Session, by: Caller, review_id: int) -> Destruction:
    """The destruction application (销毁申请表): the items appraised ``destroy``."""
    review = get_review(session, by, review_id)
    require(by, "destruction.apply", review)
    if review.status != "confirmed":
        raise Conflict(f"review is {review.status}, not confirmed")
    if any(i.appraisal is None for i in review.items):
        raise Conflict("appraise every item first")
    chosen = [i for i in review.items if i.appraisal == "destroy"]
    if not chosen:
        raise Conflict("no item is appraised for destruction")
    dest = Destruction(review_id=review.id, applicant_id=by.user.id if by.user else None)
    session.add(dest)
    session.flush()
    for item in chosen:
        doc = item.document
        version = doc.current_version
        assert version is not None
        session.add(
            DestructionItem(
                destruction_id=dest.id,
                document_id=doc.id,
                archive_number=doc.archive_number,
                title=doc.title,
                category=doc.category.code,
                customer=doc.customer.name,
                sha256=version.sha256,
                size=sum(v.size for v in doc.versions),
            )
        )
    for i, role in enumerate(APPROVAL_CHAIN):
        session.add(
            DestructionStep(
                destruction_id=dest.id,
                position=i,
                role=role,
                status="pending" if i == 0 else "waiting",
            )
        )
    review.status, review.closed_at = "closed", utcnow()
    session.flush()
    session.refresh(dest)
    record(
        session,
        by.actor,
        "destruction.apply",
        "destruction",
        dest.id,
        review_id=review.id,
        count=len(chosen),
        numbers=[i.archive_number for i in chosen],
    )
    return dest


def get_destruction(session: Session, by: Caller, destruction_id: int) -> Destruction:
    return _one(session, by, "destruction.read", Destruction, destruction_id)  # type: ignore[no-any-return]


def list_destructions(
    session: Session, by: Caller, status: str | None = None, page: int = 1, per_page: int = 50
) -> tuple[list[Destruction], int]:
    return _listed(session, by, "destruction.read", Destruction, status, page, per_page)


def current_step(dest: Destruction) -> DestructionStep | None:
    return pending_step(dest.steps)


def decide(
    session: Session, by: Caller, destruction_id: int, decision: str, comment: str | None
) -> Destruction:
    """The operations head, then a leader; nobody decides their own application."""
    session.execute(
        select(Destruction.id).where(Destruction.id == destruction_id).with_for_update()
    )
    dest = get_destruction(session, by, destruction_id)
    step = current_step(dest)
    if dest.status != "pending" or step is None:
        raise Conflict(f"destruction is {dest.status}; nothing waits for a decision")
    require(by, "destruction.decide", (dest, step))
    if decision not in ("approve", "reject"):
        raise InvalidInput("decision must be approve or reject", field="decision")
    comment = (comment or "").strip()[:1000] or None
    if decision == "reject" and not comment:
        raise InvalidInput("a rejection gives its reason", field="comment")
    step.settle(decision == "approve", by.user, utcnow(), comment)
    record(
        session,
        by.actor,
        f"destruction.{decision}",
        "destruction",
        dest.id,
        step=step.role,
        comment=comment,
    )
    if decision == "reject":
        dest.status = "rejected"
        return dest
    if open_next(dest.steps):
        dest.status = "approved"
    return dest


def start(
    session: Session, by: Caller, destruction_id: int, supervisor: str, place: str
) -> Destruction:
    """The executor names the supervisor (监销人) and the place; the worker does the rest.

    A failed run is resumed the same way, by the same executor and supervisor.
    """
    session.execute(
        select(Destruction.id).where(Destruction.id == destruction_id).with_for_update()
    )
    dest = get_destruction(session, by, destruction_id)
    require(by, "destruction.execute", dest)
    if dest.status not in ("approved", "failed"):
        raise Conflict(f"destruction is {dest.status}, not approved")
    sup = user_by_username(session, (supervisor or "").strip())
    if sup is None or "supervisor" not in sup.roles or not sup.is_active_account:
        raise InvalidInput(
            "the supervisor must be an active user with the supervisor role", field="supervisor"
        )
    if by.user is not None and sup.id == by.user.id:
        raise InvalidInput("the supervisor cannot be the executor", field="supervisor")
    place = (place or "").strip()[:300]
    if not place:
        raise InvalidInput("place is required", field="place")
    resumed = dest.status == "failed"
    if resumed and sup.id != dest.supervisor_id:
        raise InvalidInput(
            "a failed run is resumed with the supervisor who witnessed it", field="supervisor"
        )
    if not resumed:
        dest.executor_id = by.user.id if by.user else None
        dest.supervisor_id, dest.place = sup.id, place
        dest.started_at = utcnow()
    dest.status, dest.progress_at, dest.failure = "executing", utcnow(), None
    record(
        session,
        by.actor,
        "destruction.resume" if resumed else "destruction.start",
        "destruction",
        dest.id,
        supervisor=sup.username,
        place=dest.place,
    )
    return dest


# --- execution ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Execution:
    """How a run goes: how long its record is kept, and its pace."""

    record_years: int = 30
    pace_seconds: float = 0.0  # pause between items, to spare a shared object store


def _still_due(doc: Document, today: date) -> str | None:
    if doc.status == DocumentStatus.DESTROYED:
        return None
    if doc.on_hold:
        return "skipped_hold"
    if doc.disposal_date is None or doc.disposal_date > today:
        return "skipped_not_due"
    return None


def _objects_of(session: Session, doc: Document) -> list[StoredObject]:
    """Every stored object that holds this document's content: versions and renditions."""
    ids = [v.stored_object_id for v in doc.versions]
    if doc.text_object_id is not None:
        ids.append(doc.text_object_id)
    return list(
        session.execute(select(StoredObject).where(StoredObject.id.in_(ids))).scalars().all()
    )


def _destroy_keys(session: Session, rt: Runtime, item_id: int, destruction_id: int) -> list[str]:
    """Step one of an item, under its row lock: re-check, destroy keys, tombstone.

    Returns the object names whose stored versions must still be deleted
    (empty when the item is already finished or was skipped).
    """
    session.execute(
        select(DestructionItem.id).where(DestructionItem.id == item_id).with_for_update()
    )
    item = session.get(DestructionItem, item_id, populate_existing=True)
    assert item is not None
    if item.result not in ("pending", "keys_destroyed"):
        return []
    doc = session.get(Document, item.document_id, populate_existing=True)
    assert doc is not None
    actor = Actor.system("destruction-worker")
    if item.result == "pending":
        skip = _still_due(doc, utcnow().date())
        if skip is not None:
            item.result, item.done_at = skip, utcnow()
            item.detail = "on hold since approval" if skip == "skipped_hold" else "no longer due"
            record(
                session,
                actor,
                "destruction.skip",
                "document",
                doc.id,
                destruction_id=destruction_id,
                reason=skip,
            )
            return []
        for obj in _objects_of(session, doc):
            rt.vault.destroy_key(session, obj)
        doc.status, doc.destroyed_at = DocumentStatus.DESTROYED, utcnow()
        doc.destruction_ref, doc.disposal_date = f"D{destruction_id}", None
        remove_later(session, [doc.id])  # leaves the search index once this commits
        item.result = "keys_destroyed"
        record(
            session,
            actor,
            "destruction.keys_destroyed",
            "document",
            doc.id,
            destruction_id=destruction_id,
            archive_number=doc.archive_number,
        )
    return [o.object_name for o in _objects_of(session, doc)]


def _finish_item(session: Session, item_id: int, destruction_id: int, deleted: int) -> None:
    session.execute(
        select(DestructionItem.id).where(DestructionItem.id == item_id).with_for_update()
    )
    item = session.get(DestructionItem, item_id, populate_existing=True)
    assert item is not None
    if item.result != "keys_destroyed":
        return  # another run finished it meanwhile
    item.result, item.done_at = "destroyed", utcnow()
    item.detail = f"keys destroyed; {deleted} stored object versions deleted"
    record(
        session,
        Actor.system("destruction-worker"),
        "destruction.item",
        "document",
        item.document_id,
        destruction_id=destruction_id,
        archive_number=item.archive_number,
        sha256=item.sha256,
    )


def execute(rt: Runtime, destruction_id: int, how: Execution | None = None) -> Destruction:
    """Carry out an executing destruction, item by item; safe to run again after a crash."""
    how = how or Execution()
    with rt.db.unit_of_work() as s:
        dest = s.get(Destruction, destruction_id)
        if dest is None or dest.status not in ("executing", "completed"):
            raise Conflict("destruction is not executing")
        if dest.status == "completed":
            return dest
        item_ids = [i.id for i in dest.items]
    for n, item_id in enumerate(item_ids):
        if n and how.pace_seconds:
            time.sleep(how.pace_seconds)
        with rt.db.unit_of_work() as s:
            names = _destroy_keys(s, rt, item_id, destruction_id)
            _touch(s, destruction_id)
        if not names:
            continue
        # Keys are gone (committed): the content is unreadable. Now delete every stored
        # version of every object; deleting is idempotent, so a rerun repeats it safely.
        deleted = sum(rt.vault.delete_object(name) for name in names)
        with rt.db.unit_of_work() as s:
            _finish_item(s, item_id, destruction_id, deleted)
    return _complete(rt, destruction_id, how)


def _touch(session: Session, destruction_id: int) -> None:
    dest = session.get(Destruction, destruction_id)
    assert dest is not None
    dest.progress_at = utcnow()


def _complete(rt: Runtime, destruction_id: int, how: Execution) -> Destruction:
    with rt.db.unit_of_work() as s:
        s.execute(select(Destruction.id).where(Destruction.id == destruction_id).with_for_update())
        dest = s.get(Destruction, destruction_id, populate_existing=True)
        assert dest is not None
        if dest.status == "completed":
            return dest
        unfinished = [i for i in dest.items if i.result in ("pending", "keys_destroyed")]
        if unfinished:
            raise Conflict(f"{len(unfinished)} items are not finished")
        now = utcnow()
        dest.status, dest.completed_at, dest.progress_at = "completed", now, now
        dest.keep_record_until = add_years(now.date(), how.record_years)
        dest.signing_key_id = rt.signer.key_id
        dest.signature = rt.signer.sign(record_body(dest))
        record(
            s,
            Actor.system("destruction-worker"),
            "destruction.complete",
            "destruction",
            dest.id,
            items=len(dest.items),
            destroyed=sum(1 for i in dest.items if i.result == "destroyed"),
            signature_key=rt.signer.key_id,
        )
        return dest


def fail(rt: Runtime, destruction_id: int, reason: str) -> None:
    """Record that a run gave up (after its retries); the executor may resume it."""
    with rt.db.unit_of_work() as s:
        dest = s.get(Destruction, destruction_id)
        if dest is None or dest.status != "executing":
            return
        dest.status, dest.failure = "failed", reason[:1000]
        record(
            s,
            Actor.system("destruction-worker"),
            "destruction.fail",
            "destruction",
            dest.id,
            reason=dest.failure,
        )


def stalled(session: Session, older_than: timedelta) -> list[int]:
    """Executing destructions without progress for ``older_than``: their run died."""
    limit = utcnow() - older_than
    return list(
        session.execute(
            select(Destruction.id).where(
                Destruction.status == "executing",
                or_(Destruction.progress_at.is_(None), Destruction.progress_at < limit),
            )
        ).scalars()
    )


# --- the record ----------------------------------------------------------------------------


def record_body(dest: Destruction) -> dict[str, Any]:
    """The destruction record (销毁记录): what is signed, exported and verified."""
    return {
        "destruction_id": dest.id,
        "review_id": dest.review_id,
        "status": dest.status,
        "time": _iso(dest.completed_at),
        "started_at": _iso(dest.started_at),
        "place": dest.place,
        "method": dest.method,
        "applicant": dest.applicant.username if dest.applicant else None,
        "executor": dest.executor.username if dest.executor else None,
        "supervisor": dest.supervisor.username if dest.supervisor else None,
        "approvals": [
            {
                "role": s.role,
                "by": s.decided_by.username if s.decided_by else None,
                "at": _iso(s.decided_at),
                "decision": s.status,
            }
            for s in dest.steps
        ],
        "keep_until": dest.keep_record_until.isoformat() if dest.keep_record_until else None,
        "count": len(dest.items),
        "items": [
            {
                "archive_number": i.archive_number,
                "title": i.title,
                "category": i.category,
                "customer": i.customer,
                "sha256": i.sha256,
                "size": i.size,
                "result": i.result,
                "done_at": _iso(i.done_at),
            }
            for i in dest.items
        ],
    }


def signed_record(rt: Runtime, dest: Destruction) -> dict[str, Any]:
    """The record with its signature and the public key that checks it (the export)."""
    if dest.status != "completed" or not dest.signature:
        raise Conflict(f"destruction is {dest.status}; the record exists once it completes")
    return {
        "record": record_body(dest),
        "signature": dest.signature,
        "key_id": dest.signing_key_id,
        "public_key": rt.signer.public_pem,
        "algorithm": "Ed25519 over the canonical JSON of 'record'",
    }


def verify_stored(rt: Runtime, dest: Destruction) -> bool:
    """Does the stored signature still match the record as the database holds it now?"""
    from archive_service.disposal.signing import verify

    if not dest.signature:
        return False
    return verify(rt.signer.public_pem, record_body(dest), dest.signature)


# --- views of the data -------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _one(session: Session, by: Caller, action: str, model: Any, ident: int) -> Any:
    require(by, action)
    row = session.get(model, ident)
    if row is None:
        raise NotFound(f"no such {model.__name__}")
    return row


def _listed(
    session: Session,
    by: Caller,
    action: str,
    model: Any,
    status: str | None,
    page: int,
    per_page: int,
) -> tuple[list[Any], int]:
    """Rows of ``model`` newest first, optionally of one status, with the total."""
    from sqlalchemy import func

    require(by, action)
    query = select(model)
    if status:
        query = query.where(model.status == status)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(
        query.order_by(model.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).scalars()
    return list(rows), int(total)


def waiting_for(session: Session, by: Caller) -> dict[str, list[Any]]:
    """What the disposal area waits for from this person (their inbox)."""
    out: dict[str, list[Any]] = {"confirm": [], "appraise": [], "apply": [], "decide": []}
    out["execute"] = []
    if not may(by, "review.read"):
        return out
    open_reviews = (
        session.execute(
            select(RetentionReview).where(RetentionReview.status.in_(("compiled", "confirmed")))
        )
        .scalars()
        .all()
    )
    for review in open_reviews:
        if review.status == "compiled" and may(by, "review.confirm", review):
            out["confirm"].append(review)
        elif review.status == "confirmed" and may(by, "review.appraise", review):
            if any(i.appraisal is None for i in review.items):
                out["appraise"].append(review)
            elif may(by, "destruction.apply", review):
                out["apply"].append(review)
    pending = (
        session.execute(
            select(Destruction).where(Destruction.status.in_(("pending", "approved", "failed")))
        )
        .scalars()
        .all()
    )
    for dest in pending:
        step = current_step(dest)
        if dest.status == "pending" and step and may(by, "destruction.decide", (dest, step)):
            out["decide"].append(dest)
        elif dest.status in ("approved", "failed") and may(by, "destruction.execute", dest):
            out["execute"].append(dest)
    return out


def review_dict(review: RetentionReview) -> dict[str, Any]:
    return {
        "id": review.id,
        "status": review.status,
        "as_of": review.as_of.isoformat(),
        "compiled_at": review.compiled_at.isoformat(),
        "compiled_by": review.compiled_by,
        "confirmed_at": _iso(review.confirmed_at),
        "items": [
            {
                "document_id": i.document_id,
                "archive_number": i.archive_number,
                "title": i.document.title,
                "disposal_date": i.disposal_date.isoformat() if i.disposal_date else None,
                "appraisal": i.appraisal,
                "retain_until": i.retain_until.isoformat() if i.retain_until else None,
                "reason": i.reason,
            }
            for i in review.items
        ],
    }


def destruction_dict(dest: Destruction) -> dict[str, Any]:
    return {
        "id": dest.id,
        "status": dest.status,
        "review_id": dest.review_id,
        "applicant": dest.applicant.username if dest.applicant else None,
        "count": len(dest.items),
        "executor": dest.executor.username if dest.executor else None,
        "supervisor": dest.supervisor.username if dest.supervisor else None,
        "place": dest.place,
        "failure": dest.failure,
        "approval_steps": [
            {
                "role": s.role,
                "department": None,
                "status": s.status,
                "decided_by": s.decided_by.username if s.decided_by else None,
                "decided_at": _iso(s.decided_at),
                "comment": s.comment,
            }
            for s in dest.steps
        ],
        "items": [
            {
                "document_id": i.document_id,
                "archive_number": i.archive_number,
                "title": i.title,
                "customer": i.customer,
                "sha256": i.sha256,
                "size": i.size,
                "result": i.result,
            }
            for i in dest.items
        ],
    }
