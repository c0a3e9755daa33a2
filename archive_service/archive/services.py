"""Archive use cases: customers, upload and intake, review and numbering, holds,
retention recomputation, and reading content through the access register.

Each function runs in the caller's unit of work, asks the policy, and writes
its audit event. Rules live in ``retention``, ``numbering`` and ``intake``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, BinaryIO

from sqlalchemy import false, func, or_, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from archive_service.accounts.models import User
from archive_service.accounts.services import department_by_code
from archive_service.archive import intake
from archive_service.archive.models import (
    CUSTOMER_TYPES,
    RETENTION_CLASSES,
    SCALES,
    TIERS,
    AccessRecord,
    ArchiveNumber,
    Category,
    Customer,
    Document,
    DocumentStatus,
    DocumentVersion,
    Hold,
    NumberCounter,
    RetentionChange,
)
from archive_service.archive.numbering import RETENTION_CODES, NumberPattern
from archive_service.archive.retention import RetentionInputs, RetentionRules
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.errors import (
    Conflict,
    DomainError,
    Gone,
    InvalidInput,
    NotAllowed,
    NotFound,
)
from archive_service.indexing import services as indexing
from archive_service.policy import KNOWN_TO_CALLER, Caller, may, require, visibility
from archive_service.vault.services import Vault


class TooLarge(DomainError):
    status = 413
    code = "too_large"


class UnsupportedType(DomainError):
    status = 415
    code = "unsupported_type"


@dataclass(frozen=True)
class ArchiveSettings:
    number_pattern: NumberPattern = NumberPattern("{category}{customer:3}{year}{seq:2}")
    fonds: str = "Q001"
    retention: RetentionRules = field(default_factory=RetentionRules)
    max_upload_bytes: int = 512 * 1024 * 1024
    allowed_types: frozenset[str] = intake.DEFAULT_ALLOWED_TYPES
    joint_review_tiers: frozenset[str] = frozenset({"core"})


# --- customers -------------------------------------------------------------------

CUSTOMER_TEXT_FIELDS = (
    "credit_code",
    "legal_representative",
    "address",
    "phone",
    "fax",
    "email",
    "business_scope",
    "industry",
    "business_domain",
    "credit_rating",
)
PERSONAL_FIELDS = ("credit_code", "legal_representative", "address", "phone", "fax", "email")


def _choice(value: Any, choices: tuple[str, ...], name: str, default: str | None = None) -> str:
    if value in (None, "") and default is not None:
        return default
    if value not in choices:
        raise InvalidInput(f"{name} must be one of {', '.join(choices)}", field=name)
    return str(value)


def _money(value: Any, name: str) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise InvalidInput(f"{name} must be a number", field=name) from exc
    if amount < 0 or not amount.is_finite():
        raise InvalidInput(f"{name} must be a non-negative number", field=name)
    return amount


def _next_in_scope(session: Session, scope: str) -> int:
    """The next value of a counter, under a row lock: unique and gapless.

    The row is created if missing without racing (INSERT … ON CONFLICT DO
    NOTHING), then locked (SELECT … FOR UPDATE on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serialises writers).
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(NumberCounter).values(scope=scope, last_value=0).on_conflict_do_nothing()
    )
    counter = session.execute(
        select(NumberCounter).where(NumberCounter.scope == scope).with_for_update()
    ).scalar_one()
    counter.last_value += 1
    session.flush()
    return counter.last_value


