"""Disposal pages: reviews, appraisal, destruction applications, approvals, execution, records."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from archive_service.accounts.users import active_holders
from archive_service.disposal import destruction_list, destructions, records, reviews
from archive_service.disposal.serializers import backup_dict
from archive_service.disposal.vocabulary import DestructionStatus
from archive_service.errors import DomainError
from archive_service.http import caller, request_session, runtime, signed_in, uow
from archive_service.policy import may
from archive_service.responses import download_response
from archive_service.web.forms import ActionForm, attempt

bp = Blueprint("web_disposal", __name__, url_prefix="/disposal")


@bp.get("/")
@signed_in
def index() -> Any:
    s = request_session()
    listed_reviews, _n = reviews.list_reviews(s, caller(), per_page=20)
    listed_destructions, _m = destructions.list_destructions(s, caller(), per_page=20)
    return render_template(
        "disposal/index.html",
        waiting=destructions.waiting_for(s, caller()),
        reviews=listed_reviews,
        destructions=listed_destructions,
        may_compile=bool(may(caller(), "review.compile")),
        form=ActionForm(),
    )


@bp.post("/reviews")
@signed_in
def compile_review() -> Any:
    if not ActionForm().validate_on_submit():
        return redirect(url_for("web_disposal.index"))
    try:
        with uow() as s:
            review = reviews.compile_review(s, caller(), runtime().archive.retention)
            review_id, count = review.id, len(review.items)
        flash(_("Review %(id)s compiled with %(n)s documents.", id=review_id, n=count), "info")
        return redirect(url_for("web_disposal.review", review_id=review_id))
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web_disposal.index"))


@bp.get("/reviews/<int:review_id>")
@signed_in
def review(review_id: int) -> Any:
    s = request_session()
    rev = reviews.get_review(s, caller(), review_id)
    return render_template(
        "disposal/review.html",
        review=rev,
        may_confirm=bool(may(caller(), "review.confirm", rev)),
        may_appraise=bool(may(caller(), "review.appraise", rev)),
        may_apply=bool(may(caller(), "destruction.apply", rev)),
        form=ActionForm(),
        today=date.today().isoformat(),
    )


@bp.post("/reviews/<int:review_id>/confirm")
@signed_in
def confirm(review_id: int) -> Any:
    if ActionForm().validate_on_submit():
        attempt(
            _("The list is confirmed; archivists appraise it now."),
            lambda s: reviews.confirm(s, caller(), review_id),
        )
    return redirect(url_for("web_disposal.review", review_id=review_id))


@bp.post("/reviews/<int:review_id>/items/<int:document_id>")
@signed_in
def appraise(review_id: int, document_id: int) -> Any:
    if ActionForm().validate_on_submit():
        until = request.form.get("retain_until") or None
        try:
            retain_until = date.fromisoformat(until) if until else None
        except ValueError:
            flash(_("Invalid date."), "error")
            return redirect(url_for("web_disposal.review", review_id=review_id))
        attempt(
            _("Appraisal recorded."),
            lambda s: reviews.appraise(
                s,
                caller(),
                review_id,
                document_id,
                request.form.get("decision", ""),
                retain_until,
                request.form.get("reason"),
                runtime().archive.retention,
            ),
        )
    return redirect(url_for("web_disposal.review", review_id=review_id))


@bp.post("/reviews/<int:review_id>/destruction")
@signed_in
def apply(review_id: int) -> Any:
    if not ActionForm().validate_on_submit():
        return redirect(url_for("web_disposal.review", review_id=review_id))
    try:
        with uow() as s:
            dest_id = destructions.apply_for_destruction(
                s, caller(), review_id, runtime().archive.operations_department
            ).id
        flash(_("Destruction application filed; it waits for approval."), "info")
        return redirect(url_for("web_disposal.destruction", destruction_id=dest_id))
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("web_disposal.review", review_id=review_id))


@bp.get("/destructions/<int:destruction_id>")
@signed_in
def destruction(destruction_id: int) -> Any:
    s = request_session()
    dest = destructions.get_destruction(s, caller(), destruction_id)
    step = destructions.current_step(dest)
    return render_template(
        "disposal/destruction.html",
        dest=dest,
        journal=backup_dict(dest),
        may_decide=bool(
            dest.status == DestructionStatus.PENDING
            and step
            and may(caller(), "destruction.decide", step)
        ),
        may_execute=bool(
            dest.status in DestructionStatus.STARTABLE
            and may(caller(), "destruction.execute", dest)
        ),
        supervisors=[u for u in active_holders(s, "supervisor") if u.id != caller().user_id],
        form=ActionForm(),
    )


@bp.post("/destructions/<int:destruction_id>/decision")
@signed_in
def decide(destruction_id: int) -> Any:
    if ActionForm().validate_on_submit():
        attempt(
            _("Decision recorded."),
            lambda s: destructions.decide(
                s,
                caller(),
                destruction_id,
                request.form.get("decision", ""),
                request.form.get("comment"),
            ),
        )
    return redirect(url_for("web_disposal.destruction", destruction_id=destruction_id))


@bp.post("/destructions/<int:destruction_id>/execute")
@signed_in
def execute(destruction_id: int) -> Any:
    if ActionForm().validate_on_submit():
        try:
            with uow() as s:
                destructions.start(
                    s,
                    caller(),
                    destruction_id,
                    request.form.get("supervisor", ""),
                    request.form.get("place", ""),
                )
            flash(_("Destruction started; this page shows its progress."), "info")
        except DomainError as exc:
            flash(exc.message, "error")
    return redirect(url_for("web_disposal.destruction", destruction_id=destruction_id))


@bp.get("/destructions/<int:destruction_id>/record")
@signed_in
def record_page(destruction_id: int) -> Any:
    """The printable destruction record (销毁记录), its signature, and the verification."""
    signer = runtime().signer
    with uow() as s:
        dest, signed = records.export_record(s, caller(), signer, destruction_id)
        checked = request.args.get("verify") == "1"
        ok = records.verify_record(s, caller(), signer, destruction_id) if checked else None
    return render_template(
        "disposal/record.html", dest=dest, signed=signed, rec=signed["record"], ok=ok
    )


@bp.get("/destructions/<int:destruction_id>/list.<fmt>")
@signed_in
def list_file(destruction_id: int, fmt: str) -> Any:
    """The destruction list (销毁清册) as PDF or XLSX."""
    if fmt not in destruction_list.FORMATS:
        abort(404)
    with uow() as s:
        listed = destruction_list.destruction_list(
            s, caller(), runtime().archive.retention, destruction_id, fmt
        )
        body, content_type, name = destruction_list.render(listed, fmt)
    return download_response(body, content_type, name)


@bp.get("/destructions/<int:destruction_id>/record.json")
@signed_in
def record_json(destruction_id: int) -> Any:
    """The signed record as a file: ``archive destruction verify`` checks it offline."""
    with uow() as s:
        _dest, signed = records.export_record(s, caller(), runtime().signer, destruction_id)
    return Response(
        json.dumps(signed, ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename=destruction-{destruction_id}.json"},
    )
