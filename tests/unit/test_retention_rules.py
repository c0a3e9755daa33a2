"""Retention arithmetic: class, tier minimum, trigger, hold, release, appraisal."""

from __future__ import annotations

from datetime import date

import pytest

from archive_service.archive.retention import RetentionInputs, RetentionRules, add_years

RULES = RetentionRules()
FILED = date(2015, 3, 10)


@pytest.mark.parametrize(
    ("retention_class", "tier", "expected"),
    [
        ("short", "ordinary", date(2020, 3, 10)),  # 5 y, tier minimum 5
        ("short", "potential", date(2020, 3, 10)),
        ("short", "important", date(2025, 3, 10)),  # tier minimum 10 wins over 5
        ("short", "core", date(2025, 3, 10)),
        ("medium", "ordinary", date(2025, 3, 10)),
        ("medium", "core", date(2025, 3, 10)),
        ("long", "ordinary", date(2045, 3, 10)),
        ("long", "core", date(2045, 3, 10)),
        ("permanent", "ordinary", None),
        ("permanent", "core", None),
    ],
)
def test_class_and_tier_minimum(retention_class: str, tier: str, expected: date | None) -> None:
    assert RULES.disposal_date(RetentionInputs(FILED, retention_class, tier)) == expected


def test_leap_day_trigger() -> None:
    assert add_years(date(2024, 2, 29), 5) == date(2029, 2, 28)
    assert add_years(date(2024, 2, 29), 4) == date(2028, 2, 29)
    inp = RetentionInputs(date(2024, 2, 29), "short", "ordinary")
    assert RULES.disposal_date(inp) == date(2029, 2, 28)


def test_contract_expiry_as_trigger_moves_the_date() -> None:
    expiry = date(2019, 12, 31)
    assert RULES.disposal_date(RetentionInputs(expiry, "medium", "ordinary")) == date(2029, 12, 31)


def test_hold_stops_the_clock() -> None:
    assert RULES.disposal_date(RetentionInputs(FILED, "short", "ordinary", on_hold=True)) is None


@pytest.mark.parametrize(
    ("released", "expected"),
    [
        (date(2016, 1, 1), date(2021, 1, 1)),  # release + 5 beats filing + 5
        (date(2014, 1, 1), date(2020, 3, 10)),  # an early release changes nothing
        (date(2030, 6, 30), date(2035, 6, 30)),  # long after the original date
    ],
)
def test_release_keeps_at_least_five_more_years(released: date, expected: date) -> None:
    inp = RetentionInputs(FILED, "short", "ordinary", hold_released_on=released)
    assert RULES.disposal_date(inp) == expected


def test_released_permanent_document_stays_permanent() -> None:
    inp = RetentionInputs(FILED, "permanent", "core", hold_released_on=date(2020, 1, 1))
    assert RULES.disposal_date(inp) is None


def test_appraisal_retain_until_only_extends() -> None:
    later = RetentionInputs(FILED, "short", "ordinary", retain_until=date(2027, 1, 1))
    assert RULES.disposal_date(later) == date(2027, 1, 1)
    earlier = RetentionInputs(FILED, "short", "ordinary", retain_until=date(2018, 1, 1))
    assert RULES.disposal_date(earlier) == date(2020, 3, 10)


def test_settings_change_the_numbers() -> None:
    rules = RetentionRules(
        class_years={"permanent": None, "long": 50, "medium": 20, "short": 3},
        tier_minimum={"core": 15, "important": 10, "potential": 3, "ordinary": 3},
        release_minimum_years=7,
    )
    assert rules.disposal_date(RetentionInputs(FILED, "short", "ordinary")) == date(2018, 3, 10)
    assert rules.disposal_date(RetentionInputs(FILED, "short", "core")) == date(2030, 3, 10)
    inp = RetentionInputs(FILED, "short", "ordinary", hold_released_on=date(2020, 1, 1))
    assert rules.disposal_date(inp) == date(2027, 1, 1)


@pytest.mark.parametrize(("cls", "tier"), [("forever", "core"), ("short", "vip")])
def test_unknown_class_or_tier_is_refused(cls: str, tier: str) -> None:
    with pytest.raises(ValueError, match="unknown"):
        RULES.disposal_date(RetentionInputs(FILED, cls, tier))
