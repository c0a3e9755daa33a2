"""A recurring review's task for one period and department, and its completion record."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.accounts.models import Department, User
from archive_service.db import Base, UTCDateTime, utcnow
from archive_service.duties.vocabulary import DutyState


class DutyTask(Base):
    """One review due: ``kind`` for ``period`` (``2026-11``, ``2026-Q4``, ``2026``) in a
    department; done by one of the department's holders of the kind's role."""

    __tablename__ = "duty_tasks"
    __table_args__ = (UniqueConstraint("kind", "period", "department_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    state: Mapped[str] = mapped_column(String(16), default=DutyState.OPEN, index=True)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    result: Mapped[str | None] = mapped_column(String(2000))
    # Change requests a tier re-evaluation filed: [{"customer_id", "tier", "change_id"}]
    filed: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    reminded_on: Mapped[date | None] = mapped_column(Date)  # the assignees were told it is late
    escalated_on: Mapped[date | None] = mapped_column(Date)  # the operations head was told

    department: Mapped[Department] = relationship()
    done_by: Mapped[User | None] = relationship()
