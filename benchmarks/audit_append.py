"""Audit appends under load: transactions per second when many requests write an event
at once, with the chain head locked from the first event to the commit (the design before
issue 22, ``held``) against the head locked only while the transaction commits (``at
commit``, what ``audit.services.record`` does now), as a ratio in one run.

Each transaction does what a reading request does around its event: records it, then
some more work in the same transaction (``--statements`` reads and one insert into the
access register, and ``--work-ms`` of waiting, e.g. for the store), then commits. The
``held`` mode is the old code path reproduced exactly: it links the event where it is
recorded (``audit.seal_pending``: lock the head, number, hash, update the head, insert —
what the old ``record`` did) and so holds the lock through the work to the commit.
Modes are interleaved and repeated (``--reps``), medians compared; the chain is verified
at the end. PostgreSQL at 127.0.0.1:5432 (database ``test``), a schema of its own.
Usage::

    python benchmarks/audit_append.py [--clients 16] [--seconds 6] [--reps 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pg_schema  # noqa: E402
from sqlalchemy import text  # noqa: E402

from archive_service.archive.models import AccessRecord  # noqa: E402
from archive_service.audit import services as audit  # noqa: E402
from archive_service.db import Database  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402

MODES = ("held", "at commit")


def _transaction(db: Database, n: int, mode: str, statements: int, work_ms: float) -> None:
    actor = audit.Actor(n % 50 + 1, f"user{n % 50}", "192.0.2.1")
    with db.unit_of_work() as s:
        audit.record(s, actor, "document.download", "document", n, purpose="bench", rule="own")
        if mode == "held":
            audit.seal_pending(s)  # link it now, as the old record() did: the lock is held on
        for _ in range(statements):
            s.execute(text("SELECT count(*) FROM access_register WHERE document_id = :d"), {"d": n})
        if work_ms:
            time.sleep(work_ms / 1000)
        s.add(
            AccessRecord(
                user_id=actor.user_id,
                username=actor.username,
                document_id=n,
                action="download",
                rule="own",
            )
        )


def _run(db: Database, mode: str, clients: int, seconds: float, **work: float) -> float:
    done = [0] * clients
    stop = time.perf_counter() + seconds

    def client(i: int) -> None:
        n = i * 10_000_000
        while time.perf_counter() < stop:
            _transaction(db, n, mode, int(work["statements"]), work["work_ms"])
            n += 1
            done[i] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.perf_counter() - started)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--statements", type=int, default=3)
    ap.add_argument("--work-ms", type=float, default=2.0)
    args = ap.parse_args()
    schema, url = pg_schema.create()
    try:
        upgrade(url)
        db = Database(url, pool_size=args.clients, max_overflow=0)
        work = {"statements": args.statements, "work_ms": args.work_ms}
        _run(db, "at commit", args.clients, 1.0, **work)  # warm the pool and the caches
        figures: dict[str, list[float]] = {m: [] for m in MODES}
        for _ in range(args.reps):
            for mode in MODES:
                figures[mode].append(_run(db, mode, args.clients, args.seconds, **work))
        with db.unit_of_work() as s:
            result = audit.verify(s)
        db.engine.dispose()
    finally:
        pg_schema.drop(schema)
    held, at_commit = (statistics.median(figures[m]) for m in MODES)
    print(
        f"{args.clients} clients, each transaction: 1 event, {args.statements} reads, "
        f"1 insert, {args.work_ms:g} ms of waiting; {args.reps} × {args.seconds:g} s per mode"
    )
    print(f"{'head lock':<30} {'tx/s (median)':>14}  runs")
    for mode, label in zip(
        MODES, ("held from the event (before)", "only at commit (now)"), strict=True
    ):
        runs = ", ".join(f"{x:.0f}" for x in figures[mode])
        print(f"{label:<30} {statistics.median(figures[mode]):>14.0f}  {runs}")
    print(f"ratio now/before: {at_commit / held:.2f}×")
    print(f"chain verified: {result.ok}, {result.checked} events")
    if not result.ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
