"""The disposal area's vocabularies: the states of reviews, destructions and their items."""

from __future__ import annotations

from archive_service.vocabulary import Term, Vocabulary, _t


class ReviewStatus:
    """compiled → confirmed (operations head) → closed (destruction applied, or all kept)."""

    COMPILED = "compiled"
    CONFIRMED = "confirmed"
    CLOSED = "closed"


class Appraisal:
    DESTROY = "destroy"
    RETAIN = "retain"


class DestructionStatus:
    """pending → approved → executing → completed; or rejected; failed (resumable)."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXECUTING = "executing"
    COMPLETED = "completed"
    FAILED = "failed"

    IN_FLIGHT = (PENDING, APPROVED, EXECUTING, FAILED)  # its documents are spoken for
    STARTABLE = (APPROVED, FAILED)  # an executor may start (or resume) it


class ItemResult:
    """How one document of a destruction ended (``keys_destroyed``: half way)."""

    PENDING = "pending"
    KEYS_DESTROYED = "keys_destroyed"
    DESTROYED = "destroyed"
    SKIPPED_HOLD = "skipped_hold"
    SKIPPED_NOT_DUE = "skipped_not_due"

    UNFINISHED = (PENDING, KEYS_DESTROYED)


# A destruction record without a keep date is kept permanently (the default: 销毁清册 are
# kept permanently); ARCHIVE_DESTRUCTION_RECORD_YEARS sets a keep date instead.
PERMANENT = _t("record retention", "permanent")

REVIEW_STATUSES = Vocabulary(
    "review status",
    [
        Term(ReviewStatus.COMPILED, _t("review status", "compiled")),
        Term(ReviewStatus.CONFIRMED, _t("review status", "confirmed")),
        Term(ReviewStatus.CLOSED, _t("review status", "closed")),
    ],
)
APPRAISALS = Vocabulary(
    "appraisal",
    [
        Term(Appraisal.DESTROY, _t("appraisal", "destroy")),
        Term(Appraisal.RETAIN, _t("appraisal", "retain")),
    ],
)
DESTRUCTION_STATUSES = Vocabulary(
    "destruction status",
    [
        Term(DestructionStatus.PENDING, _t("destruction status", "pending")),
        Term(DestructionStatus.APPROVED, _t("destruction status", "approved")),
        Term(DestructionStatus.REJECTED, _t("destruction status", "rejected")),
        Term(DestructionStatus.EXECUTING, _t("destruction status", "executing")),
        Term(DestructionStatus.COMPLETED, _t("destruction status", "completed")),
        Term(DestructionStatus.FAILED, _t("destruction status", "failed")),
    ],
)
ITEM_RESULTS = Vocabulary(
    "destruction item",
    [
        Term(ItemResult.PENDING, _t("destruction item", "pending")),
        Term(ItemResult.KEYS_DESTROYED, _t("destruction item", "keys destroyed")),
        Term(ItemResult.DESTROYED, _t("destruction item", "destroyed")),
        Term(ItemResult.SKIPPED_HOLD, _t("destruction item", "skipped: on hold")),
        Term(ItemResult.SKIPPED_NOT_DUE, _t("destruction item", "skipped: not due")),
    ],
)
