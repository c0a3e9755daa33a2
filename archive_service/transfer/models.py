"""Transfer applications (移交申请), their approvals and items; and, on the receiving side,
the packages received and the history each received document brought with it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.accounts.models import User
from archive_service.approvals import DecisionStep
from archive_service.db import Base, UTCDateTime, utcnow
from archive_service.transfer.vocabulary import Disposition, TransferStatus


class Transfer(Base):
    """A transfer application (移交申请) and, once exported and confirmed, its record."""

    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The package's identity: the same on every export of this transfer, so the receiving
    # archive takes one transfer once however often its package was written.
    package_id: Mapped[str] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=TransferStatus.PENDING, index=True)
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    receiver: Mapped[str] = mapped_column(String(300))  # 接收单位
    purpose: Mapped[str] = mapped_column(String(1000))  # 移交原因
    disposition: Mapped[str] = mapped_column(String(16), default=Disposition.KEEP)
    # How the documents were chosen (customer, categories, number range, ids), as applied.
    selection: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    documents: Mapped[int] = mapped_column(Integer, default=0)  # how many items
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    exported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    exports: Mapped[int] = mapped_column(Integer, default=0)
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))  # of the last export
    signing_key_id: Mapped[str | None] = mapped_column(String(64))
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    receipt: Mapped[str | None] = mapped_column(String(300))  # the receiver's 接收回执

    applicant: Mapped[User | None] = relationship(foreign_keys=[applicant_id], lazy="joined")
    exported_by: Mapped[User | None] = relationship(foreign_keys=[exported_by_id])
    confirmed_by: Mapped[User | None] = relationship(foreign_keys=[confirmed_by_id])
    steps: Mapped[list[TransferStep]] = relationship(
        lazy="selectin", order_by="TransferStep.position", back_populates="transfer"
    )
    # Loaded when asked for: a list of transfers shows ``documents``, not the items.
    items: Mapped[list[TransferItem]] = relationship(order_by="TransferItem.id")


class TransferStep(DecisionStep, Base):
    """One approval the transfer needs (its chain: ``transfer.rules``)."""

    __tablename__ = "transfer_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), index=True)

    transfer: Mapped[Transfer] = relationship(back_populates="steps")

    @property
    def applicant_id(self) -> int | None:
        return self.transfer.applicant_id


class TransferItem(Base):
    """One document of a transfer, as it was when the application was filed."""

    __tablename__ = "transfer_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    archive_number: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(64))
    customer: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(BigInteger)


class ReceivedTransfer(Base):
    """A transfer package another archive sent and this one took in (接收记录)."""

    __tablename__ = "received_transfers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    package_id: Mapped[str] = mapped_column(String(36), unique=True)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str] = mapped_column(String(300))
    signing_key_id: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    received_by_id: Mapped[int | None] = mapped_column(Integer)
    documents: Mapped[int] = mapped_column(Integer, default=0)


class ReceivedHistory(Base):
    """What a received document's first archive recorded of it: its history (audit events,
    numbers, retention changes) and its access register, as the package carried them."""

    __tablename__ = "received_histories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_id: Mapped[int] = mapped_column(ForeignKey("received_transfers.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    register: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)

    received: Mapped[ReceivedTransfer] = relationship(lazy="joined")
