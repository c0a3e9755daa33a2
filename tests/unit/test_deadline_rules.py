"""Filing deadlines' pure rules (``archive.deadlines``) and the working-day arithmetic of the
one calendar (``archive_service.workdays``), on the shipped 2026 calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from archive_service.archive import deadlines
from archive_service.errors import InvalidInput
from archive_service.workdays import Calendar

CAL = Calendar.load()
CONTRACT_FACTS = [
    {"name": "contract_number", "type": "text"},
    {"name": "signing_date", "type": "date"},
]


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (date(2026, 11, 2), 3, date(2026, 11, 5)),  # Monday → Thursday
        (date(2026, 11, 6), 3, date(2026, 11, 11)),  # Friday: the weekend skipped
        (date(2026, 9, 30), 3, date(2026, 10, 10)),  # National Day off, Saturday the 10th worked
        (date(2026, 10, 3), 1, date(2026, 10, 8)),  # from a holiday: the first working day after
        (date(2026, 11, 7), 0, date(2026, 11, 7)),  # 0 days: the day itself
        (date(2027, 10, 1), 1, date(2027, 10, 4)),  # a year not listed: weekends only
    ],
)
def test_working_days_after_a_date(start: date, days: int, due: date) -> None:
    assert CAL.add_working_days(start, days) == due


@pytest.mark.parametrize(
    ("due", "day", "late"),
    [
        (date(2026, 11, 5), date(2026, 11, 5), 0),
        (date(2026, 11, 5), date(2026, 11, 4), 0),
        (date(2026, 11, 5), date(2026, 11, 9), 2),  # Friday and Monday
        (date(2026, 11, 6), date(2026, 11, 7), 1),  # a Saturday counts as the Monday after
        (date(2026, 9, 30), date(2026, 10, 8), 1),  # the holiday week is not late
    ],
)
def test_how_late_a_day_is(due: date, day: date, late: int) -> None:
    assert CAL.working_days_after(due, day) == late


def test_the_submission_day_is_china_s() -> None:
    # 23:30 UTC on Thursday 5 November is Friday morning in Shanghai: a working day late.
    assert (
        deadlines.late_days(date(2026, 11, 5), datetime(2026, 11, 5, 23, 30, tzinfo=UTC), CAL) == 1
    )
    assert (
        deadlines.late_days(date(2026, 11, 5), datetime(2026, 11, 5, 15, 59, tzinfo=UTC), CAL) == 0
    )


def test_a_rule_names_the_document_date_or_a_date_fact() -> None:
    assert deadlines.check_rule(None, []) == {"days": 5, "after": "document_date"}
    assert deadlines.check_rule({"days": 3}, []) == {"days": 3, "after": "document_date"}
    assert deadlines.check_rule({"days": 3, "after": "signing_date"}, CONTRACT_FACTS) == {
        "days": 3,
        "after": "signing_date",
    }
    for bad in (
        {"days": 3, "after": "closing_date"},  # a fact the category lacks
        {"days": 3, "after": "contract_number"},  # not a date
        {"days": -1},
        {"days": 61},
        {"days": True},
        {"days": "3"},
        {"days": 3, "after": 7},
        ["days", 3],
    ):
        with pytest.raises(InvalidInput) as refused:
            deadlines.check_rule(bad, CONTRACT_FACTS)
        assert refused.value.field == "filing_deadline", bad


def test_the_due_date_counts_from_the_fact_else_the_document_date() -> None:
    rule = {"days": 3, "after": "signing_date"}
    got = deadlines.due_date(rule, date(2026, 11, 1), {"signing_date": "2026-11-02"}, CAL)
    assert got == deadlines.Due(date(2026, 11, 5), "signing_date")
    got = deadlines.due_date(rule, date(2026, 11, 2), {}, CAL)
    assert got == deadlines.Due(date(2026, 11, 5), "document_date")
    assert deadlines.due_date(rule, None, {}, CAL) is None
    assert deadlines.due_date(None, date(2026, 11, 2), None, CAL) == deadlines.Due(
        date(2026, 11, 9), "document_date"
    )


def test_months_are_china_s() -> None:
    assert deadlines.parse_month("2026-11") == (2026, 11)
    for bad in ("2026-13", "2026-00", "2026-1", "11-2026", "2026-11-01", "", "1999-01"):
        with pytest.raises(InvalidInput):
            deadlines.parse_month(bad)
    start, end = deadlines.month_bounds(2026, 12)
    assert start == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)
    assert deadlines.shift_month(2026, 1, -1) == (2025, 12)
    assert deadlines.shift_month(2026, 12, 1) == (2027, 1)
    assert deadlines.month_of(datetime(2026, 11, 30, 16, 30, tzinfo=UTC)) == (2026, 12)
