"""A role grant waiting for a second admin (待复核的角色授予), and its approval steps.

Apart from ``models.py`` because its steps are rows of the approval-chain machinery
(:mod:`archive_service.approvals`), which itself builds on the account models.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.accounts.models import User
from archive_service.accounts.vocabulary import RoleGrantStatus
from archive_service.approvals import DecisionStep
from archive_service.db import Base, UTCDateTime, utcnow


class RoleGrant(Base):
    """Roles an admin asked to give an account, held back until another admin approves."""

    __tablename__ = "role_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    roles: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=RoleGrantStatus.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id], lazy="joined")
    steps: Mapped[list[RoleGrantStep]] = relationship(
        lazy="selectin", order_by="RoleGrantStep.position", back_populates="grant"
    )


class RoleGrantStep(DecisionStep, Base):
    __tablename__ = "role_grant_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("role_grants.id"), index=True)

    grant: Mapped[RoleGrant] = relationship(back_populates="steps")

    @property
    def applicant_id(self) -> int | None:
        return self.grant.requested_by_id

    @property
    def target_id(self) -> int:
        """Whom the roles are for: they do not decide either."""
        return self.grant.user_id
