"""Who may manage accounts and departments, who approves a role grant, and who reads the
audit trail."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archive_service.accounts.vocabulary import EXTERNAL_ROLE
from archive_service.policy.core import Decision, any_role, rule
from archive_service.policy.steps import decide_step

if TYPE_CHECKING:
    from archive_service.accounts.models import User

for _action, _what in {
    "user.create": "create accounts",
    "user.list": "list accounts",
    "user.activate": "activate accounts",
    "user.set_roles": "change roles",
    "user.close": "close accounts",
    "user.revoke_tokens": "revoke another user's tokens",
    "user.end_sessions": "end another user's sessions",
    "user.unlock": "lift another user's sign-in delays",
    "role_grant.list": "see role grants",
    "department.create": "create departments",
}.items():
    rule(_action)(any_role("admin", rule_name="admin-only", what=_what))

for _action, _what in {
    "audit.read": "read the audit trail",
    "audit.verify": "verify the audit trail",
}.items():
    rule(_action)(any_role("auditor", rule_name="auditor-only", what=_what))


@rule("user.approve")
def _approve_account(user: User, applicant: User) -> Decision:
    """An application is approved by an admin or the head of the applicant's department."""
    name = "account-approver"
    if applicant is not None and applicant.id == user.id:
        return Decision(False, "no-self-approval", "nobody approves their own application")
    if "admin" in user.roles:
        return Decision(True, name)
    if applicant is not None and EXTERNAL_ROLE in (applicant.requested_roles or []):
        return Decision(False, name, "only an admin decides an external account application")
    if (
        "department_head" in user.roles
        and applicant is not None
        and applicant.department_id is not None
        and applicant.department_id == user.department_id
    ):
        return Decision(True, name)
    return Decision(
        False, name, "only an admin or the head of the applicant's department may decide"
    )


@rule("user.view_applications")
def _view_applications(user: User, _target: Any) -> Decision:
    if user.has_role("admin", "department_head"):
        return Decision(True, "account-approver")
    return Decision(False, "account-approver", "only admins and department heads")


@rule("user.view_all_applications")
def _view_all_applications(user: User, _target: Any) -> Decision:
    """Admins see every application; a department head only their department's."""
    if "admin" in user.roles:
        return Decision(True, "admin-only")
    return Decision(False, "admin-only", "only admins see every department's applications")


@rule("user.assign_roles")
def _assign_roles(user: User, target: User) -> Decision:
    """Admins give roles, but nobody to themselves (not even by activating their own
    application)."""
    if target is not None and target.id == user.id:
        return Decision(False, "no-self-assignment", "nobody gives roles to themselves")
    if "admin" in user.roles:
        return Decision(True, "admin-only")
    return Decision(False, "admin-only", "only admin may change roles")


@rule("role_grant.decide")
def _decide_role_grant(user: User, step: Any) -> Decision:
    """A second admin: the step names the admin role; neither the admin who asked nor the
    account that receives the roles decides."""
    if step.target_id == user.id:
        return Decision(False, "no-self-assignment", "nobody approves roles for themselves")
    return decide_step(user, step)
