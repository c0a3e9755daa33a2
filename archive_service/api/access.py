"""Access applications, decisions, grants and the access register over the API."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import AwareDateTime, Boolean, File, Integer, List, Nested, String
from apiflask.validators import Length, OneOf

from archive_service.access import applications, register
from archive_service.access import grants as access_grants
from archive_service.access.serializers import (
    REGISTER_COLUMNS,
    grant_dict,
    record_dict,
    request_dict,
)
from archive_service.access.vocabulary import MODES
from archive_service.api.common import (
    BINARY,
    SECURITY,
    Id,
    Out,
    Page,
    PerPage,
    StepOut,
    blueprint,
    errors,
    file_answer,
    listing,
)
from archive_service.http import caller, runtime, signed_in, uow
from archive_service.responses import attachment_response, csv_response, table

bp = blueprint("access", "Access")


def _out(req: Any) -> dict[str, Any]:
    return request_dict(req, applications.customer_shown(caller(), req))


class ApplicationIn(Schema):
    """The scope: ``numbers`` (archive numbers, current or earlier) or ``document_ids`` (of
    documents the caller knows); or a customer's archive by ``customer`` (exact name or
    credit code) or ``customer_id`` (of a customer the caller may see), optionally only some
    ``categories``."""

    purpose = String(required=True, validate=Length(min=1, max=1000))
    document_ids = List(Id(), load_default=list)
    numbers = List(String(validate=Length(min=1, max=64)), load_default=list)
    customer_id = Id(load_default=None)
    customer = String(load_default=None, validate=Length(max=300))
    categories = List(String(validate=Length(max=64)), load_default=list)
    mode = String(required=True, validate=OneOf(MODES.codes))
    starts_at = AwareDateTime(required=True)
    ends_at = AwareDateTime(required=True)
    take_away = Boolean(
        load_default=False,
        metadata={
            "description": "download or paper mode: the paper original may leave the reading"
            " room (otherwise it is read there)"
        },
    )


class DecisionIn(Schema):
    decision = String(required=True, validate=OneOf(["approve", "reject"]))
    comment = String(load_default=None, validate=Length(max=1000))
    supervisor = String(load_default=None, validate=Length(max=150))  # external applications


class LegalBasisIn(Schema):
    legal_basis = File(required=True)


class ReasonIn(Schema):
    reason = String(required=True, validate=Length(min=1, max=1000))


class RegisterQuery(Schema):
    user = String(load_default=None, validate=Length(max=150))
    document_id = Id(load_default=None)
    customer_id = Id(load_default=None)
    since = AwareDateTime(load_default=None)
    until = AwareDateTime(load_default=None)
    page = Page()
    per_page = PerPage()
    format = String(load_default="json", validate=OneOf(["json", "csv"]))


class ApplicationOut(Out):
    """An application (查阅申请); ``customer_id`` is null for those who may not know whose
    archive it concerns."""

    id = Integer()
    status = String()
    requester = String()
    purpose = String()
    customer_id = Integer(allow_none=True)
    document_ids = List(Integer())
    categories = List(String())
    mode = String(metadata={"description": "view, download or paper"})
    take_away = Boolean()
    starts_at = String()
    ends_at = String()
    external = Boolean()
    legal_basis = String(allow_none=True)
    reason = String(allow_none=True)
    grant_id = Integer(allow_none=True)
    supervisor = String(allow_none=True)
    approval_steps = List(Nested(StepOut))


class ApplicationItem(ApplicationOut):
    """An application in a list."""


ApplicationsOut = listing("ApplicationsOut", ApplicationItem)


class GrantOut(Out):
    id = Integer()
    user_id = Integer()
    customer_id = Integer(allow_none=True)
    mode = String()
    status = String()
    starts_at = String()
    ends_at = String()
    request_id = Integer(allow_none=True)
    revoked_at = String(allow_none=True)


class GrantItem(GrantOut):
    """A grant in a list."""


GrantsOut = listing("GrantsOut", GrantItem)


class RegisterEntryOut(Out):
    """One reading in the access register (查阅登记)."""

    at = String()
    user = String()
    document_id = Integer(allow_none=True)
    archive_number = String(allow_none=True)
    action = String()
    grant_id = Integer(allow_none=True)
    purpose = String(allow_none=True)
    rule = String(allow_none=True)
    session = String(allow_none=True)
    page = Integer(allow_none=True)
    supervisor = String(allow_none=True)


RegisterOut = listing("RegisterOut", RegisterEntryOut)
CSV: dict[Any, Any] = {
    200: {
        "description": "the register, or with format=csv its export",
        "content": {"text/csv": BINARY},
    }
}
ATTACHMENT_TYPES = ("application/octet-stream", "*/*")


@bp.post("/access-requests")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(ApplicationIn, arg_name="body")
@bp.output(ApplicationOut, status_code=201)
@signed_in
def apply(body: dict[str, Any]) -> Any:
    """Apply for access: purpose, scope, mode and window; the approvers follow by rule."""
    app = applications.Application(
        purpose=body["purpose"],
        mode=body["mode"],
        starts_at=body["starts_at"],
        ends_at=body["ends_at"],
        customer_id=body["customer_id"],
        document_ids=tuple(body["document_ids"]),
        categories=tuple(body["categories"]),
        numbers=tuple(body["numbers"]),
        customer=body["customer"],
        take_away=body["take_away"],
    )
    with uow() as s:
        req = applications.apply(s, caller(), app, runtime().archive.operations_department)
        return _out(req), 201


@bp.get("/access-requests")
@bp.doc(security=SECURITY, responses=errors())
@bp.output(ApplicationsOut)
@signed_in
def mine() -> Any:
    """The caller's own applications."""
    with uow() as s:
        rows = applications.my_requests(s, caller())
        return {"items": [_out(r) for r in rows], "total": len(rows)}


