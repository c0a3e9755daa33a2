"""Full-text search for the archive: text extraction, analysis, the index and its queries.

A library: it knows nothing of Flask, the database or the service. The service
feeds a :class:`SearchBackend` (the Whoosh :class:`SearchIndex` by default)
:class:`IndexedDocument` values and asks it for pages of ids the caller may open;
see docs/search.md.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Loaded now: the module and its function share a name, and the function must win.
from search.extract import Extraction, extract

# Each public name and the module that defines it. They load on first use, so a child
# process that only extracts text does not import Whoosh and numpy.
_HOMES = {
    "SearchBackend": "search.backend",
    "SearchIndex": "search.index",
    "QueryError": "search.query",
    "highlight": "search.query",
    "AccessFilter": "search.types",
    "Hit": "search.types",
    "IndexBusy": "search.types",
    "IndexNeedsRebuild": "search.types",
    "IndexedDocument": "search.types",
    "PublishFailed": "search.types",
    "SearchPage": "search.types",
    "SearchQuery": "search.types",
    "TermKey": "search.keyed",
}

if TYPE_CHECKING:
    from search.backend import SearchBackend
    from search.index import SearchIndex
    from search.keyed import TermKey
    from search.query import QueryError, highlight
    from search.types import (
        AccessFilter,
        Hit,
        IndexBusy,
        IndexedDocument,
        IndexNeedsRebuild,
        PublishFailed,
        SearchPage,
        SearchQuery,
    )


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'search' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "AccessFilter",
    "Extraction",
    "Hit",
    "IndexBusy",
    "IndexNeedsRebuild",
    "IndexedDocument",
    "PublishFailed",
    "QueryError",
    "SearchBackend",
    "SearchIndex",
    "SearchPage",
    "SearchQuery",
    "TermKey",
    "extract",
    "highlight",
]
