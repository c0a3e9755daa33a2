"""Pure account rules: password policy, sign-in throttling, web session timeouts, and who
must approve a role grant."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from archive_service.accounts.vocabulary import ROLES
from archive_service.approvals import Step


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


# --- sign-in throttling ----------------------------------------------------------------


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failed sign-ins to one account *from one source address*.

    The first ``threshold - 1`` failures cost nothing; the ``threshold``-th closes that
    pair (account, source) for ``first_delay``, and each further one doubles the delay up
    to ``longest_delay``. A series is forgotten ``forget_after`` its last failure or the
    end of its delay, whichever is later. Another source is never slowed down, so an
    attacker cannot keep the owner out.
    """

    threshold: int = 5
    first_delay: timedelta = timedelta(seconds=30)
    longest_delay: timedelta = timedelta(minutes=15)
    forget_after: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class FailureState:
    """A pair's failures in the current series, the last one, and until when it waits."""

    count: int
    last_failure: datetime | None
    blocked_until: datetime | None


CLEAR = FailureState(count=0, last_failure=None, blocked_until=None)


def current(state: FailureState, now: datetime, policy: ThrottlePolicy) -> FailureState:
    """The state as it stands at ``now``: a forgotten series is :data:`CLEAR`."""
    if state.last_failure is None:
        return CLEAR
    ended = max(state.last_failure, state.blocked_until or state.last_failure)
    return CLEAR if now - ended > policy.forget_after else state


def is_blocked(state: FailureState, now: datetime) -> bool:
    """Must this pair wait? (Its attempts are then refused without counting.)"""
    return state.blocked_until is not None and now < state.blocked_until


def delay_for(count: int, policy: ThrottlePolicy) -> timedelta | None:
    """The wait after the ``count``-th failure of a series (None: no wait yet)."""
    if count < policy.threshold:
        return None
    doublings = min(count - policy.threshold, 32)  # past the cap soon; no huge numbers
    return min(policy.first_delay * (2**doublings), policy.longest_delay)


def after_failure(state: FailureState, now: datetime, policy: ThrottlePolicy) -> FailureState:
    """Count a failed sign-in. An attempt made while the pair waits changes nothing (it is
    refused unchecked), so nobody extends their own wait by trying again."""
    state = current(state, now, policy)
    if is_blocked(state, now):
        return state
    count = state.count + 1
    delay = delay_for(count, policy)
    return FailureState(
        count=count, last_failure=now, blocked_until=now + delay if delay is not None else None
    )


# --- web sessions ----------------------------------------------------------------------


@dataclass(frozen=True)
class SessionTimeouts:
    """A web session ends ``idle`` after its last request, and ``lifetime`` after it began."""

    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=8)


def session_end_reason(
    created: datetime, last_seen: datetime, now: datetime, timeouts: SessionTimeouts
) -> str | None:
    """Why a session still open in the database is over at ``now`` (None: it is not)."""
    if now - created >= timeouts.lifetime:
        return "expired"
    if now - last_seen >= timeouts.idle:
        return "idle"
    return None


# --- role grants -----------------------------------------------------------------------

APPROVER_ROLE = "admin"


def needs_second_admin(role: str) -> bool:
    """Does giving ``role`` wait for a second admin? Every role that reads (the ``reads``
    flag of :data:`~archive_service.accounts.vocabulary.ROLES`), and the admin role itself:
    an admin who could make admins at once could make their own second approver."""
    return ROLES[role].reads or role == APPROVER_ROLE


def split_grant(roles: Iterable[str]) -> tuple[list[str], list[str]]:
    """Roles to add, as ``(given at once, waiting for a second admin)``."""
    at_once: list[str] = []
    later: list[str] = []
    for role in sorted(set(roles)):
        (later if needs_second_admin(role) else at_once).append(role)
    return at_once, later


def role_grant_chain() -> list[Step]:
    """Who approves a role grant: one admin, neither the one who asked nor the one who
    receives it (:mod:`archive_service.policy.accounts`)."""
    return [Step(APPROVER_ROLE)]
