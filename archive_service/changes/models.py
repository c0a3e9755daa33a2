"""A change request, its review steps, and the evidence filed with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.accounts.models import User
from archive_service.approvals import DecisionStep
from archive_service.changes.vocabulary import ChangeStatus
from archive_service.db import Base, UTCDateTime, utcnow


class ChangeRequest(Base):
    __tablename__ = "change_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_type: Mapped[str] = mapped_column(String(16))  # customer | document
    target_id: Mapped[int] = mapped_column(Integer, index=True)
    # The target's revision when filed: applying to a changed target is refused.
    target_revision: Mapped[int] = mapped_column(Integer)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(String(2000))
    # {"field": {"before": ..., "after": ...}}; a replacement file is "file".
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    replacement_object_id: Mapped[int | None] = mapped_column(ForeignKey("stored_objects.id"))
    replacement_filename: Mapped[str | None] = mapped_column(String(300))
    replacement_content_type: Mapped[str | None] = mapped_column(String(128))
    important: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=ChangeStatus.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome_reason: Mapped[str | None] = mapped_column(String(1000))

    requester: Mapped[User] = relationship(lazy="joined")
    steps: Mapped[list[ChangeStep]] = relationship(
        lazy="selectin", order_by="ChangeStep.position", back_populates="change"
    )
    evidence: Mapped[list[ChangeEvidence]] = relationship(lazy="selectin")


class ChangeStep(DecisionStep, Base):
    __tablename__ = "change_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("change_requests.id"), index=True)

    change: Mapped[ChangeRequest] = relationship(back_populates="steps")

    @property
    def applicant_id(self) -> int | None:
        return self.change.requester_id


class ChangeEvidence(Base):
    """A supporting file, stored encrypted like any document."""

    __tablename__ = "change_evidence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    change_id: Mapped[int] = mapped_column(ForeignKey("change_requests.id"), index=True)
    stored_object_id: Mapped[int] = mapped_column(ForeignKey("stored_objects.id"))
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(128))