def create_customer(session: Session, by: Caller, fields: dict[str, Any]) -> Customer:
    name = (fields.get("name") or "").strip()
    if not name:
        raise InvalidInput("name is required", field="name")
    dept = department_by_code(session, fields.get("department"))
    require(by, "customer.create", dept.id)
    clerk_id = None
    if fields.get("responsible_clerk"):
        clerk = session.execute(
            select(User).where(User.username == fields["responsible_clerk"])
        ).scalar_one_or_none()
        if clerk is None or clerk.department_id != dept.id or "clerk" not in clerk.roles:
            raise InvalidInput(
                "responsible_clerk must be a clerk of the owning department",
                field="responsible_clerk",
            )
        clerk_id = clerk.id
    elif by.user is not None and "clerk" in by.user.roles:
        clerk_id = by.user.id
    customer = Customer(
        seq=_next_in_scope(session, "customer"),
        name=name[:300],
        customer_type=_choice(fields.get("customer_type"), CUSTOMER_TYPES, "customer_type"),
        tier=_choice(fields.get("tier"), TIERS, "tier", default="ordinary"),
        scale=_choice(fields.get("scale"), SCALES, "scale") if fields.get("scale") else None,
        registered_capital=_money(fields.get("registered_capital"), "registered_capital"),
        credit_limit=_money(fields.get("credit_limit"), "credit_limit"),
        department_id=dept.id,
        responsible_clerk_id=clerk_id,
        created_by_id=by.user.id if by.user else None,
        **{
            k: (str(fields[k]).strip() or None) if fields.get(k) else None
            for k in CUSTOMER_TEXT_FIELDS
        },
    )
    session.add(customer)
    session.flush()
    record(
        session,
        by.actor,
        "customer.create",
        "customer",
        customer.id,
        seq=customer.seq,
        department=dept.code,
        tier=customer.tier,
    )
    return customer


def get_customer(session: Session, by: Caller, customer_id: int) -> Customer:
    """A customer the caller may see; any other is 'not found'."""
    customer = session.get(Customer, customer_id)
    if customer is None or not may(by, "customer.view", customer):
        if by.user is None and not by.operator:
            require(by, "customer.view", customer)
        raise NotFound("no such customer")
    return customer


def visible_customers_clause(by: Caller) -> Any:
    """A SQL condition: the customers the caller may see (for lists and search)."""
    from archive_service.access.services import granted_customers_clause

    return _visible(by, lambda dept: Customer.department_id == dept, granted_customers_clause)


def list_customers(
    session: Session,
    by: Caller,
    q: str | None = None,
    tier: str | None = None,
    department: str | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[Customer], int]:
    query = select(Customer).where(visible_customers_clause(by))
    if q:
        like = f"%{q.strip()}%"
        query = query.where(or_(Customer.name.ilike(like), Customer.credit_code == q.strip()))
    if tier:
        query = query.where(Customer.tier == tier)
    if department:
        query = query.join(Customer.department).where(
            Customer.department.has(code=department.upper())
        )
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = (
        session.execute(query.order_by(Customer.seq).offset((page - 1) * per_page).limit(per_page))
        .scalars()
        .all()
    )
    return list(rows), total


def personal_details_visible(by: Caller, customer: Customer) -> bool:
    """Identity numbers and contact details: not for those who only hold a grant."""
    decision = may(by, "customer.view", customer)
    return bool(decision) and decision.rule != "grant"


def customer_dict(customer: Customer, with_personal: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": customer.id,
        "seq": customer.seq,
        "name": customer.name,
        "customer_type": customer.customer_type,
        "tier": customer.tier,
        "scale": customer.scale,
        "industry": customer.industry,
        "business_domain": customer.business_domain,
        "business_scope": customer.business_scope,
        "registered_capital": str(customer.registered_capital)
        if customer.registered_capital is not None
        else None,
        "credit_rating": customer.credit_rating,
        "credit_limit": str(customer.credit_limit) if customer.credit_limit is not None else None,
        "department": customer.department.code,
        "responsible_clerk": customer.responsible_clerk.username
        if customer.responsible_clerk
        else None,
        "created_at": customer.created_at.isoformat(),
    }
    for f in PERSONAL_FIELDS:
        data[f] = getattr(customer, f) if with_personal else None
    return data


def category_counts(session: Session, customer_id: int) -> dict[str, int]:
    rows = session.execute(
        select(Category.code, func.count(Document.id))
        .join(Document, Document.category_id == Category.id)
        .where(Document.customer_id == customer_id, Document.status != DocumentStatus.DESTROYED)
        .group_by(Category.code)
    ).all()
    return {code: int(n) for code, n in rows}


