"""Who approves an access application: decided here by rule, never by the applicant.

- staff of the customer's own department: their department head;
- staff of another department: their own department head, then the operations head;
- external bodies (regulators, courts): a leader.
"""

from __future__ import annotations

from archive_service.approvals import Step


def approval_chain(
    requester_department: str | None,
    customer_department: str,
    operations_department: str,
    external: bool,
) -> list[Step]:
    if external:
        return [Step("leader")]
    if requester_department == customer_department:
        return [Step("department_head", requester_department)]
    return [
        Step("department_head", requester_department),
        Step("operations_head", operations_department),
    ]


# Every role a step of some application may name (they see the approvals inbox).
DECIDING_ROLES = frozenset(
    s.role
    for external, own in ((True, False), (False, True), (False, False))
    for s in approval_chain("A", "A" if own else "B", "OPS", external)
)
