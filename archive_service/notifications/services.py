"""Notifications: noting them in the use case's transaction, delivering them after it has
committed, the notification centre's reads, and each person's choices.

:func:`notify` is called by a use case (through :mod:`.events`): the notification and a
delivery row per channel are written in its transaction, and the deliveries are noted as
one job (``deliver_notifications``) that the outbox sends once it commits
(:mod:`.delivery`). So a notification exists exactly when its action does, and a channel
that fails never rolls the action back; admins see the failed ones
(:func:`failed_deliveries`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive_service import jobs
from archive_service.accounts.models import Department, User
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.errors import InvalidInput, NotFound
from archive_service.notifications import rules
from archive_service.notifications.channels import Channels, Refused
from archive_service.notifications.models import Delivery, Notification, Preference, Webhook
from archive_service.notifications.vocabulary import (
    CHANNELS,
    KINDS,
    WEBHOOK_CHANNELS,
    Channel,
    DeliveryStatus,
)
from archive_service.policy import Caller, require

log = logging.getLogger(__name__)
TASK = "deliver_notifications"
# --- noting (in the use case's transaction) ---


def _webhooks_of(session: Session, department_ids: set[int]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    if department_ids:
        rows = session.execute(
            select(Webhook.department_id, Webhook.channel).where(
                Webhook.department_id.in_(department_ids)
            )
        )
        for dept, channel in rows:
            found.setdefault(dept, set()).add(channel)
    return found


def channels_for(user: User, kind: str, pref: Preference | None, webhooks: set[str]) -> list[str]:
    """The external channels ``user`` gets ``kind`` on: their choice for the kind, or the
    default (e-mail if they have an address, their department's robots)."""
    chosen = (pref.channels or {}).get(kind) if pref is not None else None
    wanted = chosen if chosen is not None else rules.default_channels(bool(user.email), webhooks)
    usable = {Channel.EMAIL} if user.email else set()
    return [c for c in wanted if c in usable or c in webhooks]


def notify(
    session: Session,
    kind: str,
    recipients: Iterable[User],
    *,
    link: str,
    subject: str | None = None,
    number: str | None = None,
    **words: Any,
) -> list[Notification]:
    """Note ``kind`` for each active recipient (once each), with its deliveries, in the
    caller's transaction; they are sent after it commits. ``number`` is shown as written:
    pass an archive number only to recipients who may see it."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    people = {u.id: u for u in recipients if u is not None and u.is_active_account}
    if not people:
        return []
    prefs = {
        p.user_id: p
        for p in session.execute(select(Preference).where(Preference.user_id.in_(people))).scalars()
    }
    hooks = _webhooks_of(session, {u.department_id for u in people.values() if u.department_id})
    now = utcnow()
    made: list[Notification] = []
    for user_id, user in sorted(people.items()):
        n = Notification(
            recipient_id=user_id,
            kind=kind,
            subject=subject,
            archive_number=number,
            words=words,
            link=link,
            created_at=now,
        )
        pref = prefs.get(user_id)
        held = pref is not None and pref.digest
        for channel in channels_for(user, kind, pref, hooks.get(user.department_id or 0, set())):
            n.deliveries.append(
                Delivery(
                    channel=channel,
                    status=DeliveryStatus.HELD if held else DeliveryStatus.QUEUED,
                    attempts=0,
                    next_try_at=None if held else now,
                    created_at=now,
                )
            )
        session.add(n)
        made.append(n)
    session.flush()
    queued = [d.id for n in made for d in n.deliveries if d.status == DeliveryStatus.QUEUED]
    if queued:
        jobs.later_for(session, TASK, queued)
    return made


# --- the notification centre ---


def unread_count(session: Session, by: Caller) -> int:
    require(by, "notification.read_own")
    assert by.user is not None
    return int(
        session.execute(
            select(func.count(Notification.id)).where(
                Notification.recipient_id == by.user.id, Notification.read_at.is_(None)
            )
        ).scalar_one()
    )


def list_mine(
    session: Session, by: Caller, page: int = 1, per_page: int = 50, unread: bool = False
) -> tuple[list[Notification], int]:
    """The caller's notifications, newest first."""
    require(by, "notification.read_own")
    assert by.user is not None
    where = [Notification.recipient_id == by.user.id]
    if unread:
        where.append(Notification.read_at.is_(None))
    total = session.execute(select(func.count(Notification.id)).where(*where)).scalar_one()
    rows = session.execute(
        select(Notification)
        .where(*where)
        .order_by(Notification.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).scalars()
    return list(rows), int(total)


def mark_read(session: Session, by: Caller, notification_id: int | None = None) -> int:
    """Mark one of the caller's notifications read (``notification_id``), or all of them;
    returns how many changed. Another person's is answered as one that does not exist."""
    require(by, "notification.read_own")
    assert by.user is not None
    where = [Notification.recipient_id == by.user.id, Notification.read_at.is_(None)]
    if notification_id is not None:
        n = session.get(Notification, notification_id)
        if n is None or n.recipient_id != by.user.id:
            raise NotFound("no such notification")
        where.append(Notification.id == notification_id)
    result = session.execute(update(Notification).where(*where).values(read_at=utcnow()))
    changed = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if changed:
        record(
            session,
            by.actor,
            "notification.read",
            "notification",
            notification_id if notification_id is not None else "all",
            count=changed,
        )
    return changed


# --- choices and configuration ---


def preferences(session: Session, by: Caller) -> dict[str, Any]:
    """The caller's channel per kind (their choice or the default) and the digest flag."""
    require(by, "notification.read_own")
    assert by.user is not None
    pref = session.get(Preference, by.user.id)
    hooks = _webhooks_of(session, {by.user.department_id} if by.user.department_id else set())
    mine = hooks.get(by.user.department_id or 0, set())
    return {
        "digest": bool(pref and pref.digest),
        "available": sorted(({Channel.EMAIL} if by.user.email else set()) | mine),
        "channels": {t.code: channels_for(by.user, t.code, pref, mine) for t in KINDS},
    }


def set_preferences(
    session: Session, by: Caller, channels: dict[str, list[str]], digest: bool
) -> Preference:
    """The caller chooses the channels of each kind (an empty list: the centre only)."""
    require(by, "notification.read_own")
    assert by.user is not None
    clean: dict[str, list[str]] = {}
    for kind, chosen in channels.items():
        KINDS.check(kind, "channels")
        clean[kind] = sorted({CHANNELS.check(c, f"channels.{kind}") or "" for c in chosen})
    pref = session.get(Preference, by.user.id)
    if pref is None:
        pref = Preference(user_id=by.user.id, channels={})
        session.add(pref)
    pref.channels = {**(pref.channels or {}), **clean}
    pref.digest = bool(digest)
    pref.updated_at = utcnow()
    record(
        session,
        by.actor,
        "notification.preferences",
        "user",
        by.user.id,
        channels=clean,
        digest=pref.digest,
    )
    return pref


def set_webhook(
    session: Session,
    by: Caller,
    channels: Channels,
    department: str,
    channel: str,
    url: str | None,
    secret: str | None = None,
) -> Webhook | None:
    """An admin sets (or, with no URL, removes) a department's WeCom or DingTalk robot. A URL
    on a private address is refused unless allow-listed."""
    require(by, "notification.configure")
    if channel not in WEBHOOK_CHANNELS:
        raise InvalidInput("channel must be wecom or dingtalk", field="channel")
    dept = session.execute(
        select(Department).where(Department.code == department)
    ).scalar_one_or_none()
    if dept is None:
        raise NotFound("no such department")
    row = session.execute(
        select(Webhook).where(Webhook.department_id == dept.id, Webhook.channel == channel)
    ).scalar_one_or_none()
    url = (url or "").strip()
    if not url:
        if row is not None:
            session.delete(row)
            record(
                session,
                by.actor,
                "notification.webhook_removed",
                "department",
                dept.code,
                channel=channel,
            )
        return None
    try:
        channels.webhooks.check(url)
    except Refused as exc:
        raise InvalidInput(str(exc), field="url") from None
    if row is None:
        row = Webhook(department_id=dept.id, channel=channel, url=url)
        session.add(row)
    row.url, row.secret, row.updated_at = url[:1000], (secret or "").strip() or None, utcnow()
    # The URL holds the robot's key: the event names the host only.
    from urllib.parse import urlsplit

    record(
        session,
        by.actor,
        "notification.webhook_set",
        "department",
        dept.code,
        channel=channel,
        host=urlsplit(url).hostname,
        signed=row.secret is not None,
    )
    return row


def webhooks(session: Session, by: Caller) -> list[dict[str, Any]]:
    """The departments' robots for admins: department, channel, host and whether signed
    (the URL holds the robot's key and is never shown)."""
    require(by, "notification.configure")
    from urllib.parse import urlsplit

    rows = session.execute(
        select(Department.code, Webhook.channel, Webhook.url, Webhook.secret)
        .join(Department, Department.id == Webhook.department_id)
        .order_by(Department.code, Webhook.channel)
    ).all()
    return [
        {"department": code, "channel": ch, "host": urlsplit(url).hostname, "signed": bool(sec)}
        for code, ch, url, sec in rows
    ]


def failed_deliveries(
    session: Session, by: Caller, page: int = 1, per_page: int = 50
) -> tuple[list[Delivery], int]:
    """Deliveries that gave up, newest first (admins)."""
    require(by, "notification.configure")
    where = Delivery.status == DeliveryStatus.FAILED
    total = session.execute(select(func.count(Delivery.id)).where(where)).scalar_one()
    rows = (
        session.execute(
            select(Delivery)
            .where(where)
            .order_by(Delivery.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        .unique()
        .scalars()
    )
    return list(rows), int(total)
