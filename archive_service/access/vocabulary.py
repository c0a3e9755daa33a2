"""The access area's vocabularies: application statuses, grant statuses, access modes (and
which of them lend the paper original)."""

from __future__ import annotations

from archive_service.vocabulary import Term, Vocabulary, _t


class RequestStatus:
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"
    EXPIRED = "expired"


REQUEST_STATUSES = Vocabulary(
    "application status",
    [
        Term(RequestStatus.PENDING, _t("application status", "pending")),
        Term(RequestStatus.APPROVED, _t("application status", "approved")),
        Term(RequestStatus.REJECTED, _t("application status", "rejected")),
        Term(RequestStatus.REVOKED, _t("application status", "revoked")),
        Term(RequestStatus.EXPIRED, _t("application status", "expired")),
    ],
)


class GrantStatus:
    ACTIVE = "active"
    REVOKED = "revoked"
    EXPIRED = "expired"


GRANT_STATUSES = Vocabulary(
    "grant status",
    [
        Term(GrantStatus.ACTIVE, _t("grant status", "active")),
        Term(GrantStatus.REVOKED, _t("grant status", "revoked")),
        Term(GrantStatus.EXPIRED, _t("grant status", "expired")),
    ],
)

MODES = Vocabulary(
    "access mode",
    [
        Term("view", _t("access mode", "view only")),
        Term("download", _t("access mode", "view and download")),
        # The paper original, handed out by an archivist (借阅); on screen as page images,
        # like ``view``: never the electronic file.
        Term("paper", _t("access mode", "borrow the paper original")),
    ],
    default="view",
)
# Modes whose grant lets an archivist hand out the document's paper original (纸质借阅);
# only these applications may ask to take it out of the reading room (``take_away``).
LENDING_MODES = frozenset({"download", "paper"})
