"""Reviews of due documents, their appraisal, destruction applications and records."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.accounts.models import User
from archive_service.approvals import DecisionStep
from archive_service.archive.models import Document
from archive_service.db import Base, UTCDateTime, utcnow
from archive_service.disposal.vocabulary import DestructionStatus, ItemResult, ReviewStatus

# The layout of the signed destruction record (销毁记录). Records keep the format they were
# signed in, so a record signed before a change of layout still verifies.
RECORD_FORMAT = 2


class RetentionReview(Base):
    """A compiled list of documents whose disposal date has come (清单编制)."""

    __tablename__ = "retention_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default=ReviewStatus.COMPILED, index=True)
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
    status: Mapped[str] = mapped_column(String(16), default=DestructionStatus.PENDING, index=True)
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
    record_format: Mapped[int] = mapped_column(Integer, default=RECORD_FORMAT)
    # Backups (archive_service/backup/): by when the last backup still holding the destroyed
    # keys expires, and the entry in the backup target's destruction journal.
    backup_horizon: Mapped[date | None] = mapped_column(Date)
    journaled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    journal_error: Mapped[str | None] = mapped_column(String(1000))

    applicant: Mapped[User | None] = relationship(foreign_keys=[applicant_id], lazy="joined")
    executor: Mapped[User | None] = relationship(foreign_keys=[executor_id], lazy="joined")
    supervisor: Mapped[User | None] = relationship(foreign_keys=[supervisor_id], lazy="joined")
    steps: Mapped[list[DestructionStep]] = relationship(
        lazy="selectin", order_by="DestructionStep.position", back_populates="destruction"
    )
    items: Mapped[list[DestructionItem]] = relationship(
        lazy="selectin", order_by="DestructionItem.id"
    )


class DestructionStep(DecisionStep, Base):
    """One approval the destruction needs (its chain: ``disposal.rules``)."""

    __tablename__ = "destruction_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    destruction_id: Mapped[int] = mapped_column(ForeignKey("destructions.id"), index=True)

    destruction: Mapped[Destruction] = relationship(back_populates="steps")

    @property
    def applicant_id(self) -> int | None:
        return self.destruction.applicant_id


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
    result: Mapped[str] = mapped_column(String(24), default=ItemResult.PENDING)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    detail: Mapped[str | None] = mapped_column(String(1000))


class SigningKey(Base):
    """A public key that has signed (or signs now) destruction records: the key history
    (签名密钥记录). Private keys are never stored here; a rotated-out key stays listed so
    every record it signed still verifies."""

    __tablename__ = "signing_keys"

    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    public_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
