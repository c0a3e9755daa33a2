"""Change requests as the API (and the pages) show them."""

from __future__ import annotations

from typing import Any

from archive_service.approvals import steps_dict
from archive_service.archive.customers import PERSONAL_FIELDS
from archive_service.changes.models import ChangeRequest


def shown_changes(req: ChangeRequest, details: bool) -> dict[str, Any]:
    """The request's ``{field: {"before", "after"}}``; without ``details`` (the policy's
    ``change.details``) a customer's personal values are left out and marked ``hidden``."""
    if details or req.target_type != "customer":
        return dict(req.changes)
    return {
        name: {"before": None, "after": None, "hidden": True} if name in PERSONAL_FIELDS else diff
        for name, diff in req.changes.items()
    }


def change_dict(req: ChangeRequest, details: bool = True) -> dict[str, Any]:
    return {
        "id": req.id,
        "target_type": req.target_type,
        "target_id": req.target_id,
        "status": req.status,
        "reason": req.reason,
        "requester": req.requester.username,
        "changes": shown_changes(req, details),
        "important": req.important,
        "created_at": req.created_at.isoformat(),
        "outcome_reason": req.outcome_reason,
        # Evidence goes with the personal details: its files are what prove them.
        "evidence": [{"id": e.id, "filename": e.filename} for e in req.evidence] if details else [],
        "steps": steps_dict(req.steps),
    }
