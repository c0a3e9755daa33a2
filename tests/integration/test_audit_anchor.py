"""The audit trail against a database writer, on SQLite and PostgreSQL: signed checkpoints
outside the database, and verify naming what such a writer did behind the service's back.

Each attack is done in SQL with the append-only triggers bypassed, as the database's
owner could (the same bypass ``tests/conftest._reset_pg`` uses).
"""

from __future__ import annotations

import json
import shutil
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from archive_service.audit import services as audit
from archive_service.audit.anchoring import AnchorRefused, CheckpointResult, write_checkpoint
from archive_service.audit.chain import canonical, link
from archive_service.audit.models import AuditEvent
from archive_service.audit.services import Actor
from archive_service.audit.setup import build_anchor
from archive_service.config import Settings
from archive_service.runtime import Runtime
from tests.conftest import People, bearer, token_for

ALICE = Actor(7, "alice", "192.0.2.1")
SCHEDULER = Actor.system("scheduler")


def _write(rt: Runtime, n: int) -> None:
    for i in range(n):
        with rt.db.unit_of_work() as s:
            audit.record(s, ALICE, "document.view", "document", i, purpose=f"审阅合同 {i}")


def _checkpoint(rt: Runtime) -> CheckpointResult:
    return write_checkpoint(rt.db, rt.anchor, SCHEDULER)


def _verify(rt: Runtime) -> audit.Verification:
    with rt.db.unit_of_work() as s:
        return audit.verify(s, rt.anchor)


def _codes(result: audit.Verification) -> list[str]:
    return [f.code for f in result.findings]


def _anchor_file(rt: Runtime) -> Path:
    return Path(rt.settings.audit_anchor_dir) / "checkpoints.jsonl"


def _as_owner(rt: Runtime, *statements: str, **params: object) -> None:
    """SQL as the database's owner: the append-only triggers do not stop it."""
    with rt.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_delete")
        for statement in statements:
            conn.execute(text(statement), params)


def cut_off_after(rt: Runtime, keep: int) -> None:
    """Delete the newest events and move the chain head back to the last one kept."""
    _as_owner(
        rt,
        "DELETE FROM audit_events WHERE seq > :keep",
        "UPDATE audit_chain SET last_seq = :keep,"
        " last_hash = (SELECT hash FROM audit_events WHERE seq = :keep) WHERE id = 1",
        keep=keep,
    )


def rewrite_and_rehash(rt: Runtime, seq: int, actor: str) -> None:
    """Change one event, re-hash it and every later one, and move the head to match: the
    chain alone is then consistent again."""
    with rt.db.unit_of_work() as s:
        events = s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
        rows = [
            {c: getattr(e, c) for c in ("seq", "at", "actor_id", "actor", "ip", "action")}
            | {"target_type": e.target_type, "target_id": e.target_id, "details": e.details or {}}
            for e in events
        ]
        prev_of_first = events[seq - 1].prev_hash
    rows[seq - 1]["actor"] = actor
    prev = prev_of_first
    updates = []
    for row in rows[seq - 1 :]:
        new_hash = link(prev, canonical(**row))
        updates.append({"s": row["seq"], "a": row["actor"], "p": prev, "h": new_hash})
        prev = new_hash
    with rt.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
        for u in updates:
            conn.execute(
                text(
                    "UPDATE audit_events SET actor = :a, prev_hash = :p, hash = :h WHERE seq = :s"
                ),
                u,
            )
        conn.execute(
            text("UPDATE audit_chain SET last_hash = :h WHERE id = 1"), {"h": updates[-1]["h"]}
        )


def test_a_fresh_trail_without_checkpoints_verifies(rt: Runtime) -> None:
    _write(rt, 3)
    result = _verify(rt)
    assert (result.ok, result.checked, result.checkpoints, result.anchored_seq) == (
        True,
        3,
        0,
        None,
    )
    assert not Path(rt.settings.audit_anchor_dir).exists()  # nothing written by reading


