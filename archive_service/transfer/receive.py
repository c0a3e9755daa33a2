"""Receiving a transfer package (接收, ``archive transfer import``) into this archive: the
package is verified first; every document is checked (its category known here, its number
free, its customer found or to be opened, its files of a type this archive takes); only
when nothing is wrong is anything stored, all in one transaction.

A received document keeps its archive number (and earlier numbers), its dates, its
retention class and its holds (each of the sender's hold cases becomes one case here);
its disposal date is the later of the sender's and the one this archive's rules give.
Its first archive's history and access register are kept beside it (``ReceivedHistory``)
and shown on its page; its own trail here starts with ``document.receive``. Extraction,
indexing, previews and the intake checks are queued as for an upload.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive import intake
from archive_service.archive.customers import create_customer
from archive_service.archive.disposal_date import disposal_date_of
from archive_service.archive.hold_cases import CaseIn, add_items, open_case
from archive_service.archive.models import (
    ArchiveNumber,
    Category,
    Customer,
    Document,
    DocumentStatus,
    DocumentVersion,
    RetentionChange,
)
from archive_service.archive.settings import ArchiveSettings
from archive_service.archive.vocabulary import RETENTION_CLASSES
from archive_service.audit.services import record
from archive_service.checks.later import check_later
from archive_service.db import Database, utcnow
from archive_service.errors import Conflict, DomainError, InvalidInput
from archive_service.indexing.later import extract_later, refresh_later
from archive_service.policy import Caller, require
from archive_service.transfer import layout
from archive_service.transfer.models import ReceivedHistory, ReceivedTransfer
from archive_service.transfer.verify import Problem, Verification, verify
from archive_service.viewing.later import previews_later

if TYPE_CHECKING:
    from archive_service.runtime import Runtime
    from archive_service.vault.services import Vault

# A document's metadata, history or register larger than this is not one this service wrote.
MAX_METADATA_BYTES = 64 * 1024 * 1024

CUSTOMER_FIELDS = (
    "name",
    "customer_type",
    "tier",
    "scale",
    "industry",
    "business_domain",
    "business_scope",
    "registered_capital",
    "credit_rating",
    "credit_limit",
    "credit_code",
    "legal_representative",
    "address",
    "phone",
    "fax",
    "email",
)


@dataclass(frozen=True)
class Receiving:
    db: Database
    vault: Vault
    archive: ArchiveSettings

    @classmethod
    def of(cls, rt: Runtime) -> Receiving:
        return cls(rt.db, rt.vault, rt.archive)


class PackageRefused(DomainError):
    """The package failed its check, or a document in it cannot be taken: nothing stored."""

    status = 422
    code = "package_refused"

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(
            message, problems=[{"path": p.path, "problem": p.message} for p in problems]
        )
        self.problems = problems


@dataclass
class Received:
    id: int
    package_id: str
    documents: int
    numbers: list[str] = field(default_factory=list)
    customers_opened: int = 0
    verification: Verification | None = None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def receive(
    ctx: Receiving,
    by: Caller,
    path: Path,
    department: str | None = None,
    trusted_key: str | None = None,
) -> Received:
    """Verify the package at ``path`` and take its documents in (all or none). Customers
    not found here (by credit code, else by name) are opened in ``department``."""
    checked = verify(path, trusted_key)
    if not checked.ok:
        raise PackageRefused("the package does not verify", checked.problems)
    assert checked.manifest is not None
    manifest = checked.manifest
    stored: list[str] = []
    try:
        with ctx.db.unit_of_work() as s, zipfile.ZipFile(path) as zf:
            require(by, "transfer.receive")
            package_id = manifest["transfer"]["package_id"]
            if s.scalar(
                select(ReceivedTransfer.id).where(ReceivedTransfer.package_id == package_id)
            ):
                raise Conflict("this package was received already", package_id=package_id)
            try:
                docs = [_metadata(zf, checked.root, d) for d in manifest["documents"]]
                problems = _problems(s, docs, department)
                if problems:
                    raise PackageRefused("documents of the package cannot be taken", problems)
                out = _take(s, ctx, by, zf, checked, docs, department, stored)
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                # Signed, but not by this service's rules (a field missing or of another kind).
                raise PackageRefused(
                    "the package's metadata cannot be read",
                    [Problem(layout.METADATA_JSON, f"{type(exc).__name__}: {exc}"[:300])],
                ) from exc
    except BaseException:
        for name in stored:  # the rows rolled back: their objects go too
            ctx.vault.delete_object(name)
        raise
    out.verification = checked
    return out


def _json_member(zf: zipfile.ZipFile, name: str) -> Any:
    """A JSON file of the package, refused when larger than any this service writes (its
    size was checked against the manifest, which its signer could have made huge)."""
    if zf.getinfo(name).file_size > MAX_METADATA_BYTES:
        raise PackageRefused("a metadata file is too large", [Problem(name, "too large")])
    with zf.open(name) as f:
        return json.load(f)


def _metadata(zf: zipfile.ZipFile, root: str, entry: dict[str, Any]) -> dict[str, Any]:
    folder = f"{root}/{entry['dir']}"
    meta: dict[str, Any] = _json_member(zf, f"{folder}/{layout.METADATA_JSON}")
    meta["_history"] = _json_member(zf, f"{folder}/{layout.HISTORY}")
    meta["_register"] = _json_member(zf, f"{folder}/{layout.REGISTER}")
    meta["_dir"] = entry["dir"]
    return meta


def _customer_here(s: Session, c: dict[str, Any]) -> Customer | None:
    if c.get("credit_code"):
        found = s.scalars(select(Customer).where(Customer.credit_code == c["credit_code"])).first()
        if found is not None:
            return found
    return s.scalars(select(Customer).where(Customer.name == c["name"])).first()


def _problems(s: Session, docs: list[dict[str, Any]], department: str | None) -> list[Problem]:
    out: list[Problem] = []
    categories = set(s.scalars(select(Category.code)))
    numbers = [d["archive_number"] for d in docs]
    numbers += [e["number"] for d in docs for e in d["earlier_numbers"]]
    taken = set(s.scalars(select(ArchiveNumber.number).where(ArchiveNumber.number.in_(numbers))))
    for d in docs:
        where = f"{d['_dir']}/{layout.METADATA_JSON}"
        if d["category"]["code"] not in categories:
            out.append(Problem(where, f"category {d['category']['code']} is not known here"))
        if d["retention_class"] not in RETENTION_CLASSES:
            out.append(Problem(where, f"retention class {d['retention_class']} is not known here"))
        for n in [d["archive_number"], *(e["number"] for e in d["earlier_numbers"])]:
            if n in taken:
                out.append(Problem(where, f"archive number {n} is taken here"))
        if _customer_here(s, d["customer"]) is None and not department:
            out.append(
                Problem(where, f"customer {d['customer']['name']} is new here: name a department")
            )
    return out


def _take(
    s: Session,
    ctx: Receiving,
    by: Caller,
    zf: zipfile.ZipFile,
    checked: Verification,
    docs: list[dict[str, Any]],
    department: str | None,
    stored: list[str],
) -> Received:
    manifest = checked.manifest
    assert manifest is not None and checked.key_id is not None and checked.public_key
    assert checked.manifest_sha256 is not None
    head = manifest["transfer"]
    received = ReceivedTransfer(
        package_id=head["package_id"],
        manifest_sha256=checked.manifest_sha256,
        sender=str(head.get("sender") or "")[:300],
        signing_key_id=checked.key_id,
        public_key=checked.public_key,
        received_by_id=by.user_id,
        documents=len(docs),
    )
    s.add(received)
    s.flush()
    categories = {c.code: c for c in s.scalars(select(Category))}
    customers: dict[str, Customer] = {}
    opened = 0
    cases: dict[tuple[str, str, str | None], list[int]] = {}
    case_texts: dict[tuple[str, str, str | None], dict[str, Any]] = {}
    out = Received(received.id, received.package_id, len(docs))
    for d in docs:
        c = d["customer"]
        key = c.get("credit_code") or c["name"]
        customer = customers.get(key) or _customer_here(s, c)
        if customer is None:
            fields = {k: c.get(k) for k in CUSTOMER_FIELDS}
            customer = create_customer(s, by, {**fields, "department": department})
            opened += 1
        customers[key] = customer
        doc = _document(s, ctx, by, zf, checked.root, d, customer, categories, stored)
        s.add(
            ReceivedHistory(
                received_id=received.id,
                document_id=doc.id,
                history=d["_history"],
                register=d["_register"],
            )
        )
        for h in d["holds"]:
            ident = (h["name"], h["basis"], h.get("reference"))
            cases.setdefault(ident, []).append(doc.id)
            case_texts[ident] = h
        out.numbers.append(doc.archive_number or "")
    for ident, ids in cases.items():
        h = case_texts[ident]
        case = open_case(
            s,
            by,
            CaseIn(
                name=h["name"],
                basis=h["basis"],
                reference=h.get("reference"),
                reason=f"{h['reason']} (received from {received.sender}, {h['opened_at'][:10]})",
            ),
            ctx.archive.retention,
        )
        add_items(s, by, case.id, ctx.archive.retention, document_ids=ids)
    out.customers_opened = opened
    record(
        s,
        by.actor,
        "transfer.receive",
        "received_transfer",
        received.id,
        package_id=received.package_id,
        sender=received.sender,
        signing_key_id=received.signing_key_id,
        pinned=checked.pinned,
        documents=len(docs),
        customers_opened=opened,
    )
    return out


def _document(
    s: Session,
    ctx: Receiving,
    by: Caller,
    zf: zipfile.ZipFile,
    root: str,
    d: dict[str, Any],
    customer: Customer,
    categories: dict[str, Category],
    stored: list[str],
) -> Document:
    now = utcnow()
    doc = Document(
        customer_id=customer.id,
        category_id=categories[d["category"]["code"]].id,
        title=d["title"][:500],
        document_date=_day(d["document_date"]),
        status=DocumentStatus.ACCEPTED,
        archive_number=d["archive_number"],
        retention_class=d["retention_class"],
        filing_date=_day(d["filing_date"]),
        hold_released_on=_day(d.get("hold_released_on")),
        retain_until=_day(d.get("retain_until")),
        tags=list(d.get("tags") or [])[:30],
        facts=dict(d.get("facts") or {}),
        uploaded_by_id=by.user_id,
        accepted_at=_moment(d.get("accepted_at")) or now,
        accepted_by_id=by.user_id,
    )
    s.add(doc)
    s.flush()
    for v in d["versions"]:
        with zf.open(f"{root}/{v['path']}") as f:
            got = intake.receive(
                s, ctx.vault, v["filename"], f, ctx.archive.intake, field=v["path"]
            )
        stored.append(got.stored.object_name)
        if got.stored.sha256 != v["sha256"]:
            raise InvalidInput(f"{v['path']}: the file differs from its metadata", field=v["path"])
        s.add(
            DocumentVersion(
                document_id=doc.id,
                number=v["number"],
                stored_object_id=got.stored.id,
                filename=got.filename,
                content_type=got.content_type,
                size=got.stored.size,
                sha256=got.stored.sha256,
                uploaded_by_id=by.user_id,
                created_at=_moment(v.get("created_at")) or now,
            )
        )
    for e in d["earlier_numbers"]:
        s.add(
            ArchiveNumber(
                number=e["number"],
                document_id=doc.id,
                assigned_at=_moment(e["assigned_at"]) or now,
                assigned_by_id=by.user_id,
                reason=f"earlier number (received): {e['reason']}"[:500],
                superseded_at=_moment(e.get("superseded_at")) or now,
            )
        )
    s.add(
        ArchiveNumber(
            number=d["archive_number"],
            document_id=doc.id,
            assigned_at=now,
            assigned_by_id=by.user_id,
            reason="received by transfer",
        )
    )
    s.flush()
    s.refresh(doc)
    here = disposal_date_of(doc, ctx.archive.retention)
    sent = _day(d.get("disposal_date"))
    # Periods only grow: None (permanent, held, waiting) from either side wins.
    doc.disposal_date = max(here, sent) if here is not None and sent is not None else None
    s.add(
        RetentionChange(
            document_id=doc.id,
            by_id=by.user_id,
            cause="received by transfer",
            old_date=sent,
            new_date=doc.disposal_date,
        )
    )
    record(
        s,
        by.actor,
        "document.receive",
        "document",
        doc.id,
        archive_number=doc.archive_number,
        package_id=d["source"]["package_id"],
        sender=d["source"]["sender"],
        source_id=d["source"]["id"],
        disposal_date=doc.disposal_date.isoformat() if doc.disposal_date else None,
    )
    extract_later(s, [doc.id])
    previews_later(s, [doc.id])
    check_later(s, [doc.id])
    refresh_later(s, [doc.id])
    return doc
