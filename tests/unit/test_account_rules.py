from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from archive_service.accounts import rules
from archive_service.accounts.vocabulary import ROLES
from archive_service.approvals import Step

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
POLICY = rules.ThrottlePolicy(
    threshold=5,
    first_delay=timedelta(seconds=30),
    longest_delay=timedelta(minutes=15),
    forget_after=timedelta(minutes=15),
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


def _fail(times: int, start: datetime = T0, every: timedelta = timedelta(seconds=1)) -> Any:
    state, now = rules.CLEAR, start
    for _ in range(times):
        state = rules.after_failure(state, now, POLICY)
        now += every
    return state


def test_the_first_failures_cost_nothing_then_the_delays_begin() -> None:
    state = _fail(4)
    assert state.count == 4 and state.blocked_until is None
    state = rules.after_failure(state, T0 + timedelta(seconds=4), POLICY)
    assert state.count == 5
    assert state.blocked_until == T0 + timedelta(seconds=34)
    assert rules.is_blocked(state, T0 + timedelta(seconds=33))
    assert not rules.is_blocked(state, T0 + timedelta(seconds=34))


def test_delays_double_up_to_the_longest() -> None:
    delays = [rules.delay_for(n, POLICY) for n in range(1, 13)]
    assert delays[:4] == [None] * 4
    assert delays[4:] == [
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=8),
        timedelta(minutes=15),
        timedelta(minutes=15),
        timedelta(minutes=15),
    ]
    assert rules.delay_for(10**6, POLICY) == timedelta(minutes=15)


def test_an_attempt_while_waiting_changes_nothing() -> None:
    """Refused unchecked: trying again does not lengthen one's own wait."""
    state = _fail(5)
    again = rules.after_failure(state, T0 + timedelta(seconds=10), POLICY)
    assert again == state


def test_each_failure_after_a_wait_waits_longer() -> None:
    state = _fail(5)
    assert state.blocked_until is not None
    after = state.blocked_until
    state = rules.after_failure(state, after, POLICY)
    assert state.count == 6 and state.blocked_until == after + timedelta(minutes=1)


def test_a_series_is_forgotten_after_its_last_failure_or_wait() -> None:
    state = _fail(5)
    assert state.blocked_until is not None
    ended = state.blocked_until
    assert rules.current(state, ended + timedelta(minutes=15), POLICY) == state
    assert rules.current(state, ended + timedelta(minutes=15, seconds=1), POLICY) == rules.CLEAR
    later = rules.after_failure(state, ended + timedelta(minutes=16), POLICY)
    assert later.count == 1 and later.blocked_until is None


def test_failures_spread_out_never_wait() -> None:
    state = _fail(20, every=timedelta(minutes=16))
    assert state.count == 1 and state.blocked_until is None


def test_session_timeouts_idle_and_absolute() -> None:
    timeouts = rules.SessionTimeouts(idle=timedelta(minutes=30), lifetime=timedelta(hours=8))
    reason = rules.session_end_reason
    assert reason(T0, T0, T0 + timedelta(minutes=29), timeouts) is None
    assert reason(T0, T0, T0 + timedelta(minutes=30), timeouts) == "idle"
    busy = T0 + timedelta(hours=7, minutes=59)
    assert reason(T0, busy, busy + timedelta(seconds=30), timeouts) is None
    assert reason(T0, busy, T0 + timedelta(hours=8), timeouts) == "expired"


def test_which_role_grants_wait_for_a_second_admin() -> None:
    """Every role that reads content or the audit trail, and admin; stated on the roles."""
    waiting = {r.code for r in ROLES if rules.needs_second_admin(r.code)}
    assert waiting == {
        "admin",
        "archivist",
        "auditor",
        "clerk",
        "department_head",
        "leader",
        "manager",
        "operations_head",
        "supervisor",
    }
    assert {r.code for r in ROLES if not r.reads} == {"admin", "requester", "regulator"}
    assert rules.split_grant(["requester", "archivist", "clerk"]) == (
        ["requester"],
        ["archivist", "clerk"],
    )
    assert rules.role_grant_chain() == [Step("admin")]
