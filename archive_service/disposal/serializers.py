"""Reviews and destructions as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from archive_service.approvals import steps_dict
from archive_service.disposal.models import Destruction, RetentionReview


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def review_dict(review: RetentionReview) -> dict[str, Any]:
    return {
        "id": review.id,
        "status": review.status,
        "as_of": review.as_of.isoformat(),
        "compiled_at": review.compiled_at.isoformat(),
        "compiled_by": review.compiled_by,
        "confirmed_at": _iso(review.confirmed_at),
        "items": [
            {
                "document_id": i.document_id,
                "archive_number": i.archive_number,
                "title": i.document.title,
                "disposal_date": i.disposal_date.isoformat() if i.disposal_date else None,
                "appraisal": i.appraisal,
                "retain_until": i.retain_until.isoformat() if i.retain_until else None,
                "reason": i.reason,
            }
            for i in review.items
        ],
    }


def destruction_dict(dest: Destruction) -> dict[str, Any]:
    return {
        "id": dest.id,
        "status": dest.status,
        "review_id": dest.review_id,
        "applicant": dest.applicant.username if dest.applicant else None,
        "count": len(dest.items),
        "executor": dest.executor.username if dest.executor else None,
        "supervisor": dest.supervisor.username if dest.supervisor else None,
        "place": dest.place,
        "failure": dest.failure,
        "approval_steps": steps_dict(dest.steps),
        "journal": backup_dict(dest),
        "items": [
            {
                "document_id": i.document_id,
                "archive_number": i.archive_number,
                "title": i.title,
                "customer": i.customer,
                "sha256": i.sha256,
                "size": i.size,
                "result": i.result,
            }
            for i in dest.items
        ],
    }


def backup_dict(dest: Destruction) -> dict[str, Any]:
    """Where the destruction stands with backups: its entry in the backup target's
    destruction journal, and by when the last backup still holding its keys expires."""
    return {
        "written_at": dest.journaled_at.isoformat() if dest.journaled_at else None,
        "error": dest.journal_error,
        "backup_horizon": dest.backup_horizon.isoformat() if dest.backup_horizon else None,
    }
