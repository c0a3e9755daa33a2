"""Storage places (room → cabinet → shelf → box), paper originals, their loans, and
stocktakes with what each found."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.accounts.models import User
from archive_service.db import Base, UTCDateTime, utcnow
from archive_service.paper.vocabulary import ItemState, LoanPlace, StocktakeState


class Location(Base):
    """A storage place (存放位置): a room, a cabinet in it, a shelf, a box. Stated as data
    by the archivists; a place with paper in it, or with places in it, is not removed."""

    __tablename__ = "paper_locations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # printed on the shelf
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("paper_locations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(Integer)

    parent: Mapped[Location | None] = relationship(remote_side=[id])


class PaperItem(Base):
    """A document's paper original (纸质原件): where it is kept and in what state."""

    __tablename__ = "paper_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), unique=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("paper_locations.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=ItemState.IN_PLACE, index=True)
    pages: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    location: Mapped[Location | None] = relationship()


class Stocktake(Base):
    """A stocktake (清查) of a place and everything in it, or of all paper: the finds as they
    are recorded; once finished, the report (fixed then, kept as it was) waits for the
    operations head's sign-off."""

    __tablename__ = "paper_stocktakes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("paper_locations.id"))
    state: Mapped[str] = mapped_column(String(16), default=StocktakeState.OPEN, index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The report as it stood when the count was finished: [{item, finding, ...}, ...]
    report: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sign_comment: Mapped[str | None] = mapped_column(String(1000))

    location: Mapped[Location | None] = relationship()
    started_by: Mapped[User | None] = relationship(foreign_keys=[started_by_id])
    finished_by: Mapped[User | None] = relationship(foreign_keys=[finished_by_id])
    signed_by: Mapped[User | None] = relationship(foreign_keys=[signed_by_id])


class StocktakeFind(Base):
    """One item found during a stocktake, and where (the place being counted). Found twice,
    the later find counts."""

    __tablename__ = "paper_stocktake_finds"
    __table_args__ = (UniqueConstraint("stocktake_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stocktake_id: Mapped[int] = mapped_column(ForeignKey("paper_stocktakes.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("paper_items.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("paper_locations.id"))
    found_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    found_by_id: Mapped[int | None] = mapped_column(Integer)


class Loan(Base):
    """A paper original handed out to the holder of a grant (借阅), and its return. Open
    while ``returned_at`` is empty; overdue once the day after ``due_on`` (China's calendar
    day) has begun. ``overdue_notice_on`` is the day the borrower was last told."""

    __tablename__ = "paper_loans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("paper_items.id"), index=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("grants.id"), index=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    handed_out_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    handed_out_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    place: Mapped[str] = mapped_column(String(16), default=LoanPlace.READING_ROOM)
    note: Mapped[str | None] = mapped_column(String(500))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    returned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    return_note: Mapped[str | None] = mapped_column(String(500))
    overdue_notice_on: Mapped[date | None] = mapped_column(Date)

    item: Mapped[PaperItem] = relationship()
    borrower: Mapped[User] = relationship(foreign_keys=[borrower_id])
    handed_out_by: Mapped[User] = relationship(foreign_keys=[handed_out_by_id])
    returned_by: Mapped[User | None] = relationship(foreign_keys=[returned_by_id])
