"""Recurring reviews as the API answers them."""

from __future__ import annotations

from typing import Any

from archive_service.duties.models import DutyTask


def task_dict(task: DutyTask) -> dict[str, Any]:
    return {
        "id": task.id,
        "kind": task.kind,
        "period": task.period,
        "department": task.department.code,
        "due_on": task.due_on.isoformat(),
        "state": task.state,
        "done_at": task.done_at.isoformat() if task.done_at else None,
        "done_by": task.done_by.username if task.done_by else None,
        "result": task.result,
        "change_ids": [f["change_id"] for f in task.filed or []],
        "reminded_on": task.reminded_on.isoformat() if task.reminded_on else None,
        "escalated_on": task.escalated_on.isoformat() if task.escalated_on else None,
    }
