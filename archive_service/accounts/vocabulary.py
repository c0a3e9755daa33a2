"""The accounts' vocabularies: roles, account statuses and role-grant statuses, each one
table.

Role codes are the API's identifiers (``api-contract.md``); their labels are what people
read. The external role (司法机关、监管部门) is held alone and only from an approved
account application.
"""

from __future__ import annotations

from dataclasses import dataclass

from archive_service.vocabulary import Term, Vocabulary, _t

EXTERNAL_ROLE = "regulator"


@dataclass(frozen=True)
class Role(Term):
    """A role. ``reads``: its holder sees customer content, personal details or the audit
    trail by holding it (their own department's archive, every archive, the records of
    reviews, applications and supervised sessions, the trail) rather than through an
    application someone else decides. Giving such a role needs a second admin
    (:func:`archive_service.accounts.rules.needs_second_admin`)."""

    reads: bool = False


ROLES: Vocabulary[Role] = Vocabulary(
    "role",
    [
        # Sees no content (separation of duties), but approves the grants of the others.
        Role("admin", _t("role", "administrator")),
        Role("clerk", _t("role", "clerk"), reads=True),  # their department's archive
        Role("archivist", _t("role", "archivist"), reads=True),  # every archive
        Role("department_head", _t("role", "department head"), reads=True),  # department's
        Role("operations_head", _t("role", "operations head"), reads=True),  # applications, reviews
        Role("leader", _t("role", "leader"), reads=True),  # the applications they decide
        Role("manager", _t("role", "manager"), reads=True),  # every archive, registered
        # Reads only what an application grants, decided by a department head.
        Role("requester", _t("role", "requester")),
        # Reads only pages a supervisor shows, after a leader's approval.
        Role(EXTERNAL_ROLE, _t("role", "external viewer")),
        Role("supervisor", _t("role", "supervisor"), reads=True),  # sessions, reviews
        Role("auditor", _t("role", "auditor"), reads=True),  # the trail and the register
    ],
)


class AccountStatus:
    """Account life cycle: applied → approved → active → closed (or rejected)."""

    APPLIED = "applied"
    APPROVED = "approved"
    ACTIVE = "active"
    CLOSED = "closed"
    REJECTED = "rejected"


ACCOUNT_STATUSES = Vocabulary(
    "account status",
    [
        Term(AccountStatus.APPLIED, _t("account status", "applied")),
        Term(AccountStatus.APPROVED, _t("account status", "approved")),
        Term(AccountStatus.ACTIVE, _t("account status", "active")),
        Term(AccountStatus.CLOSED, _t("account status", "closed")),
        Term(AccountStatus.REJECTED, _t("account status", "rejected")),
    ],
)


class RoleGrantStatus:
    """A role grant waiting for a second admin: pending → approved or rejected; a later
    change of the same account's roles withdraws it."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


ROLE_GRANT_STATUSES = Vocabulary(
    "role grant status",
    [
        Term(RoleGrantStatus.PENDING, _t("role grant status", "waiting for a second admin")),
        Term(RoleGrantStatus.APPROVED, _t("role grant status", "approved")),
        Term(RoleGrantStatus.REJECTED, _t("role grant status", "rejected")),
        Term(RoleGrantStatus.WITHDRAWN, _t("role grant status", "withdrawn")),
    ],
)
