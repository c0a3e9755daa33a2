"""Paper originals over the API: storage places, a document's original, label sheets, the
scan lookup, loans (借阅) and their returns, and stocktakes (清查) with their report."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Date, Dict, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from archive_service.api.common import (
    SECURITY,
    Id,
    Out,
    PageQuery,
    blueprint,
    errors,
    file_answer,
    listing,
)
from archive_service.http import caller, public_base, runtime, signed_in, uow
from archive_service.paper import items, labels, lending, locations, report, stocktake
from archive_service.paper.serializers import (
    item_dict,
    loan_dict,
    location_dict,
    stocktake_detail,
    stocktake_dict,
)
from archive_service.paper.vocabulary import LOAN_PLACES, LOCATION_KINDS
from archive_service.responses import download_response
from archive_service.tables import XLSX

bp = blueprint("paper", "Paper originals")


class LocationIn(Schema):
    code = String(required=True, validate=Length(min=1, max=64))
    name = String(required=True, validate=Length(min=1, max=200))
    kind = String(required=True, validate=OneOf(LOCATION_KINDS.codes))
    parent_id = Id(load_default=None, allow_none=True)


class LocationOut(Out):
    id = Integer()
    code = String()
    name = String()
    kind = String(metadata={"description": "room, cabinet, shelf or box"})
    parent_id = Integer(allow_none=True)
    path = String(metadata={"description": "the names from the outside in"})
    items = Integer(metadata={"description": "paper originals recorded here"})


LocationsOut = listing("PaperLocationsOut", LocationOut)


class PaperIn(Schema):
    location_id = Id(load_default=None, allow_none=True)
    pages = Integer(load_default=None, allow_none=True, validate=Range(min=1, max=items.MAX_PAGES))
    note = String(load_default=None, allow_none=True, validate=Length(max=500))


class PaperOut(Out):
    document_id = Integer()
    state = String(metadata={"description": "in_place, lent, transferred or destroyed"})
    location_id = Integer(allow_none=True)
    location = String(allow_none=True)
    path = String()
    pages = Integer(allow_none=True)
    note = String(allow_none=True)
    recorded_at = String(allow_none=True)
    moved_at = String(allow_none=True)


class LabelsIn(Schema):
    document_ids = List(Id(), required=True, validate=Length(min=1, max=labels.MAX_LABELS))


class ScanQuery(Schema):
    code = String(required=True, validate=Length(min=1, max=2000))


class ScanOut(Out):
    document_id = Integer()
    archive_number = String(allow_none=True)
    title = String()
    paper = Nested(PaperOut, allow_none=True)


class StocktakeIn(Schema):
    location_id = Id(load_default=None, allow_none=True)


class FindIn(Schema):
    code = String(required=True, validate=Length(min=1, max=2000))
    location_id = Id(load_default=None, allow_none=True)


class SignIn(Schema):
    comment = String(load_default=None, allow_none=True, validate=Length(max=1000))


class StocktakeOut(Out):
    id = Integer()
    state = String(metadata={"description": "open, finished or signed"})
    location_id = Integer(allow_none=True)
    path = String(allow_none=True)
    started_at = String()
    started_by = String(allow_none=True)
    finished_at = String(allow_none=True)
    finished_by = String(allow_none=True)
    signed_at = String(allow_none=True)
    signed_by = String(allow_none=True)
    sign_comment = String(allow_none=True)


class ReportLineOut(Out):
    document_id = Integer()
    archive_number = String(allow_none=True)
    title = String()
    finding = String(metadata={"description": "found, missing, misplaced or unexpected"})
    state = String()
    recorded_location = String(allow_none=True)
    found_location = String(allow_none=True)


class StocktakeDetailOut(StocktakeOut):
    finds = Integer()
    totals = Dict(keys=String(), values=Integer())
    report = List(Nested(ReportLineOut))


StocktakesOut = listing("StocktakesOut", StocktakeOut)


class ReportQuery(Schema):
    format = String(load_default="pdf", validate=OneOf(("pdf", "xlsx")))


class LoanIn(Schema):
    document_id = Id(required=True)
    grant_id = Id(required=True)
    due_on = Date(
        load_default=None,
        allow_none=True,
        metadata={"description": "the day it is due back (default: the grant's last day)"},
    )
    place = String(load_default=None, allow_none=True, validate=OneOf(LOAN_PLACES.codes))
    note = String(load_default=None, allow_none=True, validate=Length(max=lending.MAX_NOTE))


class ReturnIn(Schema):
    note = String(load_default=None, allow_none=True, validate=Length(max=lending.MAX_NOTE))


class LoansQuery(PageQuery):
    overdue = Boolean(load_default=False, metadata={"description": "only the overdue loans"})
    open = Boolean(load_default=False, metadata={"description": "only loans not returned"})
    document_id = Id(load_default=None)


class LoanOut(Out):
    id = Integer()
    document_id = Integer()
    archive_number = String(allow_none=True)
    title = String()
    grant_id = Integer()
    borrower = String(allow_none=True)
    handed_out_by = String(allow_none=True)
    handed_out_at = String()
    due_on = String()
    place = String(metadata={"description": "reading_room or taken_away"})
    note = String(allow_none=True)
    returned_at = String(allow_none=True)
    returned_by = String(allow_none=True)
    return_note = String(allow_none=True)
    overdue = Boolean()
    days_overdue = Integer(metadata={"description": "days past the due day (when returned)"})


LoansOut = listing("PaperLoansOut", LoanOut)


@bp.get("/paper/locations")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(LocationsOut)
@signed_in
def list_locations() -> Any:
    """Every storage place, each after the place it lies in."""
    with uow() as s:
        places = locations.all_locations(s, caller())
        held = locations.counts(s)
        return {
            "items": [location_dict(p, held.get(p.id, 0)) for p in places],
            "total": len(places),
        }


@bp.post("/paper/locations")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(LocationIn, arg_name="body")
@bp.output(LocationOut, status_code=201)
@signed_in
def create_location(body: dict[str, Any]) -> Any:
    """Add a storage place (a room, a cabinet in a room, a shelf, a box)."""
    with uow() as s:
        place = locations.create_location(s, caller(), locations.LocationIn(**body))
        return location_dict(place), 201


@bp.get("/documents/<int:document_id>/paper")
@bp.doc(security=SECURITY, responses=errors(403, 404))
@bp.output(PaperOut)
@signed_in
def get_paper(document_id: int) -> Any:
    """The document's paper original (404 when none is recorded)."""
    with uow() as s:
        item = items.original_of(s, caller(), document_id)
        return item_dict(item)


