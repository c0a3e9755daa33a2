"""Counters that hand out numbers without duplicates or gaps (customer sequence numbers,
archive numbers), one row per scope, taken under a row lock."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from archive_service.archive.models import NumberCounter


def next_in_scope(session: Session, scope: str) -> int:
    """The next value of a counter, under a row lock: unique and gapless.

    The row is created if missing without racing (INSERT … ON CONFLICT DO
    NOTHING), then locked (SELECT … FOR UPDATE on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serialises writers).
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(NumberCounter).values(scope=scope, last_value=0).on_conflict_do_nothing()
    )
    counter = session.execute(
        select(NumberCounter).where(NumberCounter.scope == scope).with_for_update()
    ).scalar_one()
    counter.last_value += 1
    session.flush()
    return counter.last_value
