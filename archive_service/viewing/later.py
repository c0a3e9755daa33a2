"""What use cases note for previews: work that runs after their commit."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from archive_service.jobs import later_for


def previews_later(session: Session, document_ids: Iterable[int]) -> None:
    """Make the preview and thumbnail of these documents' current versions after commit."""
    later_for(session, "make_previews", document_ids)
