"""The accounts' vocabularies: roles and account statuses, each one table.

Role codes are the API's identifiers (``api-contract.md``); their labels are what people
read. The external role (司法机关、监管部门) is held alone and only from an approved
account application.
"""

from __future__ import annotations

from archive_service.vocabulary import Term, Vocabulary, _t

EXTERNAL_ROLE = "regulator"

ROLES = Vocabulary(
    "role",
    [
        Term("admin", _t("role", "administrator")),
        Term("clerk", _t("role", "clerk")),
        Term("archivist", _t("role", "archivist")),
        Term("department_head", _t("role", "department head")),
        Term("operations_head", _t("role", "operations head")),
        Term("leader", _t("role", "leader")),
        Term("manager", _t("role", "manager")),
        Term("requester", _t("role", "requester")),
        Term(EXTERNAL_ROLE, _t("role", "external viewer")),
        Term("supervisor", _t("role", "supervisor")),
        Term("auditor", _t("role", "auditor")),
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
