"""Archive pages: customers, their archive tree, upload, review queue, document page."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import pgettext

from archive_service.archive import (
    categories,
    disposal_date,
    documents,
    hold_cases,
    holds,
    reading,
)
from archive_service.archive import (
    customers as archive_customers,
)
from archive_service.archive import (
    review as archive_review,
)
from archive_service.archive.fonds import list_fonds
from archive_service.archive.vocabulary import (
    CUSTOMER_TYPES,
    PREVIEW_PDF,
    RETENTION_CLASSES,
    SCALES,
    THUMBNAIL,
    TIERS,
)
from archive_service.changes.services import history as change_history
from archive_service.checks import services as checks
from archive_service.checks.services import ChecksFailed
from archive_service.errors import DomainError, InvalidInput
from archive_service.http import caller, db_int, request_session, runtime, signed_in, uow
from archive_service.policy import may
from archive_service.responses import content_response, png_response, rendition_response
from archive_service.transfer import reading as transfer_reading
from archive_service.viewing import page_views, previews
from archive_service.web.changes import shown
from archive_service.web.checks import checks_refusal, checks_shown
from archive_service.web.forms import ActionForm, ReasonForm, attempt, refusal
from archive_service.web.paper import paper_context
from archive_service.workdays import local_day

bp = Blueprint("web_archive", __name__)


@bp.get("/customers")
@signed_in
def customers() -> Any:
    page = max(1, request.args.get("page", 1, type=db_int) or 1)
    rows, total = archive_customers.list_customers(
        request_session(),
        caller(),
        q=request.args.get("q") or None,
        tier=request.args.get("tier") or None,
        page=page,
        per_page=50,
    )
    return render_template(
        "archive/customers.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, (total + 49) // 50),
        tiers=TIERS,
    )


@bp.route("/customers/new", methods=["GET", "POST"])
@signed_in
def new_customer() -> Any:
    form = ActionForm()
    values = (
        dict(request.form)
        if request.method == "POST"
        else {
            "department": caller().user.department_code or "",  # type: ignore[union-attr]
            "customer_type": CUSTOMER_TYPES.default,
            "tier": TIERS.default,
        }
    )
    if form.validate_on_submit():
        try:
            with uow() as s:
                customer = archive_customers.create_customer(s, caller(), values)
            flash(_("Customer archive opened."), "info")
            return redirect(url_for("web_archive.customer", customer_id=customer.id))
        except DomainError as exc:
            flash(exc.message, "error")
    return render_template(
        "archive/customer_new.html",
        form=form,
        fonds=list_fonds(request_session()),
        default_fonds=runtime().archive.fonds,
        values=values,
        types=CUSTOMER_TYPES,
        tiers=TIERS,
        scales=SCALES,
    )


@bp.get("/customers/<int:customer_id>")
@signed_in
def customer(customer_id: int) -> Any:
    s = request_session()
    c = archive_customers.get_customer(s, caller(), customer_id)
    docs, _total = documents.list_documents(s, caller(), customer_id=c.id, per_page=500)
    counts = archive_customers.category_counts(s, caller(), c.id)
    tree = categories.category_tree(s)
    top_counts = {top.code: sum(counts.get(ch.code, 0) for ch in kids) for top, kids in tree}
    return render_template(
        "archive/customer.html",
        c=c,
        docs=docs,
        counts=counts,
        top_counts=top_counts,
        tree=tree,
        classes=RETENTION_CLASSES,
        can_upload=bool(may(caller(), "document.upload", c)),
        form=ActionForm(),
        category=request.args.get("category"),
        personal=archive_customers.personal_details_visible(caller(), c),
        history=shown(change_history(s, "customer", c.id)),
        can_change=bool(may(caller(), "change.file", c)),
        waiting=disposal_date.waiting_for_event,
    )


@bp.post("/customers/<int:customer_id>/upload")
@signed_in
def upload(customer_id: int) -> Any:
    """One file per request (the page sends each dropped file on its own, with progress)."""
    rt = runtime()
    f = request.files.get("file")
    if f is None:
        return jsonify({"ok": False, "error": _("No file was sent.")}), 422
    try:
        doc_date = (
            date.fromisoformat(request.form["document_date"])
            if request.form.get("document_date")
            else None
        )
    except ValueError:
        return jsonify({"ok": False, "error": _("Invalid date.")}), 422
    up = documents.Upload(
        customer_id=customer_id,
        category=request.form.get("category", ""),
        title=request.form.get("title") or (f.filename or "").rsplit(".", 1)[0],
        retention_class=request.form.get("retention_class", ""),
        document_date=doc_date,
        filename=f.filename or "",
        stream=f.stream,
        facts={k[6:]: v for k, v in request.form.items() if k.startswith("facts.")},
        allow_duplicate=request.form.get("allow_duplicate") == "1",
    )
    try:
        with uow() as s:
            doc = documents.upload(s, caller(), rt.vault, up, rt.archive)
            out = {
                "ok": True,
                "id": doc.id,
                "status": doc.status,
                "filename": up.filename,
                "url": url_for("web_archive.document", document_id=doc.id),
            }
    except DomainError as exc:
        return jsonify(
            {
                "ok": False,
                "error": refusal(exc),
                "code": exc.code,
                **{k: v for k, v in exc.details.items() if v is not None},
            }
        ), exc.status
    return jsonify(out), 201


@bp.get("/review")
@signed_in
def review() -> Any:
    s = request_session()
    queue = archive_review.review_queue(s, caller())
    return render_template(
        "archive/review.html",
        queue=queue,
        reports={d.id: checks_shown(checks.report_for_review(s, d)) for d in queue},
        form=ActionForm(),
        reject_form=ReasonForm(),
    )


@bp.post("/documents/<int:document_id>/accept")
@signed_in
def accept(document_id: int) -> Any:
    if ActionForm().validate_on_submit():
        try:
            with uow() as s:
                doc = archive_review.accept(
                    s,
                    caller(),
                    document_id,
                    runtime().archive,
                    runtime().checking,
                    request.form.get("override_reason"),
                )
            if doc.archive_number:
                flash(_("Accepted as %(number)s.", number=doc.archive_number), "info")
            else:
                flash(_("First review recorded; a second archivist completes it."), "info")
        except ChecksFailed as exc:
            flash(checks_refusal(exc), "error")
        except DomainError as exc:
            flash(exc.message, "error")
    return redirect(request.form.get("next") or url_for("web_archive.review"))


@bp.post("/documents/<int:document_id>/return")
@signed_in
def return_document(document_id: int) -> Any:
    form = ReasonForm()
    if form.validate_on_submit():
        attempt(
            _("Returned to the clerk."),
            lambda s: archive_review.return_to_clerk(
                s, caller(), document_id, form.reason.data or ""
            ),
        )
    else:
        flash(_("A reason is required."), "error")
    return redirect(url_for("web_archive.review"))


@bp.get("/documents/<int:document_id>")
@signed_in
def document(document_id: int) -> Any:
    s = request_session()
    doc = documents.get_document(s, caller(), document_id)
    return render_template(
        "archive/document.html",
        doc=doc,
        numbers=archive_review.number_history(s, doc.id),
        retention=disposal_date.retention_history(s, doc.id),
        waiting=disposal_date.waiting_for_event,
        retention_code=runtime().archive.retention.code(doc.retention_class),
        submitted_on=local_day(doc.submitted_at),
        authority=runtime().archive.retention.authority(doc.retention_class),
        register=reading.register_for(s, doc.id),
        renditions=previews.renditions_of(s, doc),
        can_read=bool(may(caller(), "document.read", doc)),
        can_download=bool(may(caller(), "document.download", doc)),
        needs_purpose=may(caller(), "document.read", doc).rule == "manager-registered",
        can_hold=bool(may(caller(), "document.hold", doc)),
        holding=hold_cases.cases_holding(s, doc) if may(caller(), "hold.read") else [],
        can_review=bool(may(caller(), "document.review", doc)),
        checks=checks_shown(checks.newest_report(s, doc)),
        form=ActionForm(),
        reason_form=ReasonForm(),
        history=shown(change_history(s, "document", doc.id)),
        can_change=doc.status == "accepted" and bool(may(caller(), "change.file", doc.customer)),
        transferred_by=transfer_reading.transferred_by(s, caller(), doc),
        received=transfer_reading.received_history(s, doc.id),
        **paper_context(s, doc),
    ), (410 if doc.status == "destroyed" else 200)


@bp.get("/documents/<int:document_id>/file")
@signed_in
def file(document_id: int) -> Any:
    """Download, or preview with ``inline=1``; registered like every reading."""
    rt = runtime()
    inline = request.args.get("inline") == "1"
    try:
        with uow() as s:
            opened = reading.read_content(
                s,
                caller(),
                rt.vault,
                document_id,
                "preview" if inline else "download",
                request.args.get("purpose"),
                request.args.get("version", type=db_int),
            )
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("web_archive.document", document_id=document_id))
    resp = content_response(opened, "inline" if inline else "attachment")
    if inline:  # shown inside our own page only
        resp.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'self'"
        resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp


def _rendition(document_id: int, kind: str, content_type: str) -> Any:
    """A preview or thumbnail, shown inside our own page only; registered like a reading."""
    try:
        with uow() as s:
            opened = reading.read_rendition(
                s, caller(), runtime().vault, document_id, kind, request.args.get("purpose")
            )
    except InvalidInput as exc:
        flash(exc.message, "error")
        return redirect(url_for("web_archive.document", document_id=document_id))
    except reading.PreviewUnavailable as exc:
        message = pgettext(exc.term.label.context, exc.term.label.english)
        return render_template("error.html", status=409, message=message), 409
    resp = rendition_response(opened, content_type)
    resp.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'self'"
    resp.headers["X-Frame-Options"] = "SAMEORIGIN"
    return resp


@bp.get("/documents/<int:document_id>/preview")
@signed_in
def preview(document_id: int) -> Any:
    """The preview PDF (office documents converted, images scaled to fit)."""
    return _rendition(document_id, PREVIEW_PDF, "application/pdf")


@bp.get("/documents/<int:document_id>/thumbnail.png")
@signed_in
def thumbnail(document_id: int) -> Any:
    """The first page, small, for the document page."""
    return _rendition(document_id, THUMBNAIL, "image/png")


@bp.get("/documents/<int:document_id>/view")
@signed_in
def view_pages(document_id: int) -> Any:
    """The document page by page, as images the server rendered and watermarked: how a
    reader whose grant is view-only reads it (anyone who may read may page through)."""
    purpose = request.args.get("purpose")
    page = max(1, request.args.get("page", 1, type=db_int) or 1)
    count = page_views.page_total(uow, caller(), runtime().viewing, document_id, purpose)
    doc = documents.get_document(request_session(), caller(), document_id)
    return render_template(
        "archive/pages.html", doc=doc, page=min(page, count), pages=count, purpose=purpose
    )


@bp.get("/documents/<int:document_id>/pages/<int:page>.png")
@signed_in
def page_image(document_id: int, page: int) -> Any:
    png = page_views.show_page(
        uow, caller(), runtime().viewing, document_id, page, request.args.get("purpose")
    )
    return png_response(png)


@bp.post("/documents/<int:document_id>/hold")
@signed_in
def hold(document_id: int) -> Any:
    form = ReasonForm()
    release = request.form.get("release") == "1"
    if form.validate_on_submit():
        change = holds.release_hold if release else holds.place_hold
        rules = runtime().archive.retention
        attempt(
            _("Hold released.") if release else _("Hold placed."),
            lambda s: change(s, caller(), document_id, form.reason.data or "", rules),
        )
    else:
        flash(_("A reason is required."), "error")
    return redirect(url_for("web_archive.document", document_id=document_id))
