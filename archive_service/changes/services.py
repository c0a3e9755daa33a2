"""Change requests (变更): file with reason and evidence, check, approve, apply atomically.

The chain is stated in ``changes.rules``. Approval applies the change in the same
transaction, keeping the earlier values and file versions in the history. A target that
changed since filing is refused (409): the request must be filed again against what is
there now. Every value is checked when the request is filed — with the same rules as
upload — so nothing fails later at the approver.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.applications import Attachment
from archive_service.approvals import open_chain, open_next, pending_step
from archive_service.archive import customers, intake
from archive_service.archive.categories import category_by_code
from archive_service.archive.customers import get_customer
from archive_service.archive.disposal_date import recompute_disposal
from archive_service.archive.documents import get_document
from archive_service.archive.facts import merge_facts
from archive_service.archive.models import Customer, Document, DocumentStatus, DocumentVersion
from archive_service.archive.review import apply_reclassification
from archive_service.archive.settings import ArchiveSettings
from archive_service.archive.vocabulary import RETENTION_CLASSES
from archive_service.audit.services import record
from archive_service.changes import rules
from archive_service.changes.models import ChangeEvidence, ChangeRequest, ChangeStep
from archive_service.changes.vocabulary import ChangeStatus
from archive_service.checks.later import check_later
from archive_service.db import utcnow
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.indexing.later import extract_later, refresh_later
from archive_service.notifications import events
from archive_service.paper import following as paper_following
from archive_service.policy import Caller, may, require
from archive_service.vault.models import StoredObject
from archive_service.vault.services import Vault
from archive_service.viewing.later import previews_later

DOCUMENT_FIELDS = ("title", "document_date", "tags", "facts", "retention_class", "category")


@dataclass
class FileIn:
    filename: str
    stream: IO[bytes]


@dataclass
class ChangeIn:
    target_type: str
    target_id: int
    reason: str
    values: dict[str, Any] = field(default_factory=dict)
    replacement: FileIn | None = None
    evidence: list[FileIn] = field(default_factory=list)


def _target(session: Session, by: Caller, target_type: str, target_id: int) -> Any:
    if target_type == "customer":
        return get_customer(session, by, target_id)
    if target_type == "document":
        return get_document(session, by, target_id)
    raise InvalidInput("target_type must be customer or document", field="target_type")


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)


def _customer_value(name: str, after: Any) -> Any:
    """A customer field's new value, checked as opening the archive checks it."""
    if name in customers.CHOICES:
        return customers.CHOICES[name].check(after, name, optional=name == "scale")
    if name in customers.MONEY_FIELDS:
        amount = customers.money(after, name)
        return str(amount) if amount is not None else None
    if name == "name" and not (after or "").strip():
        raise InvalidInput("name is required", field="name")
    if name == "relationship_ended_on":
        return _end_date(after)
    return (after.strip() or None) if isinstance(after, str) else after


def _end_date(after: Any) -> str | None:
    """The day the relationship ended: a past or present date; empty reopens it."""
    if after in (None, ""):
        return None
    try:
        day = date.fromisoformat(str(after))
    except ValueError as exc:
        raise InvalidInput(
            "relationship_ended_on must be YYYY-MM-DD", field="relationship_ended_on"
        ) from exc
    if day > utcnow().date():
        raise InvalidInput(
            "relationship_ended_on cannot be in the future", field="relationship_ended_on"
        )
    return day.isoformat()


def _check_lifecycle(target: Customer, changes: dict[str, Any]) -> None:
    """An ended relationship says why: the reason given now or already recorded."""
    ended = changes.get("relationship_ended_on", {}).get("after", target.relationship_ended_on)
    if "relationship_end_reason" in changes:
        reason = changes["relationship_end_reason"]["after"]
    else:
        reason = target.relationship_end_reason
    if ended and not reason:
        raise InvalidInput(
            "give the reason the relationship ended", field="relationship_end_reason"
        )


