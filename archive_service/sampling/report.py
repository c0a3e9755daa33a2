"""An audit sampling's report (专项审计报告): the sample with its seed and strata, the
population, each archive's checklist and findings with their follow-up, the
recommendations; as data (fixed at closing) and as PDF or XLSX (``archive_service.tables``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from archive_service import tables
from archive_service.sampling.models import AuditSampling
from archive_service.sampling.vocabulary import (
    CHECKLIST,
    FOLLOW_UPS,
    RESULTS,
    SAMPLING_STATES,
    FollowUp,
    Result,
)
from archive_service.vocabulary import _t

COLUMNS = (
    _t("audit report", "No."),
    _t("audit report", "Customer"),
    _t("audit report", "Department"),
    _t("audit report", "Tier"),
    _t("audit report", "Checklist item or finding"),
    _t("audit report", "Result or follow-up"),
    _t("audit report", "Note"),
    _t("audit report", "Confirmed by"),
)
TITLE = _t("audit report", "Special audit report")
SEED = _t("audit report", "Seed")
GIVEN = _t("audit report", "given by the auditor")
GENERATED = _t("audit report", "generated at the draw")
POPULATION = _t("audit report", "Population (customer archives)")
DRAWN = _t("audit report", "Drawn")
STRATA = _t("audit report", "Strata (department / tier: population → drawn)")
UNSTRATIFIED = _t("audit report", "not stratified")
AUDITOR = _t("audit report", "Auditor")
CLOSED = _t("audit report", "Closed")
STATE = _t("audit report", "State")
RECOMMENDATIONS = _t("audit report", "Recommendations")
TOTALS = _t("audit report", "Items passed / failed / not applicable; findings (open)")
FINDING = _t("audit report", "Finding")


def compute_report(session: Session, sampling: AuditSampling) -> dict[str, Any]:
    """The report as it stands now (closing fixes it)."""
    archives = []
    counts = {Result.PASSED: 0, Result.FAILED: 0, Result.NOT_APPLICABLE: 0}
    findings = open_findings = 0
    for a in sampling.archives:
        items = []
        for item in CHECKLIST:
            got = a.checklist.get(item.code) or {}
            if got.get("confirmed"):
                counts[got["result"]] = counts.get(got["result"], 0) + 1
            items.append(
                {
                    "code": item.code,
                    "result": got.get("result") if got.get("confirmed") else None,
                    "proposed": got.get("proposed")
                    if got.get("confirmed")
                    else (got.get("result") if got.get("prefilled") else None),
                    "prefilled": bool(got.get("prefilled")),
                    "note": got.get("note"),
                    "confirmed_by": got.get("confirmed_by"),
                    "confirmed_at": got.get("confirmed_at"),
                }
            )
        findings += len(a.findings)
        open_findings += sum(1 for f in a.findings if f.get("follow_up") != FollowUp.DONE)
        archives.append(
            {
                "customer_id": a.customer_id,
                "customer": a.customer.name,
                "customer_seq": a.customer.seq,
                "department": a.department_code,
                "tier": a.tier,
                "position": a.position,
                "checklist": items,
                "findings": [dict(f) for f in a.findings],
            }
        )
    return {
        "archives": archives,
        "totals": {
            "passed": counts[Result.PASSED],
            "failed": counts[Result.FAILED],
            "not_applicable": counts[Result.NOT_APPLICABLE],
            "findings": findings,
            "open_findings": open_findings,
        },
    }


def report_of(session: Session, sampling: AuditSampling) -> dict[str, Any]:
    """The fixed report once closed; while open, the report as it would stand now."""
    return (
        dict(sampling.report) if sampling.report is not None else compute_report(session, sampling)
    )


def _word(vocabulary: Any, code: str | None) -> str:
    term = vocabulary.get(code)
    return tables.both(term.label) if term else (code or "—")


def report_file(session: Session, sampling: AuditSampling, fmt: str) -> bytes:
    """The report as ``pdf`` or ``xlsx``."""
    from archive_service.archive.vocabulary import TIERS

    data = report_of(session, sampling)
    rows: list[list[Any]] = []
    for n, a in enumerate(data["archives"], start=1):
        who = f"{a['customer']} ({a['customer_seq']})"
        tier = _word(TIERS, a["tier"])
        for item in a["checklist"]:
            rows.append(
                [
                    n, who, a["department"], tier, _word(CHECKLIST, item["code"]),
                    _word(RESULTS, item["result"]), item["note"] or "",
                    item["confirmed_by"] or "—",
                ]
            )  # fmt: skip
        for f in a["findings"]:
            rows.append(
                [
                    n, who, a["department"], tier, f"{tables.both(FINDING)}: {f['text']}",
                    _word(FOLLOW_UPS, f["follow_up"]), "", "",
                ]
            )  # fmt: skip
    t = data["totals"]
    if sampling.stratified:
        strata = "; ".join(
            f"{s['department']} / {_word(TIERS, s['tier'])}: {s['population']} → {s['drawn']}"
            for s in sampling.strata
        )
    else:
        strata = tables.both(UNSTRATIFIED)
    how = tables.both(GIVEN) if sampling.seed_given else tables.both(GENERATED)
    asked = (
        f"{sampling.requested_percent:g}%"
        if sampling.requested_percent is not None
        else str(sampling.requested_size)
    )
    footer = [
        f"{tables.both(STATE)}: {_word(SAMPLING_STATES, sampling.state)}",
        f"{tables.both(SEED)}: {sampling.seed} ({how})",
        f"{tables.both(POPULATION)}: {sampling.population} · sha256 {sampling.population_digest}",
        f"{tables.both(DRAWN)}: {len(data['archives'])} ({asked}) · "
        f"{tables.utc(sampling.drawn_at)}",
        f"{tables.both(STRATA)}: {strata}",
        f"{tables.both(AUDITOR)}: {tables.person(sampling.auditor)}",
        f"{tables.both(CLOSED)}: {tables.person(sampling.closed_by)} · "
        f"{tables.utc(sampling.closed_at)}",
        f"{tables.both(TOTALS)}: {t['passed']} / {t['failed']} / {t['not_applicable']}; "
        f"{t['findings']} ({t['open_findings']})",
        f"{tables.both(RECOMMENDATIONS)}: {sampling.recommendations or '—'}",
    ]
    title = f"{tables.both(TITLE)} #{sampling.id} · {sampling.title}"
    header = [tables.both(c) for c in COLUMNS]
    if fmt == "pdf":
        return tables.pdf("audit report", title, header, rows, footer)
    return tables.xlsx("audit report", title, header, rows, footer)
