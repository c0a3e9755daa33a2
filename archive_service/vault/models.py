"""One row per encrypted object: where it is, the wrapped key that opens it, its checksum.

A row exists only once its object is durably written; erasing destroys the
wrapped key (cryptographic erase) and keeps the row as evidence.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from archive_service.db import Base, UTCDateTime, utcnow


class StoredObject(Base):
    __tablename__ = "stored_objects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    object_name: Mapped[str] = mapped_column(String(64), unique=True)
    # The data key wrapped by a master key; NULL once erased.
    wrapped_key: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str | None] = mapped_column(String(64), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    stored_size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def erased(self) -> bool:
        return self.erased_at is not None
