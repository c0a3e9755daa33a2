"""Directory accounts' use cases: an account opened or brought up to date from the
directory when its person signs in (password or SSO), the leaver sync, and the check an
operator runs.

Separation of duties: roles that read wait for a second admin when an admin gives them
(``accounts/role_grants.py``). The roles a mapped group gives do not: the mapping
(``ARCHIVE_LDAP_GROUP_ROLES``) is set by the operator who runs the service, and who is in
a group is decided by the directory's own administrators — two parties have decided, so
the mapping counts as the second approval. Every such change is recorded with the actor
``directory`` and ``approval`` naming the mapping and the groups.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.accounts.models import Department, User, UserRole
from archive_service.accounts.users import (
    close_account,
    end_web_sessions,
    revoke_all_tokens,
    user_by_username,
)
from archive_service.accounts.vocabulary import AccountStatus
from archive_service.audit.services import record
from archive_service.db import Database, utcnow
from archive_service.directory import rules
from archive_service.directory.client import DirectoryUnavailable, LdapDirectory, Person
from archive_service.directory.settings import DirectorySettings
from archive_service.notifications.services import notify
from archive_service.notifications.vocabulary import Kind
from archive_service.policy import Caller

log = logging.getLogger(__name__)

DIRECTORY = Caller.job("directory")
APPROVAL = "directory group mapping (ARCHIVE_LDAP_GROUP_ROLES)"
# Stored as a directory account's password hash: no password ever verifies against it.
NO_LOCAL_PASSWORD = "!directory"  # noqa: S105 (not a password: no hash has this form)


class BringIn:
    """What bringing a person in gave: the account may sign in, or why not."""

    OK = "ok"
    DISABLED = "disabled"  # disabled in the directory (the account, if any, is closed now)
    NO_ROLES = "no roles"  # in no mapped group, and no account here: none is opened
    NOT_ACTIVE = "not active"  # the account here is closed (or not yet active)


def _department(session: Session, person: Person, config: DirectorySettings) -> Department | None:
    code = rules.department_code(person.department, config.departments)
    if code is None:
        return None
    return session.execute(select(Department).where(Department.code == code)).scalar_one_or_none()


def _groups_giving(person: Person, config: DirectorySettings) -> dict[str, list[str]]:
    return {g: sorted(config.group_roles[g]) for g in sorted(person.groups)}


def open_account(session: Session, person: Person, config: DirectorySettings) -> User:
    """The first sign-in of a person in a mapped group: an active account with the roles
    their groups give (the mapping is the second approval) and their department."""
    roles = sorted(rules.roles_from_groups(person.groups, config.group_roles))
    dept = _department(session, person, config)
    now = utcnow()
    user = User(
        username=person.username,
        display_name=(person.display_name or person.username)[:200],
        email=person.email[:254] if person.email else None,
        department_id=dept.id if dept else None,
        status=AccountStatus.ACTIVE,
        password_hash=NO_LOCAL_PASSWORD,
        approved_at=now,
        activated_at=now,
        directory_dn=person.dn[:500],
    )
    user.role_rows = [UserRole(role=r) for r in roles]
    session.add(user)
    session.flush()
    record(
        session,
        DIRECTORY.actor,
        "directory.account_open",
        "user",
        user.id,
        username=user.username,
        dn=person.dn,
        department=dept.code if dept else None,
        directory_department=person.department,
        roles=roles,
        approval=APPROVAL,
        groups=_groups_giving(person, config),
    )
    return user


def update_account(
    session: Session, user: User, person: Person, config: DirectorySettings
) -> dict[str, Any] | None:
    """Bring the account's mapped roles, department, names and entry up to date with the
    directory; a role taken away ends every session and token at once (the person signs in
    again with what they now hold). Returns what changed (None: nothing)."""
    before = sorted(user.roles)
    wanted = rules.roles_from_groups(person.groups, config.group_roles)
    after = rules.next_roles(before, wanted, config.managed_roles)
    dept = _department(session, person, config)
    changes: dict[str, Any] = {}
    if after != before:
        user.role_rows = [UserRole(role=r) for r in after]
        changes.update(before=before, after=after)
    if dept is not None and dept.id != user.department_id:
        changes.update(department_before=user.department_code, department=dept.code)
        user.department_id = dept.id
        user.department = dept
    if person.dn[:500] != user.directory_dn:
        changes.update(dn_before=user.directory_dn, dn=person.dn)
        user.directory_dn = person.dn[:500]
    name = (person.display_name or user.username)[:200]
    if name != user.display_name:
        changes.update(display_name=name)
        user.display_name = name
    email = person.email[:254] if person.email else None
    if email != user.email:
        changes.update(email_changed=True)  # the address itself is personal: not in the trail
        user.email = email
    if not changes:
        return None
    removed = sorted(set(before) - set(after))
    if removed:
        now = utcnow()
        changes.update(
            removed=removed,
            sessions_ended=end_web_sessions(session, user.id, now, "directory roles changed"),
            tokens_revoked=revoke_all_tokens(session, user.id, now),
        )
    session.flush()
    record(
        session,
        DIRECTORY.actor,
        "directory.account_update",
        "user",
        user.id,
        username=user.username,
        approval=APPROVAL,
        groups=_groups_giving(person, config),
        **changes,
    )
    return changes


def close_leaver(session: Session, user: User, reason: str) -> User:
    """A person disabled or removed in the directory: their account closes at once (every
    session and token ends), by the one closing use case, under the directory's name. The
    person is told first (by e-mail where they have an address: the account cannot read
    the notification centre once closed)."""
    notify(
        session,
        Kind.ACCOUNT_CLOSING,
        [user],
        link="/login",
        date=utcnow().date().isoformat(),
    )
    return close_account(session, DIRECTORY, user.id, reason)


def bring_in(
    session: Session, person: Person, config: DirectorySettings
) -> tuple[User | None, str]:
    """The directory has vouched for ``person`` (their password, or the SSO gateway and
    their entry): the account to sign in as, opened or brought up to date, and whether it
    may (:class:`BringIn`)."""
    user = user_by_username(session, person.username)
    if user is not None and user.directory_dn is None:
        # A local account of the same name is not the directory's (authentication.py asks
        # the directory only for names without a local account).
        return user, BringIn.NOT_ACTIVE
    if person.disabled:
        if user is not None and user.is_active_account:
            close_leaver(session, user, "disabled in the directory")
        return user, BringIn.DISABLED
    if user is None:
        if not rules.roles_from_groups(person.groups, config.group_roles):
            return None, BringIn.NO_ROLES
        return open_account(session, person, config), BringIn.OK
    if not user.is_active_account:
        return user, BringIn.NOT_ACTIVE
    update_account(session, user, person, config)
    return user, BringIn.OK


@dataclass
class SyncReport:
    """What one sync did (``error``: the directory could not be read; nothing changed)."""

    checked: int = 0
    closed: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "checked": self.checked,
            "closed": self.closed,
            "updated": self.updated,
            "error": self.error,
        }


def sync(db: Database, directory: LdapDirectory, max_close: int = 0) -> SyncReport:
    """The leaver sync (beat, ``archive ldap sync``): every active directory account is
    looked up; a person removed from the directory (or from its user base) or disabled
    there is closed, one moved out of a mapped group loses that role and their sessions
    and tokens end, one added to a group gains the role.

    Everything is read from the directory before anything changes: a directory that cannot
    be read, in full, changes nothing (a leaver is then closed by the next sync, or at
    their next sign-in, which asks the directory too). So does a sync that would close more
    than ``max_close`` accounts (0: no limit): a service account that suddenly sees nobody
    looks the same as everyone leaving.
    """
    config = directory.config
    with db.session() as s:
        accounts = list(
            s.execute(
                select(User.id, User.username).where(
                    User.directory_dn.is_not(None), User.status == AccountStatus.ACTIVE
                )
            ).all()
        )
    try:
        with directory.reading() as reader:
            reader.groups()  # every mapped group must be readable, whoever is looked up
            people = {uid: reader.person(name) for uid, name in accounts}
    except DirectoryUnavailable as exc:
        log.error("directory sync: directory unavailable, nothing changed: %s", exc.reason)
        return SyncReport(checked=0, error=exc.reason)
    leaving = [uid for uid, _name in accounts if rules.leaves(people[uid])]
    if rules.too_many_leavers(len(leaving), max_close):
        reason = (
            f"the directory would close {len(leaving)} accounts at once, more than "
            f"ARCHIVE_LDAP_SYNC_MAX_CLOSE ({max_close}): nothing changed; check the "
            "directory and the service account, then run `archive ldap sync --no-limit`"
        )
        log.error("directory sync: %s", reason)
        return SyncReport(checked=len(accounts), error=reason)
    report = SyncReport(checked=len(accounts))
    with db.unit_of_work() as session:
        for uid, _name in accounts:
            user = session.get(User, uid)
            if user is None or not user.is_active_account or user.directory_dn is None:
                continue
            person = people[uid]
            if person is None or person.disabled:
                why = "removed from" if person is None else "disabled in"
                why += " the directory"
                close_leaver(session, user, why)
                report.closed.append(user.username)
            elif update_account(session, user, person, config) is not None:
                report.updated.append(user.username)
        if report.closed or report.updated:
            record(session, DIRECTORY.actor, "directory.sync", **report.as_dict())
    return report


def check(directory: LdapDirectory, username: str | None = None) -> dict[str, Any]:
    """What an operator asks before relying on the directory (``archive ldap check``): can
    it be reached over a trusted TLS connection, does the service account bind, do the
    mapped groups exist — and, given a username, what would that person get."""
    out: dict[str, Any] = {"url": directory.config.url, "ok": False}
    try:
        with directory.reading() as reader:
            groups = reader.groups()
            out["groups"] = {g: len(members) for g, members in groups.items()}
            if username:
                person = reader.person(username)
                out["person"] = None if person is None else _describe(person, directory.config)
    except DirectoryUnavailable as exc:
        out["error"] = exc.reason
        return out
    out["ok"] = True
    return out


def _describe(person: Person, config: DirectorySettings) -> dict[str, Any]:
    return {
        "dn": person.dn,
        "username": person.username,
        "display_name": person.display_name,
        "disabled": person.disabled,
        "groups": sorted(person.groups),
        "roles": sorted(rules.roles_from_groups(person.groups, config.group_roles)),
        "department": rules.department_code(person.department, config.departments),
    }
