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

import hashlib
import json
import os
import queue
import threading
import zipfile
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service import tables
from archive_service.accounts.vocabulary import ROLES
from archive_service.approvals import STEP_STATUSES
from archive_service.archive.hold_cases import cases_holding
from archive_service.archive.models import (
    AccessRecord,
    ArchiveNumber,
    Document,
    HoldCase,
    RetentionChange,
)
from archive_service.archive.serializers import customer_dict, retention_dict
from archive_service.archive.settings import ArchiveSettings
from archive_service.audit.models import AuditEvent
from archive_service.audit.services import event_dict, record
from archive_service.checks.models import CheckReport
from archive_service.checks.vocabulary import CHECK_GROUPS, CHECK_ITEMS
from archive_service.db import Database, utcnow
from archive_service.disposal.destruction_list import period
from archive_service.disposal.keys import ensure_known
from archive_service.disposal.signing import SigningKeySource
from archive_service.errors import Conflict
from archive_service.policy import Caller, require
from archive_service.transfer import layout
from archive_service.transfer.applications import get_transfer, lock
from archive_service.transfer.metadata import metadata_xml
from archive_service.transfer.models import Transfer
from archive_service.transfer.vocabulary import DISPOSITIONS, TransferStatus
from archive_service.vault.models import StoredObject
from archive_service.vocabulary import _t, both_languages

if TYPE_CHECKING:
    from archive_service.runtime import Runtime
    from archive_service.vault.services import Vault

CHUNK = 1024 * 1024
LIST_COLUMNS = (
    _t("transfer list", "No."),
    _t("transfer list", "Archive number"),
    _t("transfer list", "Title"),
    _t("transfer list", "Formed on"),
    _t("transfer list", "Retention period"),
    _t("transfer list", "Files"),
    _t("transfer list", "Size (bytes)"),
    _t("transfer list", "Remarks"),
)
LIST_TITLE = _t("transfer list", "Transfer list")
APPLICANT = _t("transfer list", "Applicant")
APPROVAL = _t("transfer list", "Approval")
RECEIVER = _t("transfer list", "Receiver")
PURPOSE = _t("transfer list", "Purpose")
DISPOSITION = _t("transfer list", "Copies here")
PACKAGE = _t("transfer list", "Package")
ON_HOLD = _t("transfer list", "on hold")


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


@dataclass
class _Content:
    """One original file to copy: where it goes and the object it is read from."""

    path: str
    object_name: str
    wrapped_key: str
    size: int
    sha256: str


@dataclass
class _Plan:
    transfer: dict[str, Any]
    documents: list[dict[str, Any]]  # each: dir, metadata, history, register, checks
    contents: list[_Content]
    list_table: tuple[str, list[str], list[list[Any]], list[str]]


def export(ctx: Exporting, by: Caller, transfer_id: int, out: Path) -> Exported:
    """Write the package of an approved transfer to ``out`` (a ZIP file)."""
    signer = ctx.signing.current()
    with ctx.db.unit_of_work() as s:
        plan = _registered(s, ctx, by, transfer_id, signer.key_id)
        ensure_known(s, by.actor, signer)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    try:
        sha, files, size = _write(ctx.vault, plan, partial, signer)
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


