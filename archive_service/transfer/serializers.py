"""Transfers as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from archive_service.approvals import steps_dict
from archive_service.transfer.models import Transfer


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def transfer_dict(t: Transfer, with_items: bool = True) -> dict[str, Any]:
    return {
        "id": t.id,
        "package_id": t.package_id,
        "status": t.status,
        "applicant": t.applicant.username if t.applicant else None,
        "created_at": t.created_at.isoformat(),
        "receiver": t.receiver,
        "purpose": t.purpose,
        "disposition": t.disposition,
        "selection": t.selection,
        "approval_steps": steps_dict(t.steps),
        "exported_at": _iso(t.exported_at),
        "exports": t.exports,
        "manifest_sha256": t.manifest_sha256,
        "signing_key_id": t.signing_key_id,
        "confirmed_at": _iso(t.confirmed_at),
        "receipt": t.receipt,
        "count": t.documents,
        "items": [
            {
                "document_id": i.document_id,
                "archive_number": i.archive_number,
                "title": i.title,
                "category": i.category,
                "customer": i.customer,
                "size": i.size,
            }
            for i in t.items
        ]
        if with_items
        else [],
    }
