"""Change requests as pure rules: which changes are important, and who decides them.

The archivist checks every request first (pass it on, or return it with a reason); the
operations head approves; an important change — a core customer's tier, a
reclassification, a retention class that keeps the document less long, an end of the
customer relationship moved earlier — also needs a leader.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from archive_service.approvals import Step


def is_important(
    target_type: str,
    current_tier: str | None,
    changes: dict[str, Any],
    shortens: Callable[[str, str], bool],
) -> bool:
    """``changes`` is ``{field: {"before", "after"}}``; ``shortens(before, after)`` says
    whether a retention class change keeps the document less long."""
    if target_type == "customer" and "tier" in changes and current_tier == "core":
        return True
    if "category" in changes:
        return True
    if "retention_class" in changes:
        return shortens(changes["retention_class"]["before"], changes["retention_class"]["after"])
    # An earlier end starts the clocks that wait for it sooner.
    ended = changes.get("relationship_ended_on")
    return bool(ended and ended["before"] and ended["after"] and ended["after"] < ended["before"])


def change_chain(important: bool, operations_department: str) -> list[Step]:
    chain = [Step("archivist"), Step("operations_head", operations_department)]
    if important:
        chain.append(Step("leader"))
    return chain


# The archivist's check may return a request to the clerk; later steps approve or reject.
RETURNING_ROLES = frozenset({"archivist"})
DECIDING_ROLES = frozenset(s.role for imp in (False, True) for s in change_chain(imp, "OPS"))
