"""API authentication: exchange a password for a bearer token; revoke it; who am I."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import DateTime, Integer, String
from apiflask.validators import Length
from flask import g, request

from archive_service.accounts import authentication, tokens
from archive_service.api.accounts import AccountOut
from archive_service.api.common import SECURITY, blueprint, errors
from archive_service.errors import DomainError, NotAuthenticated
from archive_service.http import caller, public, request_session, runtime, signed_in, uow
from archive_service.policy import Caller

bp = blueprint("auth", "Authentication")


class TokenIn(Schema):
    username = String(required=True, validate=Length(min=1, max=150))
    password = String(required=True, validate=Length(min=1, max=1024))


class TokenOut(Schema):
    token = String()
    expires_at = DateTime()
    # Failed sign-ins to the account since its last sign-in, told to the owner once.
    failed_sign_ins = Integer()
    failed_since = DateTime(allow_none=True)


class MeOut(AccountOut):
    """The caller's own account: as its summary shows it."""


class AccountNotActive(DomainError):
    status = 401
    code = "account_not_active"


class DirectoryDown(DomainError):
    """The account is the directory's (LDAP / AD), which cannot be asked now."""

    status = 503
    code = "directory_unavailable"


@bp.post("/auth/token")
@bp.doc(responses=errors(400, 401, 422, 503))
@bp.input(TokenIn, arg_name="body")
@bp.output(TokenOut, status_code=201)
@public
def create_token(body: dict[str, Any]) -> Any:
    """Exchange username and password for a bearer token (expires; revocable)."""
    rt = runtime()
    session = request_session()
    result = authentication.authenticate(
        session, body["username"], body["password"], request.remote_addr, "api", rt.accounts
    )
    # The failed attempt and its audit event are kept, whatever the outcome.
    session.commit()
    if result.outcome == authentication.LoginOutcome.DIRECTORY_UNAVAILABLE:
        raise DirectoryDown("the directory is unavailable; try again later")
    if result.outcome == authentication.LoginOutcome.NOT_ACTIVE:
        raise AccountNotActive(f"account is {result.status}", status=result.status)
    if not result.ok:
        # Unknown name, wrong password, or this address waiting after failures: one answer.
        raise NotAuthenticated("wrong username or password")
    assert result.user is not None
    with uow() as s:
        plain, token = tokens.issue_token(
            s, Caller.of(result.user, request.remote_addr), rt.accounts
        )
    notice = result.notice
    return {
        "token": plain,
        "expires_at": token.expires_at,
        "failed_sign_ins": notice.count if notice else 0,
        "failed_since": notice.since if notice else None,
    }


@bp.delete("/auth/token")
@bp.doc(security=SECURITY, responses=errors())
@bp.output({}, status_code=204)
@signed_in
def revoke_token() -> Any:
    """Revoke the token this request was made with."""
    with uow() as s:
        tokens.revoke_token(s, caller(), s.merge(g.api_token))
    return ""


@bp.get("/me")
@bp.doc(security=SECURITY, responses=errors())
@bp.output(MeOut)
@signed_in
def me() -> Any:
    """The account behind the token."""
    return g.api_user.summary()
