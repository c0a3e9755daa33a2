"""Who decides a step of an approval chain (access, change, destruction): one rule.

A step names a role and, optionally, a department (``department_head`` of the
applicant's department, ``operations_head`` of the operations department). Whoever holds
that role in that department decides it — never the applicant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from archive_service.policy.core import Decision

if TYPE_CHECKING:
    from archive_service.accounts.models import User
    from archive_service.approvals import DecisionStep


def names(user: User, step: DecisionStep) -> bool:
    """Does ``step`` name ``user`` as its decider (role, and department if it has one)?"""
    if step.role not in user.roles:
        return False
    return step.department_id is None or step.department_id == user.department_id


def decide_step(user: User, step: DecisionStep) -> Decision:
    """Only the role (and department) the step names; never the applicant."""
    if step.applicant_id == user.id:
        return Decision(False, "no-self-approval", "nobody approves their own application")
    if names(user, step):
        return Decision(True, f"step-{step.role}")
    where = f" of department {step.department.code}" if step.department is not None else ""
    return Decision(False, f"step-{step.role}", f"this step needs the {step.role}{where}")
