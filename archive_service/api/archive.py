"""Customers and documents over the API: open an archive, upload, accept, read, hold."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import IO, Any, cast

from apiflask import HTTPError, Schema
from apiflask.fields import Boolean, Date, File, List, String
from apiflask.validators import Length, OneOf
from flask import request
from marshmallow import EXCLUDE

from archive_service import upload_parsing
from archive_service.api.archive_answers import (
    CustomerDetailOut,
    CustomerOut,
    CustomersOut,
    DocumentOut,
    DocumentsOut,
    ReviewQueueOut,
    document_out,
)
from archive_service.api.common import (
    SECURITY,
    Id,
    Page,
    PageCountOut,
    PerPage,
    blueprint,
    errors,
    file_answer,
)
from archive_service.archive import (
    customers,
    documents,
    holds,
    intake,
    reading,
    review,
    serializers,
)
from archive_service.archive.vocabulary import (
    CUSTOMER_TYPES,
    DOCUMENT_STATUSES,
    RETENTION_CLASSES,
    SCALES,
    TIERS,
)
from archive_service.errors import DomainError, Gone, InvalidInput
from archive_service.http import caller, runtime, signed_in, uow
from archive_service.indexing import queries as indexing
from archive_service.responses import content_response, png_response
from archive_service.viewing import page_views

bp = blueprint("archive", "Archive")


class CustomerIn(Schema):
    name = String(required=True, validate=Length(min=1, max=300))
    customer_type = String(required=True, validate=OneOf(CUSTOMER_TYPES.codes))
    department = String(required=True, validate=Length(min=1, max=32))
    tier = String(load_default="ordinary", validate=OneOf(TIERS.codes))
    scale = String(load_default=None, validate=OneOf(SCALES.codes))
    credit_code = String(load_default=None, validate=Length(max=64))
    legal_representative = String(load_default=None, validate=Length(max=200))
    address = String(load_default=None, validate=Length(max=500))
    phone = String(load_default=None, validate=Length(max=64))
    fax = String(load_default=None, validate=Length(max=64))
    email = String(load_default=None, validate=Length(max=254))
    business_scope = String(load_default=None, validate=Length(max=5000))
    registered_capital = String(load_default=None, validate=Length(max=32))
    industry = String(load_default=None, validate=Length(max=200))
    business_domain = String(load_default=None, validate=Length(max=200))
    credit_rating = String(load_default=None, validate=Length(max=32))
    credit_limit = String(load_default=None, validate=Length(max=32))
    responsible_clerk = String(load_default=None, validate=Length(max=150))
    fonds = String(load_default=None, validate=Length(max=16))  # groups only (全宗)


class CustomerQuery(Schema):
    q = String(load_default=None, validate=Length(max=200))
    tier = String(load_default=None, validate=OneOf(TIERS.codes))
    department = String(load_default=None, validate=Length(max=32))
    page = Page()
    per_page = PerPage()


class UploadIn(Schema):
    class Meta:
        unknown = EXCLUDE  # category facts arrive as "facts.<name>" fields

    file = File(required=True)
    customer_id = Id(required=True)
    category = String(required=True, validate=Length(min=1, max=64))
    title = String(required=True, validate=Length(min=1, max=500))
    document_date = Date(load_default=None)
    retention_class = String(required=True, validate=OneOf(RETENTION_CLASSES.codes))
    tags = List(String(validate=Length(max=50)), load_default=list)
    allow_duplicate = Boolean(load_default=False)


class DocumentQuery(Schema):
    q = String(load_default=None, validate=Length(max=200))
    customer_id = Id(load_default=None)
    category = String(load_default=None, validate=Length(max=64))
    number = String(load_default=None, validate=Length(max=64))
    status = String(load_default=None, validate=OneOf(DOCUMENT_STATUSES.codes))
    department = String(load_default=None, validate=Length(max=32))
    date_from = Date(load_default=None)
    date_to = Date(load_default=None)
    sort = String(load_default="relevance", validate=OneOf(["relevance", "date"]))
    page = Page()
    per_page = PerPage()


class ContentQuery(Schema):
    purpose = String(load_default=None, validate=Length(max=1000))
    version = Id(load_default=None)
    disposition = String(load_default="attachment", validate=OneOf(["attachment", "inline"]))


class PagesQuery(Schema):
    purpose = String(load_default=None, validate=Length(max=1000))


class ReasonIn(Schema):
    reason = String(required=True, validate=Length(min=1, max=1000))


def _customer_out(customer: Any) -> dict[str, Any]:
    return serializers.customer_dict(customer)


@bp.post("/customers")
@bp.doc(security=SECURITY, responses=errors(400, 403, 422))
@bp.input(CustomerIn, arg_name="body")
@bp.output(CustomerOut, status_code=201)
@signed_in
def create_customer(body: dict[str, Any]) -> Any:
    """Open a customer's archive (clerk of the owning department)."""
    with uow() as s:
        return _customer_out(customers.create_customer(s, caller(), body)), 201