def _registered(s: Session, ctx: Exporting, by: Caller, transfer_id: int, key_id: str) -> _Plan:
    """Check the export is allowed, register every document's reading and the export,
    and gather what the package holds."""
    lock(s, transfer_id)
    transfer = get_transfer(s, by, transfer_id)
    require(by, "transfer.export", transfer)
    if transfer.status not in TransferStatus.EXPORTABLE:
        raise Conflict(f"transfer is {transfer.status}, not approved")
    ids = [i.document_id for i in transfer.items]
    docs = {d.id: d for d in s.scalars(select(Document).where(Document.id.in_(ids)))}
    gone = sorted(
        i.archive_number for i in transfer.items if docs[i.document_id].status != "accepted"
    )
    if gone:
        raise Conflict("documents of the transfer are no longer in the archive", numbers=gone)
    for doc in docs.values():  # registered first: the package carries its own reading
        s.add(
            AccessRecord(
                user_id=by.user_id or 0,
                username=by.actor.username or "operator",
                document_id=doc.id,
                archive_number=doc.archive_number,
                action="transfer",
                purpose=f"transfer {transfer.id} to {transfer.receiver}"[:1000],
                rule="transfer-approved",
            )
        )
    s.flush()
    events = _events(s, ids)
    registers = _registers(s, ids)
    reports = _reports(s, ids)
    numbers = _grouped(s, ArchiveNumber, ArchiveNumber.assigned_at, ids)
    changes = _grouped(s, RetentionChange, RetentionChange.id, ids)
    now = utcnow()
    sender = ctx.archive.organisation or ctx.archive.fonds
    head = _transfer_dict(transfer, sender, key_id, now)
    taken: set[str] = set()
    documents: list[dict[str, Any]] = []
    contents: list[_Content] = []
    rows: list[list[Any]] = []
    for n, item in enumerate(transfer.items, start=1):
        doc = docs[item.document_id]
        folder = layout.document_dir(doc.archive_number or f"document-{doc.id}", taken)
        versions: list[dict[str, Any]] = []
        for v in doc.versions:
            obj = s.get(StoredObject, v.stored_object_id)
            assert obj is not None and obj.wrapped_key is not None
            path = f"{folder}/{layout.file_name(v.number, v.filename)}"
            contents.append(_Content(path, obj.object_name, obj.wrapped_key, v.size, v.sha256))
            versions.append(
                {
                    "number": v.number,
                    "filename": v.filename,
                    "content_type": v.content_type,
                    "size": v.size,
                    "sha256": v.sha256,
                    "created_at": v.created_at.isoformat(),
                    "path": path,
                }
            )
        holds = cases_holding(s, doc) if doc.on_hold else []
        meta = _document_dict(
            ctx.archive,
            doc,
            versions,
            head,
            numbers.get(doc.id, []),
            changes.get(doc.id, []),
            holds,
        )
        history = events.get(doc.id, [])
        documents.append(
            {
                "dir": folder,
                "metadata": meta,
                "history": history,
                "register": registers.get(doc.id, []),
                "checks": reports.get(doc.id, []),
            }
        )
        rows.append(
            [
                n,
                doc.archive_number,
                doc.title,
                doc.document_date.isoformat() if doc.document_date else "—",
                period(ctx.archive.retention, doc.retention_class),
                len(versions),
                sum(v["size"] for v in versions),
                tables.both(ON_HOLD) if doc.on_hold else "",
            ]
        )
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
        documents=len(documents),
        again=not first,
    )
    title = f"{tables.both(LIST_TITLE)} #{transfer.id} · {tables.utc(now)}"
    footer = _footer(transfer, sender, key_id)
    return _Plan(
        head, documents, contents, (title, [tables.both(c) for c in LIST_COLUMNS], rows, footer)
    )


def _transfer_dict(t: Transfer, sender: str, key_id: str, now: datetime) -> dict[str, Any]:
    return {
        "id": t.id,
        "package_id": t.package_id,
        "created_at": now.isoformat(),
        "sender": sender,
        "receiver": t.receiver,
        "purpose": t.purpose,
        "disposition": t.disposition,
        "applied_at": t.created_at.isoformat(),
        "applicant": t.applicant.username if t.applicant else None,
        "approvals": [
            {
                "role": st.role,
                "status": st.status,
                "decided_by": st.decided_by.username if st.decided_by else None,
                "decided_at": st.decided_at.isoformat() if st.decided_at else None,
                "comment": st.comment,
            }
            for st in t.steps
        ],
        "selection": t.selection,
        "signing_key_id": key_id,
    }


