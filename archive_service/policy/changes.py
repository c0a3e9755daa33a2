"""Who requests a change to an archived record, and who decides its steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archive_service.changes.rules import DECIDING_ROLES
from archive_service.policy.core import Decision, any_role, rule, same_department
from archive_service.policy.steps import decide_step

if TYPE_CHECKING:
    from archive_service.accounts.models import User


@rule("change.file")
def _file_change(user: User, customer: Any) -> Decision:
    if "archivist" in user.roles:
        return Decision(True, "archivist")
    if "clerk" in user.roles and same_department(user, customer.department_id):
        return Decision(True, "own-department-clerk")
    return Decision(
        False,
        "own-department-clerk",
        "changes are requested by the owning department's clerks or an archivist",
    )


rule("change.decide")(decide_step)
rule("change.inbox")(
    any_role(*DECIDING_ROLES, rule_name="change-decider", what="decide change requests")
)
