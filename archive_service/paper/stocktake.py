"""Stocktakes (清查): an archivist counts a place and everything inside it (or all paper),
recording each item found — by scanning its label or ticking it on the list — and where;
finishing fixes the report: found in place, missing, misplaced (found elsewhere than the
record says), unexpected (found, but the record says lent, gone, or kept outside the count);
the operations head signs it off. An interrupted count goes on where it stopped: the finds
are kept as they are recorded. A stocktake changes no record of where an item is: the
archivist moves what the report shows misplaced."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.models import ArchiveNumber, Document
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.disposal.reviews import listed
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.paper.items import paper_of, parse_code
from archive_service.paper.locations import get_location, path, subtree_ids
from archive_service.paper.models import Location, PaperItem, Stocktake, StocktakeFind
from archive_service.paper.vocabulary import Finding, ItemState, StocktakeState
from archive_service.policy import Caller, require


def start(session: Session, by: Caller, location_id: int | None) -> Stocktake:
    """Start counting a place (and what is inside it), or every paper original."""
    require(by, "stocktake.run")
    if location_id is not None:
        get_location(session, by, location_id)
    running = session.scalar(
        select(Stocktake.id).where(
            Stocktake.state == StocktakeState.OPEN,
            Stocktake.location_id.is_(None)
            if location_id is None
            else Stocktake.location_id == location_id,
        )
    )
    if running is not None:
        raise Conflict("a stocktake of this place is under way", stocktake_id=running)
    take = Stocktake(location_id=location_id, started_by_id=by.user_id)
    session.add(take)
    session.flush()
    record(session, by.actor, "stocktake.start", "stocktake", take.id, location_id=location_id)
    return take


def get_stocktake(session: Session, by: Caller, stocktake_id: int) -> Stocktake:
    require(by, "stocktake.read")
    take = session.get(Stocktake, stocktake_id)
    if take is None:
        raise NotFound("no such stocktake")
    return take


def list_stocktakes(
    session: Session, by: Caller, page: int = 1, per_page: int = 50
) -> tuple[list[Stocktake], int]:
    """Newest first, with the total."""
    return listed(session, by, "stocktake.read", Stocktake, None, page, per_page)


def _scope(session: Session, take: Stocktake) -> set[int] | None:
    """The places the count covers (None: all of them)."""
    return None if take.location_id is None else subtree_ids(session, take.location_id)


def expected(session: Session, take: Stocktake) -> list[PaperItem]:
    """What the records say lies in the counted places: the originals in place there."""
    q = select(PaperItem).where(PaperItem.state == ItemState.IN_PLACE)
    scope = _scope(session, take)
    if scope is not None:
        q = q.where(PaperItem.location_id.in_(scope))
    return list(session.scalars(q.order_by(PaperItem.id)))


def record_find(
    session: Session, by: Caller, stocktake_id: int, code: str, location_id: int | None, fonds: str
) -> StocktakeFind:
    """An item found: by its label's code (or its archive number), at ``location_id`` (the
    place being counted; its recorded place when left out)."""
    take = _open(session, by, stocktake_id)
    number = parse_code(code, fonds)
    row = session.get(ArchiveNumber, number)
    item = paper_of(session, row.document_id) if row is not None else None
    if item is None:
        raise InvalidInput(
            "no paper original of this archive is recorded under this number",
            field="code",
            number=number,
        )
    where = item.location_id if location_id is None else location_id
    if where is not None:
        get_location(session, by, where)
        scope = _scope(session, take)
        if scope is not None and where not in scope:
            raise InvalidInput("this place is not part of the stocktake", field="location_id")
    found = session.scalar(
        select(StocktakeFind).where(
            StocktakeFind.stocktake_id == take.id, StocktakeFind.item_id == item.id
        )
    )
    if found is None:
        found = StocktakeFind(stocktake_id=take.id, item_id=item.id)
        session.add(found)
    found.location_id, found.found_at, found.found_by_id = where, utcnow(), by.user_id
    session.flush()
    record(
        session, by.actor, "stocktake.find", "stocktake", take.id,
        document_id=item.document_id, location_id=where,
    )  # fmt: skip
    return found


def _open(session: Session, by: Caller, stocktake_id: int) -> Stocktake:
    take = session.get(Stocktake, stocktake_id, with_for_update=True)
    if take is None:
        raise NotFound("no such stocktake")
    require(by, "stocktake.run", take)
    if take.state != StocktakeState.OPEN:
        raise Conflict("the stocktake is finished")
    return take


def finds(session: Session, take: Stocktake) -> list[StocktakeFind]:
    return list(
        session.scalars(
            select(StocktakeFind)
            .where(StocktakeFind.stocktake_id == take.id)
            .order_by(StocktakeFind.found_at)
        )
    )


def compute_report(session: Session, take: Stocktake) -> list[dict[str, Any]]:
    """Each expected item with what the count found of it, then each item found that was
    not expected. Ordered by finding (missing first), then archive number."""
    scope = _scope(session, take)
    wanted = {i.id: i for i in expected(session, take)}
    found = {f.item_id: f for f in finds(session, take)}
    items = dict(wanted)
    for item_id in found:
        if item_id not in items:
            other = session.get(PaperItem, item_id)
            assert other is not None
            items[other.id] = other
    places = {p.id: p for p in session.scalars(select(Location))}
    docs = {
        d.id: d
        for d in session.scalars(
            select(Document).where(Document.id.in_([i.document_id for i in items.values()]))
        )
    }
    lines: list[dict[str, Any]] = []
    for item in items.values():
        got = found.get(item.id)
        if item.id not in wanted:
            finding = Finding.UNEXPECTED
        elif got is None:
            finding = Finding.MISSING
        elif got.location_id != item.location_id:
            finding = Finding.MISPLACED
        else:
            finding = Finding.FOUND
        doc = docs[item.document_id]
        recorded = places.get(item.location_id) if item.location_id else None
        at = places.get(got.location_id) if got and got.location_id else None
        lines.append(
            {
                "item_id": item.id,
                "document_id": doc.id,
                "archive_number": doc.archive_number,
                "title": doc.title,
                "finding": finding,
                "state": item.state,
                "recorded_location": recorded.code if recorded else None,
                "recorded_path": path(recorded),
                "found_location": at.code if at else None,
                "found_path": path(at) if got else None,
                "in_scope": scope is None or item.location_id in scope,
            }
        )
    order = {Finding.MISSING: 0, Finding.MISPLACED: 1, Finding.UNEXPECTED: 2, Finding.FOUND: 3}
    lines.sort(key=lambda x: (order[x["finding"]], x["archive_number"] or ""))
    return lines


@dataclass(frozen=True)
class Summary:
    found: int
    missing: int
    misplaced: int
    unexpected: int


def summary(lines: list[dict[str, Any]]) -> Summary:
    def n(kind: str) -> int:
        return sum(1 for x in lines if x["finding"] == kind)

    return Summary(
        n(Finding.FOUND), n(Finding.MISSING), n(Finding.MISPLACED), n(Finding.UNEXPECTED)
    )


def finish(session: Session, by: Caller, stocktake_id: int) -> Stocktake:
    """End the count: the report is fixed as it stands now and waits for the sign-off."""
    take = _open(session, by, stocktake_id)
    lines = compute_report(session, take)
    take.report = lines
    take.state = StocktakeState.FINISHED
    take.finished_at, take.finished_by_id = utcnow(), by.user_id
    s = summary(lines)
    record(
        session, by.actor, "stocktake.finish", "stocktake", take.id,
        found=s.found, missing=s.missing, misplaced=s.misplaced, unexpected=s.unexpected,
    )  # fmt: skip
    return take


def sign(session: Session, by: Caller, stocktake_id: int, comment: str | None) -> Stocktake:
    """The operations head signs the finished report off (not the person who counted)."""
    take = session.get(Stocktake, stocktake_id, with_for_update=True)
    if take is None:
        raise NotFound("no such stocktake")
    require(by, "stocktake.sign", take)
    if take.state != StocktakeState.FINISHED:
        raise Conflict("only a finished stocktake is signed off")
    text = (comment or "").strip() or None
    if text is not None and len(text) > 1000:
        raise InvalidInput("comment is longer than 1000 characters", field="comment")
    take.state, take.signed_at, take.signed_by_id = StocktakeState.SIGNED, utcnow(), by.user_id
    take.sign_comment = text
    record(session, by.actor, "stocktake.sign", "stocktake", take.id, comment=text)
    return take


def report_of(session: Session, take: Stocktake) -> list[dict[str, Any]]:
    """The fixed report once finished; while counting, the report as it would stand now."""
    return list(take.report) if take.report is not None else compute_report(session, take)
