"""The audit trail for auditors: filtered listing, CSV export, chain verification."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import AwareDateTime, String

from archive_service.api.common import SECURITY, Page, PerPage, blueprint
from archive_service.audit import reading
from archive_service.audit import services as audit
from archive_service.http import caller, runtime, signed_in, uow

bp = blueprint("audit", "Audit")


class AuditQuery(Schema):
    actor = String(load_default=None)
    action = String(load_default=None)
    target = String(load_default=None)
    since = AwareDateTime(load_default=None)
    until = AwareDateTime(load_default=None)
    page = Page()
    per_page = PerPage()


@bp.get("/audit")
@bp.doc(security=SECURITY)
@bp.input(AuditQuery, location="query", arg_name="q")
@signed_in
def list_events(q: dict[str, Any]) -> Any:
    """Audit events, newest first (auditor). Filters: actor, action, target, since, until."""
    page, per_page = q.pop("page"), q.pop("per_page")
    with uow() as s:
        rows, total = reading.read_events(s, caller(), audit.AuditFilter(**q), page, per_page)
        return {"items": [audit.event_dict(e) for e in rows], "total": total}


@bp.get("/audit/verify")
@bp.doc(security=SECURITY)
@signed_in
def verify() -> Any:
    """Check the hash chain and hold it against the signed checkpoints kept outside the
    database (auditor): ``ok``, ``checked``, ``first_broken``, ``reason`` (the first
    finding), ``checkpoints``, ``anchored_seq`` and every finding by ``code``."""
    with uow() as s:
        return reading.verify_chain(s, caller(), runtime().anchor).as_dict()