@bp.put("/documents/<int:document_id>/paper")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(PaperIn, arg_name="body")
@bp.output(PaperOut)
@signed_in
def put_paper(document_id: int, body: dict[str, Any]) -> Any:
    """Record the document's paper original where it is kept, or move it (audited)."""
    with uow() as s:
        item = items.record_original(s, caller(), document_id, items.PaperIn(**body))
        return item_dict(item)


@bp.post("/paper/labels")
@bp.doc(
    security=SECURITY,
    responses={**file_answer("the label sheet", "application/pdf"), **errors(400, 403, 404, 422)},
)
@bp.input(LabelsIn, arg_name="body")
@signed_in
def label_sheet(body: dict[str, Any]) -> Any:
    """The labels of these documents on A4 sheets (archive number, title, customer, place,
    and a QR code of the scan page's address)."""
    with uow() as s:
        made = labels.labels_for(
            s, caller(), body["document_ids"], public_base(), runtime().archive.fonds
        )
    return download_response(labels.sheet_pdf(made), "application/pdf", "labels.pdf")


@bp.get("/paper/scan")
@bp.doc(security=SECURITY, responses=errors(403, 404, 410, 422))
@bp.input(ScanQuery, location="query", arg_name="q")
@bp.output(ScanOut)
@signed_in
def scan(q: dict[str, Any]) -> Any:
    """What a scanned label (its QR code's address, or the archive number) names: the
    document, for a caller who may see it, and its paper original. Another archive's
    label is a 422 saying so; a destroyed item a 410 with the day."""
    with uow() as s:
        got = items.scan(s, caller(), q["code"], runtime().archive.fonds)
        return {
            "document_id": got.document.id,
            "archive_number": got.document.archive_number,
            "title": got.document.title,
            "paper": item_dict(got.item) if got.item else None,
        }


@bp.get("/paper/loans")
@bp.doc(security=SECURITY, responses=errors(422))
@bp.input(LoansQuery, location="query", arg_name="q")
@bp.output(LoansOut)
@signed_in
def list_loans(q: dict[str, Any]) -> Any:
    """Loans of paper originals, newest first; ``overdue=1``: the overdue ones, longest
    overdue first. Archivists, the operations head and auditors see all, others their own."""
    with uow() as s:
        rows, total = lending.list_loans(
            s,
            caller(),
            overdue=q["overdue"],
            open_only=q["open"],
            document_id=q["document_id"],
            page=q["page"],
            per_page=q["per_page"],
        )
        return {"items": [loan_dict(s, x) for x in rows], "total": total}


