"""Periods of the recurring reviews: the last one that has ended on a day, its name and its
last day (due dates and lateness are the working-day calendar's, ``workdays.Calendar``)."""

from __future__ import annotations

from datetime import date, timedelta

from archive_service.duties.vocabulary import Cadence


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
