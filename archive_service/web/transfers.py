"""Transfer pages (移交): the transfers, a new application, one transfer with its approvals
and documents; deciding, writing the package, confirming the receipt."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from archive_service.access.applications import resolve_customer
from archive_service.archive.categories import category_tree
from archive_service.archive.customers import get_customer
from archive_service.errors import Conflict, DomainError, InvalidInput
from archive_service.http import caller, db_int, request_session, runtime, signed_in, uow
from archive_service.policy import may, require
from archive_service.responses import transfer_package
from archive_service.transfer import applications, reading
from archive_service.transfer.vocabulary import TRANSFER_STATUSES, TransferStatus
from archive_service.web.forms import (
    ActionForm,
    BadIds,
    ReceiptForm,
    TransferForm,
    attempt,
    parse_ids,
    refusal,
)

bp = Blueprint("web_transfers", __name__, url_prefix="/transfers")

PER_PAGE = 50
ITEMS_PER_PAGE = 100


def _page(name: str = "page") -> int:
    return max(1, request.args.get(name, 1, type=db_int) or 1)


@bp.get("/")
@signed_in
def index() -> Any:
    status = request.args.get("status") or None
    if status not in TRANSFER_STATUSES:
        status = None
    page = _page()
    s = request_session()
    rows, total = applications.list_transfers(s, caller(), status, page, PER_PAGE)
    return render_template(
        "transfers/index.html",
        transfers=rows,
        total=total,
        status=status,
        page=page,
        per_page=PER_PAGE,
        statuses=TRANSFER_STATUSES,
        waiting=applications.waiting_for(s, caller()),
        may_apply=bool(may(caller(), "transfer.apply")),
    )


def _customer_ids(form: TransferForm) -> list[int] | None:
    """The customers the form names: by id (any number), and one by exact name or credit
    code; each one the caller may see. None, with the field's error set, when one is not."""
    s = request_session()
    try:
        ids = parse_ids(form.customer_ids.data)
        for cid in ids:
            get_customer(s, caller(), cid)
    except BadIds:
        form.customer_ids.errors = [_("Ids are whole numbers, separated by commas or spaces.")]
        return None
    except DomainError as exc:
        form.customer_ids.errors = [refusal(exc)]
        return None
    named = (form.customer.data or "").strip()
    try:
        if named:
            ids.append(get_customer(s, caller(), resolve_customer(s, named)).id)
    except DomainError as exc:
        form.customer.errors = [refusal(exc)]
        return None
    return ids


def _new_page(form: TransferForm, prefilled: list[Any]) -> Any:
    return render_template(
        "transfers/new.html",
        form=form,
        prefilled=prefilled,
        tree=category_tree(request_session()),
    )


@bp.route("/new", methods=["GET", "POST"])
@signed_in
def new() -> Any:
    require(caller(), "transfer.apply")
    s = request_session()
    form = TransferForm()
    if request.method == "GET" and request.args.get("customer_id"):
        form.customer_ids.data = request.args.get("customer_id", "")
    try:
        prefilled = [get_customer(s, caller(), i) for i in parse_ids(form.customer_ids.data)]
    except (BadIds, DomainError):
        prefilled = []
    if not form.validate_on_submit():
        return _new_page(form, prefilled)
    customers = _customer_ids(form)
    if customers is None:
        return _new_page(form, prefilled)
    data = applications.TransferIn(
        selection=applications.Selection(
            customer_ids=customers,
            categories=form.categories.data or [],
            number_from=form.number_from.data,
            number_to=form.number_to.data,
        ),
        receiver=form.receiver.data or "",
        purpose=form.purpose.data or "",
        disposition=form.disposition.data or "",
    )
    try:
        with uow() as tx:
            made = applications.apply(tx, caller(), data, runtime().archive.operations_department)
            transfer_id, count = made.id, made.documents
    except DomainError as exc:
        field = exc.details.get("field")
        if isinstance(exc, InvalidInput) and field in form and field != "submit":
            form[field].errors = [refusal(exc)]
        else:
            numbers = ", ".join(exc.details.get("numbers") or [])
            why = refusal(exc) + (f": {numbers}" if numbers else "")
            flash(_("Not filed: %(why)s", why=why), "error")
        return _new_page(form, prefilled)
    flash(
        _(
            "Transfer %(id)s filed with %(n)s documents; it waits for approval.",
            id=transfer_id,
            n=count,
        ),
        "info",
    )
    return redirect(url_for("web_transfers.transfer", transfer_id=transfer_id))


@bp.get("/<int:transfer_id>")
@signed_in
def transfer(transfer_id: int) -> Any:
    s = request_session()
    t = applications.get_transfer(s, caller(), transfer_id)
    step = applications.current_step(t)
    page = _page("items_page")
    pages = max(1, -(-t.documents // ITEMS_PER_PAGE))
    page = min(page, pages)
    return render_template(
        "transfers/transfer.html",
        t=t,
        items=t.items[(page - 1) * ITEMS_PER_PAGE : page * ITEMS_PER_PAGE],
        items_page=page,
        items_pages=pages,
        customers=reading.selection_customers(s, caller(), t),
        categories={c.code: c for top, kids in category_tree(s) for c in (top, *kids)},
        may_decide=bool(
            t.status == TransferStatus.PENDING
            and step is not None
            and may(caller(), "transfer.decide", step)
        ),
        may_export=bool(
            t.status in TransferStatus.EXPORTABLE and may(caller(), "transfer.export", t)
        ),
        may_confirm=bool(
            t.status == TransferStatus.EXPORTED and may(caller(), "transfer.confirm", t)
        ),
        form=ActionForm(),
        receipt_form=ReceiptForm(),
    )


@bp.post("/<int:transfer_id>/decision")
@signed_in
def decide(transfer_id: int) -> Any:
    if ActionForm().validate_on_submit():
        attempt(
            _("Decision recorded."),
            lambda s: applications.decide(
                s,
                caller(),
                transfer_id,
                request.form.get("decision", ""),
                request.form.get("comment"),
            ),
        )
    return redirect(url_for("web_transfers.transfer", transfer_id=transfer_id))


@bp.post("/<int:transfer_id>/package")
@signed_in
def export_package(transfer_id: int) -> Any:
    """Write the package and hand it over, as the API does: the bytes live in a private
    temporary file only until they are sent."""
    if not ActionForm().validate_on_submit():
        return redirect(url_for("web_transfers.transfer", transfer_id=transfer_id))
    try:
        return transfer_package(runtime(), caller(), transfer_id)
    except (Conflict, InvalidInput) as exc:
        flash(refusal(exc), "error")
        return redirect(url_for("web_transfers.transfer", transfer_id=transfer_id))


@bp.post("/<int:transfer_id>/confirm")
@signed_in
def confirm(transfer_id: int) -> Any:
    form = ReceiptForm()
    if not form.validate_on_submit():
        flash(_("The receipt reference is required."), "error")
    else:
        attempt(
            _("Receipt confirmed: the documents are marked transferred."),
            lambda s: applications.confirm(
                s, caller(), transfer_id, form.receipt.data, runtime().archive.retention
            ),
        )
    return redirect(url_for("web_transfers.transfer", transfer_id=transfer_id))
