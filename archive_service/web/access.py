"""Access pages: apply, my applications, approvals inbox, grants, the access register."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from archive_service.access import applications
from archive_service.access import grants as access_grants
from archive_service.access import register as access_register
from archive_service.access.serializers import REGISTER_COLUMNS, record_dict
from archive_service.access.vocabulary import LENDING_MODES, MODES
from archive_service.accounts.users import active_holders
from archive_service.archive.categories import category_tree
from archive_service.errors import DomainError, InvalidInput
from archive_service.http import caller, db_int, request_session, runtime, signed_in, uow
from archive_service.paper import lending
from archive_service.responses import attachment_response, csv_response, table
from archive_service.viewing.sessions import sessions_for
from archive_service.web.forms import ActionForm, ReasonForm, attempt, refusal

bp = Blueprint("web_access", __name__, url_prefix="/access")


def _day(value: str, end: bool = False) -> datetime:
    day = datetime.strptime(value, "%Y-%m-%d").date()  # noqa: DTZ007 - a calendar day
    moment = datetime.combine(day, time.max if end else time.min, tzinfo=UTC)
    return moment


@bp.route("/apply", methods=["GET", "POST"])
@signed_in
def apply() -> Any:
    form = ActionForm()
    today = datetime.now(UTC).date()
    values = (
        dict(request.form)
        if request.method == "POST"
        else {
            "starts": today.isoformat(),
            "ends": (today + timedelta(days=7)).isoformat(),
            "mode": "view",
            "numbers": request.args.get("numbers", ""),
        }
    )
    if form.validate_on_submit():
        try:
            with uow() as s:
                numbers = tuple(
                    n for n in values.get("numbers", "").replace("，", ",").split(",") if n.strip()
                )
                customer = None if numbers else values.get("customer", "")
                start = _day(values["starts"])
                req = applications.apply(
                    s,
                    caller(),
                    applications.Application(
                        purpose=values.get("purpose", ""),
                        mode=values.get("mode", ""),
                        starts_at=max(start, datetime.now(UTC)) if start.date() == today else start,
                        ends_at=_day(values["ends"], end=True),
                        numbers=numbers,
                        customer=customer,
                        categories=tuple(request.form.getlist("categories")) if customer else (),
                        take_away=bool(values.get("take_away")),
                    ),
                    runtime().archive.operations_department,
                )
                if req.external:
                    _attach_legal_basis(s, req.id)
            flash(_("Application %(id)s filed; it now waits for approval.", id=req.id), "info")
            return redirect(url_for("web_access.mine"))
        except DomainError as exc:
            flash(refusal(exc), "error")
        except (ValueError, KeyError):
            flash(_("Invalid date."), "error")
    return render_template(
        "access/apply.html",
        form=form,
        values=values,
        tree=category_tree(request_session()),
        modes=MODES,
        lending_modes=LENDING_MODES,
    )


def _attach_legal_basis(session: Any, request_id: int) -> None:
    """External applications carry their legal basis from the start (same transaction)."""
    upload = request.files.get("legal_basis")
    if upload is None or not upload.filename:
        raise InvalidInput(
            _("Attach the legal basis or letter of authorisation."), field="legal_basis"
        )
    rt = runtime()
    applications.attach_legal_basis(
        session,
        caller(),
        rt.vault,
        request_id,
        upload.filename,
        upload.stream,
        rt.archive.intake,
    )


@bp.get("/<int:request_id>/legal-basis")
@signed_in
def legal_basis(request_id: int) -> Any:
    with uow() as s:
        file = applications.legal_basis(s, caller(), runtime().vault, request_id)
    return attachment_response(file)


@bp.get("/mine")
@signed_in
def mine() -> Any:
    s = request_session()
    loans, _total = lending.list_loans(s, caller(), open_only=True, mine=True, per_page=200)
    return render_template(
        "access/mine.html",
        rows=applications.my_requests(s, caller()),
        loans=[(x, lending.number_of(s, x)) for x in loans],
        is_overdue=lending.is_overdue,
    )


@bp.get("/inbox")
@signed_in
def inbox() -> Any:
    s = request_session()
    supervisors = active_holders(s, "supervisor")
    return render_template(
        "access/inbox.html",
        rows=applications.inbox(s, caller()),
        form=ActionForm(),
        supervisors=supervisors,
    )


@bp.post("/<int:request_id>/decision")
@signed_in
def decide(request_id: int) -> Any:
    if ActionForm().validate_on_submit():
        decision = request.form.get("decision", "")
        try:
            with uow() as s:
                applications.decide(
                    s,
                    caller(),
                    request_id,
                    decision,
                    request.form.get("comment"),
                    request.form.get("supervisor"),
                )
            flash(_("Decision recorded."), "info")
        except DomainError as exc:
            flash(exc.message, "error")
    return redirect(url_for("web_access.inbox"))


@bp.get("/grants")
@signed_in
def grants() -> Any:
    return render_template(
        "access/grants.html",
        rows=access_grants.active_grants(request_session(), caller()),
        form=ReasonForm(),
    )


@bp.post("/grants/<int:grant_id>/revoke")
@signed_in
def revoke(grant_id: int) -> Any:
    form = ReasonForm()
    if form.validate_on_submit():
        attempt(
            _("Grant revoked."),
            lambda s: access_grants.revoke(s, caller(), grant_id, form.reason.data or ""),
        )
    else:
        flash(_("A reason is required."), "error")
    return redirect(url_for("web_access.grants"))


@bp.get("/register")
@signed_in
def register() -> Any:
    a = request.args
    try:
        f = access_register.RegisterFilter(
            user=a.get("user") or None,
            document_id=a.get("document_id", type=db_int),
            customer_id=a.get("customer_id", type=db_int),
            since=_day(a["since"]) if a.get("since") else None,
            until=_day(a["until"], end=True) if a.get("until") else None,
        )
    except ValueError:
        f = access_register.RegisterFilter()
    export = a.get("format") == "csv"
    page = max(1, a.get("page", 1, type=db_int) or 1)
    with uow() as s:
        rows, total = access_register.read_register(s, caller(), f, page, 50, export=export)
        items = [record_dict(r) for r in rows]
    if export:
        return csv_response("access-register.csv", REGISTER_COLUMNS, table(items, REGISTER_COLUMNS))
    return render_template(
        "access/register.html",
        rows=items,
        total=total,
        page=page,
        pages=max(1, (total + 49) // 50),
        sessions=sessions_for(request_session(), caller())[:50],
    )