@bp.get("/customers")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.input(CustomerQuery, location="query", arg_name="q")
@bp.output(CustomersOut)
@signed_in
def list_customers(q: dict[str, Any]) -> Any:
    """Customers the caller may see."""
    with uow() as s:
        rows, total = customers.list_customers(s, caller(), **q)
        return {
            "items": [
                serializers.customer_dict(c, customers.personal_details_visible(caller(), c))
                for c in rows
            ],
            "total": total,
        }


@bp.get("/customers/<int:customer_id>")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(CustomerDetailOut)
@signed_in
def get_customer(customer_id: int) -> Any:
    """A customer, with its archive's counts by category (404 if not visible)."""
    with uow() as s:
        customer = customers.get_customer(s, caller(), customer_id)
        out = serializers.customer_dict(
            customer, customers.personal_details_visible(caller(), customer)
        )
        out["documents_by_category"] = customers.category_counts(s, caller(), customer.id)
        return out


def _facts(fields: Any) -> dict[str, Any]:
    return {k[len("facts.") :]: v for k, v in fields.items() if k.startswith("facts.")}


def _upload_of(body: dict[str, Any], form: upload_parsing.StreamedForm) -> documents.Upload:
    return documents.Upload(
        customer_id=body["customer_id"],
        category=body["category"],
        title=body["title"],
        retention_class=body["retention_class"],
        document_date=body["document_date"],
        filename=(form.file.filename or "") if form.file else "",
        stream=None,
        facts=_facts(form.fields),
        tags=body["tags"],
        allow_duplicate=body["allow_duplicate"],
    )


@bp.post("/documents")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 413, 415, 422))
@upload_parsing.documented_form(bp, UploadIn)
@bp.output(DocumentOut, status_code=201)
@signed_in
def upload() -> Any:
    """Upload a file (multipart ``file`` plus fields); it waits for the archivist's review.

    Category facts go in fields named ``facts.<name>`` (e.g. ``facts.contract_number``).
    Send the fields before the file: they are then checked before the file is read.
    """
    form = upload_parsing.StreamedForm(request)
    try:
        with uow() as s:
            doc = _take_upload(s, form)
            return document_out(doc), 201
    except (DomainError, HTTPError):
        form.discard()  # read what the client still sends: it gets the answer, not a reset
        raise


def _take_upload(s: Any, form: upload_parsing.StreamedForm) -> Any:
    """The file streams into intake as it arrives (no spooled copy read back): the fields
    sent before it are checked first, any sent after it once it is stored."""
    rt = runtime()
    file = form.read_until_file()
    if file is None:
        form.validate(UploadIn())  # names what is missing
        raise InvalidInput("a file is required", field="file")
    early: dict[str, Any] | None = None
    with contextlib.suppress(HTTPError):
        early = form.validate(UploadIn())
    if early is not None:
        # Refused now, before the file is read: what later parts cannot change (a field
        # given twice keeps its first value; only facts and tags may still be added).
        documents.check_upload(s, caller(), _upload_of(early, form), with_facts=False)
    try:
        stream = cast(IO[bytes], file)  # read(n) is all intake asks of a stream that cannot seek
        received = intake.receive(s, rt.vault, file.filename, stream, rt.archive.intake)
    except DomainError:
        # A refused file: the fields' own errors come first, as when all is read first.
        form.read_rest()
        documents.check_upload(s, caller(), _upload_of(form.validate(UploadIn()), form))
        raise
    try:
        form.read_rest()
        body = form.validate(UploadIn())
    except BaseException:
        rt.vault.delete_object(received.stored.object_name)
        raise
    up = replace(_upload_of(body, form), received=received)
    return documents.upload(s, caller(), rt.vault, up, rt.archive)


@bp.get("/documents")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.input(DocumentQuery, location="query", arg_name="q")
@bp.output(DocumentsOut)
@signed_in
def list_documents(q: dict[str, Any]) -> Any:
    """Documents the caller may open: full-text search with ``q`` (Chinese and English words,
    "phrases", archive and contract numbers, customer names), or a filtered list without it
    (``department`` and the date filters go through the search index too).

    Totals and pages count only what the caller may open; each hit carries highlighted
    ``snippets`` from its text. Searches are written to the audit trail.
    """
    text = (q.pop("q") or "").strip()
    with uow() as s:
        if text or q["department"] or q["date_from"] or q["date_to"]:
            params = indexing.SearchParams(
                q=text,
                customer_id=q["customer_id"],
                category=q["category"],
                department=q["department"],
                status=q["status"],
                date_from=q["date_from"],
                date_to=q["date_to"],
                sort=q["sort"],
                page=q["page"],
                per_page=q["per_page"],
            )
            found, total = indexing.search(
                s, caller(), runtime().vault, runtime().search_index, params
            )
            items = [
                {**document_out(f.document), "score": f.score, "snippets": f.snippets}
                for f in found
            ]
            return {"items": items, "total": total}
        for unused in ("department", "date_from", "date_to", "sort"):
            q.pop(unused)
        rows, total = documents.list_documents(s, caller(), **q)
        return {"items": [document_out(d) for d in rows], "total": total}


