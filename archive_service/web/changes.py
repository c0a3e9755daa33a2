"""Change-request pages: ask for a change, follow it, decide it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from archive_service.archive.categories import category_tree
from archive_service.archive.vocabulary import RETENTION_CLASSES, TIERS
from archive_service.changes import services as changes
from archive_service.changes.models import ChangeRequest
from archive_service.changes.serializers import change_dict
from archive_service.errors import DomainError
from archive_service.http import caller, db_int, request_session, runtime, signed_in, uow
from archive_service.web.forms import ActionForm, refusal

bp = Blueprint("web_changes", __name__, url_prefix="/changes")


def shown(rows: list[ChangeRequest]) -> list[tuple[ChangeRequest, dict[str, Any]]]:
    """Each request with what the caller may see of it (personal values, evidence)."""
    return [(r, change_dict(r, changes.details_visible(caller(), r))) for r in rows]


CUSTOMER_FORM = (
    "name",
    "tier",
    "credit_code",
    "legal_representative",
    "address",
    "phone",
    "fax",
    "email",
    "industry",
    "business_domain",
    "credit_rating",
    "credit_limit",
    "registered_capital",
)
DOCUMENT_FORM = ("title", "document_date", "retention_class", "category")


@bp.route("/new", methods=["GET", "POST"])
@signed_in
def new() -> Any:
    target_type = request.values.get("target_type", "")
    target_id = request.values.get("target_id", type=db_int) or 0
    s = request_session()
    if target_type != "customer":
        target_type = "document"
    fields = CUSTOMER_FORM if target_type == "customer" else DOCUMENT_FORM
    target = changes.change_form(s, caller(), target_type, target_id)
    form = ActionForm()
    if form.validate_on_submit():
        values: dict[str, Any] = {}
        for name in fields:
            value = request.form.get(name, "").strip()
            if value:  # an empty box means "leave as it is"
                values[name] = value
        facts = {k[6:]: v for k, v in request.form.items() if k.startswith("facts.") and v}
        if facts:
            values["facts"] = facts
        upload = request.files.get("file")
        rt = runtime()
        try:
            with uow() as s2:
                req = changes.file_change(
                    s2,
                    caller(),
                    rt.vault,
                    changes.ChangeIn(
                        target_type=target_type,
                        target_id=target_id,
                        reason=request.form.get("reason", ""),
                        values=values,
                        replacement=changes.FileIn(upload.filename or "", upload.stream)
                        if upload and upload.filename
                        else None,
                        evidence=[
                            changes.FileIn(f.filename or "", f.stream)
                            for f in request.files.getlist("evidence")
                            if f.filename
                        ],
                    ),
                    rt.archive,
                )
            flash(
                _("Change request %(id)s filed; the archivist checks it first.", id=req.id), "info"
            )
            return redirect(url_for("web_changes.mine"))
        except DomainError as exc:
            flash(refusal(exc), "error")
    return render_template(
        "changes/new.html",
        form=form,
        target=target,
        target_type=target_type,
        fields=fields,
        tiers=TIERS,
        classes=RETENTION_CLASSES,
        tree=category_tree(s),
    )


@bp.get("/mine")
@signed_in
def mine() -> Any:
    rows = shown(changes.my_changes(request_session(), caller()))
    return render_template("changes/list.html", rows=rows, title=_("My change requests"), form=None)


@bp.get("/inbox")
@signed_in
def inbox() -> Any:
    rows = shown(changes.inbox(request_session(), caller()))
    return render_template(
        "changes/list.html", rows=rows, title=_("Changes to decide"), form=ActionForm()
    )


@bp.post("/<int:change_id>/decision")
@signed_in
def decide(change_id: int) -> Any:
    if ActionForm().validate_on_submit():
        try:
            with uow() as s:
                changes.decide(
                    s,
                    caller(),
                    change_id,
                    request.form.get("decision", ""),
                    request.form.get("comment"),
                    runtime().archive,
                )
            flash(_("Decision recorded."), "info")
        except DomainError as exc:
            flash(exc.message, "error")
    return redirect(url_for("web_changes.inbox"))
