"""Hold case pages: the cases, opening one, a case with its items and history, adding
documents and customers, releasing it with a reason."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from archive_service.archive import hold_cases
from archive_service.archive.hold_serializers import case_detail
from archive_service.archive.vocabulary import HOLD_STATES
from archive_service.errors import DomainError
from archive_service.http import (
    caller,
    db_int,
    request_session,
    runtime,
    signed_in,
    uow,
)
from archive_service.policy import may, require
from archive_service.web.forms import (
    BadIds,
    HoldCaseForm,
    HoldItemsForm,
    ReasonForm,
    parse_ids,
    refusal,
)

bp = Blueprint("web_holds", __name__, url_prefix="/holds")


@bp.get("/")
@signed_in
def index() -> Any:
    state = request.args.get("state") or None
    if state not in HOLD_STATES:
        state = None
    page = max(1, request.args.get("page", 1, type=db_int) or 1)
    rows, total = hold_cases.list_cases(request_session(), caller(), state, page, 50)
    return render_template(
        "holds/index.html",
        cases=rows,
        total=total,
        state=state,
        page=page,
        states=HOLD_STATES,
        may_open=bool(may(caller(), "document.hold")),
    )


@bp.route("/new", methods=["GET", "POST"])
@signed_in
def new() -> Any:
    require(caller(), "document.hold")
    form = HoldCaseForm()
    if form.validate_on_submit():
        try:
            documents, customers = (
                parse_ids(form.document_ids.data),
                parse_ids(form.customer_ids.data),
            )
        except BadIds:
            flash(_("Ids are whole numbers, separated by commas or spaces."), "error")
            return render_template("holds/new.html", form=form)
        data = hold_cases.CaseIn(
            name=form.name.data or "",
            basis=form.basis.data,
            reason=form.reason.data or "",
            reference=form.reference.data,
            owner=form.owner.data,
        )
        try:
            with uow() as s:
                case = hold_cases.open_case(
                    s,
                    caller(),
                    data,
                    runtime().archive.retention,
                    document_ids=documents,
                    customer_ids=customers,
                )
                case_id = case.id
        except DomainError as exc:
            flash(refusal(exc), "error")
            return render_template("holds/new.html", form=form)
        flash(_("Hold case %(id)s opened.", id=case_id), "info")
        return redirect(url_for("web_holds.case", case_id=case_id))
    return render_template("holds/new.html", form=form)


@bp.get("/<int:case_id>")
@signed_in
def case(case_id: int) -> Any:
    s = request_session()
    found = hold_cases.get_case(s, caller(), case_id)
    return render_template(
        "holds/case.html",
        case=found,
        shown=case_detail(s, caller(), found, page=request.args.get("page", 1, type=db_int)),
        may_change=bool(may(caller(), "document.hold")),
        items_form=HoldItemsForm(),
        release_form=ReasonForm(),
    )


@bp.post("/<int:case_id>/items")
@signed_in
def add_items(case_id: int) -> Any:
    form = HoldItemsForm()
    if form.validate_on_submit():
        try:
            documents, customers = (
                parse_ids(form.document_ids.data),
                parse_ids(form.customer_ids.data),
            )
            with uow() as s:
                hold_cases.add_items(
                    s,
                    caller(),
                    case_id,
                    runtime().archive.retention,
                    document_ids=documents,
                    customer_ids=customers,
                )
            flash(_("Added to the case."), "info")
        except BadIds:
            flash(_("Ids are whole numbers, separated by commas or spaces."), "error")
        except DomainError as exc:
            flash(refusal(exc), "error")
    return redirect(url_for("web_holds.case", case_id=case_id))


@bp.post("/<int:case_id>/release")
@signed_in
def release(case_id: int) -> Any:
    form = ReasonForm()
    if not form.validate_on_submit():
        flash(_("A reason is required."), "error")
        return redirect(url_for("web_holds.case", case_id=case_id))
    try:
        with uow() as s:
            hold_cases.release(
                s, caller(), case_id, form.reason.data or "", runtime().archive.retention
            )
        flash(_("Hold case released."), "info")
    except DomainError as exc:
        flash(refusal(exc), "error")
    return redirect(url_for("web_holds.case", case_id=case_id))
