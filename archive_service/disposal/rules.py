"""Destruction as pure rules: who approves an application, and whether a document is still
due when its turn comes."""

from __future__ import annotations

from datetime import date

from archive_service.approvals import Step
from archive_service.disposal.vocabulary import ItemResult


def destruction_chain(operations_department: str) -> list[Step]:
    """The operations head (first approval), then a leader (second)."""
    return [Step("operations_head", operations_department), Step("leader")]


DECIDING_ROLES = frozenset(s.role for s in destruction_chain("OPS"))


def still_due(
    destroyed: bool, on_hold: bool, disposal_date: date | None, today: date
) -> str | None:
    """Re-checked for each item when a destruction runs: None if it may be destroyed now,
    else why it is skipped (``skipped_hold``, ``skipped_not_due``); a destroyed document
    needs nothing more."""
    if destroyed:
        return None
    if on_hold:
        return ItemResult.SKIPPED_HOLD
    if disposal_date is None or disposal_date > today:
        return ItemResult.SKIPPED_NOT_DUE
    return None
