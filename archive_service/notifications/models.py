"""Notifications, their deliveries, each person's preferences, the group robots' webhooks,
and the reminders already sent for a waiting step."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.db import Base, UTCDateTime, utcnow
from archive_service.notifications.vocabulary import DeliveryStatus


class Notification(Base):
    """One thing one person should know (通知): its kind, the words that fill its line (an
    archive number only where the recipient may see it, a reason, a count — never document
    content or personal details) and the page it links to. Read once ``read_at`` is set."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_recipient_read", "recipient_id", "read_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str | None] = mapped_column(String(40))  # SUBJECTS code of %(what)s
    archive_number: Mapped[str | None] = mapped_column(String(64))
    words: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    link: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="notification", lazy="selectin", order_by="Delivery.id"
    )


class Delivery(Base):
    """A notification sent (or to send) over one channel: tried until sent, each failure
    putting the next try further off, failed after the last. ``last_error`` is the error's
    class and the server's code, never a password or a webhook's key."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_due", "status", "next_try_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notification_id: Mapped[int] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(200))
    next_try_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    notification: Mapped[Notification] = relationship(back_populates="deliveries", lazy="joined")


class Preference(Base):
    """A person's choice: the channels of each kind (a kind left out: the default) and
    whether the e-mail and robot messages come once a day as a digest instead."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    channels: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    digest: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Webhook(Base):
    """A department's WeCom or DingTalk group robot: its members' robot messages go there.
    ``secret`` is DingTalk's signing secret (加签); neither it nor the URL is ever shown."""

    __tablename__ = "notification_webhooks"
    __table_args__ = (UniqueConstraint("department_id", "channel"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(1000))
    secret: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class StepReminder(Base):
    """A reminder or escalation sent for one waiting step: each is sent once."""

    __tablename__ = "step_reminders"
    __table_args__ = (UniqueConstraint("chain", "step_id", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain: Mapped[str] = mapped_column(String(16))  # SUBJECTS code: access, change, …
    step_id: Mapped[int] = mapped_column(Integer)
    stage: Mapped[str] = mapped_column(String(16))  # Stage
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
