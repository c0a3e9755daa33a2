"""Who approves an access application: decided here by rule, never by the applicant.

- staff of the customer's own department: their department head;
- staff of another department: their own department head, then the operations head;
- external bodies (regulators, courts): a leader.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepSpec:
    role: str
    department_id: int | None  # the department whose head decides; None: anyone with the role


def approval_chain(
    requester_department_id: int | None,
    customer_department_id: int,
    operations_department_id: int | None,
    external: bool,
) -> list[StepSpec]:
    if external:
        return [StepSpec("leader", None)]
    if requester_department_id == customer_department_id:
        return [StepSpec("department_head", requester_department_id)]
    return [
        StepSpec("department_head", requester_department_id),
        StepSpec("operations_head", operations_department_id),
    ]
