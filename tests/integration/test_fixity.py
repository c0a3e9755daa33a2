"""The fixity sweep on the real store: damage is found and recorded, a later good check
resolves it, a good copy repairs it, the rate and the period bound each slice, samples."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from archive_service.audit.models import AuditEvent
from archive_service.fixity.models import FixityFailure, FixitySweep
from archive_service.fixity.rules import MB, Plan
from archive_service.fixity.services import state
from storage.backends.local import LocalStore
from tests.integration.fixity_helpers import flip_byte, path_of, put, sweeper

DATA = "固定性检查 fixity ".encode() * 20_000  # ~0.4 MB, several segments at 64 KiB


def _failures(rt: Any) -> list[FixityFailure]:
    with rt.db.unit_of_work() as s:
        return list(s.execute(select(FixityFailure).order_by(FixityFailure.id)).scalars())


def _events(rt: Any, action: str) -> list[AuditEvent]:
    with rt.db.unit_of_work() as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.action == action)).scalars())


def test_a_flipped_ciphertext_byte_is_found_recorded_and_audited(rt: Any) -> None:
    good = [put(rt, DATA + bytes([i])) for i in range(3)]
    bad = put(rt, DATA)
    flip_byte(rt, bad)
    result = sweeper(rt).run_all()
    assert result.checked == 4 and result.failed == 1 and result.repaired == 0
    [failure] = _failures(rt)
    assert (failure.stored_object_id, failure.kind, failure.status) == (
        bad.id,
        "mismatch",
        "open",
    )
    assert failure.repair == "no_source"  # no backup target to repair from
    [event] = _events(rt, "fixity.failed")
    assert event.target_id == str(bad.id) and event.details["kind"] == "mismatch"
    assert all(g.id != bad.id for g in good)
    # The round is finished and audited once; seeing it again adds no second failure.
    assert len(_events(rt, "fixity.round")) == 1
    sweeper(rt).run_all()
    [again] = _failures(rt)
    assert again.times_seen == 2 and len(_events(rt, "fixity.failed")) == 1


def test_a_deleted_object_is_found_missing_and_a_later_good_check_resolves(rt: Any) -> None:
    obj = put(rt, DATA)
    saved = path_of(rt, obj).read_bytes()
    path_of(rt, obj).unlink()
    sweeper(rt).run_all()
    [failure] = _failures(rt)
    assert failure.kind == "missing" and failure.status == "open"
    path_of(rt, obj).write_bytes(saved)  # somebody puts the file back
    result = sweeper(rt).run_all()
    assert result.resolved == 1
    [failure] = _failures(rt)
    assert failure.status == "resolved" and failure.closed_at is not None
    assert [e.target_id for e in _events(rt, "fixity.resolved")] == [str(obj.id)]


def test_erased_objects_are_skipped(rt: Any) -> None:
    kept, erased = put(rt, DATA), put(rt, DATA + b"x")
    with rt.db.unit_of_work() as s:
        rt.vault.destroy_key(s, s.merge(erased))
    rt.vault.delete_object(erased.object_name)
    result = sweeper(rt).run_all()
    assert (result.checked, result.failed, result.last_id) == (1, 0, kept.id)


def test_a_good_copy_repairs_the_damage_verified_first(rt: Any, tmp_path: Any) -> None:
    obj = put(rt, DATA)
    backup = LocalStore(tmp_path / "backup" / "objects", fsync=False)
    backup.ensure_ready()
    with open(path_of(rt, obj), "rb") as original:  # the backup's verbatim copy
        backup.put(obj.object_name, original)
    flip_byte(rt, obj)
    result = sweeper(rt, good_copies=backup).run_all()
    assert (result.failed, result.repaired) == (1, 1)
    [failure] = _failures(rt)
    assert failure.status == "repaired" and failure.closed_at is not None
    [event] = _events(rt, "fixity.repaired")
    assert event.details["source"] == "backup" and event.details["kind"] == "mismatch"
    with rt.db.unit_of_work() as s:
        assert b"".join(rt.vault.open(s.merge(obj))) == DATA
    # A missing object comes back from the copy too.
    path_of(rt, obj).unlink()
    assert sweeper(rt, good_copies=backup).run_all().repaired == 1
    assert path_of(rt, obj).exists()
    assert sweeper(rt).run_all().failed == 0


def test_a_damaged_copy_is_not_written_over_the_original(rt: Any, tmp_path: Any) -> None:
    obj = put(rt, DATA)
    backup = LocalStore(tmp_path / "objects", fsync=False)
    backup.ensure_ready()
    raw = bytearray(path_of(rt, obj).read_bytes())
    raw[-5] ^= 0xFF
    backup.put(obj.object_name, io.BytesIO(bytes(raw)))
    path_of(rt, obj).unlink()
    result = sweeper(rt, good_copies=backup).run_all()
    assert (result.failed, result.repaired) == (1, 0)
    [failure] = _failures(rt)
    assert failure.status == "open" and failure.repair == "copy_bad"
    assert not path_of(rt, obj).exists()  # the bad copy was not put in its place
    assert [e.details["outcome"] for e in _events(rt, "fixity.unrepaired")] == ["copy_bad"]


def test_the_rate_bounds_the_reading(rt: Any) -> None:
    """At 1 MB/s on a clock that moves only when the sweep waits, the time it takes is
    exactly the bytes read over the rate: the reading never outruns the rate."""
    objects = [put(rt, DATA + bytes([i])) for i in range(4)]
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    plan = Plan(mb_per_s=1, period=timedelta(days=30), every=timedelta(minutes=10))
    result = sweeper(rt, plan=plan, clock=lambda: now[0], sleep=sleep).run_all()
    ciphertext = sum(o.stored_size for o in objects)
    assert result.checked == 4 and result.bytes == ciphertext
    assert result.slept == now[0]
    assert now[0] >= ciphertext / MB - 1e-6  # never faster than 1 MB/s
    assert now[0] <= ciphertext / MB + 0.01  # and no slower than it need be


def test_a_slice_checks_its_share_of_the_period_and_a_finished_round_waits(rt: Any) -> None:
    objects = [put(rt, DATA + bytes([i])) for i in range(6)]
    # Two slices in the period: the first checks about half (at least its budget).
    plan = Plan(mb_per_s=0, period=timedelta(minutes=20), every=timedelta(minutes=10))
    first = sweeper(rt, plan=plan).run_slice()
    assert first.checked == 3 and first.rounds_finished == 0
    with rt.db.unit_of_work() as s:
        st = state(s)
        assert st.cursor == objects[2].id
        st.round_started_at -= timedelta(minutes=10)  # the beat's next slice, ten minutes on
    second = sweeper(rt, plan=plan).run_slice()
    assert second.checked == 3 and second.first_id == objects[3].id
    assert second.rounds_finished == 1
    # The round is done: the next slice waits until its period is over.
    assert sweeper(rt, plan=plan).run_slice().checked == 0
    with rt.db.unit_of_work() as s:
        st = s.get(FixitySweep, 1)
        assert st is not None and st.last_round_checked == 6
        st.round_started_at -= timedelta(minutes=21)
    third = sweeper(rt, plan=plan).run_slice()
    assert third.checked == 3 and third.first_id == objects[0].id
    with rt.db.unit_of_work() as s:
        assert state(s).round == 2


def test_a_sample_checks_n_objects_and_leaves_the_cursor(rt: Any) -> None:
    objects = [put(rt, DATA + bytes([i])) for i in range(5)]
    result = sweeper(rt).run_sample(2)
    assert result.checked == 2
    with rt.db.unit_of_work() as s:
        assert state(s).cursor == 0
    [run] = _events(rt, "fixity.run")
    assert run.details["mode"] == "sample" and run.details["checked"] == 2
    assert sweeper(rt).run_sample(50).checked == len(objects)
