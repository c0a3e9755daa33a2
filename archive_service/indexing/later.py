"""What use cases note for the search index: work that runs after their commit."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from archive_service.jobs import later, later_for
from search.backend import SearchBackend


def refresh_later(session: Session, document_ids: Iterable[int]) -> None:
    """Re-index these documents once the caller's transaction commits."""
    later_for(session, "index_documents", document_ids)


def extract_later(session: Session, document_ids: Iterable[int]) -> None:
    """Extract the text of these documents' current versions (then index them) after commit."""
    later_for(session, "extract_text", document_ids)


def remove_later(session: Session, document_ids: Iterable[int]) -> None:
    """Take these documents out of the index after commit."""
    later_for(session, "index_remove", document_ids)


def rebuild_later_if_needed(session: Session, index: SearchBackend) -> str | None:
    """An index this process cannot use (written before index terms were keyed, or with
    another key) is rebuilt from the renditions by the index worker after commit; returns
    why, or None when the index is fine."""
    reason = index.needs_rebuild()
    if reason is not None:
        later(session, "index_repair")
    return reason
