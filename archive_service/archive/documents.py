"""Document use cases: a clerk's upload (through the one intake), finding a document the
caller may know of, and listing what the caller may open."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, joinedload

from archive_service.archive import deadlines, intake
from archive_service.archive.categories import category_by_code
from archive_service.archive.customers import get_customer
from archive_service.archive.facts import check_facts
from archive_service.archive.hold_state import customer_held, lock_customer
from archive_service.archive.models import (
    ArchiveNumber,
    Category,
    Customer,
    Document,
    DocumentStatus,
    DocumentVersion,
)
from archive_service.archive.settings import ArchiveSettings
from archive_service.archive.vocabulary import RETENTION_CLASSES
from archive_service.audit.services import record
from archive_service.checks.later import check_later
from archive_service.db import utcnow
from archive_service.errors import Conflict, InvalidInput, NotAllowed, NotFound
from archive_service.indexing.later import extract_later
from archive_service.policy import KNOWN_TO_CALLER, Caller, may, require
from archive_service.policy.visibility import documents_clause
from archive_service.vault.services import Vault
from archive_service.viewing.later import previews_later


@dataclass
class Upload:
    customer_id: int
    category: str
    title: str
    retention_class: str
    document_date: date | None
    filename: str
    stream: IO[bytes] | None
    facts: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    allow_duplicate: bool = False
    # A file intake already took (streamed in before all the form's fields were read);
    # its object is deleted if the upload is refused.
    received: intake.Received | None = None
    # Judged against the category's filing deadline (归档时限): not for a document an
    # import brings from an earlier archive, filed there long before it came here.
    judged: bool = True


@dataclass(frozen=True)
class _Checked:
    customer: Customer
    category: Category
    retention_class: str | None
    title: str
    facts: dict[str, Any]


def check_upload(session: Session, by: Caller, up: Upload, with_facts: bool = True) -> _Checked:
    """Everything about an upload but its file: the customer, the caller's right, the
    category, the retention class, the title and (``with_facts``) the category's facts;
    read only. Without facts, the check an upload's first fields allow before its file
    (facts may follow it)."""
    try:
        customer = get_customer(session, by, up.customer_id)
    except NotFound as exc:
        raise InvalidInput("unknown customer", field="customer_id") from exc
    return check_upload_for(session, by, customer, up, with_facts)


def check_upload_for(
    session: Session, by: Caller, customer: Customer, up: Upload, with_facts: bool = True
) -> _Checked:
    """:func:`check_upload` for a customer in hand — also one an import will open (not yet
    stored: the rule asks only for its department)."""
    require(by, "document.upload", customer)
    category = category_by_code(session, up.category)
    retention_class = RETENTION_CLASSES.check(up.retention_class, "retention_class")
    title = (up.title or "").strip()
    if not title:
        raise InvalidInput("title is required", field="title")
    facts = check_facts(category.facts, up.facts, category.code) if with_facts else {}
    return _Checked(customer, category, retention_class, title, facts)


def upload(
    session: Session, by: Caller, vault: Vault, up: Upload, settings: ArchiveSettings
) -> Document:
    """A clerk submits a file: checked, encrypted into the store, then queued for review."""
    try:
        checked = check_upload(session, by, up)
    except BaseException:
        if up.received is not None:
            vault.delete_object(up.received.stored.object_name)
        raise
    customer, category, facts = checked.customer, checked.category, checked.facts
    retention_class, title = checked.retention_class, checked.title
    if up.received is not None:
        received = up.received
    elif up.stream is not None:
        received = intake.receive(session, vault, up.filename, up.stream, settings.intake)
    else:
        raise InvalidInput("a file is required", field="file")
    obj = received.stored
    duplicate = session.execute(
        select(Document.id)
        .join(DocumentVersion, DocumentVersion.document_id == Document.id)
        .where(
            Document.customer_id == customer.id,
            DocumentVersion.sha256 == obj.sha256,
            Document.status != DocumentStatus.DESTROYED,
        )
    ).first()
    if duplicate and not up.allow_duplicate:
        vault.delete_object(obj.object_name)  # the transaction rolls the row back
        raise Conflict(
            "the same file is already in this customer's archive",
            duplicate_of=duplicate[0],
            sha256=obj.sha256,
        )
    # A customer in an open hold case holds its new documents from the start.
    lock_customer(session, customer.id)
    held = customer_held(session, customer.id)
    now = utcnow()
    due = (
        deadlines.due_date(category.filing_deadline, up.document_date, facts, settings.calendar)
        if up.judged
        else None
    )
    doc = Document(
        customer_id=customer.id,
        on_hold=held,
        category_id=category.id,
        title=title[:500],
        document_date=up.document_date,
        status=DocumentStatus.SUBMITTED,
        retention_class=retention_class,
        facts=facts,
        tags=sorted({t.strip()[:50] for t in up.tags if t.strip()})[:30],
        needs_joint_review=customer.tier in settings.joint_review_tiers,
        uploaded_by_id=by.user_id,
        submitted_at=now,
        filing_due_on=due.on if due else None,
        filing_due_basis=due.basis if due else None,
        filing_late_days=deadlines.late_days(due.on, now, settings.calendar) if due else None,
    )
    session.add(doc)
    session.flush()
    session.add(
        DocumentVersion(
            document_id=doc.id,
            number=1,
            stored_object_id=obj.id,
            filename=received.filename,
            content_type=received.content_type,
            size=obj.size,
            sha256=obj.sha256,
            uploaded_by_id=doc.uploaded_by_id,
        )
    )
    session.flush()
    session.refresh(doc)
    record(
        session,
        by.actor,
        "document.upload",
        "document",
        doc.id,
        customer_id=customer.id,
        category=category.code,
        sha256=obj.sha256,
        size=obj.size,
        content_type=received.content_type,
        duplicate_of=duplicate[0] if duplicate else None,
        filing_due_on=doc.filing_due_on.isoformat() if doc.filing_due_on else None,
        filing_late_days=doc.filing_late_days,
    )
    if held:
        record(session, by.actor, "document.hold_joined", "document", doc.id, via="customer")
    extract_later(session, [doc.id])
    previews_later(session, [doc.id])
    check_later(session, [doc.id])
    return doc


def get_document(session: Session, by: Caller, document_id: int) -> Document:
    """A document whose metadata the caller may see; any other is 'not found'. Its versions
    come in the same query: every reader of a document shows or opens one."""
    doc = session.get(Document, document_id, options=[joinedload(Document.versions)])
    decision = may(by, "document.view", doc) if doc is not None else None
    if doc is None or not decision:
        if by.user is None and not by.operator:
            require(by, "document.view", doc)
        if decision is not None and decision.rule in KNOWN_TO_CALLER:
            raise NotAllowed(decision.reason, rule=decision.rule)
        raise NotFound("no such document")
    return doc


def find_by_number(session: Session, by: Caller, number: str) -> Document:
    """Current or earlier archive number → the document."""
    row = session.get(ArchiveNumber, number.strip())
    if row is None:
        raise NotFound("no document has this number")
    return get_document(session, by, row.document_id)


def list_documents(
    session: Session,
    by: Caller,
    *,
    customer_id: int | None = None,
    category: str | None = None,
    number: str | None = None,
    status: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Document], int]:
    """Documents the caller may open (the access rule is part of the query, so totals and
    pages count only those)."""
    query = select(Document).where(documents_clause(by))
    if customer_id:
        query = query.where(Document.customer_id == customer_id)
    if category:
        query = query.where(
            Document.category.has(or_(Category.code == category, Category.parent_code == category))
        )
    if number:
        ids = select(ArchiveNumber.document_id).where(ArchiveNumber.number == number.strip())
        query = query.where(Document.id.in_(ids))
    if status:
        query = query.where(Document.status == status)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = (
        session.execute(
            query.options(joinedload(Document.versions))  # the page's versions: no query more
            .order_by(Document.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        .unique()
        .scalars()
        .all()
    )
    return list(rows), total
