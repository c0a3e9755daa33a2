"""Search use cases: text renditions, index updates, access-filtered queries, the index check.

The ``search`` library owns Whoosh; this module decides *what* goes in and
*who* may find it. Writes run only in Celery tasks on the ``index`` queue
(one consumer, so one writer); web processes only read. The index keeps ids
and filter fields, never text: the extracted text is stored encrypted as the
document's text rendition, re-read for re-indexing and for the snippets of
the hits a caller is shown.
"""

from __future__ import annotations

import io
import logging
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive_service.access.coverage import live_scopes
from archive_service.archive.models import (
    ArchiveNumber,
    Category,
    Document,
    DocumentStatus,
)
from archive_service.audit.services import Actor, record
from archive_service.db import utcnow
from archive_service.errors import InvalidInput
from archive_service.indexing.later import extract_later, refresh_later
from archive_service.indexing.rules import next_retry
from archive_service.policy import Caller, may, visibility
from archive_service.vault.models import StoredObject

if TYPE_CHECKING:
    from archive_service.runtime import Runtime
    from search.index import AccessFilter, IndexedDocument

log = logging.getLogger(__name__)
SYSTEM = Actor.system("indexer")
BATCH = 200


# --- text renditions ---------------------------------------------------------------------


def extract_text(rt: Runtime, document_id: int) -> str:
    """Extract the current version's text into an encrypted rendition; returns the outcome.

    The plaintext file exists only in the instance's private temp area, for the
    time the limited child process reads it. A failure is recorded on the
    document with its reason class and, when the reason may pass, the time the
    repair job tries again (its metadata stays searchable); it is logged as a
    warning (id and reason, never text) and never raised.
    """
    from search.extract import extract

    # A short transaction to find the object; decrypting and extracting hold no lock.
    with rt.db.unit_of_work() as s:
        doc = s.get(Document, document_id)
        if doc is None or doc.status == DocumentStatus.DESTROYED or not doc.versions:
            return "gone"
        version = doc.current_version
        assert version is not None
        obj = s.get(StoredObject, version.stored_object_id)
        assert obj is not None
        content_type, version_id = version.content_type, version.id
    with tempfile.NamedTemporaryFile(dir=rt.temp_dir, prefix="extract-") as plain:
        for chunk in rt.vault.open(obj):
            plain.write(chunk)
        plain.flush()
        result = extract(
            plain.name,
            content_type,
            timeout=rt.settings.extract_timeout_seconds,
            memory_mb=rt.settings.extract_memory_mb,
        )
    with rt.db.unit_of_work() as s:
        s.execute(select(Document.id).where(Document.id == document_id).with_for_update())
        doc = s.get(Document, document_id, populate_existing=True)
        if doc is None or doc.status == DocumentStatus.DESTROYED:
            return "gone"
        current = doc.current_version
        if current is None or current.id != version_id:
            return "stale"  # a newer version arrived meanwhile; its own extraction follows
        old = s.get(StoredObject, doc.text_object_id) if doc.text_object_id else None
        if result.text:
            new = rt.vault.put(s, io.BytesIO(result.text.encode("utf-8")))
            doc.text_object_id, doc.extraction, doc.extraction_error = new.id, "done", None
        elif result.text is not None:  # a scan or an image: nothing to keep, nothing failed
            doc.text_object_id, doc.extraction, doc.extraction_error = None, "done", None
        else:
            doc.text_object_id, doc.extraction = None, "failed"
            doc.extraction_error = (result.error or "failed")[:300]
        _note_attempt(doc, result.reason if result.text is None else None)
        record(
            s,
            SYSTEM,
            "document.extract",
            "document",
            doc.id,
            outcome=doc.extraction,
            error=doc.extraction_error,
            truncated=result.truncated,
            chars=len(result.text or ""),
        )
        if old is not None:
            rt.vault.destroy_key(s, old)  # the rendition of a replaced version goes
        refresh_later(s, [doc.id])
    if old is not None:
        rt.vault.delete_object(old.object_name)
    return doc.extraction


def _note_attempt(doc: Document, failure: str | None) -> None:
    """Record the try's outcome: a success clears the failure; a failure counts, and the
    rule says whether and when the repair job tries again."""
    if doc.extraction != "failed":
        doc.extraction_reason, doc.extraction_attempts, doc.extraction_retry_at = None, 0, None
        return
    from search.extract import PARSE_ERROR

    doc.extraction_reason = failure or PARSE_ERROR
    doc.extraction_attempts = (doc.extraction_attempts or 0) + 1
    doc.extraction_retry_at = next_retry(doc.extraction_reason, doc.extraction_attempts, utcnow())
    when = (
        f"retried after {doc.extraction_retry_at:%Y-%m-%d %H:%M} UTC"
        if doc.extraction_retry_at
        else "not retried automatically"
    )
    # Id and reason class only: the error text may quote the file.
    log.warning(
        "text extraction of document %s failed: %s (try %d, %s)",
        doc.id,
        doc.extraction_reason,
        doc.extraction_attempts,
        when,
    )