# --- categories -------------------------------------------------------------------


def category_by_code(session: Session, code: str | None) -> Category:
    cat = None
    if code:
        cat = session.execute(select(Category).where(Category.code == code)).scalar_one_or_none()
    if cat is None or cat.parent_code is None:
        raise InvalidInput(f"unknown category {code!r} (use a second-level code)", field="category")
    return cat


def category_tree(session: Session) -> list[tuple[Category, list[Category]]]:
    cats = session.execute(select(Category).order_by(Category.position, Category.code)).scalars()
    tops: dict[str, tuple[Category, list[Category]]] = {}
    children: list[Category] = []
    for c in cats:
        if c.parent_code is None:
            tops[c.code] = (c, [])
        else:
            children.append(c)
    for c in children:
        if c.parent_code in tops:
            tops[c.parent_code][1].append(c)
    return list(tops.values())


FACT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
CATEGORY_CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,30}(\.[a-z][a-z0-9_]{0,30})?$")


def create_category(
    session: Session,
    by: Caller,
    *,
    code: str,
    name_zh: str,
    name_en: str,
    letter: str = "K",
    retention_trigger: str = "filing",
    facts: list[dict[str, Any]] | None = None,
) -> Category:
    """An admin extends the tree: a top-level code (``legal``) or a child (``legal.court``)."""
    require(by, "category.manage")
    code = (code or "").strip()
    if not CATEGORY_CODE_RE.match(code):
        raise InvalidInput(
            "code: lower-case words, one optional dot (e.g. legal.court)", field="code"
        )
    if session.execute(select(Category.id).where(Category.code == code)).first():
        raise Conflict(f"category {code} exists")
    parent = code.rsplit(".", 1)[0] if "." in code else None
    if (
        parent
        and not session.execute(
            select(Category.id).where(Category.code == parent, Category.parent_code.is_(None))
        ).first()
    ):
        raise InvalidInput(f"no top-level category {parent}", field="code")
    if not (name_zh or "").strip() or not (name_en or "").strip():
        raise InvalidInput("both names are required", field="name_zh")
    checked = []
    for spec in facts or []:
        name, kind = str(spec.get("name", "")), str(spec.get("type", "text"))
        if not FACT_NAME_RE.match(name) or kind not in {"text", "date"}:
            raise InvalidInput("facts: name in lower case, type text or date", field="facts")
        checked.append(
            {
                "name": name,
                "type": kind,
                "required": bool(spec.get("required")),
                "label_zh": str(spec.get("label_zh") or name)[:50],
            }
        )
    names = {f["name"] for f in checked}
    if retention_trigger != "filing" and retention_trigger not in names:
        raise InvalidInput(
            "retention_trigger: 'filing' or one of the date facts", field="retention_trigger"
        )
    position = (session.execute(select(func.max(Category.position))).scalar() or 0) + 1
    cat = Category(
        code=code,
        parent_code=parent,
        name_zh=name_zh.strip()[:200],
        name_en=name_en.strip()[:200],
        letter=(letter or "K").strip()[:8],
        retention_trigger=retention_trigger,
        facts=checked,
        position=position,
    )
    session.add(cat)
    session.flush()
    record(session, by.actor, "category.create", "category", cat.id, code=code)
    return cat


def _facts(category: Category, given: dict[str, Any] | None) -> dict[str, Any]:
    """The facts a category asks for: required ones present, dates parsed, others dropped."""
    given = given or {}
    out: dict[str, Any] = {}
    for spec in category.facts or []:
        name, kind = spec["name"], spec.get("type", "text")
        value = given.get(name)
        if value in (None, ""):
            if spec.get("required"):
                raise InvalidInput(f"{name} is required for {category.code}", field=name)
            continue
        if kind == "date":
            try:
                value = date.fromisoformat(str(value)).isoformat()
            except ValueError as exc:
                raise InvalidInput(f"{name} must be a date (YYYY-MM-DD)", field=name) from exc
        else:
            value = str(value).strip()[:500]
        out[name] = value
    return out


