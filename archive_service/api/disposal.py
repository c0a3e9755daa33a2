"""Retention reviews and destructions over the API (the contract's routes)."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Date, Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf

from archive_service.api.common import (
    SECURITY,
    Out,
    PageQuery,
    StepOut,
    blueprint,
    errors,
    file_answer,
    listing,
    page_of,
)
from archive_service.disposal import destruction_list, destructions, keys, records, reviews
from archive_service.disposal.serializers import destruction_dict, review_dict
from archive_service.disposal.vocabulary import APPRAISALS
from archive_service.http import caller, public, runtime, signed_in, uow
from archive_service.responses import download_response
from archive_service.tables import XLSX

bp = blueprint("disposal", "Disposal")


class ListQuery(PageQuery):
    status = String(load_default=None, validate=Length(max=16))


class AppraisalIn(Schema):
    decision = String(required=True, validate=OneOf(APPRAISALS.codes))
    retain_until = Date(load_default=None)
    reason = String(load_default=None, validate=Length(max=1000))


class DecisionIn(Schema):
    decision = String(required=True, validate=OneOf(["approve", "reject"]))
    comment = String(load_default=None, validate=Length(max=1000))


class ExecuteIn(Schema):
    supervisor = String(required=True, validate=Length(min=1, max=150))
    place = String(required=True, validate=Length(min=1, max=300))


class ReviewItemOut(Out):
    document_id = Integer()
    archive_number = String(allow_none=True)
    title = String()
    disposal_date = String(allow_none=True)
    appraisal = String(allow_none=True)
    retain_until = String(allow_none=True)
    reason = String(allow_none=True)


class ReviewOut(Out):
    """A retention review (到期鉴定) and its items."""

    id = Integer()
    status = String()
    as_of = String()
    compiled_at = String()
    compiled_by = String(allow_none=True)
    confirmed_at = String(allow_none=True)
    items = List(Nested(ReviewItemOut))


class ReviewListItem(ReviewOut):
    """A review in a list."""


ReviewsOut = listing("ReviewsOut", ReviewListItem)


class DestructionItemOut(Out):
    document_id = Integer()
    archive_number = String(allow_none=True)
    title = String()
    customer = String()
    sha256 = String(allow_none=True)
    size = Integer(allow_none=True)
    result = String(allow_none=True)


class JournalOut(Out):
    """The destruction's entry in the backup journal; ``backup_horizon``: the day by which
    the last backup still holding its keys expires (备份保留期限)."""

    written_at = String(allow_none=True)
    error = String(allow_none=True)
    backup_horizon = String(allow_none=True)


class DestructionOut(Out):
    """A destruction application (销毁申请), its approvals and its items."""

    id = Integer()
    status = String()
    review_id = Integer(allow_none=True)
    applicant = String(allow_none=True)
    count = Integer()
    executor = String(allow_none=True)
    supervisor = String(allow_none=True)
    place = String(allow_none=True)
    failure = String(allow_none=True)
    approval_steps = List(Nested(StepOut))
    journal = Nested(JournalOut)
    items = List(Nested(DestructionItemOut))


class DestructionListItem(DestructionOut):
    """A destruction in a list."""


DestructionsOut = listing("DestructionsOut", DestructionListItem)


class KeptOut(Out):
    """How long the record is kept: ``until`` null means permanently (永久)."""

    until = String(allow_none=True)
    label = String()
    label_zh = String()


class SignedRecordOut(Out):
    record = Dict(metadata={"description": "the destruction record as signed"})
    signature = String()
    key_id = String()
    public_key = String(allow_none=True, metadata={"description": "the key that signed it"})
    algorithm = String()
    kept = Nested(KeptOut)
    backup = Nested(JournalOut)


class RecordCheckOut(Out):
    ok = Boolean()
    key_id = String(allow_none=True)


class SigningKeyOut(Out):
    key_id = String()
    public_key = String()
    algorithm = String()


class HistoryKeyOut(Out):
    """A key that signs (``active``) or has signed destruction records."""

    key_id = String()
    public_key = String()
    active = Boolean()
    created_at = String(allow_none=True)
    retired_at = String(allow_none=True)


class SigningKeysOut(Out):
    algorithm = String()
    items = List(Nested(HistoryKeyOut))


@bp.post("/retention-reviews")
@bp.doc(security=SECURITY, responses=errors(403, 409))
@bp.output(ReviewOut, status_code=201)
@signed_in
def compile_review() -> Any:
    """Compile a review now (the beat schedule does it daily)."""
    with uow() as s:
        review = reviews.compile_review(s, caller(), runtime().archive.retention)
        return review_dict(review), 201


@bp.get("/retention-reviews")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.input(ListQuery, location="query", arg_name="q")
@bp.output(ReviewsOut)
@signed_in
def list_reviews(q: dict[str, Any]) -> Any:
    """Reviews, newest first (filter: ``status`` compiled, confirmed or closed)."""
    with uow() as s:
        rows, total = reviews.list_reviews(s, caller(), q["status"], q["page"], q["per_page"])
        return page_of([review_dict(r) for r in rows], total)


@bp.get("/retention-reviews/<int:review_id>")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(ReviewOut)
@signed_in
def get_review(review_id: int) -> Any:
    """A review and its items."""
    with uow() as s:
        return review_dict(reviews.get_review(s, caller(), review_id))


@bp.post("/retention-reviews/<int:review_id>/confirm")
@bp.doc(security=SECURITY, responses=errors(403, 409))
@bp.output(ReviewOut)
@signed_in
def confirm(review_id: int) -> Any:
    """The operations head confirms the list's scope."""
    with uow() as s:
        return review_dict(reviews.confirm(s, caller(), review_id))


