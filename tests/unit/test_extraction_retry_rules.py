"""When a failed extraction is tried again (archive_service/indexing/rules.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from archive_service.indexing.rules import RETRY_LIMIT, next_retry
from search.extract import REASONS

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("reason", ["sandbox_start", "timeout"])
def test_reasons_that_may_pass_are_retried_with_a_doubling_back_off(reason: str) -> None:
    delays = [next_retry(reason, n, NOW) for n in range(1, RETRY_LIMIT)]
    assert [d - NOW for d in delays if d] == [
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=4),
    ]
    assert next_retry(reason, RETRY_LIMIT, NOW) is None


@pytest.mark.parametrize("reason", sorted(set(REASONS) - {"sandbox_start", "timeout"}))
def test_the_file_s_own_failures_are_left_to_an_admin(reason: str) -> None:
    assert next_retry(reason, 1, NOW) is None