def _document_dict(
    settings: ArchiveSettings,
    doc: Document,
    versions: list[dict[str, Any]],
    head: dict[str, Any],
    numbers: list[ArchiveNumber],
    changes: list[RetentionChange],
    holds: list[HoldCase],
) -> dict[str, Any]:
    cat = doc.category
    return {
        "source": {"package_id": head["package_id"], "sender": head["sender"], "id": doc.id},
        "archive_number": doc.archive_number,
        "earlier_numbers": [
            {
                "number": n.number,
                "assigned_at": n.assigned_at.isoformat(),
                "reason": n.reason,
                "superseded_at": n.superseded_at.isoformat() if n.superseded_at else None,
            }
            for n in numbers
            if n.number != doc.archive_number
        ],
        "title": doc.title,
        "category": {
            "code": cat.code,
            "name_zh": cat.name_zh,
            "name_en": cat.name_en,
            "letter": cat.letter,
        },
        "fonds": doc.customer.fonds.code if doc.customer.fonds else settings.fonds,
        "document_date": doc.document_date.isoformat() if doc.document_date else None,
        "filing_date": doc.filing_date.isoformat() if doc.filing_date else None,
        "accepted_at": doc.accepted_at.isoformat() if doc.accepted_at else None,
        "disposal_date": doc.disposal_date.isoformat() if doc.disposal_date else None,
        "retention_class": doc.retention_class,
        "retention": retention_dict(settings.retention, doc.retention_class),
        "on_hold": doc.on_hold,
        "hold_released_on": doc.hold_released_on.isoformat() if doc.hold_released_on else None,
        "retain_until": doc.retain_until.isoformat() if doc.retain_until else None,
        "holds": [
            {
                "name": c.name,
                "basis": c.basis,
                "reference": c.reference,
                "reason": c.reason,
                "opened_at": c.created_at.isoformat(),
                "per_document": c.per_document,
            }
            for c in holds
        ],
        "tags": list(doc.tags or []),
        "facts": dict(doc.facts or {}),
        "customer": customer_dict(doc.customer, with_personal=True),
        "retention_changes": [
            {
                "at": r.at.isoformat(),
                "cause": r.cause,
                "old": r.old_date.isoformat() if r.old_date else None,
                "new": r.new_date.isoformat() if r.new_date else None,
            }
            for r in changes
        ],
        "versions": versions,
    }


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    for at in range(0, len(ids), size):
        yield ids[at : at + size]


def _grouped(s: Session, model: Any, order: Any, ids: list[int]) -> dict[int, list[Any]]:
    """Rows of ``model`` (with a ``document_id``) of these documents, by document."""
    out: dict[int, list[Any]] = {}
    for part in _chunks(ids):
        for row in s.scalars(select(model).where(model.document_id.in_(part)).order_by(order)):
            out.setdefault(row.document_id, []).append(row)
    return out


def _events(s: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for part in _chunks(ids):
        rows = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_type == "document")
            .where(AuditEvent.target_id.in_([str(i) for i in part]))
            .order_by(AuditEvent.seq)
        )
        for ev in rows:
            out.setdefault(int(ev.target_id or 0), []).append(event_dict(ev))
    return out


