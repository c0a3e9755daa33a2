"""An audit sampling (专项审计抽查) and the archives it drew, each with its checklist and
findings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.accounts.models import User
from archive_service.archive.models import Customer
from archive_service.db import Base, UTCDateTime, utcnow
from archive_service.sampling.vocabulary import SamplingState


class AuditSampling(Base):
    """One draw of customer archives for a special audit: how it was drawn (size or
    percentage, strata, the seed), from how many, by whom; while open, the auditor it is
    assigned to works through it; closing fixes the report (``report``) as it stood."""

    __tablename__ = "audit_samplings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default=SamplingState.OPEN, index=True)
    auditor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    seed: Mapped[str] = mapped_column(String(24))  # an integer; text so any client reads it
    seed_given: Mapped[bool] = mapped_column(Boolean, default=False)
    requested_size: Mapped[int | None] = mapped_column(Integer)
    requested_percent: Mapped[float | None] = mapped_column(Float)
    stratified: Mapped[bool] = mapped_column(Boolean, default=False)
    population: Mapped[int] = mapped_column(Integer)
    # sha256 of the ordered population ids: the same seed draws the same sample from it
    population_digest: Mapped[str] = mapped_column(String(64))
    # [{"department", "tier", "population", "drawn"}] in allocation order
    strata: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    recommendations: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # fixed at closing

    auditor: Mapped[User] = relationship(foreign_keys=[auditor_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    archives: Mapped[list[SampledArchive]] = relationship(
        back_populates="sampling", order_by="SampledArchive.position"
    )


class SampledArchive(Base):
    """A customer's archive in a sample: its stratum at the draw, the checklist
    (``{item: {"result", "note", "prefilled", "confirmed_by", "confirmed_at"}}``) and the
    findings (``[{"text", "follow_up"}]``)."""

    __tablename__ = "audit_sampled_archives"
    __table_args__ = (UniqueConstraint("sampling_id", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sampling_id: Mapped[int] = mapped_column(ForeignKey("audit_samplings.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # the order of the draw
    department_code: Mapped[str] = mapped_column(String(32))
    tier: Mapped[str] = mapped_column(String(16))
    checklist: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    sampling: Mapped[AuditSampling] = relationship(back_populates="archives")
    customer: Mapped[Customer] = relationship()
