"""Filing deadlines (归档时限) as pure rules: when a category's documents are due in the
archive, and how late a submission is.

A category states its rule as data, ``{"days": 3, "after": "signing_date"}``: due the
``days``-th working day after a date that applies — the document date
(``"document_date"``) or one of the category's date facts. The rules' defaults:
contracts three working days after signing, complaint records three after the
complaint's closing, everything else five after the document date. A document whose
fact is not recorded falls back to its document date; one with neither date has no
deadline (it is not judged). Working days come from the one calendar
(:mod:`archive_service.workdays`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from archive_service.errors import InvalidInput
from archive_service.workdays import ZONE, Calendar, local_day

DOCUMENT_DATE = "document_date"
MONTH_RE = re.compile(r"(20[0-9]{2})-([0-9]{2})")
DEFAULT_DAYS = 5
MAX_DAYS = 60  # a quarter's working days: a longer "deadline" is no deadline


def default_rule() -> dict[str, Any]:
    return {"days": DEFAULT_DAYS, "after": DOCUMENT_DATE}


def check_rule(raw: Any, facts: list[dict[str, Any]]) -> dict[str, Any]:
    """A deadline rule for a category with these fact specifications, cleaned: a number of
    working days (0 … ``MAX_DAYS``) after the document date or a date fact the category
    asks for. A rule naming a fact the category lacks is refused (422) when it is saved,
    never found out when a document comes in."""
    if raw is None:
        return default_rule()
    if not isinstance(raw, dict):
        raise InvalidInput("filing_deadline: an object of days and after", field="filing_deadline")
    days = raw.get("days", DEFAULT_DAYS)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= MAX_DAYS:
        raise InvalidInput(
            f"filing_deadline.days: a whole number of working days, 0 to {MAX_DAYS}",
            field="filing_deadline",
        )
    after = raw.get("after") or DOCUMENT_DATE
    if not isinstance(after, str):
        raise InvalidInput("filing_deadline.after: a date's name", field="filing_deadline")
    if after != DOCUMENT_DATE:
        kinds = {f["name"]: f.get("type", "text") for f in facts}
        if after not in kinds:
            raise InvalidInput(
                f"filing_deadline.after: the category has no fact {after!r} "
                f"(use {DOCUMENT_DATE} or one of its date facts)",
                field="filing_deadline",
            )
        if kinds[after] != "date":
            raise InvalidInput(
                f"filing_deadline.after: the fact {after!r} is not a date",
                field="filing_deadline",
            )
    return {"days": days, "after": after}


@dataclass(frozen=True)
class Due:
    """When a document is due in the archive, and the date it counts from."""

    on: date
    basis: str  # "document_date" or the fact's name


def due_date(
    rule: dict[str, Any] | None,
    document_date: date | None,
    facts: dict[str, Any] | None,
    calendar: Calendar,
) -> Due | None:
    """The due date of a document of a category with ``rule`` (the default rule for none);
    None when no date it could count from is recorded."""
    rule = rule or default_rule()
    after, days = rule.get("after") or DOCUMENT_DATE, int(rule.get("days", DEFAULT_DAYS))
    start: date | None = None
    basis = DOCUMENT_DATE
    if after != DOCUMENT_DATE:
        value = (facts or {}).get(after)
        if value:
            try:
                start, basis = date.fromisoformat(str(value)), after
            except ValueError:
                start = None
    if start is None:
        start = document_date
    if start is None:
        return None
    return Due(calendar.add_working_days(start, days), basis)


def late_days(due: date, submitted_at: datetime, calendar: Calendar) -> int:
    """Working days a submission at ``submitted_at`` (its day in China) is past ``due``;
    0 is on time."""
    return calendar.working_days_after(due, local_day(submitted_at))


def parse_month(text: str) -> tuple[int, int]:
    """``YYYY-MM`` → (year, month); a 422 otherwise."""
    found = MONTH_RE.fullmatch(text or "")
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise InvalidInput("month: YYYY-MM", field="month")
    return int(found.group(1)), int(found.group(2))


def month_of(moment: datetime) -> tuple[int, int]:
    day = local_day(moment)
    return day.year, day.month


def shift_month(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """The month in China's time, as UTC moments [start, end)."""
    ny, nm = shift_month(year, month, 1)
    start = datetime(year, month, 1, tzinfo=ZONE).astimezone(UTC)
    end = datetime(ny, nm, 1, tzinfo=ZONE).astimezone(UTC)
    return start, end
