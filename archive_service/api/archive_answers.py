"""What the archive's API operations answer: customers, categories and documents, as
``archive/serializers.py`` builds them (described for the OpenAPI, not reshaped)."""

from __future__ import annotations

from typing import Any

from apiflask.fields import Boolean, Dict, Float, Integer, List, Nested, String

from archive_service.api.common import Out, listing
from archive_service.archive import serializers
from archive_service.http import runtime


def document_out(doc: Any) -> dict[str, Any]:
    """A document as DocumentOut describes it, with the retention rules in force."""
    return serializers.document_dict(doc, runtime().archive.retention)


class CustomerOut(Out):
    """A customer; the personal details are null for callers who may not see them."""

    id = Integer()
    seq = Integer()
    name = String()
    customer_type = String()
    tier = String()
    scale = String(allow_none=True)
    industry = String(allow_none=True)
    business_domain = String(allow_none=True)
    business_scope = String(allow_none=True)
    registered_capital = String(allow_none=True)
    credit_rating = String(allow_none=True)
    credit_limit = String(allow_none=True)
    department = String()
    fonds = String(allow_none=True)  # null: the default fonds (ARCHIVE_FONDS)
    responsible_clerk = String(allow_none=True)
    created_at = String()
    relationship = String()  # active, or ended (合作终止) by an applied change request
    relationship_ended_on = String(allow_none=True)
    relationship_end_reason = String(allow_none=True)
    credit_code = String(allow_none=True)
    legal_representative = String(allow_none=True)
    address = String(allow_none=True)
    phone = String(allow_none=True)
    fax = String(allow_none=True)
    email = String(allow_none=True)


class CustomerItem(CustomerOut):
    """A customer in a list."""


class CustomerDetailOut(CustomerOut):
    documents_by_category = Dict(keys=String(), values=Integer())


CustomersOut = listing("CustomersOut", CustomerItem)


class VersionOut(Out):
    number = Integer()
    sha256 = String()
    size = Integer()
    filename = String()
    content_type = String()
    created_at = String()


class OcrProgressOut(Out):
    """How far OCR of a scanned file has read: pages past ARCHIVE_OCR_MAX_PAGES are read
    in the background, batch by batch."""

    pages_read = Integer()
    pages_total = Integer()
    running = Boolean()  # pages still wait and will be read (a failed batch is retried)
    failed = Boolean()  # the last batch failed
    retry_at = String(allow_none=True)  # when a failed batch is tried again (null: not)


class WordsOut(Out):
    """Words in both languages."""

    en = String()
    zh = String()


class RetentionOut(Out):
    """The retention class's code in numbers and exports (DA/T 13: Y, D30, D10) and the
    rule or regulation it comes from."""

    code = String()
    authority = Nested(WordsOut, allow_none=True)


class FilingDeadlineOut(Out):
    """The filing deadline (归档时限) the submission was judged against."""

    due_on = String()
    after = String(metadata={"description": "document_date or the date fact it ran from"})
    late = Boolean()
    late_working_days = Integer()


class DocumentOut(Out):
    """A document's metadata (its file's are those of the current version)."""

    id = Integer()
    customer_id = Integer()
    category = String()
    title = String()
    document_date = String(allow_none=True)
    status = String()
    archive_number = String(allow_none=True)
    retention_class = String()
    retention = Nested(RetentionOut)
    filing_date = String(allow_none=True)
    disposal_date = String(allow_none=True)
    on_hold = Boolean()
    needs_joint_review = Boolean()
    returned_reason = String(allow_none=True)
    tags = List(String())
    facts = Dict()
    sha256 = String(allow_none=True)
    size = Integer(allow_none=True)
    content_type = String(allow_none=True)
    filename = String(allow_none=True)
    ocr = Nested(OcrProgressOut, allow_none=True)  # null: no page of the file needed OCR
    submitted_at = String(allow_none=True)
    # null: not judged (an import, a transfer received, or no date to count from)
    filing_deadline = Nested(FilingDeadlineOut, allow_none=True)
    versions = List(Nested(VersionOut))


class DocumentHit(DocumentOut):
    """A document in a list; a search hit also carries its score and snippets."""

    score = Float()
    snippets = List(String())


DocumentsOut = listing("DocumentsOut", DocumentHit)


class QueueItem(DocumentOut):
    """A submission waiting for review."""


ReviewQueueOut = listing("ReviewQueueOut", QueueItem)
