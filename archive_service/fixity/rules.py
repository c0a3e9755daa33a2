"""The sweep's arithmetic, pure: how much a slice checks to finish the round within its
period, how long to pause to keep to the rate, and whether the rate can meet the period."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from archive_service.config import Settings

MB = 1_000_000  # the rate is in MB/s (decimal, like a disk's data sheet)


@dataclass(frozen=True)
class Plan:
    """The sweep's settings: the rate (0: unlimited), the period of a round, how often a
    slice runs."""

    mb_per_s: int
    period: timedelta
    every: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Plan:
        """``ARCHIVE_FIXITY_MB_PER_S``, ``_PERIOD_DAYS``, ``_SLICE_MINUTES``."""
        return cls(
            mb_per_s=max(0, settings.fixity_mb_per_s),
            period=timedelta(days=max(1, settings.fixity_period_days)),
            every=timedelta(minutes=max(1, settings.fixity_slice_minutes)),
        )

    @property
    def bytes_per_s(self) -> float | None:
        return self.mb_per_s * MB if self.mb_per_s > 0 else None

    @property
    def slice_seconds(self) -> float:
        """A slice stops after this long, so slices of the beat never overlap."""
        return 0.9 * self.every.total_seconds()


def slices_left(now: datetime, round_started: datetime, plan: Plan) -> int:
    """Slices the beat still runs before the round's period is over (at least one)."""
    remaining = (round_started + plan.period - now).total_seconds()
    return max(1, math.ceil(remaining / plan.every.total_seconds()))


def slice_budget(bytes_left: int, now: datetime, round_started: datetime, plan: Plan) -> int:
    """Bytes this slice checks: what is left of the round, spread over the slices left.
    A round that fell behind (a stopped worker) catches up; one ahead slows down."""
    return math.ceil(bytes_left / slices_left(now, round_started, plan))


def pause(done_bytes: int, elapsed: float, bytes_per_s: float | None) -> float:
    """Seconds to wait after reading ``done_bytes`` in ``elapsed`` seconds so that the
    reading never runs faster than ``bytes_per_s`` (None: never wait)."""
    if not bytes_per_s:
        return 0.0
    return max(0.0, done_bytes / bytes_per_s - elapsed)


def round_days_at_rate(total_bytes: int, plan: Plan) -> float | None:
    """Days a whole round takes at the rate if the beat ran slices back to back for the
    share of each interval they may use; None when unlimited."""
    rate = plan.bytes_per_s
    if rate is None:
        return None
    busy = plan.slice_seconds / plan.every.total_seconds()
    return total_bytes / (rate * busy) / 86400


def meets_period(total_bytes: int, plan: Plan) -> bool:
    days = round_days_at_rate(total_bytes, plan)
    return days is None or days <= plan.period.total_seconds() / 86400
