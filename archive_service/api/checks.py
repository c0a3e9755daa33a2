"""Intake check reports (四性检测) over the API: a document's report, a customer's check list."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Integer, List, Nested, String
from apiflask.validators import OneOf
from flask import Response

from archive_service.api.common import SECURITY, Out, blueprint, errors, file_answer
from archive_service.checks import export, serializers
from archive_service.checks import services as checks
from archive_service.http import caller, signed_in, uow
from archive_service.tables import XLSX

bp = blueprint("checks", "Checks")


class CheckItemOut(Out):
    code = String()
    passed = Boolean()
    mandatory = Boolean()
    label = String()
    label_zh = String()
    detail = String()
    detail_zh = String()


class CheckGroupOut(Out):
    passed = Boolean()
    label = String()
    label_zh = String()
    items = List(Nested(CheckItemOut))


class CheckReportOut(Out):
    """A version's report: the four groups, when and at which stage it was checked."""

    authenticity = Nested(CheckGroupOut)
    integrity = Nested(CheckGroupOut)
    usability = Nested(CheckGroupOut)
    security = Nested(CheckGroupOut)
    document_id = Integer()
    version = Integer(allow_none=True)
    stage = String(metadata={"description": "submitted | accepted"})
    checked_at = String()
    passed = Boolean(metadata={"description": "every mandatory item passed"})
    override_reason = String(allow_none=True)


class ExportQuery(Schema):
    format = String(load_default="xlsx", validate=OneOf(["xlsx", "pdf"]))


@bp.get("/documents/<int:document_id>/checks")
@bp.doc(security=SECURITY, responses=errors(403, 404))
@bp.output(CheckReportOut)
@signed_in
def document_checks(document_id: int) -> Any:
    """The newest check report of the document's current version (whoever may see the
    document's metadata may see its checks; 404 until the first check has run)."""
    with uow() as s:
        report, version = checks.latest_report(s, caller(), document_id)
        return serializers.report_dict(report, version.number)


@bp.get("/customers/<int:customer_id>/checks")
@bp.doc(
    security=SECURITY,
    responses={
        **file_answer("the customer's check list", XLSX, "application/pdf"),
        **errors(403, 404, 422),
    },
)
@bp.input(ExportQuery, location="query", arg_name="q")
@signed_in
def customer_checks(customer_id: int, q: dict[str, Any]) -> Any:
    """The customer's check list (every report of its documents) as XLSX or PDF: archivists
    and auditors (``checks.export``). Rows carry numbers and outcomes, never titles."""
    with uow() as s:
        customer, listed = checks.customer_reports(s, caller(), customer_id)
        if q["format"] == "pdf":
            body, mimetype = export.pdf(customer, listed), "application/pdf"
        else:
            body, mimetype = export.xlsx(customer, listed), XLSX
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f"attachment; filename=checks-{customer_id}.{q['format']}",
            "Cache-Control": "no-store",
        },
    )