def _document_value(session: Session, target: Document, name: str, after: Any) -> Any:
    if name == "retention_class":
        return RETENTION_CLASSES.check(after, name)
    if name == "category":
        return category_by_code(session, after).code
    if name == "document_date":
        try:
            return date.fromisoformat(str(after)).isoformat() if after else None
        except ValueError as exc:
            raise InvalidInput("document_date must be YYYY-MM-DD", field=name) from exc
    if name == "title" and not (after or "").strip():
        raise InvalidInput("title is required", field="title")
    if name == "tags" and not isinstance(after, list):
        raise InvalidInput("tags must be a list", field="tags")
    return (after.strip() or None) if isinstance(after, str) else after


def _diff(
    session: Session, target: Any, target_type: str, values: dict[str, Any]
) -> dict[str, Any]:
    """``{field: {"before", "after"}}`` of what would change, every value checked now."""
    allowed = customers.FIELDS if target_type == "customer" else DOCUMENT_FIELDS
    for name in values:
        if name not in allowed:
            raise InvalidInput(f"{name} cannot be changed here", field=name)
    changes: dict[str, Any] = {}
    for name, after in values.items():
        if name == "facts":
            continue
        if target_type == "customer":
            before, after = _plain(getattr(target, name)), _customer_value(name, after)
        elif name == "category":
            before, after = target.category.code, _document_value(session, target, name, after)
        else:
            before = _plain(getattr(target, name))
            after = _document_value(session, target, name, after)
        if before != after:
            changes[name] = {"before": before, "after": after}
    if target_type == "customer":
        _check_lifecycle(target, changes)
    if target_type == "document":
        # The facts the document will have, checked against the category it will be in.
        given = values.get("facts") or {}
        if not isinstance(given, dict):
            raise InvalidInput("facts must be an object", field="facts")
        category = target.category
        if "category" in changes:
            category = category_by_code(session, changes["category"]["after"])
        before = dict(target.facts or {})
        after = merge_facts(category.facts, before, given, category.code)
        if before != after:
            changes["facts"] = {"before": before, "after": after}
    return changes


def file_change(
    session: Session, by: Caller, vault: Vault, change: ChangeIn, settings: ArchiveSettings
) -> ChangeRequest:
    target = _target(session, by, change.target_type, change.target_id)
    customer = target if change.target_type == "customer" else target.customer
    require(by, "change.file", customer)
    reason = (change.reason or "").strip()
    if not reason:
        raise InvalidInput("a reason is required", field="reason")
    if change.target_type == "document" and target.status != DocumentStatus.ACCEPTED:
        raise Conflict("only accepted documents are changed by request")
    diff = _diff(session, target, change.target_type, change.values)
    if change.replacement is not None and change.target_type != "document":
        raise InvalidInput("only a document's file can be replaced", field="file")
    if not diff and change.replacement is None:
        raise InvalidInput("nothing would change", field="values")
    important = rules.is_important(
        change.target_type,
        target.tier if change.target_type == "customer" else None,
        diff,
        settings.retention.shortens,
    )
    req = ChangeRequest(
        target_type=change.target_type,
        target_id=target.id,
        target_revision=target.revision,
        requester_id=by.user_id,
        reason=reason[:2000],
        changes=diff,
        important=important,
    )
    if change.replacement is not None:
        got = intake.receive(
            session, vault, change.replacement.filename, change.replacement.stream, settings.intake
        )
        old = target.current_version
        req.replacement_object_id = got.stored.id
        req.replacement_filename, req.replacement_content_type = got.filename, got.content_type
        req.changes = {
            **diff,
            "file": {
                "before": {"version": old.number, "filename": old.filename, "sha256": old.sha256},
                "after": {
                    "version": old.number + 1,
                    "filename": got.filename,
                    "sha256": got.stored.sha256,
                    "size": got.stored.size,
                },
            },
        }
    session.add(req)
    session.flush()
    for f in change.evidence:
        got = intake.receive(session, vault, f.filename, f.stream, settings.intake, "evidence")
        session.add(
            ChangeEvidence(
                change_id=req.id,
                stored_object_id=got.stored.id,
                filename=got.filename,
                content_type=got.content_type,
            )
        )
    open_chain(
        session,
        ChangeStep,
        rules.change_chain(req.important, settings.operations_department),
        change_id=req.id,
    )
    session.refresh(req)
    record(
        session,
        by.actor,
        "change.file",
        change.target_type,
        target.id,
        change_id=req.id,
        fields=sorted(req.changes),
        important=req.important,
    )
    events.step_waiting(session, "change", req.steps, req.id)
    return req


