"""The fixity vocabulary: what a check can find, what became of it, how a repair went,
and the audit events the sweep writes. Each stated once, with its label."""

from __future__ import annotations

from archive_service.vocabulary import Term, Vocabulary, _t


class Kind:
    MISMATCH = "mismatch"  # decrypts to other bytes than recorded, or fails authentication
    MISSING = "missing"  # the row has no object in the store
    UNDECRYPTABLE = "undecryptable"  # the data key does not unwrap (master key gone, bad value)


FAILURE_KINDS = Vocabulary(
    "fixity failure",
    [
        Term(Kind.MISMATCH, _t("fixity failure", "content does not match its recorded digest")),
        Term(Kind.MISSING, _t("fixity failure", "object missing from the store")),
        Term(Kind.UNDECRYPTABLE, _t("fixity failure", "data key cannot be unwrapped")),
    ],
)
# What a copy of the same encrypted object can mend: its key is in the row, not the copy.
REPAIRABLE = frozenset({Kind.MISMATCH, Kind.MISSING})


class Status:
    OPEN = "open"
    RESOLVED = "resolved"  # a later check of the same object passed
    REPAIRED = "repaired"  # replaced from a good copy, which was verified first


FAILURE_STATUSES = Vocabulary(
    "fixity status",
    [
        Term(Status.OPEN, _t("fixity status", "open")),
        Term(Status.RESOLVED, _t("fixity status", "resolved by a later check")),
        Term(Status.REPAIRED, _t("fixity status", "repaired from the backup")),
    ],
)


class Repair:
    NO_SOURCE = "no_source"  # no backup target to take a copy from
    NO_COPY = "no_copy"  # the backup holds no copy of this object
    COPY_BAD = "copy_bad"  # the backup's copy fails the same check
    NOT_REPAIRABLE = "not_repairable"  # a copy cannot help (the key is the problem)


REPAIR_OUTCOMES = Vocabulary(
    "fixity repair",
    [
        Term(Repair.NO_SOURCE, _t("fixity repair", "no backup target configured")),
        Term(Repair.NO_COPY, _t("fixity repair", "the backup holds no copy")),
        Term(Repair.COPY_BAD, _t("fixity repair", "the backup's copy is damaged too")),
        Term(Repair.NOT_REPAIRABLE, _t("fixity repair", "a copy cannot mend this")),
    ],
)


OBJECT_ROLES = Vocabulary(
    "fixity object",
    [
        Term("version", _t("fixity object", "version of a document")),
        Term("rendition", _t("fixity object", "preview of a document")),
        Term("text", _t("fixity object", "extracted text of a document")),
        Term("other", _t("fixity object", "other file (evidence, legal basis)")),
    ],
)


class Found:
    SWEEP = "sweep"  # the scheduled sweep
    MANUAL = "manual"  # archive storage fixity
    ORPHANS = "orphans"  # the orphan job: a row without its object


FOUND_BY = (Found.SWEEP, Found.MANUAL, Found.ORPHANS)


class Event:
    """Audit events (the object's id is the target; no document data in the details)."""

    FAILED = "fixity.failed"
    RESOLVED = "fixity.resolved"
    REPAIRED = "fixity.repaired"
    UNREPAIRED = "fixity.unrepaired"  # a repair was not possible (why: REPAIR_OUTCOMES)
    ROUND = "fixity.round"  # a whole round over the archive finished
    RUN = "fixity.run"  # a run by hand (all or a sample) finished
    ORPHANS = "storage.orphans"  # one per orphan-job run, with counts


ACTOR = "fixity"  # the system actor of the scheduled sweep and the orphan job
