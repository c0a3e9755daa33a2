"""Who keeps the paper originals and counts them: archivists record, move and label them,
hand them out to a grant's holder and take them back, and run stocktakes; the operations
head signs a stocktake off (not the one who counted); auditors and the operations head
read places, loans and stocktakes (a borrower reads their own loans)."""

from __future__ import annotations

from typing import Any

from archive_service.accounts.models import User
from archive_service.policy.core import Decision, any_role, rule

KEEPERS = ("archivist",)
READERS = ("archivist", "operations_head", "auditor")

rule("paper.manage")(any_role(*KEEPERS, rule_name="archivist-only", what="keep paper originals"))
rule("paper.read")(any_role(*READERS, rule_name="paper-reader", what="read paper records"))
rule("paper.lend")(
    any_role(*KEEPERS, rule_name="archivist-only", what="hand out and take back paper originals")
)
rule("paper.loans")(any_role(*READERS, rule_name="paper-reader", what="read every loan"))
rule("stocktake.run")(any_role(*KEEPERS, rule_name="archivist-only", what="count paper originals"))
rule("stocktake.read")(any_role(*READERS, rule_name="paper-reader", what="read stocktakes"))


@rule("stocktake.sign")
def sign_stocktake(user: User, take: Any) -> Decision:
    if not user.has_role("operations_head"):
        return Decision(False, "operations-head-only", "only the operations head signs off")
    if take is not None and user.id in (take.started_by_id, take.finished_by_id):
        return Decision(False, "not-own-count", "the one who counted does not sign it off")
    return Decision(True, "operations-head-only")