def change_form(session: Session, by: Caller, target_type: str, target_id: int) -> Any:
    """The target whose change form the caller opens: only those who may file a change see
    it (they may see the customer's personal details too, which the form shows)."""
    target = _target(session, by, target_type, target_id)
    require(by, "change.file", target if target_type == "customer" else target.customer)
    return target


def get_change(session: Session, by: Caller, change_id: int) -> ChangeRequest:
    """A change request, for whoever may see its target or decides one of its steps."""
    req = session.get(ChangeRequest, change_id)
    if req is None:
        raise NotFound("no such change request")
    if may(by, "change.details", req).rule != "change-decider":
        _target(session, by, req.target_type, req.target_id)  # who may see the target sees it
    return req


def details_visible(by: Caller, req: ChangeRequest) -> bool:
    """May the caller see the request's personal values and evidence (``change.details``)?"""
    return bool(may(by, "change.details", req))


def open_evidence(
    session: Session, by: Caller, vault: Vault, change_id: int, evidence_id: int
) -> Attachment:
    """A supporting file, for those who may see the change's personal details (the reading
    is audited)."""
    req = get_change(session, by, change_id)
    require(by, "change.details", req)
    item = next((e for e in req.evidence if e.id == evidence_id), None)
    if item is None:
        raise NotFound("no such evidence")
    obj = session.get(StoredObject, item.stored_object_id)
    assert obj is not None
    record(session, by.actor, "change.evidence_read", "change", req.id, evidence=item.id)
    return Attachment(
        filename=item.filename,
        content_type=item.content_type,
        size=obj.size,
        sha256=obj.sha256,
        chunks=vault.open(obj),
    )


def current_step(req: ChangeRequest) -> ChangeStep | None:
    return pending_step(req.steps)


def decide(
    session: Session,
    by: Caller,
    change_id: int,
    decision: str,
    comment: str | None,
    settings: ArchiveSettings,
) -> ChangeRequest:
    """approve (pass on / approve), reject, or — at the archivist's check — return."""
    session.execute(select(ChangeRequest.id).where(ChangeRequest.id == change_id).with_for_update())
    req = session.get(ChangeRequest, change_id)
    if req is None:
        raise NotFound("no such change request")
    step = current_step(req)
    if req.status != ChangeStatus.PENDING or step is None:
        raise Conflict(f"change request is {req.status}")
    require(by, "change.decide", step)
    if decision not in ("approve", "reject", "return"):
        raise InvalidInput("decision must be approve, reject or return", field="decision")
    if decision == "return" and step.role not in rules.RETURNING_ROLES:
        raise InvalidInput("only the archivist's check returns a request", field="decision")
    comment = (comment or "").strip() or None
    if decision != "approve" and not comment:
        raise InvalidInput("give the reason", field="comment")
    now = utcnow()
    step.settle(decision == "approve", by.user, now, comment)
    record(
        session,
        by.actor,
        f"change.{decision}",
        req.target_type,
        req.target_id,
        change_id=req.id,
        step=step.role,
        comment=comment,
    )
    if decision != "approve":
        req.status = ChangeStatus.RETURNED if decision == "return" else ChangeStatus.REJECTED
        req.closed_at, req.outcome_reason = now, comment
        outcome = "returned" if decision == "return" else "rejected"
        events.after_decision(session, "change", req.steps, req.id, False, True, outcome)
        return req
    finished = open_next(req.steps)
    if finished:
        _apply(session, by, req, settings)
    events.after_decision(session, "change", req.steps, req.id, True, finished)
    return req


def _set(
    session: Session,
    by: Caller,
    target: Any,
    req: ChangeRequest,
    name: str,
    after: Any,
    settings: ArchiveSettings,
) -> None:
    if name == "category":
        apply_reclassification(session, by, target, after, f"change request {req.id}", settings)
    elif name in ("document_date", "relationship_ended_on"):
        setattr(target, name, date.fromisoformat(after) if after else None)
    elif name in customers.MONEY_FIELDS:
        setattr(target, name, customers.money(after, name))
    else:
        setattr(target, name, after)


