"""Paper original pages: the storage places, a document's original (on its page) with its
hand-out and return, label sheets, the scan box, the overdue loans, and stocktakes —
counting, the report, the sign-off, its export."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import pgettext

from archive_service.errors import DomainError, Gone
from archive_service.http import (
    caller,
    db_int,
    public_base,
    request_session,
    runtime,
    signed_in,
    uow,
)
from archive_service.paper import items, labels, lending, locations, report, stocktake
from archive_service.paper.items import NUMBER_PARAM
from archive_service.paper.models import Location
from archive_service.paper.vocabulary import FINDINGS, STOCKTAKE_STATES, ItemState
from archive_service.policy import may, require
from archive_service.responses import download_response
from archive_service.tables import XLSX
from archive_service.web.forms import (
    ActionForm,
    BadIds,
    FindForm,
    LendForm,
    LocationForm,
    PaperForm,
    ReturnForm,
    SignForm,
    parse_ids,
)

bp = Blueprint("web_paper", __name__, url_prefix="/paper")


def said(exc: DomainError) -> str:
    """A refusal of this area in the interface's language (its messages are translated in
    the context ``paper refusal``)."""
    return pgettext("paper refusal", exc.message)


def place_choices(places: list[Location], empty: str) -> list[tuple[str, str]]:
    return [("", empty)] + [(str(p.id), f"{'　' * _depth(p)}{p.code} · {p.name}") for p in places]


def _depth(place: Location) -> int:
    n, at = 0, place.parent
    while at is not None and n < 10:
        n, at = n + 1, at.parent
    return n


def _place_id(raw: str | None) -> int | None:
    value = db_int(raw) if raw else None
    return value or None


@bp.get("/")
@signed_in
def index() -> Any:
    require(caller(), "paper.read")
    s = request_session()
    places = locations.all_locations(s, caller())
    form = LocationForm()
    form.parent_id.choices = place_choices(places, _("(at the top)"))
    rows, _total = stocktake.list_stocktakes(s, caller(), 1, 20)
    overdue, _n = lending.list_loans(s, caller(), overdue=True, per_page=200)
    _out, on_loan = lending.list_loans(s, caller(), open_only=True, per_page=1)
    return render_template(
        "paper/index.html",
        places=places,
        held=locations.counts(s),
        depth=_depth,
        form=form,
        start_form=ActionForm(),
        stocktakes=rows,
        states=STOCKTAKE_STATES,
        overdue=overdue,
        on_loan=on_loan,
        days_overdue=lending.days_overdue,
        number_of=lambda loan: lending.number_of(s, loan) or "—",
        may_manage=bool(may(caller(), "paper.manage")),
        may_count=bool(may(caller(), "stocktake.run")),
    )


@bp.post("/locations")
@signed_in
def create_location() -> Any:
    form = LocationForm()
    form.parent_id.choices = []
    if not form.validate_on_submit():
        flash(_("Code and name are required."), "error")
        return redirect(url_for("web_paper.index"))
    data = locations.LocationIn(
        code=form.code.data or "",
        name=form.name.data or "",
        kind=form.kind.data or "",
        parent_id=_place_id(form.parent_id.data),
    )
    try:
        with uow() as s:
            locations.create_location(s, caller(), data)
        flash(_("Storage place added."), "info")
    except DomainError as exc:
        flash(said(exc), "error")
    return redirect(url_for("web_paper.index"))


@bp.post("/documents/<int:document_id>")
@signed_in
def record_original(document_id: int) -> Any:
    form = PaperForm()
    if form.validate_on_submit():
        pages = (form.pages.data or "").strip()
        if pages and not pages.isdigit():
            flash(_("Pages is a whole number."), "error")
            return redirect(url_for("web_archive.document", document_id=document_id))
        data = items.PaperIn(
            location_id=_place_id(form.location_id.data),
            pages=int(pages) if pages else None,
            note=form.note.data,
        )
        try:
            with uow() as s:
                items.record_original(s, caller(), document_id, data)
            flash(_("Paper original saved."), "info")
        except DomainError as exc:
            flash(said(exc), "error")
    return redirect(url_for("web_archive.document", document_id=document_id) + "#paper")


def _back_to(document_id: int) -> Any:
    return redirect(url_for("web_archive.document", document_id=document_id) + "#paper")


@bp.post("/documents/<int:document_id>/lend")
@signed_in
def lend(document_id: int) -> Any:
    form = LendForm()
    if not form.validate_on_submit():
        flash(_("Check the due day and try again."), "error")
        return _back_to(document_id)
    grant = db_int(form.grant_id.data) if form.grant_id.data else None
    if not grant:
        flash(_("Choose the borrower's grant."), "error")
        return _back_to(document_id)
    data = lending.LoanIn(
        document_id=document_id,
        grant_id=grant,
        due_on=form.due_on.data,
        place=form.place.data,
        note=form.note.data,
    )
    try:
        with uow() as s:
            loan = lending.hand_out(s, caller(), data, runtime().settings.paper_loan_days)
            due = loan.due_on.isoformat()
        flash(_("Handed out; due back on %(day)s.", day=due), "info")
    except DomainError as exc:
        if exc.status == 403:
            raise
        flash(said(exc), "error")
    return _back_to(document_id)


@bp.post("/documents/<int:document_id>/return")
@signed_in
def take_back(document_id: int) -> Any:
    form = ReturnForm()
    if form.validate_on_submit():
        try:
            with uow() as s:
                lending.take_back_document(s, caller(), document_id, form.note.data)
            flash(_("The return is recorded; the original is in place again."), "info")
        except DomainError as exc:
            if exc.status == 403:
                raise
            flash(said(exc), "error")
    return _back_to(document_id)


@bp.get("/labels.pdf")
@signed_in
def label_sheet() -> Any:
    """The labels of ``?ids=1,2,3`` as a PDF to print."""
    try:
        ids = parse_ids(request.args.get("ids", ""))
    except BadIds:
        ids = []
    try:
        made = labels.labels_for(
            request_session(), caller(), ids, public_base(), runtime().archive.fonds
        )
    except DomainError as exc:
        if exc.status in (401, 403):
            raise
        flash(said(exc), "error")
        return redirect(url_for("web_paper.index"))
    return download_response(labels.sheet_pdf(made), "application/pdf", "labels.pdf")


@bp.get("/scan")
@signed_in
def scan() -> Any:
    """A label's QR code opens here (``?n=…&f=…``), a typed or scanned code too
    (``?code=…``): the record, for those who may see it; else a plain answer."""
    number = request.args.get(NUMBER_PARAM, "").strip()
    code = request.args.get("code", "").strip()
    if number:  # the address itself, as a scanner would have typed it
        code = request.url
    if not code:
        return render_template("paper/scan.html", problem=None, code="")
    try:
        got = items.scan(request_session(), caller(), code, runtime().archive.fonds)
    except Gone as exc:
        day = exc.details.get("destroyed_on") or "—"
        problem = _("This item was destroyed on %(day)s.", day=day)
        return render_template("paper/scan.html", problem=problem, code=code), 410
    except DomainError as exc:
        if exc.status == 401:
            raise
        return render_template("paper/scan.html", problem=said(exc), code=code), exc.status
    return redirect(url_for("web_archive.document", document_id=got.document.id))


@bp.post("/stocktakes")
@signed_in
def start_stocktake() -> Any:
    place = _place_id(request.form.get("location_id"))
    form = ActionForm()
    if not form.validate_on_submit():
        return redirect(url_for("web_paper.index"))
    try:
        with uow() as s:
            take_id = stocktake.start(s, caller(), place).id
    except DomainError as exc:
        flash(said(exc), "error")
        running = exc.details.get("stocktake_id")
        if running:
            return redirect(url_for("web_paper.stocktake_page", stocktake_id=running))
        return redirect(url_for("web_paper.index"))
    return redirect(url_for("web_paper.stocktake_page", stocktake_id=take_id))


@bp.get("/stocktakes/<int:stocktake_id>")
@signed_in
def stocktake_page(stocktake_id: int) -> Any:
    s = request_session()
    take = stocktake.get_stocktake(s, caller(), stocktake_id)
    lines = stocktake.report_of(s, take)
    places = locations.all_locations(s, caller())
    scope = None if take.location_id is None else locations.subtree_ids(s, take.location_id)
    find_form = FindForm()
    find_form.location_id.choices = place_choices(
        [p for p in places if scope is None or p.id in scope], _("(where the record says)")
    )
    return render_template(
        "paper/stocktake.html",
        take=take,
        lines=lines,
        totals=stocktake.summary(lines),
        findings=FINDINGS,
        path=locations.path,
        find_form=find_form,
        form=ActionForm(),
        sign_form=SignForm(),
        may_count=bool(may(caller(), "stocktake.run", take)) and take.state == "open",
        may_sign=bool(may(caller(), "stocktake.sign", take)) and take.state == "finished",
    )


@bp.post("/stocktakes/<int:stocktake_id>/finds")
@signed_in
def record_find(stocktake_id: int) -> Any:
    # The scan box (``code``) or an item's "found here" button (``item_code``).
    code = (request.form.get("code") or request.form.get("item_code") or "").strip()
    if not ActionForm().validate_on_submit():
        flash(_("The form has expired; please try again."), "error")
    elif not code:
        flash(_("Scan or type a label's code."), "error")
    else:
        try:
            with uow() as s:
                stocktake.record_find(
                    s,
                    caller(),
                    stocktake_id,
                    code,
                    _place_id(request.form.get("location_id")),
                    runtime().archive.fonds,
                )
            flash(_("Recorded as found."), "info")
        except DomainError as exc:
            flash(said(exc), "error")
    return redirect(url_for("web_paper.stocktake_page", stocktake_id=stocktake_id) + "#scan")


@bp.post("/stocktakes/<int:stocktake_id>/finish")
@signed_in
def finish(stocktake_id: int) -> Any:
    if ActionForm().validate_on_submit():
        try:
            with uow() as s:
                stocktake.finish(s, caller(), stocktake_id)
            flash(_("The count is finished; the report waits for the sign-off."), "info")
        except DomainError as exc:
            flash(said(exc), "error")
    return redirect(url_for("web_paper.stocktake_page", stocktake_id=stocktake_id))


@bp.post("/stocktakes/<int:stocktake_id>/sign")
@signed_in
def sign(stocktake_id: int) -> Any:
    form = SignForm()
    if form.validate_on_submit():
        try:
            with uow() as s:
                stocktake.sign(s, caller(), stocktake_id, form.comment.data)
            flash(_("The report is signed off."), "info")
        except DomainError as exc:
            flash(said(exc), "error")
    return redirect(url_for("web_paper.stocktake_page", stocktake_id=stocktake_id))


@bp.get("/stocktakes/<int:stocktake_id>/report.<fmt>")
@signed_in
def report_file(stocktake_id: int, fmt: str) -> Any:
    if fmt not in ("pdf", "xlsx"):
        return redirect(url_for("web_paper.stocktake_page", stocktake_id=stocktake_id))
    s = request_session()
    take = stocktake.get_stocktake(s, caller(), stocktake_id)
    body = report.report_file(s, take, fmt)
    kind = "application/pdf" if fmt == "pdf" else XLSX
    return download_response(body, kind, f"stocktake-{stocktake_id}.{fmt}")


def paper_context(s: Any, doc: Any) -> dict[str, Any]:
    """What the document page shows of its paper original (to whoever sees the page), and
    the form to record it (to those who keep the originals)."""
    form = None
    if may(caller(), "paper.manage", doc) and doc.status != "destroyed":
        form = PaperForm()
        form.location_id.choices = place_choices(
            locations.all_locations(s, caller()), _("(not placed yet)")
        )
        item = items.paper_of(s, doc.id)
        if item is not None and request.method == "GET":
            form.location_id.data = str(item.location_id or "")
            form.pages.data = str(item.pages or "")
            form.note.data = item.note or ""
    item = items.paper_of(s, doc.id)
    loan = lending.open_loan_of(s, doc.id) if item is not None else None
    if loan is not None and not (
        may(caller(), "paper.loans") or loan.borrower_id == caller().user_id
    ):
        loan = None  # who borrowed it is for the paper's keepers (and the borrower) to see
    lend_form = return_form = None
    if item is not None and may(caller(), "paper.lend", doc) and doc.status != "destroyed":
        if item.state == ItemState.IN_PLACE:
            lend_form = LendForm()
            lend_form.grant_id.choices = [("", _("(choose the borrower's grant)"))] + [
                (str(g.id), _grant_label(g)) for g in lending.lendable_grants(s, doc)
            ]
        elif loan is not None:
            return_form = ReturnForm()
    return {
        "paper": item,
        "paper_form": form,
        "paper_path": locations.path,
        "loan": loan,
        "loan_overdue": lending.is_overdue(loan) if loan is not None else False,
        "lend_form": lend_form,
        "return_form": return_form,
    }


def _grant_label(grant: Any) -> str:
    who = grant.user.display_name or grant.user.username
    words = _("G%(id)s · %(who)s · until %(day)s", id=grant.id, who=who,
              day=lending.today(grant.ends_at).isoformat())  # fmt: skip
    if grant.request is not None and grant.request.take_away:
        words += " · " + _("may take it away")
    return str(words)
