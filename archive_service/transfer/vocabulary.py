"""The transfer area's vocabularies: the states of a transfer and what becomes of the
copies here once the receiver has confirmed it."""

from __future__ import annotations

from archive_service.vocabulary import Term, Vocabulary, _t


class TransferStatus:
    """pending → approved → exported → confirmed; or rejected."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPORTED = "exported"
    CONFIRMED = "confirmed"

    IN_FLIGHT = (PENDING, APPROVED, EXPORTED)  # its documents are spoken for
    EXPORTABLE = (APPROVED, EXPORTED)  # the package may be written (again)


class Disposition:
    """What becomes of this archive's copies after a confirmed transfer."""

    KEEP = "keep"
    DESTROY = "destroy"  # due at once, then destroyed through the destruction workflow


TRANSFER_STATUSES = Vocabulary(
    "transfer status",
    [
        Term(TransferStatus.PENDING, _t("transfer status", "pending")),
        Term(TransferStatus.APPROVED, _t("transfer status", "approved")),
        Term(TransferStatus.REJECTED, _t("transfer status", "rejected")),
        Term(TransferStatus.EXPORTED, _t("transfer status", "exported")),
        Term(TransferStatus.CONFIRMED, _t("transfer status", "confirmed")),
    ],
)
DISPOSITIONS = Vocabulary(
    "transfer disposition",
    [
        Term(Disposition.KEEP, _t("transfer disposition", "keep the copies here")),
        Term(Disposition.DESTROY, _t("transfer disposition", "destroy the copies here")),
    ],
    default=Disposition.KEEP,
)
