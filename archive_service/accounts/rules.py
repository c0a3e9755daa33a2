"""Pure account rules: password policy and lockout arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


def password_problems(password: str, username: str, min_length: int = 12) -> list[str]:
    """What is wrong with a password (empty list: acceptable)."""
    problems = []
    if len(password) < min_length:
        problems.append(f"must be at least {min_length} characters")
    if username and username.casefold() in password.casefold():
        problems.append("must not contain the username")
    if password and len(set(password)) < 4:
        problems.append("must not be one character repeated")
    return problems


@dataclass(frozen=True)
class LockoutPolicy:
    threshold: int = 5
    window: timedelta = timedelta(minutes=15)
    duration: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class FailureState:
    count: int
    window_start: datetime | None
    locked_until: datetime | None


def is_locked(state: FailureState, now: datetime) -> bool:
    return state.locked_until is not None and now < state.locked_until


def after_failure(state: FailureState, now: datetime, policy: LockoutPolicy) -> FailureState:
    """Count a failed login; lock when ``threshold`` failures fall in one window."""
    if state.window_start is None or now - state.window_start > policy.window:
        count, start = 1, now
    else:
        count, start = state.count + 1, state.window_start
    locked = now + policy.duration if count >= policy.threshold else None
    return FailureState(count=count, window_start=start, locked_until=locked)


CLEAR = FailureState(count=0, window_start=None, locked_until=None)