def _registers(s: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for part in _chunks(ids):
        rows = s.scalars(
            select(AccessRecord).where(AccessRecord.document_id.in_(part)).order_by(AccessRecord.id)
        )
        for r in rows:
            out.setdefault(r.document_id, []).append(
                {
                    "at": r.at.isoformat(),
                    "user": r.username,
                    "action": r.action,
                    "purpose": r.purpose,
                    "rule": r.rule,
                    "supervisor": r.supervisor,
                    "page": r.page,
                }
            )
    return out


def _reports(s: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each document's 四性检测 reports as stored (the items' words: ``check-items.json``)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for part in _chunks(ids):
        for rep in s.scalars(
            select(CheckReport).where(CheckReport.document_id.in_(part)).order_by(CheckReport.id)
        ):
            out.setdefault(rep.document_id, []).append(
                {
                    "stage": rep.stage,
                    "checked_at": rep.checked_at.isoformat(),
                    "passed": rep.passed,
                    "override_reason": rep.override_reason,
                    "results": rep.results,
                }
            )
    return out


def check_items() -> dict[str, Any]:
    """What each check item and group of the reports is, in both languages."""
    return {
        "groups": {g.code: both_languages(g.label) for g in CHECK_GROUPS},
        "items": {
            i.code: {"group": i.group, "mandatory": i.mandatory, **both_languages(i.label)}
            for i in CHECK_ITEMS
        },
    }


def _footer(t: Transfer, sender: str, key_id: str) -> list[str]:
    lines = [f"{tables.both(APPLICANT)}: {tables.person(t.applicant)} · {tables.utc(t.created_at)}"]
    for step in t.steps:
        role, status = ROLES.get(step.role), STEP_STATUSES.get(step.status)
        lines.append(
            f"{tables.both(APPROVAL)}: {tables.both(role.label) if role else step.role} · "
            f"{tables.person(step.decided_by)} · {tables.utc(step.decided_at)} · "
            f"{tables.both(status.label) if status else step.status}"
        )
    disposition = DISPOSITIONS.get(t.disposition)
    lines += [
        f"{tables.both(RECEIVER)}: {t.receiver} ← {sender}",
        f"{tables.both(PURPOSE)}: {t.purpose}",
        f"{tables.both(DISPOSITION)}: "
        f"{tables.both(disposition.label) if disposition else t.disposition}",
        f"{tables.both(PACKAGE)}: {t.package_id} · Ed25519 · {key_id}",
    ]
    return lines


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class _SM3:
    """SM3 of the original files on a second thread while the first decrypts and writes
    them (hashlib lets go of the GIL): the digest costs little time beside the copy. The
    queue is short, so no more than a few chunks wait in memory."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=8)
        self.digests: dict[str, str] = {}
        self._thread = threading.Thread(target=self._run, name="transfer-sm3", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        h, path = hashlib.new("sm3"), ""
        while (item := self._queue.get()) is not None:
            kind, value = item
            if kind == "start":
                h, path = hashlib.new("sm3"), value
            elif kind == "data":
                h.update(value)
            else:
                self.digests[path] = h.hexdigest()

    def start(self, path: str) -> None:
        self._queue.put(("start", path))

    def feed(self, chunk: bytes) -> None:
        self._queue.put(("data", chunk))

    def end(self) -> None:
        self._queue.put(("end", None))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()


class _Writer:
    """The ZIP being written, and the digests of every file put in it."""

    def __init__(self, zf: zipfile.ZipFile, root: str) -> None:
        self.zf, self.root = zf, root
        self.files: list[dict[str, Any]] = []
        self.bytes = 0
        self.sm3 = _SM3()

    def _open(self, path: str, compress: bool) -> IO[bytes]:
        info = zipfile.ZipInfo(f"{self.root}/{path}", date_time=_stamp())
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        return self.zf.open(info, "w", force_zip64=True)

    def put(self, path: str, data: bytes, compress: bool = True) -> None:
        """A file the package makes (metadata, lists): its digests computed here."""
        with self._open(path, compress) as f:
            f.write(data)
        self._listed(
            path, len(data), hashlib.sha256(data).hexdigest(), hashlib.new("sm3", data).hexdigest()
        )

    def copy(self, c: _Content, chunks: Iterable[bytes]) -> None:
        """An original file, streamed from the store. Its SHA-256 is the one taken when it
        came in: the store's authenticated encryption refuses any other bytes; its SM3 is
        computed on the way."""
        size = 0
        self.sm3.start(c.path)
        with self._open(c.path, compress=False) as f:
            for chunk in chunks:
                f.write(chunk)
                self.sm3.feed(chunk)
                size += len(chunk)
        self.sm3.end()
        if size != c.size:
            raise RuntimeError(f"{c.path}: {size} bytes read, {c.size} stored")
        self._listed(c.path, size, c.sha256, None)

    def _listed(self, path: str, size: int, sha256: str, sm3: str | None) -> None:
        self.files.append({"path": path, "size": size, "sha256": sha256, "sm3": sm3})
        self.bytes += size

    def finish(self) -> None:
        """Wait for the last SM3 digests and put them in the list."""
        self.sm3.close()
        for f in self.files:
            if f["sm3"] is None:
                f["sm3"] = self.sm3.digests[f["path"]]

    def raw(self, path: str, data: bytes) -> None:
        """A file outside the manifest's list (the manifest and what checks it)."""
        info = zipfile.ZipInfo(f"{self.root}/{path}", date_time=_stamp())
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zf.writestr(info, data)


def _stamp() -> tuple[int, int, int, int, int, int]:
    now = utcnow()
    return (now.year, now.month, now.day, now.hour, now.minute, now.second)


def _write(vault: Vault, plan: _Plan, path: Path, signer: Any) -> tuple[str, int, int]:
    """Write the whole package; returns the manifest's SHA-256, the files and their bytes."""
    head = plan.transfer
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", allowZip64=True) as zf:
        w = _Writer(zf, layout.root(head["package_id"]))
        try:
            _fill(w, vault, plan)
        finally:
            w.finish()
        sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in w.files).encode()
        manifest = {
            "format": layout.FORMAT,
            "version": layout.VERSION,
            "transfer": head,
            "documents": [
                {"archive_number": d["metadata"]["archive_number"], "dir": d["dir"]}
                for d in plan.documents
            ],
            "files": w.files,
            "checksums": {"path": layout.CHECKSUMS, "sha256": hashlib.sha256(sums).hexdigest()},
        }
        body = _json(manifest)
        w.raw(layout.CHECKSUMS, sums)
        w.raw(layout.MANIFEST, body)
        w.raw(layout.SIGNATURE, signer.sign_bytes(body))
        w.raw(layout.PUBLIC_KEY, signer.public_pem.encode())
        return hashlib.sha256(body).hexdigest(), len(w.files), w.bytes


