"""Accounts over the API: users and departments (admin)."""

from __future__ import annotations

from typing import Any

from apiflask import Schema
from apiflask.fields import Email, Integer, List, String
from apiflask.validators import Length, OneOf

from archive_service.accounts import departments, users
from archive_service.accounts.vocabulary import ROLES
from archive_service.api.common import SECURITY, blueprint
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
    status = String()


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


@bp.post("/users")
@bp.doc(security=SECURITY)
@bp.input(UserIn, arg_name="body")
@bp.output(UserOut, status_code=201)
@signed_in
def create_user(body: dict[str, Any]) -> Any:
    """Create an active account (admin)."""
    with uow() as s:
        user = users.create_user(s, caller(), settings=runtime().accounts, **body)
    return user.summary()


@bp.get("/users")
@bp.doc(security=SECURITY)
@signed_in
def list_users() -> Any:
    """Every account (admin)."""
    with uow() as s:
        rows = users.list_users(s, caller())
        return {"items": [u.summary() for u in rows], "total": len(rows)}


@bp.put("/users/<int:user_id>/roles")
@bp.doc(security=SECURITY)
@bp.input(RolesIn, arg_name="body")
@bp.output(UserOut)
@signed_in
def set_roles(user_id: int, body: dict[str, Any]) -> Any:
    """Replace an account's roles (admin)."""
    with uow() as s:
        return users.set_roles(s, caller(), user_id, body["roles"]).summary()


@bp.post("/users/<int:user_id>/close")
@bp.doc(security=SECURITY)
@bp.input(ReasonIn, arg_name="body")
@bp.output(UserOut)
@signed_in
def close_user(user_id: int, body: dict[str, Any]) -> Any:
    """Close an account: its sessions and tokens end at once (admin)."""
    with uow() as s:
        return users.close_account(s, caller(), user_id, body["reason"]).summary()


@bp.post("/departments")
@bp.doc(security=SECURITY)
@bp.input(DepartmentIn, arg_name="body")
@bp.output(DepartmentOut, status_code=201)
@signed_in
def create_department(body: dict[str, Any]) -> Any:
    """Create a department (admin)."""
    with uow() as s:
        return departments.create_department(s, caller(), body["code"], body["name"])


@bp.get("/departments")
@bp.doc(security=SECURITY)
@signed_in
def list_departments() -> Any:
    """All departments."""
    with uow() as s:
        depts = departments.list_departments(s)
        return {
            "items": [{"id": d.id, "code": d.code, "name": d.name} for d in depts],
            "total": len(depts),
        }
