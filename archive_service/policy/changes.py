"""Who requests a change to an archived record, and who decides its steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archive_service.changes.rules import DECIDING_ROLES
from archive_service.policy.archive import personal_details
from archive_service.policy.core import Decision, any_role, rule, same_department
from archive_service.policy.steps import decide_step, names

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


def _customer_of(req: Any) -> Any:
    from sqlalchemy.orm import object_session

    from archive_service.archive.models import Customer, Document

    session = object_session(req)
    if session is None:
        return None
    if req.target_type == "customer":
        return session.get(Customer, req.target_id)
    doc = session.get(Document, req.target_id)
    return doc.customer if doc is not None else None


@rule("change.details")
def _change_details(user: User, req: Any) -> Decision:
    """The personal values of a change request (old and new phone, credit code, …) and its
    evidence: for those who may see the target customer's personal details
    (``customer.personal``), and for whoever a step of the request names — they decide on
    exactly these values and this evidence."""
    if any(names(user, step) for step in req.steps):
        return Decision(True, "change-decider")
    customer = _customer_of(req)
    if customer is None:
        return Decision(False, "personal-details", "the change's target is gone")
    return personal_details(user, customer)


rule("change.decide")(decide_step)
rule("change.inbox")(
    any_role(*DECIDING_ROLES, rule_name="change-decider", what="decide change requests")
)