def test_a_checkpoint_pins_the_newest_event_and_is_recorded_in_the_trail(rt: Runtime) -> None:
    _write(rt, 3)
    first = _checkpoint(rt)
    assert first.written and first.entry is not None
    assert (first.entry.checkpoint.number, first.entry.checkpoint.seq) == (1, 3)
    with rt.db.unit_of_work() as s:
        recorded = s.get(AuditEvent, 4)
        assert recorded is not None and recorded.action == "audit.checkpoint"
        assert recorded.details["digest"] == first.entry.checkpoint.digest
    # Nothing new but its own record: no second checkpoint, however often it is asked.
    again = _checkpoint(rt)
    assert not again.written and again.entry == first.entry
    _write(rt, 2)
    second = _checkpoint(rt)
    assert second.written and second.entry is not None
    assert (second.entry.checkpoint.number, second.entry.checkpoint.seq) == (2, 6)
    result = _verify(rt)
    assert (result.ok, result.checkpoints, result.anchored_seq) == (True, 2, 6)
    # One line per checkpoint, owner-only, and nothing of the events' content in it.
    path = _anchor_file(rt)
    assert len(path.read_text().splitlines()) == 2
    assert path.stat().st_mode & 0o077 == 0
    assert "审阅" not in path.read_text() and "alice" not in path.read_text()


def test_cutting_off_the_newest_events_and_moving_the_head_is_named(rt: Runtime) -> None:
    _write(rt, 6)
    assert _checkpoint(rt).written  # pins event 6; records event 7
    _write(rt, 2)
    cut_off_after(rt, 4)
    with rt.db.unit_of_work() as s:
        assert audit.verify(s).ok  # the chain alone cannot tell: this was the hole
    result = _verify(rt)
    assert not result.ok
    assert (result.first_broken, result.reason) == (5, "chain cut off before a checkpoint")
    assert result.findings[0].as_dict() == {
        "code": "truncated",
        "seq": 5,
        "checkpoint": 1,
        "detail": "the chain ends at event 4; checkpoint 1 pins event 6",
    }
    # Nor does a new checkpoint paper over it.
    with pytest.raises(AnchorRefused, match="before checkpoint 1"):
        _checkpoint(rt)


def test_cutting_off_and_writing_on_past_the_checkpoint_is_named(rt: Runtime) -> None:
    _write(rt, 6)
    assert _checkpoint(rt).written
    cut_off_after(rt, 3)
    _write(rt, 6)  # the service carries on: event 6 exists again, but is another event
    result = _verify(rt)
    assert _codes(result)[0] == "rechained"
    assert result.findings[0].checkpoint == 1


def test_a_chain_cut_off_and_written_back_to_the_same_length_is_not_anchored(
    rt: Runtime,
) -> None:
    _write(rt, 4)
    assert _checkpoint(rt).written  # pins event 4; records event 5
    cut_off_after(rt, 3)
    _write(rt, 1)  # another event 4: the head is where the checkpoint left it
    with pytest.raises(AnchorRefused, match="no longer hashes"):
        _checkpoint(rt)
    assert _codes(_verify(rt))[0] == "rechained"


def test_rewriting_an_event_and_rehashing_the_rest_is_named(rt: Runtime) -> None:
    _write(rt, 2)
    assert _checkpoint(rt).written  # checkpoint 1 pins event 2; event 3 records it
    _write(rt, 3)
    assert _checkpoint(rt).written  # checkpoint 2 pins event 6; event 7 records it
    _write(rt, 2)
    rewrite_and_rehash(rt, 5, "mallory")
    with rt.db.unit_of_work() as s:
        assert audit.verify(s).ok  # consistent again, as far as the chain can tell
    result = _verify(rt)
    assert not result.ok
    assert result.reason == "events rewritten and re-hashed since a checkpoint"
    # Events 1–2 are as anchored; the rewrite is in 3–6.
    assert (result.findings[0].code, result.first_broken, result.findings[0].checkpoint) == (
        "rechained",
        3,
        2,
    )
    with pytest.raises(AnchorRefused, match="no longer hashes"):
        _checkpoint(rt)


def _edit_line(rt: Runtime, index: int, change: Any) -> None:
    path = _anchor_file(rt)
    lines = path.read_text().splitlines()
    raw = json.loads(lines[index])
    change(raw)
    lines[index] = json.dumps(raw)
    path.write_text("\n".join(lines) + "\n")


def _three_checkpoints(rt: Runtime) -> None:
    for _ in range(3):
        _write(rt, 2)
        assert _checkpoint(rt).written


def test_an_edited_checkpoint_fails_its_signature(rt: Runtime) -> None:
    _three_checkpoints(rt)
    _edit_line(rt, 1, lambda raw: raw["checkpoint"].update(seq=1))
    result = _verify(rt)
    assert not result.ok
    finding = result.findings[0]
    assert (finding.code, finding.checkpoint) == ("checkpoint_signature", 2)
    assert finding.store == f"file:{_anchor_file(rt)}"
    assert result.checkpoints == 1  # the run before it still holds


