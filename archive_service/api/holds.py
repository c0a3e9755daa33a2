"""Hold cases over the API: open a case, add documents and customers, release it, read."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Integer, List, Nested, String
from apiflask.validators import Length, OneOf

from archive_service.api.common import SECURITY, Id, Out, Page, PerPage, blueprint, errors, listing
from archive_service.archive import hold_cases
from archive_service.archive.hold_serializers import case_detail, case_dict
from archive_service.archive.vocabulary import HOLD_BASES, HOLD_STATES
from archive_service.http import caller, runtime, signed_in, uow

bp = blueprint("holds", "Holds")


def _ids() -> List:
    return List(Id(), load_default=list, validate=Length(max=1000))


class CaseIn(Schema):
    name = String(required=True, validate=Length(min=1, max=200))
    basis = String(required=True, validate=OneOf(HOLD_BASES.codes))
    reason = String(required=True, validate=Length(min=1, max=1000))
    reference = String(load_default=None, allow_none=True, validate=Length(max=100))
    owner = String(
        load_default=None,
        allow_none=True,
        validate=Length(max=150),
        metadata={"description": "the owner's username (the caller when left out)"},
    )
    document_ids = _ids()
    customer_ids = _ids()


class ItemsIn(Schema):
    document_ids = _ids()
    customer_ids = _ids()


class ReleaseIn(Schema):
    reason = String(required=True, validate=Length(max=1000))


class CaseQuery(Schema):
    state = String(load_default=None, validate=OneOf(HOLD_STATES.codes))
    page = Page()
    per_page = PerPage()


class CaseOut(Out):
    id = Integer()
    name = String()
    basis = String()
    reference = String(allow_none=True)
    owner = String(allow_none=True)
    reason = String()
    state = String(metadata={"description": "open or released"})
    per_document = Boolean(metadata={"description": "placed by a per-document hold route"})
    created_at = String()
    created_by = String(allow_none=True)
    released_at = String(allow_none=True)
    released_by = String(allow_none=True)
    release_reason = String(allow_none=True)
    documents = Integer(metadata={"description": "how many documents the case names"})
    customers = Integer(metadata={"description": "how many whole customers it holds"})


class ItemOut(Out):
    """A document or a whole customer in the case (title, number and name only for a
    caller who may see them)."""

    document_id = Integer(allow_none=True)
    customer_id = Integer(allow_none=True)
    archive_number = String(allow_none=True)
    title = String(allow_none=True)
    status = String(allow_none=True)
    on_hold = Boolean(allow_none=True)
    customer_name = String(allow_none=True)
    added_at = String()
    added_by = String(allow_none=True)


class HistoryOut(Out):
    action = String(metadata={"description": "created, items_added or released"})
    at = String()
    by = String(allow_none=True)
    reason = String(allow_none=True)
    document_ids = List(Integer())
    customer_ids = List(Integer())


class CaseDetailOut(CaseOut):
    items = List(Nested(ItemOut))
    history = List(Nested(HistoryOut))


CasesOut = listing("HoldCasesOut", CaseOut)


@bp.post("/holds")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(CaseIn, arg_name="body")
@bp.output(CaseDetailOut, status_code=201)
@signed_in
def create_case(body: dict[str, Any]) -> Any:
    """Open a hold case, with its first documents and customers if given (all or none)."""
    data = hold_cases.CaseIn(
        name=body["name"],
        basis=body["basis"],
        reason=body["reason"],
        reference=body["reference"],
        owner=body["owner"],
    )
    with uow() as s:
        case = hold_cases.open_case(
            s,
            caller(),
            data,
            runtime().archive.retention,
            document_ids=body["document_ids"],
            customer_ids=body["customer_ids"],
        )
        return case_detail(s, caller(), case), 201


@bp.get("/holds")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.input(CaseQuery, location="query", arg_name="q")
@bp.output(CasesOut)
@signed_in
def list_cases(q: dict[str, Any]) -> Any:
    """Hold cases, newest first; ``state`` open or released."""
    with uow() as s:
        rows, total = hold_cases.list_cases(s, caller(), **q)
        return {"items": [case_dict(c) for c in rows], "total": total}


@bp.get("/holds/<int:case_id>")
@bp.doc(security=SECURITY, responses=errors(403, 404))
@bp.output(CaseDetailOut)
@signed_in
def get_case(case_id: int) -> Any:
    """A hold case with its items and its history."""
    with uow() as s:
        return case_detail(s, caller(), hold_cases.get_case(s, caller(), case_id))


@bp.post("/holds/<int:case_id>/items")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(ItemsIn, arg_name="body")
@bp.output(CaseDetailOut)
@signed_in
def add_items(case_id: int, body: dict[str, Any]) -> Any:
    """Add documents (``document_ids``) and whole customers (``customer_ids``, their later
    documents too): all or none; unknown ids are named in a 422."""
    with uow() as s:
        case = hold_cases.add_items(
            s,
            caller(),
            case_id,
            runtime().archive.retention,
            document_ids=body["document_ids"],
            customer_ids=body["customer_ids"],
        )
        return case_detail(s, caller(), case)


@bp.post("/holds/<int:case_id>/release")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(ReleaseIn, arg_name="body")
@bp.output(CaseDetailOut)
@signed_in
def release_case(case_id: int, body: dict[str, Any]) -> Any:
    """Release the case with its reason: what no other open case holds is free again, and
    kept at least the set years from today."""
    with uow() as s:
        case = hold_cases.release(s, caller(), case_id, body["reason"], runtime().archive.retention)
        return case_detail(s, caller(), case)