# --- upload and intake --------------------------------------------------------------


class _Limited:
    """Reads a stream, refusing it once it passes ``limit`` bytes (413, not after the fact)."""

    def __init__(self, raw: BinaryIO, head: bytes, limit: int) -> None:
        self.raw, self.head, self.limit, self.seen = raw, head, limit, 0

    def read(self, n: int = -1) -> bytes:
        if self.head:
            chunk, self.head = (
                (self.head, b"") if n < 0 or n >= len(self.head) else (self.head[:n], self.head[n:])
            )
        else:
            chunk = self.raw.read(n)
        self.seen += len(chunk)
        if self.seen > self.limit:
            raise TooLarge(f"the file is larger than {self.limit} bytes")
        return chunk


@dataclass
class Upload:
    customer_id: int
    category: str
    title: str
    retention_class: str
    document_date: date | None
    filename: str
    stream: BinaryIO
    facts: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    allow_duplicate: bool = False


def upload(
    session: Session, by: Caller, vault: Vault, up: Upload, settings: ArchiveSettings
) -> Document:
    """A clerk submits a file: checked, encrypted into the store, then queued for review."""
    try:
        customer = get_customer(session, by, up.customer_id)
    except NotFound as exc:
        raise InvalidInput("unknown customer", field="customer_id") from exc
    require(by, "document.upload", customer)
    category = category_by_code(session, up.category)
    retention_class = _choice(up.retention_class, RETENTION_CLASSES, "retention_class")
    title = (up.title or "").strip()
    if not title:
        raise InvalidInput("title is required", field="title")
    facts = _facts(category, up.facts)
    filename = intake.clean_filename(up.filename)
    head = up.stream.read(intake.SNIFF_BYTES)
    try:
        sniffed = intake.sniff(head, filename, settings.allowed_types)
    except intake.Refused as exc:
        raise {413: TooLarge, 415: UnsupportedType}.get(exc.status, InvalidInput)(
            exc.message
        ) from exc
    obj = vault.put(session, _Limited(up.stream, head, settings.max_upload_bytes))
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
    doc = Document(
        customer_id=customer.id,
        category_id=category.id,
        title=title[:500],
        document_date=up.document_date,
        status=DocumentStatus.SUBMITTED,
        retention_class=retention_class,
        facts=facts,
        tags=sorted({t.strip()[:50] for t in up.tags if t.strip()})[:30],
        needs_joint_review=customer.tier in settings.joint_review_tiers,
        uploaded_by_id=by.user.id if by.user else None,
    )
    session.add(doc)
    session.flush()
    session.add(
        DocumentVersion(
            document_id=doc.id,
            number=1,
            stored_object_id=obj.id,
            filename=filename,
            content_type=sniffed.content_type,
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
        content_type=sniffed.content_type,
        duplicate_of=duplicate[0] if duplicate else None,
    )
    indexing.extract_later(session, [doc.id])
    return doc


# --- documents ------------------------------------------------------------------------


def get_document(session: Session, by: Caller, document_id: int) -> Document:
    """A document whose metadata the caller may see; any other is 'not found'."""
    doc = session.get(Document, document_id)
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


def visible_documents_clause(by: Caller) -> Any:
    """A SQL condition: the documents the caller may open (the policy, as a filter)."""
    from archive_service.access.services import granted_documents_clause

    return _visible(
        by,
        lambda dept: Document.customer.has(Customer.department_id == dept),
        granted_documents_clause,
    )


def _visible(
    by: Caller, own_department: Callable[[int], Any], granted: Callable[[int], Any]
) -> Any:
    """The policy's visibility rule as a SQL condition, so lists, counts and pages never
    include what the caller could not open: archivists and managers see all; clerks and
    heads their department's; anyone what a live grant covers."""
    seen = visibility(by)
    if seen.everything:
        return true()
    own = own_department(seen.department_id) if seen.department_id else false()
    return or_(own, granted(seen.grants_of)) if seen.grants_of else own


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
    query = select(Document).where(visible_documents_clause(by))
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
            query.order_by(Document.id.desc()).offset((page - 1) * per_page).limit(per_page)
        )
        .scalars()
        .all()
    )
    return list(rows), total


