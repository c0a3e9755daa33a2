"""Who does and who sees the recurring reviews: each review is done in its department by
the holders of its kind's role (duties/vocabulary.py); the operations head, archivists
and auditors oversee them all."""

from __future__ import annotations

from typing import Any

from archive_service.accounts.models import User
from archive_service.duties.vocabulary import DUTY_KINDS
from archive_service.policy.core import Decision, any_role, rule, same_department

OVERSEERS = ("operations_head", "archivist", "auditor")
DOERS = tuple(sorted({k.role for k in DUTY_KINDS}))

rule("duty.list")(
    any_role(*OVERSEERS, *DOERS, rule_name="duty-reader", what="see the recurring reviews")
)
rule("duty.read_all")(
    any_role(*OVERSEERS, rule_name="duty-overseer", what="see every department's reviews")
)


@rule("duty.read")
def _read(user: User, task: Any) -> Decision:
    if user.has_role(*OVERSEERS):
        return Decision(True, "duty-overseer")
    if user.has_role(*DOERS) and same_department(user, task.department_id):
        return Decision(True, "own-department")
    return Decision(False, "own-department", "reviews are seen in their own department")


@rule("duty.complete")
def _complete(user: User, task: Any) -> Decision:
    kind = DUTY_KINDS.get(task.kind)
    if kind is not None and kind.role in user.roles and same_department(user, task.department_id):
        return Decision(True, "duty-holder")
    return Decision(False, "duty-holder", "a review is done by its department's holder of its role")
