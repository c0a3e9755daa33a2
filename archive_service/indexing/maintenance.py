"""Keeping the index in step with the database: the index queue's updates and removals, a
full rebuild from the renditions, and the check (and repair) of both ways."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.models import ArchiveNumber, Document, DocumentStatus
from archive_service.audit.services import Actor, record
from archive_service.db import utcnow
from archive_service.indexing.context import Indexing
from archive_service.indexing.later import extract_later
from archive_service.indexing.renditions import rendition_text
from search import IndexedDocument

log = logging.getLogger(__name__)
SYSTEM = Actor.system("indexer")
BATCH = 200


def _indexed(ix: Indexing, session: Session, doc: Document) -> IndexedDocument:
    from search.index import IndexedDocument

    numbers = [doc.archive_number] if doc.archive_number else []
    numbers += [
        n
        for n in session.execute(
            select(ArchiveNumber.number)
            .where(ArchiveNumber.document_id == doc.id)
            .order_by(ArchiveNumber.assigned_at)
        ).scalars()
        if n != doc.archive_number
    ]
    text_facts = {f["name"] for f in doc.category.facts or [] if f.get("type") != "date"}
    return IndexedDocument(
        id=doc.id,
        numbers=tuple(numbers),
        title=doc.title,
        customer_id=doc.customer_id,
        customer_name=doc.customer.name,
        customer_code=doc.customer.credit_code,
        category=doc.category.code,
        department=doc.customer.department.code,
        status=doc.status,
        on_hold=doc.on_hold,
        document_date=doc.document_date,
        filing_date=doc.filing_date,
        tags=tuple(doc.tags or ()),
        identifiers=tuple(str(v) for k, v in (doc.facts or {}).items() if k in text_facts and v),
        body=rendition_text(ix.vault, session, doc),
    )


def index_documents(ix: Indexing, document_ids: Iterable[int]) -> int:
    """Bring these documents' index entries up to date (destroyed ones are removed).

    An index written without this process's term key (an older format, or another key)
    cannot take them: it is rebuilt whole instead, which includes them."""
    ids = sorted(set(document_ids))
    reason = ix.index.needs_rebuild()
    if reason is not None:
        log.warning("the search index must be rebuilt (%s): rebuilding it now", reason)
        reindex(ix, reason=reason)
        return len(ids)
    live: list[IndexedDocument] = []
    gone: list[int] = []
    with ix.db.unit_of_work() as s:
        for doc_id in ids:
            doc = s.get(Document, doc_id)
            if doc is None or doc.status == DocumentStatus.DESTROYED:
                gone.append(doc_id)
            else:
                live.append(_indexed(ix, s, doc))
    if gone:
        ix.index.remove(gone)
    return ix.index.update(live) if live else 0


def remove(ix: Indexing, document_ids: Iterable[int]) -> int:
    return ix.index.remove(sorted(set(document_ids)))


def _all_live(ix: Indexing) -> Iterator[IndexedDocument]:
    with ix.db.unit_of_work() as s:
        ids = list(
            s.execute(
                select(Document.id)
                .where(Document.status != DocumentStatus.DESTROYED)
                .order_by(Document.id)
            ).scalars()
        )
    for start in range(0, len(ids), BATCH):
        with ix.db.unit_of_work() as s:
            for doc_id in ids[start : start + BATCH]:
                doc = s.get(Document, doc_id)
                if doc is not None and doc.status != DocumentStatus.DESTROYED:
                    yield _indexed(ix, s, doc)
            s.expunge_all()


def reindex(ix: Indexing, reason: str | None = None) -> int:
    """Rebuild the whole index from the database and the text renditions (no re-extraction);
    ``reason``: why it was started by the service itself (the index needed a rebuild)."""
    count = ix.index.rebuild(_all_live(ix))
    with ix.db.unit_of_work() as s:
        extra = {} if reason is None else {"reason": reason}
        record(s, SYSTEM, "search.reindex", "index", None, documents=count, **extra)
    return count


@dataclass
class IndexCheck:
    missing: list[int] = field(default_factory=list)  # in the database, not in the index
    extra: list[int] = field(default_factory=list)  # in the index, not (or no longer) live
    unextracted: list[int] = field(default_factory=list)  # text extraction still pending
    # Extraction failed: reason class -> ids. Their metadata is indexed, their text is not.
    failed: dict[str, list[int]] = field(default_factory=dict)
    retry_due: list[int] = field(default_factory=list)  # failed, and their retry time has come
    # Why the index must be rebuilt before it can serve (unkeyed, other-key), if it must.
    rebuild: str | None = None

    @property
    def ok(self) -> bool:
        return not self.missing and not self.extra and self.rebuild is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "rebuild": self.rebuild,
            "missing": self.missing,
            "extra": self.extra,
            "unextracted": self.unextracted,
            "failed": self.failed,
            "retry_due": self.retry_due,
        }


def check(ix: Indexing, session: Session) -> IndexCheck:
    """Compare the index with the database, both ways; list the failed extractions."""
    rows = session.execute(
        select(
            Document.id,
            Document.extraction,
            Document.extraction_reason,
            Document.extraction_retry_at,
        ).where(Document.status != DocumentStatus.DESTROYED)
    ).all()
    live = {row.id for row in rows}
    indexed = ix.index.ids()
    now = utcnow()
    failed: dict[str, list[int]] = {}
    for row in rows:
        if row.extraction == "failed":
            failed.setdefault(row.extraction_reason or "unknown", []).append(row.id)
    return IndexCheck(
        rebuild=ix.index.needs_rebuild(),
        missing=sorted(live - indexed),
        extra=sorted(indexed - live),
        unextracted=sorted(row.id for row in rows if row.extraction == "pending"),
        failed={reason: sorted(ids) for reason, ids in sorted(failed.items())},
        retry_due=sorted(
            row.id
            for row in rows
            if row.extraction == "failed"
            and row.extraction_retry_at is not None
            and row.extraction_retry_at <= now
        ),
    )


def _publish(ix: Indexing) -> None:
    """Where the index feeds web machines' replicas, publish it: a write whose publish
    failed (the shared place was down) reaches them here at the latest."""
    from search.publish import PublishedIndex

    if isinstance(ix.index, PublishedIndex):
        ix.index.publish()


def repair(ix: Indexing) -> dict[str, Any]:
    """Fix what :func:`check` finds: index the missing, remove the extra, extract the pending
    and the failed ones whose retry time has come."""
    with ix.db.unit_of_work() as s:
        found = check(ix, s)
    if found.rebuild is not None:
        reindex(ix, reason=found.rebuild)  # every live document, in the new format
    else:
        if found.extra:
            remove(ix, found.extra)
        if found.missing:
            index_documents(ix, found.missing)
    _publish(ix)
    to_extract = sorted(set(found.unextracted) | set(found.retry_due))
    if not found.ok or to_extract:
        with ix.db.unit_of_work() as s:
            record(s, SYSTEM, "search.repair", "index", None, **found.as_dict())
            if to_extract:
                extract_later(s, to_extract)
    return found.as_dict()
