"""Making a backup (``archive backup``) and checking one (``archive backup verify``).

A snapshot is written part by part into ``<target>/snapshots/<stamp>/`` — the database,
the sealed keys, the audit anchor's checkpoints, the list of objects — while the objects
not yet at the target are copied into ``<target>/objects/``; the signed manifest comes
last. Then old snapshots are pruned by the retention rule (``backup/retention.py``).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive_service.audit.anchor import Anchor
from archive_service.audit.checkpoints import BadEntry, Entry
from archive_service.audit.services import Actor, record
from archive_service.backup import database, manifest, sealing, secrets
from archive_service.backup import vocabulary as v
from archive_service.backup.manifest import BadBackup, Manifest, snapshot_dir
from archive_service.backup.retention import kept
from archive_service.backup.target import Target
from archive_service.config import Settings
from archive_service.db import Database, utcnow
from archive_service.disposal.signing import Signer
from storage.backends.base import ObjectStore
from storage.errors import ObjectNotFound

SYSTEM = Actor.system("backup")


class _Hashing:
    """A reader that hashes what passes through it."""

    def __init__(self, inner: Any) -> None:
        self._inner, self.sha = inner, hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1, /) -> bytes:
        data: bytes = self._inner.read(n)
        self.sha.update(data)
        self.size += len(data)
        return data


def _hash_object(store: ObjectStore, name: str) -> tuple[int, str]:
    with store.get(name) as body:
        reader = _Hashing(body)
        while reader.read(1 << 20):
            pass
    return reader.size, reader.sha.hexdigest()


@dataclass
class BackupResult:
    stamp: str
    where: str
    objects: int = 0
    copied: int = 0
    copied_bytes: int = 0
    vanished: list[str] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "stamp": self.stamp,
            "target": self.where,
            "objects": self.objects,
            "copied": self.copied,
            "copied_bytes": self.copied_bytes,
            "vanished": len(self.vanished),
            "pruned": self.pruned,
        }


def previous_objects(target: Target) -> dict[str, list[Any]]:
    """The object list of the newest complete snapshot (name → [size, sha256])."""
    complete, _ = manifest.snapshots(target)
    if not complete:
        return {}
    try:
        listed: dict[str, list[Any]] = json.loads(
            target.read(snapshot_dir(complete[-1]) + v.OBJECT_LIST)
        )
    except (FileNotFoundError, ValueError):
        return {}
    return listed


COPY_THREADS = 8  # objects copied at once: the stores' latency (fsync, a round trip) overlaps


def _copy_one(source: ObjectStore, dest: ObjectStore, name: str, size: int) -> list[Any] | None:
    try:
        with source.get(name) as body:
            reader = _Hashing(body)
            dest.put(name, reader, size)
    except ObjectNotFound:
        return None  # erased since the snapshot (a destruction)
    return [reader.size, reader.sha.hexdigest()]


def _copy_objects(
    source: ObjectStore, target: Target, live: dict[str, int], result: BackupResult
) -> dict[str, list[Any]]:
    dest = target.objects()
    dest.ensure_ready()
    present = set(dest.list_names())
    known = previous_objects(target)
    listed: dict[str, list[Any]] = {}
    new = sorted(set(live) - present)
    for name in sorted(set(live) & present):
        listed[name] = known.get(name) or list(_hash_object(dest, name))
    with ThreadPoolExecutor(COPY_THREADS) as pool:
        copies = pool.map(lambda n: _copy_one(source, dest, n, live[n]), new)
        for name, copied in zip(new, copies, strict=True):
            if copied is None:
                result.vanished.append(name)
                continue
            listed[name] = copied
            result.copied += 1
            result.copied_bytes += int(copied[0])
    result.objects = len(listed)
    return listed


def _anchor_lines(anchor: Anchor, last_seq: int) -> list[str]:
    """The checkpoints pinning events the database copy holds (a checkpoint written
    after the copy would pin an event the restored chain lacks)."""
    best: list[str] = []
    for store in anchor.stores:
        lines = store.read() or []
        if len(lines) > len(best):
            best = lines
    out = []
    for line in best:
        try:
            if Entry.parse(line).checkpoint.seq <= last_seq:
                out.append(line)
        except BadEntry:
            break
    return out


def new_stamp(target: Target) -> str:
    """The new snapshot's UTC stamp (to the second), one no snapshot has used yet: if an
    interrupted one holds this second, the next second."""
    for _ in range(3):
        now = utcnow()
        stamp = now.strftime(v.STAMP_FORMAT)
        if not target.list(snapshot_dir(stamp)):
            return stamp
        time.sleep(1.0 - now.microsecond / 1e6)
    raise BadBackup("another backup is being written to this target now; try again later")


def backup(
    settings: Settings,
    db: Database,
    source: ObjectStore,
    signer: Signer,
    anchor: Anchor,
    target: Target,
    passphrase: str,
) -> BackupResult:
    """One complete backup into ``target``; an interrupted one leaves no manifest."""
    if not passphrase:
        raise sealing.WrongPassphrase(
            "set ARCHIVE_BACKUP_PASSPHRASE: the keys are sealed under it in every backup"
        )
    target.ensure_ready()
    stamp = new_stamp(target)
    folder = snapshot_dir(stamp)
    result = BackupResult(stamp, target.where)
    parts: dict[str, dict[str, Any]] = {}
    Path(settings.temp_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.temp_dir) as tmp:
        dump = Path(tmp) / v.DATABASE
        info = database.dump(db.url, dump)

        def put(name: str, local: Path) -> None:
            size, digest = manifest.sha256_file(local)
            target.upload(folder + name, local)
            parts[name] = {"size": size, "sha256": digest}

        put(v.DATABASE, dump)
        dump.unlink()
        files = {
            v.KEYS: sealing.seal(secrets.gather(settings), passphrase, stamp),
            v.ANCHOR: "".join(x + "\n" for x in _anchor_lines(anchor, info.last_seq)).encode(),
        }
        listed = _copy_objects(source, target, info.objects, result)
        files[v.OBJECT_LIST] = json.dumps(listed, sort_keys=True).encode()
        for name, data in files.items():
            local = Path(tmp) / name
            local.write_bytes(data)
            put(name, local)
    body = {
        "format": v.MANIFEST_FORMAT,
        "stamp": stamp,
        "created_at": datetime.now(UTC).isoformat(),
        "database": {"kind": info.kind, "audit_last_seq": info.last_seq},
        "parts": parts,
        "objects": {"count": result.objects, "vanished": result.vanished},
        "signing_key_id": signer.key_id,
    }
    target.write(folder + v.MANIFEST, manifest.sign(body, signer))  # last: now it is complete
    result.pruned = prune(target, settings)
    with db.unit_of_work() as s:
        record(s, SYSTEM, v.BackupEvent.BACKUP, "backup", stamp, **result.as_dict())
    return result


def prune(target: Target, settings: Settings) -> list[str]:
    """Drop the snapshots the retention rule no longer keeps, interrupted ones older than
    a day, and the objects no kept snapshot lists."""
    complete, incomplete = manifest.snapshots(target)
    now = utcnow()
    stamps = {manifest.parse_stamp(s): s for s in complete}
    keep = kept(stamps, now.date(), settings.backup_keep_daily, settings.backup_keep_weekly)
    gone = [s for at, s in stamps.items() if at not in keep]
    gone += [s for s in incomplete if (now - manifest.parse_stamp(s)).days >= 1]
    for stamp in gone:
        target.delete(snapshot_dir(stamp) + v.MANIFEST)  # first: it is incomplete from now
        target.delete_tree(snapshot_dir(stamp))
    if gone:
        listed: set[str] = set()
        for stamp in sorted(set(complete) - set(gone)):
            listed |= set(json.loads(target.read(snapshot_dir(stamp) + v.OBJECT_LIST)))
        objects = target.objects()
        for name in set(objects.list_names()) - listed:
            objects.delete(name)
    return sorted(gone)


@dataclass
class VerifyResult:
    stamp: str
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    objects: int = 0
    signature: str = ""  # what the signature was checked against

    def as_dict(self) -> dict[str, Any]:
        return {
            "stamp": self.stamp,
            "ok": self.ok,
            "problems": self.problems,
            "objects": self.objects,
            "signature": self.signature,
        }


def signing_public_key(sealed: dict[str, str]) -> str | None:
    pem = sealed.get("signing_key")
    if not pem:
        return None
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        return None
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def verify(
    target: Target,
    stamp: str | None,
    work_dir: Path,
    passphrase: str = "",
    trusted_pem: str | None = None,
    deep: bool = False,
) -> tuple[VerifyResult, Manifest, dict[str, str]]:
    """Check a snapshot without restoring it: the manifest's signature, every part's size
    and SHA-256, and that every object it lists is at the target (``deep``: byte for
    byte). Raises :class:`BadBackup` on the first thing that makes it untrustworthy."""
    from archive_service.backup import journal

    m = manifest.read(target, stamp)
    result = VerifyResult(m.stamp)
    for name in v.PARTS:
        local = work_dir / name
        try:
            target.download(snapshot_dir(m.stamp) + name, local)
        except FileNotFoundError:
            raise BadBackup(f"snapshot {m.stamp}: part {name} is missing") from None
        manifest.check_part(m, name, local)
    sealed: dict[str, str] = {}
    if passphrase:
        sealed = sealing.unseal((work_dir / v.KEYS).read_bytes(), passphrase, m.stamp)
        trusted_pem = signing_public_key(sealed) or trusted_pem
        result.signature = "the signing key sealed in the backup"
    elif trusted_pem:
        result.signature = "the given public key"
    else:
        trusted_pem = m.public_key
        result.signature = "the key named in the manifest only (give the passphrase to check it)"
    if not trusted_pem or not m.signed_by(trusted_pem):
        raise BadBackup(f"snapshot {m.stamp}: the manifest's signature is not valid")
    listed: dict[str, list[Any]] = json.loads((work_dir / v.OBJECT_LIST).read_bytes())
    destroyed = journal.destroyed_objects(target)
    objects = target.objects()
    present = set(objects.list_names())
    for name in sorted(set(listed) - present - destroyed):
        result.problems.append(f"object {name} is missing from {target.where}/objects/")
    if deep:
        for name in sorted((set(listed) & present) - destroyed):
            if list(_hash_object(objects, name)) != list(listed[name]):
                result.problems.append(f"object {name} differs from the copy that was backed up")
    result.objects = len(listed)
    result.ok = not result.problems
    return result, m, sealed


def backup_now(rt: Any, to: str | None = None) -> BackupResult | None:
    """Back up the running instance to ``to`` (else ``ARCHIVE_BACKUP_TO``); None when no
    target is set. The journal entries still owed are written first."""
    from archive_service.backup import journal
    from archive_service.backup.target import open_target

    target = open_target(rt.settings, to)
    if target is None:
        return None
    journal.sweep(rt, target)
    return backup(
        rt.settings,
        rt.db,
        rt.vault.backend,
        rt.signer,
        rt.anchor,
        target,
        rt.settings.backup_passphrase,
    )
