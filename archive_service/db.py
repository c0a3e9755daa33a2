"""Database engine, session factory and the unit of work.

SQLAlchemy 2.0 style. One :class:`Database` per process; a use case runs in
one transaction (``with db.unit_of_work() as session``) that commits on
success and rolls back on any exception. SQLite (the embedded default) runs
every transaction as ``BEGIN IMMEDIATE`` so concurrent writers queue instead
of failing half way, and the audit hash chain is never forked — except a
:meth:`Database.read_only` session's (the health check), which only reads and so
takes no write lock; and intake ends a use case's transaction that has only read
before it streams a file (:func:`release_read_transaction`), so no upload holds
the database's one write lock while its bytes come in.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that always comes back timezone-aware in UTC.

    SQLite drops the offset; PostgreSQL keeps it. Normalising here means
    the audit chain hashes the same text on both.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # The busy timeout first: setting the journal mode needs a lock, and a new
        # connection while another writes would otherwise fail at once ("database is
        # locked"), not wait.
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A deferred transaction reads a WAL snapshot and never waits for the write lock.
        reads_only = conn.get_execution_options().get(_READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if reads_only else "BEGIN IMMEDIATE")


_READ_ONLY = "archive_read_only"
_WROTE = "archive_wrote"


@event.listens_for(Session, "after_flush")
def _note_write(session: Session, _context: Any) -> None:
    session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _forget_write(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def note_write(session: Session) -> None:
    """Count ``session``'s transaction as one that has written, though nothing is flushed
    yet (audit events wait for the commit): :func:`release_read_transaction` must not
    commit it early."""
    session.info[_WROTE] = True


def release_read_transaction(session: Session) -> None:
    """End ``session``'s transaction on SQLite if it has written nothing, before a long
    wait (a file streaming into the store): ``BEGIN IMMEDIATE`` holds the whole database's
    write lock from the first read. The next statement begins a new transaction; what was
    loaded stays loaded (``expire_on_commit=False``). A transaction that has written keeps
    its lock, and on PostgreSQL nothing changes (row locks are not the whole database)."""
    if not session.in_transaction() or session.get_bind().dialect.name != "sqlite":
        return
    if session.info.get(_WROTE) or session.new or session.dirty or session.deleted:
        return
    session.commit()


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        _sqlite_setup(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


class Database:
    """Engine plus session factory; the only way the service reaches the database."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.reader = sessionmaker(
            self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False
        )

    def session(self) -> Session:
        return self.sessions()

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        """One use case, one transaction: commit on success, roll back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read_only(self) -> Iterator[Session]:
        """A session that only reads: on SQLite its transactions are deferred, so it neither
        takes nor waits for the write lock (the health check's probe). Nothing is committed."""
        with self.reader() as session:
            try:
                yield session
            finally:
                session.rollback()

    def dispose(self) -> None:
        self.engine.dispose()
