"""The half-yearly special audit over the API: draw a sample of customer archives, work
through each archive's checklist and findings, close the sampling (its report is fixed),
and export the report."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Nested, String
from apiflask.validators import Length, OneOf, Range

from archive_service.api.common import (
    SECURITY,
    Out,
    PageQuery,
    blueprint,
    errors,
    file_answer,
    listing,
)
from archive_service.http import caller, signed_in, uow
from archive_service.responses import table_file_response
from archive_service.sampling import report, services
from archive_service.sampling.serializers import sampling_detail, sampling_dict
from archive_service.sampling.vocabulary import (
    CHECKLIST,
    FOLLOW_UPS,
    MAX_FINDINGS,
    MAX_NOTE,
    MAX_SEED,
    MAX_SIZE,
    RESULTS,
)
from archive_service.tables import XLSX

bp = blueprint("sampling", "Audit sampling")


class SamplingDrawIn(Schema):
    title = String(required=True, validate=Length(min=1, max=200))
    size = Integer(
        load_default=None,
        allow_none=True,
        validate=Range(min=1, max=MAX_SIZE),
        metadata={"description": "how many archives to draw (or give percent)"},
    )
    percent = Float(
        load_default=None,
        allow_none=True,
        validate=Range(min=0, max=100, min_inclusive=False),
        metadata={"description": "the share of the population to draw, rounded up"},
    )
    stratified = Boolean(
        load_default=False, metadata={"description": "by department and tier, proportionally"}
    )
    seed = Integer(
        load_default=None,
        allow_none=True,
        validate=Range(min=0, max=MAX_SEED),
        metadata={"description": "the same seed over the same population draws the same sample"},
    )


class SamplingAnswerIn(Schema):
    result = String(required=True, validate=OneOf(RESULTS.codes))
    note = String(load_default=None, allow_none=True, validate=Length(max=MAX_NOTE))


class SamplingFindingIn(Schema):
    text = String(required=True, validate=Length(min=1, max=MAX_NOTE))
    follow_up = String(load_default="open", validate=OneOf(FOLLOW_UPS.codes))


class SamplingChecklistIn(Schema):
    checklist = Dict(
        keys=String(validate=OneOf(CHECKLIST.codes)),
        values=Nested(SamplingAnswerIn),
        load_default=dict,
        metadata={"description": "item code → result and note; each given item is confirmed"},
    )
    findings = List(
        Nested(SamplingFindingIn),
        load_default=None,
        allow_none=True,
        validate=Length(max=MAX_FINDINGS),
        metadata={"description": "replaces the archive's findings when given"},
    )


class SamplingCloseIn(Schema):
    recommendations = String(load_default=None, allow_none=True, validate=Length(max=10_000))


class SamplingReportQuery(Schema):
    format = String(load_default="pdf", validate=OneOf(("pdf", "xlsx")))


class SamplingStratumOut(Out):
    department = String(allow_none=True)
    tier = String(allow_none=True)
    population = Integer()
    drawn = Integer()


class SamplingOut(Out):
    id = Integer()
    title = String()
    state = String(metadata={"description": "open or closed"})
    auditor = String()
    drawn_at = String()
    seed = String(metadata={"description": "an integer, as text"})
    seed_given = Boolean()
    size = Integer(allow_none=True)
    percent = Float(allow_none=True)
    stratified = Boolean()
    population = Integer()
    population_digest = String(metadata={"description": "sha256 of the ordered population ids"})
    drawn = Integer()
    strata = List(Nested(SamplingStratumOut))
    recommendations = String(allow_none=True)
    closed_at = String(allow_none=True)
    closed_by = String(allow_none=True)


class SamplingItemOut(Out):
    code = String()
    result = String(allow_none=True, metadata={"description": "passed, failed, not_applicable"})
    proposed = String(allow_none=True, metadata={"description": "what the service proposed"})
    prefilled = Boolean()
    note = String(allow_none=True)
    confirmed_by = String(allow_none=True)
    confirmed_at = String(allow_none=True)


class SamplingFindingOut(Out):
    text = String()
    follow_up = String(metadata={"description": "open, in_progress or done"})


class SampledArchiveOut(Out):
    customer_id = Integer()
    customer = String()
    customer_seq = Integer()
    department = String()
    tier = String()
    position = Integer()
    checklist = List(Nested(SamplingItemOut))
    findings = List(Nested(SamplingFindingOut))


class SamplingTotalsOut(Out):
    passed = Integer()
    failed = Integer()
    not_applicable = Integer()
    findings = Integer()
    open_findings = Integer()


class SamplingDetailOut(SamplingOut):
    archives = List(Nested(SampledArchiveOut))
    totals = Nested(SamplingTotalsOut)


SamplingsOut = listing("AuditSamplingsOut", SamplingOut)


@bp.post("/audit-samplings")
@bp.doc(security=SECURITY, responses=errors(400, 403, 422))
@bp.input(SamplingDrawIn, arg_name="body")
@bp.output(SamplingDetailOut, status_code=201)
@signed_in
def draw(body: dict[str, Any]) -> Any:
    """Draw a sample of customer archives (auditors): size or percentage, optionally by
    department and tier; the seed (given or generated) is recorded and answered."""
    with uow() as s:
        sampling = services.draw(s, caller(), services.DrawIn(**body))
        return sampling_detail(s, sampling), 201


@bp.get("/audit-samplings")
@bp.doc(security=SECURITY, responses=errors(403, 422))
@bp.input(PageQuery, location="query", arg_name="q")
@bp.output(SamplingsOut)
@signed_in
def list_samplings(q: dict[str, Any]) -> Any:
    """Audit samplings, newest first."""
    with uow() as s:
        rows, total = services.list_samplings(s, caller(), q["page"], q["per_page"])
        return {"items": [sampling_dict(x) for x in rows], "total": total}


@bp.get("/audit-samplings/<int:sampling_id>")
@bp.doc(security=SECURITY, responses=errors(403, 404))
@bp.output(SamplingDetailOut)
@signed_in
def get_sampling(sampling_id: int) -> Any:
    """A sampling with each archive's checklist and findings."""
    with uow() as s:
        return sampling_detail(s, services.get_sampling(s, caller(), sampling_id))


