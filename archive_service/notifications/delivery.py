"""Delivering notifications, in a worker after the commit that noted them.

:func:`deliver` claims each due delivery in a short transaction, sends it with none open,
and settles it in another: sent, or tried again later (:func:`rules.backoff`) and failed
after the last try (an audit event; admins see it in the failed deliveries). A channel
that fails never touches the action that caused the notification: it committed before.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.accounts.models import User
from archive_service.audit.services import Actor, record
from archive_service.db import Database, utcnow
from archive_service.notifications import messages, rules
from archive_service.notifications.channels import (
    Channels,
    DeliveryError,
    NotConfigured,
    Refused,
)
from archive_service.notifications.models import Delivery, Notification, Webhook
from archive_service.notifications.vocabulary import (
    DIGEST_TITLE,
    WEBHOOK_CHANNELS,
    Channel,
    DeliveryStatus,
)

log = logging.getLogger(__name__)
CLAIM = timedelta(minutes=5)  # a delivery being sent is not taken by another worker
SYSTEM = Actor.system("notifications")


@dataclass(frozen=True)
class Retry:
    max_attempts: int = 5
    base_seconds: int = 60


@dataclass(frozen=True)
class _Claimed:
    id: int
    channel: str
    notification: Notification
    email: str | None
    webhook: tuple[str, str | None] | None


def _words_of(n: Notification) -> Notification:
    """A copy outside any session of what a message says (sent with no transaction open)."""
    return Notification(
        id=n.id,
        recipient_id=n.recipient_id,
        kind=n.kind,
        subject=n.subject,
        archive_number=n.archive_number,
        words=dict(n.words or {}),
        link=n.link,
        created_at=n.created_at,
    )


def _claim(db: Database, ids: Sequence[int], now: datetime) -> list[_Claimed]:
    with db.unit_of_work() as s:
        # Lock the rows alone (PostgreSQL refuses FOR UPDATE across the eager outer join).
        locked = (
            s.execute(
                select(Delivery.id)
                .where(
                    Delivery.id.in_(ids),
                    Delivery.status == DeliveryStatus.QUEUED,
                    Delivery.next_try_at <= now,
                )
                .order_by(Delivery.id)
                .with_for_update(skip_locked=True)
            )
            .scalars()
            .all()
        )
        rows = [d for i in locked if (d := s.get(Delivery, i)) is not None]
        out = []
        for d in rows:
            d.next_try_at = now + CLAIM
            user = s.get(User, d.notification.recipient_id)
            hook = None
            if d.channel in WEBHOOK_CHANNELS and user is not None and user.department_id:
                row = s.execute(
                    select(Webhook).where(
                        Webhook.department_id == user.department_id, Webhook.channel == d.channel
                    )
                ).scalar_one_or_none()
                hook = (row.url, row.secret) if row is not None else None
            out.append(
                _Claimed(d.id, d.channel, d.notification, user.email if user else None, hook)
            )
    return out


def _send(channels: Channels, item: _Claimed) -> None:
    msg = messages.message([item.notification], channels.public_url)
    _send_message(channels, item.channel, item.email, item.webhook, msg)


def _send_message(
    channels: Channels,
    channel: str,
    email: str | None,
    webhook: tuple[str, str | None] | None,
    msg: messages.Message,
) -> None:
    if channel == Channel.EMAIL:
        if not channels.smtp.configured:
            raise NotConfigured("e-mail is not configured (ARCHIVE_SMTP_HOST)")
        if not email:
            raise Refused("the account has no e-mail address")
        channels.smtp.send(email, msg)
        return
    if webhook is None:
        raise Refused("the department has no such group robot")
    url, secret = webhook
    if channel == Channel.WECOM:
        channels.webhooks.wecom(url, msg)
    else:
        channels.webhooks.dingtalk(url, secret, msg)


def _failed(s: Session, d: Delivery) -> None:
    d.status, d.next_try_at = DeliveryStatus.FAILED, None
    record(
        s,
        SYSTEM,
        "notification.delivery_failed",
        "notification",
        d.notification_id,
        delivery=d.id,
        channel=d.channel,
        attempts=d.attempts,
        error=d.last_error,
    )


def _settle(
    db: Database, outcomes: dict[int, DeliveryError | None], retry: Retry, now: datetime
) -> None:
    with db.unit_of_work() as s:
        for delivery_id, error in outcomes.items():
            d = s.get(Delivery, delivery_id)
            if d is None:
                continue
            d.attempts += 1
            d.last_error = str(error)[:200] if error is not None else None
            if error is None:
                d.status, d.sent_at, d.next_try_at = DeliveryStatus.SENT, now, None
            elif isinstance(error, NotConfigured):
                d.status, d.next_try_at = DeliveryStatus.SKIPPED, None
            elif isinstance(error, Refused) or d.attempts >= retry.max_attempts:
                _failed(s, d)
            else:
                d.next_try_at = now + rules.backoff(d.attempts, retry.base_seconds)


def deliver(
    db: Database,
    channels: Channels,
    delivery_ids: Sequence[int],
    retry: Retry = Retry(),
    now: datetime | None = None,
) -> dict[str, int]:
    """Send the due deliveries among ``delivery_ids`` (others are left: sent already, held
    for the digest, or not due). Returns how many were sent and how many failed."""
    now = now or utcnow()
    outcomes: dict[int, DeliveryError | None] = {}
    for item in _claim(db, delivery_ids, now):
        try:
            _send(channels, item)
            outcomes[item.id] = None
        except NotConfigured as exc:
            outcomes[item.id] = exc
        except DeliveryError as exc:
            log.warning("notification delivery %s (%s) failed: %s", item.id, item.channel, exc)
            outcomes[item.id] = exc
        except Exception as exc:  # noqa: BLE001 - a channel's bug is a failed try, not a lost one
            log.exception("notification delivery %s (%s) failed", item.id, item.channel)
            outcomes[item.id] = DeliveryError(type(exc).__name__)
    if outcomes:
        _settle(db, outcomes, retry, now)
    sent = sum(1 for e in outcomes.values() if e is None)
    failed = sum(1 for e in outcomes.values() if e is not None and not isinstance(e, NotConfigured))
    return {"sent": sent, "failed": failed}


def retry_due(
    db: Database, channels: Channels, retry: Retry = Retry(), now: datetime | None = None
) -> dict[str, int]:
    """Every minute: deliveries whose next try has come (a failure, or a lost job)."""
    now = now or utcnow()
    with db.read_only() as s:
        ids = list(
            s.execute(
                select(Delivery.id)
                .where(Delivery.status == DeliveryStatus.QUEUED, Delivery.next_try_at <= now)
                .order_by(Delivery.id)
                .limit(500)
            ).scalars()
        )
    return deliver(db, channels, ids, retry, now) if ids else {"sent": 0, "failed": 0}


def send_digests(
    db: Database, channels: Channels, retry: Retry = Retry(), now: datetime | None = None
) -> int:
    """Daily: each person who chose the digest gets one message per channel with what was
    held for it; returns how many digests were sent."""
    now = now or utcnow()
    with db.read_only() as s:
        rows = s.execute(
            select(Delivery.id, Delivery.channel, Notification.recipient_id)
            .join(Notification, Delivery.notification_id == Notification.id)
            .where(Delivery.status == DeliveryStatus.HELD)
            .order_by(Delivery.id)
        ).all()
    groups: dict[tuple[int, str], list[int]] = {}
    for delivery_id, channel, recipient in rows:
        groups.setdefault((recipient, channel), []).append(delivery_id)
    sent = 0
    for (recipient, channel), ids in groups.items():
        with db.read_only() as s:
            user = s.get(User, recipient)
            items = [
                _words_of(d.notification)
                for d in s.execute(
                    select(Delivery).where(Delivery.id.in_(ids)).order_by(Delivery.id)
                )
                .unique()
                .scalars()
            ]
            hook_row = (
                s.execute(
                    select(Webhook).where(
                        Webhook.department_id == user.department_id, Webhook.channel == channel
                    )
                ).scalar_one_or_none()
                if user is not None and user.department_id
                else None
            )
            hook = (hook_row.url, hook_row.secret) if hook_row is not None else None
            email = user.email if user is not None else None
            msg = messages.message(items, channels.public_url, DIGEST_TITLE)
        error: DeliveryError | None = None
        try:
            _send_message(channels, channel, email, hook, msg)
            sent += 1
        except DeliveryError as exc:
            error = exc
        with db.unit_of_work() as s:
            for d in s.execute(select(Delivery).where(Delivery.id.in_(ids))).unique().scalars():
                d.attempts += 1
                d.last_error = str(error)[:200] if error is not None else None
                if error is None:
                    d.status, d.sent_at = DeliveryStatus.SENT, now
                elif isinstance(error, NotConfigured):
                    d.status = DeliveryStatus.SKIPPED
                elif isinstance(error, Refused) or d.attempts >= retry.max_attempts:
                    _failed(s, d)
                # else: held, the next digest tries again
    return sent
