"""Transfers as pure rules: who approves one. Data leaves the company's control, so the
chain is the destruction's: the operations head, then a leader."""

from __future__ import annotations

from archive_service.approvals import Step
from archive_service.disposal.rules import destruction_chain


def transfer_chain(operations_department: str) -> list[Step]:
    return destruction_chain(operations_department)


DECIDING_ROLES = frozenset(s.role for s in transfer_chain("OPS"))
