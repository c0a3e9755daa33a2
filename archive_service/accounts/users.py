"""Account use cases: open an account, apply for one, approve, activate, change roles,
close (which ends every session and token at once), change one's password.

Roles that read content or the audit trail, given by an admin, wait for a second admin
(:mod:`archive_service.accounts.role_grants`); nobody gives roles to themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from archive_service.accounts import role_grants, rules
from archive_service.accounts.departments import department_by_code
from archive_service.accounts.models import ApiToken, User, UserRole, WebSession
from archive_service.accounts.settings import DEFAULT, AccountSettings
from archive_service.accounts.vocabulary import EXTERNAL_ROLE, ROLES, AccountStatus
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.errors import Conflict, InvalidInput, NotFound
from archive_service.policy import Caller, may, require

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$")


def _check_roles(roles: Iterable[str]) -> list[str]:
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise InvalidInput(f"unknown roles: {', '.join(unknown)}", field="roles")
    return roles


def _check_new_user(
    session: Session, username: str, password: str, display_name: str, settings: AccountSettings
) -> None:
    if not USERNAME_RE.match(username or ""):
        raise InvalidInput(
            "username: 2–64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            field="username",
        )
    if not (display_name or "").strip():
        raise InvalidInput("display_name is required", field="display_name")
    problems = rules.password_problems(password or "", username, settings.password_min_length)
    if problems:
        raise InvalidInput("password " + "; ".join(problems), field="password")


def _taken(session: Session, username: str) -> bool:
    return (
        session.execute(
            select(User.id).where(func.lower(User.username) == username.lower())
        ).first()
        is not None
    )


def _external_roles(roles: list[str], had_regulator: bool, opened_from_application: bool) -> None:
    """An external viewer (regulator) holds that role alone, and only from an application.

    The regulator role is granted when an admin activates an approved account
    application that asked for it (with organisation and end date), never added
    to a staff account, and never combined with staff roles.
    """
    if EXTERNAL_ROLE not in roles:
        return
    if len(roles) > 1:
        raise InvalidInput("an external account holds the regulator role alone", field="roles")
    if not (had_regulator or opened_from_application):
        raise InvalidInput(
            "external accounts are opened from an approved account application", field="roles"
        )


def _check_external_details(organisation: str | None, end: date | None) -> str:
    org = (organisation or "").strip()
    if not org:
        raise InvalidInput("external applicants name their organisation", field="organisation")
    if end is None:
        raise InvalidInput("external accounts have an end date", field="account_end_date")
    today = utcnow().date()
    if end < today or end > today + timedelta(days=366):
        raise InvalidInput(
            "the end date lies between today and one year from now", field="account_end_date"
        )
    return org[:200]


def _set_roles(user: User, roles: list[str]) -> None:
    user.role_rows = [UserRole(role=r) for r in roles]


def _give_roles(session: Session, by: Caller, user: User, wanted: list[str]) -> list[str]:
    """Make ``wanted`` the account's roles: removals, and roles that read nothing, at once;
    the others in a grant for a second admin (returned: the roles it holds back). The
    operator at the console gives every role at once. A grant still waiting is withdrawn:
    this decision replaces it."""
    role_grants.withdraw_open(session, by, user)
    before = set(user.roles)
    added = set(wanted) - before
    later: list[str] = []
    if by.operator:
        at_once = sorted(added)
    else:
        if added:
            require(by, "user.assign_roles", user)
        at_once, later = rules.split_grant(added)
    _set_roles(user, sorted((before & set(wanted)) | set(at_once)))
    session.flush()
    if later:
        role_grants.request(session, by, user, later)
    return later


def pending_roles(session: Session, user: User) -> list[str]:
    """Roles held back for the account until a second admin approves."""
    grant = role_grants.open_grant_for(session, user.id)
    return list(grant.roles) if grant is not None else []


def create_user(
    session: Session,
    by: Caller,
    *,
    username: str,
    password: str,
    display_name: str,
    department: str | None,
    roles: Iterable[str],
    email: str | None = None,
    settings: AccountSettings = DEFAULT,
) -> User:
    """An admin (or the operator) opens an active account directly."""
    require(by, "user.create")
    _check_new_user(session, username, password, display_name, settings)
    if _taken(session, username):
        raise Conflict(f"username {username} is taken")
    dept = department_by_code(session, department) if department else None
    role_list = _check_roles(roles)
    # The operator at the console may open an external account (set-up, tests); admins
    # open them only by activating an approved application.
    _external_roles(role_list, had_regulator=False, opened_from_application=by.operator)
    now = utcnow()
    user = User(
        username=username,
        display_name=display_name.strip(),
        email=email,
        department_id=dept.id if dept else None,
        status=AccountStatus.ACTIVE,
        password_hash=settings.passwords.hash(password),
        approved_at=now,
        approved_by_id=by.user.id if by.user else None,
        activated_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    later = _give_roles(session, by, user, role_list)
    record(
        session,
        by.actor,
        "user.create",
        "user",
        user.id,
        username=username,
        department=department,
        roles=sorted(user.roles),
        pending_roles=later,
    )
    return user


def apply_for_account(
    session: Session,
    by: Caller,
    *,
    username: str,
    password: str,
    display_name: str,
    department: str | None,
    requested_roles: Iterable[str],
    email: str | None = None,
    note: str | None = None,
    settings: AccountSettings = DEFAULT,
    organisation: str | None = None,
    account_end_date: date | None = None,
) -> User | None:
    """Anyone may apply; the account stays closed to login until approved and activated.

    External viewers (judicial or regulatory bodies) apply for the regulator role
    alone, name their organisation and an end date, and belong to no department:
    only an admin approves them.

    A username already taken is not confirmed to the (anonymous) applicant: the
    application is received like any other, and recorded in the audit trail as refused
    (``user.apply_refused``) with nothing created; None is returned. The password is
    hashed either way, so the answer takes as long.
    """
    _check_new_user(session, username, password, display_name, settings)
    roles_wanted = _check_roles(requested_roles)
    if "admin" in roles_wanted:
        raise InvalidInput("the admin role is not applied for", field="roles")
    external = EXTERNAL_ROLE in roles_wanted
    _external_roles(roles_wanted, had_regulator=False, opened_from_application=True)
    org = _check_external_details(organisation, account_end_date) if external else None
    dept = None if external else department_by_code(session, department)
    password_hash = settings.passwords.hash(password)
    if _taken(session, username):
        record(
            session,
            by.actor,
            "user.apply_refused",
            reason="username taken",
            username=username,
            department=dept.code if dept else None,
            organisation=org,
            requested_roles=roles_wanted,
        )
        return None
    user = User(
        username=username,
        display_name=display_name.strip(),
        email=email,
        organisation=org,
        account_end_date=account_end_date if external else None,
        department_id=dept.id if dept else None,
        status=AccountStatus.APPLIED,
        password_hash=password_hash,
        requested_roles=roles_wanted,
        application_note=(note or "").strip()[:1000] or None,
        password_changed_at=utcnow(),
    )
    session.add(user)
    session.flush()
    record(
        session,
        by.actor,
        "user.apply",
        "user",
        user.id,
        username=username,
        department=dept.code if dept else None,
        organisation=org,
        requested_roles=roles_wanted,
    )
    return user


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("no such user")
    return user


def user_by_username(session: Session, username: str) -> User | None:
    return session.execute(
        select(User).where(func.lower(User.username) == (username or "").lower())
    ).scalar_one_or_none()


def active_holders(session: Session, role: str) -> list[User]:
    """Active accounts holding ``role`` (e.g. the supervisors an approver may name)."""
    return list(
        session.execute(
            select(User)
            .join(UserRole)
            .where(UserRole.role == role, User.status == AccountStatus.ACTIVE)
            .order_by(User.username)
        ).scalars()
    )


def list_users(session: Session, by: Caller, status: str | None = None) -> list[User]:
    require(by, "user.list")
    q = select(User).order_by(User.username)
    if status:
        q = q.where(User.status == status)
    return list(session.execute(q).scalars())


def pending_applications(session: Session, by: Caller) -> list[User]:
    """Applications the caller may decide: all for admins, their department's for heads."""
    require(by, "user.view_applications")
    q = select(User).where(User.status.in_([AccountStatus.APPLIED, AccountStatus.APPROVED]))
    assert by.user is not None or by.operator
    if by.user is not None and not may(by, "user.view_all_applications"):
        q = q.where(User.department_id == by.user.department_id)
    return list(session.execute(q.order_by(User.created_at)).scalars())


