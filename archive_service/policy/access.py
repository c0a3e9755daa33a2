"""Who applies for access, who decides applications, who oversees grants and the register,
and who takes part in supervised viewing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archive_service.access.rules import DECIDING_ROLES
from archive_service.accounts.vocabulary import EXTERNAL_ROLE
from archive_service.policy.archive import sees_customer
from archive_service.policy.core import Decision, any_role, rule
from archive_service.policy.steps import decide_step, names

if TYPE_CHECKING:
    from archive_service.accounts.models import User

OVERSEERS = ("archivist", "auditor", "operations_head")  # see every application and session


@rule("access.apply")
def _apply(user: User, _target: Any) -> Decision:
    if user.roles - {"admin", "auditor"}:
        return Decision(True, "staff")
    return Decision(False, "staff", "admins and auditors do not read customer documents")


@rule("access.view_request")
def _view_request(user: User, req: Any) -> Decision:
    if req.requester_id == user.id:
        return Decision(True, "own-application")
    if user.has_role(*OVERSEERS, "leader"):
        return Decision(True, "access-overseer")
    if any(names(user, s) for s in req.steps):
        return Decision(True, "approver")
    return Decision(False, "access-overseer", "not your application")


@rule("access.request_customer")
def _request_customer(user: User, req: Any) -> Decision:
    """Whose archive an application concerns. Its approvers and overseers see the customer;
    the applicant only once they may see it (a grant shows it), so an application by an
    archive number or a name teaches nothing about whose documents they are."""
    if req.requester_id == user.id:
        return sees_customer(user, req.customer)
    return _view_request(user, req)


rule("access.decide")(decide_step)
rule("access.inbox")(
    any_role(*DECIDING_ROLES, rule_name="approver", what="decide access applications")
)
rule("grant.revoke")(
    any_role("operations_head", "admin", rule_name="grant-revoker", what="revoke grants")
)
rule("grant.list")(
    any_role(
        "operations_head",
        "admin",
        "archivist",
        "auditor",
        rule_name="access-overseer",
        what="list grants",
    )
)
rule("register.read")(
    any_role("archivist", "auditor", rule_name="register-reader", what="read the register")
)


# --- supervised viewing ----------------------------------------------------------------


@rule("viewing.open")
def _open_viewing(user: User, grant: Any) -> Decision:
    """Only the supervisor the approving leader named on the grant opens a session."""
    if "supervisor" in user.roles and grant.supervisor_id == user.id:
        return Decision(True, "named-supervisor")
    return Decision(
        False, "named-supervisor", "only the supervisor named on the grant opens a session"
    )


@rule("viewing.close")
def _close_viewing(user: User, vs: Any) -> Decision:
    if vs.supervisor_id == user.id or "operations_head" in user.roles:
        return Decision(True, "session-supervisor")
    return Decision(False, "session-supervisor", "only the session's supervisor ends it")


@rule("viewing.see")
def _see_viewing(user: User, vs: Any) -> Decision:
    if user.id in (vs.supervisor_id, vs.regulator_id):
        return Decision(True, "session-party")
    if user.has_role(*OVERSEERS):
        return Decision(True, "access-overseer")
    return Decision(False, "session-party", "not your session")


rule("viewing.oversee")(
    any_role(*OVERSEERS, rule_name="access-overseer", what="see every supervised session")
)


@rule("viewing.view")
def _view_in_session(user: User, vs: Any) -> Decision:
    if EXTERNAL_ROLE in user.roles and vs.regulator_id == user.id:
        return Decision(True, "supervised-session")
    return Decision(False, "supervised-session", "only the session's external viewer pages")


rule("viewing.list")(
    any_role(
        EXTERNAL_ROLE,
        "supervisor",
        *OVERSEERS,
        rule_name="session-party",
        what="see supervised sessions",
    )
)
rule("viewing.attend")(
    any_role(EXTERNAL_ROLE, "supervisor", rule_name="session-party", what="take part in sessions")
)
