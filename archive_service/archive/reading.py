"""Reading a document's content: the one check, then the access register (查阅登记),
then the verified plaintext — registered before a byte leaves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.documents import get_document
from archive_service.archive.models import (
    AccessRecord,
    Document,
    DocumentStatus,
    DocumentVersion,
    Rendition,
)
from archive_service.archive.serializers import tombstone
from archive_service.archive.vocabulary import PREVIEW_PENDING, PREVIEW_PROBLEMS, RENDITION_KINDS
from archive_service.audit.services import record
from archive_service.errors import Conflict, Gone, InvalidInput, NotFound
from archive_service.policy import Caller, Decision, require
from archive_service.vault.models import StoredObject
from archive_service.vault.services import Vault


@dataclass
class Reading:
    version: DocumentVersion
    chunks: Iterator[bytes]


@dataclass
class RenditionReading:
    """A preview or thumbnail opened for the caller (decrypted, verified chunks)."""

    version: DocumentVersion
    rendition: Rendition
    stored: StoredObject
    chunks: Iterator[bytes]


class PreviewUnavailable(Conflict):
    """No preview to show yet, or none could be made; ``term`` holds the words for it."""

    def __init__(self, reason: str) -> None:
        self.term = PREVIEW_PROBLEMS.get(reason) or PREVIEW_PROBLEMS[PREVIEW_PENDING]
        super().__init__(self.term.label.english, reason=reason)


def read_content(
    session: Session,
    by: Caller,
    vault: Vault,
    document_id: int,
    action: str,
    purpose: str | None = None,
    version_number: int | None = None,
) -> Reading:
    """Open a document's original file (``action``: preview or download); the reading is
    registered before a byte leaves. Both hand out the original bytes, so both need
    ``document.download``: a view-only reader is shown page images instead
    (``viewing.page_views``)."""
    doc, version, decision, purpose = _checked(session, by, document_id, purpose, version_number)
    obj = session.get(StoredObject, version.stored_object_id)
    assert obj is not None
    _register(session, by, doc, version, decision, action, purpose)
    return Reading(version=version, chunks=vault.open(obj))


def read_rendition(
    session: Session,
    by: Caller,
    vault: Vault,
    document_id: int,
    kind: str,
    purpose: str | None = None,
) -> RenditionReading:
    """Open the current version's preview PDF or thumbnail (``kind``), registered like the
    file it is derived from (``preview``, ``thumbnail``). A derived PDF can be saved as
    easily as the original, and a thumbnail carries no watermark: both need
    ``document.download``, and a view-only reader gets watermarked page images instead.
    Raises :class:`PreviewUnavailable` (409) while it is being made or when it failed."""
    if kind not in RENDITION_KINDS:
        raise NotFound("no such rendition")
    doc, version, decision, purpose = _checked(session, by, document_id, purpose, None)
    rendition = session.execute(
        select(Rendition).where(Rendition.version_id == version.id, Rendition.kind == kind)
    ).scalar_one_or_none()
    if rendition is None:
        raise PreviewUnavailable(PREVIEW_PENDING)
    if rendition.status != "made" or rendition.stored_object_id is None:
        raise PreviewUnavailable(rendition.reason or "error")
    obj = session.get(StoredObject, rendition.stored_object_id)
    if obj is None or obj.wrapped_key is None:
        raise PreviewUnavailable("error")
    action = "thumbnail" if kind == "thumbnail" else "preview"
    _register(session, by, doc, version, decision, action, purpose, rendition=kind)
    return RenditionReading(version, rendition, obj, vault.open(obj))


def _checked(
    session: Session,
    by: Caller,
    document_id: int,
    purpose: str | None,
    version_number: int | None,
) -> tuple[Document, DocumentVersion, Decision, str | None]:
    """The one check of a reading of content: may the caller have the bytes?"""
    doc = get_document(session, by, document_id)
    decision = require(by, "document.download", doc)
    if doc.status == DocumentStatus.DESTROYED:
        raise Gone("document was destroyed", tombstone=tombstone(doc))
    purpose = (purpose or "").strip() or None
    if decision.purpose:
        purpose = decision.purpose  # the rule's own purpose (an audit sampling's reading)
    if decision.rule == "manager-registered" and not purpose:
        raise InvalidInput("managers state the purpose of each reading", field="purpose")
    version = doc.current_version
    if version_number is not None:
        version = next((v for v in doc.versions if v.number == version_number), None)
        if version is None:
            raise NotFound("no such version")
    assert version is not None and by.user is not None
    return doc, version, decision, purpose


def _register(
    session: Session,
    by: Caller,
    doc: Document,
    version: DocumentVersion,
    decision: Decision,
    action: str,
    purpose: str | None,
    **extra: Any,
) -> None:
    """The access register's row and the audit event, before a byte leaves."""
    assert by.user is not None
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
        **extra,
    )


def register_for(session: Session, document_id: int) -> list[AccessRecord]:
    """Who read this document, newest first (shown on its page to those who may see it)."""
    return list(
        session.execute(
            select(AccessRecord)
            .where(AccessRecord.document_id == document_id)
            .order_by(AccessRecord.id.desc())
        ).scalars()
    )
