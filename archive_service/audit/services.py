"""Writing, reading and verifying the audit trail.

``record`` is called inside the use case's own transaction, so an event is
written exactly when the change it describes is committed.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from archive_service.audit.anchor import Anchor, AnchorReading
from archive_service.audit.chain import GENESIS, canonical, link
from archive_service.audit.checkpoints import Finding, compare_chain
from archive_service.audit.models import AuditChain, AuditEvent
from archive_service.audit.vocabulary import reason
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


CHECKPOINT_ACTION = "audit.checkpoint"


@dataclass(frozen=True)
class Verification:
    """What verify found: ``reason`` and ``first_broken`` describe the first finding."""

    ok: bool
    checked: int
    first_broken: int | None
    reason: str | None = None
    findings: tuple[Finding, ...] = ()
    checkpoints: int = 0  # valid checkpoints found outside the database
    anchored_seq: int | None = None  # the event the newest of them pins

    @classmethod
    def of(cls, checked: int, findings: list[Finding], reading: AnchorReading | None) -> Self:
        first = findings[0] if findings else None
        newest = reading.newest if reading else None
        return cls(
            ok=first is None,
            checked=checked,
            first_broken=first.seq if first else None,
            reason=reason(first.code) if first else None,
            findings=tuple(findings),
            checkpoints=len(reading.entries) if reading else 0,
            anchored_seq=newest.seq if newest else None,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_broken": self.first_broken,
            "reason": self.reason,
            "checkpoints": self.checkpoints,
            "anchored_seq": self.anchored_seq,
            "findings": [f.as_dict() for f in self.findings],
        }


def _walk(
    session: Session, pinned: set[int], batch: int
) -> tuple[int, Finding | None, dict[int, str], dict[int, str]]:
    """Walk the chain in order: the events intact from the first, the first that is not
    what was written, the hashes of the ``pinned`` events, and the checkpoints the trail
    says were written (number → digest)."""
    expected_prev = GENESIS
    expected_seq = 1
    checked = 0
    hashes: dict[int, str] = {}
    named: dict[int, str] = {}
    for ev in _iter_events(session, batch):
        if ev.seq != expected_seq:
            return checked, Finding("event_missing", seq=expected_seq), hashes, named
        if ev.prev_hash != expected_prev:
            return checked, Finding("link_broken", seq=ev.seq), hashes, named
        if link(ev.prev_hash, _event_bytes(ev)) != ev.hash:
            return checked, Finding("event_altered", seq=ev.seq), hashes, named
        if ev.seq in pinned:
            hashes[ev.seq] = ev.hash
        if ev.action == CHECKPOINT_ACTION:
            number, digest = (ev.details or {}).get("checkpoint"), (ev.details or {}).get("digest")
            if isinstance(number, int) and isinstance(digest, str):
                named[number] = digest
        expected_prev = ev.hash
        expected_seq += 1
        checked += 1
    head = session.get(AuditChain, 1)
    if head is not None and (head.last_seq != checked or head.last_hash != expected_prev):
        return checked, Finding("tail_missing", seq=checked + 1), hashes, named
    return checked, None, hashes, named


def verify(session: Session, anchor: Anchor | None = None, batch: int = 5000) -> Verification:
    """Walk the chain in order; name the first event that is not what was written, then
    hold the chain against the checkpoints kept outside the database.

    The chain alone detects edited events (hash mismatch), deleted ones (sequence gap or
    broken link), reordered ones (link mismatch) and a cut-off tail the head still names.
    The checkpoints detect what a database writer can do besides: cut off the newest
    events and move the head (truncation), or rewrite an event and re-hash every later
    one and the head (re-chaining); and they are themselves checked (signature, unbroken
    sequence, present in every store, as the trail recorded them).
    """
    reading = anchor.read() if anchor is not None else None
    pinned = {cp.seq for cp in reading.checkpoints} if reading else set()
    checked, broken, hashes, named = _walk(session, pinned, batch)
    findings = [broken] if broken else []
    if anchor is not None and reading is not None:
        findings += reading.findings
        if broken is None:
            mismatch = compare_chain(reading.checkpoints, checked, hashes.get)
            findings += [mismatch] if mismatch else []
        trail = reading.trail_findings(named)
        if trail:  # a checkpoint may have been stored and recorded while we walked
            trail = anchor.read().trail_findings(named)
        findings += trail
    return Verification.of(checked, findings, reading)


def verify_and_record(session: Session, actor: Actor, anchor: Anchor | None) -> Verification:
    """Verify the chain and write the result into the chain itself."""
    result = verify(session, anchor)
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
