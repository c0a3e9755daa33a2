"""Change requests over the API: file (multipart, with evidence), decide, history."""

from __future__ import annotations

import json
from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Dict, File, Integer, List, Nested, String
from apiflask.validators import Length, OneOf

from archive_service.api.common import (
    SECURITY,
    Id,
    Out,
    StepOut,
    blueprint,
    errors,
    file_answer,
    listing,
)
from archive_service.archive.customers import get_customer
from archive_service.archive.disposal_date import retention_history
from archive_service.archive.documents import get_document
from archive_service.archive.review import number_history
from archive_service.changes import services as changes
from archive_service.changes.serializers import change_dict
from archive_service.errors import InvalidInput
from archive_service.http import caller, runtime, signed_in, uow
from archive_service.responses import attachment_response

bp = blueprint("changes", "Changes")


def _out(req: Any) -> dict[str, Any]:
    """A change request with its personal values and evidence only for those who may."""
    return change_dict(req, changes.details_visible(caller(), req))


class DecisionIn(Schema):
    decision = String(required=True, validate=OneOf(["approve", "reject", "return"]))
    comment = String(load_default=None, validate=Length(max=1000))


class EvidenceOut(Out):
    id = Integer()
    filename = String()


class ChangeOut(Out):
    """A change request; a customer's personal values are ``hidden`` and its evidence left
    out for callers who may not see them."""

    id = Integer()
    target_type = String()
    target_id = Integer()
    status = String()
    reason = String()
    requester = String()
    changes = Dict(metadata={"description": "each field's before and after"})
    important = Boolean()
    created_at = String()
    outcome_reason = String(allow_none=True)
    evidence = List(Nested(EvidenceOut))
    steps = List(Nested(StepOut))


class ChangeItem(ChangeOut):
    """A change request in a list."""


ChangesOut = listing("ChangesOut", ChangeItem)


class NumberOut(Out):
    number = String()
    reason = String(allow_none=True)
    assigned_at = String()
    superseded = Boolean()


class RecomputationOut(Out):
    at = String()
    cause = String()
    old = String(allow_none=True)
    new = String(allow_none=True)


DocumentHistoryOut = listing(
    "DocumentHistoryOut",
    ChangeItem,
    numbers=List(Nested(NumberOut)),
    retention=List(Nested(RecomputationOut)),
)


class ChangeFileIn(Schema):
    """A change request as a multipart form: the field values as a JSON object, an optional
    replacement file and any number of evidence files."""

    target_type = String(required=True, validate=OneOf(["customer", "document"]))
    target_id = Id(required=True)
    reason = String(load_default="", validate=Length(max=2000))
    values = String(load_default="{}", validate=Length(max=100_000))
    file = File(load_default=None)
    evidence = List(File(), load_default=list)


def _json_object(raw: str) -> dict[str, Any]:
    try:
        values = json.loads(raw or "{}")
    except ValueError as exc:
        raise InvalidInput("values must be a JSON object", field="values") from exc
    if not isinstance(values, dict):
        raise InvalidInput("values must be a JSON object", field="values")
    return values


@bp.post("/change-requests")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 413, 415, 422))
@bp.input(ChangeFileIn, location="form_and_files", arg_name="body")
@bp.output(ChangeOut, status_code=201)
@signed_in
def file_change(body: dict[str, Any]) -> Any:
    """File a change: ``values`` holds the new field values as a JSON object; ``file`` is an
    optional replacement of the document's file and ``evidence`` its supporting files."""
    replacement = body["file"]
    change = changes.ChangeIn(
        target_type=body["target_type"],
        target_id=body["target_id"],
        reason=body["reason"],
        values=_json_object(body["values"]),
        replacement=changes.FileIn(replacement.filename or "", replacement.stream)
        if replacement
        else None,
        evidence=[changes.FileIn(f.filename or "", f.stream) for f in body["evidence"]],
    )
    rt = runtime()
    with uow() as s:
        req = changes.file_change(s, caller(), rt.vault, change, rt.archive)
        return _out(req), 201


@bp.get("/change-requests/inbox")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(ChangesOut)
@signed_in
def inbox() -> Any:
    """Change requests waiting for the caller's step."""
    with uow() as s:
        rows = changes.inbox(s, caller())
        return {"items": [_out(r) for r in rows], "total": len(rows)}


@bp.get("/change-requests/<int:change_id>")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(ChangeOut)
@signed_in
def get_change(change_id: int) -> Any:
    """A change request with its steps (whoever may see its target)."""
    with uow() as s:
        return _out(changes.get_change(s, caller(), change_id))


@bp.post("/change-requests/<int:change_id>/decision")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(DecisionIn, arg_name="body")
@bp.output(ChangeOut)
@signed_in
def decide(change_id: int, body: dict[str, Any]) -> Any:
    """approve / reject, or at the archivist's check, return; the last approval applies it."""
    with uow() as s:
        req = changes.decide(
            s, caller(), change_id, body["decision"], body["comment"], runtime().archive
        )
        return _out(req)


@bp.get("/change-requests/<int:change_id>/evidence/<int:evidence_id>")
@bp.doc(
    security=SECURITY,
    responses={
        **file_answer("the supporting file", "application/octet-stream", "*/*"),
        **errors(403),
    },
)
@signed_in
def evidence(change_id: int, evidence_id: int) -> Any:
    """A supporting file, for those who may see the change's personal details."""
    with uow() as s:
        file = changes.open_evidence(s, caller(), runtime().vault, change_id, evidence_id)
    return attachment_response(file)


@bp.get("/customers/<int:customer_id>/history")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(ChangesOut)
@signed_in
def customer_history(customer_id: int) -> Any:
    """Every change to a customer: who asked, who approved, before and after."""
    with uow() as s:
        get_customer(s, caller(), customer_id)
        rows = changes.history(s, "customer", customer_id)
        return {"items": [_out(r) for r in rows], "total": len(rows)}


@bp.get("/documents/<int:document_id>/history")
@bp.doc(security=SECURITY, responses=errors(403, 410))
@bp.output(DocumentHistoryOut)
@signed_in
def document_history(document_id: int) -> Any:
    """Every change to a document, with its numbers and disposal-date recomputations."""
    with uow() as s:
        get_document(s, caller(), document_id)
        rows = changes.history(s, "document", document_id)
        return {
            "items": [_out(r) for r in rows],
            "total": len(rows),
            "numbers": [
                {
                    "number": n.number,
                    "reason": n.reason,
                    "assigned_at": n.assigned_at.isoformat(),
                    "superseded": n.superseded_at is not None,
                }
                for n in number_history(s, document_id)
            ],
            "retention": [
                {
                    "at": r.at.isoformat(),
                    "cause": r.cause,
                    "old": r.old_date.isoformat() if r.old_date else None,
                    "new": r.new_date.isoformat() if r.new_date else None,
                }
                for r in retention_history(s, document_id)
            ],
        }
