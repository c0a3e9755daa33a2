"""``archive restore``: a snapshot back onto an empty instance, then every destruction the
journal recorded re-applied, the search index rebuilt and the audit chain verified.

Order matters: nothing is written until the snapshot has been checked whole (signature,
every part, every object present) and the instance found empty; the keys are unsealed
with the passphrase before any of it, so a wrong passphrase changes nothing.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from archive_service.archive.models import Document, DocumentStatus
from archive_service.audit import services as audit
from archive_service.audit.anchor_stores import AnchorStore
from archive_service.audit.checkpoints import Entry
from archive_service.audit.setup import build_stores
from archive_service.backup import database, journal, secrets
from archive_service.backup import vocabulary as v
from archive_service.backup.manifest import BadBackup
from archive_service.backup.services import verify
from archive_service.backup.target import Target
from archive_service.config import Settings
from archive_service.disposal.execution import erase_document
from archive_service.vault.models import StoredObject
from archive_service.vault.setup import build_backend

SYSTEM = audit.Actor.system("restore")


class NotEmpty(Exception):
    """The instance already holds data: a restore goes onto an empty one only."""


@dataclass
class RestoreResult:
    stamp: str
    objects: int = 0
    keys_written: list[str] = field(default_factory=list)
    reapplied: list[int] = field(default_factory=list)  # destruction ids
    documents_erased: int = 0
    untrusted_entries: list[str] = field(default_factory=list)
    indexed: int = 0
    audit: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.audit.get("ok"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "stamp": self.stamp,
            "objects": self.objects,
            "keys_written": self.keys_written,
            "destructions_reapplied": self.reapplied,
            "documents_erased": self.documents_erased,
            "untrusted_journal_entries": self.untrusted_entries,
            "indexed": self.indexed,
            "audit_ok": self.ok,
        }


def _anchor_is_empty(store: AnchorStore) -> bool:
    return not (store.read() or [])


def emptiness_problems(settings: Settings, sealed: dict[str, str]) -> list[str]:
    """What makes this instance not empty (nothing: it may be restored onto)."""
    problems = []
    if not database.is_empty(settings.database_url):
        problems.append(
            "the database already holds tables (create an empty database, or remove "
            "the SQLite file)"
        )
    store = build_backend(settings)
    if settings.storage != "local":
        store.ensure_ready()
    if next(iter(store.list_names()), None) is not None:
        problems.append("the document store already holds objects")
    for anchor_store in build_stores(settings):
        if not _anchor_is_empty(anchor_store):
            problems.append(f"the audit anchor {anchor_store.name} already holds checkpoints")
    clash = secrets.conflicts(settings, sealed)
    if clash:
        problems.append("this instance holds other keys: " + ", ".join(clash))
    return problems


def restore(
    settings: Settings, target: Target, stamp: str | None, passphrase: str
) -> RestoreResult:
    if not passphrase:
        raise BadBackup("give the backup passphrase (ARCHIVE_BACKUP_PASSPHRASE)")
    Path(settings.temp_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.temp_dir) as tmp:
        work = Path(tmp)
        checked, m, sealed = verify(target, stamp, work, passphrase)
        if not checked.ok:
            raise BadBackup("; ".join(checked.problems))
        problems = emptiness_problems(settings, sealed)
        if problems:
            raise NotEmpty("refusing to restore onto a non-empty instance: " + "; ".join(problems))
        result = RestoreResult(m.stamp)
        database.load(settings.database_url, work / v.DATABASE, m.body["database"]["kind"])
        result.keys_written = secrets.put_back(settings, sealed)
        _copy_objects_back(settings, target, work, result)
        lines = (work / v.ANCHOR).read_text(encoding="utf-8").splitlines()
    from archive_service.migrate import upgrade

    upgrade(settings.database_url)  # a snapshot of an older version meets this code
    for store in build_stores(settings):
        store.prepare()
        for line in lines:
            store.append(Entry.parse(line).checkpoint.number, line)
    _finish(settings, target, sealed, result)
    return result


def _copy_objects_back(
    settings: Settings, target: Target, work: Path, result: RestoreResult
) -> None:
    import json
    from concurrent.futures import ThreadPoolExecutor

    from archive_service.backup.services import COPY_THREADS

    listed: dict[str, list[Any]] = json.loads((work / v.OBJECT_LIST).read_bytes())
    source, dest = target.objects(), build_backend(settings)
    dest.ensure_ready()
    present = set(source.list_names())
    # Those not there were destroyed since (verify held them against the journal).
    names = [n for n in sorted(listed) if n in present]

    def copy(name: str) -> None:
        with source.get(name) as body:
            dest.put(name, body, int(listed[name][0]))

    with ThreadPoolExecutor(COPY_THREADS) as pool:
        for _ in pool.map(copy, names):
            result.objects += 1


def _finish(
    settings: Settings, target: Target, sealed: dict[str, str], result: RestoreResult
) -> None:
    from archive_service.backup.services import signing_public_key
    from archive_service.indexing.maintenance import reindex
    from archive_service.runtime import build_runtime

    rt = build_runtime(settings)  # reads the keys just put back; sends no job
    try:
        for entry in journal.read_all(target, signing_public_key(sealed)):
            if not entry.valid:
                result.untrusted_entries.append(entry.path)
                continue
            if not entry.trusted:  # signed by another key (rotated since?): still erased
                result.untrusted_entries.append(entry.path)
            erased = _reapply(rt, entry)
            if erased is not None:
                result.reapplied.append(entry.destruction_id)
                result.documents_erased += erased
        result.indexed = reindex(rt.indexing, reason="restored")
        with rt.db.unit_of_work() as s:
            checked = audit.verify(s, rt.anchor)
            result.audit = checked.as_dict()
            audit.record(
                s,
                SYSTEM,
                v.BackupEvent.RESTORED,
                "backup",
                result.stamp,
                target=target.where,
                audit_verified=checked.ok,
                **{k: val for k, val in result.as_dict().items() if k != "audit_ok"},
            )
    finally:
        rt.close()


def _reapply(rt: Any, entry: journal.JournalEntry) -> int | None:
    """Erase what the entry says was destroyed, if the restored state still holds it;
    how many documents were erased again (None: nothing was left to erase)."""
    e = entry.entry
    completed = datetime.fromisoformat(e["completed_at"])
    did = int(e["destruction_id"])
    changed, erased = False, 0
    names: list[str] = []
    with rt.db.unit_of_work() as s:
        for item in e.get("documents", []):
            names += item.get("object_names", [])
            doc = s.get(Document, int(item["document_id"]))
            if doc is None or doc.status == DocumentStatus.DESTROYED:
                continue
            names += erase_document(s, rt.vault, doc, did, at=completed)
            changed, erased = True, erased + 1
        for obj in s.execute(
            select(StoredObject).where(
                StoredObject.object_name.in_(names), StoredObject.wrapped_key.is_not(None)
            )
        ).scalars():
            rt.vault.destroy_key(s, obj)
            changed = True
        if changed:
            audit.record(
                s,
                SYSTEM,
                v.BackupEvent.REAPPLIED,
                "destruction",
                did,
                journal=entry.path,
                completed_at=e["completed_at"],
                documents=[d["document_id"] for d in e.get("documents", [])],
                archive_numbers=[d.get("archive_number") for d in e.get("documents", [])],
                record_signature=e.get("record_signature"),
                signing_key=entry.key_id,
            )
    for name in set(names):  # keys are gone (committed): now the stored versions
        rt.vault.delete_object(name)
    return erased if changed else None
