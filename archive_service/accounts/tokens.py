"""API tokens: issued after a password check, stored only as their SHA-256, expiring,
revocable one by one or all at once."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.accounts.models import ApiToken, User, signed_in_user
from archive_service.accounts.settings import DEFAULT, AccountSettings
from archive_service.accounts.users import account_expired, get_user, revoke_all_tokens
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.errors import Conflict
from archive_service.policy import Caller, require


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, by: Caller, settings: AccountSettings = DEFAULT
) -> tuple[str, ApiToken]:
    """A new bearer token for the (just authenticated) caller; the plaintext is shown once."""
    assert by.user is not None
    plain = "arc_" + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=by.user.id,
        token_hash=_token_digest(plain),
        expires_at=utcnow() + settings.token_ttl,
    )
    session.add(token)
    session.flush()
    record(
        session,
        by.actor,
        "token.create",
        "token",
        token.id,
        expires_at=token.expires_at.isoformat(),
    )
    return plain, token


def token_user(session: Session, plain: str) -> tuple[User, ApiToken] | None:
    """The user a bearer token stands for, or None if unknown, expired, revoked or closed."""
    if not plain:
        return None
    token = (
        session.execute(
            select(ApiToken)
            .options(signed_in_user(ApiToken.user))
            .where(ApiToken.token_hash == _token_digest(plain))
        )
        .unique()
        .scalar_one_or_none()
    )
    now = utcnow()
    if token is None or token.revoked_at is not None or token.expires_at <= now:
        return None
    user = token.user
    if not user.is_active_account or account_expired(user, now):
        return None
    return user, token


def revoke_token(session: Session, by: Caller, token: ApiToken) -> None:
    if by.user is None or by.user.id != token.user_id:
        require(by, "user.revoke_tokens")
    if token.revoked_at is not None:
        raise Conflict("token already revoked")
    token.revoked_at = utcnow()
    record(session, by.actor, "token.revoke", "token", token.id, user_id=token.user_id)


def revoke_user_tokens(session: Session, by: Caller, user_id: int) -> int:
    require(by, "user.revoke_tokens")
    user = get_user(session, user_id)
    count = revoke_all_tokens(session, user.id, utcnow())
    record(session, by.actor, "token.revoke_all", "user", user.id, count=count)
    return count