@bp.post("/paper/loans")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(LoanIn, arg_name="body")
@bp.output(LoanOut, status_code=201)
@signed_in
def hand_out(body: dict[str, Any]) -> Any:
    """Hand a document's paper original out to the holder of a grant in force that covers
    it, in download or paper mode; read in the reading room unless the application allowed
    taking it away. In the access register and the audit trail."""
    with uow() as s:
        loan = lending.hand_out(
            s, caller(), lending.LoanIn(**body), runtime().settings.paper_loan_days
        )
        return loan_dict(s, loan), 201


@bp.get("/paper/loans/<int:loan_id>")
@bp.doc(security=SECURITY, responses=errors(404))
@bp.output(LoanOut)
@signed_in
def get_loan(loan_id: int) -> Any:
    """One loan (for the paper's readers, or its borrower)."""
    with uow() as s:
        return loan_dict(s, lending.get_loan(s, caller(), loan_id))


@bp.post("/paper/loans/<int:loan_id>/return")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(ReturnIn, arg_name="body")
@bp.output(LoanOut)
@signed_in
def take_back(loan_id: int, body: dict[str, Any]) -> Any:
    """The original came back: it is in place again (a loan already returned is a 409)."""
    with uow() as s:
        loan = lending.take_back(s, caller(), loan_id, body["note"])
        return loan_dict(s, loan)


@bp.get("/paper/stocktakes")
@bp.doc(security=SECURITY, responses=errors(403, 422))
@bp.input(PageQuery, location="query", arg_name="q")
@bp.output(StocktakesOut)
@signed_in
def list_stocktakes(q: dict[str, Any]) -> Any:
    """Stocktakes, newest first."""
    with uow() as s:
        rows, total = stocktake.list_stocktakes(s, caller(), q["page"], q["per_page"])
        return {"items": [stocktake_dict(t) for t in rows], "total": total}


@bp.post("/paper/stocktakes")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(StocktakeIn, arg_name="body")
@bp.output(StocktakeDetailOut, status_code=201)
@signed_in
def start_stocktake(body: dict[str, Any]) -> Any:
    """Start counting a place and what lies inside it (all paper when no place is given)."""
    with uow() as s:
        take = stocktake.start(s, caller(), body["location_id"])
        return stocktake_detail(s, take), 201


@bp.get("/paper/stocktakes/<int:stocktake_id>")
@bp.doc(security=SECURITY, responses=errors(403, 404))
@bp.output(StocktakeDetailOut)
@signed_in
def get_stocktake(stocktake_id: int) -> Any:
    """A stocktake with its report (as it would stand now, while counting)."""
    with uow() as s:
        return stocktake_detail(s, stocktake.get_stocktake(s, caller(), stocktake_id))


@bp.post("/paper/stocktakes/<int:stocktake_id>/finds")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(FindIn, arg_name="body")
@bp.output(StocktakeDetailOut)
@signed_in
def record_find(stocktake_id: int, body: dict[str, Any]) -> Any:
    """An item found: its label's code (or archive number) and the place it was found in
    (its recorded place when left out)."""
    with uow() as s:
        stocktake.record_find(
            s, caller(), stocktake_id, body["code"], body["location_id"], runtime().archive.fonds
        )
        return stocktake_detail(s, stocktake.get_stocktake(s, caller(), stocktake_id))


@bp.post("/paper/stocktakes/<int:stocktake_id>/finish")
@bp.doc(security=SECURITY, responses=errors(403, 404, 409))
@bp.output(StocktakeDetailOut)
@signed_in
def finish_stocktake(stocktake_id: int) -> Any:
    """End the count: the report is fixed and waits for the operations head."""
    with uow() as s:
        return stocktake_detail(s, stocktake.finish(s, caller(), stocktake_id))


@bp.post("/paper/stocktakes/<int:stocktake_id>/sign")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(SignIn, arg_name="body")
@bp.output(StocktakeDetailOut)
@signed_in
def sign_stocktake(stocktake_id: int, body: dict[str, Any]) -> Any:
    """The operations head signs the finished report off (not the one who counted)."""
    with uow() as s:
        return stocktake_detail(s, stocktake.sign(s, caller(), stocktake_id, body["comment"]))


@bp.get("/paper/stocktakes/<int:stocktake_id>/report")
@bp.doc(
    security=SECURITY,
    responses={
        **file_answer("the stocktake report", "application/pdf", XLSX),
        **errors(403, 404, 422),
    },
)
@bp.input(ReportQuery, location="query", arg_name="q")
@signed_in
def stocktake_report(stocktake_id: int, q: dict[str, Any]) -> Any:
    """The report as PDF or XLSX."""
    with uow() as s:
        take = stocktake.get_stocktake(s, caller(), stocktake_id)
        body = report.report_file(s, take, q["format"])
    kind = "application/pdf" if q["format"] == "pdf" else XLSX
    return download_response(body, kind, f"stocktake-{stocktake_id}.{q['format']}")
