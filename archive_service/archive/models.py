"""Customers, categories, documents and their versions, numbers, hold cases, retention
history."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from archive_service.accounts.models import Department, User
from archive_service.archive.vocabulary import DocumentStatus
from archive_service.db import Base, UTCDateTime, utcnow


class Fonds(Base):
    """A fonds (全宗): the archive of one legal entity of a group, with its own code and
    numbering series. Optional: a customer without one is in the default fonds of the
    settings (``ARCHIVE_FONDS``), and a single-company install has none."""

    __tablename__ = "fonds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Customer(Base):
    """A customer's archive (客户档案)."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)  # 客户序号, used in archive numbers
    name: Mapped[str] = mapped_column(String(300), index=True)
    customer_type: Mapped[str] = mapped_column(String(16))
    credit_code: Mapped[str | None] = mapped_column(String(64), index=True)
    legal_representative: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    phone: Mapped[str | None] = mapped_column(String(64))
    fax: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    business_scope: Mapped[str | None] = mapped_column(Text)
    registered_capital: Mapped[Decimal | None] = mapped_column(Numeric(20, 2))
    industry: Mapped[str | None] = mapped_column(String(200))
    business_domain: Mapped[str | None] = mapped_column(String(200))
    scale: Mapped[str | None] = mapped_column(String(16))
    tier: Mapped[str] = mapped_column(String(16), default="ordinary")
    credit_rating: Mapped[str | None] = mapped_column(String(32))
    credit_limit: Mapped[Decimal | None] = mapped_column(Numeric(20, 2))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    responsible_clerk_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    revision: Mapped[int] = mapped_column(Integer, default=1)  # bumped by each applied change
    # The customer relationship's end (合作终止): set by an applied change request, with its
    # reason; retention of the categories that wait for it runs from this date.
    relationship_ended_on: Mapped[date | None] = mapped_column(Date)
    relationship_end_reason: Mapped[str | None] = mapped_column(String(1000))
    fonds_id: Mapped[int | None] = mapped_column(ForeignKey("fonds.id"), index=True)

    department: Mapped[Department] = relationship(lazy="joined")
    fonds: Mapped[Fonds | None] = relationship()
    # Loaded when asked for (from the session's identity map, usually): joined here, every
    # customer loaded would re-read the clerk's roles (the user's selectin), hit or not.
    responsible_clerk: Mapped[User | None] = relationship()


