"""Departments: created by an admin (or the operator), named by code everywhere else."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.accounts.models import Department
from archive_service.audit.services import record
from archive_service.errors import Conflict, InvalidInput
from archive_service.policy import Caller, require

DEPARTMENT_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,31}$")


def create_department(session: Session, by: Caller, code: str, name: str) -> Department:
    require(by, "department.create")
    code = (code or "").strip().upper()
    name = (name or "").strip()
    if not DEPARTMENT_CODE_RE.match(code):
        raise InvalidInput("code: 1–32 letters, digits, '-' or '_'", field="code")
    if not name:
        raise InvalidInput("name is required", field="name")
    if session.execute(select(Department).where(Department.code == code)).scalar_one_or_none():
        raise Conflict(f"department {code} exists")
    dept = Department(code=code, name=name)
    session.add(dept)
    session.flush()
    record(session, by.actor, "department.create", "department", dept.id, code=code, name=name)
    return dept


def department_by_code(session: Session, code: str | None, field: str = "department") -> Department:
    dept = None
    if code:
        dept = session.execute(
            select(Department).where(Department.code == code.strip().upper())
        ).scalar_one_or_none()
    if dept is None:
        raise InvalidInput(f"unknown department {code!r}", field=field)
    return dept


def list_departments(session: Session) -> list[Department]:
    return list(session.execute(select(Department).order_by(Department.code)).scalars())
