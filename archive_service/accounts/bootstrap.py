"""The first run: the operations department and an admin account, created once by the
operator (``archive init`` / ``archive run``), like any other audited change."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.accounts.departments import create_department
from archive_service.accounts.models import Department, User, UserRole
from archive_service.accounts.settings import AccountSettings
from archive_service.accounts.users import create_user
from archive_service.accounts.vocabulary import AccountStatus
from archive_service.policy import Caller

OPERATOR = Caller.cli()


def bootstrap(
    session: Session,
    settings: AccountSettings,
    operations_department: str,
    admin_password: str = "",
) -> str | None:
    """Create what is missing; return the admin's password only when it was generated
    now (to be shown once)."""
    exists = session.execute(
        select(Department.id).where(Department.code == operations_department)
    ).first()
    if exists is None:
        create_department(session, OPERATOR, operations_department, "运营部 Operations")
    has_admin = session.execute(
        select(User.id)
        .join(UserRole)
        .where(UserRole.role == "admin", User.status == AccountStatus.ACTIVE)
    ).first()
    if has_admin:
        return None
    password = admin_password or secrets.token_urlsafe(12)
    create_user(
        session,
        OPERATOR,
        username="admin",
        password=password,
        display_name="Administrator",
        department=operations_department,
        roles=["admin"],
        settings=settings,
    )
    return None if admin_password else password
