"""The fixity sweep (固定性巡检): a slice at a time from the cursor in the database, paced to
the rate, the whole archive once per period; by hand, everything or a random sample.

Every live stored object is checked — versions, renditions, text renditions, evidence —
in the order of its id; erased objects (no wrapped key) are skipped. The cursor is saved
at least every `SAVE_EVERY` seconds, so a killed run costs at most that much work again.
Failures are recorded (and audited) as they are found, then repaired from the good copy
when one is given; a later passing check resolves an open failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive_service.audit.services import Actor, record
from archive_service.db import Database, utcnow
from archive_service.fixity import failures
from archive_service.fixity.checking import Finding, Target, check, restore
from archive_service.fixity.models import FixitySweep
from archive_service.fixity.pacing import Pace, PacedStore
from archive_service.fixity.rules import Plan, slice_budget
from archive_service.fixity.vocabulary import ACTOR, Event, Found
from archive_service.vault.models import StoredObject
from archive_service.vault.services import Vault
from storage.backends.base import ObjectStore
from storage.service import EncryptedStore

SAVE_EVERY = 1.0  # seconds between saves of the cursor
BATCH = 200  # rows read at a time
SWEEP_ROW = 1
LIVE = StoredObject.wrapped_key.is_not(None)


@dataclass
class SweepResult:
    checked: int = 0
    bytes: int = 0
    failed: int = 0  # failures found (new ones and ones still open)
    resolved: int = 0
    repaired: int = 0
    first_id: int | None = None
    last_id: int | None = None
    rounds_finished: int = 0
    slept: float = 0.0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds > 0 else 0.0


def state(session: Session, lock: bool = False) -> FixitySweep:
    """The sweep's row, made by the first run."""
    query = select(FixitySweep).where(FixitySweep.id == SWEEP_ROW)
    row = session.execute(query.with_for_update() if lock else query).scalar_one_or_none()
    if row is None:
        row = FixitySweep(id=SWEEP_ROW, round=1, cursor=0, round_started_at=utcnow())
        row.checked = row.checked_bytes = row.failures = 0
        session.add(row)
        session.flush()
    return row


def is_finished(st: FixitySweep) -> bool:
    return st.last_round_finished_at is not None and st.last_round_finished_at >= (
        st.round_started_at
    )


def bytes_after(session: Session, cursor: int) -> int:
    total = session.execute(
        select(func.coalesce(func.sum(StoredObject.stored_size), 0)).where(
            LIVE, StoredObject.id > cursor
        )
    ).scalar_one()
    return int(total)


def _targets(session: Session, query: Any) -> list[Target]:
    return [
        Target(r.id, r.object_name, r.wrapped_key, r.sha256, r.size, r.stored_size)
        for r in session.execute(query).all()
    ]


def _columns() -> Any:
    o = StoredObject
    return select(o.id, o.object_name, o.wrapped_key, o.sha256, o.size, o.stored_size).where(LIVE)


