"""Departments, users, their roles, API tokens, web sessions and sign-in throttles."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship
from sqlalchemy.sql.base import ExecutableOption

from archive_service.accounts.vocabulary import EXTERNAL_ROLE, AccountStatus
from archive_service.db import Base, UTCDateTime, utcnow


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(32), primary_key=True)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.APPLIED, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Failed sign-ins since the last successful one, and when the first of them came:
    # the owner is told at their next sign-in ("3 failed sign-ins since …").
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    failure_window_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    organisation: Mapped[str | None] = mapped_column(String(200))
    account_end_date: Mapped[date | None] = mapped_column(Date)
    requested_roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    application_note: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    approved_by_id: Mapped[int | None] = mapped_column(Integer)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_reason: Mapped[str | None] = mapped_column(String(500))
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The person's entry in the directory (LDAP / AD) when the account is the directory's:
    # its password, roles from mapped groups and department come from there
    # (archive_service/directory). None: a local account.
    directory_dn: Mapped[str | None] = mapped_column(String(500))

    department: Mapped[Department | None] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def department_code(self) -> str | None:
        return self.department.code if self.department else None

    @property
    def is_external(self) -> bool:
        """An external viewer (court, regulator): sees documents only in supervised sessions."""
        return EXTERNAL_ROLE in self.roles

    @property
    def is_active_account(self) -> bool:
        return self.status == AccountStatus.ACTIVE

    # Flask-Login protocol -------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.is_active_account

    @property
    def is_anonymous(self) -> bool:
        return False

    # No ``get_id``: the cookie carries a web session's key, never the user's id
    # (web/auth.py signs in with it; accounts/web_sessions.py resumes it).

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "department": self.department_code,
            "roles": sorted(self.roles),
            "status": self.status,
            "organisation": self.organisation,
            "account_end_date": self.account_end_date.isoformat()
            if self.account_end_date
            else None,
            "source": "directory" if self.directory_dn else "local",
        }


def signed_in_user(user: Any) -> ExecutableOption:
    """Load the user behind a token or session (``ApiToken.user``, ``WebSession.user``)
    with their department and roles in the same query: every request starts by asking who
    is calling, and the policy then asks about their roles many times (one query, not two)."""
    return joinedload(user).options(joinedload(User.department), joinedload(User.role_rows))


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")


class WebSession(Base):
    """A signed-in browser: the cookie holds a random key, only its SHA-256 is stored. The
    server ends it (sign-out, password change, account closed, an admin, a timeout), and
    every request checks it."""

    __tablename__ = "web_sessions"
    __table_args__ = (UniqueConstraint("key_hash"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(String(32))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship(lazy="joined")


class SignInThrottle(Base):
    """Failed sign-ins to one username from one source address (accounts/rules.py). Kept
    for any username, known or not, so the answer tells nobody which accounts exist."""

    __tablename__ = "sign_in_throttles"
    __table_args__ = (UniqueConstraint("username", "source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150))  # as typed, lower-cased
    source: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
