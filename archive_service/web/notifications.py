"""The notification centre: one's notifications, marking them read, one's channel choices;
for admins the deliveries that failed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import pgettext

from archive_service.http import caller, db_int, runtime, signed_in, uow
from archive_service.notifications import messages
from archive_service.notifications import services as notifications
from archive_service.notifications.channels import Channels
from archive_service.notifications.vocabulary import CHANNELS, KINDS
from archive_service.vocabulary import Label
from archive_service.web.forms import ActionForm, attempt

bp = Blueprint("web_notifications", __name__, url_prefix="/notifications")
PER_PAGE = 50


def _here(label: Label) -> str:
    return str(pgettext(label.context, label.english))


@bp.get("/")
@signed_in
def index() -> Any:
    page = max(1, request.args.get("page", 1, type=db_int) or 1)
    with uow() as s:
        rows, total = notifications.list_mine(s, caller(), page, PER_PAGE)
        items = [
            {
                "id": n.id,
                "text": messages.line(n, _here),
                "link": n.link,
                "at": n.created_at,
                "read": n.read_at is not None,
            }
            for n in rows
        ]
        unread = notifications.unread_count(s, caller())
        prefs = notifications.preferences(s, caller())
    return render_template(
        "notifications/index.html",
        items=items,
        total=total,
        unread=unread,
        prefs=prefs,
        kinds=KINDS,
        channels=CHANNELS,
        form=ActionForm(),
        page=page,
        pages=max(1, (total + PER_PAGE - 1) // PER_PAGE),
    )


@bp.post("/<int:notification_id>/read")
@signed_in
def read_one(notification_id: int) -> Any:
    if ActionForm().validate_on_submit():
        attempt(
            _("Marked as read."),
            lambda s: notifications.mark_read(s, caller(), notification_id),
        )
    return redirect(url_for("web_notifications.index"))


@bp.post("/read")
@signed_in
def read_all() -> Any:
    if ActionForm().validate_on_submit():
        attempt(_("All marked as read."), lambda s: notifications.mark_read(s, caller()))
    return redirect(url_for("web_notifications.index"))


@bp.post("/preferences")
@signed_in
def preferences() -> Any:
    if ActionForm().validate_on_submit():
        chosen = {k.code: request.form.getlist(f"ch-{k.code}") for k in KINDS}
        digest = request.form.get("digest") == "on"
        attempt(
            _("Your choices were saved."),
            lambda s: notifications.set_preferences(s, caller(), chosen, digest),
        )
    return redirect(url_for("web_notifications.index"))


@bp.post("/webhooks")
@signed_in
def set_webhook() -> Any:
    """An admin sets or removes a department's group robot (from the departments page)."""
    if ActionForm().validate_on_submit():
        form = request.form
        attempt(
            _("The group robot was saved."),
            lambda s: notifications.set_webhook(
                s,
                caller(),
                Channels.from_settings(runtime().settings),
                form.get("department", ""),
                form.get("channel", ""),
                form.get("url", ""),
                form.get("secret", ""),
            ),
        )
    return redirect(url_for("web_admin.departments"))


@bp.get("/failed")
@signed_in
def failed() -> Any:
    """Deliveries that gave up (admins)."""
    page = max(1, request.args.get("page", 1, type=db_int) or 1)
    with uow() as s:
        rows, total = notifications.failed_deliveries(s, caller(), page, PER_PAGE)
        items = [{"d": d, "text": messages.line(d.notification, _here)} for d in rows]
    return render_template(
        "notifications/failed.html",
        items=items,
        total=total,
        page=page,
        pages=max(1, (total + PER_PAGE - 1) // PER_PAGE),
    )
