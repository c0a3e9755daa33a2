"""Recurring reviews (定期检查) over the API: the list, one review, its completion."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Integer, List, Nested, String
from apiflask.validators import Length, OneOf

from archive_service.api.common import SECURITY, Id, Out, Page, PerPage, blueprint, errors, listing
from archive_service.archive.vocabulary import TIERS
from archive_service.duties import services
from archive_service.duties.serializers import task_dict
from archive_service.duties.vocabulary import DUTY_STATES
from archive_service.http import caller, runtime, signed_in, uow

bp = blueprint("duties", "Recurring reviews")


class DutyQuery(Schema):
    state = String(load_default=None, validate=OneOf(DUTY_STATES.codes))
    page = Page()
    per_page = PerPage()


class TierChangeIn(Schema):
    customer_id = Id(required=True)
    tier = String(required=True, validate=OneOf(TIERS.codes))
    reason = String(load_default="", validate=Length(max=500))


class CompleteIn(Schema):
    result = String(required=True, validate=Length(min=1, max=2000))
    tier_changes = List(Nested(TierChangeIn), load_default=list, validate=Length(max=500))


class DutyOut(Out):
    id = Integer()
    kind = String(metadata={"description": "ledger_check, core_review or tier_review"})
    period = String(metadata={"description": "2026-11, 2026-Q4 or 2026"})
    department = String()
    due_on = String()
    state = String(metadata={"description": "open or done"})
    done_at = String(allow_none=True)
    done_by = String(allow_none=True)
    result = String(allow_none=True)
    change_ids = List(Integer(), metadata={"description": "change requests a re-evaluation filed"})
    reminded_on = String(allow_none=True)
    escalated_on = String(allow_none=True)


DutiesOut = listing("DutiesOut", DutyOut)


@bp.get("/duties")
@bp.doc(security=SECURITY, responses=errors(403, 422))
@bp.input(DutyQuery, location="query", arg_name="q")
@bp.output(DutiesOut)
@signed_in
def list_duties(q: dict[str, Any]) -> Any:
    """The recurring reviews the caller may see: their department's, or all of them for
    the operations head, archivists and auditors; open ones first by due date."""
    with uow() as s:
        rows, total = services.list_tasks(s, caller(), **q)
        return {"items": [task_dict(t) for t in rows], "total": total}


@bp.get("/duties/<int:task_id>")
@bp.doc(security=SECURITY, responses=errors(403, 404))
@bp.output(DutyOut)
@signed_in
def get_duty(task_id: int) -> Any:
    """One recurring review."""
    with uow() as s:
        return task_dict(services.get_task(s, caller(), task_id))


@bp.post("/duties/<int:task_id>/complete")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(CompleteIn, arg_name="body")
@bp.output(DutyOut)
@signed_in
def complete_duty(task_id: int, body: dict[str, Any]) -> Any:
    """Record the review as done with what was checked and found; a tier re-evaluation's
    ``tier_changes`` are filed as change requests (all or none)."""
    done = services.Done(body["result"], [services.TierChange(**c) for c in body["tier_changes"]])
    rt = runtime()
    with uow() as s:
        task = services.complete(s, caller(), task_id, done, rt.vault, rt.archive)
        return task_dict(task)
