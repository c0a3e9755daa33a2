"""Customers and documents as the API shows them (and the tombstone of a destroyed one)."""

from __future__ import annotations

from typing import Any

from archive_service.archive.customers import PERSONAL_FIELDS
from archive_service.archive.models import Customer, Document
from archive_service.archive.retention import RetentionRules
from archive_service.vocabulary import both_languages


def _text(value: Any) -> str | None:
    return str(value) if value is not None else None


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
        "registered_capital": _text(customer.registered_capital),
        "credit_rating": customer.credit_rating,
        "credit_limit": _text(customer.credit_limit),
        "department": customer.department.code,
        "fonds": customer.fonds.code if customer.fonds else None,
        "responsible_clerk": customer.responsible_clerk.username
        if customer.responsible_clerk
        else None,
        "created_at": customer.created_at.isoformat(),
        "relationship": "ended" if customer.relationship_ended_on else "active",
        "relationship_ended_on": customer.relationship_ended_on.isoformat()
        if customer.relationship_ended_on
        else None,
        "relationship_end_reason": customer.relationship_end_reason,
    }
    for f in PERSONAL_FIELDS:
        data[f] = getattr(customer, f) if with_personal else None
    return data


def retention_dict(rules: RetentionRules, retention_class: str) -> dict[str, Any]:
    """A retention class's code and its authority (the rule it comes from) in both
    languages, as the API and the exports show them."""
    authority = rules.authority(retention_class)
    return {
        "code": rules.code(retention_class),
        "authority": both_languages(authority) if authority is not None else None,
    }


def document_dict(doc: Document, rules: RetentionRules) -> dict[str, Any]:
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
        "retention": retention_dict(rules, doc.retention_class),
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
        "ocr": ocr_progress(doc),
        "submitted_at": doc.submitted_at.isoformat() if doc.submitted_at else None,
        "filing_deadline": filing_deadline(doc),
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


def filing_deadline(doc: Document) -> dict[str, Any] | None:
    """When the document was due in the archive and how late it came (None: not judged —
    imported, received by transfer, or no date to count from)."""
    if doc.filing_due_on is None:
        return None
    return {
        "due_on": doc.filing_due_on.isoformat(),
        "after": doc.filing_due_basis,
        "late": doc.filed_late,
        "late_working_days": doc.filing_late_days or 0,
    }


def ocr_progress(doc: Document) -> dict[str, Any] | None:
    """How far OCR of a paged file has read (None: no pages needed OCR)."""
    if doc.ocr_pages_total is None or doc.status == "destroyed":
        return None
    return {
        "pages_read": doc.ocr_pages_read or 0,
        "pages_total": doc.ocr_pages_total,
        # Pages still wait and will be read: a batch under way, or a failed one to be retried.
        "running": doc.ocr_state == "running"
        or (doc.ocr_state == "failed" and doc.ocr_retry_at is not None),
        "failed": doc.ocr_state == "failed",  # the last batch failed
        "retry_at": doc.ocr_retry_at.isoformat() if doc.ocr_retry_at else None,
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
