"""Audit samplings (专项审计抽查), as use cases: an auditor draws a reproducible sample of
customer archives, works through each archive's checklist and findings, and closes the
sampling, which fixes its report. Every change is in the audit trail."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from archive_service.accounts.models import Department
from archive_service.archive.models import Customer, Document, DocumentStatus
from archive_service.audit.services import record
from archive_service.checks.models import CheckReport
from archive_service.checks.vocabulary import Stage
from archive_service.db import utcnow
from archive_service.disposal.reviews import listed
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.policy import Caller, require
from archive_service.sampling import rules
from archive_service.sampling.models import AuditSampling, SampledArchive
from archive_service.sampling.report import compute_report
from archive_service.sampling.vocabulary import (
    CHECKLIST,
    FOLLOW_UPS,
    MAX_FINDINGS,
    MAX_NOTE,
    MAX_SEED,
    MAX_SIZE,
    RESULTS,
    FollowUp,
    Result,
    SamplingState,
)


@dataclass(frozen=True)
class DrawIn:
    """What to draw: ``size`` or ``percent`` (one of them), by strata or not, and the seed
    (generated and recorded when not given)."""

    title: str
    size: int | None = None
    percent: float | None = None
    stratified: bool = False
    seed: int | None = None


@dataclass(frozen=True)
class ChecklistIn:
    """An archive's answers: ``items`` ``{code: {"result", "note"}}`` (each given item is
    confirmed by the auditor), and ``findings`` ``[{"text", "follow_up"}]`` (replacing the
    list when given)."""

    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[dict[str, Any]] | None = None


def _population(session: Session) -> list[tuple[int, tuple[str, ...]]]:
    """Every customer archive with its stratum (department code, tier), ordered by id."""
    rows = session.execute(
        select(Customer.id, Department.code, Customer.tier)
        .join(Department, Department.id == Customer.department_id)
        .order_by(Customer.id)
    ).all()
    return [(int(i), (str(dept), str(tier))) for i, dept, tier in rows]


def _digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


def draw(session: Session, by: Caller, data: DrawIn) -> AuditSampling:
    """Draw the sample now and record how: the seed, the population, the strata and each
    archive drawn (its checklist pre-filled where the data answers)."""
    require(by, "sampling.draw")
    title = (data.title or "").strip()
    if not title or len(title) > 200:
        raise InvalidInput("a title of 1 to 200 characters is required", field="title")
    if data.seed is not None and not 0 <= data.seed <= MAX_SEED:
        raise InvalidInput(f"the seed is a whole number from 0 to {MAX_SEED}", field="seed")
    if data.size is not None and data.size > MAX_SIZE:
        raise InvalidInput(f"the size is at most {MAX_SIZE}", field="size")
    members = _population(session)
    try:
        size = rules.sample_size(len(members), data.size, data.percent)
        seed = data.seed if data.seed is not None else secrets.randbelow(MAX_SEED)
        strata = rules.draw(members, size, seed, data.stratified)
    except rules.SampleError as exc:
        raise InvalidInput(str(exc), field=exc.field) from exc
    assert by.user is not None
    sampling = AuditSampling(
        title=title,
        auditor_id=by.user.id,
        seed=str(seed),
        seed_given=data.seed is not None,
        requested_size=data.size,
        requested_percent=data.percent,
        stratified=data.stratified,
        population=len(members),
        population_digest=_digest([m[0] for m in members]),
        strata=[
            {
                "department": st.key[0] if st.key else None,
                "tier": st.key[1] if st.key else None,
                "population": st.population,
                "drawn": len(st.drawn),
            }
            for st in strata
        ],
    )
    session.add(sampling)
    session.flush()
    keys = dict(members)
    drawn = [cid for st in strata for cid in st.drawn]
    for position, customer_id in enumerate(drawn, start=1):
        department, tier = keys[customer_id]
        session.add(
            SampledArchive(
                sampling_id=sampling.id,
                customer_id=customer_id,
                position=position,
                department_code=department,
                tier=tier,
                checklist=prefill(session, customer_id),
                findings=[],
            )
        )
    session.flush()
    record(
        session, by.actor, "sampling.draw", "audit_sampling", sampling.id,
        seed=sampling.seed, seed_given=sampling.seed_given, population=sampling.population,
        size=len(drawn), stratified=data.stratified, customers=drawn,
    )  # fmt: skip
    return sampling


# --------------------------------------------------------------------------- pre-filling


def _proposal(result: str, note: str) -> dict[str, Any]:
    return {"result": result, "note": note, "prefilled": True, "confirmed": False}


def prefill(session: Session, customer_id: int) -> dict[str, Any]:
    """The answers the data gives, proposed for the auditor to confirm: whether the archive
    numbers run without gaps (the acceptance reports' series check) and whether every
    accepted document has its 四性 report of acceptance."""
    docs = list(
        session.scalars(
            select(Document)
            .where(Document.customer_id == customer_id, Document.status == DocumentStatus.ACCEPTED)
            .order_by(Document.id)
        )
    )
    if not docs:
        none = "no accepted documents"
        return {
            "numbering": _proposal(Result.NOT_APPLICABLE, none),
            "checks": _proposal(Result.NOT_APPLICABLE, none),
        }
    reports = {
        r.version_id: r
        for r in session.scalars(
            select(CheckReport).where(
                CheckReport.document_id.in_([d.id for d in docs]),
                CheckReport.stage == Stage.ACCEPTED,
            )
        )
    }
    missing: list[str] = []
    gaps: list[str] = []
    for doc in docs:
        version = doc.current_version
        report = reports.get(version.id) if version is not None else None
        if report is None:
            missing.append(doc.archive_number or f"#{doc.id}")
            continue
        series = next((r for r in report.results if r.get("code") == "series"), None)
        if series is not None and not series.get("passed", True):
            gaps.append(f"{doc.archive_number}: {series.get('detail', '')}")
    numbering = (
        _proposal(Result.FAILED, "; ".join(gaps)[:MAX_NOTE])
        if gaps
        else _proposal(Result.PASSED, f"{len(docs)} numbered documents, no gap reported")
    )
    checks = (
        _proposal(Result.FAILED, ("without a report: " + ", ".join(missing))[:MAX_NOTE])
        if missing
        else _proposal(Result.PASSED, f"{len(docs)} of {len(docs)} documents have a report")
    )
    return {"numbering": numbering, "checks": checks}


# --------------------------------------------------------------------------- reading


def get_sampling(session: Session, by: Caller, sampling_id: int) -> AuditSampling:
    require(by, "sampling.read")
    sampling = session.get(AuditSampling, sampling_id)
    if sampling is None:
        raise NotFound("no such audit sampling")
    return sampling


def list_samplings(
    session: Session, by: Caller, page: int = 1, per_page: int = 50
) -> tuple[list[AuditSampling], int]:
    """Newest first, with the total."""
    return listed(session, by, "sampling.read", AuditSampling, None, page, per_page)


def sampled_archive(sampling: AuditSampling, customer_id: int) -> SampledArchive:
    found = next((a for a in sampling.archives if a.customer_id == customer_id), None)
    if found is None:
        raise NotFound("this customer's archive is not in the sample")
    return found


def unanswered(sampling: AuditSampling) -> list[dict[str, Any]]:
    """The checklist items not yet confirmed by the auditor, per archive."""
    return [
        {"customer_id": a.customer_id, "item": item.code}
        for a in sampling.archives
        for item in CHECKLIST
        if not (a.checklist.get(item.code) or {}).get("confirmed")
    ]


# --------------------------------------------------------------------------- working


def _open(session: Session, by: Caller, sampling_id: int) -> AuditSampling:
    sampling = session.get(AuditSampling, sampling_id, with_for_update=True)
    if sampling is None:
        raise NotFound("no such audit sampling")
    require(by, "sampling.work", sampling)
    if sampling.state != SamplingState.OPEN:
        raise Conflict("the audit sampling is closed")
    return sampling


def _note(value: Any, what: str) -> str | None:
    text = (str(value) if value is not None else "").strip()
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"{what} is longer than {MAX_NOTE} characters", field=what)
    return text or None


def record_checklist(
    session: Session, by: Caller, sampling_id: int, customer_id: int, data: ChecklistIn
) -> SampledArchive:
    """The auditor's answers for one sampled archive: each item given is confirmed (a
    pre-filled proposal, too, once the auditor answers it); findings replace the list."""
    sampling = _open(session, by, sampling_id)
    archive = sampled_archive(sampling, customer_id)
    checklist = dict(archive.checklist or {})
    now = utcnow().isoformat()
    for code, answer in data.items.items():
        item = CHECKLIST.get(code)
        if item is None:
            raise InvalidInput(f"{code} is not a checklist item", field="checklist")
        result = RESULTS.check((answer or {}).get("result"), "result")
        before = checklist.get(code) or {}
        checklist[code] = {
            "result": result,
            "note": _note((answer or {}).get("note"), "note"),
            "prefilled": bool(before.get("prefilled")),
            # what the service proposed, kept beside the auditor's answer
            "proposed": before["proposed"]
            if "proposed" in before
            else (before.get("result") if before.get("prefilled") else None),
            "confirmed": True,
            "confirmed_by": by.user.username if by.user else None,
            "confirmed_at": now,
        }
    archive.checklist = checklist
    flag_modified(archive, "checklist")
    if data.findings is not None:
        if len(data.findings) > MAX_FINDINGS:
            raise InvalidInput(f"at most {MAX_FINDINGS} findings", field="findings")
        findings = []
        for f in data.findings:
            text = _note((f or {}).get("text"), "findings")
            if text is None:
                raise InvalidInput("a finding states what was found", field="findings")
            follow = FOLLOW_UPS.check(
                (f or {}).get("follow_up"), "follow_up", default=FollowUp.OPEN
            )
            findings.append({"text": text, "follow_up": follow})
        archive.findings = findings
        flag_modified(archive, "findings")
    archive.updated_at = utcnow()
    session.flush()
    record(
        session, by.actor, "sampling.checklist", "audit_sampling", sampling.id,
        customer_id=customer_id,
        items={c: checklist[c]["result"] for c in data.items},
        findings=len(archive.findings),
    )  # fmt: skip
    return archive


def close(
    session: Session, by: Caller, sampling_id: int, recommendations: str | None
) -> AuditSampling:
    """Close the sampling once every checklist item is answered: the report is fixed as it
    stands, and the auditor's reading of the sampled archives ends."""
    sampling = _open(session, by, sampling_id)
    left = unanswered(sampling)
    if left:
        raise Conflict(
            "every checklist item of every sampled archive is answered before closing",
            unanswered=left[:50],
        )
    text = (recommendations or "").strip() or None
    if text is not None and len(text) > 10_000:
        raise InvalidInput(
            "recommendations are longer than 10000 characters", field="recommendations"
        )
    sampling.recommendations = text
    sampling.state = SamplingState.CLOSED
    sampling.closed_at, sampling.closed_by_id = utcnow(), by.user_id
    session.flush()
    sampling.report = compute_report(session, sampling)
    totals = sampling.report["totals"]
    record(
        session, by.actor, "sampling.close", "audit_sampling", sampling.id,
        archives=len(sampling.archives), failed=totals["failed"], findings=totals["findings"],
    )  # fmt: skip
    return sampling


def exported(session: Session, by: Caller, sampling: AuditSampling, fmt: str) -> None:
    """The report was handed out (the audit trail says to whom, in which form)."""
    record(session, by.actor, "sampling.export", "audit_sampling", sampling.id, format=fmt)
