"""Page images for readers outside supervised sessions: what a view-only reader (a grant in
mode ``view``, see the policy's ``document.download``) is shown instead of the file.

As in a supervised session, the server renders each page with the reader, their
organisation or department, the time and the grant burned in, and registers the page in
the access register (``view``, with the page) before it leaves. The decrypted copy lives in
the reader's private folder under the temp area and is wiped once idle
(:func:`archive_service.viewing.sessions.end_overdue`). Anyone who may read the document
may page through it so; those who may also download keep the original file as well.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager

from sqlalchemy.orm import Session

from archive_service.archive.documents import get_document
from archive_service.archive.models import AccessRecord, Document, DocumentStatus
from archive_service.archive.serializers import tombstone
from archive_service.audit.services import record
from archive_service.errors import Conflict, Gone, InvalidInput
from archive_service.policy import Caller, Decision, require
from archive_service.vault.models import StoredObject
from archive_service.viewing import render
from archive_service.viewing.pages import PageSource, prepare, render_page
from archive_service.viewing.workspace import Workspace

UnitOfWork = Callable[[], AbstractContextManager[Session]]


def _readable(
    session: Session, by: Caller, document_id: int, purpose: str | None
) -> tuple[Document, Decision, str | None]:
    """The document and the decision that lets the caller read it (the one check)."""
    doc = get_document(session, by, document_id)
    decision = require(by, "document.read", doc)
    if doc.status == DocumentStatus.DESTROYED:
        raise Gone("document was destroyed", tombstone=tombstone(doc))
    purpose = (purpose or "").strip()[:1000] or None
    if decision.purpose:
        purpose = decision.purpose  # the rule's own purpose (an audit sampling's reading)
    if decision.rule == "manager-registered" and not purpose:
        raise InvalidInput("managers state the purpose of each reading", field="purpose")
    return doc, decision, purpose


def page_source(
    session: Session, by: Caller, workspace: Workspace, document_id: int, purpose: str | None
) -> PageSource:
    """Check that the caller may read the document, and what rendering its pages needs."""
    doc, decision, _purpose = _readable(session, by, document_id, purpose)
    version = doc.current_version
    assert version is not None and by.user is not None
    if version.content_type not in render.RENDERABLE:
        raise Conflict(f"documents of type {version.content_type} cannot be shown page by page")
    obj = session.get(StoredObject, version.stored_object_id)
    assert obj is not None
    user = by.user
    department = user.department.name if user.department is not None else ""
    return PageSource(
        session_id=None,
        label=f"G{decision.grant_id}" if decision.grant_id else "",
        document_id=doc.id,
        folder=workspace.reader_folder(user.id) / f"d{doc.id}v{version.number}",
        content_type=version.content_type,
        stored_object=obj,
        viewer=user.display_name,
        organisation=user.organisation or department,
    )


def register_page(
    session: Session, by: Caller, document_id: int, page: int, purpose: str | None
) -> None:
    """Check again (a grant revoked while the page was rendered wins), then register the
    page view before it leaves."""
    doc, decision, purpose = _readable(session, by, document_id, purpose)
    assert by.user is not None
    session.add(
        AccessRecord(
            user_id=by.user.id,
            username=by.user.username,
            document_id=doc.id,
            archive_number=doc.archive_number,
            action="view",
            purpose=purpose,
            rule=decision.rule,
            grant_id=decision.grant_id,
            page=page,
        )
    )
    record(
        session,
        by.actor,
        "document.view_page",
        "document",
        doc.id,
        page=page,
        purpose=purpose,
        rule=decision.rule,
        grant_id=decision.grant_id,
    )


def page_total(
    uow: UnitOfWork, by: Caller, workspace: Workspace, document_id: int, purpose: str | None
) -> int:
    """How many pages the document shows (prepared outside the transaction)."""
    with uow() as s:
        source = page_source(s, by, workspace, document_id, purpose)
    return prepare(workspace, source).pages


def show_page(
    uow: UnitOfWork,
    by: Caller,
    workspace: Workspace,
    document_id: int,
    page: int,
    purpose: str | None = None,
) -> bytes:
    """Check, render outside any transaction, then check again and register: only a page
    registered while the caller may still read the document leaves the server."""
    with uow() as s:
        source = page_source(s, by, workspace, document_id, purpose)
    png = render_page(workspace, source, page)
    os.utime(source.folder)  # in use: the idle wipe counts from the last page shown
    with uow() as s:
        register_page(s, by, document_id, page, purpose)
    return png
