"""Signing in: a password check throttled per account *and* source address.

Failures from one address slow down only that address's attempts on that username
(``accounts/rules.ThrottlePolicy``), so nobody can keep the owner out from elsewhere.
Whether the username exists, is waiting or the password is wrong, the answer is the same:
the same words, the same status, the same password-hash work. The owner is told of the
failures at their next sign-in.

With a directory configured (``ARCHIVE_LDAP_*``), a name without a local account is the
directory's: the password is checked by binding as the person, and the account is opened or
brought up to date from their entry (``archive_service/directory``). Local accounts — the
break-glass admin among them — never ask the directory, so they sign in while it is down.
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
from archive_service.directory.client import DirectoryUnavailable
from archive_service.directory.services import BringIn, bring_in
from archive_service.policy import Caller, require


class LoginOutcome:
    OK = "ok"
    # Also the answer while an (account, source) pair waits out its delay: a caller cannot
    # tell a waiting account, an unknown one and a wrong password apart.
    BAD_CREDENTIALS = "bad_credentials"
    NOT_ACTIVE = "not_active"
    # The person's account is the directory's and the directory cannot be asked now.
    DIRECTORY_UNAVAILABLE = "directory_unavailable"


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
    directory = settings.directory
    via_directory = directory is not None and (user is None or user.directory_dn is not None)
    # The same hash work on every path: a refusal takes as long as a real check.
    local = user is not None and not via_directory
    stored = user.password_hash if user is not None and local else settings.passwords.dummy_hash
    good = settings.passwords.verify(stored, password or "") and local
    actor = Actor(user.id, user.username, ip) if user else Actor(None, name or None, ip)
    target: tuple[str | None, int | None] = ("user", user.id) if user else (None, None)
    reason = "unknown user" if user is None else "wrong password"
    if directory is not None and via_directory and not rules.is_blocked(state, now):
        try:
            reason, person = directory.authenticate(name, password or "")
        except DirectoryUnavailable as exc:
            # Not a failure of the person's: nothing is counted against them.
            record(
                session,
                actor,
                "login.failure",
                *target,
                channel=channel,
                reason="directory unavailable",
                detail=exc.reason[:300],
            )
            return LoginResult(LoginOutcome.DIRECTORY_UNAVAILABLE)
        if person is not None:
            user, how = bring_in(session, person, directory.config)
            if how != BringIn.OK or user is None:
                if row is not None:
                    session.delete(row)
                return _refused(session, actor, user, channel, how)
            good = True
            actor = Actor(user.id, user.username, ip)
            target = ("user", user.id)
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
            reason=reason,
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
    if local and settings.passwords.needs_rehash(user.password_hash):
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


def _refused(
    session: Session, actor: Actor, user: User | None, channel: str, how: str
) -> LoginResult:
    """The directory vouched for the person, but they may not sign in (:class:`BringIn`)."""
    target: tuple[str | None, int | None] = ("user", user.id) if user else (None, None)
    record(session, actor, "login.failure", *target, channel=channel, reason=how)
    if how == BringIn.NO_ROLES:
        return LoginResult(LoginOutcome.NOT_ACTIVE, None, status="no_roles")
    status = user.status if user is not None else "closed"
    return LoginResult(LoginOutcome.NOT_ACTIVE, user, status=status)


def authenticate_sso(
    session: Session, username: str, ip: str | None, settings: AccountSettings = DEFAULT
) -> LoginResult:
    """Sign in the person a trusted SSO gateway names (its header, from an allow-listed
    proxy: ``directory/settings.SsoGate``). A local account signs in as it is; a name
    without one is the directory's, looked up (and its account opened or brought up to
    date) as at a password sign-in. The caller commits either way."""
    now = utcnow()
    name = (username or "")[:150]
    user = user_by_username(session, name)
    actor = Actor(user.id, user.username, ip) if user else Actor(None, name or None, ip)
    directory = settings.directory
    if directory is not None and (user is None or user.directory_dn is not None):
        try:
            person = directory.person(name)
        except DirectoryUnavailable as exc:
            record(
                session,
                actor,
                "login.failure",
                *(("user", user.id) if user else (None, None)),
                channel="sso",
                reason="directory unavailable",
                detail=exc.reason[:300],
            )
            return LoginResult(LoginOutcome.DIRECTORY_UNAVAILABLE)
        if person is None:
            user = None
        else:
            user, how = bring_in(session, person, directory.config)
            if how != BringIn.OK or user is None:
                return _refused(session, actor, user, "sso", how)
            actor = Actor(user.id, user.username, ip)
    if user is None:
        record(session, actor, "login.failure", channel="sso", reason="unknown user")
        return LoginResult(LoginOutcome.BAD_CREDENTIALS)
    if not user.is_active_account or account_expired(user, now):
        record(
            session,
            actor,
            "login.failure",
            "user",
            user.id,
            channel="sso",
            reason=f"account {user.status}",
        )
        return LoginResult(LoginOutcome.NOT_ACTIVE, user, status=user.status)
    record(session, actor, "login.success", "user", user.id, channel="sso")
    return LoginResult(LoginOutcome.OK, user)


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
