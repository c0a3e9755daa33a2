"""Recurring review pages (定期检查): the reviews, one review with its completion form (for a
tier re-evaluation, the department's customers with their tiers to change)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from archive_service.archive.customers import list_customers
from archive_service.archive.vocabulary import TIERS
from archive_service.duties import services
from archive_service.duties.vocabulary import DUTY_STATES
from archive_service.errors import DomainError
from archive_service.http import caller, db_int, request_session, runtime, signed_in, uow
from archive_service.policy import may
from archive_service.web.forms import ActionForm, refusal

bp = Blueprint("web_duties", __name__, url_prefix="/duties")
MAX_CUSTOMERS = 500  # shown on a tier re-evaluation's page


@bp.get("/")
@signed_in
def index() -> Any:
    state = request.args.get("state") or None
    if state not in DUTY_STATES:
        state = None
    page = max(1, request.args.get("page", 1, type=db_int) or 1)
    s = request_session()
    rows, total = services.list_tasks(s, caller(), state, page, 50)
    return render_template(
        "duties/index.html",
        tasks=rows,
        total=total,
        page=page,
        state=state,
        states=DUTY_STATES,
        mine={t.id for t in services.mine_open(s, caller())},
        today=services.today_here(),
    )


@bp.get("/<int:task_id>")
@signed_in
def task(task_id: int) -> Any:
    s = request_session()
    found = services.get_task(s, caller(), task_id)
    kind = services.kind_of(found)
    may_do = bool(may(caller(), "duty.complete", found)) and found.state == "open"
    customers: list[Any] = []
    if may_do and kind.changes_tiers:
        customers, _total = list_customers(
            s, caller(), department=found.department.code, per_page=MAX_CUSTOMERS
        )
    return render_template(
        "duties/task.html",
        task=found,
        kind=kind,
        may_do=may_do,
        customers=customers,
        tiers=TIERS,
        form=ActionForm(),
        today=services.today_here(),
    )


@bp.post("/<int:task_id>/complete")
@signed_in
def complete(task_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        flash(_("The form has expired; please try again."), "error")
        return redirect(url_for("web_duties.task", task_id=task_id))
    reason = (request.form.get("reason") or "").strip()
    changes = []
    for key, tier in request.form.items():
        if key.startswith("tier-") and tier and tier != request.form.get(f"was-{key[5:]}"):
            customer = db_int(key[5:])
            if customer:
                changes.append(services.TierChange(customer, tier, reason))
    done = services.Done(request.form.get("result") or "", changes)
    rt = runtime()
    try:
        with uow() as s:
            services.complete(s, caller(), task_id, done, rt.vault, rt.archive)
    except DomainError as exc:
        flash(refusal(exc), "error")
        return redirect(url_for("web_duties.task", task_id=task_id))
    if changes:
        flash(_("Review recorded; %(n)s tier changes filed for approval.", n=len(changes)), "info")
    else:
        flash(_("Review recorded."), "info")
    return redirect(url_for("web_duties.task", task_id=task_id))