def rendition_text(rt: Runtime, session: Session, doc: Document) -> str:
    """The decrypted text rendition ('' if none)."""
    if doc.text_object_id is None:
        return ""
    obj = session.get(StoredObject, doc.text_object_id)
    if obj is None or obj.wrapped_key is None:
        return ""
    return b"".join(rt.vault.open(obj)).decode("utf-8", errors="replace")


# --- index updates (the index queue's tasks) -----------------------------------------------


def _indexed(rt: Runtime, session: Session, doc: Document) -> IndexedDocument:
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
        body=rendition_text(rt, session, doc),
    )


def index_documents(rt: Runtime, document_ids: Iterable[int]) -> int:
    """Bring these documents' index entries up to date (destroyed ones are removed)."""
    ids = sorted(set(document_ids))
    live: list[IndexedDocument] = []
    gone: list[int] = []
    with rt.db.unit_of_work() as s:
        for doc_id in ids:
            doc = s.get(Document, doc_id)
            if doc is None or doc.status == DocumentStatus.DESTROYED:
                gone.append(doc_id)
            else:
                live.append(_indexed(rt, s, doc))
    if gone:
        rt.search_index.remove(gone)
    return rt.search_index.update(live) if live else 0


def remove(rt: Runtime, document_ids: Iterable[int]) -> int:
    return rt.search_index.remove(sorted(set(document_ids)))


def _all_live(rt: Runtime) -> Iterator[IndexedDocument]:
    with rt.db.unit_of_work() as s:
        ids = list(
            s.execute(
                select(Document.id)
                .where(Document.status != DocumentStatus.DESTROYED)
                .order_by(Document.id)
            ).scalars()
        )
    for start in range(0, len(ids), BATCH):
        with rt.db.unit_of_work() as s:
            for doc_id in ids[start : start + BATCH]:
                doc = s.get(Document, doc_id)
                if doc is not None and doc.status != DocumentStatus.DESTROYED:
                    yield _indexed(rt, s, doc)
            s.expunge_all()


def reindex(rt: Runtime) -> int:
    """Rebuild the whole index from the database and the text renditions (no re-extraction)."""
    count = rt.search_index.rebuild(_all_live(rt))
    with rt.db.unit_of_work() as s:
        record(s, SYSTEM, "search.reindex", "index", None, documents=count)
    return count


@dataclass
class IndexCheck:
    missing: list[int] = field(default_factory=list)  # in the database, not in the index
    extra: list[int] = field(default_factory=list)  # in the index, not (or no longer) live
    unextracted: list[int] = field(default_factory=list)  # text extraction still pending
    # Extraction failed: reason class -> ids. Their metadata is indexed, their text is not.
    failed: dict[str, list[int]] = field(default_factory=dict)
    retry_due: list[int] = field(default_factory=list)  # failed, and their retry time has come

    @property
    def ok(self) -> bool:
        return not self.missing and not self.extra

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "missing": self.missing,
            "extra": self.extra,
            "unextracted": self.unextracted,
            "failed": self.failed,
            "retry_due": self.retry_due,
        }