def review_queue(session: Session, by: Caller) -> list[Document]:
    require(by, "document.review", None)
    return list(
        session.execute(
            select(Document)
            .where(Document.status == DocumentStatus.SUBMITTED)
            .order_by(Document.submitted_at)
        ).scalars()
    )


def _trigger_date(doc: Document) -> date:
    assert doc.filing_date is not None
    trigger = doc.category.retention_trigger
    if trigger != "filing" and doc.facts.get(trigger):
        return date.fromisoformat(doc.facts[trigger])
    return doc.filing_date


def recompute_disposal(
    session: Session, by: Caller, doc: Document, cause: str, settings: ArchiveSettings
) -> None:
    """Recompute the disposal date from its inputs and record the recomputation."""
    if doc.status != DocumentStatus.ACCEPTED:
        return
    old = doc.disposal_date
    doc.disposal_date = settings.retention.disposal_date(
        RetentionInputs(
            trigger_date=_trigger_date(doc),
            retention_class=doc.retention_class,
            tier=doc.customer.tier,
            on_hold=doc.on_hold,
            hold_released_on=doc.hold_released_on,
            retain_until=doc.retain_until,
        )
    )
    session.add(
        RetentionChange(
            document_id=doc.id,
            by_id=by.user.id if by.user else None,
            cause=cause,
            old_date=old,
            new_date=doc.disposal_date,
        )
    )
    session.flush()
    record(
        session,
        by.actor,
        "document.retention",
        "document",
        doc.id,
        cause=cause,
        old=old.isoformat() if old else None,
        new=doc.disposal_date.isoformat() if doc.disposal_date else None,
    )


def allocate_number(
    session: Session,
    by: Caller,
    doc: Document,
    year: int,
    reason: str,
    settings: ArchiveSettings,
) -> str:
    values: dict[str, str | int] = {
        "category": doc.category.letter,
        "customer": doc.customer.seq,
        "year": year,
        "retention": RETENTION_CODES[doc.retention_class],
        "fonds": settings.fonds,
        "department": doc.customer.department.code,
    }
    pattern = settings.number_pattern
    number = pattern.render(values, _next_in_scope(session, pattern.scope(values)))
    now = utcnow()
    if doc.archive_number:
        old = session.get(ArchiveNumber, doc.archive_number)
        if old is not None:
            old.superseded_at = now
    session.add(
        ArchiveNumber(
            number=number,
            document_id=doc.id,
            assigned_at=now,
            assigned_by_id=by.user.id if by.user else None,
            reason=reason,
        )
    )
    doc.archive_number = number
    session.flush()
    return number


def accept(session: Session, by: Caller, document_id: int, settings: ArchiveSettings) -> Document:
    """The archivist accepts: the number is allocated and the disposal date computed.

    Documents of customers in a joint-review tier (core, by default) need two
    different archivists: the first acceptance is recorded as a first review.
    """
    doc = get_document(session, by, document_id)
    require(by, "document.review", doc)
    if doc.status != DocumentStatus.SUBMITTED:
        raise Conflict(f"document is {doc.status}, not submitted")
    user_id = by.user.id if by.user else None
    if doc.needs_joint_review and doc.first_reviewer_id is None:
        doc.first_reviewer_id = user_id
        record(session, by.actor, "document.first_review", "document", doc.id)
        return doc
    if doc.needs_joint_review and doc.first_reviewer_id == user_id and user_id is not None:
        raise Conflict("a joint review needs a second, different archivist")
    today = utcnow().date()
    doc.status = DocumentStatus.ACCEPTED
    doc.accepted_at = utcnow()
    doc.accepted_by_id = user_id
    doc.filing_date = today
    number = allocate_number(session, by, doc, today.year, "accepted", settings)
    record(session, by.actor, "document.accept", "document", doc.id, archive_number=number)
    recompute_disposal(session, by, doc, "accepted", settings)
    indexing.refresh_later(session, [doc.id])
    return doc


