"""The fixity sweep's arithmetic: the pace that bounds the rate, the slice that keeps a round
within its period, and whether a rate can meet the period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from archive_service.config import Settings
from archive_service.fixity.pacing import Pace
from archive_service.fixity.rules import (
    MB,
    Plan,
    meets_period,
    pause,
    round_days_at_rate,
    slice_budget,
    slices_left,
)

T0 = datetime(2026, 12, 1, tzinfo=UTC)
MONTH = Plan(mb_per_s=10, period=timedelta(days=30), every=timedelta(minutes=10))


def test_the_pause_keeps_reading_at_the_rate() -> None:
    # 10 MB read in 0.5 s at 5 MB/s: the reading is 1.5 s ahead of the rate.
    assert pause(10 * MB, 0.5, 5 * MB) == pytest.approx(1.5)
    assert pause(10 * MB, 3.0, 5 * MB) == 0.0  # behind the rate: no wait
    assert pause(10 * MB, 0.0, None) == 0.0  # unlimited


def test_a_pace_never_lets_the_average_pass_the_rate() -> None:
    """A virtual clock that only moves when the pace sleeps: the reading itself is
    instantaneous, so all the time spent is the pace's, and it is exactly bytes / rate."""
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    pace = Pace(2 * MB, clock=lambda: now[0], sleep=sleep)
    for chunk in (MB // 2, 3 * MB, 17, MB):
        pace.spent(chunk)
        assert pace.done / max(now[0], 1e-9) <= 2 * MB * (1 + 1e-9)
    assert now[0] == pytest.approx((MB // 2 + 3 * MB + 17 + MB) / (2 * MB))
    assert pace.slept == pytest.approx(now[0])


def test_slices_spread_what_is_left_over_the_rest_of_the_period() -> None:
    slices = 30 * 24 * 6  # ten-minute slices in thirty days
    assert slices_left(T0, T0, MONTH) == slices
    assert slice_budget(slices * 1000, T0, T0, MONTH) == 1000
    # Half the period gone with everything still to do: twice as much per slice.
    half = T0 + timedelta(days=15)
    assert slice_budget(slices * 1000, half, T0, MONTH) == 2000
    # Past the period (a stopped worker): everything left, in this slice.
    late = T0 + timedelta(days=31)
    assert slices_left(late, T0, MONTH) == 1
    assert slice_budget(12345, late, T0, MONTH) == 12345
    assert slice_budget(0, T0, T0, MONTH) == 0


def test_a_slice_stops_before_the_next_begins() -> None:
    assert MONTH.slice_seconds == pytest.approx(540)


def test_whether_the_rate_meets_the_period() -> None:
    # 10 MB/s for 90 % of the time is 777.6 GB a day.
    assert round_days_at_rate(int(777.6e9), MONTH) == pytest.approx(1.0)
    assert meets_period(int(777.6e9) * 30, MONTH)
    assert not meets_period(int(777.6e9) * 31, MONTH)
    unlimited = Plan(0, MONTH.period, MONTH.every)
    assert unlimited.bytes_per_s is None and round_days_at_rate(10**15, unlimited) is None
    assert meets_period(10**15, unlimited)


def test_the_plan_from_the_settings() -> None:
    env = {
        "ARCHIVE_FIXITY_MB_PER_S": "0",
        "ARCHIVE_FIXITY_PERIOD_DAYS": "7",
        "ARCHIVE_FIXITY_SLICE_MINUTES": "5",
    }
    plan = Plan.from_settings(Settings.from_env(env))
    assert plan == Plan(0, timedelta(days=7), timedelta(minutes=5))
    default = Plan.from_settings(Settings.from_env({}))
    assert default.mb_per_s == 20 and default.period == timedelta(days=30)