def _fill(w: _Writer, vault: Vault, plan: _Plan) -> None:
    """The original files stream in while a second thread turns the metadata into its files
    (XML, JSON, the lists): the copy waits on the disk and the store, that on the CPU."""
    with ThreadPoolExecutor(1, thread_name_prefix="transfer-metadata") as pool:
        made = pool.submit(_made, plan)
        for c in plan.contents:
            w.copy(c, vault.store.open(c.object_name, c.wrapped_key))
        for path, data, compress in made.result():
            w.put(path, data, compress)


def _made(plan: _Plan) -> list[tuple[str, bytes, bool]]:
    """Every file of the package but the originals: (path, bytes, compressed)."""
    out = [
        (layout.README, README_TEXT.encode(), True),
        (layout.CHECK_ITEMS, _json(check_items()), True),
    ]
    for doc in plan.documents:
        folder = doc["dir"]
        xml = metadata_xml(doc["metadata"], doc["history"], plan.transfer)
        out += [
            (f"{folder}/{layout.METADATA_XML}", xml, True),
            (f"{folder}/{layout.METADATA_JSON}", _json(doc["metadata"]), True),
            (f"{folder}/{layout.HISTORY}", _json(doc["history"]), True),
            (f"{folder}/{layout.REGISTER}", _json(doc["register"]), True),
            (f"{folder}/{layout.CHECKS}", _json(doc["checks"]), True),
        ]
    title, header, rows, footer = plan.list_table
    out.append((layout.LIST_PDF, tables.pdf("transfer list", title, header, rows, footer), False))
    out.append((layout.LIST_XLSX, tables.xlsx("transfer list", title, header, rows, footer), False))
    return out


README_TEXT = """\
移交包 / Transfer package
=========================

本包由客户档案管理系统导出，无需该系统或其密钥即可阅读与校验。
Written by the customer document archive; readable and checkable without it or its keys.

内容 / Contents
  manifest.json        包说明：移交信息、文件清单及每个文件的 SHA-256 与 SM3 摘要
                       the package: the transfer, its documents, every file's SHA-256 and SM3
  manifest.sig         对 manifest.json 的 Ed25519 签名（64 字节）
                       Ed25519 signature (64 raw bytes) over manifest.json
  public_key.pem       签名公钥，请与移交单位公布的密钥编号核对
                       the signing key: compare its id with the one the sender publishes
  checksums.sha256     sha256sum 格式的文件摘要 / the digests in sha256sum form
  transfer-list.pdf / transfer-list.xlsx   移交清单 / the transfer list
  documents/<档号>/    每件文件：metadata.xml（DA/T 46/48 元素）、metadata.json、
                       history.json（历史）、access-register.json（利用登记）、
                       checks.json（四性检测）、files/（原始文件）
                       per document: metadata (XML, JSON), history, access register,
                       check reports, and the original files

校验 / Checking
  1. openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin \\
         -in manifest.json -sigfile manifest.sig
  2. sha256sum checksums.sha256   （应与 manifest.json 中 checksums.sha256 一致 /
                                     must equal manifest.json's checksums.sha256）
  3. sha256sum -c checksums.sha256
  或 / or:  archive transfer verify <package.zip> [--key public_key.pem]
"""
