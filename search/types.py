"""The values the service and a search backend exchange: documents in, queries in, pages out.

Plain dataclasses (and the one "busy" error), with no Whoosh in sight: any backend
behind :class:`search.backend.SearchBackend` takes and gives exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

__all__ = [
    "AccessFilter",
    "Hit",
    "IndexBusy",
    "IndexNeedsRebuild",
    "IndexedDocument",
    "PublishFailed",
    "SearchPage",
    "SearchQuery",
]


@dataclass(frozen=True)
class IndexedDocument:
    """What the index needs to know of a document (档案) to find and filter it."""

    id: int
    numbers: tuple[str, ...]  # current archive number first, then earlier ones
    title: str
    customer_id: int
    customer_name: str
    customer_code: str | None  # unified social credit code / ID number: exact match
    category: str  # two-level code like "business.contract"
    department: str  # owning department code like "SALES"
    status: str  # submitted | returned | accepted
    on_hold: bool
    document_date: date | None
    filing_date: date | None
    tags: tuple[str, ...]
    identifiers: tuple[str, ...]  # e.g. contract numbers "HT-2023-001": exact match
    body: str  # extracted text: indexed, never stored


@dataclass(frozen=True)
class AccessFilter:
    """What the caller may open, as the service's policy computed it. Applied inside the query."""

    everything: bool = False
    departments: frozenset[str] = frozenset()  # whole departments' customers
    customers: frozenset[int] = frozenset()  # whole customers' archives
    customer_categories: frozenset[tuple[int, str]] = frozenset()  # (customer_id, category)
    documents: frozenset[int] = frozenset()  # single documents
    # nothing set and everything False → matches nothing


@dataclass(frozen=True)
class SearchQuery:
    """One search: the query box's text, the caller's access and the form's filters."""

    text: str
    access: AccessFilter
    customer_id: int | None = None
    category: str | None = None  # second-level code, or a top-level code matching its children
    department: str | None = None
    status: str | None = None
    date_from: date | None = None  # on document_date
    date_to: date | None = None
    sort: str = "relevance"  # or "date" (newest document_date first)
    page: int = 1
    per_page: int = 20


@dataclass(frozen=True)
class Hit:
    """A document found: its id and its relevance score (0.0 when nothing ranks it)."""

    id: int
    score: float


@dataclass(frozen=True)
class SearchPage:
    """One page of hits and the total the caller may open (never more)."""

    hits: list[Hit]
    total: int  # total matching documents the caller may open


class IndexBusy(TimeoutError):
    """Another writer held the index for longer than the lock timeout."""


class IndexNeedsRebuild(RuntimeError):
    """The index was written without the term key in use, or with another: searching or
    adding to it would give wrong answers. ``reason`` is ``"unkeyed"`` or ``"other-key"``;
    a full rebuild replaces it. ``"not-replicated"``: a web machine's replica has synced
    nothing yet (:mod:`search.replica`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "the search replica has not synced a generation yet"
            if reason == "not-replicated"
            else f"the search index must be rebuilt ({reason}): it was not written with this "
            "term key"
        )
        self.reason = reason


class PublishFailed(Exception):
    """A write committed on the indexer could not be published to the web machines' replicas
    (the shared place is unreachable): they serve the previous generation until the next
    write or publish (:mod:`search.publish`)."""
