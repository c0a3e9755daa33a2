"""The destruction journal: each completed destruction, appended to the backup target as
it happens, so that a restore from an older snapshot destroys again what was destroyed
since (the snapshot's database still holds those documents' wrapped keys).

One file per destruction, ``<target>/journal/<completed stamp>-d<id>.json``::

    {"entry": {"format": 1, "destruction_id": 7, "completed_at": "2026-…+00:00",
               "documents": [{"document_id": 12, "archive_number": "…",
                              "object_names": ["<hex>", …]}, …],
               "record": {…the signed destruction record…}, "record_signature": "…"},
     "signature": "<base64 Ed25519 over the canonical JSON of entry>",
     "key_id": "…", "public_key": "<PEM>"}

signed with the destruction-record key. Written after the destruction commits (a job,
then the sweep until it succeeds); a failed write never undoes the destruction, and shows
on the destruction (``journal_error``) until it is written.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.models import Document
from archive_service.audit.services import Actor, record
from archive_service.backup import manifest
from archive_service.backup import vocabulary as v
from archive_service.backup.retention import horizon
from archive_service.backup.target import Target
from archive_service.config import Settings
from archive_service.db import Database, utcnow
from archive_service.disposal.execution import objects_of
from archive_service.disposal.models import Destruction
from archive_service.disposal.records import record_body
from archive_service.disposal.signing import Signer, verify
from archive_service.disposal.vocabulary import DestructionStatus, ItemResult

log = logging.getLogger(__name__)
SYSTEM = Actor.system("backup-journal")


def entry_path(dest_id: int, completed: datetime) -> str:
    return f"journal/{completed.strftime(v.STAMP_FORMAT)}-d{dest_id}.json"


def _entry(session: Session, dest: Destruction) -> dict[str, Any]:
    documents = []
    for item in dest.items:
        if item.result != ItemResult.DESTROYED:
            continue
        doc = session.get(Document, item.document_id)
        names = sorted(o.object_name for o in objects_of(session, doc)) if doc else []
        documents.append(
            {
                "document_id": item.document_id,
                "archive_number": item.archive_number,
                "object_names": names,
            }
        )
    assert dest.completed_at is not None
    return {
        "format": v.JOURNAL_FORMAT,
        "destruction_id": dest.id,
        "completed_at": dest.completed_at.isoformat(),
        "documents": documents,
        "record": record_body(dest),
        "record_signature": dest.signature,
    }


def journal_destruction(
    db: Database, signer: Signer, target: Target | None, settings: Settings, destruction_id: int
) -> bool:
    """Append the completed destruction to the journal (once); record the horizon. On
    failure the error is kept on the destruction and the sweep tries again."""
    if target is None:
        return False
    with db.unit_of_work() as s:
        dest = s.get(Destruction, destruction_id)
        if dest is None or dest.status != DestructionStatus.COMPLETED or dest.journaled_at:
            return False
        entry = _entry(s, dest)
        completed = dest.completed_at
    assert completed is not None
    signed = {
        "entry": entry,
        "signature": signer.sign(entry),
        "key_id": signer.key_id,
        "public_key": signer.public_pem,
    }
    try:
        target.ensure_ready()
        target.write(
            entry_path(destruction_id, completed),
            (json.dumps(signed, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode(),
        )
        complete, _ = manifest.snapshots(target)
    except Exception as exc:  # noqa: BLE001 - any failure of the target: kept, retried
        log.error("destruction %s: journal not written: %s", destruction_id, exc)
        with db.unit_of_work() as s:
            dest = s.get(Destruction, destruction_id)
            assert dest is not None
            dest.journal_error = f"{type(exc).__name__}: {exc}"[:1000]
        return False
    until = horizon(
        [manifest.parse_stamp(x) for x in complete],
        completed,
        settings.backup_keep_daily,
        settings.backup_keep_weekly,
    )
    with db.unit_of_work() as s:
        dest = s.get(Destruction, destruction_id)
        assert dest is not None
        dest.journaled_at, dest.journal_error, dest.backup_horizon = utcnow(), None, until
        record(
            s,
            SYSTEM,
            v.BackupEvent.JOURNAL,
            "destruction",
            destruction_id,
            target=target.where,
            documents=len(entry["documents"]),
            backup_horizon=until.isoformat(),
        )
    return True


def unjournaled(session: Session) -> list[int]:
    """Completed destructions the journal has not received yet."""
    return list(
        session.execute(
            select(Destruction.id).where(
                Destruction.status == DestructionStatus.COMPLETED,
                Destruction.journaled_at.is_(None),
            )
        ).scalars()
    )


@dataclass(frozen=True)
class JournalEntry:
    path: str
    entry: dict[str, Any]
    key_id: str
    valid: bool  # the signature verifies under the key the entry names
    trusted: bool  # ... and that key is the backup's own signing key

    @property
    def destruction_id(self) -> int:
        return int(self.entry["destruction_id"])


def read_all(target: Target, trusted_pem: str | None = None) -> list[JournalEntry]:
    out = []
    for path in target.list(v.JOURNAL_DIR):
        try:
            doc = json.loads(target.read(path))
            entry, signature, pem = doc["entry"], doc["signature"], doc["public_key"]
        except (ValueError, KeyError, TypeError):
            log.error("journal entry %s is unreadable", path)
            continue
        valid = verify(pem, entry, signature)
        trusted = valid and (trusted_pem is None or pem.strip() == trusted_pem.strip())
        out.append(JournalEntry(path, entry, str(doc.get("key_id", "")), valid, trusted))
    return out


def destroyed_objects(target: Target) -> set[str]:
    """Every object name a validly signed journal entry says was destroyed."""
    names: set[str] = set()
    for e in read_all(target):
        if e.valid:
            for doc in e.entry.get("documents", []):
                names.update(doc.get("object_names", []))
    return names


def sweep(rt: Any, target: Target | None = None) -> list[int]:
    """Write every journal entry still owed (the beat, and before each backup); the ids
    written."""
    from archive_service.backup.target import open_target

    target = target or open_target(rt.settings)
    if target is None:
        return []
    with rt.db.unit_of_work() as s:
        owed = unjournaled(s)
    return [did for did in owed if journal_destruction(rt.db, rt.signer, target, rt.settings, did)]
