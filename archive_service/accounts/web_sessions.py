"""Web sessions the server can end (会话): open at sign-in, checked on every request, ended
by signing out, a password change, closing the account, an admin, or the idle and
absolute timeouts (``ARCHIVE_SESSION_IDLE_MINUTES``, ``ARCHIVE_SESSION_HOURS``).

The browser's cookie holds a random key; the database only its SHA-256, so a copy of the
database opens no session, and a copied cookie dies with its row.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.accounts import rules
from archive_service.accounts.models import User, WebSession, signed_in_user
from archive_service.accounts.settings import DEFAULT, AccountSettings
from archive_service.accounts.users import (
    account_expired,
    end_web_sessions,
    get_user,
    revoke_all_tokens,
)
from archive_service.audit.services import Actor, record
from archive_service.db import utcnow
from archive_service.policy import Caller, require

# last_seen is written at most this often: a request a second needs no write a second.
TOUCH_EVERY = timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def open_web_session(session: Session, user: User, ip: str | None, user_agent: str | None) -> str:
    """A new session for ``user`` (who has just signed in); its key, for the cookie only."""
    key = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        user_id=user.id,
        key_hash=_digest(key),
        created_at=now,
        last_seen_at=now,
        ip=(ip or "")[:64] or None,
        user_agent=(user_agent or "")[:300] or None,
    )
    session.add(row)
    session.flush()
    actor = Actor(user.id, user.username, ip)
    record(session, actor, "session.start", "user", user.id, web_session=row.id)
    return key


def resume(
    session: Session,
    key: str,
    ip: str | None = None,
    settings: AccountSettings = DEFAULT,
    now: datetime | None = None,
) -> tuple[User, WebSession] | None:
    """The user and session behind a cookie's key, if the session is still open.

    A session past its idle or absolute timeout is ended here (and the end recorded) the
    first time it comes back. The caller commits either way.
    """
    if not key or len(key) > 200:
        return None
    row = (
        session.execute(
            select(WebSession)
            .options(signed_in_user(WebSession.user))
            .where(WebSession.key_hash == _digest(key))
        )
        .unique()
        .scalar_one_or_none()
    )
    if row is None or row.ended_at is not None:
        return None
    now = now or utcnow()
    user = row.user
    reason = rules.session_end_reason(row.created_at, row.last_seen_at, now, settings.sessions)
    if reason is not None:
        row.ended_at, row.end_reason = now, reason
        actor = Actor(user.id, user.username, ip)
        record(session, actor, "session.end", "user", user.id, web_session=row.id, reason=reason)
        return None
    if not user.is_active_account or account_expired(user, now):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return user, row


def sign_out(session: Session, by: Caller, web_session_id: int | None) -> None:
    """The caller signs out: their session ends on the server, not only in the browser."""
    if by.user is None:
        return
    row = session.get(WebSession, web_session_id) if web_session_id is not None else None
    if row is not None and row.user_id == by.user.id and row.ended_at is None:
        row.ended_at, row.end_reason = utcnow(), "signed out"
    record(session, by.actor, "logout", "user", by.user.id, web_session=web_session_id)


def end_all_sessions(session: Session, by: Caller, user_id: int) -> tuple[int, int]:
    """An admin (or the operator) ends every web session and API token of an account at
    once; returns how many of each."""
    require(by, "user.end_sessions")
    user = get_user(session, user_id)
    now = utcnow()
    ended = end_web_sessions(session, user.id, now, "ended by an admin")
    revoked = revoke_all_tokens(session, user.id, now)
    record(
        session,
        by.actor,
        "user.end_sessions",
        "user",
        user.id,
        username=user.username,
        sessions_ended=ended,
        tokens_revoked=revoked,
    )
    return ended, revoked


def open_sessions(
    session: Session, by: Caller, user_id: int, settings: AccountSettings = DEFAULT
) -> list[WebSession]:
    """The account's sessions that are still open (for the admin's account page)."""
    require(by, "user.list")
    now = utcnow()
    rows = session.execute(
        select(WebSession)
        .where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
        .order_by(WebSession.created_at.desc())
    ).scalars()
    return [
        r
        for r in rows
        if rules.session_end_reason(r.created_at, r.last_seen_at, now, settings.sessions) is None
    ]
