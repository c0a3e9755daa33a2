"""The auditor's use cases: read, export and verify the trail — each itself recorded."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from archive_service.audit import services as audit
from archive_service.audit.anchor import Anchor
from archive_service.audit.models import AuditEvent
from archive_service.policy import Caller, require


def _filters(f: audit.AuditFilter) -> dict[str, Any]:
    return {k: str(v) for k, v in asdict(f).items() if v}


def read_events(
    session: Session, by: Caller, f: audit.AuditFilter, page: int = 1, per_page: int = 50
) -> tuple[list[AuditEvent], int]:
    require(by, "audit.read")
    rows, total = audit.search(session, f, page, per_page)
    audit.record(session, by.actor, "audit.read", filters=_filters(f))
    return rows, total


def export_events(session: Session, by: Caller, f: audit.AuditFilter) -> None:
    """Record that the trail is exported with these filters (commit before streaming it
    with :func:`events_for_export`)."""
    require(by, "audit.read")
    audit.record(session, by.actor, "audit.export", filters=_filters(f))


def events_for_export(session: Session, by: Caller, f: audit.AuditFilter) -> Iterator[AuditEvent]:
    require(by, "audit.read")
    return audit.iter_all(session, f)


def verify_chain(session: Session, by: Caller, anchor: Anchor) -> audit.Verification:
    """The chain, and the chain against its checkpoints outside the database."""
    require(by, "audit.verify")
    return audit.verify_and_record(session, by.actor, anchor)