def _apply(session: Session, by: Caller, req: ChangeRequest, settings: ArchiveSettings) -> None:
    """Apply in the approver's transaction; refuse if the target moved on since filing."""
    model = Customer if req.target_type == "customer" else Document
    session.execute(select(model.id).where(model.id == req.target_id).with_for_update())
    target = (
        session.get(Customer, req.target_id)
        if req.target_type == "customer"
        else session.get(Document, req.target_id)
    )
    if target is None:
        raise NotFound("the target is gone")
    if target.revision != req.target_revision:
        raise Conflict("the target changed after this request was filed; file it again")
    # Facts first: a reclassification checks them against the new category.
    names = sorted((n for n in req.changes if n != "file"), key=lambda n: n == "category")
    for name in names:
        _set(session, by, target, req, name, req.changes[name]["after"], settings)
    if req.replacement_object_id is not None:
        assert isinstance(target, Document)
        number = target.current_version.number + 1 if target.current_version else 1
        session.add(
            DocumentVersion(
                document_id=target.id,
                number=number,
                stored_object_id=req.replacement_object_id,
                filename=req.replacement_filename or "file",
                content_type=req.replacement_content_type or "application/octet-stream",
                size=req.changes["file"]["after"]["size"],
                sha256=req.changes["file"]["after"]["sha256"],
                uploaded_by_id=req.requester_id,
            )
        )
        paper_following.swap_due(session, by, target.id, req.id)  # 同步调整 the paper too
    target.revision += 1
    session.flush()
    session.refresh(target)
    _follow_up(session, by, req, target, settings)
    req.status, req.closed_at = ChangeStatus.APPLIED, utcnow()
    record(
        session,
        by.actor,
        "change.apply",
        req.target_type,
        req.target_id,
        change_id=req.id,
        changes=req.changes,
    )


def _follow_up(
    session: Session, by: Caller, req: ChangeRequest, target: Any, settings: ArchiveSettings
) -> None:
    """Disposal dates and the index follow an applied change."""
    cause = f"change request {req.id}"
    if isinstance(target, Document):
        if {"retention_class", "facts"} & set(req.changes):
            recompute_disposal(session, by, target, cause, settings.retention)
        if req.replacement_object_id is not None:
            extract_later(session, [target.id])
            previews_later(session, [target.id])
            check_later(session, [target.id])
        else:
            refresh_later(session, [target.id])
        return
    docs = list(
        session.execute(
            select(Document).where(
                Document.customer_id == target.id, Document.status != DocumentStatus.DESTROYED
            )
        ).scalars()
    )
    if "tier" in req.changes:
        for doc in docs:
            recompute_disposal(session, by, doc, f"tier changed ({cause})", settings.retention)
    elif "relationship_ended_on" in req.changes:
        ended = req.changes["relationship_ended_on"]["after"]
        why = "customer relationship ended" if ended else "customer relationship reopened"
        for doc in docs:
            recompute_disposal(session, by, doc, f"{why} ({cause})", settings.retention)
    refresh_later(session, [d.id for d in docs])


def history(session: Session, target_type: str, target_id: int) -> list[ChangeRequest]:
    return list(
        session.execute(
            select(ChangeRequest)
            .where(ChangeRequest.target_type == target_type, ChangeRequest.target_id == target_id)
            .order_by(ChangeRequest.id.desc())
        ).scalars()
    )


def my_changes(session: Session, by: Caller) -> list[ChangeRequest]:
    """The caller's own change requests, newest first."""
    return list(
        session.execute(
            select(ChangeRequest)
            .where(ChangeRequest.requester_id == by.user_id)
            .order_by(ChangeRequest.id.desc())
        ).scalars()
    )


def inbox(session: Session, by: Caller) -> list[ChangeRequest]:
    pending = (
        session.execute(
            select(ChangeRequest)
            .where(ChangeRequest.status == ChangeStatus.PENDING)
            .order_by(ChangeRequest.id)
        )
        .scalars()
        .all()
    )
    return [
        r for r in pending if (s := current_step(r)) is not None and may(by, "change.decide", s)
    ]
