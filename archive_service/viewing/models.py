"""Supervised viewing sessions (监督查阅): opened and ended by the named supervisor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.access.models import Grant
from archive_service.accounts.models import User
from archive_service.db import Base, UTCDateTime, utcnow


class EndReason:
    CLOSED = "closed"  # the supervisor ended it
    EXPIRED = "expired"  # its time ran out (at most the configured length, never past the grant)
    GRANT_ENDED = "grant_ended"  # the grant was revoked or expired meanwhile


class ViewingSession(Base):
    """A regulator may look at the grant's documents only while this is open."""

    __tablename__ = "viewing_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    regulator_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    supervisor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    closed_by: Mapped[str | None] = mapped_column(String(150))
    end_reason: Mapped[str | None] = mapped_column(String(24))
    pages_viewed: Mapped[int] = mapped_column(Integer, default=0)

    grant: Mapped[Grant] = relationship(lazy="joined")
    regulator: Mapped[User] = relationship(foreign_keys=[regulator_id], lazy="joined")
    supervisor: Mapped[User] = relationship(foreign_keys=[supervisor_id], lazy="joined")

    def is_open(self, now: datetime) -> bool:
        return self.closed_at is None and now < self.ends_at

    @property
    def label(self) -> str:
        return f"S{self.id}"
