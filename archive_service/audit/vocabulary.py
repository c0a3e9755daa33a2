"""What a verification of the audit trail can find: each code with its label (核验结果).

The English label is also the ``reason`` the API and the command line print.
"""

from __future__ import annotations

from archive_service.vocabulary import Term, Vocabulary, _t

FINDINGS = Vocabulary(
    "audit finding",
    [
        # The chain itself (hash links inside the database).
        Term("event_missing", _t("audit finding", "event missing")),
        Term("link_broken", _t("audit finding", "link to previous event broken")),
        Term("event_altered", _t("audit finding", "event content altered")),
        Term("tail_missing", _t("audit finding", "events missing at the end")),
        # The chain against the checkpoints kept outside the database.
        Term("truncated", _t("audit finding", "chain cut off before a checkpoint")),
        Term("rechained", _t("audit finding", "events rewritten and re-hashed since a checkpoint")),
        Term("checkpoint_signature", _t("audit finding", "checkpoint signature invalid")),
        Term("checkpoint_sequence", _t("audit finding", "sequence of checkpoints broken")),
        Term("timestamp_invalid", _t("audit finding", "checkpoint time-stamp invalid")),
        Term("anchor_missing", _t("audit finding", "anchor store missing")),
        Term("anchor_behind", _t("audit finding", "anchor store lacks recorded checkpoints")),
    ],
)


def reason(code: str) -> str:
    return FINDINGS[code].label.english