def approve_application(session: Session, by: Caller, user_id: int) -> User:
    user = get_user(session, user_id)
    require(by, "user.approve", user)
    if user.status != AccountStatus.APPLIED:
        raise Conflict(f"account is {user.status}, not applied")
    user.status = AccountStatus.APPROVED
    user.approved_at = utcnow()
    user.approved_by_id = by.user.id if by.user else None
    record(session, by.actor, "user.approve", "user", user.id, username=user.username)
    return user


def reject_application(session: Session, by: Caller, user_id: int, reason: str) -> User:
    user = get_user(session, user_id)
    require(by, "user.approve", user)
    if user.status not in (AccountStatus.APPLIED, AccountStatus.APPROVED):
        raise Conflict(f"account is {user.status}; only applications can be rejected")
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", field="reason")
    user.status = AccountStatus.REJECTED
    user.closed_reason = reason.strip()
    record(session, by.actor, "user.reject", "user", user.id, username=user.username, reason=reason)
    return user


def activate(session: Session, by: Caller, user_id: int, roles: Iterable[str]) -> User:
    """An admin grants roles to an approved application and opens the account (roles that
    read wait for a second admin; nobody activates their own application)."""
    require(by, "user.activate")
    user = get_user(session, user_id)
    require(by, "user.assign_roles", user)
    if user.status != AccountStatus.APPROVED:
        raise Conflict(f"account is {user.status}; it must be approved first")
    role_list = _check_roles(roles)
    _external_roles(
        role_list,
        had_regulator=False,
        opened_from_application=EXTERNAL_ROLE in (user.requested_roles or []),
    )
    if EXTERNAL_ROLE in (user.requested_roles or []) and role_list != [EXTERNAL_ROLE]:
        raise InvalidInput("an external applicant receives the regulator role only", field="roles")
    user.status = AccountStatus.ACTIVE
    user.activated_at = utcnow()
    later = _give_roles(session, by, user, role_list)
    record(
        session,
        by.actor,
        "user.activate",
        "user",
        user.id,
        username=user.username,
        roles=sorted(user.roles),
        pending_roles=later,
    )
    return user


