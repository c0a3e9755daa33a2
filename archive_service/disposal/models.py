"""Reviews of due documents, their appraisal, destruction applications and records."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.accounts.models import User
from archive_service.approvals import DecisionStep
from archive_service.archive.models import Document
from archive_service.db import Base, UTCDateTime, utcnow


class RetentionReview(Base):
    """A compiled list of documents whose disposal date has come (清单编制)."""

    __tablename__ = "retention_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # compiled → confirmed (operations head) → closed (destruction applied, or all retained)
    status: Mapped[str] = mapped_column(String(16), default="compiled", index=True)
    compiled_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    compiled_by: Mapped[str] = mapped_column(String(150))
    as_of: Mapped[date] = mapped_column(Date)
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    items: Mapped[list[ReviewItem]] = relationship(lazy="selectin", order_by="ReviewItem.id")


class ReviewItem(Base):
    """One due document on a review list, and its appraisal (价值评估)."""

    __tablename__ = "review_items"
    __table_args__ = (UniqueConstraint("review_id", "document_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("retention_reviews.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    archive_number: Mapped[str | None] = mapped_column(String(64))
    disposal_date: Mapped[date | None] = mapped_column(Date)
    appraisal: Mapped[str | None] = mapped_column(String(16))  # destroy | retain
    retain_until: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(1000))
    appraised_by_id: Mapped[int | None] = mapped_column(Integer)
    appraised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    document: Mapped[Document] = relationship(lazy="joined")


class Destruction(Base):
    """A destruction application (销毁申请表) and, once executed, its record (销毁记录)."""

    __tablename__ = "destructions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("retention_reviews.id"), index=True)
    # pending → approved → executing → completed; or rejected; failed (resumable)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    executor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    place: Mapped[str | None] = mapped_column(String(300))
    method: Mapped[str] = mapped_column(String(200), default="cryptographic erase")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Heartbeat of the run: a run with no progress for a while is resumed by the scheduler.
    progress_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failure: Mapped[str | None] = mapped_column(String(1000))
    keep_record_until: Mapped[date | None] = mapped_column(Date)
    signature: Mapped[str | None] = mapped_column(Text)  # Ed25519 over the canonical record
    signing_key_id: Mapped[str | None] = mapped_column(String(64))

    applicant: Mapped[User | None] = relationship(foreign_keys=[applicant_id], lazy="joined")
    executor: Mapped[User | None] = relationship(foreign_keys=[executor_id], lazy="joined")
    supervisor: Mapped[User | None] = relationship(foreign_keys=[supervisor_id], lazy="joined")
    steps: Mapped[list[DestructionStep]] = relationship(
        lazy="selectin", order_by="DestructionStep.position"
    )
    items: Mapped[list[DestructionItem]] = relationship(
        lazy="selectin", order_by="DestructionItem.id"
    )


class DestructionStep(DecisionStep, Base):
    """One approval the destruction needs: the operations head, then a leader."""

    __tablename__ = "destruction_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    destruction_id: Mapped[int] = mapped_column(ForeignKey("destructions.id"), index=True)


class DestructionItem(Base):
    """One document of a destruction, with its evidence and how it ended."""

    __tablename__ = "destruction_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    destruction_id: Mapped[int] = mapped_column(ForeignKey("destructions.id"), index=True)
    document_id: Mapped[int] = mapped_column(Integer, index=True)
    archive_number: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(64))
    customer: Mapped[str] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    # pending | keys_destroyed | destroyed | skipped_hold | skipped_not_due
    result: Mapped[str] = mapped_column(String(24), default="pending")
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    detail: Mapped[str | None] = mapped_column(String(1000))
