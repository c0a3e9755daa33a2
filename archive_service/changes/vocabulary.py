"""The change area's vocabulary: the states of a change request."""

from __future__ import annotations

from archive_service.vocabulary import Term, Vocabulary, _t


class ChangeStatus:
    PENDING = "pending"  # waiting for a step
    RETURNED = "returned"  # the archivist sent it back: refile
    REJECTED = "rejected"
    APPLIED = "applied"


CHANGE_STATUSES = Vocabulary(
    "change status",
    [
        Term(ChangeStatus.PENDING, _t("change status", "pending")),
        Term(ChangeStatus.RETURNED, _t("change status", "returned")),
        Term(ChangeStatus.REJECTED, _t("change status", "rejected")),
        Term(ChangeStatus.APPLIED, _t("change status", "applied")),
    ],
)
