"""Access applications (查阅申请), their approval steps, and the grants they become."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.access.vocabulary import GrantStatus, RequestStatus
from archive_service.accounts.models import User
from archive_service.approvals import DecisionStep
from archive_service.archive.models import Customer
from archive_service.db import Base, UTCDateTime, utcnow


class AccessRequest(Base):
    __tablename__ = "access_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(1000))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    # Either chosen documents, or the customer's archive (optionally some categories).
    document_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    mode: Mapped[str] = mapped_column(String(16))  # MODES: view | download | paper
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    external: Mapped[bool] = mapped_column(Boolean, default=False)
    # A lending mode's application (``LENDING_MODES``) may ask to take the paper original out
    # of the reading room; approving the application approves that too.
    take_away: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # External applications: the legal basis or letter of authorisation, stored encrypted.
    legal_basis_object_id: Mapped[int | None] = mapped_column(ForeignKey("stored_objects.id"))
    legal_basis_filename: Mapped[str | None] = mapped_column(String(300))
    legal_basis_content_type: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.PENDING, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome_reason: Mapped[str | None] = mapped_column(String(1000))

    requester: Mapped[User] = relationship(lazy="joined")
    customer: Mapped[Customer] = relationship(lazy="joined")
    steps: Mapped[list[ApprovalStep]] = relationship(
        lazy="selectin", order_by="ApprovalStep.position", back_populates="request"
    )
    grant: Mapped[Grant | None] = relationship(lazy="selectin", back_populates="request")


class ApprovalStep(DecisionStep, Base):
    """One decision the chain needs: who may take it (role, department) and what they said."""

    __tablename__ = "approval_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_requests.id"), index=True)

    request: Mapped[AccessRequest] = relationship(back_populates="steps")

    @property
    def applicant_id(self) -> int | None:
        return self.request.requester_id


class Grant(Base):
    """What an approved application allows: exactly its scope, mode and window."""

    __tablename__ = "grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("access_requests.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(16), default=GrantStatus.ACTIVE, index=True)
    # External grants: the staff member the approving leader named to supervise viewing.
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_by_id: Mapped[int | None] = mapped_column(Integer)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoke_reason: Mapped[str | None] = mapped_column(String(1000))

    request: Mapped[AccessRequest] = relationship(back_populates="grant")
    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    supervisor: Mapped[User | None] = relationship(foreign_keys=[supervisor_id], lazy="joined")
    scopes: Mapped[list[GrantScope]] = relationship(lazy="selectin")


class GrantScope(Base):
    """One row of a grant's scope, so access filters are plain SQL joins.

    ``document_id`` set: that document. ``category_id`` set: that category of the
    customer. Neither: the customer's whole archive.
    """

    __tablename__ = "grant_scopes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    customer_id: Mapped[int] = mapped_column(Integer, index=True)
    document_id: Mapped[int | None] = mapped_column(Integer)
    category_id: Mapped[int | None] = mapped_column(Integer)
