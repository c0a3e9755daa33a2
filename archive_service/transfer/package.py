"""Writing an approved transfer's package (移交包, layout: ``transfer.layout``): readable
without this service or its keys — the original files decrypted, each document's metadata
as DA/T 46/48 XML and as JSON, its history, access register and 四性检测 reports, the 移交清单
as PDF and XLSX, and a manifest with every file's SHA-256 and SM3, signed with the
archive's Ed25519 key.

Like any reading of content, the export is registered before a byte is written: every
document gets a row in its access register (action ``transfer``) and the audit trail the
export, in one transaction; then the package is written to a private temporary file and
moved into place only once complete, and its manifest's digest is recorded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import insert
from sqlalchemy.orm import Session

from archive_service.archive.models import AccessRecord
from archive_service.archive.settings import ArchiveSettings
from archive_service.audit.services import record
from archive_service.db import Database, utcnow
from archive_service.disposal.keys import ensure_known
from archive_service.disposal.signing import SigningKeySource
from archive_service.errors import Conflict
from archive_service.policy import Caller, require
from archive_service.transfer.applications import get_transfer, lock
from archive_service.transfer.gathering import Plan, document_rows, gather
from archive_service.transfer.models import Transfer
from archive_service.transfer.vocabulary import TransferStatus
from archive_service.transfer.writer import write

if TYPE_CHECKING:
    from archive_service.runtime import Runtime
    from archive_service.vault.services import Vault


@dataclass(frozen=True)
class Exporting:
    """What the export works with."""

    db: Database
    vault: Vault
    archive: ArchiveSettings
    signing: SigningKeySource

    @classmethod
    def of(cls, rt: Runtime) -> Exporting:
        return cls(rt.db, rt.vault, rt.archive, rt.signing)


@dataclass(frozen=True)
class Exported:
    transfer_id: int
    path: Path
    manifest_sha256: str
    signing_key_id: str
    documents: int
    files: int
    bytes: int


def export(ctx: Exporting, by: Caller, transfer_id: int, out: Path) -> Exported:
    """Write the package of an approved transfer to ``out`` (a ZIP file)."""
    signer = ctx.signing.current()
    with ctx.db.unit_of_work() as s:
        plan = _registered(s, ctx, by, transfer_id, signer.key_id)
        ensure_known(s, by.actor, signer)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        sha, files, size = write(ctx.vault, plan, partial, signer)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    with ctx.db.unit_of_work() as s:
        lock(s, transfer_id)
        transfer = s.get(Transfer, transfer_id)
        assert transfer is not None
        transfer.manifest_sha256, transfer.signing_key_id = sha, signer.key_id
        record(
            s,
            by.actor,
            "transfer.package_written",
            "transfer",
            transfer_id,
            manifest_sha256=sha,
            files=files,
            bytes=size,
        )
    return Exported(transfer_id, out, sha, signer.key_id, len(plan.documents), files, size)


def _registered(s: Session, ctx: Exporting, by: Caller, transfer_id: int, key_id: str) -> Plan:
    """Check the export is allowed, register every document's reading and the export,
    and gather what the package holds."""
    lock(s, transfer_id)
    transfer = get_transfer(s, by, transfer_id)
    require(by, "transfer.export", transfer)
    if transfer.status not in TransferStatus.EXPORTABLE:
        raise Conflict(f"transfer is {transfer.status}, not approved")
    docs = document_rows(s, [i.document_id for i in transfer.items])
    gone = sorted(
        i.archive_number for i in transfer.items if docs[i.document_id].status != "accepted"
    )
    if gone:
        raise Conflict("documents of the transfer are no longer in the archive", numbers=gone)
    # Registered first: the package carries its own reading (one statement for them all).
    purpose = f"transfer {transfer.id} to {transfer.receiver}"[:1000]
    s.execute(
        insert(AccessRecord),
        [
            {
                "user_id": by.user_id or 0,
                "username": by.actor.username or "operator",
                "document_id": doc.id,
                "archive_number": doc.archive_number,
                "action": "transfer",
                "purpose": purpose,
                "rule": "transfer-approved",
            }
            for doc in docs.values()
        ],
    )
    s.flush()
    now = utcnow()
    sender = ctx.archive.organisation or ctx.archive.fonds
    plan = gather(s, ctx.archive, transfer, docs, sender, key_id, now)
    first = transfer.status == TransferStatus.APPROVED
    transfer.status = TransferStatus.EXPORTED
    transfer.exports += 1
    transfer.exported_at, transfer.exported_by_id = now, by.user_id
    record(
        s,
        by.actor,
        "transfer.export",
        "transfer",
        transfer.id,
        package_id=transfer.package_id,
        documents=len(plan.documents),
        again=not first,
    )
    return plan
