"""Reading a document's content: the one check, then the access register (查阅登记),
then the verified plaintext — registered before a byte leaves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.archive.documents import get_document
from archive_service.archive.models import AccessRecord, DocumentStatus, DocumentVersion
from archive_service.archive.serializers import tombstone
from archive_service.audit.services import record
from archive_service.errors import Gone, InvalidInput, NotFound
from archive_service.policy import Caller, require
from archive_service.vault.models import StoredObject
from archive_service.vault.services import Vault


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
    """Open a document's original file (``action``: preview or download); the reading is
    registered before a byte leaves. Both hand out the original bytes, so both need
    ``document.download``: a view-only reader is shown page images instead
    (``viewing.page_views``)."""
    doc = get_document(session, by, document_id)
    decision = require(by, "document.download", doc)
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


def register_for(session: Session, document_id: int) -> list[AccessRecord]:
    """Who read this document, newest first (shown on its page to those who may see it)."""
    return list(
        session.execute(
            select(AccessRecord)
            .where(AccessRecord.document_id == document_id)
            .order_by(AccessRecord.id.desc())
        ).scalars()
    )
