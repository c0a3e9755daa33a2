"""What an external viewer sees: the documents of their open session, as page images the
server renders with the viewer, organisation, time and session burned in — never a file.

Showing a page is one use case (:func:`show_page`): check the caller and the session in a
short transaction, render outside any transaction (it can take seconds, and on SQLite an
open transaction holds the write lock), then check again and register the page before it
leaves — a session ended while the page was rendered wins.
"""

from __future__ import annotations

import fcntl
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive_service.access.coverage import grant_covers, grant_documents_clause
from archive_service.archive.models import AccessRecord, Document, DocumentStatus
from archive_service.audit.services import record
from archive_service.db import utcnow
from archive_service.errors import Conflict, NotAllowed, NotFound
from archive_service.policy import Caller, may, require
from archive_service.vault.models import StoredObject
from archive_service.viewing import render
from archive_service.viewing.models import ViewingSession
from archive_service.viewing.sessions import settle
from archive_service.viewing.workspace import Workspace

UnitOfWork = Callable[[], AbstractContextManager[Session]]


def _viewer_session(session: Session, by: Caller, session_id: int) -> ViewingSession:
    """The regulator's own session, open right now; anything else is refused. A session
    the caller takes no part in is answered as one that does not exist."""
    vs = session.get(ViewingSession, session_id)
    if vs is None or (by.user is not None and not may(by, "viewing.see", vs)):
        raise NotFound("no such session")
    require(by, "viewing.view", vs)
    settle(session, vs)
    if vs.closed_at is not None:
        raise NotAllowed(
            f"session {vs.label} has ended ({vs.end_reason}); your supervisor opens a new one",
            rule="session-ended",
        )
    return vs


def documents(session: Session, by: Caller, session_id: int) -> list[Document]:
    """The documents the session's grant covers (accepted, not destroyed)."""
    vs = _viewer_session(session, by, session_id)
    return list(
        session.execute(
            select(Document)
            .where(
                grant_documents_clause(vs.grant_id),
                Document.status == DocumentStatus.ACCEPTED,
            )
            .order_by(Document.archive_number)
        ).scalars()
    )


def _document(session: Session, vs: ViewingSession, document_id: int) -> Document:
    """A document of this session: accepted and covered by the session's own grant (not
    another grant of the viewer's, which has its own supervisor and session)."""
    doc = session.get(Document, document_id)
    if (
        doc is None
        or doc.status != DocumentStatus.ACCEPTED
        or not grant_covers(session, vs.grant_id, doc)
    ):
        raise NotFound("no such document in this session")
    return doc


@dataclass(frozen=True)
class Prepared:
    path: Path
    content_type: str
    pages: int


@dataclass(frozen=True)
class PageSource:
    """What showing a document's pages needs, read inside the transaction that checked the
    caller; rendering then runs outside any transaction (it can take seconds, and on
    SQLite an open transaction holds the write lock)."""

    session_id: int | None  # None: a view-only reader's page outside any session
    label: str
    document_id: int
    folder: Path
    content_type: str
    stored_object: StoredObject
    viewer: str
    organisation: str


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # Every level it creates is private (mkdir's parents would get the umask's mode).
    for level in reversed([folder, *folder.parents]):
        if not level.exists():
            level.mkdir(mode=0o700, exist_ok=True)
    with (folder / ".lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def page_source(
    session: Session, by: Caller, workspace: Workspace, session_id: int, document_id: int
) -> PageSource:
    """Check that the caller views in this open session and that it covers the document."""
    vs = _viewer_session(session, by, session_id)
    doc = _document(session, vs, document_id)
    version = doc.current_version
    assert version is not None
    if version.content_type not in render.RENDERABLE:
        raise Conflict(f"documents of type {version.content_type} cannot be shown page by page")
    obj = session.get(StoredObject, version.stored_object_id)
    assert obj is not None
    regulator = vs.regulator
    return PageSource(
        session_id=vs.id,
        label=vs.label,
        document_id=doc.id,
        folder=workspace.folder(vs.id) / f"d{doc.id}v{version.number}",
        content_type=version.content_type,
        stored_object=obj,
        viewer=regulator.display_name,
        organisation=regulator.organisation or "",
    )


def prepare(workspace: Workspace, source: PageSource) -> Prepared:
    """The document, decrypted once per session into its private folder and made renderable."""
    folder = source.folder
    with _locked(folder):
        marker = folder / "prepared"
        if marker.exists():
            name, _, count = marker.read_text().partition("\n")
            return Prepared(folder / name, source.content_type, int(count))
        original = folder / "original"
        with original.open("wb") as out:
            for chunk in workspace.vault.open(source.stored_object):
                out.write(chunk)
        try:
            ready = render.prepare(
                original, source.content_type, folder, timeout=workspace.render_timeout
            )
            pages = render.page_count(ready, source.content_type)
        except render.RenderError as exc:
            raise Conflict(f"this document cannot be shown: {exc}") from exc
        marker.write_text(f"{ready.relative_to(folder)}\n{pages}")
        return Prepared(ready, source.content_type, pages)


def render_page(workspace: Workspace, source: PageSource, page: int) -> bytes:
    """One page as a PNG with the viewer, organisation, time and session burned in."""
    prepared = prepare(workspace, source)
    if not 1 <= page <= prepared.pages:
        raise NotFound(f"page {page} does not exist (the document has {prepared.pages})")
    mark = render.Watermark(
        viewer=source.viewer, organisation=source.organisation, at=utcnow(), session_id=source.label
    )
    try:
        return render.render_page(prepared.path, prepared.content_type, page, mark)
    except render.RenderError as exc:
        raise Conflict(f"this page cannot be shown: {exc}") from exc


def register_page(session: Session, by: Caller, source: PageSource, page: int) -> None:
    """Register a rendered page before it leaves, checking again that the session is still
    open and still covers the document: a session ended while the page was rendered wins."""
    assert source.session_id is not None
    vs = _viewer_session(session, by, source.session_id)
    doc = _document(session, vs, source.document_id)
    regulator = vs.regulator
    vs.pages_viewed += 1
    session.add(
        AccessRecord(
            user_id=regulator.id,
            username=regulator.username,
            document_id=doc.id,
            archive_number=doc.archive_number,
            action="view",
            grant_id=vs.grant_id,
            purpose=vs.grant.request.purpose,
            rule="supervised-session",
            viewing_session_id=vs.id,
            page=page,
            supervisor=vs.supervisor.username,
        )
    )
    record(
        session,
        by.actor,
        "document.view_page",
        "document",
        doc.id,
        viewing_session=vs.label,
        page=page,
        supervisor=vs.supervisor.username,
        grant_id=vs.grant_id,
    )


def page_total(
    uow: UnitOfWork, by: Caller, workspace: Workspace, session_id: int, document_id: int
) -> int:
    """How many pages the document shows (prepared outside the transaction)."""
    with uow() as s:
        source = page_source(s, by, workspace, session_id, document_id)
    return prepare(workspace, source).pages


def show_page(
    uow: UnitOfWork,
    by: Caller,
    workspace: Workspace,
    session_id: int,
    document_id: int,
    page: int,
) -> bytes:
    """Check, render outside any transaction, then check again and register: only a page
    registered while its session is open leaves the server."""
    with uow() as s:
        source = page_source(s, by, workspace, session_id, document_id)
    png = render_page(workspace, source, page)
    with uow() as s:
        register_page(s, by, source, page)
    return png
