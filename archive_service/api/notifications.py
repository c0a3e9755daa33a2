"""The notification centre over the API: one's notifications, marking them read, one's
channel choices; for admins the departments' group robots and the failed deliveries."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Integer, List, String

from archive_service.api.common import (
    SECURITY,
    Out,
    Page,
    PageQuery,
    PerPage,
    blueprint,
    errors,
    listing,
)
from archive_service.http import caller, runtime, signed_in, uow
from archive_service.notifications import serializers
from archive_service.notifications import services as notifications
from archive_service.notifications.channels import Channels

bp = blueprint("notifications", "Notifications")


class NotificationsQuery(Schema):
    page = Page()
    per_page = PerPage()
    unread = Boolean(load_default=False, metadata={"description": "only the unread ones"})


class NotificationOut(Out):
    id = Integer()
    kind = String(metadata={"description": "step_waiting, application_decided, …"})
    text = String(metadata={"description": "what happened (English)"})
    text_zh = String(metadata={"description": "what happened (Chinese)"})
    archive_number = String(allow_none=True)
    link = String(metadata={"description": "the page it concerns (a path)"})
    created_at = String()
    read_at = String(allow_none=True)


NotificationsOut = listing(
    "NotificationsOut", NotificationOut, unread=Integer(metadata={"description": "unread"})
)


class MarkedOut(Out):
    marked = Integer(metadata={"description": "notifications newly marked read"})
    unread = Integer()


class PreferencesIn(Schema):
    channels = Dict(
        keys=String(),
        values=List(String()),
        load_default=dict,
        metadata={"description": "kind → channels (email, wecom, dingtalk); [] centre only"},
    )
    digest = Boolean(load_default=False, metadata={"description": "one message a day"})


class PreferencesOut(Out):
    channels = Dict(keys=String(), values=List(String()))
    available = List(String())
    digest = Boolean()


class WebhookIn(Schema):
    url = String(load_default="", metadata={"description": "the robot's webhook; empty removes"})
    secret = String(load_default="", metadata={"description": "DingTalk's signing secret"})


class WebhookOut(Out):
    department = String()
    channel = String()
    configured = Boolean()
    signed = Boolean()


class DeliveryOut(Out):
    id = Integer()
    notification_id = Integer()
    recipient_id = Integer()
    kind = String()
    channel = String()
    status = String()
    attempts = Integer()
    last_error = String(allow_none=True)
    created_at = String()
    next_try_at = String(allow_none=True)


DeliveriesOut = listing("DeliveriesOut", DeliveryOut)


@bp.get("/notifications")
@bp.doc(security=SECURITY, responses=errors(422))
@bp.input(NotificationsQuery, location="query", arg_name="q")
@bp.output(NotificationsOut)
@signed_in
def mine(q: dict[str, Any]) -> Any:
    """The caller's notifications, newest first, and how many are unread."""
    with uow() as s:
        rows, total = notifications.list_mine(s, caller(), q["page"], q["per_page"], q["unread"])
        unread = notifications.unread_count(s, caller())
        items = [serializers.notification_dict(n) for n in rows]
    return {"items": items, "total": total, "unread": unread}


@bp.post("/notifications/<int:notification_id>/read")
@bp.doc(security=SECURITY, responses=errors(404))
@bp.output(MarkedOut)
@signed_in
def read_one(notification_id: int) -> Any:
    """Mark one of the caller's notifications read (another's is a 404)."""
    with uow() as s:
        marked = notifications.mark_read(s, caller(), notification_id)
        return {"marked": marked, "unread": notifications.unread_count(s, caller())}


@bp.post("/notifications/read")
@bp.doc(security=SECURITY)
@bp.output(MarkedOut)
@signed_in
def read_all() -> Any:
    """Mark all the caller's notifications read."""
    with uow() as s:
        marked = notifications.mark_read(s, caller())
        return {"marked": marked, "unread": 0}


@bp.get("/notifications/preferences")
@bp.doc(security=SECURITY)
@bp.output(PreferencesOut)
@signed_in
def preferences() -> Any:
    """The caller's channels per kind (chosen, or the default) and the digest choice."""
    with uow() as s:
        return notifications.preferences(s, caller())


@bp.put("/notifications/preferences")
@bp.doc(security=SECURITY, responses=errors(400, 422))
@bp.input(PreferencesIn, arg_name="body")
@bp.output(PreferencesOut)
@signed_in
def set_preferences(body: dict[str, Any]) -> Any:
    """Choose the channels of some kinds (the others keep theirs) and the daily digest."""
    with uow() as s:
        notifications.set_preferences(s, caller(), body["channels"], body["digest"])
        return notifications.preferences(s, caller())


@bp.put("/departments/<code>/webhooks/<channel>")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 422))
@bp.input(WebhookIn, arg_name="body")
@bp.output(WebhookOut)
@signed_in
def set_webhook(code: str, channel: str, body: dict[str, Any]) -> Any:
    """Set (or with an empty URL remove) a department's WeCom or DingTalk group robot (admin).
    A URL on a private address is refused unless allow-listed."""
    with uow() as s:
        row = notifications.set_webhook(
            s,
            caller(),
            Channels.from_settings(runtime().settings),
            code,
            channel,
            body["url"],
            body["secret"],
        )
        return {
            "department": code,
            "channel": channel,
            "configured": row is not None,
            "signed": bool(row is not None and row.secret),
        }


@bp.get("/notifications/deliveries/failed")
@bp.doc(security=SECURITY, responses=errors(403, 422))
@bp.input(PageQuery, location="query", arg_name="q")
@bp.output(DeliveriesOut)
@signed_in
def failed(q: dict[str, Any]) -> Any:
    """Deliveries that gave up after their last try, newest first (admin)."""
    with uow() as s:
        rows, total = notifications.failed_deliveries(s, caller(), q["page"], q["per_page"])
        return {"items": [serializers.delivery_dict(d) for d in rows], "total": total}
