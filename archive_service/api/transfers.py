"""Transfers (移交) over the API: apply, decide, write the package, confirm the receipt."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf

from archive_service.api.common import (
    SECURITY,
    Id,
    Out,
    PageQuery,
    StepOut,
    blueprint,
    errors,
    file_answer,
    listing,
    page_of,
)
from archive_service.http import caller, runtime, signed_in, uow
from archive_service.responses import transfer_package
from archive_service.transfer import applications
from archive_service.transfer.serializers import transfer_dict
from archive_service.transfer.vocabulary import DISPOSITIONS, TRANSFER_STATUSES

bp = blueprint("transfers", "Transfers")


class SelectionIn(Schema):
    customer_ids = List(Id(), load_default=list, validate=Length(max=1000))
    categories = List(String(validate=Length(max=64)), load_default=list, validate=Length(max=100))
    number_from = String(load_default=None, validate=Length(max=64))
    number_to = String(load_default=None, validate=Length(max=64))
    document_ids = List(Id(), load_default=list, validate=Length(max=applications.MAX_DOCUMENTS))


class TransferIn(Schema):
    selection = Nested(SelectionIn, required=True)
    receiver = String(required=True, validate=Length(min=1, max=300))
    purpose = String(required=True, validate=Length(min=1, max=1000))
    disposition = String(load_default="keep", validate=OneOf(DISPOSITIONS.codes))


class DecisionIn(Schema):
    decision = String(required=True, validate=OneOf(["approve", "reject"]))
    comment = String(load_default=None, validate=Length(max=1000))


class ConfirmIn(Schema):
    receipt = String(required=True, validate=Length(min=1, max=300))


class TransferListQuery(PageQuery):
    status = String(load_default=None, validate=OneOf(TRANSFER_STATUSES.codes))


class TransferItemOut(Out):
    document_id = Integer()
    archive_number = String()
    title = String()
    category = String()
    customer = String()
    size = Integer()


class TransferOut(Out):
    """A transfer application (移交申请), its approvals and its documents."""

    id = Integer()
    package_id = String()
    status = String()
    applicant = String(allow_none=True)
    created_at = String()
    receiver = String()
    purpose = String()
    disposition = String()
    selection = Dict()
    approval_steps = List(Nested(StepOut))
    exported_at = String(allow_none=True)
    exports = Integer()
    manifest_sha256 = String(allow_none=True)
    signing_key_id = String(allow_none=True)
    confirmed_at = String(allow_none=True)
    receipt = String(allow_none=True)
    count = Integer()
    items = List(Nested(TransferItemOut))


class TransferListItem(TransferOut):
    """A transfer in a list (its items left out)."""


TransfersOut = listing("TransfersOut", TransferListItem)


@bp.post("/transfers")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(TransferIn, arg_name="body")
@bp.output(TransferOut, status_code=201)
@signed_in
def apply(body: dict[str, Any]) -> Any:
    """File a transfer application (archivist): the accepted documents matching every
    criterion given, the receiver, why, and what becomes of the copies here."""
    with uow() as s:
        made = applications.apply(
            s,
            caller(),
            applications.TransferIn(
                selection=applications.Selection(**body["selection"]),
                receiver=body["receiver"],
                purpose=body["purpose"],
                disposition=body["disposition"],
            ),
            runtime().archive.operations_department,
        )
        return transfer_dict(made), 201


@bp.get("/transfers")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.input(TransferListQuery, location="query", arg_name="q")
@bp.output(TransfersOut)
@signed_in
def list_transfers(q: dict[str, Any]) -> Any:
    with uow() as s:
        rows, total = applications.list_transfers(
            s, caller(), q["status"], q["page"], q["per_page"]
        )
        return page_of([transfer_dict(t, with_items=False) for t in rows], total)


@bp.get("/transfers/<int:transfer_id>")
@bp.doc(security=SECURITY, responses=errors(403, 404))
@bp.output(TransferOut)
@signed_in
def get_transfer(transfer_id: int) -> Any:
    with uow() as s:
        return transfer_dict(applications.get_transfer(s, caller(), transfer_id))


@bp.post("/transfers/<int:transfer_id>/decision")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(DecisionIn, arg_name="body")
@bp.output(TransferOut)
@signed_in
def decide(transfer_id: int, body: dict[str, Any]) -> Any:
    """The operations head, then a leader, approve (or reject, with a reason)."""
    with uow() as s:
        t = applications.decide(s, caller(), transfer_id, body["decision"], body["comment"])
        return transfer_dict(t)


@bp.post("/transfers/<int:transfer_id>/package")
@bp.doc(
    security=SECURITY,
    responses={
        **file_answer("the transfer package (a ZIP file)", "application/zip"),
        **errors(403, 404, 409),
    },
)
@signed_in
def export_package(transfer_id: int) -> Any:
    """Write the package of an approved transfer and hand it over (archivist). Each
    document's access register records the export first; writing it again is allowed
    and recorded (a lost copy), the package keeps its identity."""
    return transfer_package(runtime(), caller(), transfer_id)


@bp.post("/transfers/<int:transfer_id>/confirm")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(ConfirmIn, arg_name="body")
@bp.output(TransferOut)
@signed_in
def confirm(transfer_id: int, body: dict[str, Any]) -> Any:
    """The receiver has confirmed the package (its receipt, 接收回执): the documents are
    marked transferred; copies to be destroyed become due for the destruction workflow."""
    with uow() as s:
        t = applications.confirm(
            s, caller(), transfer_id, body["receipt"], runtime().archive.retention
        )
        return transfer_dict(t)
