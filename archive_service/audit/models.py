"""Audit event rows and the chain head.

Each event's hash covers the previous event's hash and the canonical form of
the event, so any edit, deletion or reordering breaks the chain at a place
:func:`archive_service.audit.services.verify` can name. The single
``audit_chain`` row holds the newest sequence number and hash: linking events
at commit locks it, so two writers never fork the chain, and a deleted tail is
detected.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from archive_service.db import Base, UTCDateTime


class AuditEvent(Base):
    __tablename__ = "audit_events"
    # The trail's "target" filter (``document:42``, or every ``user``): migration 0016.
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    actor: Mapped[str | None] = mapped_column(String(150), index=True)
    ip: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(80), index=True)
    target_type: Mapped[str | None] = mapped_column(String(40))
    target_id: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    @property
    def target(self) -> str | None:
        if self.target_type is None:
            return None
        return f"{self.target_type}:{self.target_id}" if self.target_id else self.target_type


class AuditChain(Base):
    """The chain head: exactly one row, id 1."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    last_hash: Mapped[str] = mapped_column(String(64))