class Category(Base):
    """A node of the two-level category tree (档案内容); data an admin can extend."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    parent_code: Mapped[str | None] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    letter: Mapped[str] = mapped_column(String(8), default="K")  # archive category in numbers
    # "filing" (the acceptance date) or the name of a date fact, e.g. "valid_until".
    # What starts the retention clock: the latest of these dates (archive.retention_events).
    retention_triggers: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["filing"])
    facts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # When its documents are due in the archive (归档时限), ``archive.deadlines``:
    # {"days": 5, "after": "document_date"} or after one of its date facts.
    filing_deadline: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=lambda: {"days": 5, "after": "document_date"}
    )
    position: Mapped[int] = mapped_column(Integer, default=0)


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    document_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=DocumentStatus.SUBMITTED, index=True)
    archive_number: Mapped[str | None] = mapped_column(String(64), unique=True)
    retention_class: Mapped[str] = mapped_column(String(16))
    filing_date: Mapped[date | None] = mapped_column(Date)
    disposal_date: Mapped[date | None] = mapped_column(Date, index=True)
    on_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    hold_released_on: Mapped[date | None] = mapped_column(Date)
    retain_until: Mapped[date | None] = mapped_column(Date)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    needs_joint_review: Mapped[bool] = mapped_column(Boolean, default=False)
    first_reviewer_id: Mapped[int | None] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # The filing deadline (归档时限) judged at submission: the due date, the date it ran
    # from ("document_date" or a fact's name), and the working days the submission came
    # after it (0: on time). All None: not judged (no date to count from, or an import).
    filing_due_on: Mapped[date | None] = mapped_column(Date)
    filing_due_basis: Mapped[str | None] = mapped_column(String(64))
    filing_late_days: Mapped[int | None] = mapped_column(Integer)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    accepted_by_id: Mapped[int | None] = mapped_column(Integer)
    returned_reason: Mapped[str | None] = mapped_column(String(1000))
    destroyed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    destruction_ref: Mapped[str | None] = mapped_column(String(64))
    # A confirmed transfer (移交): when, which, and whether this copy goes after it.
    transferred_on: Mapped[date | None] = mapped_column(Date)
    transfer_ref: Mapped[str | None] = mapped_column(String(64))
    transfer_disposal: Mapped[bool] = mapped_column(Boolean, default=False)
    revision: Mapped[int] = mapped_column(Integer, default=1)  # bumped by each applied change
    # The text rendition: extracted text of the current version, encrypted like a document,
    # used to re-index without re-extracting and to highlight hits. The index keeps no text.
    text_object_id: Mapped[int | None] = mapped_column(ForeignKey("stored_objects.id"))
    extraction: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|failed
    extraction_error: Mapped[str | None] = mapped_column(String(300))
    # A failed extraction: why (search.extract.REASONS), how many tries failed, and when the
    # repair job tries again (None: not automatically). See indexing/rules.py.
    extraction_reason: Mapped[str | None] = mapped_column(String(16))
    extraction_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    extraction_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # OCR progress of a paged file (indexing/continuation.py): pages of the current version
    # whose text is in the rendition, of how many; "running" while a continuation reads on
    # past ARCHIVE_OCR_MAX_PAGES, "failed" when its batch failed (retried at ocr_retry_at),
    # "done" when every page was read. None: the file has no pages or needed no OCR.
    ocr_pages_read: Mapped[int | None] = mapped_column(Integer)
    ocr_pages_total: Mapped[int | None] = mapped_column(Integer)
    ocr_state: Mapped[str | None] = mapped_column(String(16))
    ocr_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    ocr_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ocr_touched_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # last progress

    customer: Mapped[Customer] = relationship(lazy="joined")
    category: Mapped[Category] = relationship(lazy="joined")
    uploaded_by: Mapped[User | None] = relationship()  # when asked for, as responsible_clerk
    versions: Mapped[list[DocumentVersion]] = relationship(
        lazy="selectin", order_by="DocumentVersion.number", back_populates="document"
    )

    @property
    def current_version(self) -> DocumentVersion | None:
        return self.versions[-1] if self.versions else None

    @property
    def filed_late(self) -> bool:
        return bool(self.filing_late_days)


class DocumentVersion(Base):
    __tablename__ = "document_versions"
    __table_args__ = (UniqueConstraint("document_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    stored_object_id: Mapped[int] = mapped_column(ForeignKey("stored_objects.id"))
    filename: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(128))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # SM3 of the plaintext, taken by the extraction task (migration 0025); None until then.
    sm3: Mapped[str | None] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    document: Mapped[Document] = relationship(back_populates="versions")


class Rendition(Base):
    """A derived file of one version (预览件): the preview PDF or the first page's thumbnail.

    Encrypted like the version and made once per version by the preview task
    (``viewing/previews.py``); a failure is kept with its reason class, so it is not tried
    again and again. A PDF is its own preview: its ``preview_pdf`` row points at the
    version's own object (``shares_original``) instead of a copy. Destroyed with the
    document (``disposal/execution._objects_of``).
    """

    __tablename__ = "renditions"
    __table_args__ = (UniqueConstraint("version_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("document_versions.id"))
    kind: Mapped[str] = mapped_column(String(16))  # preview_pdf | thumbnail
    status: Mapped[str] = mapped_column(String(16))  # made | failed
    stored_object_id: Mapped[int | None] = mapped_column(ForeignKey("stored_objects.id"))
    shares_original: Mapped[bool] = mapped_column(Boolean, default=False)
    pages: Mapped[int | None] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)  # of a thumbnail, in pixels
    height: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(16))  # viewing.render.REASONS
    error: Mapped[str | None] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    made_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class NumberCounter(Base):
    """The last number handed out in one scope; taken under a row lock."""

    __tablename__ = "number_counters"

    scope: Mapped[str] = mapped_column(String(300), primary_key=True)
    last_value: Mapped[int] = mapped_column(Integer, default=0)
    # The series' completeness check (四性检测) found every number 1 … this present: the
    # next check starts after it (numbers are never deleted, so none of them can go).
    checked_through: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ArchiveNumber(Base):
    """Every number a document has had; an old number still finds the document."""

    __tablename__ = "archive_numbers"

    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    assigned_by_id: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HoldCase(Base):
    """A hold case (保全事项: a dispute, litigation, audit or open matter). While it is open
    nothing it holds — its documents, and every document of its customers, later ones
    too — can be destroyed, and their clock stops. ``per_document`` marks the cases the
    per-document hold routes place: one document, named by the reason."""

    __tablename__ = "hold_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    basis: Mapped[str] = mapped_column(String(16))  # archive.vocabulary.HOLD_BASES
    reference: Mapped[str | None] = mapped_column(String(100))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(String(1000))
    per_document: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    released_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    release_reason: Mapped[str | None] = mapped_column(String(1000))

    owner: Mapped[User | None] = relationship(foreign_keys=[owner_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    released_by: Mapped[User | None] = relationship(foreign_keys=[released_by_id])
    items: Mapped[list[HoldItem]] = relationship(
        lazy="selectin", order_by="HoldItem.id", back_populates="case"
    )


class HoldItem(Base):
    """A document or a whole customer in a hold case, with when and by whom it was added
    (the case's history: items added in one step share their time)."""

    __tablename__ = "hold_items"
    # Each leads with the item, so "which cases hold this document" reads an index.
    __table_args__ = (
        UniqueConstraint("document_id", "case_id"),
        UniqueConstraint("customer_id", "case_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("hold_cases.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[HoldCase] = relationship(back_populates="items")
    added_by: Mapped[User | None] = relationship()


class RetentionChange(Base):
    """Each recomputation of a disposal date, with its cause."""

    __tablename__ = "retention_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_id: Mapped[int | None] = mapped_column(Integer)
    cause: Mapped[str] = mapped_column(String(200))
    old_date: Mapped[date | None] = mapped_column(Date)
    new_date: Mapped[date | None] = mapped_column(Date)


class AccessRecord(Base):
    """The access register (查阅登记): every reading of a document's content."""

    __tablename__ = "access_register"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    user_id: Mapped[int] = mapped_column(Integer, index=True)
    username: Mapped[str] = mapped_column(String(150), index=True)  # the register's filter
    document_id: Mapped[int] = mapped_column(Integer, index=True)
    archive_number: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # view, preview, download
    grant_id: Mapped[int | None] = mapped_column(Integer)
    purpose: Mapped[str | None] = mapped_column(String(1000))
    rule: Mapped[str] = mapped_column(String(64))
    # Supervised viewing: the session, the page shown, and the supervisor present.
    viewing_session_id: Mapped[int | None] = mapped_column(Integer, index=True)
    page: Mapped[int | None] = mapped_column(Integer)
    supervisor: Mapped[str | None] = mapped_column(String(150))


class ImportBatch(Base):
    """One import of an existing archive (档案导入批次): a manifest and its files folder. A
    run that stops (killed, or at a row that fails) leaves the batch open; running the same
    manifest again continues it (``archive.importing``)."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    manifest_name: Mapped[str] = mapped_column(String(300))
    manifest_sha256: Mapped[str] = mapped_column(String(64), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_by_id: Mapped[int | None] = mapped_column(Integer)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rows_total: Mapped[int] = mapped_column(Integer, default=0)
    rows_imported: Mapped[int] = mapped_column(Integer, default=0)
    rows_skipped: Mapped[int] = mapped_column(Integer, default=0)
    rows_failed: Mapped[int] = mapped_column(Integer, default=0)


class ImportedRow(Base):
    """A manifest row an import stored, by its row key (the old archive number, or a digest
    of the row) and its file's SHA-256: a row whose key is here is not imported again."""

    __tablename__ = "imported_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id"), index=True)
    row_number: Mapped[int] = mapped_column(Integer)
    row_key: Mapped[str] = mapped_column(String(128), unique=True)
    sha256: Mapped[str] = mapped_column(String(64))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    # stored (uploaded, not yet accepted) | accepted | checks_failed | first_review
    status: Mapped[str] = mapped_column(String(16))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
