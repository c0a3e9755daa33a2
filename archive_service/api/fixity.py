"""Fixity for auditors and archivists: where the sweep stands, and the failures it found."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Float, Integer, List, Nested, String
from apiflask.validators import OneOf

from archive_service.api.common import SECURITY, Out, Page, PerPage, blueprint, errors
from archive_service.fixity import reading
from archive_service.fixity.rules import Plan
from archive_service.fixity.vocabulary import FAILURE_STATUSES
from archive_service.http import caller, runtime, signed_in, uow

bp = blueprint("fixity", "Fixity")
ALL = "all"


class FixityQuery(Schema):
    status = String(
        load_default="open",
        validate=OneOf([*FAILURE_STATUSES.codes, ALL]),
        metadata={"description": "failures of this status (open, resolved, repaired) or all"},
    )
    page = Page()
    per_page = PerPage()


class SummaryOut(Out):
    objects = Integer(metadata={"description": "live stored objects (erased ones are skipped)"})
    bytes = Integer(metadata={"description": "their stored (encrypted) size"})
    round = Integer(allow_none=True, metadata={"description": "null before the first run"})
    round_started_at = String(allow_none=True)
    round_finished = Boolean(metadata={"description": "done; the next starts with its period"})
    checked = Integer(metadata={"description": "objects checked this round"})
    checked_bytes = Integer()
    cursor = Integer(metadata={"description": "the id of the object checked last"})
    last_round_finished_at = String(allow_none=True)
    last_round_checked = Integer(allow_none=True)
    open_failures = Integer()
    mb_per_s = Integer(metadata={"description": "ARCHIVE_FIXITY_MB_PER_S (0: unlimited)"})
    period_days = Integer()
    slice_minutes = Integer()
    round_days_at_rate = Float(allow_none=True, metadata={"description": "null: unlimited"})
    meets_period = Boolean(metadata={"description": "the rate can check it all in the period"})


class BelongsOut(Out):
    what = String(metadata={"description": "version, rendition, text or other"})
    document_id = Integer(allow_none=True)
    version = Integer(allow_none=True)
    rendition = String(allow_none=True)


class FailureOut(Out):
    id = Integer()
    stored_object_id = Integer()
    object_name = String()
    kind = String(metadata={"description": "mismatch, missing or undecryptable"})
    status = String(metadata={"description": "open, resolved or repaired"})
    found_by = String(metadata={"description": "sweep, manual or orphans"})
    found_at = String()
    last_seen_at = String()
    times_seen = Integer()
    detail = String(allow_none=True)
    repair = String(allow_none=True, metadata={"description": "why no repair happened"})
    closed_at = String(allow_none=True)
    belongs_to = Nested(BelongsOut)


class FixityOut(Out):
    summary = Nested(SummaryOut)
    failures = List(Nested(FailureOut))
    total = Integer(metadata={"description": "failures of the asked status"})


@bp.get("/fixity")
@bp.doc(security=SECURITY, responses=errors(403, 422))
@bp.input(FixityQuery, location="query", arg_name="q")
@bp.output(FixityOut)
@signed_in
def fixity(q: dict[str, Any]) -> Any:
    """Where the fixity sweep stands and its failures, newest first (auditor, archivist)."""
    status = None if q["status"] == ALL else q["status"]
    with uow() as s:
        summary = reading.summary(s, caller(), Plan.from_settings(runtime().settings))
        rows, total = reading.failures(s, caller(), status, q["page"], q["per_page"])
    return {"summary": summary, "failures": rows, "total": total}
