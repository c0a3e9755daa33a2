"""Audit samplings as the API answers them."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from archive_service.sampling.models import AuditSampling
from archive_service.sampling.report import report_of


def _at(value: Any) -> str | None:
    return value.isoformat() if value else None


def sampling_dict(sampling: AuditSampling) -> dict[str, Any]:
    return {
        "id": sampling.id,
        "title": sampling.title,
        "state": sampling.state,
        "auditor": sampling.auditor.username,
        "drawn_at": _at(sampling.drawn_at),
        "seed": sampling.seed,
        "seed_given": sampling.seed_given,
        "size": sampling.requested_size,
        "percent": sampling.requested_percent,
        "stratified": sampling.stratified,
        "population": sampling.population,
        "population_digest": sampling.population_digest,
        "drawn": len(sampling.archives),
        "strata": [dict(s) for s in sampling.strata],
        "recommendations": sampling.recommendations,
        "closed_at": _at(sampling.closed_at),
        "closed_by": sampling.closed_by.username if sampling.closed_by else None,
    }


def sampling_detail(session: Session, sampling: AuditSampling) -> dict[str, Any]:
    report = report_of(session, sampling)
    return {**sampling_dict(sampling), "archives": report["archives"], "totals": report["totals"]}
