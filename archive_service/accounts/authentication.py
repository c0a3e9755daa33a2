"""Signing in: a password check throttled per account *and* source address.

Failures from one address slow down only that address's attempts on that username
(``accounts/rules.ThrottlePolicy``), so nobody can keep the owner out from elsewhere.
Whether the username exists, is waiting or the password is wrong, the answer is the same:
the same words, the same status, the same password-hash work. The owner is told of the
failures at their next sign-in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive_service.accounts import rules
from archive_service.accounts.models import SignInThrottle, User
from archive_service.accounts.settings import DEFAULT, AccountSettings
from archive_service.accounts.users import account_expired, get_user, user_by_username
from archive_service.audit.services import Actor, record
from archive_service.db import utcnow
from archive_service.policy import Caller, require


class LoginOutcome:
    OK = "ok"
    # Also the answer while an (account, source) pair waits out its delay: a caller cannot
    # tell a waiting account, an unknown one and a wrong password apart.
    BAD_CREDENTIALS = "bad_credentials"
    NOT_ACTIVE = "not_active"


@dataclass(frozen=True)
class FailureNotice:
    """What the owner is told at sign-in: failed attempts since their last sign-in."""

    count: int
    since: datetime


@dataclass(frozen=True)
class LoginResult:
    outcome: str
    user: User | None = None
    status: str | None = None
    notice: FailureNotice | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == LoginOutcome.OK


def _source(ip: str | None) -> str:
    return (ip or "unknown")[:64]


def _throttle(session: Session, username: str, source: str) -> SignInThrottle | None:
    return session.execute(
        select(SignInThrottle).where(
            SignInThrottle.username == username, SignInThrottle.source == source
        )
    ).scalar_one_or_none()


def _state(row: SignInThrottle | None) -> rules.FailureState:
    if row is None:
        return rules.CLEAR
    return rules.FailureState(row.failures, row.last_failure_at, row.blocked_until)


def _save(
    session: Session,
    row: SignInThrottle | None,
    username: str,
    source: str,
    state: rules.FailureState,
    policy: rules.ThrottlePolicy,
) -> None:
    if row is None:
        # Series long forgotten leave no row behind (the table holds any name typed).
        assert state.last_failure is not None
        horizon = state.last_failure - policy.forget_after - policy.longest_delay
        session.execute(delete(SignInThrottle).where(SignInThrottle.last_failure_at < horizon))
        try:
            with session.begin_nested():
                row = SignInThrottle(username=username, source=source)
                session.add(row)
        except IntegrityError:  # a concurrent attempt made it first
            row = _throttle(session, username, source)
            assert row is not None
    row.failures, row.last_failure_at, row.blocked_until = (
        state.count,
        state.last_failure,
        state.blocked_until,
    )


def authenticate(
    session: Session,
    username: str,
    password: str,
    ip: str | None,
    channel: str,
    settings: AccountSettings = DEFAULT,
) -> LoginResult:
    """Check a password and record the attempt; the caller commits either way.

    A failure is never an exception here: the failed attempt, the throttle and the audit
    event must be committed, not rolled back.
    """
    now = utcnow()
    policy = settings.throttle
    name = (username or "")[:150]
    key, source = name.lower(), _source(ip)
    row = _throttle(session, key, source)
    state = rules.current(_state(row), now, policy)
    user = user_by_username(session, name)
    # The same hash work on every path: a refusal takes as long as a real check.
    stored = user.password_hash if user is not None else settings.passwords.dummy_hash
    good = settings.passwords.verify(stored, password or "")
    actor = Actor(user.id, user.username, ip) if user else Actor(None, name or None, ip)
    target: tuple[str | None, int | None] = ("user", user.id) if user else (None, None)
    if user is not None and not (good and not rules.is_blocked(state, now)):
        if not user.failed_logins or user.failure_window_start is None:
            user.failure_window_start = now
        user.failed_logins += 1
    if rules.is_blocked(state, now):
        assert state.blocked_until is not None
        record(
            session,
            actor,
            "login.throttled",
            *target,
            channel=channel,
            source=source,
            until=state.blocked_until.isoformat(),
        )
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    if user is None or not good:
        new = rules.after_failure(state, now, policy)
        _save(session, row, key, source, new, policy)
        record(
            session,
            actor,
            "login.failure",
            *target,
            channel=channel,
            reason="unknown user" if user is None else "wrong password",
            failures=new.count,
        )
        if new.blocked_until is not None:
            record(
                session,
                actor,
                "login.delayed",
                *target,
                source=source,
                failures=new.count,
                until=new.blocked_until.isoformat(),
            )
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    if row is not None:
        session.delete(row)
    if not user.is_active_account or account_expired(user, now):
        reason = f"account {user.status}"
        record(session, actor, "login.failure", *target, channel=channel, reason=reason)
        return LoginResult(LoginOutcome.NOT_ACTIVE, user, status=user.status)
    notice = None
    if user.failed_logins and user.failure_window_start is not None:
        notice = FailureNotice(user.failed_logins, user.failure_window_start)
    user.failed_logins, user.failure_window_start = 0, None
    if settings.passwords.needs_rehash(user.password_hash):
        user.password_hash = settings.passwords.hash(password)
    record(
        session,
        actor,
        "login.success",
        *target,
        channel=channel,
        failed_sign_ins_reported=notice.count if notice else 0,
    )
    return LoginResult(LoginOutcome.OK, user, notice=notice)


def unlock(session: Session, by: Caller, user_id: int) -> int:
    """Lift every sign-in delay on the account, from every source (``archive user
    unlock``); returns how many sources were waiting or counting."""
    require(by, "user.unlock")
    user = get_user(session, user_id)
    result = session.execute(
        delete(SignInThrottle).where(SignInThrottle.username == user.username.lower())
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    record(session, by.actor, "user.unlock", "user", user.id, username=user.username, sources=count)
    return count
