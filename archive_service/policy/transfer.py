"""Who applies for, decides, exports, confirms and receives transfers (移交). Transfers are
read by everyone with a part in them, as destructions are."""

from __future__ import annotations

from archive_service.policy.core import any_role, rule
from archive_service.policy.disposal import READERS
from archive_service.policy.steps import decide_step
from archive_service.transfer.rules import DECIDING_ROLES

rule("transfer.apply")(
    any_role("archivist", rule_name="archivist-only", what="apply for a transfer")
)
rule("transfer.read")(
    any_role(*READERS, *DECIDING_ROLES, rule_name="disposal-reader", what="read transfers")
)
rule("transfer.decide")(decide_step)
rule("transfer.export")(
    any_role("archivist", rule_name="archivist-only", what="export a transfer package")
)
rule("transfer.confirm")(
    any_role("archivist", rule_name="archivist-only", what="confirm a transfer's receipt")
)
rule("transfer.receive")(
    any_role("archivist", rule_name="archivist-only", what="receive a transfer package")
)
