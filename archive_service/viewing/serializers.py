"""Supervised sessions as the API shows them."""

from __future__ import annotations

from typing import Any

from archive_service.db import utcnow
from archive_service.viewing.models import ViewingSession


def session_dict(vs: ViewingSession) -> dict[str, Any]:
    return {
        "id": vs.id,
        "label": vs.label,
        "grant_id": vs.grant_id,
        "regulator": vs.regulator.username,
        "organisation": vs.regulator.organisation,
        "supervisor": vs.supervisor.username,
        "opened_at": vs.opened_at.isoformat(),
        "ends_at": vs.ends_at.isoformat(),
        "closed_at": vs.closed_at.isoformat() if vs.closed_at else None,
        "closed_by": vs.closed_by,
        "end_reason": vs.end_reason,
        "open": vs.is_open(utcnow()),
        "pages_viewed": vs.pages_viewed,
    }
