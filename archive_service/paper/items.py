"""A document's paper original: recorded with its place, pages and a note; moved to another
place; found by the code on its label (a scan)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.documents import get_document
from archive_service.archive.models import ArchiveNumber, Document, DocumentStatus
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.errors import Conflict, Gone, InvalidInput, NotFound
from archive_service.paper.models import Location, PaperItem
from archive_service.paper.vocabulary import ItemState
from archive_service.policy import Caller, require

MAX_PAGES = 100_000
# What a label's QR code holds: the scan page's address with the archive number and this
# archive's fonds code; ``parse_code`` takes that, or the number alone (a USB scanner or a
# person typing it).
NUMBER_PARAM, FONDS_PARAM = "n", "f"


@dataclass(frozen=True)
class PaperIn:
    location_id: int | None
    pages: int | None = None
    note: str | None = None


def paper_of(session: Session, document_id: int) -> PaperItem | None:
    return session.scalar(select(PaperItem).where(PaperItem.document_id == document_id))


def original_of(session: Session, by: Caller, document_id: int) -> PaperItem:
    """The paper original of a document the caller may see (its record — where it is
    kept, its state — is part of the document's metadata)."""
    doc = get_document(session, by, document_id)
    item = paper_of(session, doc.id)
    if item is None:
        raise NotFound("no paper original is recorded for this document")
    return item


def record_original(session: Session, by: Caller, document_id: int, data: PaperIn) -> PaperItem:
    """Record the document's paper original where it is kept, or change its place, pages
    or note; every change is in the audit trail."""
    doc = get_document(session, by, document_id)
    require(by, "paper.manage", doc)
    if doc.status == DocumentStatus.DESTROYED:
        raise Conflict("the document was destroyed")
    place = None
    if data.location_id is not None:
        place = session.get(Location, data.location_id)
        if place is None:
            raise InvalidInput("no such storage place", field="location_id")
    if data.pages is not None and not 0 < data.pages <= MAX_PAGES:
        raise InvalidInput(f"pages must be between 1 and {MAX_PAGES}", field="pages")
    note = (data.note or "").strip() or None
    if note is not None and len(note) > 500:
        raise InvalidInput("note is longer than 500 characters", field="note")
    item = paper_of(session, doc.id)
    if item is not None and item.state in ItemState.GONE:
        raise Conflict("the paper original is no longer in this archive's keeping")
    if item is not None and item.state == ItemState.LENT and place != item.location:
        raise Conflict("the paper original is lent out: it is placed when it comes back")
    if item is None:
        item = PaperItem(document_id=doc.id, created_by_id=by.user_id)
        session.add(item)
        action, before = "paper.record", None
    else:
        action, before = "paper.update", item.location.code if item.location else None
    if item.location_id != (place.id if place else None) and action == "paper.update":
        item.moved_at = utcnow()
    item.location_id = place.id if place else None
    item.location = place
    item.pages, item.note = data.pages, note
    session.flush()
    record(
        session, by.actor, action, "document", doc.id,
        location=place.code if place else None, previous_location=before, pages=data.pages,
    )  # fmt: skip
    return item


@dataclass(frozen=True)
class Scanned:
    document: Document
    item: PaperItem | None


def parse_code(code: str, fonds: str) -> str:
    """The archive number a scanned or typed code names. A label of another archive (its
    address names another fonds) is refused, saying so."""
    text = (code or "").strip()
    if not text or len(text) > 2000:
        raise InvalidInput("scan or type a label's code", field="code")
    if "://" in text or text.startswith("/"):
        query = parse_qs(urlsplit(text).query)
        number = (query.get(NUMBER_PARAM) or [""])[0].strip()
        their = (query.get(FONDS_PARAM) or [""])[0].strip()
        if not number:
            raise InvalidInput("this code is not a label of this archive", field="code")
        if their and their != fonds:
            raise InvalidInput("this label belongs to another archive", field="code", fonds=their)
        return number
    return text


def scan(session: Session, by: Caller, code: str, fonds: str) -> Scanned:
    """The document (and its paper original) a label names, for a caller who may see it.
    A destroyed one says so (410, with the day)."""
    number = parse_code(code, fonds)
    row = session.get(ArchiveNumber, number)
    if row is None:
        raise NotFound("no document of this archive has this number", number=number)
    doc = session.get(Document, row.document_id)
    if doc is not None and doc.status == DocumentStatus.DESTROYED:
        require(by, "paper.read")
        day = doc.destroyed_at.date().isoformat() if doc.destroyed_at else None
        raise Gone("this item was destroyed", number=number, destroyed_on=day)
    doc = get_document(session, by, row.document_id)
    return Scanned(doc, paper_of(session, doc.id))
