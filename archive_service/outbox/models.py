"""The outbox: one row per job a committed transaction noted, until the broker has it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from archive_service.db import Base, UTCDateTime, utcnow


class OutboxJob(Base):
    """``workers.tasks.<task>(*args)``, written with the change that needs it; deleted once
    a send to the broker has succeeded. A row whose claim has lapsed is sent by the sweep."""

    __tablename__ = "job_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # oldest first
    task: Mapped[str] = mapped_column(String(100))
    args: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A relay sending it holds it until then; null: free for the next sweep.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # failed sends so far
    last_tried_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(200))  # the exception's class