def reclassify(
    session: Session,
    by: Caller,
    document_id: int,
    category_code: str,
    reason: str,
    settings: ArchiveSettings,
) -> Document:
    """Move an accepted document to another category: it gets a new number; the old
    one is kept in the numbering history and still finds the document."""
    doc = get_document(session, by, document_id)
    require(by, "document.review", doc)
    return apply_reclassification(session, by, doc, category_code, reason, settings)


def apply_reclassification(
    session: Session,
    by: Caller,
    doc: Document,
    category_code: str,
    reason: str,
    settings: ArchiveSettings,
) -> Document:
    """Renumber ``doc`` into another category (the caller has checked who may)."""
    if doc.status != DocumentStatus.ACCEPTED:
        raise Conflict(f"document is {doc.status}; only accepted documents are reclassified")
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", field="reason")
    category = category_by_code(session, category_code)
    if category.id == doc.category_id:
        raise Conflict("the document is already in this category")
    old_number, old_category = doc.archive_number, doc.category.code
    doc.category_id = category.id
    session.flush()
    session.refresh(doc)
    number = allocate_number(
        session, by, doc, utcnow().year, f"reclassified: {reason.strip()}", settings
    )
    record(
        session,
        by.actor,
        "document.reclassify",
        "document",
        doc.id,
        old_number=old_number,
        new_number=number,
        old_category=old_category,
        new_category=category.code,
        reason=reason.strip(),
    )
    recompute_disposal(session, by, doc, "reclassified", settings)
    indexing.refresh_later(session, [doc.id])
    return doc


def number_history(session: Session, document_id: int) -> list[ArchiveNumber]:
    return list(
        session.execute(
            select(ArchiveNumber)
            .where(ArchiveNumber.document_id == document_id)
            .order_by(ArchiveNumber.assigned_at)
        ).scalars()
    )


def retention_history(session: Session, document_id: int) -> list[RetentionChange]:
    return list(
        session.execute(
            select(RetentionChange)
            .where(RetentionChange.document_id == document_id)
            .order_by(RetentionChange.id)
        ).scalars()
    )


def register_for(session: Session, document_id: int) -> list[AccessRecord]:
    return list(
        session.execute(
            select(AccessRecord)
            .where(AccessRecord.document_id == document_id)
            .order_by(AccessRecord.id.desc())
        ).scalars()
    )


def return_to_clerk(session: Session, by: Caller, document_id: int, reason: str) -> Document:
    doc = get_document(session, by, document_id)
    require(by, "document.review", doc)
    if doc.status != DocumentStatus.SUBMITTED:
        raise Conflict(f"document is {doc.status}, not submitted")
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", field="reason")
    doc.status = DocumentStatus.RETURNED
    doc.returned_reason = reason.strip()[:1000]
    record(session, by.actor, "document.return", "document", doc.id, reason=doc.returned_reason)
    indexing.refresh_later(session, [doc.id])
    return doc


def place_hold(
    session: Session, by: Caller, document_id: int, reason: str, settings: ArchiveSettings
) -> Document:
    doc = get_document(session, by, document_id)
    require(by, "document.hold", doc)
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", field="reason")
    if doc.status == DocumentStatus.DESTROYED:
        raise Conflict("document was destroyed")
    if doc.on_hold:
        raise Conflict("document is already on hold")
    session.add(
        Hold(
            document_id=doc.id,
            reason=reason.strip()[:1000],
            placed_by_id=by.user.id if by.user else None,
        )
    )
    doc.on_hold = True
    record(session, by.actor, "document.hold", "document", doc.id, reason=reason.strip())
    recompute_disposal(session, by, doc, "hold placed", settings)
    indexing.refresh_later(session, [doc.id])
    return doc


