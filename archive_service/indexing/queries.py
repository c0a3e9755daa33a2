"""Searching: the policy's visibility rule as the index's filter, the query, and snippets
from the shown hits' renditions only; every search is in the audit trail."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from archive_service.access.coverage import live_scopes
from archive_service.archive.models import Category, Document, DocumentStatus
from archive_service.audit.services import record
from archive_service.errors import DomainError, InvalidInput
from archive_service.indexing.renditions import object_text
from archive_service.policy import Caller, may, visibility
from archive_service.sampling.coverage import sampled_customers
from archive_service.vault.models import StoredObject
from archive_service.vault.services import Vault
from search import AccessFilter, SearchBackend

log = logging.getLogger(__name__)


class SearchUnavailable(DomainError):
    """The index cannot answer now: it was written without this service's term key (an
    older format, or another key) and is being rebuilt. Nothing else is wrong."""

    status = 503
    code = "search_rebuilding"


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
    if seen.sampled_by is not None:
        customers.update(sampled_customers(session, seen.sampled_by))
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
    session: Session,
    by: Caller,
    vault: Vault,
    backend: SearchBackend,
    p: SearchParams,
    snippets: bool = True,
) -> tuple[list[Found], int]:
    """Documents the caller may open that match; snippets from the shown hits' renditions."""
    from search import IndexNeedsRebuild, QueryError, SearchQuery, highlight

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
        page = backend.search(query)
    except QueryError as exc:
        raise InvalidInput(f"the query cannot be read: {exc}", field="q") from exc
    except IndexNeedsRebuild as exc:
        log.error("search refused: %s; run 'archive search reindex'", exc)
        raise SearchUnavailable(
            "search is unavailable until the index is rebuilt; try again later",
            rebuild=exc.reason,
        ) from exc
    docs, texts = _hits(
        session, [h.id for h in page.hits], with_text=snippets and bool(p.q.strip())
    )
    found: list[Found] = []
    for hit in page.hits:
        doc = docs.get(hit.id)
        # The index filter already applied the rule; this guards against a stale entry.
        if doc is None or doc.status == DocumentStatus.DESTROYED:
            continue
        if not may(by, "document.view", doc):
            log.warning("index filter let document %s through for %s", doc.id, by.actor.username)
            continue
        item = Found(document=doc, score=hit.score)
        if snippets and p.q.strip() and _may_quote(by, doc):
            text_object = texts.get(doc.text_object_id) if doc.text_object_id else None
            item.snippets = highlight(object_text(vault, text_object), p.q)
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


def _hits(
    session: Session, ids: list[int], *, with_text: bool
) -> tuple[dict[int, Document], dict[int, StoredObject]]:
    """The page's documents with their versions in one query, and — for snippets — their
    text renditions' objects in one more, so no hit costs a query of its own."""
    if not ids:
        return {}, {}
    found_docs = session.scalars(
        select(Document).options(joinedload(Document.versions)).where(Document.id.in_(ids))
    ).unique()
    docs = {d.id: d for d in found_docs}
    text_ids = [d.text_object_id for d in docs.values() if d.text_object_id is not None]
    texts: dict[int, StoredObject] = {}
    if with_text and text_ids:
        found = session.scalars(select(StoredObject).where(StoredObject.id.in_(text_ids)))
        texts = {o.id: o for o in found}
    return docs, texts


def _may_quote(by: Caller, doc: Document) -> bool:
    """Snippets are content: only for readers whose reading needs no stated purpose."""
    decision = may(by, "document.read", doc)
    return bool(decision) and decision.rule != "manager-registered"