def test_a_checkpoint_signed_with_another_key_fails_its_signature(
    rt: Runtime, settings: Settings, tmp_path: Path
) -> None:
    _write(rt, 2)
    other = build_anchor(
        replace(settings, instance_dir=tmp_path / "elsewhere", audit_anchor_dir="").with_defaults()
    )
    other_store = Path(other.stores[0].name.removeprefix("file:"))
    write_checkpoint(rt.db, other, SCHEDULER)  # someone with their own key
    _anchor_file(rt).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(other_store, _anchor_file(rt))
    result = _verify(rt)
    assert _codes(result)[0] == "checkpoint_signature"
    with pytest.raises(AnchorRefused, match="not signed by our key"):
        _checkpoint(rt)


def test_a_removed_checkpoint_breaks_the_sequence(rt: Runtime) -> None:
    _three_checkpoints(rt)
    path = _anchor_file(rt)
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[2] + "\n")
    result = _verify(rt)
    assert not result.ok
    # Checkpoint 2 is missing where it should stand.
    assert (result.findings[0].code, result.findings[0].checkpoint) == ("checkpoint_sequence", 2)


def test_a_deleted_anchor_store_is_named(rt: Runtime) -> None:
    _three_checkpoints(rt)
    shutil.rmtree(rt.settings.audit_anchor_dir)
    result = _verify(rt)
    assert not result.ok
    assert result.reason == "anchor store missing"
    assert result.findings[0].checkpoint == 3  # the trail says three were written


def test_an_unreadable_anchor_store_is_named(rt: Runtime) -> None:
    _write(rt, 2)
    folder = Path(rt.settings.audit_anchor_dir)
    folder.parent.mkdir(parents=True, exist_ok=True)
    folder.write_text("not a folder")  # a mount gone wrong
    result = _verify(rt)
    assert (result.ok, result.reason) == (False, "anchor store missing")
    with pytest.raises(Exception, match="audit-anchor"):
        _checkpoint(rt)


def test_a_store_rolled_back_to_an_older_checkpoint_is_named(rt: Runtime) -> None:
    _three_checkpoints(rt)
    path = _anchor_file(rt)
    path.write_text(path.read_text().splitlines()[0] + "\n")
    result = _verify(rt)
    assert not result.ok
    assert result.findings[0].as_dict()["code"] == "anchor_behind"
    assert result.findings[0].checkpoint == 2


def test_concurrent_checkpoint_writers_keep_one_sequence(rt: Runtime) -> None:
    _write(rt, 3)
    results: list[CheckpointResult] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            results.append(_checkpoint(rt))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(r.written for r in results) == 1
    assert len(_anchor_file(rt).read_text().splitlines()) == 1
    assert _verify(rt).ok


def test_the_api_names_what_verify_found(client: Any, people: People, rt: Runtime) -> None:
    people.user("audrey", "auditor", department=None)
    auditor = bearer(token_for(client, "audrey"))
    _write(rt, 4)
    assert _checkpoint(rt).written
    ok = client.get("/api/v1/audit/verify", headers=auditor).get_json()
    assert ok["ok"] is True and ok["checkpoints"] == 1 and ok["anchored_seq"] >= 4
    cut_off_after(rt, 2)
    body = client.get("/api/v1/audit/verify", headers=auditor).get_json()
    assert body["ok"] is False
    assert body["reason"] == "chain cut off before a checkpoint"
    assert body["findings"][0]["code"] == "truncated"
    with rt.db.unit_of_work() as s:
        rows, _total = audit.search(s, audit.AuditFilter(action="audit.verify"))
    assert rows[0].details["findings"][0]["code"] == "truncated"  # recorded, too


def test_the_web_page_names_the_finding_in_chinese(
    client: Any, people: People, rt: Runtime
) -> None:
    from tests.integration.test_web_accounts import login

    people.user("audrey", "auditor", department=None)
    login(client, "audrey")
    page = client.get("/audit/verify").get_data(as_text=True)
    assert "完好" in page and "尚无" in page  # intact, no checkpoint yet
    _write(rt, 3)
    assert _checkpoint(rt).written
    rewrite_and_rehash(rt, 2, "mallory")
    page = client.get("/audit/verify").get_data(as_text=True)
    assert "重新计算" in page  # events rewritten and re-hashed since a checkpoint
    assert "完好" not in page
