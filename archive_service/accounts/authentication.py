"""Signing in: checking a password with lockout, and the user behind a web session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from archive_service.accounts import rules
from archive_service.accounts.models import User
from archive_service.accounts.settings import DEFAULT, AccountSettings
from archive_service.accounts.users import account_expired, user_by_username
from archive_service.audit.services import Actor, record
from archive_service.db import utcnow
from archive_service.policy import Caller


class LoginOutcome:
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    NOT_ACTIVE = "not_active"


@dataclass(frozen=True)
class LoginResult:
    outcome: str
    user: User | None = None
    locked_until: datetime | None = None
    status: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == LoginOutcome.OK


def _failure_state(user: User) -> rules.FailureState:
    return rules.FailureState(user.failed_logins, user.failure_window_start, user.locked_until)


def authenticate(
    session: Session,
    username: str,
    password: str,
    ip: str | None,
    channel: str,
    settings: AccountSettings = DEFAULT,
) -> LoginResult:
    """Check a password and record the attempt; the caller commits either way.

    A failure is never an exception here: the failed attempt, the lockout
    counter and the audit event must be committed, not rolled back.
    """
    now = utcnow()
    user = user_by_username(session, username)
    if user is None:
        settings.passwords.verify(settings.passwords.dummy_hash, password or "")
        record(
            session,
            Actor(None, username[:150] if username else None, ip),
            "login.failure",
            channel=channel,
            reason="unknown user",
        )
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    actor = Actor(user.id, user.username, ip)
    state = _failure_state(user)
    if rules.is_locked(state, now):
        record(
            session,
            actor,
            "login.refused_locked",
            "user",
            user.id,
            channel=channel,
            locked_until=user.locked_until.isoformat() if user.locked_until else None,
        )
        return LoginResult(LoginOutcome.LOCKED, user, user.locked_until)
    if state.locked_until is not None:  # lock expired: start counting afresh
        state = rules.CLEAR
    if not settings.passwords.verify(user.password_hash, password or ""):
        new = rules.after_failure(state, now, settings.lockout)
        user.failed_logins = new.count
        user.failure_window_start = new.window_start
        user.locked_until = new.locked_until
        record(
            session,
            actor,
            "login.failure",
            "user",
            user.id,
            channel=channel,
            reason="wrong password",
            failures=new.count,
        )
        if new.locked_until is not None:
            record(
                session,
                actor,
                "user.lockout",
                "user",
                user.id,
                locked_until=new.locked_until.isoformat(),
                failures=new.count,
            )
            return LoginResult(LoginOutcome.LOCKED, user, new.locked_until)
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    user.failed_logins, user.failure_window_start, user.locked_until = 0, None, None
    if not user.is_active_account or account_expired(user, now):
        record(
            session,
            actor,
            "login.failure",
            "user",
            user.id,
            channel=channel,
            reason=f"account {user.status}",
        )
        return LoginResult(LoginOutcome.NOT_ACTIVE, user, status=user.status)
    if settings.passwords.needs_rehash(user.password_hash):
        user.password_hash = settings.passwords.hash(password)
    record(session, actor, "login.success", "user", user.id, channel=channel)
    return LoginResult(LoginOutcome.OK, user)


def session_user(session: Session, session_id: str) -> User | None:
    """The user behind a web session id ``"<user id>:<epoch>"``, if it is still valid."""
    user_id, _, epoch = (session_id or "").partition(":")
    if not (user_id.isdigit() and epoch.isdigit()):
        return None
    user = session.get(User, int(user_id))
    if user is None or user.session_epoch != int(epoch):
        return None
    if not user.is_active_account or account_expired(user, utcnow()):
        return None
    return user


def sign_out(session: Session, by: Caller) -> None:
    """Record that the caller signed out of the web interface."""
    if by.user is not None:
        record(session, by.actor, "logout", "user", by.user.id)
