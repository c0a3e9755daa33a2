"""Access applications, decisions, grants and the access register over the API."""

from __future__ import annotations

import csv
import io
from typing import Any

from apiflask import Schema
from apiflask.fields import AwareDateTime, File, Integer, List, String
from apiflask.validators import Length, OneOf, Range
from flask import Response

from archive_service.access import services as access
from archive_service.api.archive import attachment_response
from archive_service.api.common import SECURITY, blueprint
from archive_service.audit.services import record
from archive_service.http import caller, runtime, signed_in, uow

bp = blueprint("access", "Access")


class ApplicationIn(Schema):
    purpose = String(required=True, validate=Length(min=1, max=1000))
    document_ids = List(Integer(), load_default=list)
    customer_id = Integer(load_default=None)
    categories = List(String(validate=Length(max=64)), load_default=list)
    mode = String(required=True, validate=OneOf(["view", "download"]))
    starts_at = AwareDateTime(required=True)
    ends_at = AwareDateTime(required=True)


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
    document_id = Integer(load_default=None)
    customer_id = Integer(load_default=None)
    since = AwareDateTime(load_default=None)
    until = AwareDateTime(load_default=None)
    page = Integer(load_default=1, validate=Range(min=1))
    per_page = Integer(load_default=50, validate=Range(min=1, max=500))
    format = String(load_default="json", validate=OneOf(["json", "csv"]))


@bp.post("/access-requests")
@bp.doc(security=SECURITY)
@bp.input(ApplicationIn, arg_name="body")
@signed_in
def apply(body: dict[str, Any]) -> Any:
    """Apply for access: purpose, scope, mode and window; the approvers follow by rule."""
    app = access.Application(
        purpose=body["purpose"],
        mode=body["mode"],
        starts_at=body["starts_at"],
        ends_at=body["ends_at"],
        customer_id=body["customer_id"],
        document_ids=tuple(body["document_ids"]),
        categories=tuple(body["categories"]),
    )
    with uow() as s:
        req = access.apply(s, caller(), app, runtime().settings.operations_department)
        return access.request_dict(req), 201


@bp.get("/access-requests")
@bp.doc(security=SECURITY)
@signed_in
def mine() -> Any:
    """The caller's own applications."""
    with uow() as s:
        rows = access.my_requests(s, caller())
        return {"items": [access.request_dict(r) for r in rows], "total": len(rows)}


@bp.get("/access-requests/inbox")
@bp.doc(security=SECURITY)
@signed_in
def inbox() -> Any:
    """Applications waiting for the caller's decision."""
    with uow() as s:
        rows = access.inbox(s, caller())
        return {"items": [access.request_dict(r) for r in rows], "total": len(rows)}


@bp.get("/access-requests/<int:request_id>")
@bp.doc(security=SECURITY)
@signed_in
def get_request(request_id: int) -> Any:
    """One application with its approval steps."""
    with uow() as s:
        return access.request_dict(access.get_request(s, caller(), request_id))


@bp.post("/access-requests/<int:request_id>/decision")
@bp.doc(security=SECURITY)
@bp.input(DecisionIn, arg_name="body")
@signed_in
def decide(request_id: int, body: dict[str, Any]) -> Any:
    """Approve or reject the current step (only whoever that step needs)."""
    with uow() as s:
        req = access.decide(
            s, caller(), request_id, body["decision"], body["comment"], body["supervisor"]
        )
        return access.request_dict(req)


@bp.post("/access-requests/<int:request_id>/legal-basis")
@bp.doc(security=SECURITY)
@bp.input(LegalBasisIn, location="form_and_files", arg_name="body")
@signed_in
def attach_legal_basis(request_id: int, body: dict[str, Any]) -> Any:
    """External applicants attach the legal basis or letter of authorisation (multipart)."""
    rt = runtime()
    f = body["legal_basis"]
    with uow() as s:
        req = access.attach_legal_basis(
            s,
            caller(),
            rt.vault,
            request_id,
            f.filename or "",
            f.stream,
            rt.archive.allowed_types,
        )
        return access.request_dict(req)


@bp.get("/access-requests/<int:request_id>/legal-basis")
@bp.doc(security=SECURITY)
@signed_in
def read_legal_basis(request_id: int) -> Any:
    """The attached legal basis, for the approvers and overseers of the application."""
    with uow() as s:
        file = access.legal_basis(s, caller(), runtime().vault, request_id)
    return attachment_response(file)


@bp.get("/grants")
@bp.doc(security=SECURITY)
@signed_in
def grants() -> Any:
    """Active grants (operations head, admin, archivist, auditor)."""
    with uow() as s:
        rows = access.active_grants(s, caller())
        return {
            "items": [
                {
                    "id": g.id,
                    "user_id": g.user_id,
                    "customer_id": g.customer_id,
                    "mode": g.mode,
                    "starts_at": g.starts_at.isoformat(),
                    "ends_at": g.ends_at.isoformat(),
                    "request_id": g.request_id,
                }
                for g in rows
            ],
            "total": len(rows),
        }


@bp.post("/grants/<int:grant_id>/revoke")
@bp.doc(security=SECURITY)
@bp.input(ReasonIn, arg_name="body")
@signed_in
def revoke(grant_id: int, body: dict[str, Any]) -> Any:
    """Revoke a grant at once (operations head or admin)."""
    with uow() as s:
        g = access.revoke(s, caller(), grant_id, body["reason"])
        return {
            "id": g.id,
            "status": g.status,
            "revoked_at": g.revoked_at.isoformat() if g.revoked_at else None,
        }


@bp.get("/access-register")
@bp.doc(security=SECURITY)
@bp.input(RegisterQuery, location="query", arg_name="q")
@signed_in
def access_register(q: dict[str, Any]) -> Any:
    """The access register (查阅登记): every reading; ``format=csv`` exports it."""
    page, per_page, fmt = q.pop("page"), q.pop("per_page"), q.pop("format")
    with uow() as s:
        if fmt == "csv":
            rows, _total = access.register(s, caller(), access.RegisterFilter(**q), 1, 100_000)
        else:
            rows, total = access.register(s, caller(), access.RegisterFilter(**q), page, per_page)
        record(
            s,
            caller().actor,
            "register.read",
            filters={k: str(v) for k, v in q.items() if v},
            format=fmt,
        )
        items = [access.record_dict(r) for r in rows]
    if fmt == "csv":
        return Response(
            register_csv(items),
            mimetype="text/csv",
            headers={"Content-Disposition": "attachment; filename=access-register.csv"},
        )
    return {"items": items, "total": total}


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    # A cell a spreadsheet would run as a formula is made inert.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def register_csv(items: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    cols = ["at", "user", "document_id", "archive_number", "action", "grant_id", "purpose", "rule"]
    cols += ["session", "page", "supervisor"]
    writer = csv.writer(buf)
    writer.writerow(cols)
    for item in items:
        writer.writerow([_cell(item[c]) for c in cols])
    return buf.getvalue()