@bp.put("/audit-samplings/<int:sampling_id>/archives/<int:customer_id>")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(SamplingChecklistIn, arg_name="body")
@bp.output(SamplingDetailOut)
@signed_in
def put_checklist(sampling_id: int, customer_id: int, body: dict[str, Any]) -> Any:
    """The assigned auditor's answers for one sampled archive (items given are confirmed;
    findings, when given, replace the list)."""
    with uow() as s:
        services.record_checklist(
            s,
            caller(),
            sampling_id,
            customer_id,
            services.ChecklistIn(items=body["checklist"] or {}, findings=body["findings"]),
        )
        return sampling_detail(s, services.get_sampling(s, caller(), sampling_id))


@bp.post("/audit-samplings/<int:sampling_id>/close")
@bp.doc(security=SECURITY, responses=errors(400, 403, 404, 409, 422))
@bp.input(SamplingCloseIn, arg_name="body")
@bp.output(SamplingDetailOut)
@signed_in
def close(sampling_id: int, body: dict[str, Any]) -> Any:
    """Close the sampling once every item is answered: the report is fixed, and the
    auditor's reading of the sampled archives ends."""
    with uow() as s:
        sampling = services.close(s, caller(), sampling_id, body["recommendations"])
        return sampling_detail(s, sampling)


@bp.get("/audit-samplings/<int:sampling_id>/report")
@bp.doc(
    security=SECURITY,
    responses={
        **file_answer("the audit report", "application/pdf", XLSX),
        **errors(403, 404, 422),
    },
)
@bp.input(SamplingReportQuery, location="query", arg_name="q")
@signed_in
def sampling_report(sampling_id: int, q: dict[str, Any]) -> Any:
    """The report as PDF or XLSX (the export is in the audit trail)."""
    with uow() as s:
        sampling = services.get_sampling(s, caller(), sampling_id)
        body = report.report_file(s, sampling, q["format"])
        services.exported(s, caller(), sampling, q["format"])
    return table_file_response(body, q["format"], f"audit-sampling-{sampling_id}")
