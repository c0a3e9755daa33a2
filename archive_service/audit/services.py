"""Writing, reading and verifying the audit trail.

``record`` is called inside the use case's own transaction, so an event is
written exactly when the change it describes is committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from archive_service.audit.chain import GENESIS, canonical, link
from archive_service.audit.models import AuditChain, AuditEvent
from archive_service.db import utcnow


@dataclass(frozen=True)
class Actor:
    """Who does something, from where. ``user_id`` is None for anonymous or system."""

    user_id: int | None
    username: str | None
    ip: str | None = None

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(user_id=None, username=name, ip=None)


def _event_bytes(ev: AuditEvent) -> bytes:
    return canonical(
        seq=ev.seq,
        at=ev.at,
        actor_id=ev.actor_id,
        actor=ev.actor,
        ip=ev.ip,
        action=ev.action,
        target_type=ev.target_type,
        target_id=ev.target_id,
        details=ev.details or {},
    )


def _chain_head(session: Session) -> AuditChain:
    head = session.execute(
        select(AuditChain).where(AuditChain.id == 1).with_for_update()
    ).scalar_one_or_none()
    if head is None:
        raise RuntimeError("audit chain head missing: run the migrations (archive init)")
    return head


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str | None = None,
    target_id: str | int | None = None,
    **details: Any,
) -> AuditEvent:
    """Append one event to the chain (in the caller's transaction)."""
    head = _chain_head(session)
    ev = AuditEvent(
        seq=head.last_seq + 1,
        at=utcnow(),
        actor_id=actor.user_id,
        actor=actor.username,
        ip=actor.ip,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details,
        prev_hash=head.last_hash,
    )
    ev.hash = link(ev.prev_hash, _event_bytes(ev))
    head.last_seq = ev.seq
    head.last_hash = ev.hash
    session.add(ev)
    session.flush()
    return ev


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_broken: int | None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_broken": self.first_broken,
            "reason": self.reason,
        }


def verify(session: Session, batch: int = 5000) -> Verification:
    """Walk the chain in order; name the first event that is not what was written.

    Detects edited events (hash mismatch), deleted ones (sequence gap or
    broken link), reordered ones (link mismatch) and a cut-off tail (the
    chain head names a later event than the last one found).
    """
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    for ev in _iter_events(session, batch):
        if ev.seq != expected_seq:
            return Verification(False, checked, expected_seq, "event missing")
        if ev.prev_hash != expected_prev:
            return Verification(False, checked, ev.seq, "link to previous event broken")
        if link(ev.prev_hash, _event_bytes(ev)) != ev.hash:
            return Verification(False, checked, ev.seq, "event content altered")
        expected_prev = ev.hash
        expected_seq += 1
        checked += 1
    head = session.get(AuditChain, 1)
    if head is not None and (head.last_seq != checked or head.last_hash != expected_prev):
        return Verification(False, checked, checked + 1, "events missing at the end")
    return Verification(True, checked, None)


def verify_and_record(session: Session, actor: Actor) -> Verification:
    """Verify the chain and write the result into the chain itself."""
    result = verify(session)
    record(session, actor, "audit.verify", **result.as_dict())
    return result


def _iter_events(session: Session, batch: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = (
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.seq > last)
                .order_by(AuditEvent.seq)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(f: AuditFilter) -> Select[AuditEvent]:
    q = select(AuditEvent)
    if f.actor:
        q = q.where(AuditEvent.actor == f.actor)
    if f.action:
        # "login" matches login.success, login.failure, …
        q = q.where((AuditEvent.action == f.action) | AuditEvent.action.startswith(f.action + "."))
    if f.target:
        ttype, _, tid = f.target.partition(":")
        q = q.where(AuditEvent.target_type == ttype)
        if tid:
            q = q.where(AuditEvent.target_id == tid)
    if f.since:
        q = q.where(AuditEvent.at >= f.since)
    if f.until:
        q = q.where(AuditEvent.at < f.until)
    return q


def search(
    session: Session, f: AuditFilter, page: int = 1, per_page: int = 50
) -> tuple[list[AuditEvent], int]:
    q = _filtered(f)
    total = session.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    rows = (
        session.execute(
            q.order_by(AuditEvent.seq.desc()).offset((page - 1) * per_page).limit(per_page)
        )
        .scalars()
        .all()
    )
    return list(rows), total


def iter_all(session: Session, f: AuditFilter) -> Iterator[AuditEvent]:
    """Every matching event, oldest first (for export)."""
    yield from session.execute(_filtered(f).order_by(AuditEvent.seq)).scalars()


def event_dict(ev: AuditEvent) -> dict[str, Any]:
    return {
        "seq": ev.seq,
        "at": ev.at.isoformat(),
        "actor": ev.actor,
        "actor_id": ev.actor_id,
        "ip": ev.ip,
        "action": ev.action,
        "target": ev.target,
        "details": ev.details,
        "hash": ev.hash,
    }
