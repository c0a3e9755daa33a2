"""The audit trail for auditors: filtered listing, CSV export, chain verification."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import AwareDateTime, Boolean, Dict, Integer, List, String

from archive_service.api.common import SECURITY, Out, Page, PerPage, blueprint, errors, listing
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


class EventOut(Out):
    """One event of the audit trail, with its place in the hash chain."""

    seq = Integer()
    at = String()
    actor = String(allow_none=True)
    actor_id = Integer(allow_none=True)
    ip = String(allow_none=True)
    action = String()
    target = String(allow_none=True)
    details = Dict(allow_none=True)
    hash = String()


EventsOut = listing("EventsOut", EventOut)


class ChainCheckOut(Out):
    ok = Boolean()
    checked = Integer()
    first_broken = Integer(allow_none=True)
    reason = String(allow_none=True)
    checkpoints = Integer()
    anchored_seq = Integer(allow_none=True)
    findings = List(Dict(), metadata={"description": "each finding: code, seq, checkpoint…"})


@bp.get("/audit")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.input(AuditQuery, location="query", arg_name="q")
@bp.output(EventsOut)
@signed_in
def list_events(q: dict[str, Any]) -> Any:
    """Audit events, newest first (auditor). Filters: actor, action, target, since, until."""
    page, per_page = q.pop("page"), q.pop("per_page")
    with uow() as s:
        rows, total = reading.read_events(s, caller(), audit.AuditFilter(**q), page, per_page)
        return {"items": [audit.event_dict(e) for e in rows], "total": total}


@bp.get("/audit/verify")
@bp.doc(security=SECURITY, responses=errors(403, 409))
@bp.output(ChainCheckOut)
@signed_in
def verify() -> Any:
    """Check the hash chain and hold it against the signed checkpoints kept outside the
    database (auditor): ``ok``, ``checked``, ``first_broken``, ``reason`` (the first
    finding), ``checkpoints``, ``anchored_seq`` and every finding by ``code``."""
    with uow() as s:
        return reading.verify_chain(s, caller(), runtime().anchor).as_dict()
