"""Which snapshots a retention rule keeps, how long one may live, and the beat's interval.

Pure arithmetic. The rule: the newest snapshot of each of the last ``daily`` days, and
the newest of each of the ``weekly`` ISO weeks before those days; the newest snapshot is
always kept. A snapshot therefore lives at most ``daily`` days plus ``weekly + 1`` weeks:
that bound is the horizon written into destruction records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta


def kept(stamps: Iterable[datetime], today: date, daily: int, weekly: int) -> set[datetime]:
    ordered = sorted(stamps, reverse=True)
    if not ordered:
        return set()
    keep = {ordered[0]}
    day_limit = today - timedelta(days=max(daily, 0))
    days: set[date] = set()
    weeks: set[tuple[int, int]] = set()
    week_floor = day_limit - timedelta(weeks=max(weekly, 0))
    for at in ordered:  # newest first: the first of each day/week seen is its newest
        d = at.date()
        if d > day_limit:
            if d not in days:
                days.add(d)
                keep.add(at)
        elif d > week_floor:
            week = d.isocalendar()[:2]
            if week not in weeks and len(weeks) < weekly:
                weeks.add(week)
                keep.add(at)
    return keep


def expires_by(taken: date, daily: int, weekly: int) -> date:
    """The latest day a snapshot taken on ``taken`` can still exist under the rule."""
    return taken + timedelta(days=max(daily, 0)) + timedelta(weeks=max(weekly, 0) + 1)


def horizon(snapshots: Iterable[datetime], completed: datetime, daily: int, weekly: int) -> date:
    """By when the last backup holding keys destroyed at ``completed`` is gone: the newest
    snapshot taken before it expires; the day itself when no backup holds them."""
    before = [s for s in snapshots if s < completed]
    if not before:
        return completed.date()
    return expires_by(max(before).date(), daily, weekly)


_INTERVAL = re.compile(r"^\s*(\d+)\s*([mhd])\s*$")


def interval_seconds(text: str) -> float | None:
    """``ARCHIVE_BACKUP_SCHEDULE``: "30m", "6h", "1d"; None for "off" (or ""), an error
    for anything else."""
    if text.strip().lower() in ("", "off", "none", "0"):
        return None
    match = _INTERVAL.match(text.lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"ARCHIVE_BACKUP_SCHEDULE={text!r}: give minutes, hours or days (30m, 6h, 1d) or off"
        )
    unit = {"m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return float(int(match.group(1)) * unit)
