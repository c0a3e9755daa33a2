"""The search interface the service uses: what any backend (Whoosh today) must do and keep.

A second backend (PostgreSQL full text, OpenSearch…) implements :class:`SearchBackend`
and passes the same contract tests; the service does not change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, runtime_checkable

from search.types import IndexedDocument, SearchPage, SearchQuery

__all__ = ["SearchBackend"]


@runtime_checkable
class SearchBackend(Protocol):
    """A full-text index of the archive's documents, holding ids and filterable fields.

    The contract every backend keeps:

    * **Access inside the query.** :meth:`search` applies ``query.access`` as part of
      the query, before counting and paging: ``total`` and the pages count only what
      the caller may open, and a document outside the filter is never revealed, not
      even by an exact number.
    * **No document text.** Bodies are analysed, never stored: the index keeps each
      document's id, its filter fields and whatever its terms need. Highlighting reads
      the service's encrypted text rendition, not the index. Read without the key the
      backend was given, the index reveals no word, number or code (terms are keyed).
    * **One writer.** Writes (:meth:`update`, :meth:`remove`, :meth:`rebuild`) are
      serialised: a backend takes its own lock (or the database's) and waits for it up
      to a bound, then raises :class:`search.types.IndexBusy`. Each call is atomic:
      readers see all of it or none of it.
    * **Bad queries** raise :class:`search.query.QueryError` with a message fit for
      the user, and nothing else.
    """

    def update(self, docs: Iterable[IndexedDocument]) -> int:
        """Add or replace ``docs`` by id in one atomic write (the last of a repeated id
        wins); returns how many distinct documents were written."""
        ...

    def remove(self, ids: Iterable[int]) -> int:
        """Delete documents by id in one atomic write; returns how many were indexed."""
        ...

    def rebuild(self, docs: Iterable[IndexedDocument]) -> int:
        """Replace the whole content with ``docs`` (the first of a repeated id wins);
        searches see the old content until the new one is complete. Returns the count."""
        ...

    def needs_rebuild(self) -> str | None:
        """None when the index can serve this process; otherwise why not (it was written
        in an older format, or with another term key) — :meth:`search` and :meth:`update`
        then raise :class:`search.types.IndexNeedsRebuild` until :meth:`rebuild`."""
        ...

    def ids(self) -> set[int]:
        """Every indexed document id (to compare with the database)."""
        ...

    def count(self) -> int:
        """How many documents are indexed; also proves the index can be opened."""
        ...

    def search(self, query: SearchQuery) -> SearchPage:
        """One page of the documents matching ``query`` that the caller may open, best
        first (or newest first with ``sort="date"``), and their total."""
        ...
