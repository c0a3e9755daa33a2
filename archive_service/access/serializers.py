"""Applications, grants and register entries as the API shows them."""

from __future__ import annotations

from typing import Any

from archive_service.access.models import AccessRequest, Grant
from archive_service.approvals import steps_dict
from archive_service.archive.models import AccessRecord

REGISTER_COLUMNS = (
    "at",
    "user",
    "document_id",
    "archive_number",
    "action",
    "grant_id",
    "purpose",
    "rule",
    "session",
    "page",
    "supervisor",
)


def request_dict(req: AccessRequest, customer_shown: bool = True) -> dict[str, Any]:
    """An application; ``customer_shown`` false (the policy's ``access.request_customer``)
    leaves out whose archive it concerns."""
    grant = req.grant
    return {
        "id": req.id,
        "status": req.status,
        "requester": req.requester.username,
        "purpose": req.purpose,
        "customer_id": req.customer_id if customer_shown else None,
        "document_ids": req.document_ids,
        "categories": req.categories,
        "mode": req.mode,
        "take_away": req.take_away,
        "starts_at": req.starts_at.isoformat(),
        "ends_at": req.ends_at.isoformat(),
        "external": req.external,
        "legal_basis": req.legal_basis_filename,
        "reason": req.outcome_reason,
        "grant_id": grant.id if grant else None,
        "supervisor": grant.supervisor.username if grant and grant.supervisor else None,
        "approval_steps": steps_dict(req.steps),
    }


def grant_dict(g: Grant) -> dict[str, Any]:
    return {
        "id": g.id,
        "user_id": g.user_id,
        "customer_id": g.customer_id,
        "mode": g.mode,
        "status": g.status,
        "starts_at": g.starts_at.isoformat(),
        "ends_at": g.ends_at.isoformat(),
        "request_id": g.request_id,
        "revoked_at": g.revoked_at.isoformat() if g.revoked_at else None,
    }


def record_dict(r: AccessRecord) -> dict[str, Any]:
    return {
        "at": r.at.isoformat(),
        "user": r.username,
        "document_id": r.document_id,
        "archive_number": r.archive_number,
        "action": r.action,
        "grant_id": r.grant_id,
        "purpose": r.purpose,
        "rule": r.rule,
        "session": f"S{r.viewing_session_id}" if r.viewing_session_id else None,
        "page": r.page,
        "supervisor": r.supervisor,
    }
