"""Full-text search for the archive: text extraction, analysis, the index and its queries.

A library: it knows nothing of Flask, the database or the service. The service
feeds a :class:`SearchBackend` (the Whoosh :class:`SearchIndex` by default)
:class:`IndexedDocument` values and asks it for pages of ids the caller may open;
see docs/search.md.
"""

from search.backend import SearchBackend
from search.extract import Extraction, extract
from search.index import SearchIndex
from search.query import QueryError, highlight
from search.types import (
    AccessFilter,
    Hit,
    IndexBusy,
    IndexedDocument,
    SearchPage,
    SearchQuery,
)

__all__ = [
    "AccessFilter",
    "Extraction",
    "Hit",
    "IndexBusy",
    "IndexedDocument",
    "QueryError",
    "SearchBackend",
    "SearchIndex",
    "SearchPage",
    "SearchQuery",
    "extract",
    "highlight",
]