@bp.get("/documents/review-queue")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(ReviewQueueOut)
@signed_in
def review_queue() -> Any:
    """Submitted documents waiting for an archivist."""
    with uow() as s:
        rows = review.review_queue(s, caller())
        return {"items": [document_out(d) for d in rows], "total": len(rows)}


@bp.get("/documents/<int:document_id>")
@bp.doc(security=SECURITY, responses=errors(403, 410))
@bp.output(DocumentOut)
@signed_in
def get_document(document_id: int) -> Any:
    """A document's metadata (404 if the caller may not know it exists)."""
    with uow() as s:
        doc = documents.get_document(s, caller(), document_id)
        if doc.status == "destroyed":
            raise Gone("document was destroyed", tombstone=serializers.tombstone(doc))
        return document_out(doc)


@bp.get("/documents/by-number/<path:number>")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(DocumentOut)
@signed_in
def by_number(number: str) -> Any:
    """Find a document by its current or an earlier archive number."""
    with uow() as s:
        return document_out(documents.find_by_number(s, caller(), number))


class AcceptIn(Schema):
    override_reason = String(
        load_default=None,
        validate=Length(max=1000),
        metadata={"description": "why the document is accepted although mandatory checks failed"},
    )


@bp.post("/documents/<int:document_id>/accept")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(AcceptIn, arg_name="body")
@bp.output(DocumentOut)
@signed_in
def accept(document_id: int, body: dict[str, Any]) -> Any:
    """The archivist accepts: allocates the archive number, computes the disposal date.

    The intake checks (四性检测) run again first: a failed mandatory item answers 409
    (``checks_failed``, each failed item with its words in Chinese and English) unless
    ``override_reason`` is given (audited, kept on the check report).
    """
    rt = runtime()
    with uow() as s:
        doc = review.accept(
            s, caller(), document_id, rt.archive, rt.checking, body.get("override_reason")
        )
        out = document_out(doc)
    return out


@bp.post("/documents/<int:document_id>/return")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(ReasonIn, arg_name="body")
@bp.output(DocumentOut)
@signed_in
def return_document(document_id: int, body: dict[str, Any]) -> Any:
    """The archivist returns a submission to the clerk, with the reason."""
    with uow() as s:
        return document_out(review.return_to_clerk(s, caller(), document_id, body["reason"]))


@bp.post("/documents/<int:document_id>/hold")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(ReasonIn, arg_name="body")
@bp.output(DocumentOut)
@signed_in
def place_hold(document_id: int, body: dict[str, Any]) -> Any:
    """Place a hold (dispute, litigation, open matter): the clock stops."""
    rt = runtime()
    with uow() as s:
        return document_out(
            holds.place_hold(s, caller(), document_id, body["reason"], rt.archive.retention)
        )


@bp.delete("/documents/<int:document_id>/hold")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(ReasonIn, arg_name="body")
@bp.output(DocumentOut)
@signed_in
def release_hold(document_id: int, body: dict[str, Any]) -> Any:
    """Release the hold: the document is kept at least five more years."""
    rt = runtime()
    with uow() as s:
        return document_out(
            holds.release_hold(s, caller(), document_id, body["reason"], rt.archive.retention)
        )


@bp.get("/documents/<int:document_id>/content")
@bp.doc(
    security=SECURITY,
    responses={
        **file_answer("the file, decrypted and verified", "application/octet-stream", "*/*"),
        **errors(403, 409, 410, 422),
    },
)
@bp.input(ContentQuery, location="query", arg_name="q")
@signed_in
def content(document_id: int, q: dict[str, Any]) -> Any:
    """The decrypted file, streamed and verified; registered in the access register.

    Managers give ``purpose``. ``disposition=inline`` is a preview. Either way it is the
    original file: a view-only reader is refused (``grant-view-only``) and reads
    ``/documents/{id}/pages`` instead.
    """
    rt = runtime()
    action = "preview" if q["disposition"] == "inline" else "download"
    with uow() as s:
        opened = reading.read_content(
            s, caller(), rt.vault, document_id, action, q["purpose"], q["version"]
        )
    return content_response(opened, q["disposition"])


@bp.get("/documents/<int:document_id>/pages")
@bp.doc(security=SECURITY, responses=errors(403, 409, 410, 422))
@bp.input(PagesQuery, location="query", arg_name="q")
@bp.output(PageCountOut)
@signed_in
def page_count(document_id: int, q: dict[str, Any]) -> Any:
    """How many pages the document shows as images (for readers whose grant is view-only:
    they get pages, never the file)."""
    count = page_views.page_total(uow, caller(), runtime().viewing, document_id, q["purpose"])
    return {"document_id": document_id, "pages": count}


@bp.get("/documents/<int:document_id>/pages/<int:page>")
@bp.doc(
    security=SECURITY,
    responses={**file_answer("the page as an image", "image/png"), **errors(403, 409, 410, 422)},
)
@bp.input(PagesQuery, location="query", arg_name="q")
@signed_in
def page_image(document_id: int, page: int, q: dict[str, Any]) -> Any:
    """One page as a PNG with the reader and the time burned in; registered as a page view."""
    png = page_views.show_page(uow, caller(), runtime().viewing, document_id, page, q["purpose"])
    return png_response(png)
