from datetime import UTC, datetime, timedelta

import pytest

from archive_service.accounts import rules

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
POLICY = rules.LockoutPolicy(
    threshold=5, window=timedelta(minutes=15), duration=timedelta(minutes=15)
)


@pytest.mark.parametrize(
    ("password", "username", "ok"),
    [
        ("short", "alice", False),
        ("exactly12chr", "alice", True),
        ("11characters", "bob", True),
        ("alice-is-my-password", "alice", False),
        ("my-ALICE-password", "alice", False),
        ("aaaaaaaaaaaaaaaa", "bob", False),
        ("一二三四五六七八九十十一", "bob", True),
    ],
)
def test_password_policy(password: str, username: str, ok: bool) -> None:
    assert (rules.password_problems(password, username, 12) == []) is ok


def test_five_failures_in_window_lock_for_the_duration() -> None:
    state = rules.CLEAR
    for i in range(4):
        state = rules.after_failure(state, T0 + timedelta(minutes=i), POLICY)
        assert state.locked_until is None
    state = rules.after_failure(state, T0 + timedelta(minutes=4), POLICY)
    assert state.locked_until == T0 + timedelta(minutes=19)
    assert rules.is_locked(state, T0 + timedelta(minutes=18, seconds=59))
    assert not rules.is_locked(state, T0 + timedelta(minutes=19))


def test_failures_spread_beyond_the_window_do_not_lock() -> None:
    state = rules.CLEAR
    for i in range(10):
        state = rules.after_failure(state, T0 + timedelta(minutes=4 * i), POLICY)
        assert state.locked_until is None, i


def test_window_restarts_after_it_expires() -> None:
    state = rules.after_failure(rules.CLEAR, T0, POLICY)
    state = rules.after_failure(state, T0 + timedelta(minutes=16), POLICY)
    assert state.count == 1
    assert state.window_start == T0 + timedelta(minutes=16)
