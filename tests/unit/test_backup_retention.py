"""The backup retention rule, the horizon it implies, and the beat's interval."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from archive_service.backup.retention import expires_by, horizon, interval_seconds, kept

TODAY = date(2026, 12, 2)  # a Wednesday


def at(days_ago: int, hour: int = 1) -> datetime:
    d = TODAY - timedelta(days=days_ago)
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)


def test_newest_of_each_day_then_of_each_week() -> None:
    stamps = [at(n, h) for n in range(60) for h in (1, 13)]
    keep = kept(stamps, TODAY, daily=3, weekly=2)
    # Three days, the newest of each; then the newest of each of two weeks before them.
    assert sorted(keep, reverse=True)[:3] == [at(0, 13), at(1, 13), at(2, 13)]
    assert len(keep) == 5
    older = sorted(keep)[:2]
    assert all(s.date() <= TODAY - timedelta(days=3) for s in older)
    assert older[0].isocalendar()[1] != older[1].isocalendar()[1]


def test_the_newest_is_always_kept_and_nothing_else_past_the_rule() -> None:
    old = [at(400), at(500)]
    assert kept(old, TODAY, daily=7, weekly=4) == {at(400)}
    assert kept([], TODAY, 7, 4) == set()


def test_no_kept_snapshot_outlives_the_horizon() -> None:
    """Every snapshot the rule keeps on any later day was taken no earlier than
    ``expires_by`` allows: the horizon written into destruction records holds."""
    daily, weekly = 2, 3
    stamps = [at(n) for n in range(0, 90)]
    for later in range(0, 60):
        today = TODAY + timedelta(days=later)
        for s in kept(stamps, today, daily, weekly):
            if s != max(stamps):
                assert expires_by(s.date(), daily, weekly) >= today


def test_horizon_is_the_expiry_of_the_newest_snapshot_before_the_destruction() -> None:
    done = at(1, 12)
    assert horizon([at(3), at(1, 2), at(0)], done, 7, 4) == expires_by(at(1).date(), 7, 4)
    assert horizon([at(0)], done, 7, 4) == done.date()  # no backup holds the keys


def test_schedule() -> None:
    assert interval_seconds("30m") == 1800
    assert interval_seconds("6h") == 6 * 3600
    assert interval_seconds("1d") == 86400
    assert interval_seconds("off") is None and interval_seconds("") is None
    with pytest.raises(ValueError, match="ARCHIVE_BACKUP_SCHEDULE"):
        interval_seconds("hourly")


def test_the_beat_backs_up_only_when_a_target_is_set() -> None:
    from archive_service.config import Settings
    from workers.celery_app import make_celery

    def schedule(**kw: object) -> dict[str, object]:
        beat: dict[str, object] = make_celery(Settings(**kw).with_defaults()).conf.beat_schedule  # type: ignore[arg-type]
        return beat

    assert "backup" not in schedule() and "backup-journal-sweep" not in schedule()
    hourly = schedule(backup_to="/backups", backup_schedule="1h")
    assert hourly["backup"]["schedule"] == 3600.0  # type: ignore[index]
    assert "backup-journal-sweep" in hourly
    assert "backup" not in schedule(backup_to="/backups", backup_schedule="off")
