"""Accounts over the API: users, their sessions, role grants and departments (admin)."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Email, Integer, List, Nested, String
from apiflask.validators import Length, OneOf

from archive_service.accounts import departments, role_grants, users, web_sessions
from archive_service.accounts.models import User
from archive_service.accounts.role_models import RoleGrant
from archive_service.accounts.vocabulary import ROLES
from archive_service.api.common import SECURITY, Out, StepOut, blueprint, errors, listing
from archive_service.approvals import steps_dict
from archive_service.http import caller, runtime, signed_in, uow

bp = blueprint("accounts", "Accounts")


class UserIn(Schema):
    username = String(required=True, validate=Length(min=2, max=64))
    password = String(required=True, validate=Length(min=1, max=1024))
    display_name = String(required=True, validate=Length(min=1, max=200))
    department = String(load_default=None, validate=Length(max=32))
    roles = List(String(validate=OneOf(ROLES.codes)), load_default=list)
    email = Email(load_default=None)


class UserOut(Schema):
    id = Integer()
    username = String()
    display_name = String()
    department = String(allow_none=True)
    roles = List(String())
    # Roles held back until a second admin approves them (role grants).
    pending_roles = List(String())
    status = String()


class SessionsEnded(Schema):
    sessions_ended = Integer()
    tokens_revoked = Integer()


class RoleGrantOut(Schema):
    id = Integer()
    user_id = Integer()
    user = String()
    roles = List(String())
    status = String()
    requested_by = String()
    created_at = String()
    closed_at = String(allow_none=True)
    approval_steps = List(Nested(StepOut))


class RoleGrantItem(RoleGrantOut):
    """A grant in a list (its own name: apispec registers a nested schema by itself)."""


class RoleGrantsOut(Schema):
    items = List(Nested(RoleGrantItem))
    total = Integer()


class AccountOut(Out):
    """An account as its summary shows it."""

    id = Integer()
    username = String()
    display_name = String()
    department = String(allow_none=True)
    roles = List(String())
    status = String()
    organisation = String(allow_none=True)
    account_end_date = String(allow_none=True)
    source = String()  # local, or directory (LDAP / AD: its password and mapped roles)


UsersOut = listing("UsersOut", AccountOut)


class GrantDecisionIn(Schema):
    decision = String(required=True, validate=OneOf(["approve", "reject"]))
    comment = String(load_default=None, validate=Length(max=1000))


def _user_out(session: Any, user: User) -> dict[str, Any]:
    return {**user.summary(), "pending_roles": users.pending_roles(session, user)}


def _grant_out(grant: RoleGrant) -> dict[str, Any]:
    return {
        "id": grant.id,
        "user_id": grant.user_id,
        "user": grant.user.username,
        "roles": grant.roles,
        "status": grant.status,
        "requested_by": grant.requested_by.username,
        "created_at": grant.created_at.isoformat(),
        "closed_at": grant.closed_at.isoformat() if grant.closed_at else None,
        "approval_steps": steps_dict(grant.steps),
    }


class RolesIn(Schema):
    roles = List(String(validate=OneOf(ROLES.codes)), required=True)


class ReasonIn(Schema):
    reason = String(required=True, validate=Length(min=1, max=500))


class DepartmentIn(Schema):
    code = String(required=True, validate=Length(min=1, max=32))
    name = String(required=True, validate=Length(min=1, max=200))


class DepartmentOut(Schema):
    id = Integer()
    code = String()
    name = String()


class DepartmentItem(Out):
    id = Integer()
    code = String()
    name = String()


DepartmentsOut = listing("DepartmentsOut", DepartmentItem)


@bp.post("/users")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(UserIn, arg_name="body")
@bp.output(UserOut, status_code=201)
@signed_in
def create_user(body: dict[str, Any]) -> Any:
    """Create an active account (admin); roles that read wait for a second admin."""
    with uow() as s:
        user = users.create_user(s, caller(), settings=runtime().accounts, **body)
        return _user_out(s, user)


@bp.get("/users")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(UsersOut)
@signed_in
def list_users() -> Any:
    """Every account (admin)."""
    with uow() as s:
        rows = users.list_users(s, caller())
        return {"items": [u.summary() for u in rows], "total": len(rows)}


@bp.put("/users/<int:user_id>/roles")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(RolesIn, arg_name="body")
@bp.output(UserOut)
@signed_in
def set_roles(user_id: int, body: dict[str, Any]) -> Any:
    """Replace an account's roles (admin): removals at once; roles that read content or the
    audit trail (and admin) wait for a second admin's approval (``pending_roles``)."""
    with uow() as s:
        return _user_out(s, users.set_roles(s, caller(), user_id, body["roles"]))


@bp.post("/users/<int:user_id>/close")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(ReasonIn, arg_name="body")
@bp.output(UserOut)
@signed_in
def close_user(user_id: int, body: dict[str, Any]) -> Any:
    """Close an account: its sessions and tokens end at once (admin)."""
    with uow() as s:
        return users.close_account(s, caller(), user_id, body["reason"]).summary()


@bp.post("/users/<int:user_id>/end-sessions")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(SessionsEnded)
@signed_in
def end_sessions(user_id: int) -> Any:
    """End every web session and API token of an account at once (admin)."""
    with uow() as s:
        ended, revoked = web_sessions.end_all_sessions(s, caller(), user_id)
    return {"sessions_ended": ended, "tokens_revoked": revoked}


@bp.get("/role-grants/<int:grant_id>")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(RoleGrantOut)
@signed_in
def get_role_grant(grant_id: int) -> Any:
    """One role grant and its decision (admin)."""
    with uow() as s:
        return _grant_out(role_grants.get_grant(s, caller(), grant_id))


@bp.post("/role-grants/<int:grant_id>/decision")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(GrantDecisionIn, arg_name="body")
@bp.output(RoleGrantOut)
@signed_in
def decide_role_grant(grant_id: int, body: dict[str, Any]) -> Any:
    """A second admin approves or rejects (with a reason); not the admin who asked, not
    the account that receives the roles."""
    with uow() as s:
        grant = role_grants.decide(s, caller(), grant_id, body["decision"], body["comment"])
        return _grant_out(grant)


@bp.get("/role-grants")
@bp.doc(security=SECURITY, responses=errors(403))
@bp.output(RoleGrantsOut)
@signed_in
def list_role_grants() -> Any:
    """Role grants waiting for a second admin (admin)."""
    with uow() as s:
        rows = role_grants.pending_grants(s, caller())
        return {"items": [_grant_out(g) for g in rows], "total": len(rows)}


@bp.post("/departments")
@bp.doc(security=SECURITY, responses=errors(400, 403, 409, 422))
@bp.input(DepartmentIn, arg_name="body")
@bp.output(DepartmentOut, status_code=201)
@signed_in
def create_department(body: dict[str, Any]) -> Any:
    """Create a department (admin)."""
    with uow() as s:
        return departments.create_department(s, caller(), body["code"], body["name"])


@bp.get("/departments")
@bp.doc(security=SECURITY, responses=errors())
@bp.output(DepartmentsOut)
@signed_in
def list_departments() -> Any:
    """All departments."""
    with uow() as s:
        depts = departments.list_departments(s)
        return {
            "items": [{"id": d.id, "code": d.code, "name": d.name} for d in depts],
            "total": len(depts),
        }
