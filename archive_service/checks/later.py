"""What use cases note for the intake checks: work that runs after their commit."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from archive_service.jobs import later_for


def check_later(session: Session, document_ids: Iterable[int]) -> None:
    """Run the submission checks of these documents' current versions once the caller's
    transaction commits (after their text extraction, which is noted first)."""
    later_for(session, "check_documents", document_ids)
