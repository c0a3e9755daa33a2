"""The route pattern for ids matches exactly the numbers the database can hold."""

from __future__ import annotations

import re

from archive_service.http import DB_INT_MAX, db_int, digits_up_to


def test_the_pattern_matches_exactly_zero_to_the_limit() -> None:
    for limit in range(0, 1200):
        pattern = re.compile(digits_up_to(limit))
        assert [n for n in range(0, 1300) if pattern.fullmatch(str(n))] == list(range(limit + 1))


def test_the_database_bound_at_its_edges() -> None:
    pattern = re.compile(digits_up_to(DB_INT_MAX))
    for n in (0, 1, 999_999_999, 1_000_000_000, 2_000_000_000, DB_INT_MAX - 1, DB_INT_MAX):
        assert pattern.fullmatch(str(n)), n
    assert pattern.fullmatch("000042")
    for text in (str(DB_INT_MAX + 1), "2147483650", "2200000000", "9" * 10, "9" * 23, "", "١٢"):
        assert not pattern.fullmatch(text), text


def test_db_int_refuses_what_the_database_cannot_hold() -> None:
    assert db_int("7") == 7 and db_int(str(DB_INT_MAX)) == DB_INT_MAX
    for text in (str(DB_INT_MAX + 1), "-1", "9" * 30, "x", ""):
        try:
            db_int(text)
        except ValueError:
            continue
        raise AssertionError(text)
