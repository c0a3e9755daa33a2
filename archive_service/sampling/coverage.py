"""What open samplings let their auditor read: the queries the policy asks (one customer)
and their SQL form for lists. No use case lives here, and nothing here asks the policy."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.sampling.models import AuditSampling, SampledArchive
from archive_service.sampling.vocabulary import SamplingState


def _open_for(user_id: int) -> Any:
    return (
        select(SampledArchive.customer_id)
        .join(AuditSampling, AuditSampling.id == SampledArchive.sampling_id)
        .where(AuditSampling.state == SamplingState.OPEN, AuditSampling.auditor_id == user_id)
    )


def open_sampling_of(session: Session, user_id: int, customer_id: int) -> int | None:
    """The open sampling assigned to ``user_id`` that drew ``customer_id`` (the oldest)."""
    return session.scalar(
        select(AuditSampling.id)
        .join(SampledArchive, SampledArchive.sampling_id == AuditSampling.id)
        .where(
            AuditSampling.state == SamplingState.OPEN,
            AuditSampling.auditor_id == user_id,
            SampledArchive.customer_id == customer_id,
        )
        .order_by(AuditSampling.id)
        .limit(1)
    )


def sampled_customers_clause(user_id: int, customer_id: Any) -> Any:
    """SQL: ``customer_id`` is in an open sampling assigned to ``user_id``."""
    return customer_id.in_(_open_for(user_id))


def sampled_customers(session: Session, user_id: int) -> set[int]:
    """The customers the open samplings assigned to ``user_id`` drew (for the index filter)."""
    return set(session.scalars(_open_for(user_id)))
