"""Periods of the recurring reviews: the last one that has ended on a day, its name, its
last day; and due dates counted in working days."""

from __future__ import annotations

from datetime import date, timedelta

from archive_service.duties.vocabulary import Cadence
from archive_service.workdays import Calendar


def last_ended(cadence: str, today: date) -> tuple[str, date]:
    """The latest period of ``cadence`` that ended before ``today``: (name, last day)."""
    if cadence == Cadence.MONTHLY:
        end = today.replace(day=1) - timedelta(days=1)
        return f"{end.year}-{end.month:02d}", end
    if cadence == Cadence.QUARTERLY:
        first_month = 3 * ((today.month - 1) // 3) + 1
        end = today.replace(month=first_month, day=1) - timedelta(days=1)
        return f"{end.year}-Q{(end.month - 1) // 3 + 1}", end
    end = date(today.year - 1, 12, 31)
    return str(end.year), end


def add_working_days(calendar: Calendar, day: date, n: int) -> date:
    """The ``n``-th working day after ``day`` (the calendar's one count)."""
    return calendar.add_working_days(day, n)


def working_days_late(calendar: Calendar, due: date, today: date) -> int:
    """Working days after ``due`` up to ``today`` (0 while it is not late)."""
    count, day = 0, due + timedelta(days=1)
    while day <= today:
        count += calendar.is_working_day(day)
        day += timedelta(days=1)
    return count
