"""What a transfer's package holds, read from the database: the transfer, each document's
metadata, history, access register and 四性检测 reports, the originals to copy, and the
移交清单's rows (the package's layout: ``transfer.layout``)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from archive_service import tables
from archive_service.accounts.vocabulary import ROLES
from archive_service.approvals import STEP_STATUSES
from archive_service.archive.hold_cases import cases_holding_ids
from archive_service.archive.models import (
    AccessRecord,
    ArchiveNumber,
    Category,
    Customer,
    Document,
    DocumentVersion,
    HoldCase,
    RetentionChange,
)
from archive_service.archive.serializers import customer_dict, retention_dict
from archive_service.archive.settings import ArchiveSettings
from archive_service.audit.models import AuditEvent
from archive_service.audit.services import EVENT_COLUMNS, event_dict
from archive_service.checks.models import CheckReport
from archive_service.disposal.destruction_list import period
from archive_service.transfer import layout
from archive_service.transfer.models import Transfer
from archive_service.transfer.vocabulary import DISPOSITIONS
from archive_service.vault.models import StoredObject
from archive_service.vocabulary import _t

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


@dataclass
class Content:
    """One original file to copy: where it goes and the object it is read from."""

    path: str
    object_name: str
    wrapped_key: str
    size: int
    sha256: str
    sm3: str | None  # None: not taken yet (the extraction takes it), the export takes it


@dataclass
class Plan:
    transfer: dict[str, Any]
    # each: dir, metadata, history, register, checks (the JSON of checks.json)
    documents: list[dict[str, Any]]
    contents: list[Content]
    list_table: tuple[str, list[str], list[list[Any]], list[str]]


def gather(
    s: Session,
    settings: ArchiveSettings,
    transfer: Transfer,
    docs: dict[int, Row[Any]],
    sender: str,
    key_id: str,
    now: datetime,
) -> Plan:
    """Everything the package of ``transfer`` holds but the originals' bytes. ``docs``: the
    documents' rows (``document_rows``): a package's thousands of rows are read as rows,
    not objects."""
    ids = list(docs)
    events = _events(s, ids)
    registers = _registers(s, ids)
    reports = _reports(s, ids)
    numbers = _grouped(s, ArchiveNumber, ArchiveNumber.assigned_at, ids)
    changes = _grouped(s, RetentionChange, RetentionChange.id, ids)
    all_versions = _grouped(s, DocumentVersion, DocumentVersion.number, ids)
    objects = _objects(s, [v.stored_object_id for vs in all_versions.values() for v in vs])
    customers = _by_id(s, Customer, {d.customer_id for d in docs.values()})
    categories = _by_id(s, Category, {d.category_id for d in docs.values()})
    head = _transfer_dict(transfer, sender, key_id, now)
    taken: set[str] = set()
    documents: list[dict[str, Any]] = []
    contents: list[Content] = []
    rows: list[list[Any]] = []
    for n, item in enumerate(transfer.items, start=1):
        doc = docs[item.document_id]
        folder = layout.document_dir(doc.archive_number or f"document-{doc.id}", taken)
        versions: list[dict[str, Any]] = []
        for v in all_versions.get(doc.id, []):
            object_name, wrapped_key = objects[v.stored_object_id]
            path = f"{folder}/{layout.file_name(v.number, v.filename)}"
            contents.append(Content(path, object_name, wrapped_key, v.size, v.sha256, v.sm3))
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
        holds = cases_holding_ids(s, doc.id, doc.customer_id) if doc.on_hold else []
        meta = _document_dict(
            settings,
            doc,
            customers[doc.customer_id],
            categories[doc.category_id],
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
                "checks": reports.get(doc.id, b"[]"),
            }
        )
        rows.append(
            [
                n,
                doc.archive_number,
                doc.title,
                doc.document_date.isoformat() if doc.document_date else "—",
                period(settings.retention, doc.retention_class),
                len(versions),
                sum(v["size"] for v in versions),
                tables.both(ON_HOLD) if doc.on_hold else "",
            ]
        )
    title = f"{tables.both(LIST_TITLE)} #{transfer.id} · {tables.utc(now)}"
    footer = _footer(transfer, sender, key_id)
    return Plan(
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
    doc: Row[Any],
    customer: Customer,
    cat: Category,
    versions: list[dict[str, Any]],
    head: dict[str, Any],
    numbers: list[Row[Any]],
    changes: list[Row[Any]],
    holds: list[HoldCase],
) -> dict[str, Any]:
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
        "fonds": customer.fonds.code if customer.fonds else settings.fonds,
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
        "customer": customer_dict(customer, with_personal=True),
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


def document_rows(s: Session, ids: list[int]) -> dict[int, Row[Any]]:
    """The documents' rows (every column), by id."""
    out: dict[int, Row[Any]] = {}
    for part in _chunks(ids):
        for row in s.execute(select(Document.__table__).where(Document.id.in_(part))):
            out[row.id] = row
    return out


