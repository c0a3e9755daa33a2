"""Writing a checkpoint (``archive audit checkpoint`` and the beat): pin the chain's newest
event in every anchor store, signed, time-stamped where an authority is configured, and
record that in the trail itself.

Two short steps, so no audited action waits on a store or an authority: first what to
pin (a read), signed and stamped outside any lock; then, holding the chain head's lock
that every writer of the trail takes, the stores are read again — another checkpoint
written meanwhile wins — and the checkpoint is appended and recorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.audit import services as audit
from archive_service.audit.anchor import Anchor
from archive_service.audit.anchor_stores import AnchorStore, AnchorUnavailable
from archive_service.audit.checkpoints import BadEntry, Entry, first_or_next
from archive_service.audit.models import AuditChain, AuditEvent
from archive_service.audit.timestamps import TimestampFailed
from archive_service.db import Database, utcnow
from archive_service.errors import Conflict

log = logging.getLogger(__name__)


class AnchorRefused(Conflict):
    """The trail contradicts its newest checkpoint: a new one would hide that."""


@dataclass(frozen=True)
class CheckpointResult:
    written: bool
    entry: Entry | None  # the checkpoint written, or the newest one if none was needed
    note: str | None = None

    def as_dict(self) -> dict[str, object]:
        cp = self.entry.checkpoint if self.entry else None
        return {
            "written": self.written,
            "checkpoint": cp.number if cp else None,
            "seq": cp.seq if cp else None,
            "digest": cp.digest if cp else None,
            "timestamped": bool(self.entry and self.entry.timestamp),
            "note": self.note,
        }


def _newest(anchor: Anchor) -> tuple[Entry | None, dict[str, Entry | None]]:
    """The newest checkpoint across the stores (checked against the key), and each
    store's own newest."""
    per_store: dict[str, Entry | None] = {}
    for store in anchor.stores:
        line = store.last()
        try:
            entry = Entry.parse(line) if line is not None else None
        except BadEntry as exc:
            raise AnchorRefused(
                f"{store.name}: its newest checkpoint is unreadable: {exc}"
            ) from exc
        if entry is not None and not anchor.key.verify(
            entry.checkpoint.signed_bytes(), entry.signature
        ):
            raise AnchorRefused(f"{store.name}: its newest checkpoint is not signed by our key")
        per_store[store.name] = entry
    held = [e for e in per_store.values() if e is not None]
    newest = max(held, key=lambda e: e.checkpoint.number) if held else None
    return newest, per_store


def _number(entry: Entry | None) -> int:
    return entry.checkpoint.number if entry else 0


def _head(session: Session) -> tuple[int, str, AuditEvent | None]:
    head = session.get(AuditChain, 1)
    if head is None:
        raise RuntimeError("audit chain head missing: run the migrations (archive init)")
    last = session.get(AuditEvent, head.last_seq) if head.last_seq else None
    return head.last_seq, head.last_hash, last


def _nothing_new(newest: Entry | None, seq: int, last: AuditEvent | None) -> bool:
    if seq == 0:
        return True
    if newest is None:
        return False
    cp = newest.checkpoint
    # The only event since is the record of that checkpoint itself.
    return seq == cp.seq or (
        seq == cp.seq + 1
        and last is not None
        and last.action == audit.CHECKPOINT_ACTION
        and (last.details or {}).get("checkpoint") == cp.number
    )


def _contradiction(session: Session, newest: Entry, seq: int) -> str | None:
    cp = newest.checkpoint
    if seq < cp.seq:
        return f"the trail ends at event {seq}, before checkpoint {cp.number}'s event {cp.seq}"
    pinned = session.get(AuditEvent, cp.seq)
    if pinned is None or pinned.hash != cp.hash:
        return f"event {cp.seq} no longer hashes as checkpoint {cp.number} recorded"
    return None


def _catch_up(anchor: Anchor, per_store: dict[str, Entry | None], upto: int) -> None:
    """A store that missed checkpoints (down when they were written) gets them first:
    they are signed, so copying them from another store is safe."""
    source = next(
        (s for s in anchor.stores if (e := per_store[s.name]) and e.checkpoint.number == upto),
        None,
    )
    if source is None:
        return
    lines = source.read() or []
    for store in anchor.stores:
        have = per_store[store.name]
        after = have.checkpoint.number if have else 0
        for line in lines[after:upto]:
            store.append(Entry.parse(line).checkpoint.number, line)


def write_checkpoint(db: Database, anchor: Anchor, actor: audit.Actor) -> CheckpointResult:
    """Pin the chain's newest event; nothing is written if nothing happened since the
    newest checkpoint, and nothing if the trail contradicts it (that is for verify to
    name, not for a new checkpoint to paper over)."""
    for store in anchor.stores:
        store.prepare()
    newest, _ = _newest(anchor)  # outside the transaction: a store may be slow
    with db.unit_of_work() as s:
        seq, hash_, last = _head(s)
        # First the contradiction: a cut-off chain written on to the same length again
        # would otherwise look like one with nothing new.
        if newest is not None and (problem := _contradiction(s, newest, seq)):
            raise AnchorRefused(f"not anchoring: {problem}; run 'archive audit verify'")
        if _nothing_new(newest, seq, last):
            return CheckpointResult(False, newest, "no new events since the newest checkpoint")
    cp = first_or_next(
        newest.checkpoint if newest else None,
        seq=seq,
        hash=hash_,
        at=utcnow(),
        key=anchor.key.key_id,
    )
    entry = Entry(cp, anchor.key.sign(cp.signed_bytes()))
    note = None
    if anchor.tsa is not None and anchor.tsa.url:
        try:
            entry = entry.with_timestamp(anchor.tsa.stamp(cp.canonical()))
        except TimestampFailed as exc:  # the checkpoint is still worth having
            note = f"not time-stamped: {exc}"
            log.warning("audit checkpoint %s %s", cp.number, note)
    with db.unit_of_work() as s:
        s.execute(select(AuditChain.id).where(AuditChain.id == 1).with_for_update())
        now, per_store = _newest(anchor)
        if _number(now) != _number(newest):
            return CheckpointResult(False, now, "another checkpoint was written meanwhile")
        _catch_up(anchor, per_store, cp.number - 1)
        _append(anchor.stores, entry)
        audit.record(
            s,
            actor,
            audit.CHECKPOINT_ACTION,
            "audit_checkpoint",
            cp.number,
            checkpoint=cp.number,
            seq=cp.seq,
            digest=cp.digest,
            timestamped=entry.timestamp is not None,
            stores=[store.name for store in anchor.stores],
        )
    return CheckpointResult(True, entry, note)


def _append(stores: tuple[AnchorStore, ...], entry: Entry) -> None:
    for store in stores:
        try:
            store.append(entry.checkpoint.number, entry.line())
        except AnchorUnavailable:
            log.error("audit checkpoint %s: %s unavailable", entry.checkpoint.number, store.name)
            raise
