"""Who compiles, confirms and appraises reviews, and who applies for, decides and executes
destructions. Reviews and destructions are read by everyone with a part in them."""

from __future__ import annotations

from archive_service.disposal.rules import DECIDING_ROLES
from archive_service.policy.core import any_role, rule
from archive_service.policy.steps import decide_step

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
