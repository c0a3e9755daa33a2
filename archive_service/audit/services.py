"""Writing, reading and verifying the audit trail.

``record`` is called inside the use case's own transaction, so an event is
written exactly when the change it describes is committed; it is linked into the
chain at that commit (``_seal``), so the chain head is locked only while it commits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, Self

from sqlalchemy import Select, case, event, func, or_, select
from sqlalchemy.orm import Session, SessionTransaction

from archive_service.audit.anchor import Anchor, AnchorReading
from archive_service.audit.chain import GENESIS, canonical, link
from archive_service.audit.checkpoints import Finding, compare_chain
from archive_service.audit.models import AuditChain, AuditEvent
from archive_service.audit.vocabulary import reason
from archive_service.db import note_write, utcnow


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


# The events a transaction has recorded, in order, each with the transaction (or
# savepoint) it was recorded in; linked into the chain when the transaction commits.
_PENDING = "audit_pending"


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str | None = None,
    target_id: str | int | None = None,
    **details: Any,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction: it is written, numbered
    and linked when that transaction commits (:func:`_seal`), and dropped with it if it
    rolls back. Its ``seq``, ``at`` and ``hash`` are set then."""
    ev = AuditEvent(
        actor_id=actor.user_id,
        actor=actor.username,
        ip=actor.ip,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        details=details,
    )
    recorded_in = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((recorded_in, ev))
    note_write(session)
    return ev


@event.listens_for(Session, "before_commit")
def _seal(session: Session) -> None:
    """Link the transaction's events into the chain, as the last thing before it commits.

    The chain head is locked here (``SELECT … FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE``
    has serialised writers already) and held only for the commit itself, not from the
    first event of a request to its end: concurrent transactions do their own work in
    parallel and queue only for this moment. Numbering and linking under the lock keeps
    the chain one unbroken sequence in commit order, as ``verify`` expects. The
    transaction's own changes are flushed first, so one that fails never takes the lock.
    A savepoint that is released seals what is pending too (the lock is then held a little
    longer): SQLAlchemy tells this hook of no other way to know which commit is the last.
    """
    seal_pending(session)


def seal_pending(session: Session) -> None:
    """Link what this transaction has recorded now (see :func:`_seal`): a transaction that
    reads the trail after writing to it sees its own events, at the price of holding the
    head from here to its commit."""
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()
    head = session.execute(
        select(AuditChain)
        .where(AuditChain.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)  # this session may hold an older head
    ).scalar_one_or_none()
    if head is None:
        raise RuntimeError("audit chain head missing: run the migrations (archive init)")
    seq, prev = head.last_seq, head.last_hash
    for _, ev in pending:
        seq += 1
        ev.seq, ev.at, ev.prev_hash = seq, utcnow(), prev
        ev.hash = prev = link(prev, _event_bytes(ev))
    session.add_all(ev for _, ev in pending)
    head.last_seq, head.last_hash = seq, prev
    session.flush()


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, rolled_back: SessionTransaction) -> None:
    """Events recorded in a transaction or savepoint that rolled back never happened."""
    pending = session.info.get(_PENDING)
    if not pending:
        return
    kept = [(tx, ev) for tx, ev in pending if not _within(tx, rolled_back)]
    if kept:
        session.info[_PENDING] = kept
    else:
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the whole transaction is over, however it ended
        session.info.pop(_PENDING, None)


def _within(tx: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while tx is not None:
        if tx is outer:
            return True
        tx = tx.parent
    return False


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
    seal_pending(session)
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
    seal_pending(session)
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
    seal_pending(session)
    yield from session.execute(_filtered(f).order_by(AuditEvent.seq)).scalars()


class EventFields(Protocol):
    """An event or a row of ``EVENT_COLUMNS``: what ``event_dict`` reads."""

    seq: int
    at: datetime
    actor: str | None
    actor_id: int | None
    ip: str | None
    action: str
    details: dict[str, Any]
    hash: str

    @property
    def target(self) -> str | None: ...


# The columns of ``event_dict`` for a query of rows (a long history is read faster as rows).
EVENT_COLUMNS = (
    AuditEvent.seq,
    AuditEvent.at,
    AuditEvent.actor,
    AuditEvent.actor_id,
    AuditEvent.ip,
    AuditEvent.action,
    case(
        (or_(AuditEvent.target_id.is_(None), AuditEvent.target_id == ""), AuditEvent.target_type),
        else_=AuditEvent.target_type + ":" + AuditEvent.target_id,
    ).label("target"),
    AuditEvent.details,
    AuditEvent.hash,
)


def event_dict(ev: EventFields) -> dict[str, Any]:
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
