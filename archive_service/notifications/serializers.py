"""Notifications and deliveries as the API shows them (both languages of each line)."""

from __future__ import annotations

from typing import Any

from archive_service.notifications import messages
from archive_service.notifications.models import Delivery, Notification
from archive_service.vocabulary import chinese


def notification_dict(n: Notification) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "text": messages.line(n, messages.english),
        "text_zh": messages.line(n, chinese),
        "archive_number": n.archive_number,
        "link": n.link,
        "created_at": n.created_at.isoformat(),
        "read_at": n.read_at.isoformat() if n.read_at else None,
    }


def delivery_dict(d: Delivery) -> dict[str, Any]:
    """A delivery for admins: what and where to, never the message's words or address."""
    return {
        "id": d.id,
        "notification_id": d.notification_id,
        "recipient_id": d.notification.recipient_id,
        "kind": d.notification.kind,
        "channel": d.channel,
        "status": d.status,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "created_at": d.created_at.isoformat(),
        "next_try_at": d.next_try_at.isoformat() if d.next_try_at else None,
    }
