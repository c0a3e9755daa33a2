"""Who compiles, confirms and appraises reviews, and who applies for, decides and executes
destructions. Reviews and destructions are read by everyone with a part in them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archive_service.disposal.rules import DECIDING_ROLES
from archive_service.policy.core import Decision, any_role, rule
from archive_service.policy.steps import decide_step

if TYPE_CHECKING:
    from archive_service.accounts.models import User

READERS = ("archivist", "operations_head", "auditor", "supervisor", *DECIDING_ROLES)

rule("review.compile")(
    any_role("archivist", "operations_head", rule_name="review-compiler", what="compile a review")
)
rule("review.read")(any_role(*READERS, rule_name="disposal-reader", what="read reviews"))
rule("review.confirm")(
    any_role("operations_head", rule_name="operations-head-only", what="confirm a review list")
)
rule("review.appraise")(
    any_role("archivist", rule_name="archivist-only", what="appraise review items")
)
rule("destruction.apply")(
    any_role("archivist", rule_name="archivist-only", what="apply for a destruction")
)
rule("destruction.read")(any_role(*READERS, rule_name="disposal-reader", what="read destructions"))
rule("destruction.execute")(
    any_role("archivist", rule_name="executor-archivist", what="execute a destruction")
)
rule("destruction.decide")(decide_step)
# The signing keys' history is public information (it checks records anyone may hold), but
# the list is for the people who work with destruction records, and admins.
rule("signing_key.list")(
    any_role(*READERS, "admin", rule_name="signing-key-reader", what="list the signing keys")
)


# A new signing key is made at the server's console only (the operator).
@rule("signing_key.rotate")
def rotate_signing_key(_user: User, _target: Any) -> Decision:
    return Decision(False, "operator-only", "only the operator rotates the signing key (CLI)")
