"""Change requests: file with reason and evidence, check, approve, apply atomically.

The chain: the archivist checks (pass it on, or return it with a reason);
the operations head approves; an important change (a core customer's tier,
a reclassification, a shorter retention) also needs a leader. Approval
applies the change in the same transaction, keeping the earlier values and
file versions in the history. A target that changed since filing is refused
(409): the request must be filed again against what is there now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.approvals import open_next, pending_step
from archive_service.archive import intake
from archive_service.archive import services as archive
from archive_service.archive.models import (
    CUSTOMER_TYPES,
    RETENTION_CLASSES,
    SCALES,
    TIERS,
    Customer,
    Document,
    DocumentStatus,
    DocumentVersion,
)
from archive_service.audit.services import record
from archive_service.changes.models import ChangeEvidence, ChangeRequest, ChangeStatus, ChangeStep
from archive_service.db import utcnow
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.indexing import services as indexing
from archive_service.policy import Caller, require
from archive_service.vault.services import Vault

CUSTOMER_FIELDS = (
    "name",
    "customer_type",
    "tier",
    "scale",
    "credit_code",
    "legal_representative",
    "address",
    "phone",
    "fax",
    "email",
    "business_scope",
    "registered_capital",
    "industry",
    "business_domain",
    "credit_rating",
    "credit_limit",
)
DOCUMENT_FIELDS = ("title", "document_date", "tags", "facts", "retention_class", "category")
CHOICES = {
    "customer_type": CUSTOMER_TYPES,
    "tier": TIERS,
    "scale": SCALES,
    "retention_class": RETENTION_CLASSES,
}


@dataclass
class FileIn:
    filename: str
    stream: BinaryIO


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
        return archive.get_customer(session, by, target_id)
    if target_type == "document":
        return archive.get_document(session, by, target_id)
    raise InvalidInput("target_type must be customer or document", field="target_type")


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)


def _diff(
    session: Session, target: Any, target_type: str, values: dict[str, Any]
) -> dict[str, Any]:
    allowed = CUSTOMER_FIELDS if target_type == "customer" else DOCUMENT_FIELDS
    changes: dict[str, Any] = {}
    for name, after in values.items():
        if name not in allowed:
            raise InvalidInput(f"{name} cannot be changed here", field=name)
        if name in CHOICES and after not in CHOICES[name]:
            raise InvalidInput(f"{name} must be one of {', '.join(CHOICES[name])}", field=name)
        if name == "category":
            archive.category_by_code(session, after)
            before: Any = target.category.code
        elif name == "facts":
            if not isinstance(after, dict):
                raise InvalidInput("facts must be an object", field="facts")
            before = dict(target.facts or {})
            after = {**before, **after}
        elif name == "document_date":
            try:
                after = date.fromisoformat(str(after)).isoformat() if after else None
            except ValueError as exc:
                raise InvalidInput("document_date must be YYYY-MM-DD", field=name) from exc
            before = _plain(target.document_date)
        elif name in ("registered_capital", "credit_limit"):
            amount = archive._money(after, name)  # noqa: SLF001 - the same rule as intake
            after = str(amount) if amount is not None else None
            before = _plain(getattr(target, name))
        else:
            before = _plain(getattr(target, name))
            if isinstance(after, str):
                after = after.strip() or None
        if before != after:
            changes[name] = {"before": before, "after": after}
    return changes


def _important(target_type: str, target: Any, changes: dict[str, Any], settings: Any) -> bool:
    if target_type == "customer" and "tier" in changes and target.tier == "core":
        return True
    if "category" in changes:
        return True
    if "retention_class" in changes:
        years = settings.retention.class_years
        old, new = (
            years[changes["retention_class"]["before"]],
            years[changes["retention_class"]["after"]],
        )
        shorter = (
            old is None and new is not None or (old is not None and new is not None and new < old)
        )
        return bool(shorter)
    return False


def _store(session: Session, vault: Vault, f: FileIn, settings: Any) -> tuple[Any, str, str]:
    name = intake.clean_filename(f.filename)
    head = f.stream.read(intake.SNIFF_BYTES)
    try:
        sniffed = intake.sniff(head, name, settings.allowed_types)
    except intake.Refused as exc:
        raise {413: archive.TooLarge, 415: archive.UnsupportedType}.get(exc.status, InvalidInput)(
            exc.message
        ) from exc
    obj = vault.put(session, archive._Limited(f.stream, head, settings.max_upload_bytes))  # noqa: SLF001
    return obj, name, sniffed.content_type


def file_change(
    session: Session, by: Caller, vault: Vault, change: ChangeIn, settings: Any
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
    req = ChangeRequest(
        target_type=change.target_type,
        target_id=target.id,
        target_revision=target.revision,
        requester_id=by.user.id if by.user else None,
        reason=reason[:2000],
        changes=diff,
        important=_important(change.target_type, target, diff, settings),
    )
    if change.replacement is not None:
        obj, name, content_type = _store(session, vault, change.replacement, settings)
        old = target.current_version
        req.replacement_object_id = obj.id
        req.replacement_filename, req.replacement_content_type = name, content_type
        req.changes = {
            **diff,
            "file": {
                "before": {"version": old.number, "filename": old.filename, "sha256": old.sha256},
                "after": {
                    "version": old.number + 1,
                    "filename": name,
                    "sha256": obj.sha256,
                    "size": obj.size,
                },
            },
        }
    session.add(req)
    session.flush()
    for f in change.evidence:
        obj, name, content_type = _store(session, vault, f, settings)
        session.add(
            ChangeEvidence(
                change_id=req.id, stored_object_id=obj.id, filename=name, content_type=content_type
            )
        )
    roles = ["archivist", "operations_head"] + (["leader"] if req.important else [])
    for i, role in enumerate(roles):
        session.add(
            ChangeStep(
                change_id=req.id, position=i, role=role, status="pending" if i == 0 else "waiting"
            )
        )
    session.flush()
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
    return req


def get_change(session: Session, by: Caller, change_id: int) -> ChangeRequest:
    req = session.get(ChangeRequest, change_id)
    if req is None:
        raise NotFound("no such change request")
    _target(session, by, req.target_type, req.target_id)  # who may see the target sees it
    return req


def current_step(req: ChangeRequest) -> ChangeStep | None:
    return pending_step(req.steps)


def decide(
    session: Session, by: Caller, change_id: int, decision: str, comment: str | None, settings: Any
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
    if decision == "return" and step.role != "archivist":
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
        return req
    if open_next(req.steps):
        _apply(session, by, req, settings)
    return req


def _apply(session: Session, by: Caller, req: ChangeRequest, settings: Any) -> None:
    """Apply in the approver's transaction; refuse if the target moved on since filing."""
    model = Customer if req.target_type == "customer" else Document
    session.execute(select(model.id).where(model.id == req.target_id).with_for_update())
    target = session.get(model, req.target_id)
    if target is None:
        raise NotFound("the target is gone")
    if target.revision != req.target_revision:
        raise Conflict("the target changed after this request was filed; file it again")
    for name, change in req.changes.items():
        after = change["after"]
        if name == "file":
            continue
        if name == "category":
            archive.apply_reclassification(
                session, by, target, after, f"change request {req.id}", settings
            )
        elif name == "document_date":
            target.document_date = date.fromisoformat(after) if after else None
        elif name in ("registered_capital", "credit_limit"):
            setattr(target, name, archive._money(after, name))  # noqa: SLF001
        else:
            setattr(target, name, after)
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
    target.revision += 1
    session.flush()
    session.refresh(target)
    if isinstance(target, Document) and {"retention_class", "facts"} & set(req.changes):
        archive.recompute_disposal(session, by, target, f"change request {req.id}", settings)
    if isinstance(target, Customer) and "tier" in req.changes:
        docs = session.execute(
            select(Document).where(
                Document.customer_id == target.id, Document.status == DocumentStatus.ACCEPTED
            )
        ).scalars()
        for doc in docs:
            archive.recompute_disposal(
                session, by, doc, f"tier changed (change request {req.id})", settings
            )
    if isinstance(target, Document):
        if req.replacement_object_id is not None:
            indexing.extract_later(session, [target.id])
        else:
            indexing.refresh_later(session, [target.id])
    else:
        indexing.refresh_later(
            session,
            session.execute(
                select(Document.id).where(
                    Document.customer_id == target.id,
                    Document.status != DocumentStatus.DESTROYED,
                )
            ).scalars(),
        )
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


def history(session: Session, target_type: str, target_id: int) -> list[ChangeRequest]:
    return list(
        session.execute(
            select(ChangeRequest)
            .where(ChangeRequest.target_type == target_type, ChangeRequest.target_id == target_id)
            .order_by(ChangeRequest.id.desc())
        ).scalars()
    )


def inbox(session: Session, by: Caller) -> list[ChangeRequest]:
    from archive_service.policy import may

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


def change_dict(req: ChangeRequest) -> dict[str, Any]:
    return {
        "id": req.id,
        "target_type": req.target_type,
        "target_id": req.target_id,
        "status": req.status,
        "reason": req.reason,
        "requester": req.requester.username,
        "changes": req.changes,
        "important": req.important,
        "created_at": req.created_at.isoformat(),
        "outcome_reason": req.outcome_reason,
        "evidence": [{"id": e.id, "filename": e.filename} for e in req.evidence],
        "steps": [
            {
                "role": s.role,
                "status": s.status,
                "decided_by": s.decided_by.username if s.decided_by else None,
                "decided_at": s.decided_at.isoformat() if s.decided_at else None,
                "comment": s.comment,
            }
            for s in req.steps
        ],
    }