def release_hold(
    session: Session, by: Caller, document_id: int, reason: str, settings: ArchiveSettings
) -> Document:
    doc = get_document(session, by, document_id)
    require(by, "document.hold", doc)
    if not (reason or "").strip():
        raise InvalidInput("a reason is required", field="reason")
    hold = session.execute(
        select(Hold).where(Hold.document_id == doc.id, Hold.released_at.is_(None))
    ).scalar_one_or_none()
    if hold is None or not doc.on_hold:
        raise Conflict("document is not on hold")
    now = utcnow()
    hold.released_at = now
    hold.released_by_id = by.user.id if by.user else None
    hold.release_reason = reason.strip()[:1000]
    doc.on_hold = False
    doc.hold_released_on = now.date()
    record(session, by.actor, "document.hold_release", "document", doc.id, reason=reason.strip())
    recompute_disposal(session, by, doc, "hold released", settings)
    indexing.refresh_later(session, [doc.id])
    return doc


@dataclass
class Reading:
    version: DocumentVersion
    chunks: Iterator[bytes]


def read_content(
    session: Session,
    by: Caller,
    vault: Vault,
    document_id: int,
    action: str,
    purpose: str | None = None,
    version_number: int | None = None,
) -> Reading:
    """Open a document's content; the reading is registered before a byte leaves."""
    doc = get_document(session, by, document_id)
    decision = require(by, "document.download" if action == "download" else "document.read", doc)
    if doc.status == DocumentStatus.DESTROYED:
        raise Gone("document was destroyed", tombstone=tombstone(doc))
    purpose = (purpose or "").strip() or None
    if decision.rule == "manager-registered" and not purpose:
        raise InvalidInput("managers state the purpose of each reading", field="purpose")
    version = doc.current_version
    if version_number is not None:
        version = next((v for v in doc.versions if v.number == version_number), None)
        if version is None:
            raise NotFound("no such version")
    assert version is not None and by.user is not None
    from archive_service.vault.models import StoredObject

    obj = session.get(StoredObject, version.stored_object_id)
    assert obj is not None
    session.add(
        AccessRecord(
            user_id=by.user.id,
            username=by.user.username,
            document_id=doc.id,
            archive_number=doc.archive_number,
            action=action,
            purpose=purpose,
            rule=decision.rule,
            grant_id=decision.grant_id,
        )
    )
    record(
        session,
        by.actor,
        f"document.{action}",
        "document",
        doc.id,
        version=version.number,
        purpose=purpose,
        rule=decision.rule,
        grant_id=decision.grant_id,
    )
    return Reading(version=version, chunks=vault.open(obj))


def document_dict(doc: Document) -> dict[str, Any]:
    v = doc.current_version
    return {
        "id": doc.id,
        "customer_id": doc.customer_id,
        "category": doc.category.code,
        "title": doc.title,
        "document_date": doc.document_date.isoformat() if doc.document_date else None,
        "status": doc.status,
        "archive_number": doc.archive_number,
        "retention_class": doc.retention_class,
        "filing_date": doc.filing_date.isoformat() if doc.filing_date else None,
        "disposal_date": doc.disposal_date.isoformat() if doc.disposal_date else None,
        "on_hold": doc.on_hold,
        "needs_joint_review": doc.needs_joint_review,
        "returned_reason": doc.returned_reason,
        "tags": doc.tags,
        "facts": doc.facts,
        "sha256": v.sha256 if v else None,
        "size": v.size if v else None,
        "content_type": v.content_type if v else None,
        "filename": v.filename if v else None,
        "versions": [
            {
                "number": x.number,
                "sha256": x.sha256,
                "size": x.size,
                "filename": x.filename,
                "content_type": x.content_type,
                "created_at": x.created_at.isoformat(),
            }
            for x in doc.versions
        ],
    }


def tombstone(doc: Document) -> dict[str, Any]:
    """What remains of a destroyed document: enough to prove what it was."""
    v = doc.current_version
    return {
        "id": doc.id,
        "archive_number": doc.archive_number,
        "title": doc.title,
        "category": doc.category.code,
        "customer": doc.customer.name,
        "sha256": v.sha256 if v else None,
        "destroyed_at": doc.destroyed_at.isoformat() if doc.destroyed_at else None,
        "destruction": doc.destruction_ref,
    }
