"""Change requests as the API shows them."""

from __future__ import annotations

from typing import Any

from archive_service.approvals import steps_dict
from archive_service.changes.models import ChangeRequest


def change_dict(req: ChangeRequest) -> dict[str, Any]:
    return {
        "id": req.id,
        "target_type": req.target_type,
        "target_id": req.target_id,
        "status": req.status,
        "reason": req.reason,
        "requester": req.requester.username,
        "changes": req.changes,
        "important": req.important,
        "created_at": req.created_at.isoformat(),
        "outcome_reason": req.outcome_reason,
        "evidence": [{"id": e.id, "filename": e.filename} for e in req.evidence],
        "steps": steps_dict(req.steps),
    }