def set_roles(session: Session, by: Caller, user_id: int, roles: Iterable[str]) -> User:
    """Replace the account's roles: removals at once, additions as :func:`_give_roles`."""
    require(by, "user.set_roles")
    user = get_user(session, user_id)
    if user.status == AccountStatus.CLOSED:
        raise Conflict("account is closed")
    before = sorted(user.roles)
    role_list = _check_roles(roles)
    had = EXTERNAL_ROLE in before
    _external_roles(role_list, had_regulator=had, opened_from_application=by.operator)
    if had and role_list and role_list != [EXTERNAL_ROLE]:
        raise InvalidInput("an external account holds the regulator role alone", field="roles")
    if (
        by.user is not None
        and by.user.id == user.id
        and "admin" in before
        and "admin" not in role_list
    ):
        raise Conflict("an admin cannot remove their own admin role")
    later = _give_roles(session, by, user, role_list)
    record(
        session,
        by.actor,
        "user.set_roles",
        "user",
        user.id,
        username=user.username,
        before=before,
        after=sorted(user.roles),
        pending=later,
    )
    return user


def close_account(session: Session, by: Caller, user_id: int, reason: str) -> User:
    """Close at once: every web session ends, every token is revoked, a role grant still
    waiting is withdrawn."""
    require(by, "user.close")
    user = get_user(session, user_id)
    if user.status == AccountStatus.CLOSED:
        raise Conflict("account is already closed")
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", field="reason")
    if by.user is not None and by.user.id == user.id:
        raise Conflict("an admin cannot close their own account")
    now = utcnow()
    user.status = AccountStatus.CLOSED
    user.closed_at = now
    user.closed_reason = reason.strip()
    ended = end_web_sessions(session, user.id, now, "account closed")
    revoked = revoke_all_tokens(session, user.id, now)
    role_grants.withdraw_open(session, by, user)
    record(
        session,
        by.actor,
        "user.close",
        "user",
        user.id,
        username=user.username,
        reason=reason.strip(),
        sessions_ended=ended,
        tokens_revoked=revoked,
    )
    return user


def account_expired(user: User, now: datetime) -> bool:
    """An external account past its end date no longer signs in."""
    return user.account_end_date is not None and now.date() > user.account_end_date


def revoke_all_tokens(session: Session, user_id: int, now: datetime) -> int:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def end_web_sessions(
    session: Session, user_id: int, now: datetime, reason: str, keep: int | None = None
) -> int:
    """End every open web session of the account (but ``keep``, the caller's own)."""
    query = update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(WebSession.id != keep)
    result = session.execute(query.values(ended_at=now, end_reason=reason))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def change_password(
    session: Session,
    by: Caller,
    old_password: str,
    new_password: str,
    settings: AccountSettings = DEFAULT,
    keep_session: int | None = None,
) -> User:
    """The signed-in user changes their password; every other web session (all but
    ``keep_session``, the one they changed it in) and every token ends."""
    user = by.user
    if user is None:
        raise InvalidInput("sign in first")
    if user.directory_dn is not None:
        raise Conflict("a directory account's password is changed in the directory")
    if not settings.passwords.verify(user.password_hash, old_password or ""):
        raise InvalidInput("the current password is wrong", field="old_password")
    problems = rules.password_problems(
        new_password or "", user.username, settings.password_min_length
    )
    if problems:
        raise InvalidInput("password " + "; ".join(problems), field="new_password")
    if settings.passwords.verify(user.password_hash, new_password):
        raise InvalidInput("the new password must differ from the old one", field="new_password")
    now = utcnow()
    user.password_hash = settings.passwords.hash(new_password)
    user.password_changed_at = now
    ended = end_web_sessions(session, user.id, now, "password changed", keep=keep_session)
    revoked = revoke_all_tokens(session, user.id, now)
    record(
        session,
        by.actor,
        "user.password_change",
        "user",
        user.id,
        sessions_ended=ended,
        tokens_revoked=revoked,
    )
    return user