@dataclass
class Sweeper:
    """What a sweep works with: the database, the vault, the plan, the good copies (the
    backup's objects, or None) and who it acts as. ``clock``/``sleep`` pace the reading."""

    db: Database
    vault: Vault
    plan: Plan
    good_copies: ObjectStore | None = None
    actor: Actor = field(default_factory=lambda: Actor.system(ACTOR))
    found_by: str = Found.SWEEP
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def _store(self, pace: Pace) -> EncryptedStore:
        if pace.bytes_per_s is None:
            return self.vault.store
        backend = PacedStore(self.vault.backend, pace)
        return EncryptedStore(backend, self.vault.keyring, self.vault.segment_size)

    # -- one object ---------------------------------------------------------------------

    def _one(self, store: EncryptedStore, t: Target, open_ids: set[int], out: SweepResult) -> bool:
        """Check one object and record what it found; True when it failed."""
        finding = check(store, t)
        out.checked += 1
        out.bytes += t.stored_size
        out.first_id = t.id if out.first_id is None else out.first_id
        out.last_id = t.id
        if finding is None:
            if t.id in open_ids:
                with self.db.unit_of_work() as s:
                    out.resolved += failures.passed(s, self.actor, t.id)
                open_ids.discard(t.id)
            return False
        self._failed(t, finding, out)
        return True

    def _failed(self, t: Target, finding: Finding, out: SweepResult) -> None:
        with self.db.unit_of_work() as s:
            failure = failures.found(
                s, self.actor, t.id, finding.kind, finding.detail, self.found_by
            )
            failure_id = failure.id if failure is not None else None
        if failure_id is None:
            return  # erased while we read it
        out.failed += 1
        why = restore(self.vault, t, finding.kind, self.good_copies)
        with self.db.unit_of_work() as s:
            if why is None:
                failures.repaired(s, self.actor, failure_id, "backup")
                out.repaired += 1
            else:
                failures.not_repaired(s, self.actor, failure_id, why)

    # -- the cursor -----------------------------------------------------------------------

    def _save(self, round_no: int, cursor: int, done: tuple[int, int, int]) -> None:
        with self.db.unit_of_work() as s:
            st = state(s, lock=True)
            if st.round != round_no:
                return  # another run finished this round meanwhile
            st.cursor = max(st.cursor, cursor)
            st.checked += done[0]
            st.checked_bytes += done[1]
            st.failures += done[2]
            st.updated_at = utcnow()

    def _walk(
        self,
        round_no: int,
        cursor: int,
        out: SweepResult,
        pace: Pace,
        *,
        until_id: int | None = None,
        budget: int | None = None,
        deadline: float | None = None,
    ) -> bool:
        """Check the objects after ``cursor`` (up to ``until_id``) in id order, saving the
        cursor as it goes; True when it reached the end, False when budget or time ran out."""
        store = self._store(pace)
        with self.db.read_only() as s:
            open_ids = failures.open_object_ids(s)
        saved_at, pending = self.clock(), [0, 0, 0]
        start_bytes = out.bytes
        try:
            while True:
                query = _columns().where(StoredObject.id > cursor)
                if until_id is not None:
                    query = query.where(StoredObject.id <= until_id)
                with self.db.read_only() as s:
                    batch = _targets(s, query.order_by(StoredObject.id).limit(BATCH))
                if not batch:
                    return True
                for t in batch:
                    bad = self._one(store, t, open_ids, out)
                    cursor = t.id
                    pending = [pending[0] + 1, pending[1] + t.stored_size, pending[2] + bad]
                    if self.clock() - saved_at >= SAVE_EVERY:
                        self._save(round_no, cursor, (pending[0], pending[1], pending[2]))
                        saved_at, pending = self.clock(), [0, 0, 0]
                    spent = budget is not None and out.bytes - start_bytes >= budget
                    if spent or (deadline is not None and self.clock() >= deadline):
                        return t is batch[-1] and len(batch) < BATCH  # the last one: the end
        finally:
            if pending[0]:
                self._save(round_no, cursor, (pending[0], pending[1], pending[2]))

    def _finish_round(self, round_no: int, out: SweepResult) -> None:
        with self.db.unit_of_work() as s:
            st = state(s, lock=True)
            if st.round != round_no or is_finished(st):
                return
            st.last_round_finished_at = utcnow()
            st.last_round_checked = st.checked
            took = (st.last_round_finished_at - st.round_started_at).total_seconds()
            record(
                s,
                self.actor,
                Event.ROUND,
                "fixity",
                round_no,
                checked=st.checked,
                bytes=st.checked_bytes,
                failures=st.failures,
                seconds=round(took),
            )
        out.rounds_finished += 1

    def _begin_round(self, session: Session, st: FixitySweep, now: datetime) -> None:
        st.round += 1
        st.cursor = 0
        st.round_started_at = now
        st.checked = st.checked_bytes = st.failures = 0
        session.flush()

    # -- the use cases ----------------------------------------------------------------------

    def run_slice(self) -> SweepResult:
        """The beat's slice: as many bytes as keep the round on time for its period, at
        most `Plan.slice_seconds` long. A finished round waits for its period to end."""
        out = SweepResult()
        pace = Pace(self.plan.bytes_per_s, self.clock, self.sleep)
        with self.db.unit_of_work() as s:
            st = state(s, lock=True)
            now = utcnow()
            if is_finished(st):
                if now < st.round_started_at + self.plan.period:
                    return out
                self._begin_round(s, st, now)
            round_no, cursor = st.round, st.cursor
            budget = slice_budget(bytes_after(s, cursor), now, st.round_started_at, self.plan)
        deadline = self.clock() + self.plan.slice_seconds
        if self._walk(round_no, cursor, out, pace, budget=max(1, budget), deadline=deadline):
            self._finish_round(round_no, out)
        out.slept, out.seconds = pace.slept, pace.elapsed
        return out

    def run_all(self) -> SweepResult:
        """Every live object once, now: the rest of the round from the cursor, then a new
        round up to where this run began. Resumable like the slices (it moves the cursor)."""
        out = SweepResult()
        pace = Pace(self.plan.bytes_per_s, self.clock, self.sleep)
        with self.db.unit_of_work() as s:
            st = state(s, lock=True)
            if is_finished(st):
                self._begin_round(s, st, utcnow())
            round_no, began = st.round, st.cursor
        if self._walk(round_no, began, out, pace):
            self._finish_round(round_no, out)
        if began:
            with self.db.unit_of_work() as s:
                st = state(s, lock=True)
                if is_finished(st):
                    self._begin_round(s, st, utcnow())
                round_no, cursor = st.round, st.cursor
            if cursor < began:
                self._walk(round_no, cursor, out, pace, until_id=began)
        out.slept, out.seconds = pace.slept, pace.elapsed
        self._record_run("all", out)
        return out

    def run_sample(self, n: int) -> SweepResult:
        """``n`` live objects chosen at random, checked now; the cursor stays where it is."""
        out = SweepResult()
        pace = Pace(self.plan.bytes_per_s, self.clock, self.sleep)
        store = self._store(pace)
        with self.db.read_only() as s:
            picked = _targets(s, _columns().order_by(func.random()).limit(max(0, n)))
            open_ids = failures.open_object_ids(s)
        for t in picked:
            self._one(store, t, open_ids, out)
        out.slept, out.seconds = pace.slept, pace.elapsed
        self._record_run("sample", out)
        return out

    def _record_run(self, mode: str, out: SweepResult) -> None:
        with self.db.unit_of_work() as s:
            record(
                s,
                self.actor,
                Event.RUN,
                "fixity",
                None,
                mode=mode,
                checked=out.checked,
                bytes=out.bytes,
                failed=out.failed,
                resolved=out.resolved,
                repaired=out.repaired,
            )