@bp.get("/access-requests/inbox")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(ApplicationsOut)
@signed_in
def inbox() -> Any:
    """Applications waiting for the caller's decision."""
    with uow() as s:
        rows = applications.inbox(s, caller())
        return {"items": [_out(r) for r in rows], "total": len(rows)}


@bp.get("/access-requests/<int:request_id>")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(ApplicationOut)
@signed_in
def get_request(request_id: int) -> Any:
    """One application with its approval steps."""
    with uow() as s:
        return _out(applications.get_request(s, caller(), request_id))


@bp.post("/access-requests/<int:request_id>/decision")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(DecisionIn, arg_name="body")
@bp.output(ApplicationOut)
@signed_in
def decide(request_id: int, body: dict[str, Any]) -> Any:
    """Approve or reject the current step (only whoever that step needs)."""
    with uow() as s:
        req = applications.decide(
            s, caller(), request_id, body["decision"], body["comment"], body["supervisor"]
        )
        return _out(req)


@bp.post("/access-requests/<int:request_id>/legal-basis")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 413, 415, 422))
@bp.input(LegalBasisIn, location="form_and_files", arg_name="body")
@bp.output(ApplicationOut)
@signed_in
def attach_legal_basis(request_id: int, body: dict[str, Any]) -> Any:
    """External applicants attach the legal basis or letter of authorisation (multipart)."""
    rt = runtime()
    f = body["legal_basis"]
    with uow() as s:
        req = applications.attach_legal_basis(
            s,
            caller(),
            rt.vault,
            request_id,
            f.filename or "",
            f.stream,
            rt.archive.intake,
        )
        return _out(req)


@bp.get("/access-requests/<int:request_id>/legal-basis")
@bp.doc(
    security=SECURITY,
    responses={**file_answer("the attached legal basis", *ATTACHMENT_TYPES), **errors(403, 409)},
)
@signed_in
def read_legal_basis(request_id: int) -> Any:
    """The attached legal basis, for the approvers and overseers of the application."""
    with uow() as s:
        file = applications.legal_basis(s, caller(), runtime().vault, request_id)
    return attachment_response(file)


@bp.get("/grants")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(GrantsOut)
@signed_in
def grants() -> Any:
    """Active grants (operations head, admin, archivist, auditor)."""
    with uow() as s:
        rows = access_grants.active_grants(s, caller())
        return {"items": [grant_dict(g) for g in rows], "total": len(rows)}


@bp.post("/grants/<int:grant_id>/revoke")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(ReasonIn, arg_name="body")
@bp.output(GrantOut)
@signed_in
def revoke(grant_id: int, body: dict[str, Any]) -> Any:
    """Revoke a grant at once (operations head or admin)."""
    with uow() as s:
        return grant_dict(access_grants.revoke(s, caller(), grant_id, body["reason"]))


@bp.get("/access-register")
@bp.doc(security=SECURITY, responses={**CSV, **errors(403)})
@bp.input(RegisterQuery, location="query", arg_name="q")
@bp.output(RegisterOut)
@signed_in
def access_register(q: dict[str, Any]) -> Any:
    """The access register (查阅登记): every reading; ``format=csv`` exports it."""
    page, per_page, fmt = q.pop("page"), q.pop("per_page"), q.pop("format")
    with uow() as s:
        rows, total = register.read_register(
            s, caller(), register.RegisterFilter(**q), page, per_page, export=fmt == "csv"
        )
        items = [record_dict(r) for r in rows]
    if fmt == "csv":
        return csv_response("access-register.csv", REGISTER_COLUMNS, table(items, REGISTER_COLUMNS))
    return {"items": items, "total": total}
