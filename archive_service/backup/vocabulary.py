"""The backup area's words: the parts of a snapshot, its audit events, its refusals."""

from __future__ import annotations

MANIFEST_FORMAT = 1
JOURNAL_FORMAT = 1

# The parts of a snapshot (<target>/snapshots/<stamp>/…); the manifest is written last.
DATABASE = "database.dump"
KEYS = "keys.sealed"
ANCHOR = "anchor.jsonl"
OBJECT_LIST = "objects.json"
MANIFEST = "manifest.json"
PARTS = (DATABASE, KEYS, ANCHOR, OBJECT_LIST)

STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


class BackupEvent:
    """Audit events the backup area writes."""

    BACKUP = "backup.create"
    PRUNE = "backup.prune"
    JOURNAL = "backup.journal"
    JOURNAL_FAILED = "backup.journal_failed"
    RESTORED = "backup.restored"
    REAPPLIED = "backup.destruction_reapplied"


JOURNAL_DIR = "journal/"
