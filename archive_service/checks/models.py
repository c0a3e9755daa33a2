"""Check reports: one per document version and stage, with each item's result."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from archive_service.db import Base, UTCDateTime, utcnow


class CheckReport(Base):
    """A 四性检测 report of one version at one stage; a re-run replaces its results."""

    __tablename__ = "check_reports"
    __table_args__ = (UniqueConstraint("version_id", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    passed: Mapped[bool] = mapped_column(Boolean)  # every mandatory item passed
    # [{"code", "passed", "detail"}] in vocabulary order; labels come from the vocabulary.
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    override_reason: Mapped[str | None] = mapped_column(String(1000))
    override_by_id: Mapped[int | None] = mapped_column(Integer)
