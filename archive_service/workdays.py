"""Working days (工作日): weekends and public holidays off, make-up working days (调休) on.

The one calendar of the service: approval reminders and escalation (notifications) and
filing deadlines (``archive.deadlines``) both count with it. The calendar is data: a JSON
file of ``{"holidays": [dates], "workdays": [dates]}`` (``ARCHIVE_HOLIDAYS_FILE``; the
default, ``holidays_cn.json`` beside this module, holds the State Council's arrangement
for the years it lists). A year it does not list counts weekends only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

DEFAULT_FILE = Path(__file__).resolve().parent / "holidays_cn.json"
# Days begin and end in China's time: a step opened at 23:30 UTC on Friday was opened on
# Saturday morning in Shanghai.
ZONE = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Calendar:
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)  # weekend days worked

    @classmethod
    def load(cls, path: str | Path | None = None) -> Calendar:
        data = json.loads(Path(path or DEFAULT_FILE).read_text(encoding="utf-8"))
        return cls(
            frozenset(date.fromisoformat(d) for d in data.get("holidays", [])),
            frozenset(date.fromisoformat(d) for d in data.get("workdays", [])),
        )

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def working_days_in(self, after: date, through: date) -> int:
        """Working days after ``after``'s day up to ``through`` (0 when there are none)."""
        count, day = 0, after + timedelta(days=1)
        while day <= through:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def working_days_between(self, start: datetime, end: datetime) -> int:
        """Whole working days that passed after ``start``'s day up to ``end``'s day: a step
        opened on Monday has waited one working day on Tuesday, whatever the hour."""
        return self.working_days_in(start.astimezone(ZONE).date(), end.astimezone(ZONE).date())

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself, for 0): three
        working days after a Monday is Thursday, after the Friday before National Day the
        Friday after the week off."""
        day, left = start, days
        while left > 0:
            day += timedelta(days=1)
            left -= self.is_working_day(day)
        return day

    def next_working_day(self, day: date) -> date:
        """``day`` itself if it is a working day, else the first working day after it."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def working_days_after(self, due: date, day: date) -> int:
        """How many working days ``day`` is past ``due`` (0 when not after it). A day off
        counts as the working day that follows it: what comes in on the Saturday after a
        Friday deadline is a working day late, as it is handled on Monday."""
        if day <= due:
            return 0
        return self.working_days_in(due, self.next_working_day(day))


def local_day(moment: datetime) -> date:
    """The day a moment falls on in China."""
    return moment.astimezone(ZONE).date()
