"""Full-text search for the archive: text extraction, analysis, the index and its queries.

A library: it knows nothing of Flask, the database or the service. The service
feeds it :class:`IndexedDocument` values and asks :class:`SearchIndex` for pages
of ids the caller may open; see docs/search.md.
"""

from search.extract import Extraction, extract
from search.index import (
    AccessFilter,
    Hit,
    IndexBusy,
    IndexedDocument,
    SearchIndex,
    SearchPage,
    SearchQuery,
)
from search.query import QueryError, highlight

__all__ = [
    "AccessFilter",
    "Extraction",
    "Hit",
    "IndexBusy",
    "IndexedDocument",
    "QueryError",
    "SearchIndex",
    "SearchPage",
    "SearchQuery",
    "extract",
    "highlight",
]