def _grouped(s: Session, model: Any, order: Any, ids: list[int]) -> dict[int, list[Row[Any]]]:
    """Rows of ``model``'s table (with a ``document_id``) of these documents, by document."""
    out: dict[int, list[Row[Any]]] = {}
    table = model.__table__
    for part in _chunks(ids):
        q = select(table).where(table.c.document_id.in_(part)).order_by(order)
        for row in s.execute(q):
            out.setdefault(row.document_id, []).append(row)
    return out


def _by_id(s: Session, model: Any, ids: set[int]) -> dict[int, Any]:
    """Objects of ``model`` by id (the few customers and categories of many documents)."""
    out: dict[int, Any] = {}
    for part in _chunks(sorted(ids)):
        out.update((o.id, o) for o in s.scalars(select(model).where(model.id.in_(part))))
    return out


def _objects(s: Session, ids: list[int]) -> dict[int, tuple[str, str]]:
    """Each stored object's name and wrapped key, by id."""
    out: dict[int, tuple[str, str]] = {}
    for part in _chunks(ids):
        q = select(StoredObject.id, StoredObject.object_name, StoredObject.wrapped_key)
        for oid, name, key in s.execute(q.where(StoredObject.id.in_(part))):
            assert key is not None, "a destroyed object in an accepted document"
            out[oid] = (name, key)
    return out


def _events(s: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each document's audit events as ``audit.services.event_dict`` gives them (read as
    rows, not objects: a thousand documents have thousands of events)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for part in _chunks(ids):
        rows = s.execute(
            select(*EVENT_COLUMNS, AuditEvent.target_id.label("document"))
            .where(AuditEvent.target_type == "document")
            .where(AuditEvent.target_id.in_([str(i) for i in part]))
            .order_by(AuditEvent.seq)
        )
        for ev in rows:
            out.setdefault(int(ev.document), []).append(event_dict(ev))
    return out


_REGISTER = (
    AccessRecord.document_id,
    AccessRecord.at,
    AccessRecord.username,
    AccessRecord.action,
    AccessRecord.purpose,
    AccessRecord.rule,
    AccessRecord.supervisor,
    AccessRecord.page,
)


def _registers(s: Session, ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for part in _chunks(ids):
        rows = s.execute(
            select(*_REGISTER).where(AccessRecord.document_id.in_(part)).order_by(AccessRecord.id)
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


def _reports(s: Session, ids: list[int]) -> dict[int, bytes]:
    """Each document's 四性检测 reports as stored (the items' words: ``check-items.json``),
    as the JSON of ``checks.json``. The results are copied as the database holds them,
    without being parsed and written again: they are most of a package's metadata."""
    parts: dict[int, list[str]] = {}
    columns = (
        CheckReport.document_id,
        CheckReport.stage,
        CheckReport.checked_at,
        CheckReport.passed,
        CheckReport.override_reason,
        cast(CheckReport.results, Text).label("results"),
    )
    for part in _chunks(ids):
        for rep in s.execute(
            select(*columns).where(CheckReport.document_id.in_(part)).order_by(CheckReport.id)
        ):
            head = json.dumps(
                {
                    "stage": rep.stage,
                    "checked_at": rep.checked_at.isoformat(),
                    "passed": rep.passed,
                    "override_reason": rep.override_reason,
                },
                ensure_ascii=False,
                separators=(",", ":"),
            )
            parts.setdefault(rep.document_id, []).append(
                f'{head[:-1]},"results":{rep.results or "[]"}}}'
            )
    return {doc: f"[{','.join(reports)}]".encode() for doc, reports in parts.items()}


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
