"""The audit chain on SQLite and PostgreSQL: verify names the altered event."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from archive_service.audit import services as audit
from archive_service.audit.services import Actor
from archive_service.runtime import Runtime

ALICE = Actor(7, "alice", "192.0.2.1")


def _write(rt: Runtime, n: int) -> None:
    for i in range(n):
        with rt.db.unit_of_work() as s:
            audit.record(s, ALICE, "document.view", "document", i, purpose=f"审阅 {i}")


def _verify(rt: Runtime) -> audit.Verification:
    with rt.db.unit_of_work() as s:
        return audit.verify(s)


def _tamper(rt: Runtime, sql: str, **params: object) -> None:
    """Change the table behind the service's back, as a database admin could."""
    with rt.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(sql), params)
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_delete")
            conn.execute(text(sql), params)


def test_intact_chain_verifies(rt: Runtime) -> None:
    _write(rt, 5)
    result = _verify(rt)
    assert result.as_dict() == {
        "ok": True,
        "checked": 5,
        "first_broken": None,
        "reason": None,
        "checkpoints": 0,
        "anchored_seq": None,
        "findings": [],
    }


def test_edited_event_is_named(rt: Runtime) -> None:
    _write(rt, 6)
    _tamper(rt, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 4")
    result = _verify(rt)
    assert not result.ok
    assert result.first_broken == 4
    assert result.checked == 3
    assert result.reason == "event content altered"


def test_edited_details_are_detected(rt: Runtime) -> None:
    _write(rt, 3)
    _tamper(rt, "UPDATE audit_events SET details = :d WHERE seq = 2", d='{"purpose": "x"}')
    assert _verify(rt).first_broken == 2


def test_deleted_event_is_named(rt: Runtime) -> None:
    _write(rt, 5)
    _tamper(rt, "DELETE FROM audit_events WHERE seq = 3")
    result = _verify(rt)
    assert (result.ok, result.first_broken, result.reason) == (False, 3, "event missing")


def test_deleted_tail_is_detected(rt: Runtime) -> None:
    _write(rt, 5)
    _tamper(rt, "DELETE FROM audit_events WHERE seq >= 4")
    result = _verify(rt)
    assert (result.ok, result.first_broken) == (False, 4)


def test_reordered_events_are_detected(rt: Runtime) -> None:
    _write(rt, 5)
    # Swap the contents of events 2 and 3 (each keeps its own hash columns).
    _tamper(rt, "UPDATE audit_events SET seq = 100 WHERE seq = 2")
    _tamper(rt, "UPDATE audit_events SET seq = 2 WHERE seq = 3")
    _tamper(rt, "UPDATE audit_events SET seq = 3 WHERE seq = 100")
    result = _verify(rt)
    assert not result.ok
    assert result.first_broken == 2


@pytest.mark.parametrize(
    "statement", ["UPDATE audit_events SET actor = 'x'", "DELETE FROM audit_events"]
)
def test_database_refuses_update_and_delete(rt: Runtime, statement: str) -> None:
    _write(rt, 2)
    with pytest.raises(DBAPIError, match="append-only"), rt.db.engine.begin() as conn:
        conn.execute(text(statement))
    assert _verify(rt).ok


def test_concurrent_writers_keep_one_chain(rt: Runtime) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            _write(rt, 10)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = _verify(rt)
    assert result.ok and result.checked == 40


def test_filters(rt: Runtime) -> None:
    _write(rt, 3)
    with rt.db.unit_of_work() as s:
        audit.record(s, Actor(8, "bob", None), "login.failure", "user", 8)
        rows, total = audit.search(s, audit.AuditFilter(actor="bob"))
        assert total == 1 and rows[0].action == "login.failure"
        rows, total = audit.search(s, audit.AuditFilter(action="doc"))
        assert total == 0  # a prefix of a word, not of a dotted name, matches nothing
        rows, total = audit.search(s, audit.AuditFilter(action="document"))
        assert total == 3
        rows, total = audit.search(s, audit.AuditFilter(action="document.view"))
        assert total == 3
        rows, total = audit.search(s, audit.AuditFilter(target="document:1"))
        assert total == 1 and rows[0].details == {"purpose": "审阅 1"}


def _actions(rt: Runtime) -> list[str]:
    with rt.db.unit_of_work() as s:
        return [ev.action for ev in audit.iter_all(s, audit.AuditFilter())]


def test_an_open_transaction_does_not_hold_the_chain_head(rt: Runtime) -> None:
    """Events are linked at commit: a request that has recorded an event and not yet
    committed does not make every other writer wait for it (issue 22)."""
    slow = rt.db.session()
    try:
        audit.record(slow, ALICE, "document.download", "document", 1)
        done = threading.Event()

        def other() -> None:
            with rt.db.unit_of_work() as s:
                audit.record(s, Actor(8, "bob", None), "document.view", "document", 2)
            done.set()

        thread = threading.Thread(target=other)
        thread.start()
        # Generous: under the old design the other writer waited for ``slow`` to end.
        assert done.wait(20), "a second writer waited for an uncommitted event"
        thread.join()
        slow.commit()
    finally:
        slow.close()
    assert _actions(rt) == ["document.view", "document.download"]  # in commit order
    result = _verify(rt)
    assert result.ok and result.checked == 2


def test_rolled_back_events_are_not_linked(rt: Runtime) -> None:
    with rt.db.unit_of_work() as s:
        audit.record(s, ALICE, "kept.before", "document", 1)
        with pytest.raises(RuntimeError), s.begin_nested():
            audit.record(s, ALICE, "dropped.savepoint", "document", 2)
            raise RuntimeError("the savepoint rolls back")
        audit.record(s, ALICE, "kept.after", "document", 3)
    with pytest.raises(RuntimeError), rt.db.unit_of_work() as s:
        audit.record(s, ALICE, "dropped.transaction", "document", 4)
        raise RuntimeError("the transaction rolls back")
    assert _actions(rt) == ["kept.before", "kept.after"]
    result = _verify(rt)
    assert result.ok and result.checked == 2


def test_a_reading_transaction_is_not_ended_early_by_its_pending_events(rt: Runtime) -> None:
    """``release_read_transaction`` (before streaming an upload) must not commit events
    that wait for the use case's commit."""
    from archive_service.db import release_read_transaction

    with pytest.raises(RuntimeError), rt.db.unit_of_work() as s:
        audit.record(s, ALICE, "document.upload", "document", 1)
        release_read_transaction(s)
        raise RuntimeError("the upload fails")
    assert _actions(rt) == []
