"""The sweep's place in the archive (one row) and the failures it found."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from archive_service.db import Base, UTCDateTime, utcnow
from archive_service.fixity.vocabulary import Status


class FixitySweep(Base):
    """Where the sweep stands: the round, the last object it checked (the cursor), and
    what this round has checked so far. A killed run's successor starts after the cursor."""

    __tablename__ = "fixity_sweep"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    round: Mapped[int] = mapped_column(Integer, default=1)
    cursor: Mapped[int] = mapped_column(Integer, default=0)  # stored_objects.id checked last
    round_started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    checked: Mapped[int] = mapped_column(Integer, default=0)  # objects, this round
    checked_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # found this round
    last_round_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_round_checked: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FixityFailure(Base):
    """An object that failed its check (固定性异常): open until a later check passes
    (resolved) or a good copy replaces it (repaired)."""

    __tablename__ = "fixity_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stored_object_id: Mapped[int] = mapped_column(ForeignKey("stored_objects.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # vocabulary.FAILURE_KINDS
    status: Mapped[str] = mapped_column(String(16), default=Status.OPEN, index=True)
    found_by: Mapped[str] = mapped_column(String(16))  # vocabulary.FOUND_BY
    found_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    detail: Mapped[str | None] = mapped_column(String(300))  # the check's message, no secrets
    repair: Mapped[str | None] = mapped_column(String(16))  # last failed repair, REPAIR_OUTCOMES
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