@bp.post("/retention-reviews/<int:review_id>/items/<int:document_id>/appraisal")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(AppraisalIn, arg_name="body")
@bp.output(ReviewOut)
@signed_in
def appraise(review_id: int, document_id: int, body: dict[str, Any]) -> Any:
    """The archivist appraises one item: destroy, or retain until a date with a reason."""
    with uow() as s:
        reviews.appraise(
            s,
            caller(),
            review_id,
            document_id,
            body["decision"],
            body["retain_until"],
            body["reason"],
            runtime().archive.retention,
        )
        return review_dict(reviews.get_review(s, caller(), review_id))


@bp.post("/retention-reviews/<int:review_id>/destruction")
@bp.doc(security=SECURITY, responses=errors(403, 409))
@bp.output(DestructionOut, status_code=201)
@signed_in
def apply(review_id: int) -> Any:
    """The destruction application from the items appraised ``destroy``."""
    with uow() as s:
        return destruction_dict(
            destructions.apply_for_destruction(
                s, caller(), review_id, runtime().archive.operations_department
            )
        ), 201


@bp.get("/destructions")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.input(ListQuery, location="query", arg_name="q")
@bp.output(DestructionsOut)
@signed_in
def list_destructions(q: dict[str, Any]) -> Any:
    """Destruction applications, newest first (filter: ``status``)."""
    with uow() as s:
        rows, total = destructions.list_destructions(
            s, caller(), q["status"], q["page"], q["per_page"]
        )
        return page_of([destruction_dict(d) for d in rows], total)


@bp.get("/destructions/<int:destruction_id>")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(DestructionOut)
@signed_in
def get_destruction(destruction_id: int) -> Any:
    """Status: pending, approved, rejected, executing, completed."""
    with uow() as s:
        return destruction_dict(destructions.get_destruction(s, caller(), destruction_id))


@bp.post("/destructions/<int:destruction_id>/decision")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(DecisionIn, arg_name="body")
@bp.output(DestructionOut)
@signed_in
def decide(destruction_id: int, body: dict[str, Any]) -> Any:
    """The operations head, then a leader."""
    with uow() as s:
        dest = destructions.decide(s, caller(), destruction_id, body["decision"], body["comment"])
        return destruction_dict(dest)


@bp.post("/destructions/<int:destruction_id>/execute")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(ExecuteIn, arg_name="body")
@bp.output(DestructionOut, status_code=202)
@signed_in
def execute(destruction_id: int, body: dict[str, Any]) -> Any:
    """The executor starts (or resumes) an approved destruction; it runs in Celery (202)."""
    with uow() as s:
        dest = destructions.start(s, caller(), destruction_id, body["supervisor"], body["place"])
        out = destruction_dict(dest)
    return out, 202


@bp.get("/destructions/<int:destruction_id>/record")
@bp.doc(security=SECURITY, responses=errors(403, 409))
@bp.output(SignedRecordOut)
@signed_in
def destruction_record(destruction_id: int) -> Any:
    """The signed destruction record, with the public key that verifies it (409 until done)."""
    with uow() as s:
        _dest, signed = records.export_record(s, caller(), runtime().signer, destruction_id)
        return signed


class DestructionListQuery(Schema):
    format = String(load_default="pdf", validate=OneOf(destruction_list.FORMATS))


@bp.get("/destructions/<int:destruction_id>/list")
@bp.doc(
    security=SECURITY,
    responses={
        **file_answer("the destruction list (销毁清册)", "application/pdf", XLSX),
        **errors(403, 404, 409, 422),
    },
)
@bp.input(DestructionListQuery, location="query", arg_name="q")
@signed_in
def destruction_list_file(destruction_id: int, q: dict[str, Any]) -> Any:
    """The destruction list (销毁清册) in its standard layout — archive number, title, date
    formed, retention period, time kept, time destroyed, then the approvers and the
    witness — as PDF or XLSX (409 until the destruction completes)."""
    with uow() as s:
        listed = destruction_list.destruction_list(
            s, caller(), runtime().archive.retention, destruction_id, q["format"]
        )
        body, content_type, name = destruction_list.render(listed, q["format"])
    return download_response(body, content_type, name)


@bp.get("/destructions/<int:destruction_id>/record/verify")
@bp.doc(security=SECURITY, responses=errors(403, 409))
@bp.output(RecordCheckOut)
@signed_in
def verify_record(destruction_id: int) -> Any:
    """Does the stored signature still match the record the database holds?"""
    with uow() as s:
        ok = records.verify_record(s, caller(), runtime().signer, destruction_id)
        dest = destructions.get_destruction(s, caller(), destruction_id)
        return {"ok": ok, "key_id": dest.signing_key_id}


@bp.get("/signing-key")
@bp.doc(responses=errors(401))  # a bad token is refused even here
@bp.output(SigningKeyOut)
@public
def signing_key() -> Any:
    """The public key that checks destruction records (anyone may verify a record)."""
    signer = runtime().signer
    return {"key_id": signer.key_id, "public_key": signer.public_pem, "algorithm": "Ed25519"}


@bp.get("/signing-keys")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(SigningKeysOut)
@signed_in
def signing_keys() -> Any:
    """Every public key that has signed destruction records (the key history), so a record
    signed before a rotation verifies by its ``key_id``; the active one signs new records."""
    with uow() as s:
        entries = keys.history(s, caller(), runtime().signer)
    return {
        "algorithm": "Ed25519",
        "items": [
            {
                "key_id": e.key_id,
                "public_key": e.public_key,
                "active": e.active,
                "created_at": e.created_at.isoformat() if e.created_at else None,
                "retired_at": e.retired_at.isoformat() if e.retired_at else None,
            }
            for e in entries
        ],
    }