def check(rt: Runtime, session: Session) -> IndexCheck:
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
    indexed = rt.search_index.ids()
    now = utcnow()
    failed: dict[str, list[int]] = {}
    for row in rows:
        if row.extraction == "failed":
            failed.setdefault(row.extraction_reason or "unknown", []).append(row.id)
    return IndexCheck(
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


def repair(rt: Runtime) -> dict[str, Any]:
    """Fix what :func:`check` finds: index the missing, remove the extra, extract the pending
    and the failed ones whose retry time has come."""
    with rt.db.unit_of_work() as s:
        found = check(rt, s)
    if found.extra:
        remove(rt, found.extra)
    if found.missing:
        index_documents(rt, found.missing)
    to_extract = sorted(set(found.unextracted) | set(found.retry_due))
    if not found.ok or to_extract:
        with rt.db.unit_of_work() as s:
            record(s, SYSTEM, "search.repair", "index", None, **found.as_dict())
            if to_extract:
                extract_later(s, to_extract)
    return found.as_dict()


def failed_extractions(session: Session) -> dict[str, int]:
    """How many live documents' extraction failed, by reason class (the health page)."""
    rows = session.execute(
        select(Document.extraction_reason, func.count())
        .where(Document.extraction == "failed", Document.status != DocumentStatus.DESTROYED)
        .group_by(Document.extraction_reason)
    ).all()
    return {reason or "unknown": int(n) for reason, n in sorted(rows, key=lambda r: r[0] or "")}


def reextract_failed(
    session: Session, by: Caller, reasons: Iterable[str] | None = None
) -> list[int]:
    """Queue the failed extractions (of these reason classes, or all) again, as new: they
    are pending until the extraction runs, so a lost job is re-sent by the repair."""
    wanted = set(reasons or ())
    query = update(Document).where(
        Document.extraction == "failed", Document.status != DocumentStatus.DESTROYED
    )
    if wanted:
        query = query.where(Document.extraction_reason.in_(sorted(wanted)))
    ids = sorted(
        session.execute(
            query.values(
                extraction="pending",
                extraction_error=None,
                extraction_reason=None,
                extraction_attempts=0,
                extraction_retry_at=None,
            )
            .returning(Document.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    if ids:
        record(
            session,
            by.actor,
            "search.reextract",
            "index",
            None,
            documents=len(ids),
            reasons=sorted(wanted) or "all",
        )
        extract_later(session, ids)
    return ids


# --- queries ---------------------------------------------------------------------------------


def access_filter(session: Session, by: Caller) -> AccessFilter:
    """The policy's visibility rule, as the index's filter: what the caller may open."""
    from search.index import AccessFilter

    seen = visibility(by)
    if seen.everything:
        return AccessFilter(everything=True)
    departments: set[str] = set()
    if seen.department_id is not None and by.user is not None and by.user.department:
        departments.add(by.user.department.code)
    customers: set[int] = set()
    pairs: set[tuple[int, str]] = set()
    documents: set[int] = set()
    if seen.grants_of is not None:
        for customer_id, document_id, category in live_scopes(session, seen.grants_of):
            if document_id is not None:
                documents.add(document_id)
            elif category is not None:
                pairs.add((customer_id, category))
            else:
                customers.add(customer_id)
    return AccessFilter(
        departments=frozenset(departments),
        customers=frozenset(customers),
        customer_categories=frozenset(pairs),
        documents=frozenset(documents),
    )


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    customer_id: int | None = None
    category: str | None = None
    department: str | None = None
    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20


@dataclass
class Found:
    document: Document
    score: float
    snippets: list[str] = field(default_factory=list)


def search(
    rt: Runtime, session: Session, by: Caller, p: SearchParams, snippets: bool = True
) -> tuple[list[Found], int]:
    """Documents the caller may open that match; snippets from the shown hits' renditions."""
    from search import QueryError, SearchQuery, highlight

    if p.sort not in ("relevance", "date"):
        raise InvalidInput("sort must be relevance or date", field="sort")
    if (
        p.category
        and not session.execute(select(Category.id).where(Category.code == p.category)).first()
    ):
        raise InvalidInput(f"unknown category {p.category!r}", field="category")
    query = SearchQuery(
        text=p.q.strip()[:500],
        access=access_filter(session, by),
        customer_id=p.customer_id,
        category=p.category,
        department=(p.department or "").upper() or None,
        status=p.status,
        date_from=p.date_from,
        date_to=p.date_to,
        sort=p.sort,
        page=p.page,
        per_page=p.per_page,
    )
    try:
        page = rt.search_index.search(query)
    except QueryError as exc:
        raise InvalidInput(f"the query cannot be read: {exc}", field="q") from exc
    found: list[Found] = []
    for hit in page.hits:
        doc = session.get(Document, hit.id)
        # The index filter already applied the rule; this guards against a stale entry.
        if doc is None or doc.status == DocumentStatus.DESTROYED:
            continue
        if not may(by, "document.view", doc):
            log.warning("index filter let document %s through for %s", doc.id, by.actor.username)
            continue
        item = Found(document=doc, score=hit.score)
        if snippets and p.q.strip() and _may_quote(by, doc):
            item.snippets = highlight(rendition_text(rt, session, doc), p.q)
        found.append(item)
    record(
        session,
        by.actor,
        "document.search",
        "index",
        None,
        q=p.q[:200],
        customer_id=p.customer_id,
        category=p.category,
        department=p.department,
        status=p.status,
        total=page.total,
        page=p.page,
        shown=[f.document.id for f in found],
    )
    return found, page.total


def _may_quote(by: Caller, doc: Document) -> bool:
    """Snippets are content: only for readers whose reading needs no stated purpose."""
    decision = may(by, "document.read", doc)
    return bool(decision) and decision.rule != "manager-registered"
