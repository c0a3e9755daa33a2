"""The list filters on PostgreSQL, with and without migration 0016's indexes: each filter
of the audit trail, the access register and the document list, run by the services' own
queries (count and page) on a seeded schema of its own, with the plan's scans and the
execution time PostgreSQL reports (EXPLAIN ANALYZE), first with every index, then with
0016's dropped — the ratio is what the index is worth.

Seeded by SQL (triggers bypassed): 20 departments, 5,000 customers, ``--docs`` documents,
``--register`` access-register rows and ``--events`` audit events. Usage::

    python benchmarks/list_plans.py [--events 1000000] [--register 300000] [--docs 100000]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pg_schema  # noqa: E402
from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

import archive_service.models  # noqa: E402, F401
from archive_service.access import register  # noqa: E402
from archive_service.accounts.models import User, UserRole  # noqa: E402
from archive_service.archive import documents  # noqa: E402
from archive_service.audit import services as audit  # noqa: E402
from archive_service.db import Database  # noqa: E402
from archive_service.migrate import upgrade  # noqa: E402
from archive_service.policy import Caller  # noqa: E402

INDEXES_0016 = {
    "ix_audit_events_target": "audit_events (target_type, target_id)",
    "ix_access_register_username": "access_register (username)",
}

SEED = """
SET session_replication_role = replica;
INSERT INTO departments (id, code, name, created_at)
  SELECT g, 'D' || g, 'dept ' || g, now() FROM generate_series(1, 20) g;
INSERT INTO customers (id, seq, name, customer_type, tier, department_id, created_at, revision)
  SELECT g, g, 'customer ' || g, 'enterprise', 'ordinary', 1 + g % 20, now(), 1
  FROM generate_series(1, 5000) g;
INSERT INTO documents (id, customer_id, category_id, title, status, retention_class, on_hold,
  tags, facts, needs_joint_review, submitted_at, revision, extraction, extraction_attempts,
  ocr_attempts)
  SELECT g, 1 + g % 5000, (SELECT min(id) FROM categories), 'doc ' || g,
    CASE WHEN g % 10 = 0 THEN 'submitted' ELSE 'accepted' END, 'short', false, '[]', '{}',
    false, now(), 1, 'done', 0, 0
  FROM generate_series(1, :docs) g;
INSERT INTO access_register (id, at, user_id, username, document_id, action, rule)
  SELECT g, now() - (g || ' seconds')::interval, 1 + g % 500, 'user' || (g % 500),
    1 + g % :docs, 'download', 'own-department'
  FROM generate_series(1, :register) g;
INSERT INTO audit_events (seq, at, actor_id, actor, action, target_type, target_id, details,
  prev_hash, hash)
  SELECT g, now() - (g || ' seconds')::interval, 1 + g % 500, 'user' || (g % 500),
    (ARRAY['document.download', 'document.view', 'document.search', 'login.success',
           'login.failure', 'session.start', 'token.create', 'audit.read'])[1 + g % 8],
    (ARRAY['document', 'document', 'index', 'user', 'user', 'user', 'token',
           'document'])[1 + g % 8],
    (g % :docs)::text, '{}', repeat('0', 64), repeat('0', 64)
  FROM generate_series(1, :events) g;
"""


def _cases() -> dict[str, Callable[[Session], Any]]:
    operator = Caller.cli()
    clerk = Caller.of(
        User(
            id=7,
            username="u7",
            department_id=3,
            status="active",
            role_rows=[UserRole(role="clerk")],
        )
    )
    return {
        "audit, by actor": lambda s: audit.search(s, audit.AuditFilter(actor="user42")),
        "audit, by action": lambda s: audit.search(s, audit.AuditFilter(action="login")),
        "audit, by target": lambda s: audit.search(s, audit.AuditFilter(target="document:4242")),
        "register, by user": lambda s: register.read_register(
            s, operator, register.RegisterFilter(user="user42")
        ),
        "register, by document": lambda s: register.read_register(
            s, operator, register.RegisterFilter(document_id=4242)
        ),
        "register, by customer": lambda s: register.read_register(
            s, operator, register.RegisterFilter(customer_id=42)
        ),
        "documents, a clerk's": lambda s: documents.list_documents(s, clerk),
        "documents, a clerk's, by status": lambda s: documents.list_documents(
            s, clerk, status="submitted"
        ),
        "documents, a clerk's, by customer": lambda s: documents.list_documents(
            s, clerk, customer_id=43
        ),
        "documents, all, by status": lambda s: documents.list_documents(
            s, operator, status="submitted"
        ),
    }


def _plans(db: Database) -> dict[str, tuple[float, str]]:
    """Each case's count and page statements: the summed execution time, and the scans."""
    captured: list[tuple[str, Any]] = []

    def note(_c: Any, _cur: Any, statement: str, params: Any, *_a: Any) -> None:
        captured.append((statement, params))

    out: dict[str, tuple[float, str]] = {}
    for name, run in _cases().items():
        captured.clear()
        event.listen(db.engine, "before_cursor_execute", note)
        try:
            with db.session() as s:
                run(s)
                s.rollback()  # the reading's own audit event is not kept
        finally:
            event.remove(db.engine, "before_cursor_execute", note)
        selects = [(st, p) for st, p in captured if st.lstrip().startswith("SELECT")]
        total, scans = 0.0, []
        with db.engine.connect() as conn:
            for statement, params in selects:
                rows = conn.exec_driver_sql("EXPLAIN (ANALYZE, TIMING OFF) " + statement, params)
                for (line,) in rows:
                    if m := re.search(r"Execution Time: ([\d.]+) ms", line):
                        total += float(m.group(1))
                    elif m := re.search(
                        r"(Seq Scan|Index Only Scan|Index Scan|Bitmap Index Scan)"
                        r"(?: Backward)?(?: using (\w+))? on (\w+)",
                        line,
                    ):
                        scans.append(f"{m.group(1)} {m.group(2) or m.group(3)}")
        out[name] = (total, ", ".join(dict.fromkeys(scans)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--register", type=int, default=300_000)
    ap.add_argument("--docs", type=int, default=100_000)
    args = ap.parse_args()
    schema, url = pg_schema.create()
    try:
        upgrade(url)
        db = Database(url)
        print(
            f"seeding {args.events:,} events, {args.register:,} register rows, "
            f"{args.docs:,} documents …",
            flush=True,
        )
        with db.engine.begin() as conn:
            for statement in SEED.split(";"):
                if statement.strip():
                    conn.execute(text(statement), vars(args))
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        indexed = _plans(db)
        with db.engine.begin() as conn:
            for name in INDEXES_0016:
                conn.execute(text(f"DROP INDEX {name}"))
            conn.execute(text("ANALYZE"))
        bare = _plans(db)
        db.engine.dispose()
    finally:
        pg_schema.drop(schema)
    print(f"{'filter (count + page)':<36} {'with 0016':>10} {'without':>10} {'ratio':>7}  plan")
    for name, (ms, scans) in indexed.items():
        before = bare[name][0]
        print(f"{name:<36} {ms:>8.1f}ms {before:>8.1f}ms {before / max(ms, 0.001):>6.1f}×  {scans}")


if __name__ == "__main__":
    main()
